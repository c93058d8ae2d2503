#include "name.hpp"

namespace keel::fat::detail {

namespace {

uint16_t fold(uint16_t c) {
    return c >= 'a' && c <= 'z' ? static_cast<uint16_t>(c - 32) : c;
}

// Characters an 8.3 name may hold besides upper-case letters and digits (FAT specification,
// "Short name" rules); anything else in a long name becomes '_' in a generated short name.
bool short_char(uint16_t c) {
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    const char* extra = "$%'-_@~`!(){}^#&";
    for (const char* p = extra; *p != '\0'; ++p) {
        if (c == static_cast<uint16_t>(*p))
            return true;
    }
    return false;
}

}  // namespace

Error to_utf16(const char* name, size_t length, uint16_t* out, uint32_t* units) {
    uint32_t n = 0;
    size_t i = 0;
    if (length == 0)
        return Error::kBadName;
    while (i < length) {
        const uint8_t b = static_cast<uint8_t>(name[i]);
        uint32_t cp = 0, more = 0, min = 0;
        if (b < 0x80) {
            cp = b;
        } else if ((b & 0xE0) == 0xC0) {
            cp = b & 0x1F;
            more = 1;
            min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            cp = b & 0x0F;
            more = 2;
            min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            cp = b & 0x07;
            more = 3;
            min = 0x10000;
        } else {
            return Error::kBadName;
        }
        if (length - i - 1 < more)
            return Error::kBadName;
        for (uint32_t k = 1; k <= more; ++k) {
            const uint8_t c = static_cast<uint8_t>(name[i + k]);
            if ((c & 0xC0) != 0x80)
                return Error::kBadName;
            cp = cp << 6 | (c & 0x3F);
        }
        i += 1 + more;
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return Error::kBadName;
        if (cp >= 0x10000) {
            if (n + 2 > 255)
                return Error::kBadName;
            cp -= 0x10000;
            out[n++] = static_cast<uint16_t>(0xD800 | cp >> 10);
            out[n++] = static_cast<uint16_t>(0xDC00 | (cp & 0x3FF));
        } else {
            if (n + 1 > 255)
                return Error::kBadName;
            out[n++] = static_cast<uint16_t>(cp);
        }
    }
    *units = n;
    return Error::kOk;
}

uint32_t to_utf8(const uint16_t* in, uint32_t units, char* out) {
    uint32_t o = 0;
    for (uint32_t i = 0; i < units; ++i) {
        uint32_t cp = in[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < units && in[i + 1] >= 0xDC00 &&
            in[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (in[i + 1] - 0xDC00u);
            ++i;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = '?';
        }
        if (cp < 0x80) {
            out[o++] = static_cast<char>(cp);
        } else if (cp < 0x800) {
            out[o++] = static_cast<char>(0xC0 | cp >> 6);
            out[o++] = static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = static_cast<char>(0xE0 | cp >> 12);
            out[o++] = static_cast<char>(0x80 | (cp >> 6 & 0x3F));
            out[o++] = static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out[o++] = static_cast<char>(0xF0 | cp >> 18);
            out[o++] = static_cast<char>(0x80 | (cp >> 12 & 0x3F));
            out[o++] = static_cast<char>(0x80 | (cp >> 6 & 0x3F));
            out[o++] = static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    out[o] = '\0';
    return o;
}

bool valid_long_name(const uint16_t* name, uint32_t units) {
    if (units == 0 || units > 255)
        return false;
    if (is_dot(name, units))
        return false;
    if (name[units - 1] == ' ' || name[units - 1] == '.')
        return false;
    for (uint32_t i = 0; i < units; ++i) {
        const uint16_t c = name[i];
        if (c < 0x20 || c == '"' || c == '*' || c == '/' || c == ':' || c == '<' || c == '>' ||
            c == '?' || c == '\\' || c == '|' || c == 0x7F)
            return false;
    }
    return true;
}

bool exact_short(const uint16_t* name, uint32_t units, uint8_t* short_name) {
    for (int i = 0; i < 11; ++i)
        short_name[i] = ' ';
    uint32_t base = 0, ext = 0;
    bool dot = false;
    for (uint32_t i = 0; i < units; ++i) {
        const uint16_t c = name[i];
        if (c == '.') {
            if (dot || i == 0)
                return false;
            dot = true;
            continue;
        }
        if (!short_char(c))
            return false;
        if (!dot) {
            if (base == 8)
                return false;
            short_name[base++] = static_cast<uint8_t>(c);
        } else {
            if (ext == 3)
                return false;
            short_name[8 + ext++] = static_cast<uint8_t>(c);
        }
    }
    return base > 0 && (!dot || ext > 0);
}

void numbered_short(const uint16_t* name, uint32_t units, uint32_t n, uint8_t* short_name) {
    // The basis name: upper-cased, spaces and periods dropped (but the last period, which
    // starts the extension), other characters not allowed in 8.3 replaced with '_'.
    uint32_t last_dot = units;
    for (uint32_t i = 0; i < units; ++i) {
        if (name[i] == '.')
            last_dot = i;
    }
    uint8_t base[8];
    uint32_t base_len = 0, ext_len = 0;
    for (int i = 0; i < 11; ++i)
        short_name[i] = ' ';
    for (uint32_t i = 0; i < units && i < last_dot && base_len < 8; ++i) {
        const uint16_t c = fold(name[i]);
        if (c == ' ' || c == '.')
            continue;
        base[base_len++] = short_char(c) ? static_cast<uint8_t>(c) : '_';
    }
    for (uint32_t i = last_dot + 1; i < units && ext_len < 3; ++i) {
        const uint16_t c = fold(name[i]);
        if (c == ' ')
            continue;
        short_name[8 + ext_len++] = short_char(c) ? static_cast<uint8_t>(c) : '_';
    }
    if (base_len == 0)
        base[base_len++] = '_';
    char digits[8];
    uint32_t d = 0;
    for (uint32_t v = n; v != 0 && d < 7; v /= 10)
        digits[d++] = static_cast<char>('0' + v % 10);
    const uint32_t keep = base_len + 1 + d > 8 ? 8 - 1 - d : base_len;
    uint32_t o = 0;
    for (uint32_t i = 0; i < keep; ++i)
        short_name[o++] = base[i];
    short_name[o++] = '~';
    while (d > 0)
        short_name[o++] = static_cast<uint8_t>(digits[--d]);
}

uint8_t checksum(const uint8_t* short_name) {
    uint8_t sum = 0;
    for (int i = 0; i < 11; ++i)
        sum = static_cast<uint8_t>(((sum & 1) << 7) + (sum >> 1) + short_name[i]);
    return sum;
}

uint32_t short_units(const uint8_t* raw, uint8_t flags, uint16_t* out) {
    uint32_t n = 0;
    auto put = [&](uint8_t c, bool lower) {
        uint16_t u = c >= 0x80 ? '?' : c;
        if (lower && u >= 'A' && u <= 'Z')
            u = static_cast<uint16_t>(u + 32);
        out[n++] = u;
    };
    int base_end = 8;
    while (base_end > 0 && raw[base_end - 1] == ' ')
        --base_end;
    for (int i = 0; i < base_end; ++i)
        put(i == 0 && raw[0] == 0x05 ? 0xE5 : raw[i], (flags & 0x08) != 0);
    int ext_end = 11;
    while (ext_end > 8 && raw[ext_end - 1] == ' ')
        --ext_end;
    if (ext_end > 8) {
        out[n++] = '.';
        for (int i = 8; i < ext_end; ++i)
            put(raw[i], (flags & 0x10) != 0);
    }
    return n;
}

bool same_name(const uint16_t* a, uint32_t a_units, const uint16_t* b, uint32_t b_units) {
    if (a_units != b_units)
        return false;
    for (uint32_t i = 0; i < a_units; ++i) {
        if (fold(a[i]) != fold(b[i]))
            return false;
    }
    return true;
}

}  // namespace keel::fat::detail
