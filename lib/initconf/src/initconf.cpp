#include <keel/initconf/initconf.hpp>

namespace keel::initconf {

namespace {

bool blank(char c) {
    return c == ' ' || c == '\t';
}

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool starts_with(const char* s, size_t n, const char* prefix) {
    size_t i = 0;
    for (; prefix[i] != '\0'; ++i) {
        if (i >= n || s[i] != prefix[i])
            return false;
    }
    return true;
}

bool equal(const char* a, size_t n, const char* b) {
    size_t i = 0;
    for (; i < n; ++i) {
        if (b[i] == '\0' || a[i] != b[i])
            return false;
    }
    return b[i] == '\0';
}

// One line's parse: the bytes, where the fault is, and why.
struct Line {
    const char* s;
    size_t n;
    uint32_t column = 0;  // 0-based offset of the fault
    const char* reason = nullptr;

    bool fail(size_t at, const char* why) {
        column = static_cast<uint32_t>(at);
        reason = why;
        return false;
    }
};

// A NAME or AS at s[at, at + n): 1..32 of [a-z0-9_-].
bool check_name(Line& l, size_t at, size_t n, const char* empty) {
    if (n == 0)
        return l.fail(at, empty);
    for (size_t i = 0; i < n; ++i) {
        if (i == kMaxName)
            return l.fail(at + i, "name longer than 32 characters");
        if (!name_char(l.s[at + i]))
            return l.fail(at + i, "a name may hold only a-z, 0-9, '_' and '-'");
    }
    return true;
}

// A path at s[at, at + n): 1..128 bytes, relative, components neither empty nor "." nor "..".
// (The archive reader, lib/tar, accepts "." components and drops them; here a path must already
// be the one init looks up.)
bool check_path(Line& l, size_t at, size_t n) {
    if (n == 0)
        return l.fail(at, "empty path");
    if (n > kMaxPath)
        return l.fail(at + kMaxPath, "path longer than 128 bytes");
    if (l.s[at] == '/')
        return l.fail(at, "absolute path (paths are relative to the image)");
    size_t part = at;
    for (size_t i = at; i <= at + n; ++i) {
        if (i < at + n && l.s[i] != '/')
            continue;
        const size_t len = i - part;
        if (len == 0)
            return l.fail(i, "empty path component ('//' or a trailing '/')");
        if (len == 1 && l.s[part] == '.')
            return l.fail(part, "'.' component in a path");
        if (len == 2 && l.s[part] == '.' && l.s[part + 1] == '.')
            return l.fail(part, "'..' component (a path must stay inside the image)");
        part = i + 1;
    }
    return true;
}

void copy(char* to, const char* from, size_t n) {
    for (size_t i = 0; i < n; ++i)
        to[i] = from[i];
    to[n] = '\0';
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Four hex digits at s[at, at + 4) (inside [.., end)): the value, or -1.
int32_t hex16(const Line& l, size_t at, size_t end) {
    if (end < at + 4)
        return -1;
    int32_t v = 0;
    for (size_t i = at; i < at + 4; ++i) {
        const int d = hex_digit(l.s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

// Whether the give at s[path, end) is a device give: "device:" and four hex digits, ':' and
// four hex digits (anything else keeps the path rules, so "device:x" still gives the path
// "device" as "x").
bool device_give(const Line& l, size_t path, size_t end) {
    return starts_with(l.s + path, end - path, "device:") && hex16(l, path + 7, end) >= 0 &&
           path + 11 < end && l.s[path + 11] == ':' && hex16(l, path + 12, end) >= 0;
}

// give=device:VVVV:DDDD[#N][:AS] at s[path, end) (device_give said so).
bool parse_device_give(Line& l, size_t path, size_t end, Give* g) {
    g->is_device = true;
    g->vendor = static_cast<uint16_t>(hex16(l, path + 7, end));
    g->device_id = static_cast<uint16_t>(hex16(l, path + 12, end));
    g->index = 1;
    size_t at = path + 16;
    if (at < end && l.s[at] == '#') {
        ++at;
        uint32_t n = 0;
        const size_t digits = at;
        while (at < end && l.s[at] >= '0' && l.s[at] <= '9' && at - digits < 3)
            n = n * 10 + static_cast<uint32_t>(l.s[at++] - '0');
        if (at == digits || n == 0 || n > kMaxDeviceIndex ||
            (at < end && l.s[at] >= '0' && l.s[at] <= '9')) {
            return l.fail(digits, "a device's #N must be 1 to 99");
        }
        g->index = n;
    }
    const size_t text_end = at;
    size_t as = at + 1, as_length = 0;
    if (at < end) {
        if (l.s[at] != ':')
            return l.fail(at, "a device give is device:VVVV:DDDD[#N][:AS]");
        as_length = end - as;
        if (!check_name(l, as, as_length, "empty name after ':'"))
            return false;
        copy(g->as, l.s + as, as_length);
    } else {
        as_length = 6;
        copy(g->as, "device", 6);
    }
    g->as_length = static_cast<uint32_t>(as_length);
    copy(g->path, l.s + path, text_end - path);
    g->path_length = static_cast<uint32_t>(text_end - path);
    return true;
}

bool parse_give(Line& l, size_t at, size_t end, Entry* out) {
    if (out->give_count == kMaxGives)
        return l.fail(at, "more than 16 give= options");
    const size_t path = at + 5;  // after "give="
    if (device_give(l, path, end)) {
        Give g{};
        if (!parse_device_give(l, path, end, &g))
            return false;
        for (uint32_t i = 0; i < out->give_count; ++i) {
            if (equal(g.as, g.as_length, out->gives[i].as))
                return l.fail(at, "two objects given under the same name");
        }
        out->gives[out->give_count++] = g;
        return true;
    }
    size_t colon = path;
    while (colon < end && l.s[colon] != ':')
        ++colon;
    if (!check_path(l, path, colon - path))
        return false;
    Give& g = out->gives[out->give_count];
    size_t as = colon + 1, as_length = colon < end ? end - as : 0;
    if (colon < end) {
        if (!check_name(l, as, as_length, "empty name after ':'"))
            return false;
    } else {
        // The path's last component, which must be a valid name too.
        as = colon;
        while (as > path && l.s[as - 1] != '/')
            --as;
        as_length = colon - as;
        if (!check_name(l, as, as_length, "empty name after ':'")) {
            return l.fail(as,
                          "the path's last component is not a valid name: give it one "
                          "with ':AS'");
        }
    }
    for (uint32_t i = 0; i < out->give_count; ++i) {
        if (equal(l.s + as, as_length, out->gives[i].as))
            return l.fail(as, "two objects given under the same name");
    }
    g.is_device = false;
    g.vendor = g.device_id = 0;
    g.index = 0;
    copy(g.path, l.s + path, colon - path);
    g.path_length = static_cast<uint32_t>(colon - path);
    copy(g.as, l.s + as, as_length);
    g.as_length = static_cast<uint32_t>(as_length);
    ++out->give_count;
    return true;
}

bool parse(Line& l, Entry* out, bool* entry) {
    *entry = false;
    if (l.n > kMaxLine)
        return l.fail(kMaxLine, "line longer than 8192 bytes");
    for (size_t i = 0; i < l.n; ++i) {
        const auto c = static_cast<unsigned char>(l.s[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return l.fail(i, "control character");
    }
    size_t at = 0;
    while (at < l.n && blank(l.s[at]))
        ++at;
    if (at == l.n || l.s[at] == '#')
        return true;
    *entry = true;

    size_t end = at;
    while (end < l.n && !blank(l.s[end]))
        ++end;
    if (!check_name(l, at, end - at, "empty name"))
        return false;
    copy(out->name, l.s + at, end - at);
    out->name_length = static_cast<uint32_t>(end - at);

    at = end;
    while (at < l.n && blank(l.s[at]))
        ++at;
    if (at == l.n)
        return l.fail(at, "missing program path after the name");
    end = at;
    while (end < l.n && !blank(l.s[end]))
        ++end;
    if (!check_path(l, at, end - at))
        return false;
    copy(out->program, l.s + at, end - at);
    out->program_length = static_cast<uint32_t>(end - at);

    out->restart = Restart::kNever;
    out->ready[0] = '\0';
    out->ready_length = 0;
    out->give_count = 0;
    out->has_args = false;
    out->args[0] = '\0';
    out->args_length = 0;
    bool restart_seen = false;
    for (;;) {
        at = end;
        while (at < l.n && blank(l.s[at]))
            ++at;
        if (at == l.n)
            return true;
        end = at;
        while (end < l.n && !blank(l.s[end]))
            ++end;
        const char* t = l.s + at;
        const size_t tn = end - at;
        if (equal(t, tn, "--")) {
            at = end;
            while (at < l.n && blank(l.s[at]))
                ++at;
            end = l.n;
            while (end > at && blank(l.s[end - 1]))
                --end;
            if (end - at > kMaxArgs)
                return l.fail(at + kMaxArgs, "arguments longer than 1024 bytes");
            out->has_args = true;
            copy(out->args, l.s + at, end - at);
            out->args_length = static_cast<uint32_t>(end - at);
            return true;
        }
        if (starts_with(t, tn, "restart=")) {
            if (restart_seen)
                return l.fail(at, "restart= given twice");
            restart_seen = true;
            const char* v = t + 8;
            const size_t vn = tn - 8;
            if (equal(v, vn, "never"))
                out->restart = Restart::kNever;
            else if (equal(v, vn, "on-failure"))
                out->restart = Restart::kOnFailure;
            else if (equal(v, vn, "always"))
                out->restart = Restart::kAlways;
            else
                return l.fail(at + 8, "restart must be never, on-failure or always");
            continue;
        }
        if (starts_with(t, tn, "give=")) {
            if (!parse_give(l, at, end, out))
                return false;
            continue;
        }
        if (starts_with(t, tn, "ready=")) {
            if (out->ready_length != 0)
                return l.fail(at, "ready= given twice");
            if (!check_path(l, at + 6, tn - 6))
                return false;
            copy(out->ready, t + 6, tn - 6);
            out->ready_length = static_cast<uint32_t>(tn - 6);
            continue;
        }
        return l.fail(at, "unknown option (expected restart=, give=, ready= or --)");
    }
}

}  // namespace

Outcome parse_line(const char* text, size_t length, uint32_t line, Entry* out, Error* error) {
    if (length != 0 && text[length - 1] == '\r')
        --length;
    Line l{text, length};
    bool entry = false;
    if (!parse(l, out, &entry)) {
        *error = Error{line, l.column + 1, l.reason};
        return Outcome::kError;
    }
    return entry ? Outcome::kEntry : Outcome::kSkip;
}

Outcome Parser::next(Entry* out, Error* error) {
    while (at_ < length_) {
        if (line_ == UINT32_MAX) {
            at_ = length_;
            *error = Error{line_, 1, "more than 4294967295 lines"};
            return Outcome::kError;
        }
        ++line_;
        size_t end = at_;
        while (end < length_ && text_[end] != '\n')
            ++end;
        const char* s = text_ + at_;
        const size_t n = end - at_;
        at_ = end < length_ ? end + 1 : end;
        switch (parse_line(s, n, line_, out, error)) {
            case Outcome::kSkip:
            case Outcome::kEnd:
                continue;
            case Outcome::kError:
                return Outcome::kError;
            case Outcome::kEntry:
                break;
        }
        // The column of the name: the line's leading blanks are skipped.
        uint32_t column = 1;
        while (blank(s[column - 1]))
            ++column;
        for (uint32_t i = 0; i < count_; ++i) {
            if (name_lengths_[i] != out->name_length)
                continue;
            bool same = true;
            for (uint32_t k = 0; k < out->name_length && same; ++k)
                same = names_[i][k] == out->name[k];
            if (same) {
                *error = Error{line_, column, "duplicate program name (an earlier line has it)"};
                return Outcome::kError;
            }
        }
        if (count_ == kMaxPrograms) {
            *error = Error{line_, column, "more than 64 programs"};
            return Outcome::kError;
        }
        for (uint32_t k = 0; k < out->name_length; ++k)
            names_[count_][k] = out->name[k];
        name_lengths_[count_] = static_cast<uint8_t>(out->name_length);
        ++count_;
        return Outcome::kEntry;
    }
    return Outcome::kEnd;
}

}  // namespace keel::initconf
