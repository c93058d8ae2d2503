// Firewall rules fuzz target (lib/fwrules): raw bytes as a rules file. A refused file leaves no
// rules and names a line in range (the missing default: the line after the last) and a column
// inside it or one past it. An accepted file: every rule obeys the format's limits by an
// independent check (the prefix's host bits clear, ports ordered, icmp without ports), renders
// to a canonical line that parses back to the same rule, and decide() agrees with this file's
// own first-match loop for addresses and ports taken from the input. The same bytes give the
// same answer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <keel/fwrules/rules.hpp>

namespace {

namespace fw = keel::fwrules;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fwrules oracle: %s\n", what);
    std::abort();
}

bool matches(const fw::Rule& r, fw::Protocol protocol, uint32_t address, uint16_t port) {
    if (r.protocol != fw::Protocol::kAny && r.protocol != protocol)
        return false;
    for (int bit = 0; bit < r.prefix; ++bit) {
        if ((address >> (31 - bit) & 1) != (r.address >> (31 - bit) & 1))
            return false;
    }
    return port >= r.port_low && port <= r.port_high;
}

bool same_rule(const fw::Rule& a, const fw::Rule& b) {
    return a.action == b.action && a.protocol == b.protocol && a.address == b.address &&
           a.prefix == b.prefix && a.port_low == b.port_low && a.port_high == b.port_high;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::vector<char> text(data, data + size);  // exact: ASan sees overruns
    static fw::RuleSet set, again;
    fw::Error error{};
    const bool ok = fw::parse(text.data(), text.size(), &set, &error);
    fw::Error error2{};
    if (fw::parse(text.data(), text.size(), &again, &error2) != ok)
        fail("the same bytes gave another answer");
    if (!ok) {
        if (set.count != 0 || set.default_action != fw::Action::kDeny)
            fail("a refused file left rules");
        if (error.reason == nullptr || error.reason[0] == '\0')
            fail("an error without a reason");
        if (error2.line != error.line || error2.column != error.column ||
            std::strcmp(error2.reason, error.reason) != 0)
            fail("the same bytes gave another error");
        if (size > fw::kMaxText)
            return 0;
        std::vector<size_t> lengths{0};
        for (const char c : text) {
            if (c == '\n')
                lengths.push_back(0);
            else
                ++lengths.back();
        }
        if (error.line < 1 || error.line > lengths.size() + 1)
            fail("an error's line outside the text");
        if (error.line == lengths.size() + 1) {
            if (std::strcmp(error.reason, "no default line (default allow or default deny)") != 0)
                fail("only the missing default is past the last line");
        } else {
            const size_t n = std::min<size_t>(lengths[error.line - 1], fw::kMaxLine + 1);
            if (error.column < 1 || error.column > n + 1)
                fail("an error's column outside its line");
        }
        return 0;
    }
    if (set.count > fw::kMaxRules)
        fail("more rules than the limit");
    if (set.default_line < 1)
        fail("an accepted file without its default's line");
    uint32_t last_line = 0;
    for (uint32_t i = 0; i < set.count; ++i) {
        const fw::Rule& r = set.rules[i];
        if (r.prefix > 32 || (r.prefix < 32 && (r.address & (0xffffffffu >> r.prefix)) != 0))
            fail("a prefix with host bits set");
        if (r.port_low > r.port_high)
            fail("a backwards port range");
        if (r.protocol == fw::Protocol::kIcmp && (r.port_low != 0 || r.port_high != 65535))
            fail("icmp with ports");
        if (r.line <= last_line || r.line == set.default_line)
            fail("rule lines out of order");
        last_line = r.line;
        char line[fw::kMaxRuleText];
        const size_t n = fw::write_rule(r, line, sizeof line);
        if (n == 0 || std::strlen(line) != n)
            fail("a rule does not render");
        const std::string canonical = std::string(line, n) + "\ndefault allow";
        static fw::RuleSet one;
        if (!fw::parse(canonical.data(), canonical.size(), &one, &error) || one.count != 1 ||
            !same_rule(one.rules[0], r))
            fail("a rule does not parse back from its canonical line");
    }
    // Decisions for packets made of the input's bytes and the rules' edges.
    std::vector<uint32_t> addresses{0, 0xffffffffu};
    std::vector<uint16_t> ports{0, 65535};
    for (size_t i = 0; i + 6 <= size && addresses.size() < 16; i += 6) {
        uint32_t a = 0;
        std::memcpy(&a, data + i, 4);
        uint16_t p = 0;
        std::memcpy(&p, data + i + 4, 2);
        addresses.push_back(a);
        ports.push_back(p);
    }
    for (uint32_t i = 0; i < set.count && i < 8; ++i) {
        addresses.push_back(set.rules[i].address);
        ports.push_back(set.rules[i].port_low);
        ports.push_back(set.rules[i].port_high);
    }
    const fw::Protocol protocols[] = {fw::Protocol::kTcp, fw::Protocol::kUdp, fw::Protocol::kIcmp};
    for (const fw::Protocol protocol : protocols) {
        for (const uint32_t a : addresses) {
            for (const uint16_t port : ports) {
                uint32_t want = 0;
                for (uint32_t i = 0; i < set.count && want == 0; ++i) {
                    if (matches(set.rules[i], protocol, a, port))
                        want = i + 1;
                }
                const fw::Decision d = fw::decide(set, protocol, a, port);
                if (d.rule != want)
                    fail("decide() and the first-match loop disagree");
                const fw::Action action =
                    want == 0 ? set.default_action : set.rules[want - 1].action;
                const uint32_t line = want == 0 ? set.default_line : set.rules[want - 1].line;
                if (d.action != action || d.line != line)
                    fail("a decision's action or line is not its rule's");
            }
        }
    }
    return 0;
}
