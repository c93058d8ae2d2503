// A test-only PSF1/PSF2 writer (the layouts of psf.cpp's comment, written independently of the
// parser): the unit tests build hand-made files from it and corrupt them, the property test
// writes random fonts and expects them back exactly.
#pragma once

#include <cstdint>
#include <vector>

namespace keel::font::testing {

// What one glyph's entry of the Unicode table lists.
struct GlyphCodes {
    std::vector<uint32_t> singles;                 // code points drawn with this glyph
    std::vector<std::vector<uint32_t>> sequences;  // combining sequences (the parser skips them)
};

struct FontModel {
    int version = 2;  // 1 (PSF1: width 8, 256 or 512 glyphs) or 2
    uint32_t width = 8, height = 16;
    uint32_t count = 256;
    uint32_t charsize = 16;       // PSF2: bytes per glyph (PSF1: height)
    uint32_t header_size = 32;    // PSF2: >= 32; the bytes between 32 and it are zero
    std::vector<uint8_t> glyphs;  // count * charsize
    bool table = false;
    std::vector<GlyphCodes> codes;  // one per glyph when table
};

inline void put32(std::vector<uint8_t>& out, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

inline void put_utf8(std::vector<uint8_t>& out, uint32_t c) {
    if (c < 0x80) {
        out.push_back(static_cast<uint8_t>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<uint8_t>(0xC0 | c >> 6));
        out.push_back(static_cast<uint8_t>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<uint8_t>(0xE0 | c >> 12));
        out.push_back(static_cast<uint8_t>(0x80 | (c >> 6 & 0x3F)));
        out.push_back(static_cast<uint8_t>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<uint8_t>(0xF0 | c >> 18));
        out.push_back(static_cast<uint8_t>(0x80 | (c >> 12 & 0x3F)));
        out.push_back(static_cast<uint8_t>(0x80 | (c >> 6 & 0x3F)));
        out.push_back(static_cast<uint8_t>(0x80 | (c & 0x3F)));
    }
}

inline void put16(std::vector<uint8_t>& out, uint32_t v) {
    out.push_back(static_cast<uint8_t>(v));
    out.push_back(static_cast<uint8_t>(v >> 8));
}

inline std::vector<uint8_t> write(const FontModel& m) {
    std::vector<uint8_t> out;
    bool any_sequence = false;
    for (const auto& g : m.codes)
        any_sequence = any_sequence || !g.sequences.empty();
    if (m.version == 1) {
        out = {0x36, 0x04, 0, static_cast<uint8_t>(m.height)};
        out[2] = static_cast<uint8_t>((m.count == 512 ? 0x01 : 0) | (m.table ? 0x02 : 0) |
                                      (m.table && any_sequence ? 0x04 : 0));
    } else {
        out = {0x72, 0xB5, 0x4A, 0x86};
        put32(out, 0);
        put32(out, m.header_size);
        put32(out, m.table ? 1 : 0);
        put32(out, m.count);
        put32(out, m.charsize);
        put32(out, m.height);
        put32(out, m.width);
        out.resize(m.header_size, 0);
    }
    out.insert(out.end(), m.glyphs.begin(), m.glyphs.end());
    if (!m.table)
        return out;
    for (const auto& g : m.codes) {
        for (uint32_t c : g.singles) {
            if (m.version == 1)
                put16(out, c);
            else
                put_utf8(out, c);
        }
        for (const auto& s : g.sequences) {
            if (m.version == 1)
                put16(out, 0xFFFE);
            else
                out.push_back(0xFE);
            for (uint32_t c : s) {
                if (m.version == 1)
                    put16(out, c);
                else
                    put_utf8(out, c);
            }
        }
        if (m.version == 1)
            put16(out, 0xFFFF);
        else
            out.push_back(0xFF);
    }
    return out;
}

}  // namespace keel::font::testing
