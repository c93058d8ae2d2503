// Keymaps: the built-in US layout, the text format's parser and writer (README.md, "Keymap
// files").
#include <keel/keymap/keymap.hpp>

namespace keel::keymap {

namespace {

struct UsKey {
    uint8_t key;
    char plain, shift;
};

// Every printable key of a 104-key US keyboard, and the keypad's characters (its digits count
// only under Num Lock: Keyboard).
constexpr UsKey kUsKeys[] = {
    {0x02, '1', '!'}, {0x03, '2', '@'},  {0x04, '3', '#'}, {0x05, '4', '$'}, {0x06, '5', '%'},
    {0x07, '6', '^'}, {0x08, '7', '&'},  {0x09, '8', '*'}, {0x0a, '9', '('}, {0x0b, '0', ')'},
    {0x0c, '-', '_'}, {0x0d, '=', '+'},  {0x10, 'q', 'Q'}, {0x11, 'w', 'W'}, {0x12, 'e', 'E'},
    {0x13, 'r', 'R'}, {0x14, 't', 'T'},  {0x15, 'y', 'Y'}, {0x16, 'u', 'U'}, {0x17, 'i', 'I'},
    {0x18, 'o', 'O'}, {0x19, 'p', 'P'},  {0x1a, '[', '{'}, {0x1b, ']', '}'}, {0x1e, 'a', 'A'},
    {0x1f, 's', 'S'}, {0x20, 'd', 'D'},  {0x21, 'f', 'F'}, {0x22, 'g', 'G'}, {0x23, 'h', 'H'},
    {0x24, 'j', 'J'}, {0x25, 'k', 'K'},  {0x26, 'l', 'L'}, {0x27, ';', ':'}, {0x28, '\'', '"'},
    {0x29, '`', '~'}, {0x2b, '\\', '|'}, {0x2c, 'z', 'Z'}, {0x2d, 'x', 'X'}, {0x2e, 'c', 'C'},
    {0x2f, 'v', 'V'}, {0x30, 'b', 'B'},  {0x31, 'n', 'N'}, {0x32, 'm', 'M'}, {0x33, ',', '<'},
    {0x34, '.', '>'}, {0x35, '/', '?'},  {0x37, '*', '*'}, {0x39, ' ', ' '}, {0x47, '7', 0},
    {0x48, '8', 0},   {0x49, '9', 0},    {0x4a, '-', '-'}, {0x4b, '4', 0},   {0x4c, '5', 0},
    {0x4d, '6', 0},   {0x4e, '+', '+'},  {0x4f, '1', 0},   {0x50, '2', 0},   {0x51, '3', 0},
    {0x52, '0', 0},   {0x53, '.', 0},    {0xb5, '/', '/'},
};

constexpr Keymap make_us() {
    Keymap m{};
    m.name[0] = 'u';
    m.name[1] = 's';
    for (const UsKey& k : kUsKeys) {
        m.levels[k.key][0] = static_cast<uint8_t>(k.plain);
        m.levels[k.key][1] = static_cast<uint8_t>(k.shift);
        if (k.plain >= 'a' && k.plain <= 'z')
            m.caps[k.key >> 3] |= static_cast<uint8_t>(1u << (k.key & 7));
    }
    return m;
}

constexpr Keymap kUs = make_us();

bool blank(uint8_t c) {
    return c == ' ' || c == '\t';
}

bool hex_digit(uint8_t c, uint32_t* v) {
    if (c >= '0' && c <= '9')
        *v = c - '0';
    else if (c >= 'a' && c <= 'f')
        *v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        *v = c - 'A' + 10;
    else
        return false;
    return true;
}

// t[0..n) as hex digits (at most 7 of them: no overflow): false if any byte is not one.
bool hex_number(const uint8_t* t, size_t n, uint32_t* v) {
    *v = 0;
    for (size_t i = 0; i < n; ++i) {
        uint32_t d = 0;
        if (n > 7 || !hex_digit(t[i], &d))
            return false;
        *v = *v << 4 | d;
    }
    return true;
}

bool same(const uint8_t* t, size_t n, const char* word) {
    size_t i = 0;
    for (; i < n && word[i] != '\0'; ++i) {
        if (t[i] != static_cast<uint8_t>(word[i]))
            return false;
    }
    return i == n && word[i] == '\0';
}

// One UTF-8 character at t[0..n): its length, or 0 if malformed (overlong, surrogate, past
// U+10FFFF, cut short).
size_t utf8_char(const uint8_t* t, size_t n, uint32_t* cp) {
    const uint8_t b = t[0];
    size_t len = 0;
    uint32_t v = 0, min = 0;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if ((b & 0xe0) == 0xc0) {
        len = 2, v = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
        len = 3, v = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
        len = 4, v = b & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; ++i) {
        if ((t[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (t[i] & 0x3f);
    }
    if (v < min || v > kMaxCodePoint || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

// A code point a key may type: not a control character, not a surrogate, not past U+10FFFF.
bool typable(uint32_t cp) {
    return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp < 0xa0) &&
           !(cp >= 0xd800 && cp <= 0xdfff) && cp <= kMaxCodePoint;
}

// A level token: a single character, U+XXXX or `none`. nullptr or a reason.
const char* level(const uint8_t* t, size_t n, uint32_t* cp) {
    if (same(t, n, "none")) {
        *cp = 0;
        return nullptr;
    }
    if (n >= 3 && t[0] == 'U' && t[1] == '+') {
        uint32_t v = 0;
        if (n > 8 || !hex_number(t + 2, n - 2, &v) || !typable(v))
            return "bad code point";
        *cp = v;
        return nullptr;
    }
    uint32_t v = 0;
    const size_t len = utf8_char(t, n, &v);
    if (len != n)
        return "a level is one character, U+XXXX or none";
    if (!typable(v))
        return "bad code point";
    *cp = v;
    return nullptr;
}

bool name_byte(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

// One line's tokens (up to 8: more is an error of its own).
struct Tokens {
    const uint8_t* at[8];
    size_t length[8];
    size_t count = 0;
};

// Splits a line into tokens; a token starting with '#' ends the line. nullptr or a reason.
const char* split(const uint8_t* t, size_t n, Tokens* out) {
    size_t i = 0;
    for (;;) {
        while (i < n && blank(t[i]))
            ++i;
        if (i == n || t[i] == '#')
            return nullptr;
        if (out->count == 8)
            return "too many fields";
        const size_t begin = i;
        while (i < n && !blank(t[i]))
            ++i;
        out->at[out->count] = t + begin;
        out->length[out->count++] = i - begin;
    }
}

const char* check_bytes(const uint8_t* t, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        if (t[i] < 0x20 && t[i] != '\t')
            return "control character";
        if (t[i] == 0x7f)
            return "control character";
        const size_t len = utf8_char(t + i, n - i, &cp);
        if (len == 0)
            return "invalid UTF-8";
        i += len;
    }
    return nullptr;
}

constexpr size_t kMaxLine = 512;

const char* key_line(const Tokens& k, Keymap* out, uint8_t* seen) {
    const uint8_t* t = k.at[0];
    const size_t n = k.length[0];
    if (n < 3 || n > 4 || t[0] != '0' || (t[1] != 'x' && t[1] != 'X'))
        return "a line starts with a key number (0xNN) or name";
    uint32_t key = 0;
    if (!hex_number(t + 2, n - 2, &key) || key == 0 || key > 0xff)
        return "bad key number";
    if ((seen[key >> 3] >> (key & 7) & 1) != 0)
        return "key given twice";
    seen[key >> 3] |= static_cast<uint8_t>(1u << (key & 7));
    size_t fields = k.count;
    const bool caps = fields > 1 && same(k.at[fields - 1], k.length[fields - 1], "caps");
    if (caps)
        --fields;
    if (fields < 2)
        return "no levels";
    if (fields > 5)
        return "more than four levels";
    uint32_t levels[4] = {};
    for (size_t i = 1; i < fields; ++i) {
        if (const char* why = level(k.at[i], k.length[i], &levels[i - 1]))
            return why;
    }
    for (int i = 0; i < 4; ++i)
        out->levels[key][i] = levels[i];
    const uint8_t bit = static_cast<uint8_t>(1u << (key & 7));
    out->caps[key >> 3] =
        static_cast<uint8_t>(caps ? out->caps[key >> 3] | bit : out->caps[key >> 3] & ~bit);
    return nullptr;
}

}  // namespace

const Keymap& us() {
    return kUs;
}

const char* parse(const uint8_t* text, size_t size, Keymap* out, uint32_t* line) {
    *out = kUs;
    const char* unnamed = "unnamed";
    for (size_t i = 0; i < sizeof out->name; ++i)
        out->name[i] = i < 7 ? unnamed[i] : '\0';
    uint8_t seen[32] = {};
    bool named = false;
    uint32_t number = 0;
    for (size_t at = 0; at < size;) {
        ++number;
        if (line != nullptr)
            *line = number;
        size_t end = at;
        while (end < size && text[end] != '\n')
            ++end;
        size_t n = end - at;
        if (n > 0 && text[at + n - 1] == '\r')
            --n;
        const uint8_t* t = text + at;
        at = end + 1;
        if (n > kMaxLine)
            return "line too long";
        if (const char* why = check_bytes(t, n))
            return why;
        Tokens k;
        if (const char* why = split(t, n, &k))
            return why;
        if (k.count == 0)
            continue;
        if (same(k.at[0], k.length[0], "name")) {
            if (named)
                return "a second name line";
            if (k.count != 2 || k.length[1] >= sizeof out->name)
                return "name takes one word of 1-31 letters, digits, - _ .";
            for (size_t i = 0; i < k.length[1]; ++i) {
                if (!name_byte(k.at[1][i]))
                    return "name takes one word of 1-31 letters, digits, - _ .";
                out->name[i] = static_cast<char>(k.at[1][i]);
            }
            for (size_t i = k.length[1]; i < sizeof out->name; ++i)
                out->name[i] = '\0';
            named = true;
            continue;
        }
        if (const char* why = key_line(k, out, seen))
            return why;
    }
    if (line != nullptr)
        *line = 0;
    return nullptr;
}

namespace {

struct Out {
    char* p;
    size_t cap, n = 0;
    bool ok = true;
    void put(char c) {
        if (n + 1 < cap)
            p[n++] = c;
        else
            ok = false;
    }
    void text(const char* s) {
        while (*s != '\0')
            put(*s++);
    }
    void hex(uint32_t v, int digits) {
        for (int i = digits - 1; i >= 0; --i)
            put("0123456789ABCDEF"[v >> (4 * i) & 0xf]);
    }
    void number(uint32_t v) {
        char d[10];
        int k = 0;
        do {
            d[k++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (k > 0)
            put(d[--k]);
    }
};

}  // namespace

size_t write(const Keymap& map, char* out, size_t cap) {
    Out o{out, cap};
    o.text("name ");
    for (size_t i = 0; i < sizeof map.name && map.name[i] != '\0'; ++i)
        o.put(map.name[i]);
    o.put('\n');
    for (uint32_t key = 1; key < 256; ++key) {
        const bool caps = (map.caps[key >> 3] >> (key & 7) & 1) != 0;
        bool any = caps;
        for (int l = 0; l < 4; ++l)
            any = any || map.levels[key][l] != 0 || kUs.levels[key][l] != 0;
        if (!any)
            continue;
        o.text("0x");
        o.hex(key, 2);
        for (int l = 0; l < 4; ++l) {
            const uint32_t cp = map.levels[key][l];
            o.put(' ');
            if (cp == 0) {
                o.text("none");
            } else if (cp > 0x20 && cp < 0x7f && cp != '#') {
                o.put(static_cast<char>(cp));
            } else {
                o.text("U+");
                o.hex(cp, cp > 0xffff ? 6 : 4);
            }
        }
        if (caps)
            o.text(" caps");
        o.put('\n');
    }
    if (!o.ok || cap == 0)
        return 0;
    out[o.n] = '\0';
    return o.n;
}

size_t describe(const char* reason, uint32_t line, char* out, size_t cap) {
    Out o{out, cap};
    o.text("keymap: line ");
    o.number(line);
    o.text(": ");
    o.text(reason);
    if (cap == 0)
        return 0;
    out[o.n] = '\0';
    return o.n;
}

}  // namespace keel::keymap
