// A terminal emulator's screen: the bytes programs write to a console (untrusted: any program
// may write anything) become a grid of character cells with a cursor. UTF-8, the C0 controls,
// ESC and CSI sequences of ECMA-48 as xterm and the VT100 use them (cursor movement, erasing,
// inserting and deleting, scrolling with a scroll region, colours and attributes, device status
// reports); OSC, DCS, APC, PM and SOS strings are swallowed. Nothing the input says can write
// outside the grid, and every byte costs at most one pass over the grid. No allocation (the
// caller owns the cells), no globals, built-in headers only. One Terminal is used by one thread.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::vt {

inline constexpr uint8_t kBold = 1, kUnderline = 2, kInverse = 4;  // Cell::attrs
inline constexpr uint8_t kDefaultFg = 7, kDefaultBg = 0;           // palette indexes
inline constexpr uint32_t kMaxColumns = 1024, kMaxRows = 1024;

// One character cell. fg and bg are palette indexes (always < 16); the renderer applies
// kInverse (swap) and decides how kBold looks (fg is kept as the program set it).
struct Cell {
    uint32_t code_point;  // a Unicode scalar value, U+FFFD for invalid input; ' ' when blank
    uint8_t fg, bg;
    uint8_t attrs;  // kBold | kUnderline | kInverse
    uint8_t reserved;
};

// The 16-colour palette (VGA colours in ANSI order: black, red, green, yellow, blue, magenta,
// cyan, white, then the bright ones) as 0x00RRGGBB; `index & 15`.
uint32_t palette(uint8_t index);

class Terminal {
  public:
    // `cells`: columns * rows cells of caller storage, row-major. Clamps columns/rows to
    // [1, kMax*] (the storage must hold the clamped product). Clears to spaces in the default
    // colours, cursor at (0,0), visible. Everything is damaged; no reply is queued.
    void init(Cell* cells, uint32_t columns, uint32_t rows);
    // Feeds bytes a program wrote: UTF-8 (an invalid or overlong sequence gives U+FFFD and
    // resynchronises), C0 controls, ESC and CSI sequences (a sequence may be split across
    // calls). Cost: linear in `size`, each byte at most one pass over the grid.
    void write(const uint8_t* bytes, size_t size);

    uint32_t columns() const;
    uint32_t rows() const;
    uint32_t cursor_column() const;
    uint32_t cursor_row() const;
    bool cursor_visible() const;
    // The cell at (column, row), 0-based; out of range: a blank cell in the default colours.
    const Cell& cell(uint32_t column, uint32_t row) const;

    // Rows changed since the last call as [*first, *end); false when none. A scroll marks all
    // rows; a cursor move marks the rows it left and entered (so a renderer redraws the cursor).
    bool take_damage(uint32_t* first, uint32_t* end);
    // Bytes the terminal owes the program (answers to device status reports, CSI 6n -> CSI
    // row;col R, CSI 5n -> CSI 0 n): copies up to `cap` into `out` and returns how many; the
    // rest stays queued (a bounded queue: answers that do not fit are dropped, counted).
    size_t take_reply(uint8_t* out, size_t cap);
    uint64_t lines_scrolled() const;  // total lines scrolled off the top (tests, statistics)

  private:
};

}  // namespace keel::vt
