// lib/initconf properties (RapidCheck). The model is a list of programs (name, path, restart,
// gives, arguments); it is rendered to text in any of the ways the format allows (blanks of
// any width, options in any order, defaults written or left out, comments and blank lines
// between, CRLF) and must parse back equal, line by line and as a whole file. Then random
// mutations of such files: the parser never crashes or reads outside the text (ASan: exact-size
// buffers), every error has a line number in range and a column inside its line (or one past
// it), and what is accepted obeys the rules.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/initconf/initconf.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace keel::initconf {
namespace {

struct ModelGive {
    std::string path, as;
    bool explicit_as;
    bool device = false;  // give=device:VVVV:DDDD[#N][:AS]; path is that text without :AS
    uint16_t vendor = 0, device_id = 0;
    uint32_t index = 0;
};

struct Model {
    std::string name, program;
    Restart restart = Restart::kNever;
    bool write_restart = false;
    std::string ready;  // empty: no ready= option
    std::vector<ModelGive> gives;
    bool has_args = false;
    std::string args;
};

const std::string kNameChars = "abcdefghijklmnopqrstuvwxyz0123456789_-";

rc::Gen<std::string> name_gen() {
    return rc::gen::container<std::string>(*rc::gen::inRange<size_t>(1, kMaxName + 1),
                                           rc::gen::elementOf(kNameChars));
}

// A component: never "." or "..", no '/', ':' or blank; some look like names, some do not.
rc::Gen<std::string> component_gen() {
    return rc::gen::oneOf(
        rc::gen::container<std::string>(*rc::gen::inRange<size_t>(1, 12),
                                        rc::gen::elementOf(kNameChars)),
        rc::gen::map(rc::gen::container<std::string>(
                         *rc::gen::inRange<size_t>(1, 20),
                         rc::gen::elementOf(std::string("abcXYZ019._-#=+,@\xc3\xa9"))),
                     [](std::string s) { return "c" + s; }));
}

std::string path_gen() {
    for (;;) {
        const auto parts = *rc::gen::container<std::vector<std::string>>(
            *rc::gen::inRange<size_t>(1, 6), component_gen());
        std::string p;
        for (const std::string& c : parts)
            p += (p.empty() ? "" : "/") + c;
        if (p.size() <= kMaxPath)
            return p;
    }
}

bool valid_name(const std::string& s) {
    return !s.empty() && s.size() <= kMaxName &&
           s.find_first_not_of(kNameChars) == std::string::npos;
}

Model model_gen(const std::string& name) {
    Model m;
    m.name = name;
    m.program = path_gen();
    m.write_restart = *rc::gen::arbitrary<bool>();
    m.restart = *rc::gen::elementOf(
        std::vector<Restart>{Restart::kNever, Restart::kOnFailure, Restart::kAlways});
    if (!m.write_restart)
        m.restart = Restart::kNever;
    if (*rc::gen::arbitrary<bool>())
        m.ready = path_gen();
    const size_t gives = *rc::gen::inRange<size_t>(0, kMaxGives + 1);
    std::set<std::string> names;
    for (size_t i = 0; i < gives; ++i) {
        ModelGive g;
        if (*rc::gen::inRange(0, 4) == 0) {
            g.device = true;
            g.vendor = *rc::gen::arbitrary<uint16_t>();
            g.device_id = *rc::gen::arbitrary<uint16_t>();
            const bool numbered = *rc::gen::arbitrary<bool>();
            g.index = numbered ? *rc::gen::inRange<uint32_t>(1, kMaxDeviceIndex + 1) : 1;
            char text[32];
            std::snprintf(text, sizeof text,
                          *rc::gen::arbitrary<bool>() ? "device:%04x:%04x" : "device:%04X:%04X",
                          g.vendor, g.device_id);
            g.path = text + (numbered ? "#" + std::to_string(g.index) : "");
            g.explicit_as = *rc::gen::arbitrary<bool>();
            g.as = g.explicit_as ? *name_gen() : "device";
            if (names.insert(g.as).second)
                m.gives.push_back(g);
            continue;
        }
        g.path = path_gen();
        const std::string last = g.path.substr(g.path.rfind('/') + 1);
        g.explicit_as = !valid_name(last) || *rc::gen::arbitrary<bool>();
        g.as = g.explicit_as ? *name_gen() : last;
        if (names.insert(g.as).second)
            m.gives.push_back(g);
    }
    m.has_args = *rc::gen::arbitrary<bool>();
    if (m.has_args) {
        std::string a = *rc::gen::container<std::string>(*rc::gen::inRange<size_t>(0, kMaxArgs + 1),
                                                         rc::gen::inRange<char>(0x20, 0x7f));
        const size_t first = a.find_first_not_of(' ');
        a = first == std::string::npos ? "" : a.substr(first, a.find_last_not_of(' ') - first + 1);
        m.args = a;
    }
    return m;
}

std::string blanks(size_t min) {
    return *rc::gen::container<std::string>(*rc::gen::inRange<size_t>(min, 4),
                                            rc::gen::elementOf(std::string(" \t")));
}

std::string render(const Model& m) {
    std::vector<std::string> options;
    if (m.write_restart) {
        options.push_back(std::string("restart=") + (m.restart == Restart::kNever ? "never"
                                                     : m.restart == Restart::kOnFailure
                                                         ? "on-failure"
                                                         : "always"));
    }
    const size_t restart_at =
        options.empty() ? 0 : *rc::gen::inRange<size_t>(0, m.gives.size() + 1);
    std::vector<std::string> gives;
    for (const ModelGive& g : m.gives)
        gives.push_back("give=" + g.path + (g.explicit_as ? ":" + g.as : ""));
    if (!options.empty())
        gives.insert(gives.begin() + static_cast<long>(restart_at), options[0]);
    if (!m.ready.empty()) {
        const size_t ready_at = *rc::gen::inRange<size_t>(0, gives.size() + 1);
        gives.insert(gives.begin() + static_cast<long>(ready_at), "ready=" + m.ready);
    }
    std::string line = blanks(0) + m.name + blanks(1) + m.program;
    for (const std::string& o : gives)
        line += blanks(1) + o;
    if (m.has_args)
        line += blanks(1) + "--" + (m.args.empty() ? "" : blanks(1) + m.args);
    return line + blanks(0);
}

void expect_equal(const Model& m, const Entry& e) {
    RC_ASSERT(std::string(e.name) == m.name);
    RC_ASSERT(e.name_length == m.name.size());
    RC_ASSERT(std::string(e.program) == m.program);
    RC_ASSERT(e.program_length == m.program.size());
    RC_ASSERT(e.restart == m.restart);
    RC_ASSERT(std::string(e.ready) == m.ready);
    RC_ASSERT(e.ready_length == m.ready.size());
    RC_ASSERT(e.give_count == m.gives.size());
    for (size_t i = 0; i < m.gives.size(); ++i) {
        RC_ASSERT(std::string(e.gives[i].path) == m.gives[i].path);
        RC_ASSERT(std::string(e.gives[i].as) == m.gives[i].as);
        RC_ASSERT(e.gives[i].as_length == m.gives[i].as.size());
        RC_ASSERT(e.gives[i].is_device == m.gives[i].device);
        if (m.gives[i].device) {
            RC_ASSERT(e.gives[i].vendor == m.gives[i].vendor);
            RC_ASSERT(e.gives[i].device_id == m.gives[i].device_id);
            RC_ASSERT(e.gives[i].index == m.gives[i].index);
        }
    }
    RC_ASSERT(e.has_args == m.has_args);
    RC_ASSERT(std::string(e.args) == m.args);
    RC_ASSERT(e.args_length == m.args.size());
}

RC_GTEST_PROP(InitconfModel, RenderedLineParsesBackEqual, ()) {
    const Model m = model_gen(*name_gen());
    const std::string line = render(m) + (*rc::gen::arbitrary<bool>() ? "\r" : "");
    const std::vector<char> exact(line.begin(), line.end());
    Entry e;
    Error err{};
    const Outcome o = parse_line(exact.data(), exact.size(), 1, &e, &err);
    RC_ASSERT(o == Outcome::kEntry);
    expect_equal(m, e);
}

// A file: distinct programs with comment and blank lines between.
std::string file_gen(std::vector<Model>* models, uint32_t* lines) {
    const size_t count = *rc::gen::inRange<size_t>(0, 12);
    std::set<std::string> names;
    std::string text;
    const bool crlf = *rc::gen::arbitrary<bool>();
    *lines = 0;
    for (size_t i = 0; i < count; ++i) {
        // Bounded (a `while` on a generated value never ends once shrinking makes it 0).
        const size_t others = *rc::gen::inRange<size_t>(0, 3);
        for (size_t k = 0; k < others; ++k) {
            text += *rc::gen::arbitrary<bool>() ? blanks(0) : blanks(0) + "# " + *name_gen();
            text += crlf ? "\r\n" : "\n";
            ++*lines;
        }
        const std::string name = *name_gen();
        if (!names.insert(name).second)
            continue;
        models->push_back(model_gen(name));
        text += render(models->back()) + (crlf ? "\r\n" : "\n");
        ++*lines;
    }
    if (!text.empty() && *rc::gen::arbitrary<bool>()) {
        text.pop_back();  // a last line without its newline
        if (crlf)
            text.pop_back();
    }
    return text;
}

RC_GTEST_PROP(InitconfModel, RenderedFileParsesBackEqual, ()) {
    std::vector<Model> models;
    uint32_t lines = 0;
    const std::string text = file_gen(&models, &lines);
    const std::vector<char> exact(text.begin(), text.end());
    Parser parser(exact.data(), exact.size());
    Entry e;
    Error err{};
    for (const Model& m : models) {
        const Outcome o = parser.next(&e, &err);
        RC_ASSERT(o == Outcome::kEntry);
        expect_equal(m, e);
    }
    RC_ASSERT(parser.next(&e, &err) == Outcome::kEnd);
}

bool valid_path(const std::string& p) {
    if (p.empty() || p.size() > kMaxPath || p[0] == '/')
        return false;
    const std::string s = "/" + p + "/";
    return s.find("//") == std::string::npos && s.find("/./") == std::string::npos &&
           s.find("/../") == std::string::npos;
}

RC_GTEST_PROP(InitconfHostile, MutatedFilesNeverCrashAndErrorsPointIntoTheText, ()) {
    std::vector<Model> models;
    uint32_t unused = 0;
    std::string text = file_gen(&models, &unused);
    const size_t changes = *rc::gen::inRange<size_t>(1, 10);
    const std::string interesting = std::string("\n\r\t :/.=-#\0\x7f\xff", 13);
    for (size_t k = 0; k < changes; ++k) {
        const size_t at = text.empty() ? 0 : *rc::gen::inRange<size_t>(0, text.size());
        const char c = *rc::gen::oneOf(rc::gen::elementOf(interesting), rc::gen::arbitrary<char>());
        switch (*rc::gen::inRange(0, 3)) {
            case 0:
                text.insert(text.begin() + static_cast<long>(at), c);
                break;
            case 1:
                if (!text.empty())
                    text.erase(at, 1);
                break;
            default:
                if (!text.empty())
                    text[at] = c;
                break;
        }
    }
    // The lines as the format counts them: line k's length, for the column bound.
    std::vector<size_t> lengths;
    for (size_t start = 0; start < text.size();) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        lengths.push_back(end - start);
        start = end + 1;
    }
    const std::vector<char> exact(text.begin(), text.end());
    Parser parser(exact.data(), exact.size());
    Entry e;
    Error err{};
    uint32_t last_line = 0;
    std::set<std::string> names;
    for (;;) {
        const Outcome o = parser.next(&e, &err);
        if (o == Outcome::kEnd)
            break;
        RC_ASSERT(o == Outcome::kEntry || o == Outcome::kError);
        if (o == Outcome::kError) {
            RC_ASSERT(err.line >= 1 && err.line <= lengths.size());
            RC_ASSERT(err.line > last_line);
            RC_ASSERT(err.column >= 1 && err.column <= lengths[err.line - 1] + 1);
            RC_ASSERT(err.reason != nullptr && err.reason[0] != '\0');
            last_line = err.line;
            continue;
        }
        RC_ASSERT(valid_name(e.name));
        RC_ASSERT(names.insert(e.name).second);
        RC_ASSERT(valid_path(e.program));
        RC_ASSERT(e.give_count <= kMaxGives);
        std::set<std::string> as;
        for (uint32_t i = 0; i < e.give_count; ++i) {
            RC_ASSERT(valid_path(e.gives[i].path));
            RC_ASSERT(valid_name(e.gives[i].as));
            RC_ASSERT(as.insert(e.gives[i].as).second);
        }
        RC_ASSERT(e.args_length <= kMaxArgs && std::string(e.args).size() == e.args_length);
    }
    RC_ASSERT(parser.next(&e, &err) == Outcome::kEnd);
}

}  // namespace
}  // namespace keel::initconf
