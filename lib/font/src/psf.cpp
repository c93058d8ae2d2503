// PSF1 and PSF2 parsing (see psf.hpp). Layouts, as the Linux console's font tools write them:
//   PSF1: 0x36 0x04, mode (0x01: 512 glyphs, else 256; 0x02 or 0x04: a Unicode table follows),
//         charsize (the height; width 8, one byte per row); the glyphs; the table: per glyph,
//         little-endian u16 code points, 0xFFFE starting a sequence, 0xFFFF ending the glyph.
//   PSF2: 72 b5 4a 86, then little-endian u32 version (0), headersize, flags (bit 0: a Unicode
//         table follows), length (glyphs), charsize, height, width; the glyphs at headersize;
//         the table: per glyph, UTF-8 code points, 0xFE starting a sequence, 0xFF ending it.
// Every field is checked before it is used and nothing outside [file, file + size) is read.
#include <keel/font/psf.hpp>

namespace keel::font {
namespace {

constexpr uint32_t kPsf1Header = 4;
constexpr uint32_t kPsf2Header = 32;
constexpr uint8_t kPsf1Mode512 = 0x01, kPsf1ModeHasTable = 0x02, kPsf1ModeHasSequences = 0x04;
constexpr uint16_t kPsf1Separator = 0xFFFF, kPsf1StartSequence = 0xFFFE;
constexpr uint32_t kPsf2HasTable = 0x01;
constexpr uint8_t kPsf2Separator = 0xFF, kPsf2StartSequence = 0xFE;
constexpr uint32_t kReplacement = 0xFFFD;
// A table with no single-code-point entry, read with no map storage: still a table (every code
// point gets the fallback), not the identity of a font without one.
constexpr Mapping kNoEntries{0, 0};

uint32_t le32(const uint8_t* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

bool valid_code_point(uint32_t c) {
    return c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF);
}

// The caller's map, kept sorted by code point while the table is read: a code point already
// present keeps its first glyph (the table is read glyph by glyph, so the first is the lowest).
struct MapBuilder {
    Mapping* map;
    uint32_t capacity;
    uint32_t count = 0;

    // nullptr, or the reason the map cannot take another distinct code point.
    const char* add(uint32_t code_point, uint32_t glyph) {
        uint32_t lo = 0, hi = count;
        while (lo < hi) {
            const uint32_t mid = lo + (hi - lo) / 2;
            if (map[mid].code_point < code_point)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < count && map[lo].code_point == code_point)
            return nullptr;
        if (count == capacity)
            return "psf: Unicode table has more entries than the map storage";
        for (uint32_t i = count; i > lo; --i)
            map[i] = map[i - 1];
        map[lo] = Mapping{code_point, glyph};
        ++count;
        return nullptr;
    }
};

// PSF1's table: [p, end) must hold exactly `glyphs` entries ending in 0xFFFF.
const char* read_psf1_table(const uint8_t* p, const uint8_t* end, uint32_t glyphs, MapBuilder& b) {
    for (uint32_t g = 0; g < glyphs; ++g) {
        bool sequence = false;
        for (;;) {
            if (end - p < 2)
                return end == p ? "psf: Unicode table ends before its last glyph"
                                : "psf: Unicode table ends inside a code point";
            const uint16_t v = static_cast<uint16_t>(p[0] | p[1] << 8);
            p += 2;
            if (v == kPsf1Separator)
                break;
            if (v == kPsf1StartSequence) {
                sequence = true;
                continue;
            }
            if (!valid_code_point(v))
                return "psf: Unicode table holds a surrogate";
            if (!sequence) {
                if (const char* why = b.add(v, g))
                    return why;
            }
        }
    }
    return p == end ? nullptr : "psf: bytes after the Unicode table";
}

// One UTF-8 code point at *pp (before end), strictly: no overlong forms, no surrogates, nothing
// above U+10FFFF. nullptr and *pp advanced, or the reason.
const char* decode_utf8(const uint8_t** pp, const uint8_t* end, uint32_t* out) {
    const uint8_t* p = *pp;
    const uint8_t lead = *p++;
    uint32_t c;
    uint32_t more;
    uint32_t min;
    if (lead < 0x80) {
        *out = lead;
        *pp = p;
        return nullptr;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
        c = lead & 0x1Fu, more = 1, min = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        c = lead & 0x0Fu, more = 2, min = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        c = lead & 0x07u, more = 3, min = 0x10000;
    } else {
        return "psf: Unicode table holds invalid UTF-8";
    }
    if (static_cast<size_t>(end - p) < more)
        return "psf: Unicode table ends inside a code point";
    for (uint32_t i = 0; i < more; ++i) {
        if ((p[i] & 0xC0) != 0x80)
            return "psf: Unicode table holds invalid UTF-8";
        c = c << 6 | (p[i] & 0x3Fu);
    }
    if (c < min)
        return "psf: Unicode table holds invalid UTF-8";
    if (!valid_code_point(c))
        return c > 0x10FFFF ? "psf: Unicode table holds a code point above U+10FFFF"
                            : "psf: Unicode table holds a surrogate";
    *out = c;
    *pp = p + more;
    return nullptr;
}

// PSF2's table: [p, end) must hold exactly `glyphs` entries ending in 0xFF.
const char* read_psf2_table(const uint8_t* p, const uint8_t* end, uint32_t glyphs, MapBuilder& b) {
    for (uint32_t g = 0; g < glyphs; ++g) {
        bool sequence = false;
        for (;;) {
            if (p == end)
                return "psf: Unicode table ends before its last glyph";
            if (*p == kPsf2Separator) {
                ++p;
                break;
            }
            if (*p == kPsf2StartSequence) {
                ++p;
                sequence = true;
                continue;
            }
            uint32_t c = 0;
            if (const char* why = decode_utf8(&p, end, &c))
                return why;
            if (!sequence) {
                if (const char* why = b.add(c, g))
                    return why;
            }
        }
    }
    return p == end ? nullptr : "psf: bytes after the Unicode table";
}

const Mapping* find(const Font& font, uint32_t code_point) {
    uint32_t lo = 0, hi = font.map_count;
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (font.map[mid].code_point < code_point)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < font.map_count && font.map[lo].code_point == code_point ? &font.map[lo] : nullptr;
}

// The glyph the table or the identity gives, or false.
bool lookup(const Font& font, uint32_t code_point, uint32_t* glyph) {
    if (font.map == nullptr) {
        *glyph = code_point;
        return code_point < font.glyph_count;
    }
    const Mapping* m = find(font, code_point);
    if (m != nullptr)
        *glyph = m->glyph;
    return m != nullptr;
}

void store32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
    p[2] = static_cast<uint8_t>(v >> 16);
    p[3] = static_cast<uint8_t>(v >> 24);
}

}  // namespace

const char* parse(const uint8_t* file, size_t size, Mapping* map, uint32_t capacity, Font* out) {
    if ((file == nullptr && size != 0) || out == nullptr || (map == nullptr && capacity != 0))
        return "psf: no file or no output";
    uint64_t header = 0;  // where the glyphs start
    bool has_table = false;
    bool psf2 = false;
    Font f{};
    if (size >= 2 && file[0] == 0x36 && file[1] == 0x04) {
        if (size < kPsf1Header)
            return "psf: truncated header";
        const uint8_t mode = file[2];
        if ((mode & ~(kPsf1Mode512 | kPsf1ModeHasTable | kPsf1ModeHasSequences)) != 0)
            return "psf: unknown PSF1 mode bits";
        f.glyph_count = (mode & kPsf1Mode512) != 0 ? 512 : 256;
        f.width = 8;
        f.height = file[3];
        f.bytes_per_glyph = file[3];
        has_table = (mode & (kPsf1ModeHasTable | kPsf1ModeHasSequences)) != 0;
        header = kPsf1Header;
    } else if (size >= 4 && file[0] == 0x72 && file[1] == 0xB5 && file[2] == 0x4A &&
               file[3] == 0x86) {
        if (size < kPsf2Header)
            return "psf: truncated header";
        psf2 = true;
        if (le32(file + 4) != 0)
            return "psf: unknown PSF2 version";
        header = le32(file + 8);
        if (header < kPsf2Header)
            return "psf: header size below 32";
        if (header > size)
            return "psf: truncated header";
        const uint32_t flags = le32(file + 12);
        if ((flags & ~kPsf2HasTable) != 0)
            return "psf: unknown PSF2 flags";
        has_table = (flags & kPsf2HasTable) != 0;
        f.glyph_count = le32(file + 16);
        f.bytes_per_glyph = le32(file + 20);
        f.height = le32(file + 24);
        f.width = le32(file + 28);
    } else {
        return "psf: not a PC Screen Font (no PSF1 or PSF2 magic)";
    }
    if (f.glyph_count == 0)
        return "psf: no glyphs";
    if (f.glyph_count > kMaxGlyphs)
        return "psf: too many glyphs";
    if (f.width == 0 || f.height == 0)
        return "psf: glyphs of zero width or height";
    if (f.width > kMaxWidth || f.height > kMaxHeight)
        return "psf: glyphs too large";
    f.bytes_per_row = (f.width + 7) / 8;
    if (f.bytes_per_glyph < f.bytes_per_row * f.height)
        return "psf: glyph size smaller than its bitmap";
    // glyph_count <= 4096 and bytes_per_glyph < 2^32: the product fits in 64 bits.
    const uint64_t glyph_bytes = uint64_t{f.glyph_count} * f.bytes_per_glyph;
    if (glyph_bytes > size - header)
        return "psf: truncated glyphs";
    f.glyphs = file + header;
    const uint8_t* table = f.glyphs + glyph_bytes;
    const uint8_t* end = file + size;
    if (has_table) {
        MapBuilder b{map, capacity};
        const char* why = psf2 ? read_psf2_table(table, end, f.glyph_count, b)
                               : read_psf1_table(table, end, f.glyph_count, b);
        if (why != nullptr)
            return why;
        f.map = map != nullptr ? map : &kNoEntries;
        f.map_count = b.count;
    } else if (table != end) {
        return "psf: bytes after the glyphs";
    }
    uint32_t g = 0;
    f.fallback = lookup(f, kReplacement, &g) || lookup(f, '?', &g) ? g : 0;
    *out = f;
    return nullptr;
}

uint32_t glyph_for(const Font& font, uint32_t code_point) {
    uint32_t g = 0;
    return lookup(font, code_point, &g) ? g : font.fallback;
}

bool pixel(const Font& font, uint32_t glyph, uint32_t x, uint32_t y) {
    if (glyph >= font.glyph_count || x >= font.width || y >= font.height)
        return false;
    const uint8_t* row =
        font.glyphs + size_t{glyph} * font.bytes_per_glyph + size_t{y} * font.bytes_per_row;
    return (row[x / 8] & (0x80u >> (x % 8))) != 0;
}

void draw(const Font& font, uint32_t glyph, uint8_t* pixels, uint32_t pitch, uint32_t fg,
          uint32_t bg) {
    if (glyph >= font.glyph_count)
        glyph = font.fallback;
    const uint8_t* bits = font.glyphs + size_t{glyph} * font.bytes_per_glyph;
    for (uint32_t y = 0; y < font.height; ++y) {
        const uint8_t* row = bits + size_t{y} * font.bytes_per_row;
        uint8_t* dst = pixels + size_t{y} * pitch;
        for (uint32_t x = 0; x < font.width; ++x)
            store32(dst + 4 * size_t{x}, (row[x / 8] & (0x80u >> (x % 8))) != 0 ? fg : bg);
    }
}

}  // namespace keel::font
