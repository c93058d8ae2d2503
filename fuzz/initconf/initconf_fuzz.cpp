// init configuration fuzz target (lib/initconf): raw bytes as a configuration file. The whole-
// file Parser is checked against parse_line run on each line by this file's own splitter: a
// line parse_line refuses is the same error (line, column, reason) from the Parser; a line it
// accepts is the same entry, or a duplicate-name or program-limit error on that line; a blank
// or comment line gives nothing. Every error's line is in range and its column inside its line
// (or one past it). Every accepted entry obeys the rules by an independent check, and renders
// to a canonical line that parses back to the same entry. The same bytes give the same answer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <keel/initconf/initconf.hpp>

namespace {

namespace ic = keel::initconf;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "initconf oracle: %s\n", what);
    std::abort();
}

bool valid_name(const char* s, uint32_t n) {
    if (n == 0 || n > ic::kMaxName || std::strlen(s) != n)
        return false;
    for (uint32_t i = 0; i < n; ++i) {
        const char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool valid_path(const char* s, uint32_t n) {
    if (n == 0 || n > ic::kMaxPath || std::strlen(s) != n || s[0] == '/')
        return false;
    const std::string p = "/" + std::string(s, n) + "/";
    if (p.find("//") != std::string::npos || p.find("/./") != std::string::npos ||
        p.find("/../") != std::string::npos)
        return false;
    for (uint32_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c <= 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

void check_entry(const ic::Entry& e) {
    if (!valid_name(e.name, e.name_length))
        fail("accepted an invalid name");
    if (!valid_path(e.program, e.program_length))
        fail("accepted an invalid program path");
    if (e.give_count > ic::kMaxGives)
        fail("more gives than the array holds");
    std::set<std::string> as;
    for (uint32_t i = 0; i < e.give_count; ++i) {
        const ic::Give& g = e.gives[i];
        if (g.is_device) {
            // device:VVVV:DDDD[#N], the ids and N as the text says.
            unsigned vendor = 0, device = 0, index = 1;
            int used = 0;
            const bool numbered = g.path_length > 16;
            const int got =
                numbered
                    ? std::sscanf(g.path, "device:%4x:%4x#%u%n", &vendor, &device, &index, &used)
                    : std::sscanf(g.path, "device:%4x:%4x%n", &vendor, &device, &used);
            if (got != (numbered ? 3 : 2) || static_cast<uint32_t>(used) != g.path_length ||
                std::strlen(g.path) != g.path_length || g.path[11] != ':' || vendor != g.vendor ||
                device != g.device_id || index != g.index || index < 1 ||
                index > ic::kMaxDeviceIndex)
                fail("accepted a device give that is not device:VVVV:DDDD[#N]");
        } else if (!valid_path(g.path, g.path_length) || std::strchr(g.path, ':') != nullptr) {
            fail("accepted an invalid give path");
        }
        if (!valid_name(g.as, g.as_length) || !as.insert(g.as).second)
            fail("accepted an invalid or repeated give name");
    }
    if (e.args_length > ic::kMaxArgs || std::strlen(e.args) != e.args_length)
        fail("argument string length wrong");
    if (!e.has_args && e.args_length != 0)
        fail("arguments without --");
    if (e.args_length != 0 &&
        (e.args[0] == ' ' || e.args[0] == '\t' || e.args[e.args_length - 1] == ' ' ||
         e.args[e.args_length - 1] == '\t'))
        fail("argument string not trimmed");
}

bool same_entry(const ic::Entry& a, const ic::Entry& b) {
    if (std::strcmp(a.name, b.name) != 0 || std::strcmp(a.program, b.program) != 0 ||
        a.restart != b.restart || a.give_count != b.give_count || a.has_args != b.has_args ||
        std::strcmp(a.args, b.args) != 0)
        return false;
    for (uint32_t i = 0; i < a.give_count; ++i) {
        if (std::strcmp(a.gives[i].path, b.gives[i].path) != 0 ||
            std::strcmp(a.gives[i].as, b.gives[i].as) != 0 ||
            a.gives[i].is_device != b.gives[i].is_device ||
            a.gives[i].vendor != b.gives[i].vendor ||
            a.gives[i].device_id != b.gives[i].device_id || a.gives[i].index != b.gives[i].index)
            return false;
    }
    return true;
}

// The canonical line of an entry: every option written out.
std::string render(const ic::Entry& e) {
    std::string s = std::string(e.name) + " " + e.program + " restart=" +
                    (e.restart == ic::Restart::kNever       ? "never"
                     : e.restart == ic::Restart::kOnFailure ? "on-failure"
                                                            : "always");
    for (uint32_t i = 0; i < e.give_count; ++i)
        s += std::string(" give=") + e.gives[i].path + ":" + e.gives[i].as;
    if (e.has_args)
        s += std::string(" -- ") + e.args;
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::vector<char> text(data, data + size);  // exact: ASan sees overruns
    // The lines, split independently.
    std::vector<std::pair<size_t, size_t>> lines;
    for (size_t start = 0; start < size;) {
        size_t end = start;
        while (end < size && text[end] != '\n')
            ++end;
        lines.emplace_back(start, end - start);
        start = end + 1;
    }

    ic::Parser parser(text.data(), text.size());
    static ic::Entry e, want, again;  // large: not on the stack
    ic::Error err{}, want_err{};
    std::set<std::string> names;
    size_t line = 0;  // the next line index to account for
    for (;;) {
        const ic::Outcome o = parser.next(&e, &err);
        if (o == ic::Outcome::kEnd)
            break;
        if (o != ic::Outcome::kEntry && o != ic::Outcome::kError)
            fail("Parser gave kSkip");
        // The line this outcome is for: the next that parse_line does not skip.
        ic::Outcome expected = ic::Outcome::kSkip;
        for (; line < lines.size(); ++line) {
            const auto [at, n] = lines[line];
            expected = ic::parse_line(text.data() + at, n, static_cast<uint32_t>(line + 1), &want,
                                      &want_err);
            if (expected != ic::Outcome::kSkip)
                break;
        }
        if (line == lines.size())
            fail("Parser gave more than parse_line finds");
        const auto [at, n] = lines[line];
        const size_t length = n != 0 && text[at + n - 1] == '\r' ? n - 1 : n;
        if (expected == ic::Outcome::kError) {
            if (o != ic::Outcome::kError || err.line != want_err.line ||
                err.column != want_err.column || std::strcmp(err.reason, want_err.reason) != 0)
                fail("Parser and parse_line disagree on a bad line");
        } else if (o == ic::Outcome::kError) {
            // A good line refused as a whole-file matter: its name taken, or the table full.
            const char* why = names.count(want.name) != 0
                                  ? "duplicate program name (an earlier line has it)"
                              : names.size() == ic::kMaxPrograms ? "more than 64 programs"
                                                                 : nullptr;
            if (why == nullptr || err.line != line + 1 || std::strcmp(err.reason, why) != 0)
                fail("Parser refused a line parse_line accepts, not for a duplicate or the limit");
        } else {
            if (!same_entry(e, want))
                fail("Parser and parse_line give different entries");
            check_entry(e);
            if (!names.insert(e.name).second)
                fail("a name accepted twice");
            if (names.size() > ic::kMaxPrograms)
                fail("more programs than the limit");
            const std::string canonical = render(e);
            if (ic::parse_line(canonical.data(), canonical.size(), 1, &again, &want_err) !=
                    ic::Outcome::kEntry ||
                !same_entry(e, again))
                fail("an accepted entry does not parse back from its canonical line");
        }
        if (o == ic::Outcome::kError) {
            if (err.reason == nullptr || err.reason[0] == '\0')
                fail("an error without a reason");
            if (err.line != line + 1 || err.column < 1 || err.column > length + 1)
                fail("an error's line or column outside the text");
        }
        ++line;
    }
    for (; line < lines.size(); ++line) {
        const auto [at, n] = lines[line];
        if (ic::parse_line(text.data() + at, n, static_cast<uint32_t>(line + 1), &want,
                           &want_err) != ic::Outcome::kSkip)
            fail("Parser ended before a line parse_line does not skip");
    }
    if (parser.next(&e, &err) != ic::Outcome::kEnd)
        fail("the end is not sticky");
    return 0;
}
