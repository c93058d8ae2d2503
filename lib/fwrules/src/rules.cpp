#include <keel/fwrules/rules.hpp>

namespace keel::fwrules {
namespace {

// One line's words, found by a cursor: a word is a run of bytes other than blanks; '#' at a
// word's start begins a comment to the end of the line.
struct Cursor {
    const char* text;
    size_t size;
    size_t at = 0;

    bool blank(char c) const { return c == ' ' || c == '\t'; }
    // The next word, or false at the end or a comment. *column is 1-based.
    bool next(const char** word, size_t* length, uint32_t* column) {
        while (at < size && blank(text[at]))
            ++at;
        if (at == size || text[at] == '#')
            return false;
        const size_t start = at;
        while (at < size && !blank(text[at]))
            ++at;
        *word = text + start;
        *length = at - start;
        *column = static_cast<uint32_t>(start + 1);
        return true;
    }
    uint32_t end_column() const { return static_cast<uint32_t>(size + 1); }
};

bool same(const char* word, size_t length, const char* literal) {
    size_t i = 0;
    for (; i < length; ++i) {
        if (literal[i] == '\0' || literal[i] != word[i])
            return false;
    }
    return literal[i] == '\0';
}

// A decimal number without leading zeros, at most `max`.
bool number(const char* s, size_t n, uint32_t max, uint32_t* out) {
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + static_cast<uint32_t>(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

bool action_word(const char* w, size_t n, Action* out) {
    if (same(w, n, "allow")) {
        *out = Action::kAllow;
        return true;
    }
    if (same(w, n, "deny")) {
        *out = Action::kDeny;
        return true;
    }
    return false;
}

struct LineError {
    uint32_t column;
    const char* reason;
};

constexpr Address mask_of(uint8_t prefix) {
    return prefix == 0 ? 0 : ~Address{0} << (32 - prefix);
}

// ADDRESS: any, a.b.c.d or a.b.c.d/N. Null, or the fault.
const char* parse_address(const char* w, size_t n, Rule* rule) {
    if (same(w, n, "any")) {
        rule->address = 0;
        rule->prefix = 0;
        return nullptr;
    }
    size_t slash = n;
    for (size_t i = 0; i < n; ++i) {
        if (w[i] == '/') {
            slash = i;
            break;
        }
    }
    Address a = 0;
    size_t start = 0;
    for (int part = 0; part < 4; ++part) {
        size_t end = start;
        while (end < slash && w[end] != '.')
            ++end;
        uint32_t v = 0;
        if (!number(w + start, end - start, 255, &v))
            return "bad address (expected a.b.c.d, a.b.c.d/N or any)";
        a = a << 8 | v;
        if (part < 3) {
            if (end == slash)
                return "bad address (expected a.b.c.d, a.b.c.d/N or any)";
            start = end + 1;
        } else if (end != slash) {
            return "bad address (expected a.b.c.d, a.b.c.d/N or any)";
        }
    }
    uint32_t prefix = 32;
    if (slash != n) {
        if (!number(w + slash + 1, n - slash - 1, 99, &prefix))
            return "bad prefix length (expected /0 to /32)";
        if (prefix > 32)
            return "bad prefix length (expected /0 to /32)";
    }
    if ((a & ~mask_of(static_cast<uint8_t>(prefix))) != 0)
        return "address has bits set past its prefix length";
    rule->address = a;
    rule->prefix = static_cast<uint8_t>(prefix);
    return nullptr;
}

// PORT: any, N or N-M (0-65535).
const char* parse_port(const char* w, size_t n, Rule* rule) {
    if (same(w, n, "any")) {
        rule->port_low = 0;
        rule->port_high = 65535;
        return nullptr;
    }
    size_t dash = n;
    for (size_t i = 0; i < n; ++i) {
        if (w[i] == '-') {
            dash = i;
            break;
        }
    }
    uint32_t low = 0, high = 0;
    if (!number(w, dash, 65535, &low))
        return "bad port (expected N, N-M or any; 0 to 65535)";
    high = low;
    if (dash != n && !number(w + dash + 1, n - dash - 1, 65535, &high))
        return "bad port (expected N, N-M or any; 0 to 65535)";
    if (high < low)
        return "port range runs backwards";
    rule->port_low = static_cast<uint16_t>(low);
    rule->port_high = static_cast<uint16_t>(high);
    return nullptr;
}

enum class Kind : uint8_t { kNothing, kRule, kDefault };

// One line (without '\n', a trailing '\r' already cut). *error set when it returns false.
bool parse_line(const char* text, size_t size, Kind* kind, Rule* rule, Action* fallback,
                LineError* error) {
    *kind = Kind::kNothing;
    if (size > kMaxLine) {
        *error = {kMaxLine + 1, "line longer than 256 bytes"};
        return false;
    }
    for (size_t i = 0; i < size; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            *error = {static_cast<uint32_t>(i + 1), "control byte"};
            return false;
        }
    }
    Cursor cursor{text, size};
    const char* w = nullptr;
    size_t n = 0;
    uint32_t column = 0;
    if (!cursor.next(&w, &n, &column))
        return true;  // blank or comment
    if (same(w, n, "default")) {
        if (!cursor.next(&w, &n, &column)) {
            *error = {cursor.end_column(), "missing the default action (allow or deny)"};
            return false;
        }
        if (!action_word(w, n, fallback)) {
            *error = {column, "unknown default action (expected allow or deny)"};
            return false;
        }
        *kind = Kind::kDefault;
    } else {
        Rule r{};
        if (!action_word(w, n, &r.action)) {
            *error = {column, "unknown word (expected allow, deny or default)"};
            return false;
        }
        if (!cursor.next(&w, &n, &column)) {
            *error = {cursor.end_column(), "missing the protocol (tcp, udp, icmp or any)"};
            return false;
        }
        if (same(w, n, "tcp"))
            r.protocol = Protocol::kTcp;
        else if (same(w, n, "udp"))
            r.protocol = Protocol::kUdp;
        else if (same(w, n, "icmp"))
            r.protocol = Protocol::kIcmp;
        else if (same(w, n, "any"))
            r.protocol = Protocol::kAny;
        else {
            *error = {column, "unknown protocol (expected tcp, udp, icmp or any)"};
            return false;
        }
        if (!cursor.next(&w, &n, &column)) {
            *error = {cursor.end_column(), "missing the address (a.b.c.d, a.b.c.d/N or any)"};
            return false;
        }
        if (const char* why = parse_address(w, n, &r)) {
            *error = {column, why};
            return false;
        }
        r.port_low = 0;
        r.port_high = 65535;
        if (cursor.next(&w, &n, &column)) {
            if (r.protocol == Protocol::kIcmp && !same(w, n, "any")) {
                *error = {column, "icmp has no ports"};
                return false;
            }
            if (const char* why = parse_port(w, n, &r)) {
                *error = {column, why};
                return false;
            }
        }
        *rule = r;
        *kind = Kind::kRule;
    }
    if (cursor.next(&w, &n, &column)) {
        *error = {column, "unexpected word after the rule"};
        return false;
    }
    return true;
}

}  // namespace

bool parse(const char* text, size_t size, RuleSet* out, Error* error) {
    out->default_action = Action::kDeny;
    out->default_line = 0;
    out->count = 0;
    bool have_default = false;
    uint32_t line = 0;
    const auto refuse = [&](uint32_t at_line, uint32_t column, const char* reason) {
        *error = {at_line, column, reason};
        out->default_action = Action::kDeny;
        out->default_line = 0;
        out->count = 0;
        return false;
    };
    if (size > kMaxText)
        return refuse(1, 1, "file larger than 64 KiB");
    for (size_t start = 0; start < size || (start == size && line == 0);) {
        size_t end = start;
        while (end < size && text[end] != '\n')
            ++end;
        ++line;
        size_t length = end - start;
        if (length > 0 && text[start + length - 1] == '\r')
            --length;
        Kind kind = Kind::kNothing;
        Rule rule{};
        Action fallback = Action::kDeny;
        LineError e{};
        if (!parse_line(text + start, length, &kind, &rule, &fallback, &e))
            return refuse(line, e.column, e.reason);
        if (kind == Kind::kDefault) {
            if (have_default)
                return refuse(line, 1, "a second default line (there is one per file)");
            have_default = true;
            out->default_action = fallback;
            out->default_line = line;
        } else if (kind == Kind::kRule) {
            if (out->count == kMaxRules)
                return refuse(line, 1, "more than 64 rules");
            rule.line = line;
            out->rules[out->count++] = rule;
        }
        if (end == size)
            break;
        start = end + 1;
    }
    if (!have_default)
        return refuse(line + 1, 1, "no default line (default allow or default deny)");
    return true;
}

Decision decide(const RuleSet& rules, Protocol protocol, Address address, uint16_t port) {
    for (uint32_t i = 0; i < rules.count; ++i) {
        const Rule& r = rules.rules[i];
        if (r.protocol != Protocol::kAny && r.protocol != protocol)
            continue;
        if ((address & mask_of(r.prefix)) != r.address)
            continue;
        if (port < r.port_low || port > r.port_high)
            continue;
        return {r.action, i + 1, r.line};
    }
    return {rules.default_action, 0, rules.default_line};
}

const char* protocol_name(Protocol protocol) {
    switch (protocol) {
        case Protocol::kTcp:
            return "tcp";
        case Protocol::kUdp:
            return "udp";
        case Protocol::kIcmp:
            return "icmp";
        default:
            return "any";
    }
}

namespace {

// Appends a NUL-terminated string or a decimal number; false when out of room.
struct Writer {
    char* out;
    size_t room;
    size_t at = 0;
    bool put(const char* s) {
        for (; *s != '\0'; ++s) {
            if (at + 1 >= room)
                return false;
            out[at++] = *s;
        }
        return true;
    }
    bool put(uint32_t v) {
        char digits[10];
        int n = 0;
        do {
            digits[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n > 0) {
            const char c[2] = {digits[--n], '\0'};
            if (!put(c))
                return false;
        }
        return true;
    }
};

}  // namespace

size_t write_rule(const Rule& rule, char* out, size_t room) {
    if (room == 0)
        return 0;
    Writer w{out, room};
    bool ok = w.put(rule.action == Action::kAllow ? "allow " : "deny ") &&
              w.put(protocol_name(rule.protocol)) && w.put(" ");
    if (ok && rule.prefix == 0) {
        ok = w.put("any");
    } else if (ok) {
        ok = w.put(rule.address >> 24) && w.put(".") && w.put(rule.address >> 16 & 255) &&
             w.put(".") && w.put(rule.address >> 8 & 255) && w.put(".") &&
             w.put(rule.address & 255);
        if (ok && rule.prefix != 32)
            ok = w.put("/") && w.put(rule.prefix);
    }
    if (ok && rule.protocol != Protocol::kIcmp) {
        if (rule.port_low == 0 && rule.port_high == 65535)
            ok = w.put(" any");
        else if (rule.port_low == rule.port_high)
            ok = w.put(" ") && w.put(rule.port_low);
        else
            ok = w.put(" ") && w.put(rule.port_low) && w.put("-") && w.put(rule.port_high);
    }
    if (!ok) {
        out[0] = '\0';
        return 0;
    }
    out[w.at] = '\0';
    return w.at;
}

}  // namespace keel::fwrules
