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

// The usual loop of a console server: init() once over its cell storage; write() what the
// programs wrote; take_damage() and redraw those rows (cell(), the cursor); take_reply() and
// send those bytes back to the program as if typed. The object is small (a few hundred bytes)
// and needs no destructor; it refers to the cells (or, given none, to a cell of its own), so it
// is not copied after init().
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
    // rows of the scroll region (all rows unless CSI r set one); a cursor move (or a change of
    // visibility) marks the row where the cursor was at the last call and the row where it is
    // now, so a renderer redraws the cursor. Either pointer may be null (the damage is still
    // taken).
    bool take_damage(uint32_t* first, uint32_t* end);
    // Bytes the terminal owes the program (answers to device status reports, CSI 6n -> CSI
    // row;col R, CSI 5n -> CSI 0 n): copies up to `cap` into `out` and returns how many; the
    // rest stays queued (a bounded queue: answers that do not fit are dropped, counted).
    size_t take_reply(uint8_t* out, size_t cap);
    uint64_t lines_scrolled() const;   // lines scrolled off the region's top (tests, statistics)
    uint64_t replies_dropped() const;  // answers dropped because the reply queue was full

    static constexpr uint32_t kMaxParams = 16;      // CSI parameters kept; more are ignored
    static constexpr uint32_t kMaxParam = 9999;     // a larger parameter value is clamped to it
    static constexpr uint32_t kMaxString = 4096;    // OSC/DCS/APC/PM/SOS bytes swallowed at most
    static constexpr uint32_t kReplyCapacity = 64;  // bytes of queued answers

  private:
    enum class State : uint8_t {
        kGround,
        kEscape,              // after ESC
        kEscapeIntermediate,  // ESC and 0x20-0x2F: waits for the final byte, ignored
        kCsi,                 // ESC [ parameters
        kCsiIgnore,           // a malformed or unsupported CSI: waits for its final byte
        kString,        // OSC, DCS, APC, PM, SOS: swallowed up to BEL or ST (ESC, then a backslash)
        kStringEscape,  // ESC inside a string
    };
    struct Saved {  // ESC 7 / CSI s
        uint32_t column, row;
        uint8_t fg, bg, attrs;
        bool pending_wrap;
    };

    void reset();
    void byte(uint8_t b);
    void ground(uint8_t b);
    void flush_utf8();
    void print(uint32_t code_point);
    void control(uint8_t b);
    void escape(uint8_t b);
    void csi(uint8_t b);
    void csi_dispatch(uint8_t final_byte);
    void sgr();
    uint32_t param(uint32_t i, uint32_t fallback) const;
    void move_to(uint32_t column, uint32_t row);
    void linefeed();
    void reverse_index();
    void scroll_up(uint32_t top, uint32_t bottom, uint32_t n);
    void scroll_down(uint32_t top, uint32_t bottom, uint32_t n);
    void erase(uint32_t row, uint32_t from, uint32_t to);
    void mark(uint32_t first, uint32_t end);
    void reply(const uint8_t* bytes, size_t size);
    void save();
    void restore();
    Cell blank() const;
    Cell& at(uint32_t column, uint32_t row) { return cells_[size_t{row} * columns_ + column]; }

    Cell* cells_ = nullptr;
    Cell fallback_{};  // the storage when init() was given none
    uint32_t columns_ = 0, rows_ = 0;
    uint32_t column_ = 0, row_ = 0;
    bool pending_wrap_ = false;  // at the last column, a printable character wraps first
    bool visible_ = true;
    uint8_t fg_ = kDefaultFg, bg_ = kDefaultBg, attrs_ = 0;
    uint32_t top_ = 0, bottom_ = 0;  // the scroll region, inclusive
    Saved saved_{};

    State state_ = State::kGround;
    uint32_t params_[kMaxParams] = {};
    uint32_t param_count_ = 0;  // parameters seen, up to kMaxParams + 1
    uint8_t private_ = 0;       // CSI private marker ('?', '>', '<', '=') or 0
    bool intermediate_ = false;
    uint32_t string_length_ = 0;
    uint32_t utf8_code_ = 0;
    uint32_t utf8_need_ = 0;                      // continuation bytes still expected
    uint8_t utf8_low_ = 0x80, utf8_high_ = 0xBF;  // the next continuation byte's range

    uint32_t damage_first_ = 0, damage_end_ = 0;
    uint32_t drawn_column_ = 0, drawn_row_ = 0;  // the cursor at the last take_damage()
    bool drawn_visible_ = true;

    uint8_t replies_[kReplyCapacity] = {};
    uint32_t reply_head_ = 0, reply_size_ = 0;
    uint64_t replies_dropped_ = 0;
    uint64_t lines_scrolled_ = 0;
};

}  // namespace keel::vt
