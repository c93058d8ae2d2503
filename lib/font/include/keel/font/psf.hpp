// PC Screen Fonts (PSF1 and PSF2, uncompressed), the console fonts Linux distributions ship
// (Debian: /usr/share/consolefonts/*.psf.gz in console-setup-linux, gzip-compressed). The
// bytes are untrusted: the header's sizes and counts, the glyph bitmaps' extent and the
// Unicode table (its encoding, code points and terminators) are all checked before anything is
// reported; a corrupt file is refused whole with a static, readable reason. Pure code over a
// byte range: no allocation, no globals, built-in headers only. The Font points into the file
// and the caller's map storage, which must outlive it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::font {

inline constexpr uint32_t kMaxGlyphs = 4096;                 // a larger glyph count is refused
inline constexpr uint32_t kMaxWidth = 64, kMaxHeight = 128;  // larger glyphs are refused

// One entry of the Unicode table: this code point is drawn with this glyph.
struct Mapping {
    uint32_t code_point;
    uint32_t glyph;
};  // sorted by code_point, unique

struct Font {
    uint32_t width, height;  // pixels of one glyph (1 to kMaxWidth, 1 to kMaxHeight)
    uint32_t glyph_count;    // 1 to kMaxGlyphs
    uint32_t bytes_per_row;  // (width + 7) / 8
    // As the header says (PSF2 charsize; must be >= bytes_per_row * height; PSF1: height).
    uint32_t bytes_per_glyph;
    const uint8_t* glyphs;  // glyph_count * bytes_per_glyph bytes inside the file; each glyph's
                            // rows top to bottom, each row's pixels from the high bit of its
                            // first byte
    const Mapping* map;     // the Unicode table, sorted; nullptr when the file has none
    uint32_t map_count;
    uint32_t fallback;  // glyph for code points the font lacks: U+FFFD's, else '?''s, else 0
};

// Parses a PSF1 or PSF2 file held in memory. `map`/`capacity`: caller storage for the Unicode
// table's single-code-point entries (a table with more distinct entries is refused). nullptr on
// success with *out filled; otherwise a static reason and *out unspecified.
// Cost: O(size + entries * capacity) time at worst (each entry goes into its sorted place in
// `map`; a few thousand at most), no other memory.
// Sequences (several code points drawn as one glyph) are skipped; a code point listed for two
// glyphs keeps the first. Bytes after the table (or after the glyphs when there is none) are
// refused for PSF2 and PSF1 alike, so a truncated or padded file is never half-read.
const char* parse(const uint8_t* file, size_t size, Mapping* map, uint32_t capacity, Font* out);

// The glyph for a code point: from the table; without a table, the code point itself when below
// glyph_count; otherwise fallback. O(log map_count).
uint32_t glyph_for(const Font& font, uint32_t code_point);

// Whether pixel (x, y) of `glyph` is set; false outside the glyph or for glyph >= glyph_count.
bool pixel(const Font& font, uint32_t glyph, uint32_t x, uint32_t y);

// Draws `glyph` with its top-left pixel at `pixels` in a 32-bit-per-pixel surface of `pitch` bytes
// per row: set bits in `fg`, clear ones in `bg` (0x00RRGGBB). The caller guarantees the cell fits.
// A glyph >= glyph_count draws as `fallback`. Writes width * height pixels, nothing else.
void draw(const Font& font, uint32_t glyph, uint8_t* pixels, uint32_t pitch, uint32_t fg,
          uint32_t bg);

}  // namespace keel::font
