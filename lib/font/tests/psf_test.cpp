// lib/font unit tests: every console font Debian ships (console-setup-linux, decompressed into
// the build folder by lib/font/CMakeLists.txt) parses and keeps the contract; known facts of
// Lat15-Terminus16 (PSF1) and Lat15-Terminus32x16 (PSF2), read from their headers and bitmaps
// with xxd; the console's font (Uni2-VGA16) covers Latin-1 and box drawing; draw() pixel by
// pixel; hand-made files (psf_writer.hpp) for every refusal, each with its exact reason.
#include <gtest/gtest.h>
#include <keel/font/psf.hpp>

#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "psf_writer.hpp"

namespace keel::font {
namespace {

using testing::FontModel;
using testing::GlyphCodes;

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> debian_fonts() {
    std::vector<std::string> names;
    if (DIR* d = opendir(KEEL_FONT_DIR)) {
        while (dirent* e = readdir(d)) {
            const std::string n = e->d_name;
            if (n.size() > 4 && n.compare(n.size() - 4, 4, ".psf") == 0)
                names.push_back(n);
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

// One Debian font, parsed.
struct Loaded {
    std::vector<uint8_t> file;
    std::vector<Mapping> map = std::vector<Mapping>(1024);
    Font font{};
};

// Parses KEEL_FONT_DIR/<name>.psf into *out; false when it is not there (the caller skips).
bool load(const char* name, Loaded* out) {
    out->file = read_file(std::string(KEEL_FONT_DIR) + "/" + name + ".psf");
    if (out->file.empty())
        return false;
    const char* why = parse(out->file.data(), out->file.size(), out->map.data(),
                            static_cast<uint32_t>(out->map.size()), &out->font);
    EXPECT_EQ(why, nullptr) << name << ": " << why;
    return true;
}

#define LOAD_OR_SKIP(var, name)                                                                  \
    Loaded var;                                                                                  \
    if (!load(name, &var))                                                                       \
        GTEST_SKIP() << name << ".psf is not in " KEEL_FONT_DIR                                  \
                     << ": install Debian's console-setup-linux (./keel test does) and rebuild"; \
    ASSERT_FALSE(HasFailure())

// A font's header facts, as xxd shows them.
struct Facts {
    uint32_t width, height, glyph_count, bytes_per_row, bytes_per_glyph, header, map_count;
};

void expect_facts(const Loaded& l, const Facts& want) {
    const Font& f = l.font;
    EXPECT_EQ(f.width, want.width);
    EXPECT_EQ(f.height, want.height);
    EXPECT_EQ(f.glyph_count, want.glyph_count);
    EXPECT_EQ(f.bytes_per_row, want.bytes_per_row);
    EXPECT_EQ(f.bytes_per_glyph, want.bytes_per_glyph);
    EXPECT_EQ(f.glyphs, l.file.data() + want.header);
    EXPECT_EQ(f.map, l.map.data());
    EXPECT_EQ(f.map_count, want.map_count);
}

// Each row of `glyph` as pixel() reads it equals `rows` (bit width - 1 is x = 0).
void expect_rows(const Font& f, uint32_t glyph, const std::vector<uint32_t>& rows) {
    ASSERT_EQ(rows.size(), f.height);
    for (uint32_t y = 0; y < f.height; ++y) {
        for (uint32_t x = 0; x < f.width; ++x)
            EXPECT_EQ(pixel(f, glyph, x, y), (rows[y] >> (f.width - 1 - x) & 1) != 0)
                << x << "," << y;
    }
}

// The contract every accepted font keeps, checked from the outside.
void expect_invariants(const std::vector<uint8_t>& file, const Font& f, const std::string& what) {
    SCOPED_TRACE(what);
    ASSERT_GE(f.glyph_count, 1u);
    ASSERT_LE(f.glyph_count, kMaxGlyphs);
    ASSERT_GE(f.width, 1u);
    ASSERT_LE(f.width, kMaxWidth);
    ASSERT_GE(f.height, 1u);
    ASSERT_LE(f.height, kMaxHeight);
    EXPECT_EQ(f.bytes_per_row, (f.width + 7) / 8);
    EXPECT_GE(f.bytes_per_glyph, f.bytes_per_row * f.height);
    EXPECT_GE(f.glyphs, file.data());
    EXPECT_LE(f.glyphs + size_t{f.glyph_count} * f.bytes_per_glyph, file.data() + file.size());
    EXPECT_LT(f.fallback, f.glyph_count);
    for (uint32_t i = 0; i < f.map_count; ++i) {
        EXPECT_LT(f.map[i].glyph, f.glyph_count);
        EXPECT_LE(f.map[i].code_point, 0x10FFFFu);
        if (i > 0)
            EXPECT_LT(f.map[i - 1].code_point, f.map[i].code_point);
    }
}

TEST(Debian, EveryConsoleFontParses) {
    const auto names = debian_fonts();
    if (names.empty())
        GTEST_SKIP() << "no fonts in " KEEL_FONT_DIR
                     << ": install Debian's console-setup-linux (./keel test does) and rebuild";
    int psf1 = 0, psf2 = 0;
    std::vector<Mapping> map(kMaxGlyphs);
    for (const auto& n : names) {
        const auto file = read_file(std::string(KEEL_FONT_DIR) + "/" + n);
        Font f{};
        const char* why = parse(file.data(), file.size(), map.data(), kMaxGlyphs, &f);
        ASSERT_EQ(why, nullptr) << n << ": " << why;
        expect_invariants(file, f, n);
        (file[0] == 0x36 ? psf1 : psf2)++;
        // Debian's fonts all have a table that names '?' (checked here, not assumed).
        EXPECT_NE(f.map, nullptr) << n;
        EXPECT_EQ(glyph_for(f, 0xE000), f.fallback) << n;  // private use: in none of them
    }
    EXPECT_GT(psf1, 0);
    EXPECT_GT(psf2, 0);
    std::printf("%zu fonts: %d PSF1, %d PSF2\n", names.size(), psf1, psf2);
}

// Lat15-Terminus16.psf: 36 04 02 10 (PSF1, a table, 16 rows), 256 glyphs of 16 bytes, then a
// table of 528 distinct code points; 'A' is glyph 65, U+FFFD glyph 4.
TEST(Debian, Lat15Terminus16) {
    LOAD_OR_SKIP(l, "Lat15-Terminus16");
    expect_facts(l, {8, 16, 256, 1, 16, 4, 528});
    const Font& f = l.font;
    EXPECT_EQ(f.fallback, 4u);
    const uint32_t a = glyph_for(f, 'A');
    EXPECT_EQ(a, 65u);
    // xxd -s $((4 + 65 * 16)) -l 16 -b: an 'A' with a flat top, bar on row 7.
    expect_rows(f, a,
                {0, 0, 0x3C, 0x42, 0x42, 0x42, 0x42, 0x7E, 0x42, 0x42, 0x42, 0x42, 0, 0, 0, 0});
    EXPECT_EQ(glyph_for(f, 0x4E00), f.fallback);  // a CJK ideograph: not in a Latin font
    EXPECT_EQ(glyph_for(f, 0xFFFD), 4u);
    EXPECT_EQ(glyph_for(f, 0x110000), f.fallback);
}

// Lat15-Terminus32x16.psf: 72 b5 4a 86, version 0, header 32, flags 1, 256 glyphs of 64 bytes,
// 32 rows of 16 pixels; 'A' is glyph 65.
TEST(Debian, Lat15Terminus32x16) {
    LOAD_OR_SKIP(l, "Lat15-Terminus32x16");
    expect_facts(l, {16, 32, 256, 2, 64, 32, 528});
    const Font& f = l.font;
    const uint32_t a = glyph_for(f, 'A');
    ASSERT_EQ(a, 65u);
    expect_rows(f, a, {0,      0,      0,      0,      0,      0,      0x0FF0, 0x1FF8,
                       0x381C, 0x300C, 0x300C, 0x300C, 0x300C, 0x300C, 0x300C, 0x300C,
                       0x3FFC, 0x3FFC, 0x300C, 0x300C, 0x300C, 0x300C, 0x300C, 0x300C,
                       0x300C, 0x300C, 0,      0,      0,      0,      0,      0});
    EXPECT_FALSE(pixel(f, a, 16, 8));
    EXPECT_FALSE(pixel(f, a, 3, 32));
    EXPECT_FALSE(pixel(f, 256, 3, 8));
}

// The console's font (etc/console.psf, user/CMakeLists.txt): every printable Latin-1 code point
// and every box-drawing one has a glyph of its own in the table.
TEST(Debian, ConsoleFontCoversLatin1AndBoxDrawing) {
    LOAD_OR_SKIP(l, "Uni2-VGA16");
    const Font& f = l.font;
    EXPECT_EQ(f.width, 8u);
    EXPECT_EQ(f.height, 16u);
    EXPECT_EQ(f.glyph_count, 512u);
    auto listed = [&](uint32_t c) {
        return std::any_of(f.map, f.map + f.map_count,
                           [c](const Mapping& m) { return m.code_point == c; });
    };
    for (uint32_t c = 0x20; c < 0x7F; ++c)
        EXPECT_TRUE(listed(c)) << std::hex << c;
    for (uint32_t c = 0xA0; c <= 0xFF; ++c)
        EXPECT_TRUE(listed(c)) << std::hex << c;
    for (uint32_t c = 0x2500; c <= 0x257F; ++c)
        EXPECT_TRUE(listed(c)) << std::hex << c;
}

// Drawing: every pixel of the cell is fg or bg as pixel() says, nothing outside the cell
// changes, and a glyph past the font draws the fallback.
void expect_drawn(const Font& f, uint32_t glyph, uint32_t shown) {
    const uint32_t pitch = (f.width + 3) * 4 + 8, rows = f.height + 2;
    const uint32_t fg = 0x00ABCDEF, bg = 0x00102030, sentinel = 0xDEADBEEF;
    std::vector<uint32_t> surface(pitch / 4 * rows, sentinel);
    uint8_t* base = reinterpret_cast<uint8_t*>(surface.data());
    draw(f, glyph, base + pitch + 4, pitch, fg, bg);  // cell at (1, 1)
    int set = 0;
    for (uint32_t y = 0; y < rows; ++y) {
        for (uint32_t x = 0; x < pitch / 4; ++x) {
            const uint32_t v = surface[y * (pitch / 4) + x];
            if (y >= 1 && y <= f.height && x >= 1 && x <= f.width) {
                const bool on = pixel(f, shown, x - 1, y - 1);
                set += on;
                EXPECT_EQ(v, on ? fg : bg) << "glyph " << glyph << " at " << x - 1 << "," << y - 1;
            } else {
                EXPECT_EQ(v, sentinel) << "outside the cell at " << x << "," << y;
            }
        }
    }
    if (shown == glyph)
        EXPECT_GT(set, 0) << "a blank glyph proves nothing";
}

TEST(Draw, RealGlyphPixelByPixel) {
    LOAD_OR_SKIP(l, "Lat15-Terminus16");
    const Font& f = l.font;
    expect_drawn(f, glyph_for(f, 'A'), glyph_for(f, 'A'));
    expect_drawn(f, 1000, f.fallback);
    // The bar of the 'A' (row 7, 0x7E) as colours, written out.
    std::vector<uint32_t> cell(8 * 16);
    draw(f, 65, reinterpret_cast<uint8_t*>(cell.data()), 32, 1, 0);
    const std::vector<uint32_t> bar(cell.begin() + 7 * 8, cell.begin() + 8 * 8);
    EXPECT_EQ(bar, (std::vector<uint32_t>{0, 1, 1, 1, 1, 1, 1, 0}));
}

// A 10-pixel-wide font (two bytes per row, six pad bits) with a known pattern: pixel (x, y) of
// glyph g is set when (x + y + g) % 3 == 0; the pad bits are all ones and must never show.
FontModel patterned(int version, uint32_t width, uint32_t height, uint32_t count,
                    uint32_t extra = 0) {
    FontModel m;
    m.version = version;
    m.width = width;
    m.height = height;
    m.count = count;
    const uint32_t bpr = (width + 7) / 8;
    m.charsize = bpr * height + extra;
    m.glyphs.assign(size_t{count} * m.charsize, 0xFF);
    for (uint32_t g = 0; g < count; ++g) {
        for (uint32_t y = 0; y < height; ++y) {
            uint8_t* row = &m.glyphs[size_t{g} * m.charsize + size_t{y} * bpr];
            for (uint32_t x = 0; x < width; ++x) {
                if ((x + y + g) % 3 != 0)
                    row[x / 8] = static_cast<uint8_t>(row[x / 8] & ~(0x80 >> (x % 8)));
            }
        }
    }
    return m;
}

TEST(Draw, WideGlyphPixelByPixel) {
    const auto m = patterned(2, 10, 5, 4, 3);
    const auto file = testing::write(m);
    Font f{};
    ASSERT_EQ(parse(file.data(), file.size(), nullptr, 0, &f), nullptr);
    EXPECT_EQ(f.bytes_per_row, 2u);
    EXPECT_EQ(f.bytes_per_glyph, 13u);
    for (uint32_t g = 0; g < 4; ++g) {
        for (uint32_t y = 0; y < 5; ++y) {
            for (uint32_t x = 0; x < 12; ++x)
                EXPECT_EQ(pixel(f, g, x, y), x < 10 && (x + y + g) % 3 == 0);
        }
        expect_drawn(f, g, g);
    }
    expect_drawn(f, 4, 0);  // no table, no '?': fallback 0
}

// --- Hand-made files: what is accepted ---

FontModel small_psf1() {
    FontModel m = patterned(1, 8, 6, 256);
    m.table = true;
    m.codes.resize(256);
    for (uint32_t g = 0; g < 256; ++g)
        m.codes[g].singles = {g};
    return m;
}

FontModel small_psf2(uint32_t count = 70) {
    FontModel m = patterned(2, 6, 4, count);
    m.table = true;
    m.codes.resize(count);
    for (uint32_t g = 0; g < count; ++g)
        m.codes[g].singles = {0x400 + g};
    return m;
}

const char* parse_bytes(const std::vector<uint8_t>& file, Font* f, uint32_t capacity = 1024) {
    static std::vector<Mapping> map(4096);
    return parse(file.data(), file.size(), map.data(), capacity, f);
}

TEST(Parse, Psf1With512GlyphsAndSequences) {
    FontModel m = small_psf1();
    m.count = 512;
    m.glyphs.resize(512 * 6, 0);
    m.codes.resize(512);
    m.codes[300].singles = {0x263A};
    m.codes[300].sequences = {{'e', 0x301}, {0x263B}};  // a sequence is not a mapping
    const auto file = testing::write(m);
    EXPECT_EQ(file[2], 0x07);
    Font f{};
    ASSERT_EQ(parse_bytes(file, &f), nullptr);
    EXPECT_EQ(f.glyph_count, 512u);
    EXPECT_EQ(f.map_count, 257u);
    EXPECT_EQ(glyph_for(f, 0x263A), 300u);
    EXPECT_EQ(glyph_for(f, 0x301), f.fallback);
    EXPECT_EQ(f.fallback, uint32_t{'?'});
    expect_invariants(file, f, "psf1 512");
}

TEST(Parse, Psf2SequencesHeaderSizeAndDuplicates) {
    FontModel m = small_psf2();
    m.header_size = 48;
    m.codes[3].singles = {0x10FFFF, 0x404};  // 0x404 is also glyph 4's: glyph 3 listed it first
    m.codes[5].sequences = {{0x41, 0x30A}, {0xE9}};
    m.codes[6].singles = {};
    const auto file = testing::write(m);
    Font f{};
    ASSERT_EQ(parse_bytes(file, &f), nullptr);
    EXPECT_EQ(f.glyphs, file.data() + 48);
    EXPECT_EQ(f.map_count, 69u);  // 70 glyphs, 0x403 and 0x406 gone, 0x10FFFF added
    EXPECT_EQ(glyph_for(f, 0x404), 3u);
    EXPECT_EQ(glyph_for(f, 0x10FFFF), 3u);
    EXPECT_EQ(glyph_for(f, 0x403), 0u);  // no U+FFFD, no '?': fallback 0
    EXPECT_EQ(glyph_for(f, 0xE9), 0u);
    EXPECT_EQ(glyph_for(f, 0x405), 5u);
    expect_invariants(file, f, "psf2");
    // Duplicates do not count against the storage: 69 distinct entries fit in 69.
    EXPECT_EQ(parse_bytes(file, &f, 69), nullptr);
    EXPECT_STREQ(parse_bytes(file, &f, 68),
                 "psf: Unicode table has more entries than the map storage");
}

TEST(Parse, Fallback) {
    FontModel m = small_psf2();
    Font f{};
    m.codes[7].singles.push_back('?');
    auto file = testing::write(m);
    ASSERT_EQ(parse_bytes(file, &f), nullptr);
    EXPECT_EQ(f.fallback, 7u);
    m.codes[9].singles.push_back(0xFFFD);
    file = testing::write(m);
    ASSERT_EQ(parse_bytes(file, &f), nullptr);
    EXPECT_EQ(f.fallback, 9u);
    EXPECT_EQ(glyph_for(f, 'x'), 9u);
    // No table: the code point itself, '?' (63) as the fallback when the font has 64 glyphs.
    m.table = false;
    file = testing::write(m);
    ASSERT_EQ(parse_bytes(file, &f), nullptr);
    EXPECT_EQ(f.map, nullptr);
    EXPECT_EQ(f.map_count, 0u);
    EXPECT_EQ(f.fallback, 63u);
    EXPECT_EQ(glyph_for(f, 69), 69u);
    EXPECT_EQ(glyph_for(f, 70), 63u);
    file = testing::write(small_psf2(63));
    file[12] = 0;  // no table flag; drop the table
    file.resize(32 + 63 * 4);
    ASSERT_EQ(parse_bytes(file, &f), nullptr);
    EXPECT_EQ(f.fallback, 0u);
    EXPECT_EQ(glyph_for(f, 62), 62u);
    EXPECT_EQ(glyph_for(f, 63), 0u);
}

TEST(Parse, TableWithoutStorage) {
    FontModel m = small_psf2(2);
    Font f{};
    auto file = testing::write(m);
    EXPECT_STREQ(parse(file.data(), file.size(), nullptr, 0, &f),
                 "psf: Unicode table has more entries than the map storage");
    m.codes[0].singles.clear();
    m.codes[1].singles.clear();
    m.codes[1].sequences = {{'a', 0x300}};
    file = testing::write(m);
    ASSERT_EQ(parse(file.data(), file.size(), nullptr, 0, &f), nullptr);
    EXPECT_NE(f.map, nullptr);  // a table, empty: everything is the fallback
    EXPECT_EQ(f.map_count, 0u);
    EXPECT_EQ(glyph_for(f, 1), 0u);
    EXPECT_STREQ(parse(file.data(), file.size(), nullptr, 5, &f), "psf: no file or no output");
    EXPECT_STREQ(parse(nullptr, 5, nullptr, 0, &f), "psf: no file or no output");
    EXPECT_STREQ(parse(file.data(), file.size(), nullptr, 0, nullptr), "psf: no file or no output");
}

// --- Hand-made files: every refusal ---

void expect_refused(const std::vector<uint8_t>& file, const char* reason, uint32_t cap = 1024) {
    Font f{};
    const char* why = parse_bytes(file, &f, cap);
    ASSERT_NE(why, nullptr) << "accepted; expected " << reason;
    EXPECT_STREQ(why, reason);
}

void set32(std::vector<uint8_t>& file, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        file[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

TEST(Refuse, Magic) {
    expect_refused({}, "psf: not a PC Screen Font (no PSF1 or PSF2 magic)");
    expect_refused({0x36}, "psf: not a PC Screen Font (no PSF1 or PSF2 magic)");
    expect_refused({0x72, 0xB5, 0x4A}, "psf: not a PC Screen Font (no PSF1 or PSF2 magic)");
    auto file = testing::write(small_psf1());
    file[1] = 0x05;
    expect_refused(file, "psf: not a PC Screen Font (no PSF1 or PSF2 magic)");
    file = testing::write(small_psf2());
    file[3] = 0x87;
    expect_refused(file, "psf: not a PC Screen Font (no PSF1 or PSF2 magic)");
}

TEST(Refuse, Psf1Header) {
    const auto good = testing::write(small_psf1());
    expect_refused({0x36, 0x04, 0x02}, "psf: truncated header");
    auto file = good;
    file[2] = 0x0A;
    expect_refused(file, "psf: unknown PSF1 mode bits");
    file = good;
    file[3] = 0;
    expect_refused(file, "psf: glyphs of zero width or height");
    file = good;
    file[3] = 129;
    expect_refused(file, "psf: glyphs too large");
    file = good;
    file[3] = 7;  // 256 glyphs of 7 bytes: the table no longer lines up
    Font f{};
    EXPECT_NE(parse_bytes(file, &f), nullptr);
    file = good;
    file.resize(4 + 256 * 6 - 1);
    expect_refused(file, "psf: truncated glyphs");
    file[2] = 0x01;  // 512 glyphs
    expect_refused(file, "psf: truncated glyphs");
    file = good;
    file[2] = 0x00;  // no table: the table's bytes are left over
    expect_refused(file, "psf: bytes after the glyphs");
    file.resize(4 + 256 * 6);
    EXPECT_EQ(parse_bytes(file, &f), nullptr);
}

TEST(Refuse, Psf1Table) {
    const auto good = testing::write(small_psf1());
    auto file = good;
    file.resize(file.size() - 2);  // the last glyph's 0xFFFF
    expect_refused(file, "psf: Unicode table ends before its last glyph");
    file = good;
    file.resize(file.size() - 1);
    expect_refused(file, "psf: Unicode table ends inside a code point");
    file = good;
    file.push_back(0);
    expect_refused(file, "psf: bytes after the Unicode table");
    file = good;
    file.push_back(0xFF);
    file.push_back(0xFF);  // a 257th terminator
    expect_refused(file, "psf: bytes after the Unicode table");
    auto m = small_psf1();
    m.codes[10].singles = {0xD800};
    expect_refused(testing::write(m), "psf: Unicode table holds a surrogate");
    m.codes[10].singles = {10};
    m.codes[10].sequences = {{'a', 0xDFFF}};
    expect_refused(testing::write(m), "psf: Unicode table holds a surrogate");
    expect_refused(good, "psf: Unicode table has more entries than the map storage", 255);
}

TEST(Refuse, Psf2Header) {
    const auto good = testing::write(small_psf2());
    std::vector<uint8_t> file(good.begin(), good.begin() + 31);
    expect_refused(file, "psf: truncated header");
    struct Case {
        size_t at;
        uint32_t value;
        const char* reason;
    } cases[] = {
        {4, 1, "psf: unknown PSF2 version"},
        {8, 31, "psf: header size below 32"},
        {8, 0, "psf: header size below 32"},
        {8, static_cast<uint32_t>(good.size() + 1), "psf: truncated header"},
        {8, 0xFFFFFFFF, "psf: truncated header"},
        {12, 2, "psf: unknown PSF2 flags"},
        {12, 0x80000001, "psf: unknown PSF2 flags"},
        {16, 0, "psf: no glyphs"},
        {16, 4097, "psf: too many glyphs"},
        {16, 0xFFFFFFFF, "psf: too many glyphs"},
        {24, 0, "psf: glyphs of zero width or height"},
        {28, 0, "psf: glyphs of zero width or height"},
        {28, 65, "psf: glyphs too large"},
        {24, 129, "psf: glyphs too large"},
        {20, 3, "psf: glyph size smaller than its bitmap"},
        {20, 0, "psf: glyph size smaller than its bitmap"},
        {28, 9, "psf: glyph size smaller than its bitmap"},  // 2 bytes a row now
        {20, 0xFFFFFFFF, "psf: truncated glyphs"},           // 70 * 2^32: no wrap-around
        {16, 4096, "psf: truncated glyphs"},
    };
    for (const auto& c : cases) {
        file = good;
        set32(file, c.at, c.value);
        SCOPED_TRACE(c.at);
        expect_refused(file, c.reason);
    }
    file = good;
    set32(file, 16, 4096);
    set32(file, 20, 0xFFFFFFFF);  // 4096 * (2^32 - 1) overflows 32 bits, not 64
    expect_refused(file, "psf: truncated glyphs");
    file = good;
    set32(file, 12, 0);
    expect_refused(file, "psf: bytes after the glyphs");
    // The limits themselves are accepted.
    FontModel big = patterned(2, kMaxWidth, kMaxHeight, 2);
    Font f{};
    file = testing::write(big);
    EXPECT_EQ(parse_bytes(file, &f), nullptr);
    big = patterned(2, 1, 1, kMaxGlyphs);
    file = testing::write(big);
    EXPECT_EQ(parse_bytes(file, &f), nullptr);
}

TEST(Refuse, Psf2Table) {
    const auto m = small_psf2(3);
    const auto good = testing::write(m);
    const size_t table = 32 + 3 * 4;
    // The table, written out: "\xd0\x80" FF "\xd0\x81" FF "\xd0\x82" FF.
    ASSERT_EQ(good.size(), table + 9);
    auto with_table = [&](std::vector<uint8_t> t) {
        auto file = good;
        file.resize(table);
        file.insert(file.end(), t.begin(), t.end());
        return file;
    };
    Font f{};
    EXPECT_EQ(parse_bytes(with_table({0xFF, 0xFF, 0xFF}), &f), nullptr);
    EXPECT_EQ(parse_bytes(with_table({0xF4, 0x8F, 0xBF, 0xBF, 0xFF, 0xFE, 'a', 0xFF, 0xFF}), &f),
              nullptr);
    struct Case {
        std::vector<uint8_t> t;
        const char* reason;
    } cases[] = {
        {{0xFF, 0xFF}, "psf: Unicode table ends before its last glyph"},
        {{}, "psf: Unicode table ends before its last glyph"},
        {{'a', 0xFF, 0xFF, 0xFE, 'b'}, "psf: Unicode table ends before its last glyph"},
        {{0xFF, 0xFF, 0xFF, 0x00}, "psf: bytes after the Unicode table"},
        {{0xFF, 0xFF, 0xFF, 0xFF}, "psf: bytes after the Unicode table"},
        {{0x80, 0xFF, 0xFF, 0xFF}, "psf: Unicode table holds invalid UTF-8"},
        {{0xC0, 0x80, 0xFF, 0xFF, 0xFF}, "psf: Unicode table holds invalid UTF-8"},
        {{0xC1, 0xBF, 0xFF, 0xFF, 0xFF}, "psf: Unicode table holds invalid UTF-8"},
        {{0xE0, 0x80, 0x80, 0xFF, 0xFF, 0xFF}, "psf: Unicode table holds invalid UTF-8"},
        {{0xF0, 0x8F, 0xBF, 0xBF, 0xFF, 0xFF, 0xFF}, "psf: Unicode table holds invalid UTF-8"},
        {{0xF5, 0x80, 0x80, 0x80, 0xFF, 0xFF, 0xFF}, "psf: Unicode table holds invalid UTF-8"},
        {{0xF8, 0xFF, 0xFF, 0xFF}, "psf: Unicode table holds invalid UTF-8"},
        {{0xC3, 0x41, 0xFF, 0xFF, 0xFF}, "psf: Unicode table holds invalid UTF-8"},
        {{0xC3, 0xFF, 0xFF, 0xFF}, "psf: Unicode table holds invalid UTF-8"},        // 0xFF inside
        {{0xFF, 0xFE, 0x80, 0xFF, 0xFF}, "psf: Unicode table holds invalid UTF-8"},  // in a seq
        {{0xF4, 0x90, 0x80, 0x80, 0xFF, 0xFF, 0xFF},
         "psf: Unicode table holds a code point above U+10FFFF"},
        {{0xED, 0xA0, 0x80, 0xFF, 0xFF, 0xFF}, "psf: Unicode table holds a surrogate"},
        {{0xFF, 0xFF, 0xE2, 0x82}, "psf: Unicode table ends inside a code point"},
        {{0xFF, 0xFF, 0xF0}, "psf: Unicode table ends inside a code point"},
    };
    for (size_t i = 0; i < std::size(cases); ++i) {
        SCOPED_TRACE(i);
        expect_refused(with_table(cases[i].t), cases[i].reason);
    }
    expect_refused(good, "psf: Unicode table has more entries than the map storage", 2);
    EXPECT_EQ(parse_bytes(good, &f, 3), nullptr);
}

// Every prefix of a valid file is refused with a reason (and read nothing past its end: ASan,
// the vector holds exactly the prefix).
TEST(Refuse, EveryTruncation) {
    for (const auto& good : {testing::write(small_psf1()), testing::write(small_psf2())}) {
        for (size_t n = 0; n < good.size(); ++n) {
            const std::vector<uint8_t> prefix(good.begin(), good.begin() + n);
            Font f{};
            const char* why = parse_bytes(prefix, &f);
            EXPECT_NE(why, nullptr) << n;
        }
    }
}

}  // namespace
}  // namespace keel::font
