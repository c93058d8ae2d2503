// PC Screen Font fuzz target (lib/font). Input: a PSF1 or PSF2 file, as it is. An accepted font
// is re-read by this file's own oracle at the formats' offsets: the magic, the geometry (PSF1:
// 8 wide, the charsize byte high, 256 or 512 glyphs by the mode; PSF2: the header's fields, its
// header size, version 0, known flags), the glyphs inside the input right after the header, and
// the Unicode table decoded independently (strict UTF-8 or UCS-2, exactly one terminator per
// glyph and nothing after) into a first-glyph-wins map equal to the parser's, with the fallback
// it implies; draw() agrees with pixel() for one glyph. Each input is parsed again with room for
// only 16 entries: the same answer when the table has at most 16, the storage refusal
// otherwise. A refusal has a reason; the same bytes give the same answer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include <keel/font/psf.hpp>

namespace {

namespace psf = keel::font;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "font oracle: %s\n", what);
    std::abort();
}

uint32_t le(const uint8_t* p, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; --i)
        v = v << 8 | p[i];
    return v;
}

bool scalar(uint32_t c) {
    return c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
}

// The oracle's table reader: false when the table is malformed.
bool read_table(const uint8_t* p, const uint8_t* end, uint32_t glyphs, bool utf8,
                std::map<uint32_t, uint32_t>* out) {
    for (uint32_t g = 0; g < glyphs; ++g) {
        bool in_sequence = false;
        for (;;) {
            uint32_t c = 0;
            if (!utf8) {
                if (end - p < 2)
                    return false;
                c = le(p, 2);
                p += 2;
                if (c == 0xFFFF)
                    break;
                if (c == 0xFFFE) {
                    in_sequence = true;
                    continue;
                }
            } else {
                if (p == end)
                    return false;
                if (*p == 0xFF) {
                    ++p;
                    break;
                }
                if (*p == 0xFE) {
                    ++p;
                    in_sequence = true;
                    continue;
                }
                int n = 0;  // leading one bits of the lead byte
                while (n < 8 && (*p & (0x80 >> n)) != 0)
                    ++n;
                if (n == 1 || n > 4)
                    return false;
                const int len = n == 0 ? 1 : n;
                if (end - p < len)
                    return false;
                c = n == 0 ? *p : *p & (0x7F >> n);
                for (int i = 1; i < len; ++i) {
                    if ((p[i] & 0xC0) != 0x80)
                        return false;
                    c = c << 6 | (p[i] & 0x3F);
                }
                const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
                if (c < least[len])
                    return false;
                p += len;
            }
            if (!scalar(c))
                return false;
            if (!in_sequence)
                out->emplace(c, g);
        }
    }
    return p == end;
}

void run(const uint8_t* d, size_t size) {
    std::vector<psf::Mapping> map(1024);
    psf::Font f{};
    const char* why = psf::parse(d, size, map.data(), 1024, &f);
    std::vector<psf::Mapping> map2(1024);
    psf::Font g{};
    if (psf::parse(d, size, map2.data(), 1024, &g) != why)
        fail("the same bytes gave another answer");
    std::vector<psf::Mapping> small(16);
    psf::Font s{};
    const char* small_why = psf::parse(d, size, small.data(), 16, &s);
    if (why != nullptr) {
        if (why[0] == '\0')
            fail("refused without a reason");
        if (small_why == nullptr)
            fail("refused with room for 1024 entries, accepted with room for 16");
        return;
    }
    // Geometry and placement, from the header.
    uint32_t header = 0, count = 0, charsize = 0, height = 0, width = 0;
    bool table = false, utf8 = false;
    if (size >= 4 && d[0] == 0x36 && d[1] == 0x04) {
        if (d[2] > 7)
            fail("accepted unknown PSF1 mode bits");
        header = 4, count = (d[2] & 1) != 0 ? 512 : 256, charsize = d[3], height = d[3], width = 8;
        table = (d[2] & 6) != 0;
    } else if (size >= 32 && le(d, 4) == 0x864AB572) {
        if (le(d + 4, 4) != 0 || le(d + 12, 4) > 1)
            fail("accepted an unknown PSF2 version or flags");
        header = le(d + 8, 4), count = le(d + 16, 4), charsize = le(d + 20, 4);
        height = le(d + 24, 4), width = le(d + 28, 4);
        table = le(d + 12, 4) == 1;
        utf8 = true;
    } else {
        fail("accepted without a magic");
    }
    if (f.width != width || f.height != height || f.glyph_count != count ||
        f.bytes_per_glyph != charsize || f.bytes_per_row != (width + 7) / 8)
        fail("geometry is not the header's");
    if (count == 0 || count > psf::kMaxGlyphs || width == 0 || width > psf::kMaxWidth ||
        height == 0 || height > psf::kMaxHeight || charsize < (width + 7) / 8 * height)
        fail("accepted geometry outside the limits");
    if (header < (utf8 ? 32u : 4u) || header > size || f.glyphs != d + header ||
        uint64_t{count} * charsize > size - header)
        fail("glyphs not right after the header or not inside the input");
    const uint8_t* rest = d + header + size_t{count} * charsize;
    std::map<uint32_t, uint32_t> expected;
    if (table) {
        if (!read_table(rest, d + size, count, utf8, &expected))
            fail("accepted a malformed Unicode table");
        if (f.map == nullptr || f.map_count != expected.size())
            fail("map size is not the table's");
        uint32_t i = 0;
        for (const auto& [c, glyph] : expected) {
            if (f.map[i].code_point != c || f.map[i].glyph != glyph)
                fail("map entry is not the table's (first glyph wins, sorted)");
            ++i;
        }
    } else if (rest != d + size || f.map != nullptr || f.map_count != 0) {
        fail("accepted bytes after the glyphs, or a map without a table");
    }
    uint32_t fallback = 0;
    if (!table)
        fallback = '?' < count ? '?' : 0;
    else if (expected.count(0xFFFD) != 0)
        fallback = expected[0xFFFD];
    else if (expected.count('?') != 0)
        fallback = expected['?'];
    if (f.fallback != fallback)
        fail("fallback is not U+FFFD's, '?''s or 0");
    // The small storage: the same map when it fits, else its own refusal.
    if (expected.size() <= 16 || !table) {
        if (small_why != nullptr || s.map_count != f.map_count)
            fail("a table that fits in 16 entries was refused with room for 16");
    } else if (small_why == nullptr) {
        fail("a table of more than 16 entries accepted with room for 16");
    }
    // One glyph drawn: each pixel as pixel() says, which reads the bitmap's bit.
    const uint32_t glyph = size % count;
    std::vector<uint32_t> cell(size_t{width} * height);
    psf::draw(f, glyph, reinterpret_cast<uint8_t*>(cell.data()), width * 4, 7, 9);
    for (uint32_t y = 0; y < height; ++y) {
        for (uint32_t x = 0; x < width; ++x) {
            const uint8_t b =
                d[header + size_t{glyph} * charsize + size_t{y} * ((width + 7) / 8) + x / 8];
            const bool on = (b >> (7 - x % 8) & 1) != 0;
            if (psf::pixel(f, glyph, x, y) != on || cell[size_t{y} * width + x] != (on ? 7u : 9u))
                fail("a drawn pixel is not the bitmap's");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<uint8_t> d(data, data + size);  // exact: ASan sees overruns
    run(d.data(), d.size());
    return 0;
}
