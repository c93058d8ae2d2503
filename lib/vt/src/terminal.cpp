// The terminal's parser and screen operations. The parser is a byte-at-a-time state machine in
// the shape ECMA-48 gives sequences (ESC, CSI parameters/intermediates/final, control strings),
// so a sequence split across write() calls parses exactly as when whole. Every position the
// input names is clamped to the grid before it is used; every count is clamped to what the grid
// or region can hold, so one operation is at most one pass over the cells.
#include <keel/vt/terminal.hpp>

namespace keel::vt {

namespace {

// VGA text-mode colours in ANSI order (what the Linux console shows).
constexpr uint32_t kPalette[16] = {
    0x000000, 0xAA0000, 0x00AA00, 0xAA5500, 0x0000AA, 0xAA00AA, 0x00AAAA, 0xAAAAAA,
    0x555555, 0xFF5555, 0x55FF55, 0xFFFF55, 0x5555FF, 0xFF55FF, 0x55FFFF, 0xFFFFFF,
};

constexpr uint32_t kReplacement = 0xFFFD;
constexpr uint8_t kEsc = 0x1B, kCan = 0x18, kSub = 0x1A, kDel = 0x7F, kBel = 0x07;

const Cell kBlankCell = {' ', kDefaultFg, kDefaultBg, 0, 0};

uint32_t min_u32(uint32_t a, uint32_t b) {
    return a < b ? a : b;
}

// The palette index nearest to an RGB colour (squared distance; the first on a tie).
uint8_t nearest(uint32_t r, uint32_t g, uint32_t b) {
    uint8_t best = 0;
    uint32_t best_distance = UINT32_MAX;
    for (uint8_t i = 0; i < 16; ++i) {
        const int32_t dr = static_cast<int32_t>(kPalette[i] >> 16) - static_cast<int32_t>(r);
        const int32_t dg = static_cast<int32_t>(kPalette[i] >> 8 & 0xFF) - static_cast<int32_t>(g);
        const int32_t db = static_cast<int32_t>(kPalette[i] & 0xFF) - static_cast<int32_t>(b);
        const uint32_t d = static_cast<uint32_t>(dr * dr + dg * dg + db * db);
        if (d < best_distance) {
            best_distance = d;
            best = i;
        }
    }
    return best;
}

// xterm's 256-colour palette: 16 system colours, a 6x6x6 cube, 24 greys.
uint8_t nearest_256(uint32_t n) {
    if (n < 16)
        return static_cast<uint8_t>(n);
    if (n < 232) {
        const uint32_t i = n - 16;
        auto level = [](uint32_t l) { return l == 0 ? 0u : 55 + 40 * l; };
        return nearest(level(i / 36), level(i / 6 % 6), level(i % 6));
    }
    const uint32_t v = 8 + 10 * (n - 232);
    return nearest(v, v, v);
}

// Decimal digits of v (at most kMaxParam-sized values reach here) into out; returns the count.
size_t decimal(uint32_t v, uint8_t* out) {
    uint8_t digits[10];
    size_t n = 0;
    do {
        digits[n++] = static_cast<uint8_t>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; ++i)
        out[i] = digits[n - 1 - i];
    return n;
}

}  // namespace

uint32_t palette(uint8_t index) {
    return kPalette[index & 15];
}

void Terminal::init(Cell* cells, uint32_t columns, uint32_t rows) {
    if (cells == nullptr) {
        cells = &fallback_;
        columns = rows = 1;
    }
    cells_ = cells;
    columns_ = columns < 1 ? 1 : (columns > kMaxColumns ? kMaxColumns : columns);
    rows_ = rows < 1 ? 1 : (rows > kMaxRows ? kMaxRows : rows);
    reply_head_ = reply_size_ = 0;
    replies_dropped_ = 0;
    lines_scrolled_ = 0;
    reset();
}

void Terminal::reset() {
    fg_ = kDefaultFg;
    bg_ = kDefaultBg;
    attrs_ = 0;
    for (uint32_t r = 0; r < rows_; ++r)
        erase(r, 0, columns_);
    column_ = row_ = 0;
    pending_wrap_ = false;
    visible_ = true;
    top_ = 0;
    bottom_ = rows_ - 1;
    saved_ = Saved{0, 0, kDefaultFg, kDefaultBg, 0, false};
    state_ = State::kGround;
    utf8_need_ = 0;
    damage_first_ = 0;
    damage_end_ = rows_;
    drawn_column_ = drawn_row_ = 0;
    drawn_visible_ = true;
}

void Terminal::write(const uint8_t* bytes, size_t size) {
    if (bytes == nullptr || cells_ == nullptr)
        return;
    for (size_t i = 0; i < size; ++i)
        byte(bytes[i]);
}

uint32_t Terminal::columns() const {
    return columns_;
}
uint32_t Terminal::rows() const {
    return rows_;
}
uint32_t Terminal::cursor_column() const {
    return column_;
}
uint32_t Terminal::cursor_row() const {
    return row_;
}
bool Terminal::cursor_visible() const {
    return visible_;
}
uint64_t Terminal::lines_scrolled() const {
    return lines_scrolled_;
}
uint64_t Terminal::replies_dropped() const {
    return replies_dropped_;
}

const Cell& Terminal::cell(uint32_t column, uint32_t row) const {
    if (cells_ == nullptr || column >= columns_ || row >= rows_)
        return kBlankCell;
    return cells_[size_t{row} * columns_ + column];
}

bool Terminal::take_damage(uint32_t* first, uint32_t* end) {
    if (cells_ == nullptr)
        return false;
    if (drawn_column_ != column_ || drawn_row_ != row_ || drawn_visible_ != visible_) {
        mark(drawn_row_, drawn_row_ + 1);
        mark(row_, row_ + 1);
        drawn_column_ = column_;
        drawn_row_ = row_;
        drawn_visible_ = visible_;
    }
    if (damage_first_ >= damage_end_)
        return false;
    if (first != nullptr)
        *first = damage_first_;
    if (end != nullptr)
        *end = damage_end_;
    damage_first_ = damage_end_ = 0;
    return true;
}

size_t Terminal::take_reply(uint8_t* out, size_t cap) {
    if (out == nullptr)
        return 0;
    size_t n = 0;
    while (n < cap && reply_size_ > 0) {
        out[n++] = replies_[reply_head_];
        reply_head_ = (reply_head_ + 1) % kReplyCapacity;
        --reply_size_;
    }
    return n;
}

void Terminal::reply(const uint8_t* bytes, size_t size) {
    if (size > kReplyCapacity - reply_size_) {
        ++replies_dropped_;  // whole answers only: a partial one would confuse the program
        return;
    }
    for (size_t i = 0; i < size; ++i) {
        replies_[(reply_head_ + reply_size_) % kReplyCapacity] = bytes[i];
        ++reply_size_;
    }
}

void Terminal::mark(uint32_t first, uint32_t end) {
    if (first >= end)
        return;
    if (damage_first_ >= damage_end_) {
        damage_first_ = first;
        damage_end_ = end;
        return;
    }
    if (first < damage_first_)
        damage_first_ = first;
    if (end > damage_end_)
        damage_end_ = end;
}

Cell Terminal::blank() const {
    return Cell{' ', fg_, bg_, 0, 0};
}

// Cells [from, to) of a row become blanks in the current colours.
void Terminal::erase(uint32_t row, uint32_t from, uint32_t to) {
    to = min_u32(to, columns_);
    if (from >= to)
        return;
    const Cell b = blank();
    for (uint32_t c = from; c < to; ++c)
        at(c, row) = b;
    mark(row, row + 1);
}

// Rows [top, bottom] move up n (lines at the top are lost), blanks enter at the bottom.
void Terminal::scroll_up(uint32_t top, uint32_t bottom, uint32_t n) {
    const uint32_t height = bottom - top + 1;
    n = min_u32(n, height);
    const size_t stride = columns_;
    for (uint32_t r = top; r + n <= bottom; ++r) {
        Cell* to = cells_ + size_t{r} * stride;
        const Cell* from = cells_ + size_t{r + n} * stride;
        for (size_t c = 0; c < stride; ++c)
            to[c] = from[c];
    }
    for (uint32_t r = bottom + 1 - n; r <= bottom; ++r)
        erase(r, 0, columns_);
    mark(top, bottom + 1);
}

// Rows [top, bottom] move down n (lines at the bottom are lost), blanks enter at the top.
void Terminal::scroll_down(uint32_t top, uint32_t bottom, uint32_t n) {
    const uint32_t height = bottom - top + 1;
    n = min_u32(n, height);
    if (n == 0)
        return;
    const size_t stride = columns_;
    for (uint32_t r = bottom; r >= top + n; --r) {
        Cell* to = cells_ + size_t{r} * stride;
        const Cell* from = cells_ + size_t{r - n} * stride;
        for (size_t c = 0; c < stride; ++c)
            to[c] = from[c];
    }
    for (uint32_t r = top; r < top + n; ++r)
        erase(r, 0, columns_);
    mark(top, bottom + 1);
}

void Terminal::move_to(uint32_t column, uint32_t row) {
    column_ = min_u32(column, columns_ - 1);
    row_ = min_u32(row, rows_ - 1);
    pending_wrap_ = false;
}

// LF, VT, FF, IND: down one row; at the region's bottom the region scrolls up. Below the
// region the cursor moves down to the last row and nothing scrolls.
void Terminal::linefeed() {
    pending_wrap_ = false;
    if (row_ == bottom_) {
        scroll_up(top_, bottom_, 1);
        ++lines_scrolled_;
    } else if (row_ + 1 < rows_) {
        ++row_;
    }
}

void Terminal::reverse_index() {
    pending_wrap_ = false;
    if (row_ == top_)
        scroll_down(top_, bottom_, 1);
    else if (row_ > 0)
        --row_;
}

void Terminal::save() {
    saved_ = Saved{column_, row_, fg_, bg_, attrs_, pending_wrap_};
}

void Terminal::restore() {
    move_to(saved_.column, saved_.row);
    pending_wrap_ = saved_.pending_wrap && column_ == columns_ - 1;
    fg_ = saved_.fg;
    bg_ = saved_.bg;
    attrs_ = saved_.attrs;
}

void Terminal::print(uint32_t code_point) {
    if (code_point < 0x20 || (code_point >= 0x7F && code_point < 0xA0))
        return;  // DEL and the C1 controls are not shown
    if (pending_wrap_) {
        column_ = 0;
        linefeed();
    }
    at(column_, row_) = Cell{code_point, fg_, bg_, attrs_, 0};
    mark(row_, row_ + 1);
    if (column_ + 1 < columns_)
        ++column_;
    else
        pending_wrap_ = true;
}

void Terminal::byte(uint8_t b) {
    if (b == kCan || b == kSub) {  // abort whatever is in progress
        flush_utf8();
        state_ = State::kGround;
        return;
    }
    switch (state_) {
        case State::kString:
            if (b == kBel || ++string_length_ > kMaxString)
                state_ = State::kGround;
            else if (b == kEsc)
                state_ = State::kStringEscape;
            return;
        case State::kStringEscape:
            if (b == '\\') {
                state_ = State::kGround;
                return;
            }
            state_ = State::kEscape;  // the ESC ended the string and starts a sequence
            break;
        default:
            break;
    }
    if (b == kEsc) {
        flush_utf8();
        state_ = State::kEscape;
        return;
    }
    if (b < 0x20) {  // C0 controls act even inside a sequence (VT100)
        flush_utf8();
        control(b);
        return;
    }
    if (b >= 0x80 && state_ != State::kGround)
        state_ = State::kGround;  // not part of any sequence: the sequence ends here
    switch (state_) {
        case State::kGround:
            ground(b);
            return;
        case State::kEscape:
            escape(b);
            return;
        case State::kEscapeIntermediate:
            if (b >= 0x30 && b != kDel)
                state_ = State::kGround;  // the final byte (ESC ( B and the like): ignored
            return;
        case State::kCsi:
        case State::kCsiIgnore:
            csi(b);
            return;
        default:
            return;
    }
}

// An unfinished UTF-8 sequence interrupted by something else is one U+FFFD.
void Terminal::flush_utf8() {
    if (utf8_need_ == 0)
        return;
    utf8_need_ = 0;
    print(kReplacement);
}

void Terminal::ground(uint8_t b) {
    if (utf8_need_ > 0) {
        if (b >= utf8_low_ && b <= utf8_high_) {
            utf8_code_ = utf8_code_ << 6 | (b & 0x3F);
            utf8_low_ = 0x80;
            utf8_high_ = 0xBF;
            if (--utf8_need_ == 0)
                print(utf8_code_);
            return;
        }
        flush_utf8();  // and b starts afresh
    }
    if (b < 0x80) {
        if (b != kDel)
            print(b);
        return;
    }
    // The second byte's range excludes overlong forms, surrogates and values past U+10FFFF, so
    // an invalid sequence is caught at its first wrong byte (which then starts afresh).
    utf8_low_ = 0x80;
    utf8_high_ = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        utf8_need_ = 1;
        utf8_code_ = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        utf8_need_ = 2;
        utf8_code_ = b & 0x0F;
        if (b == 0xE0)
            utf8_low_ = 0xA0;
        else if (b == 0xED)
            utf8_high_ = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        utf8_need_ = 3;
        utf8_code_ = b & 0x07;
        if (b == 0xF0)
            utf8_low_ = 0x90;
        else if (b == 0xF4)
            utf8_high_ = 0x8F;
    } else {
        print(kReplacement);  // a stray continuation byte, C0, C1, F5-FF
    }
}

void Terminal::control(uint8_t b) {
    switch (b) {
        case 0x08:  // BS
            if (column_ > 0)
                --column_;
            pending_wrap_ = false;
            return;
        case 0x09: {  // HT: fixed stops every 8 columns
            const uint32_t next = (column_ / 8 + 1) * 8;
            column_ = min_u32(next, columns_ - 1);
            pending_wrap_ = false;
            return;
        }
        case 0x0A:  // LF
        case 0x0B:  // VT
        case 0x0C:  // FF
            linefeed();
            return;
        case 0x0D:  // CR
            column_ = 0;
            pending_wrap_ = false;
            return;
        default:
            return;  // BEL, SO, SI and the rest: ignored
    }
}

void Terminal::escape(uint8_t b) {
    if (b == kDel)
        return;  // ignored inside a sequence
    if (b >= 0x20 && b <= 0x2F) {
        state_ = State::kEscapeIntermediate;
        return;
    }
    state_ = State::kGround;
    switch (b) {
        case '7':
            save();
            return;
        case '8':
            restore();
            return;
        case 'c':
            reset();
            return;
        case 'D':
            linefeed();
            return;
        case 'E':
            column_ = 0;
            linefeed();
            return;
        case 'M':
            reverse_index();
            return;
        case '[':
            state_ = State::kCsi;
            param_count_ = 0;
            params_[0] = 0;
            private_ = 0;
            intermediate_ = false;
            return;
        case ']':  // OSC
        case 'P':  // DCS
        case '_':  // APC
        case '^':  // PM
        case 'X':  // SOS
            state_ = State::kString;
            string_length_ = 0;
            return;
        default:
            return;  // ST (ESC \), keypad modes and the rest: ignored
    }
}

void Terminal::csi(uint8_t b) {
    if (b >= 0x40 && b <= 0x7E) {  // the final byte
        const bool ignore = state_ == State::kCsiIgnore;
        state_ = State::kGround;
        if (!ignore)
            csi_dispatch(b);
        return;
    }
    if (state_ == State::kCsiIgnore || b == kDel)
        return;
    if (b >= 0x20 && b <= 0x2F) {
        intermediate_ = true;
        return;
    }
    if (intermediate_) {  // a parameter byte after an intermediate: malformed
        state_ = State::kCsiIgnore;
        return;
    }
    if (b >= '0' && b <= '9') {
        if (param_count_ == 0)
            param_count_ = 1;
        if (param_count_ <= kMaxParams) {
            uint32_t& p = params_[param_count_ - 1];
            p = min_u32(p * 10 + (b - '0'), kMaxParam);
        }
    } else if (b == ';') {
        if (param_count_ == 0)
            param_count_ = 1;
        if (param_count_ <= kMaxParams) {
            ++param_count_;
            if (param_count_ <= kMaxParams)
                params_[param_count_ - 1] = 0;
        }
    } else if (b >= '<' && b <= '?' && param_count_ == 0 && private_ == 0) {
        private_ = b;
    } else {
        state_ = State::kCsiIgnore;  // ':' sub-parameters, a misplaced private marker
    }
}

// Parameter i, `fallback` when missing or zero (ECMA-48's default), clamped to kMaxParam.
uint32_t Terminal::param(uint32_t i, uint32_t fallback) const {
    if (i >= param_count_ || i >= kMaxParams || params_[i] == 0)
        return fallback;
    return params_[i];
}

void Terminal::csi_dispatch(uint8_t final_byte) {
    if (intermediate_)
        return;  // DECSTR (CSI ! p), cursor style (CSI SP q) and the like
    if (private_ != 0) {
        if (private_ == '?' && (final_byte == 'h' || final_byte == 'l')) {
            const uint32_t count = min_u32(param_count_, kMaxParams);
            for (uint32_t i = 0; i < count; ++i) {
                if (params_[i] == 25)
                    visible_ = final_byte == 'h';
            }
        }
        return;  // other private modes and queries: accepted, ignored
    }
    const uint32_t n = param(0, 1);
    switch (final_byte) {
        case 'A': {  // CUU: stops at the region's top when inside it
            const uint32_t limit = row_ >= top_ ? top_ : 0;
            move_to(column_, row_ - min_u32(n, row_ - limit));
            return;
        }
        case 'B': {  // CUD: stops at the region's bottom when inside it
            const uint32_t limit = row_ <= bottom_ ? bottom_ : rows_ - 1;
            move_to(column_, row_ + min_u32(n, limit - row_));
            return;
        }
        case 'C':  // CUF
            move_to(column_ + min_u32(n, columns_), row_);
            return;
        case 'D':  // CUB
            move_to(column_ - min_u32(n, column_), row_);
            return;
        case 'E': {  // CNL
            const uint32_t limit = row_ <= bottom_ ? bottom_ : rows_ - 1;
            move_to(0, row_ + min_u32(n, limit - row_));
            return;
        }
        case 'F': {  // CPL
            const uint32_t limit = row_ >= top_ ? top_ : 0;
            move_to(0, row_ - min_u32(n, row_ - limit));
            return;
        }
        case 'G':  // CHA
        case '`':  // HPA
            move_to(n - 1, row_);
            return;
        case 'H':  // CUP
        case 'f':  // HVP
            move_to(param(1, 1) - 1, n - 1);
            return;
        case 'd':  // VPA
            move_to(column_, n - 1);
            return;
        case 'J': {  // ED
            const uint32_t mode = param(0, 0);
            if (mode == 0) {
                erase(row_, column_, columns_);
                for (uint32_t r = row_ + 1; r < rows_; ++r)
                    erase(r, 0, columns_);
            } else if (mode == 1) {
                for (uint32_t r = 0; r < row_; ++r)
                    erase(r, 0, columns_);
                erase(row_, 0, column_ + 1);
            } else if (mode == 2 || mode == 3) {  // 3 (and the saved lines): there are none
                for (uint32_t r = 0; r < rows_; ++r)
                    erase(r, 0, columns_);
            } else {
                return;
            }
            pending_wrap_ = false;
            return;
        }
        case 'K': {  // EL
            const uint32_t mode = param(0, 0);
            if (mode == 0)
                erase(row_, column_, columns_);
            else if (mode == 1)
                erase(row_, 0, column_ + 1);
            else if (mode == 2)
                erase(row_, 0, columns_);
            else
                return;
            pending_wrap_ = false;
            return;
        }
        case 'X':  // ECH
            erase(row_, column_, column_ + min_u32(n, columns_));
            pending_wrap_ = false;
            return;
        case '@': {  // ICH: the rest of the line moves right, cells past the end are lost
            const uint32_t k = min_u32(n, columns_ - column_);
            for (uint32_t c = columns_ - 1; c >= column_ + k; --c)
                at(c, row_) = at(c - k, row_);
            erase(row_, column_, column_ + k);
            pending_wrap_ = false;
            return;
        }
        case 'P': {  // DCH: the rest of the line moves left, blanks enter at the end
            const uint32_t k = min_u32(n, columns_ - column_);
            for (uint32_t c = column_; c + k < columns_; ++c)
                at(c, row_) = at(c + k, row_);
            erase(row_, columns_ - k, columns_);
            pending_wrap_ = false;
            return;
        }
        case 'L':  // IL: inside the region only
            if (row_ >= top_ && row_ <= bottom_) {
                scroll_down(row_, bottom_, n);
                move_to(0, row_);
            }
            return;
        case 'M':  // DL: inside the region only
            if (row_ >= top_ && row_ <= bottom_) {
                scroll_up(row_, bottom_, n);
                move_to(0, row_);
            }
            return;
        case 'S': {  // SU
            const uint32_t k = min_u32(n, bottom_ - top_ + 1);
            scroll_up(top_, bottom_, k);
            lines_scrolled_ += k;
            return;
        }
        case 'T':  // SD (with more parameters it is xterm's mouse tracking: ignored)
            if (param_count_ <= 1)
                scroll_down(top_, bottom_, n);
            return;
        case 'm':
            sgr();
            return;
        case 'n':  // DSR
            if (param(0, 0) == 5) {
                const uint8_t ok[] = {kEsc, '[', '0', 'n'};
                reply(ok, sizeof ok);
            } else if (param(0, 0) == 6) {
                uint8_t answer[2 + 10 + 1 + 10 + 1];
                size_t k = 0;
                answer[k++] = kEsc;
                answer[k++] = '[';
                k += decimal(row_ + 1, answer + k);
                answer[k++] = ';';
                k += decimal(column_ + 1, answer + k);
                answer[k++] = 'R';
                reply(answer, k);
            }
            return;
        case 'r': {  // DECSTBM: at least two rows, then the cursor goes home
            const uint32_t top = param(0, 1) - 1;
            const uint32_t bottom = min_u32(param(1, rows_), rows_) - 1;
            if (top < bottom) {
                top_ = top;
                bottom_ = bottom;
                move_to(0, 0);
            }
            return;
        }
        case 's':
            save();
            return;
        case 'u':
            restore();
            return;
        default:
            return;  // unknown or unsupported: ignored whole
    }
}

void Terminal::sgr() {
    const uint32_t count = param_count_ == 0 ? 1 : min_u32(param_count_, kMaxParams);
    for (uint32_t i = 0; i < count; ++i) {
        const uint32_t p = param(i, 0);
        if (p == 0) {
            fg_ = kDefaultFg;
            bg_ = kDefaultBg;
            attrs_ = 0;
        } else if (p == 1) {
            attrs_ |= kBold;
        } else if (p == 4) {
            attrs_ |= kUnderline;
        } else if (p == 7) {
            attrs_ |= kInverse;
        } else if (p == 22) {
            attrs_ &= static_cast<uint8_t>(~kBold);
        } else if (p == 24) {
            attrs_ &= static_cast<uint8_t>(~kUnderline);
        } else if (p == 27) {
            attrs_ &= static_cast<uint8_t>(~kInverse);
        } else if (p >= 30 && p <= 37) {
            fg_ = static_cast<uint8_t>(p - 30);
        } else if (p == 39) {
            fg_ = kDefaultFg;
        } else if (p >= 40 && p <= 47) {
            bg_ = static_cast<uint8_t>(p - 40);
        } else if (p == 49) {
            bg_ = kDefaultBg;
        } else if (p >= 90 && p <= 97) {
            fg_ = static_cast<uint8_t>(p - 90 + 8);
        } else if (p >= 100 && p <= 107) {
            bg_ = static_cast<uint8_t>(p - 100 + 8);
        } else if (p == 38 || p == 48) {
            // 38;5;n (256 colours) or 38;2;r;g;b: the nearest palette colour. A missing or
            // unknown kind ends the list (what follows cannot be told apart from colours).
            uint8_t colour = 0;
            const uint32_t kind = param(i + 1, 0);
            if (kind == 5 && i + 2 < count) {
                colour = nearest_256(min_u32(param(i + 2, 0), 255));
                i += 2;
            } else if (kind == 2 && i + 4 < count) {
                colour = nearest(min_u32(param(i + 2, 0), 255), min_u32(param(i + 3, 0), 255),
                                 min_u32(param(i + 4, 0), 255));
                i += 4;
            } else {
                return;
            }
            (p == 38 ? fg_ : bg_) = colour;
        }
        // Anything else (faint, italic, blink, ...): ignored.
    }
}

}  // namespace keel::vt
