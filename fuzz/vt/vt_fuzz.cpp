// Terminal emulator fuzz target (lib/vt). Input: a byte of columns (0 clamps to 1), a byte of
// rows (modulo 48; 0 clamps to 1), a byte choosing the chunk size (0: the whole stream in one
// write), then the bytes a program writes to the console. The stream runs twice, whole and in
// chunks of that size, on grids of exactly the clamped size (ASan sees any write outside
// them); both must give the same cells, cursor, visibility, counters and replies. Invariants
// after each chunk: the cursor inside the grid, every colour a palette index, only the three
// attribute bits, every code point a printable scalar value, the replies within the queue's
// bound; and damage covers every row whose cells changed in that chunk.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <keel/vt/terminal.hpp>

namespace {

namespace vt = keel::vt;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "vt oracle: %s\n", what);
    std::abort();
}

bool same(const vt::Cell& a, const vt::Cell& b) {
    return a.code_point == b.code_point && a.fg == b.fg && a.bg == b.bg && a.attrs == b.attrs;
}

void check(const vt::Terminal& t) {
    if (t.cursor_column() >= t.columns() || t.cursor_row() >= t.rows())
        fail("the cursor is outside the grid");
    for (uint32_t r = 0; r < t.rows(); ++r) {
        for (uint32_t c = 0; c < t.columns(); ++c) {
            const vt::Cell& x = t.cell(c, r);
            if (x.fg >= 16 || x.bg >= 16)
                fail("a colour outside the palette");
            if ((x.attrs & ~(vt::kBold | vt::kUnderline | vt::kInverse)) != 0)
                fail("an unknown attribute bit");
            if (x.code_point < 0x20 || x.code_point > 0x10FFFF ||
                (x.code_point >= 0x7F && x.code_point < 0xA0) ||
                (x.code_point >= 0xD800 && x.code_point < 0xE000))
                fail("a control, surrogate or out-of-range code point in a cell");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3)
        return 0;
    const uint32_t columns = data[0] == 0 ? 1 : data[0];
    const uint32_t rows = data[1] % 48 == 0 ? 1 : data[1] % 48;
    const size_t chunk = data[2];
    const std::vector<uint8_t> stream(data + 3, data + size);
    const size_t cells = size_t{columns} * rows;

    std::vector<vt::Cell> a(cells), b(cells);  // exact: ASan sees overruns
    vt::Terminal whole, split;
    whole.init(a.data(), columns, rows);
    split.init(b.data(), columns, rows);
    if (whole.columns() != columns || whole.rows() != rows)
        fail("init did not keep a valid size");
    whole.write(stream.data(), stream.size());
    check(whole);

    const size_t step = chunk == 0 ? stream.size() + 1 : chunk;
    std::vector<vt::Cell> before;
    for (size_t at = 0; at < stream.size(); at += step) {
        split.take_damage(nullptr, nullptr);
        before = b;
        const size_t n = stream.size() - at < step ? stream.size() - at : step;
        split.write(stream.data() + at, n);
        check(split);
        uint32_t first = 0, end = 0;
        const bool damaged = split.take_damage(&first, &end);
        if (damaged && (first >= end || end > rows))
            fail("damage outside the grid");
        for (uint32_t r = 0; r < rows; ++r) {
            for (uint32_t c = 0; c < columns; ++c) {
                if (!same(before[size_t{r} * columns + c], b[size_t{r} * columns + c]) &&
                    (!damaged || r < first || r >= end))
                    fail("a changed row outside the damage");
            }
        }
    }
    for (size_t i = 0; i < cells; ++i) {
        if (!same(a[i], b[i]))
            fail("the split stream gave another grid");
    }
    if (whole.cursor_column() != split.cursor_column() ||
        whole.cursor_row() != split.cursor_row() ||
        whole.cursor_visible() != split.cursor_visible() ||
        whole.lines_scrolled() != split.lines_scrolled() ||
        whole.replies_dropped() != split.replies_dropped())
        fail("the split stream gave another cursor or counters");
    uint8_t ra[vt::Terminal::kReplyCapacity + 8], rb[vt::Terminal::kReplyCapacity + 8];
    const size_t na = whole.take_reply(ra, sizeof ra), nb = split.take_reply(rb, sizeof rb);
    if (na > vt::Terminal::kReplyCapacity || na != nb || std::memcmp(ra, rb, na) != 0)
        fail("replies differ or overflow the queue");
    return 0;
}
