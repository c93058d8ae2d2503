// lib/vt properties (RapidCheck). Against a reference model: random streams of a subset
// (printable ASCII, CR, LF, BS, CSI A-D, H, J, K, m) run on a naive grid written here from the
// xterm conventions, and on the Terminal: identical cells and cursor. On arbitrary bytes
// (biased towards escape-sequence bytes): the cursor stays inside the grid, every colour is a
// palette index, attributes are the three bits, and however the stream is cut into writes the
// result is the same (grid, cursor, replies, counters). Damage covers every changed row.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/vt/terminal.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace keel::vt {
namespace {

// The naive grid: a vector of cells, every operation spelt out.
struct Model {
    uint32_t w, h;
    std::vector<Cell> cells;
    uint32_t col = 0, row = 0;
    bool wrap = false;
    uint8_t fg = kDefaultFg, bg = kDefaultBg, attrs = 0;

    Model(uint32_t columns, uint32_t rows)
        : w(columns),
          h(rows),
          cells(size_t{columns} * rows, Cell{' ', kDefaultFg, kDefaultBg, 0, 0}) {}
    Cell& at(uint32_t c, uint32_t r) { return cells[size_t{r} * w + c]; }
    Cell blank() const { return Cell{' ', fg, bg, 0, 0}; }
    void lf() {
        wrap = false;
        if (row + 1 < h) {
            ++row;
            return;
        }
        cells.erase(cells.begin(), cells.begin() + w);
        cells.insert(cells.end(), w, blank());
    }
    void print(char ch) {
        if (wrap) {
            col = 0;
            lf();
        }
        at(col, row) = Cell{static_cast<uint8_t>(ch), fg, bg, attrs, 0};
        if (col + 1 < w)
            ++col;
        else
            wrap = true;
    }
    void go(int64_t c, int64_t r) {
        col = static_cast<uint32_t>(std::clamp<int64_t>(c, 0, w - 1));
        row = static_cast<uint32_t>(std::clamp<int64_t>(r, 0, h - 1));
        wrap = false;
    }
    void erase_cells(size_t from, size_t to) {  // flat indexes, [from, to)
        for (size_t i = from; i < to; ++i)
            cells[i] = blank();
        wrap = false;
    }
    void sgr(const std::vector<uint32_t>& ps) {
        for (uint32_t p : ps) {
            if (p == 0) {
                fg = kDefaultFg;
                bg = kDefaultBg;
                attrs = 0;
            } else if (p == 1 || p == 4 || p == 7) {
                attrs |= p == 1 ? kBold : p == 4 ? kUnderline : kInverse;
            } else if (p == 22 || p == 24 || p == 27) {
                attrs &= static_cast<uint8_t>(~(p == 22 ? kBold : p == 24 ? kUnderline : kInverse));
            } else if (p >= 30 && p <= 37) {
                fg = static_cast<uint8_t>(p - 30);
            } else if (p >= 90 && p <= 97) {
                fg = static_cast<uint8_t>(p - 82);
            } else if (p >= 40 && p <= 47) {
                bg = static_cast<uint8_t>(p - 40);
            } else if (p >= 100 && p <= 107) {
                bg = static_cast<uint8_t>(p - 92);
            } else if (p == 39) {
                fg = kDefaultFg;
            } else if (p == 49) {
                bg = kDefaultBg;
            }
        }
    }
};

// One token of the subset: what it does to the model and the bytes the Terminal gets.
std::string token(Model& m) {
    const int kind = *rc::gen::inRange(0, 10);
    auto number = [] {
        return *rc::gen::weightedOneOf<int64_t>(
            {{4, rc::gen::inRange<int64_t>(0, 16)}, {1, rc::gen::inRange<int64_t>(0, 20000)}});
    };
    // A parameter as written: empty (the default) or digits, maybe with leading zeros.
    auto text = [](int64_t v, bool empty) {
        return empty && v == 0 ? std::string() : std::to_string(v);
    };
    if (kind <= 3) {
        const char ch = static_cast<char>(*rc::gen::inRange(0x20, 0x7F));
        m.print(ch);
        return std::string(1, ch);
    }
    if (kind == 4) {
        const char c = *rc::gen::element('\r', '\n', '\b');
        if (c == '\r')
            m.go(0, m.row);
        else if (c == '\n')
            m.lf();
        else
            m.go(static_cast<int64_t>(m.col) - 1, m.row);
        return std::string(1, c);
    }
    if (kind == 5) {
        const char f = *rc::gen::element('A', 'B', 'C', 'D');
        const int64_t v = number();
        const bool empty = *rc::gen::arbitrary<bool>();
        const int64_t n = std::min<int64_t>(v == 0 ? 1 : v, 9999);
        const int64_t c = m.col, r = m.row;
        if (f == 'A')
            m.go(c, r - n);
        else if (f == 'B')
            m.go(c, r + n);
        else if (f == 'C')
            m.go(c + n, r);
        else
            m.go(c - n, r);
        return "\x1b[" + text(v, empty) + f;
    }
    if (kind == 6) {
        const int64_t r = number(), c = number();
        const bool empty = *rc::gen::arbitrary<bool>();
        m.go(std::min<int64_t>(c == 0 ? 1 : c, 9999) - 1,
             std::min<int64_t>(r == 0 ? 1 : r, 9999) - 1);
        return "\x1b[" + text(r, empty) + ";" + text(c, empty) + *rc::gen::element('H', 'f');
    }
    if (kind == 7 || kind == 8) {
        const bool line = kind == 8;
        const int64_t mode = *rc::gen::inRange<int64_t>(0, 3);
        const size_t here = size_t{m.row} * m.w + m.col;
        const size_t start = line ? size_t{m.row} * m.w : 0;
        const size_t stop = line ? size_t{m.row + 1} * m.w : m.cells.size();
        if (mode == 0)
            m.erase_cells(here, stop);
        else if (mode == 1)
            m.erase_cells(start, here + 1);
        else
            m.erase_cells(start, stop);
        return "\x1b[" + text(mode, *rc::gen::arbitrary<bool>()) + (line ? 'K' : 'J');
    }
    std::vector<uint32_t> ps = *rc::gen::container<std::vector<uint32_t>>(
        *rc::gen::inRange(0, 5),
        rc::gen::element<uint32_t>(0, 1, 4, 7, 22, 24, 27, 30, 31, 32, 33, 34, 35, 36, 37, 39, 40,
                                   41, 42, 43, 44, 45, 46, 47, 49, 90, 93, 97, 100, 104, 107));
    std::string out = "\x1b[";
    for (size_t i = 0; i < ps.size(); ++i)
        out += (i > 0 ? ";" : "") + std::to_string(ps[i]);
    m.sgr(ps.empty() ? std::vector<uint32_t>{0} : ps);
    return out + "m";
}

struct Grid {
    std::vector<Cell> cells;
    Terminal t;
    Grid(uint32_t w, uint32_t h) : cells(size_t{w} * h) { t.init(cells.data(), w, h); }
    void feed(const std::string& s) {
        t.write(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    }
};

bool same(const Cell& a, const Cell& b) {
    return a.code_point == b.code_point && a.fg == b.fg && a.bg == b.bg && a.attrs == b.attrs;
}

RC_GTEST_PROP(TerminalModel, SubsetMatchesTheNaiveGrid, ()) {
    const uint32_t w = *rc::gen::inRange(1u, 13u), h = *rc::gen::inRange(1u, 9u);
    Model m(w, h);
    Grid g(w, h);
    const int n = *rc::gen::inRange(0, 120);
    for (int i = 0; i < n; ++i) {
        g.feed(token(m));
        RC_ASSERT(g.t.cursor_column() == m.col);
        RC_ASSERT(g.t.cursor_row() == m.row);
    }
    for (uint32_t r = 0; r < h; ++r) {
        for (uint32_t c = 0; c < w; ++c)
            RC_ASSERT(same(g.t.cell(c, r), m.at(c, r)));
    }
}

// Arbitrary bytes, weighted towards the ones sequences are made of.
std::string hostile_bytes() {
    const auto byte = rc::gen::weightedOneOf<char>({
        {6, rc::gen::arbitrary<char>()},
        {4, rc::gen::element<char>('\x1b', '[', ';', '?', ']', '\\', '\x07', '\x18', '\n', '\r',
                                   '\b', '\t', 'm', 'H', 'J', 'K', 'r', 'L', 'M', 'S', 'T', '@',
                                   'P', 'X', 'n', 'h', 'l', '7', '8', 'D', 'E', 'c')},
        {3, rc::gen::inRange('0', static_cast<char>('9' + 1))},
        {1, rc::gen::element<char>('\xc3', '\xe2', '\xf0', '\x80', '\xbf', '\xff')},
    });
    return *rc::gen::container<std::string>(*rc::gen::inRange(0, 400), byte);
}

void check_invariants(const Terminal& t) {
    RC_ASSERT(t.cursor_column() < t.columns());
    RC_ASSERT(t.cursor_row() < t.rows());
    for (uint32_t r = 0; r < t.rows(); ++r) {
        for (uint32_t c = 0; c < t.columns(); ++c) {
            const Cell& x = t.cell(c, r);
            RC_ASSERT(x.fg < 16);
            RC_ASSERT(x.bg < 16);
            RC_ASSERT((x.attrs & ~(kBold | kUnderline | kInverse)) == 0);
            RC_ASSERT(x.code_point <= 0x10FFFFu);
            RC_ASSERT(x.code_point >= 0x20u);
        }
    }
}

RC_GTEST_PROP(TerminalModel, ArbitraryBytesKeepInvariantsHoweverSplit, ()) {
    const uint32_t w = *rc::gen::inRange(1u, 17u), h = *rc::gen::inRange(1u, 9u);
    const std::string s = hostile_bytes();
    Grid whole(w, h);
    whole.feed(s);
    check_invariants(whole.t);
    // The same bytes in random pieces.
    Grid split(w, h);
    size_t at = 0;
    while (at < s.size()) {
        const size_t k = *rc::gen::inRange<size_t>(1, s.size() - at + 1);
        split.feed(s.substr(at, k));
        at += k;
    }
    for (uint32_t r = 0; r < h; ++r) {
        for (uint32_t c = 0; c < w; ++c)
            RC_ASSERT(same(whole.t.cell(c, r), split.t.cell(c, r)));
    }
    RC_ASSERT(whole.t.cursor_column() == split.t.cursor_column());
    RC_ASSERT(whole.t.cursor_row() == split.t.cursor_row());
    RC_ASSERT(whole.t.cursor_visible() == split.t.cursor_visible());
    RC_ASSERT(whole.t.lines_scrolled() == split.t.lines_scrolled());
    RC_ASSERT(whole.t.replies_dropped() == split.t.replies_dropped());
    uint8_t a[Terminal::kReplyCapacity + 1], b[Terminal::kReplyCapacity + 1];
    const size_t na = whole.t.take_reply(a, sizeof a), nb = split.t.take_reply(b, sizeof b);
    RC_ASSERT(na <= Terminal::kReplyCapacity);
    RC_ASSERT(std::string(a, a + na) == std::string(b, b + nb));
}

RC_GTEST_PROP(TerminalModel, DamageCoversEveryChangedRow, ()) {
    const uint32_t w = *rc::gen::inRange(1u, 17u), h = *rc::gen::inRange(1u, 9u);
    Grid g(w, h);
    g.feed(hostile_bytes());
    g.t.take_damage(nullptr, nullptr);
    const std::vector<Cell> before = g.cells;
    const uint32_t col = g.t.cursor_column(), row = g.t.cursor_row();
    const bool visible = g.t.cursor_visible();
    g.feed(hostile_bytes());
    uint32_t first = 0, end = 0;
    const bool damaged = g.t.take_damage(&first, &end);
    if (damaged)
        RC_ASSERT(first < end && end <= h);
    for (uint32_t r = 0; r < h; ++r) {
        bool changed = false;
        for (uint32_t c = 0; c < w; ++c)
            changed = changed || !same(before[size_t{r} * w + c], g.cells[size_t{r} * w + c]);
        if (changed)
            RC_ASSERT(damaged && first <= r && r < end);
    }
    if (g.t.cursor_column() != col || g.t.cursor_row() != row || g.t.cursor_visible() != visible) {
        RC_ASSERT(damaged);
        RC_ASSERT(first <= row && row < end);
        RC_ASSERT(first <= g.t.cursor_row() && g.t.cursor_row() < end);
    }
    RC_ASSERT(!g.t.take_damage(&first, &end));
}

}  // namespace
}  // namespace keel::vt
