// lib/fwrules properties (RapidCheck). The model is a list of rules and a default, matched by
// its own first-match loop (prefixes compared bit by bit); it is rendered to text in the ways
// the format allows (blanks of any width, "any" or a number range, /32 written or not,
// comments and blank lines between, CRLF, the default anywhere) and must parse back equal and
// decide exactly as the model for addresses and ports near the rules' edges. Then random
// mutations of such files: the parser never crashes or reads outside the text (ASan:
// exact-size buffers), a refused file leaves no rules, every error has a line number in range
// and a column inside its line (or one past it), and an accepted file's rules parse back from
// their canonical lines.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/fwrules/rules.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace keel::fwrules {
namespace {

struct ModelRule {
    bool allow;
    int protocol;  // 0 any, 1 tcp, 2 udp, 3 icmp
    uint32_t address;
    int prefix;
    uint32_t low, high;
};

struct Model {
    std::vector<ModelRule> rules;
    bool default_allow;
    size_t default_at;  // the default's place among the rule lines
};

bool model_matches(const ModelRule& r, int protocol, uint32_t address, uint32_t port) {
    if (r.protocol != 0 && r.protocol != protocol)
        return false;
    for (int bit = 0; bit < r.prefix; ++bit) {
        const uint32_t b = 31 - static_cast<uint32_t>(bit);
        if ((address >> b & 1) != (r.address >> b & 1))
            return false;
    }
    return port >= r.low && port <= r.high;
}

// 1-based rule number, 0 for the default.
uint32_t model_decide(const Model& m, int protocol, uint32_t address, uint32_t port) {
    for (size_t i = 0; i < m.rules.size(); ++i) {
        if (model_matches(m.rules[i], protocol, address, port))
            return static_cast<uint32_t>(i + 1);
    }
    return 0;
}

rc::Gen<ModelRule> rule_gen() {
    return rc::gen::exec([] {
        ModelRule r{};
        r.allow = *rc::gen::arbitrary<bool>();
        r.protocol = *rc::gen::inRange(0, 4);
        r.prefix = *rc::gen::element(0, 8, 16, 24, 30, 32, *rc::gen::inRange(0, 33));
        const uint32_t base = *rc::gen::element(0x0a000202u, 0x0a000200u, 0xc0a80000u,
                                                *rc::gen::arbitrary<uint32_t>());
        r.address = r.prefix == 0 ? 0 : base & (~0u << (32 - r.prefix));
        if (r.protocol == 3 || *rc::gen::inRange(0, 4) == 0) {
            r.low = 0;
            r.high = 65535;
        } else {
            const uint32_t a = *rc::gen::element(0u, 53u, 80u, 8000u, 65535u,
                                                 *rc::gen::inRange<uint32_t>(0, 65536));
            const uint32_t b = *rc::gen::element(a, a + 10 > 65535 ? 65535 : a + 10,
                                                 *rc::gen::inRange<uint32_t>(a, 65536));
            r.low = a;
            r.high = b;
        }
        return r;
    });
}

std::string blanks() {
    return *rc::gen::element(std::string(" "), std::string("  "), std::string("\t"),
                             std::string(" \t "));
}

std::string address_text(const ModelRule& r) {
    if (r.prefix == 0 && *rc::gen::arbitrary<bool>())
        return "any";
    std::string s = std::to_string(r.address >> 24) + "." + std::to_string(r.address >> 16 & 255) +
                    "." + std::to_string(r.address >> 8 & 255) + "." +
                    std::to_string(r.address & 255);
    if (r.prefix != 32 || *rc::gen::arbitrary<bool>())
        s += "/" + std::to_string(r.prefix);
    return s;
}

std::string render(const Model& m) {
    const char* protocols[] = {"any", "tcp", "udp", "icmp"};
    std::string text;
    const auto end_line = [&] {
        if (*rc::gen::inRange(0, 5) == 0)
            text += blanks() + "# a comment";
        text += *rc::gen::inRange(0, 4) == 0 ? "\r\n" : "\n";
        if (*rc::gen::inRange(0, 6) == 0)
            text +=
                *rc::gen::element(std::string("\n"), std::string("# note\n"), std::string(" \t\n"));
    };
    for (size_t i = 0; i <= m.rules.size(); ++i) {
        if (i == m.default_at) {
            text += (*rc::gen::arbitrary<bool>() ? blanks() : "") + "default" + blanks() +
                    (m.default_allow ? "allow" : "deny");
            end_line();
        }
        if (i == m.rules.size())
            break;
        const ModelRule& r = m.rules[i];
        text += std::string(r.allow ? "allow" : "deny") + blanks() + protocols[r.protocol] +
                blanks() + address_text(r);
        const bool any_port = r.low == 0 && r.high == 65535;
        if (any_port) {
            if (*rc::gen::arbitrary<bool>())
                text += blanks() + "any";
        } else if (r.low == r.high && *rc::gen::arbitrary<bool>()) {
            text += blanks() + std::to_string(r.low);
        } else {
            text += blanks() + std::to_string(r.low) + "-" + std::to_string(r.high);
        }
        end_line();
    }
    return text;
}

bool parse_exact(const std::string& text, RuleSet* set, Error* error) {
    std::vector<char> copy(text.begin(), text.end());  // exact size: ASan sees overruns
    return parse(copy.data(), copy.size(), set, error);
}

Protocol to_protocol(int p) {
    return p == 1   ? Protocol::kTcp
           : p == 2 ? Protocol::kUdp
           : p == 3 ? Protocol::kIcmp
                    : Protocol::kAny;
}

RC_GTEST_PROP(Rules, RenderedModelsParseBackAndDecideAsTheModel, ()) {
    Model m;
    m.rules =
        *rc::gen::container<std::vector<ModelRule>>(*rc::gen::inRange<size_t>(0, 20), rule_gen());
    m.default_allow = *rc::gen::arbitrary<bool>();
    m.default_at = *rc::gen::inRange<size_t>(0, m.rules.size() + 1);
    const std::string text = render(m);
    static RuleSet set;
    Error error{};
    const bool ok = parse_exact(text, &set, &error);
    RC_ASSERT(ok);
    RC_ASSERT(set.count == m.rules.size());
    RC_ASSERT((set.default_action == Action::kAllow) == m.default_allow);
    for (size_t i = 0; i < m.rules.size(); ++i) {
        const Rule& r = set.rules[i];
        const ModelRule& w = m.rules[i];
        RC_ASSERT((r.action == Action::kAllow) == w.allow);
        RC_ASSERT(r.protocol == to_protocol(w.protocol));
        RC_ASSERT(r.address == w.address);
        RC_ASSERT(static_cast<int>(r.prefix) == w.prefix);
        RC_ASSERT(r.port_low == w.low);
        RC_ASSERT(r.port_high == w.high);
    }
    // Packets at and beside every rule's edges, and random ones.
    std::vector<uint32_t> addresses{0, 0xffffffffu, *rc::gen::arbitrary<uint32_t>()};
    std::vector<uint32_t> ports{0, 65535, *rc::gen::inRange<uint32_t>(0, 65536)};
    for (const ModelRule& r : m.rules) {
        const uint32_t span = r.prefix == 0 ? ~0u : ~(~0u << (32 - r.prefix));
        addresses.insert(addresses.end(),
                         {r.address, r.address | span, r.address - 1, (r.address | span) + 1});
        ports.insert(ports.end(), {r.low, r.high, r.low - 1, r.high + 1});
    }
    for (int protocol = 1; protocol <= 3; ++protocol) {
        for (const uint32_t a : addresses) {
            for (const uint32_t port32 : ports) {
                if (port32 > 65535)
                    continue;
                const uint16_t port = static_cast<uint16_t>(protocol == 3 ? 0 : port32);
                const uint32_t want = model_decide(m, protocol, a, port);
                const Decision d = decide(set, to_protocol(protocol), a, port);
                RC_ASSERT(d.rule == want);
                const bool allow = want == 0 ? m.default_allow : m.rules[want - 1].allow;
                RC_ASSERT((d.action == Action::kAllow) == allow);
            }
        }
    }
}

RC_GTEST_PROP(Rules, MutatedFilesAreUsedWholeOrNotAtAll, ()) {
    Model m;
    m.rules =
        *rc::gen::container<std::vector<ModelRule>>(*rc::gen::inRange<size_t>(0, 8), rule_gen());
    m.default_allow = *rc::gen::arbitrary<bool>();
    m.default_at = *rc::gen::inRange<size_t>(0, m.rules.size() + 1);
    std::string text = render(m);
    const int mutations = *rc::gen::inRange(1, 6);
    for (int i = 0; i < mutations && !text.empty(); ++i) {
        const size_t at = *rc::gen::inRange<size_t>(0, text.size());
        const char c = *rc::gen::element('\0', '\n', ' ', '#', '/', '-', '.', '9', 'x', '\x7f',
                                         *rc::gen::arbitrary<char>());
        switch (*rc::gen::inRange(0, 3)) {
            case 0:
                text[at] = c;
                break;
            case 1:
                text.insert(at, 1, c);
                break;
            default:
                text.erase(at, 1);
                break;
        }
    }
    static RuleSet set;
    Error error{};
    if (!parse_exact(text, &set, &error)) {
        RC_ASSERT(set.count == 0u);
        RC_ASSERT(error.reason != nullptr && error.reason[0] != '\0');
        // The lines, counted independently.
        std::vector<size_t> lengths{0};
        for (const char ch : text) {
            if (ch == '\n')
                lengths.push_back(0);
            else
                ++lengths.back();
        }
        RC_ASSERT(error.line >= 1);
        if (error.line <= lengths.size()) {
            const size_t n = std::min<size_t>(lengths[error.line - 1], kMaxLine + 1);
            RC_ASSERT(error.column >= 1 && error.column <= n + 1);
        } else {
            // Only the missing default is reported past the end, on the line after the last.
            RC_ASSERT(
                std::strcmp(error.reason, "no default line (default allow or default deny)") == 0);
            RC_ASSERT(error.line == lengths.size() + 1 ||
                      (!text.empty() && text.back() == '\n' && error.line == lengths.size()));
        }
        return;
    }
    for (uint32_t i = 0; i < set.count; ++i) {
        char line[kMaxRuleText];
        const size_t n = write_rule(set.rules[i], line, sizeof line);
        RC_ASSERT(n > 0);
        static RuleSet again;
        Error e{};
        RC_ASSERT(parse_exact(std::string(line, n) + "\ndefault deny\n", &again, &e));
        RC_ASSERT(again.count == 1u);
        const Rule& a = again.rules[0];
        const Rule& b = set.rules[i];
        RC_ASSERT(a.action == b.action && a.protocol == b.protocol && a.address == b.address &&
                  a.prefix == b.prefix && a.port_low == b.port_low && a.port_high == b.port_high);
    }
}

}  // namespace
}  // namespace keel::fwrules
