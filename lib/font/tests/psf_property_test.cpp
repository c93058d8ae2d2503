// lib/font properties (RapidCheck) against a model: random fonts (PSF1 and PSF2, random sizes,
// header sizes, glyph counts, bitmaps and Unicode tables with sequences and duplicate code
// points) written by the test-only writer (psf_writer.hpp) parse back to exactly the model:
// geometry, every pixel, the table (first glyph wins, sorted) and the fallback. Then hostile
// files: random byte changes, header fields set to edge values, insertions and truncations
// never crash or read outside the input or the map storage (ASan: exact-size vectors), the
// same bytes give the same answer, and whatever is accepted keeps the contract (glyphs inside
// the file, map sorted and unique inside the caller's storage, every glyph below glyph_count).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/font/psf.hpp>

#include <map>
#include <vector>

#include "psf_writer.hpp"

namespace keel::font {
namespace {

using testing::FontModel;

// A code point the format can carry: PSF1 holds UCS-2 without 0xFFFE/0xFFFF; PSF2 any scalar
// value. Small ranges on purpose, so that duplicates and '?'/U+FFFD turn up.
uint32_t gen_code_point(int version) {
    const int kind = *rc::gen::inRange(0, 5);
    uint32_t c;
    if (kind == 0)
        c = *rc::gen::inRange<uint32_t>(0x20, 0x80);
    else if (kind == 1)
        c = *rc::gen::element<uint32_t>('?', 0xFFFD, 'A');
    else if (kind == 2)
        c = *rc::gen::inRange<uint32_t>(0x80, 0x800);
    else if (kind == 3)
        c = *rc::gen::inRange<uint32_t>(0x800, 0xFFFE);
    else
        c = version == 1 ? *rc::gen::inRange<uint32_t>(0x2500, 0x2580)
                         : *rc::gen::inRange<uint32_t>(0x10000, 0x110000);
    if (c >= 0xD800 && c <= 0xDFFF)
        c -= 0x800;
    return c;
}

FontModel gen_font(uint32_t max_count) {
    FontModel m;
    m.version = *rc::gen::element(1, 2);
    if (m.version == 1) {
        m.width = 8;
        m.height = *rc::gen::inRange<uint32_t>(1, 33);
        m.count = *rc::gen::element(256u, 512u);
        m.charsize = m.height;
    } else {
        m.width = *rc::gen::inRange<uint32_t>(1, kMaxWidth + 1);
        m.height = *rc::gen::inRange<uint32_t>(1, 40);
        m.count = *rc::gen::inRange<uint32_t>(1, max_count + 1);
        m.charsize = (m.width + 7) / 8 * m.height + *rc::gen::inRange<uint32_t>(0, 4);
        m.header_size = 32 + *rc::gen::inRange<uint32_t>(0, 17);
    }
    // Bitmaps from a generated seed (a splitmix64 stream): tens of kilobytes per case would
    // make RapidCheck's per-value bookkeeping the whole cost of the test.
    uint64_t state = *rc::gen::arbitrary<uint64_t>();
    m.glyphs.resize(size_t{m.count} * m.charsize);
    for (auto& b : m.glyphs) {
        state += 0x9E3779B97F4A7C15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        b = static_cast<uint8_t>(z ^ (z >> 31));
    }
    m.table = *rc::gen::arbitrary<bool>();
    if (m.table) {
        m.codes.resize(m.count);
        for (auto& g : m.codes) {
            const int singles = *rc::gen::inRange(0, 4);
            for (int i = 0; i < singles; ++i)
                g.singles.push_back(gen_code_point(m.version));
            if (*rc::gen::inRange(0, 8) == 0)
                g.sequences.push_back({gen_code_point(m.version), gen_code_point(m.version)});
        }
    }
    return m;
}

bool model_pixel(const FontModel& m, uint32_t g, uint32_t x, uint32_t y) {
    const uint8_t b = m.glyphs[size_t{g} * m.charsize + size_t{y} * ((m.width + 7) / 8) + x / 8];
    return (b >> (7 - x % 8) & 1) != 0;
}

// The contract every accepted font keeps, whatever the bytes were.
void check_contract(const std::vector<uint8_t>& file, const std::vector<Mapping>& map,
                    const Font& f) {
    RC_ASSERT(f.glyph_count >= 1u && f.glyph_count <= kMaxGlyphs);
    RC_ASSERT(f.width >= 1u && f.width <= kMaxWidth && f.height >= 1u && f.height <= kMaxHeight);
    RC_ASSERT(f.bytes_per_row == (f.width + 7) / 8);
    RC_ASSERT(f.bytes_per_glyph >= f.bytes_per_row * f.height);
    RC_ASSERT(f.glyphs >= file.data());
    RC_ASSERT(size_t(f.glyphs - file.data()) + size_t{f.glyph_count} * f.bytes_per_glyph <=
              file.size());
    RC_ASSERT(f.fallback < f.glyph_count);
    RC_ASSERT(f.map_count <= map.size());
    if (f.map_count > 0)
        RC_ASSERT(f.map == map.data());
    for (uint32_t i = 0; i < f.map_count; ++i) {
        RC_ASSERT(f.map[i].glyph < f.glyph_count);
        RC_ASSERT(f.map[i].code_point <= 0x10FFFFu);
        RC_ASSERT(f.map[i].code_point < 0xD800u || f.map[i].code_point > 0xDFFFu);
        if (i > 0)
            RC_ASSERT(f.map[i - 1].code_point < f.map[i].code_point);
        RC_ASSERT(glyph_for(f, f.map[i].code_point) == f.map[i].glyph);
    }
}

RC_GTEST_PROP(Property, WrittenFontsParseBackExactly, ()) {
    const FontModel m = gen_font(300);
    const auto file = testing::write(m);
    std::map<uint32_t, uint32_t> expected;  // first glyph wins
    for (uint32_t g = 0; g < m.codes.size(); ++g) {
        for (uint32_t c : m.codes[g].singles)
            expected.emplace(c, g);
    }
    // Storage of exactly the distinct count: enough, and ASan sees a write past it.
    std::vector<Mapping> map(expected.size());
    Font f{};
    const char* why =
        parse(file.data(), file.size(), map.data(), static_cast<uint32_t>(map.size()), &f);
    RC_ASSERT(why == nullptr);
    check_contract(file, map, f);
    RC_ASSERT(f.width == m.width && f.height == m.height && f.glyph_count == m.count);
    RC_ASSERT(f.bytes_per_glyph == m.charsize);
    RC_ASSERT(f.glyphs == file.data() + (m.version == 1 ? 4 : m.header_size));
    RC_ASSERT((f.map != nullptr) == m.table);
    RC_ASSERT(f.map_count == expected.size());
    uint32_t i = 0;
    for (const auto& [c, g] : expected) {
        RC_ASSERT(f.map[i].code_point == c && f.map[i].glyph == g);
        ++i;
    }
    uint32_t fallback = 0;
    if (!m.table)
        fallback = '?' < m.count ? '?' : 0;
    else if (expected.count(0xFFFD) != 0)
        fallback = expected[0xFFFD];
    else if (expected.count('?') != 0)
        fallback = expected['?'];
    RC_ASSERT(f.fallback == fallback);
    for (int k = 0; k < 20; ++k) {
        const uint32_t c = *rc::gen::inRange<uint32_t>(0, 0x110000);
        uint32_t want = fallback;
        if (m.table && expected.count(c) != 0)
            want = expected[c];
        else if (!m.table && c < m.count)
            want = c;
        RC_ASSERT(glyph_for(f, c) == want);
    }
    // One glyph, every pixel, through pixel() and draw().
    const uint32_t g = *rc::gen::inRange<uint32_t>(0, m.count);
    std::vector<uint32_t> cell(size_t{m.width} * m.height);
    draw(f, g, reinterpret_cast<uint8_t*>(cell.data()), m.width * 4, 0xFFFFFF, 0x000001);
    for (uint32_t y = 0; y < m.height; ++y) {
        for (uint32_t x = 0; x < m.width; ++x) {
            const bool on = model_pixel(m, g, x, y);
            RC_ASSERT(pixel(f, g, x, y) == on);
            RC_ASSERT(cell[size_t{y} * m.width + x] == (on ? 0xFFFFFFu : 0x000001u));
        }
    }
    RC_ASSERT(!pixel(f, g, m.width, 0) && !pixel(f, g, 0, m.height) && !pixel(f, m.count, 0, 0));
}

void set32(std::vector<uint8_t>& file, size_t at, uint32_t v) {
    for (int i = 0; i < 4 && at + i < file.size(); ++i)
        file[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

RC_GTEST_PROP(Property, MutatedFontsNeverCrashAndKeepTheContract, ()) {
    const FontModel m = gen_font(40);
    auto file = testing::write(m);
    const int mutations = *rc::gen::inRange(1, 6);
    for (int k = 0; k < mutations && !file.empty(); ++k) {
        const size_t at = *rc::gen::inRange<size_t>(0, file.size());
        switch (*rc::gen::inRange(0, 6)) {
            case 0:
                file[at] = *rc::gen::arbitrary<uint8_t>();
                break;
            case 1:
                file[at] ^= static_cast<uint8_t>(1u << *rc::gen::inRange(0, 8));
                break;
            case 2:  // a header field to an edge value
                set32(file, 4 * *rc::gen::inRange<size_t>(1, 8),
                      *rc::gen::element<uint32_t>(0, 1, 2, 31, 32, 33, 64, 65, 128, 129, 4096, 4097,
                                                  0x7FFFFFFF, 0x80000000, 0xFFFFFFFF));
                break;
            case 3:
                file.resize(at);
                break;
            case 4:
                file.insert(file.begin() + static_cast<long>(at),
                            *rc::gen::element<uint8_t>(0xFE, 0xFF, 0x80, 0xC3, 0xED, 0xF4));
                break;
            default:  // the table's bytes at the end: a terminator or a code point dropped
                file.pop_back();
                break;
        }
    }
    const uint32_t capacity = *rc::gen::inRange<uint32_t>(0, 2 * m.count + 2);
    std::vector<Mapping> map(capacity);
    Font f{};
    const char* why =
        parse(file.data(), file.size(), capacity == 0 ? nullptr : map.data(), capacity, &f);
    Font again{};
    std::vector<Mapping> map2(capacity);
    const char* why2 =
        parse(file.data(), file.size(), capacity == 0 ? nullptr : map2.data(), capacity, &again);
    RC_ASSERT(why == why2);
    if (why != nullptr) {
        RC_ASSERT(why[0] != '\0');
        return;
    }
    check_contract(file, map, f);
    RC_ASSERT(again.map_count == f.map_count && again.glyph_count == f.glyph_count);
    for (uint32_t i = 0; i < f.map_count; ++i)
        RC_ASSERT(map2[i].code_point == map[i].code_point && map2[i].glyph == map[i].glyph);
    // Any glyph, even one past the font, draws inside its cell and nowhere else.
    const uint32_t g = *rc::gen::inRange<uint32_t>(0, f.glyph_count + 2);
    std::vector<uint32_t> cell(size_t{f.width} * f.height);
    draw(f, g, reinterpret_cast<uint8_t*>(cell.data()), f.width * 4, 1, 2);
    const uint32_t shown = g < f.glyph_count ? g : f.fallback;
    for (uint32_t y = 0; y < f.height; ++y) {
        for (uint32_t x = 0; x < f.width; ++x)
            RC_ASSERT(cell[size_t{y} * f.width + x] == (pixel(f, shown, x, y) ? 1u : 2u));
    }
}

}  // namespace
}  // namespace keel::font
