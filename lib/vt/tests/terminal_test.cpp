// lib/vt unit tests: each control, escape and CSI sequence against what xterm does, what the
// shell (user/shell/line.cpp) emits, deferred wrap, scrolling and regions, damage, replies,
// UTF-8, and every split point of escape-laden streams.
#include <gtest/gtest.h>
#include <keel/vt/terminal.hpp>

#include <string>
#include <vector>

namespace keel::vt {
namespace {

class Screen {
  public:
    Screen(uint32_t columns, uint32_t rows) : cells_(size_t{columns} * rows) {
        t.init(cells_.data(), columns, rows);
    }
    void feed(const std::string& s) {
        t.write(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    }
    // Row `r` as text: ASCII code points as themselves, others as '?'.
    std::string row(uint32_t r) const {
        std::string out;
        for (uint32_t c = 0; c < t.columns(); ++c) {
            const uint32_t cp = t.cell(c, r).code_point;
            out += cp < 0x80 ? static_cast<char>(cp) : '?';
        }
        return out;
    }
    // Rows [first, end) as text, separated by '|'.
    std::string rows(uint32_t first, uint32_t end) const {
        std::string out;
        for (uint32_t r = first; r < end; ++r)
            out += (r > first ? "|" : "") + row(r);
        return out;
    }
    std::string replies() {
        uint8_t buf[256];
        const size_t n = t.take_reply(buf, sizeof buf);
        return std::string(reinterpret_cast<char*>(buf), n);
    }
    void at(uint32_t column, uint32_t row) const {
        EXPECT_EQ(t.cursor_column(), column);
        EXPECT_EQ(t.cursor_row(), row);
    }
    std::vector<Cell> cells_;
    Terminal t;
};

TEST(Terminal, InitClearsAndClamps) {
    Screen s(10, 3);
    EXPECT_EQ(s.t.columns(), 10u);
    EXPECT_EQ(s.t.rows(), 3u);
    s.at(0, 0);
    EXPECT_TRUE(s.t.cursor_visible());
    for (uint32_t r = 0; r < 3; ++r) {
        EXPECT_EQ(s.row(r), "          ");
        for (uint32_t c = 0; c < 10; ++c) {
            EXPECT_EQ(s.t.cell(c, r).fg, kDefaultFg);
            EXPECT_EQ(s.t.cell(c, r).bg, kDefaultBg);
            EXPECT_EQ(s.t.cell(c, r).attrs, 0);
        }
    }
    std::vector<Cell> one(1);
    Terminal t;
    t.init(one.data(), 0, 0);
    EXPECT_EQ(t.columns(), 1u);
    EXPECT_EQ(t.rows(), 1u);
    std::vector<Cell> big(size_t{kMaxColumns} * 2);
    t.init(big.data(), 5000, 2);
    EXPECT_EQ(t.columns(), kMaxColumns);
    t.init(nullptr, 80, 25);  // no storage: a 1x1 grid of its own
    EXPECT_EQ(t.columns(), 1u);
    t.write(reinterpret_cast<const uint8_t*>("xyz"), 3);  // each wraps, scrolling
    EXPECT_EQ(t.cell(0, 0).code_point, 'z');
}

TEST(Terminal, OutOfRangeCellIsBlank) {
    Screen s(4, 2);
    s.feed("abcdefgh");
    const Cell& c = s.t.cell(4, 0);
    EXPECT_EQ(c.code_point, uint32_t{' '});
    EXPECT_EQ(c.fg, kDefaultFg);
    EXPECT_EQ(s.t.cell(0, 2).code_point, uint32_t{' '});
    EXPECT_EQ(s.t.cell(UINT32_MAX, UINT32_MAX).code_point, uint32_t{' '});
}

TEST(Terminal, PrintsAndDefersWrap) {
    Screen s(5, 3);
    s.feed("abcde");
    EXPECT_EQ(s.row(0), "abcde");
    s.at(4, 0);  // stays on the last column
    s.feed("f");
    EXPECT_EQ(s.row(1), "f    ");
    s.at(1, 1);
    // CR at the last column cancels the wrap.
    s.feed("\rghijk\rX");
    EXPECT_EQ(s.row(1), "Xhijk");
    s.at(1, 1);
}

TEST(Terminal, LineFeedHasNoImplicitCarriageReturn) {
    Screen s(6, 3);
    s.feed("ab\ncd\vef");
    EXPECT_EQ(s.rows(0, 3), "ab    |  cd  |    ef");
    s.at(5, 2);
    // The cursor is on the last column with a pending wrap: g goes to a new line, scrolling.
    s.feed("g");
    EXPECT_EQ(s.rows(0, 3), "  cd  |    ef|g     ");
    EXPECT_EQ(s.t.lines_scrolled(), 1u);
    s.feed("\f");
    EXPECT_EQ(s.row(2), "      ");
    EXPECT_EQ(s.t.lines_scrolled(), 2u);
    s.at(1, 2);
}

TEST(Terminal, ScrollsAtTheBottom) {
    Screen s(3, 3);
    s.feed("1\r\n2\r\n3\r\n4\r\n5");
    EXPECT_EQ(s.rows(0, 3), "3  |4  |5  ");
    EXPECT_EQ(s.t.lines_scrolled(), 2u);
    s.at(1, 2);
}

TEST(Terminal, BackspaceTabBell) {
    Screen s(20, 1);
    s.feed("ab\b\b\bX");
    EXPECT_EQ(s.row(0).substr(0, 3), "Xb ");
    s.feed("\r\tT");
    EXPECT_EQ(s.t.cell(8, 0).code_point, uint32_t{'T'});
    s.feed("\t");
    s.at(16, 0);
    s.feed("\t\t\t");
    s.at(19, 0);  // the last column
    s.feed("\a");
    s.at(19, 0);
    s.feed("Z\b");  // BS with a pending wrap: one left of the last column
    s.at(18, 0);
}

TEST(Terminal, ShellLineEditing) {
    // What user/shell/line.cpp writes: the prompt, echoed keys, "\x1b[K" after a redraw,
    // "\x1b[%luD" to put the cursor back, "\r\n" at the end of a line.
    Screen s(20, 3);
    s.feed("> ");
    s.feed("helo");
    // The cursor moves left over "o", 'l' is inserted: the shell echoes the tail and backs up.
    s.feed("\x1b[1D");
    s.feed("l");
    s.feed("o");
    s.feed("\x1b[1D");
    EXPECT_EQ(s.row(0).substr(0, 8), "> hello ");
    s.at(6, 0);
    // Backspace at the end: back one, redraw the (empty) tail, erase the rest of the line.
    s.feed("\x1b[1C");
    s.feed("\x1b[1D");
    s.feed("\x1b[K");
    EXPECT_EQ(s.row(0).substr(0, 8), "> hell  ");
    // Home over four characters, then replace the line with a history entry.
    s.feed("\x1b[4D");
    s.feed("ls");
    s.feed("\x1b[K");
    EXPECT_EQ(s.row(0), "> ls                ");
    s.feed("\r\n");
    s.at(0, 1);
    s.feed("^C\r\n");
    EXPECT_EQ(s.row(1).substr(0, 3), "^C ");
    s.at(0, 2);
    // A back-up longer than the line stops at column 0.
    s.feed("abc\x1b[999D");
    s.at(0, 2);
}

TEST(Terminal, CursorMovesClamped) {
    Screen s(10, 5);
    s.feed("\x1b[3;4H");
    s.at(3, 2);
    s.feed("\x1b[A");
    s.at(3, 1);
    s.feed("\x1b[9999A");
    s.at(3, 0);
    s.feed("\x1b[2B");
    s.at(3, 2);
    s.feed("\x1b[9999B");
    s.at(3, 4);
    s.feed("\x1b[0C");  // zero means the default, 1
    s.at(4, 4);
    s.feed("\x1b[99999999999999C");  // clamped
    s.at(9, 4);
    s.feed("\x1b[3D");
    s.at(6, 4);
    s.feed("\x1b[2F");
    s.at(0, 2);
    s.feed("\x1b[5G\x1b[E");
    s.at(0, 3);
    s.feed("\x1b[7G");
    s.at(6, 3);
    s.feed("\x1b[2d");
    s.at(6, 1);
    s.feed("\x1b[H");
    s.at(0, 0);
    s.feed("\x1b[5;20f");
    s.at(9, 4);
    s.feed("\x1b[;3H");
    s.at(2, 0);
    s.feed("\x1b[9999;9999H");
    s.at(9, 4);
}

TEST(Terminal, EraseInDisplayAndLine) {
    Screen s(4, 3);
    s.feed("abcdefghijk");
    s.feed("\x1b[2;2H\x1b[J");
    EXPECT_EQ(s.rows(0, 3), "abcd|e   |    ");
    s.feed(
        "\x1b[H"
        "abcdefghijk\x1b[2;3H\x1b[1J");
    EXPECT_EQ(s.rows(0, 3), "    |   h|ijk ");
    s.feed("\x1b[2J");
    for (uint32_t r = 0; r < 3; ++r)
        EXPECT_EQ(s.row(r), "    ");
    s.at(2, 1);  // ED does not move the cursor
    s.feed("\x1b[Habcdefghijk\x1b[3J");
    EXPECT_EQ(s.row(2), "    ");
    s.feed("\x1b[Habcd\x1b[1;3H\x1b[K");
    EXPECT_EQ(s.row(0), "ab  ");
    s.feed("\x1b[1;1Habcd\x1b[1;3H\x1b[1K");
    EXPECT_EQ(s.row(0), "   d");
    s.feed("\x1b[2K");
    EXPECT_EQ(s.row(0), "    ");
    s.feed("\x1b[1;1Habcd\x1b[5K\x1b[4J");  // unknown modes: nothing
    EXPECT_EQ(s.row(0), "abcd");
}

TEST(Terminal, ErasedCellsTakeTheBackground) {
    Screen s(4, 2);
    s.feed("abcd\x1b[44m\x1b[H\x1b[K");
    for (uint32_t c = 0; c < 4; ++c) {
        EXPECT_EQ(s.t.cell(c, 0).bg, 4);
        EXPECT_EQ(s.t.cell(c, 0).code_point, uint32_t{' '});
    }
    EXPECT_EQ(s.t.cell(0, 1).bg, kDefaultBg);
}

TEST(Terminal, InsertDeleteEraseCharacters) {
    Screen s(6, 1);
    s.feed("abcdef\x1b[1;2H\x1b[2@");
    EXPECT_EQ(s.row(0), "a  bcd");
    s.at(1, 0);
    s.feed("\x1b[3P");
    EXPECT_EQ(s.row(0), "acd   ");
    s.feed(
        "\x1b[H"
        "abcdef\x1b[1;3H\x1b[2X");
    EXPECT_EQ(s.row(0), "ab  ef");
    s.at(2, 0);
    s.feed("\x1b[9999X");
    EXPECT_EQ(s.row(0), "ab    ");
    s.feed("\x1b[Habcdef\x1b[1;2H\x1b[9999@");
    EXPECT_EQ(s.row(0), "a     ");
    s.feed("\x1b[Habcdef\x1b[1;2H\x1b[9999P");
    EXPECT_EQ(s.row(0), "a     ");
}

TEST(Terminal, InsertDeleteLines) {
    Screen s(2, 4);
    s.feed("1\r\n2\r\n3\r\n4\x1b[2;2H\x1b[L");
    EXPECT_EQ(s.rows(0, 4), "1 |  |2 |3 ");
    s.at(0, 1);
    s.feed("\x1b[2M");
    EXPECT_EQ(s.rows(1, 4), "3 |  |  ");
    EXPECT_EQ(s.t.lines_scrolled(), 0u);  // deleting is not scrolling off the top
    s.feed("\x1b[9999L");
    EXPECT_EQ(s.rows(0, 2), "1 |  ");
}

TEST(Terminal, ScrollUpAndDown) {
    Screen s(2, 3);
    s.feed("1\r\n2\r\n3\x1b[S");
    EXPECT_EQ(s.row(0), "2 ");
    EXPECT_EQ(s.row(2), "  ");
    EXPECT_EQ(s.t.lines_scrolled(), 1u);
    s.feed("\x1b[2T");
    EXPECT_EQ(s.rows(0, 3), "  |  |2 ");
    s.feed("\x1b[9999S");
    EXPECT_EQ(s.row(2), "  ");
    EXPECT_EQ(s.t.lines_scrolled(), 4u);  // clamped to the three rows
}

TEST(Terminal, IndexNextLineReverseIndex) {
    Screen s(3, 3);
    s.feed(
        "ab\x1b"
        "Dc");
    EXPECT_EQ(s.row(1), "  c");
    s.feed(
        "\x1b"
        "Ed");
    EXPECT_EQ(s.row(2), "d  ");
    s.feed(
        "\x1b"
        "D");
    EXPECT_EQ(s.t.lines_scrolled(), 1u);
    EXPECT_EQ(s.row(0), "  c");
    s.feed("\x1b[H\x1bM");  // at the top: scrolls down
    EXPECT_EQ(s.rows(0, 2), "   |  c");
    s.feed("\x1b[3;1H\x1bMx");
    EXPECT_EQ(s.row(1), "x c");
}

TEST(Terminal, ScrollRegion) {
    Screen s(3, 5);
    s.feed("a\r\nb\r\nc\r\nd\r\ne");
    s.feed("\x1b[2;4r");
    s.at(0, 0);  // DECSTBM homes the cursor
    s.feed("\x1b[4;1H\nX");
    EXPECT_EQ(s.rows(0, 5), "a  |c  |d  |X  |e  ");
    EXPECT_EQ(s.t.lines_scrolled(), 1u);
    s.feed("\x1b[2;1H\x1bM");  // reverse index at the region's top
    EXPECT_EQ(s.rows(1, 3), "   |c  ");
    EXPECT_EQ(s.row(4), "e  ");
    // Cursor moves stop at the margins from inside; LF below the region does not scroll.
    s.feed("\x1b[3;1H\x1b[9A");
    s.at(0, 1);
    s.feed("\x1b[9B");
    s.at(0, 3);
    s.feed("\x1b[5;1H\n\n");
    s.at(0, 4);
    EXPECT_EQ(s.row(4), "e  ");
    s.feed("\x1b[2;1H\x1b[3S");
    EXPECT_EQ(s.row(0), "a  ");
    EXPECT_EQ(s.rows(3, 5), "   |e  ");
    // Invalid regions are ignored; CSI r resets to the whole screen.
    s.feed("\x1b[3;3r\x1b[4;2r");
    s.feed("\x1b[5;1H\x1b[r");
    s.at(0, 0);
    s.feed("\x1b[5;1H\n");
    EXPECT_EQ(s.row(4), "   ");
    EXPECT_EQ(s.row(0), "   ");  // the whole screen scrolled
}

TEST(Terminal, Colours) {
    Screen s(16, 1);
    s.feed("\x1b[1;4;7;31;42ma");
    Cell c = s.t.cell(0, 0);
    EXPECT_EQ(c.fg, 1);
    EXPECT_EQ(c.bg, 2);
    EXPECT_EQ(c.attrs, kBold | kUnderline | kInverse);
    s.feed("\x1b[22;24mb");
    EXPECT_EQ(s.t.cell(1, 0).attrs, kInverse);
    s.feed("\x1b[27;39;49mc");
    c = s.t.cell(2, 0);
    EXPECT_EQ(c.attrs, 0);
    EXPECT_EQ(c.fg, kDefaultFg);
    EXPECT_EQ(c.bg, kDefaultBg);
    s.feed("\x1b[95;103md");
    EXPECT_EQ(s.t.cell(3, 0).fg, 13);
    EXPECT_EQ(s.t.cell(3, 0).bg, 11);
    s.feed("\x1b[1;37m\x1b[me");
    EXPECT_EQ(s.t.cell(4, 0).fg, kDefaultFg);
    EXPECT_EQ(s.t.cell(4, 0).attrs, 0);
    s.feed("\x1b[1;32mf");  // bold keeps the colour as set
    EXPECT_EQ(s.t.cell(5, 0).fg, 2);
    EXPECT_EQ(s.t.cell(5, 0).attrs, kBold);
    s.feed("\x1b[0;38;5;12;48;5;3mg");
    EXPECT_EQ(s.t.cell(6, 0).fg, 12);
    EXPECT_EQ(s.t.cell(6, 0).bg, 3);
    s.feed("\x1b[38;5;196;48;5;231mh");  // cube red, cube white
    EXPECT_EQ(s.t.cell(7, 0).fg, 1);     // 0xFF0000: nearer 0xAA0000 than 0xFF5555
    EXPECT_EQ(s.t.cell(7, 0).bg, 15);
    s.feed("\x1b[38;5;232;48;5;9999mi");  // near black; a clamped index is the cube's last grey
    EXPECT_EQ(s.t.cell(8, 0).fg, 0);
    EXPECT_EQ(s.t.cell(8, 0).bg, 15);
    s.feed("\x1b[38;2;80;80;250;48;2;90;90;90mj");
    EXPECT_EQ(s.t.cell(9, 0).fg, 12);
    EXPECT_EQ(s.t.cell(9, 0).bg, 8);
    s.feed("\x1b[0;38;2;1;2m\x1b[38;5mk");  // incomplete: ignored
    EXPECT_EQ(s.t.cell(10, 0).fg, kDefaultFg);
    s.feed("\x1b[3;5;9;53mk");  // unsupported attributes: ignored
    EXPECT_EQ(s.t.cell(11, 0).attrs, 0);
    EXPECT_EQ(palette(1), 0xAA0000u);
    EXPECT_EQ(palette(15 + 16), 0xFFFFFFu);
}

TEST(Terminal, SaveAndRestoreCursor) {
    Screen s(10, 4);
    s.feed(
        "\x1b[2;3H\x1b[31m\x1b"
        "7\x1b[H\x1b[0mx\x1b"
        "8y");
    EXPECT_EQ(s.t.cell(2, 1).code_point, uint32_t{'y'});
    EXPECT_EQ(s.t.cell(2, 1).fg, 1);
    EXPECT_EQ(s.t.cell(0, 0).fg, kDefaultFg);
    s.feed("\x1b[4;5H\x1b[s\x1b[H\x1b[u");
    s.at(4, 3);
    // Restoring a pending wrap: the next character wraps.
    s.feed(
        "\x1b[1;10Ha\x1b"
        "7\x1b[3;3H\x1b"
        "8b");
    s.at(1, 1);
    EXPECT_EQ(s.t.cell(0, 1).code_point, uint32_t{'b'});
}

TEST(Terminal, CursorVisibilityAndPrivateModes) {
    Screen s(4, 2);
    s.feed("\x1b[?25l");
    EXPECT_FALSE(s.t.cursor_visible());
    s.feed("\x1b[?1049h\x1b[?7l\x1b[?1;25h");
    EXPECT_TRUE(s.t.cursor_visible());
    EXPECT_EQ(s.row(0), "    ");
    s.feed("\x1b[25l");  // not private: another mode
    EXPECT_TRUE(s.t.cursor_visible());
    s.feed("\x1b[>0c\x1b[=5u\x1b[4h");  // other queries and modes: nothing
    s.at(0, 0);
}

TEST(Terminal, Replies) {
    Screen s(80, 25);
    s.feed("\x1b[12;40H\x1b[6n");
    EXPECT_EQ(s.replies(), "\x1b[12;40R");
    s.feed("\x1b[5n");
    EXPECT_EQ(s.replies(), "\x1b[0n");
    EXPECT_EQ(s.replies(), "");
    s.feed("\x1b[25;80H\x1b[6n");
    uint8_t two[2];
    ASSERT_EQ(s.t.take_reply(two, 2), 2u);  // the rest stays queued
    EXPECT_EQ(two[0], 0x1b);
    EXPECT_EQ(two[1], '[');
    EXPECT_EQ(s.replies(), "25;80R");
    // A bounded queue: 4-byte answers fill it, the rest are dropped whole and counted.
    std::string many;
    const size_t n = Terminal::kReplyCapacity / 4 + 3;
    for (size_t i = 0; i < n; ++i)
        many += "\x1b[5n";
    s.feed(many);
    EXPECT_EQ(s.t.replies_dropped(), 3u);
    EXPECT_EQ(s.replies().size(), Terminal::kReplyCapacity);
    s.feed("\x1b[7n\x1b[n");  // other reports: no answer
    EXPECT_EQ(s.replies(), "");
}

TEST(Terminal, Damage) {
    Screen s(5, 6);
    uint32_t first = 99, end = 99;
    ASSERT_TRUE(s.t.take_damage(&first, &end));  // init damages everything
    EXPECT_EQ(first, 0u);
    EXPECT_EQ(end, 6u);
    EXPECT_FALSE(s.t.take_damage(&first, &end));
    s.feed("\x1b[3;1Hx");
    ASSERT_TRUE(s.t.take_damage(&first, &end));  // left row 0, wrote and stayed on row 2
    EXPECT_EQ(first, 0u);
    EXPECT_EQ(end, 3u);
    s.feed("\x1b[5;1H");
    ASSERT_TRUE(s.t.take_damage(&first, &end));  // left row 2, entered row 4
    EXPECT_EQ(first, 2u);
    EXPECT_EQ(end, 5u);
    s.feed("\x1b[5;3H");
    ASSERT_TRUE(s.t.take_damage(&first, &end));  // a move within the row
    EXPECT_EQ(first, 4u);
    EXPECT_EQ(end, 5u);
    s.feed("\x1b[5;1H\x1b[5;3H");  // away and back: nothing to redraw
    EXPECT_FALSE(s.t.take_damage(&first, &end));
    s.feed("\x1b[?25l");
    ASSERT_TRUE(s.t.take_damage(&first, &end));
    EXPECT_EQ(first, 4u);
    EXPECT_EQ(end, 5u);
    s.feed("\x1b[6;1H\n");  // a scroll marks every row
    ASSERT_TRUE(s.t.take_damage(&first, &end));
    EXPECT_EQ(first, 0u);
    EXPECT_EQ(end, 6u);
    s.feed("\x1b[2;3r\x1b[3;1H\n");  // inside a region: the region's rows (and the cursor's)
    ASSERT_TRUE(s.t.take_damage(&first, &end));
    EXPECT_EQ(first, 1u);
    EXPECT_EQ(end, 6u);
    s.feed("\x1b[3;1H\x1b[?25h");
    s.t.take_damage(&first, &end);
    s.feed("\x1b[3;1H\n");
    ASSERT_TRUE(s.t.take_damage(&first, &end));
    EXPECT_EQ(first, 1u);
    EXPECT_EQ(end, 3u);
    s.feed("\x1b[1;1H\x1b[4;1H\x1b[K");
    ASSERT_TRUE(s.t.take_damage(&first, &end));
    EXPECT_EQ(first, 2u);  // left row 2 (where it was drawn), erased and entered row 3
    EXPECT_EQ(end, 4u);
}

TEST(Terminal, Utf8) {
    Screen s(12, 1);
    // é (2 bytes), € (3), 𝄞 (4), then invalid: a stray continuation, an overlong '/', a
    // surrogate, a truncated sequence followed by ASCII, F5.
    s.feed("\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\x80\xc0\xaf\xed\xa0\x80\xe2\x82z\xf5");
    const uint32_t want[] = {0xE9,   0x20AC, 0x1D11E, 0xFFFD, 0xFFFD, 0xFFFD,
                             0xFFFD, 0xFFFD, 0xFFFD,  0xFFFD, 'z',    0xFFFD};
    for (uint32_t i = 0; i < 12; ++i)
        EXPECT_EQ(s.t.cell(i, 0).code_point, want[i]) << i;
    Screen u(4, 1);
    u.feed("\xe2\x82\x1b[Ca\xc2\x85\x7f");  // an escape interrupts: U+FFFD first; C1, DEL hidden
    EXPECT_EQ(u.t.cell(0, 0).code_point, 0xFFFDu);
    EXPECT_EQ(u.t.cell(2, 0).code_point, uint32_t{'a'});
    u.at(3, 0);
    Screen v(4, 1);
    v.feed("\xf4\x90\x80\x80");  // past U+10FFFF: caught at the second byte
    for (uint32_t i = 0; i < 4; ++i)
        EXPECT_EQ(v.t.cell(i, 0).code_point, 0xFFFDu);
}

TEST(Terminal, StringsAreSwallowed) {
    Screen s(20, 1);
    s.feed(
        "a\x1b]0;title\x07"
        "b\x1b]2;x\x1b\\c\x1bPqdata\x1b\\d\x1b_apc\x1b\\e\x1b^pm\x07"
        "f");
    EXPECT_EQ(s.row(0).substr(0, 7), "abcdef ");
    // An ESC that is not ST ends the string and starts a sequence.
    s.feed("\x1b]junk\x1b[1;12Hg");
    EXPECT_EQ(s.t.cell(11, 0).code_point, uint32_t{'g'});
    // Bounded: an unterminated string gives the screen back after kMaxString bytes.
    Screen t(4, 1);
    t.feed("\x1b]" + std::string(Terminal::kMaxString, 'x') + "yz");
    EXPECT_EQ(t.row(0), "z   ");
}

TEST(Terminal, CancelAndUnknownSequences) {
    Screen s(10, 2);
    s.feed(
        "a\x1b[3\x18"
        "b\x1b[1;2\x1a"
        "c");
    EXPECT_EQ(s.row(0).substr(0, 4), "abc ");
    s.feed(
        "\x1b]abc\x18"
        "d");  // CAN ends a string too
    EXPECT_EQ(s.row(0).substr(0, 4), "abcd");
    s.feed("\x1b[5ye\x1b[!pf\x1b[2 qg\x1b[4:3mh\x1b[1;2?Hi\x1b(Bj\x1b#8k\x1b=l");
    EXPECT_EQ(s.rows(0, 2), "abcdefghij|kl        ");
    // Controls inside a sequence act; DEL is ignored there.
    Screen t(5, 2);
    t.feed(
        "ab\x1b[\r2\x7f"
        "Cx\x1b\x7f"
        "Dy");
    EXPECT_EQ(t.rows(0, 2), "abx  |   y ");
}

TEST(Terminal, ManyParameters) {
    Screen s(10, 1);
    std::string seq = "\x1b[";
    for (int i = 0; i < 40; ++i)
        seq += "1;";
    seq += "31mx";
    s.feed(seq);  // parameters past the 16th are ignored: 31 never applies
    EXPECT_EQ(s.t.cell(0, 0).fg, kDefaultFg);
    EXPECT_EQ(s.t.cell(0, 0).attrs, kBold);
    s.feed("\x1b[1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;31my");  // the 16th applies
    EXPECT_EQ(s.t.cell(1, 0).fg, 1);
}

TEST(Terminal, ResetClearsEverything) {
    Screen s(4, 3);
    s.feed(
        "abc\x1b[2;3r\x1b[31;44m\x1b[?25l\x1b"
        "c");
    EXPECT_EQ(s.row(0), "    ");
    s.at(0, 0);
    EXPECT_TRUE(s.t.cursor_visible());
    s.feed("x\x1b[3;1H\n");  // the region is gone: the whole screen scrolls
    EXPECT_EQ(s.row(1), "    ");
    EXPECT_EQ(s.t.cell(0, 0).code_point, uint32_t{' '});
    EXPECT_EQ(s.t.cell(0, 0).bg, kDefaultBg);
}

// Every stream, split at every point (and byte by byte), gives the grid it gives whole.
TEST(Terminal, SplitSequencesGiveTheSameGrid) {
    const std::string streams[] = {
        "> helo\x1b[1Dlo\x1b[1D\x1b[K\r\n",
        "\x1b[1;31;44mred\x1b[0m \x1b[38;5;200mpink\x1b[38;2;10;200;30mgreen\x1b[m",
        "\x1b]0;title\x07"
        "a\x1b]2;t\x1b\\b\x1bPq#0\x1b\\c\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e",
        "\x1b[2;4r\x1b[4;1H\n\n\x1bM\x1b[2L\x1b[M\x1b[3@\x1b[2P\x1b[X\x1b[2S\x1b[T\x1b[r",
        "abcdefghijklmnopqrstuvwxyz\x1b[3;5H\x1b[1J\x1b[2K\x1b"
        "7\x1b[H\x1b"
        "8\x1b[6n",
    };
    for (const std::string& stream : streams) {
        Screen whole(9, 5);
        whole.feed(stream);
        const std::string reply = whole.replies();
        for (size_t cut = 0; cut <= stream.size(); ++cut) {
            Screen split(9, 5);
            split.feed(stream.substr(0, cut));
            split.feed(stream.substr(cut));
            for (uint32_t r = 0; r < 5; ++r) {
                for (uint32_t c = 0; c < 9; ++c) {
                    const Cell& a = whole.t.cell(c, r);
                    const Cell& b = split.t.cell(c, r);
                    ASSERT_EQ(a.code_point, b.code_point) << cut;
                    ASSERT_EQ(a.fg, b.fg) << cut;
                    ASSERT_EQ(a.bg, b.bg) << cut;
                    ASSERT_EQ(a.attrs, b.attrs) << cut;
                }
            }
            ASSERT_EQ(split.t.cursor_column(), whole.t.cursor_column()) << cut;
            ASSERT_EQ(split.t.cursor_row(), whole.t.cursor_row()) << cut;
            ASSERT_EQ(split.replies(), reply) << cut;
        }
        Screen bytewise(9, 5);
        for (char ch : stream)
            bytewise.feed(std::string(1, ch));
        for (uint32_t r = 0; r < 5; ++r)
            EXPECT_EQ(bytewise.row(r), whole.row(r));
    }
}

}  // namespace
}  // namespace keel::vt
