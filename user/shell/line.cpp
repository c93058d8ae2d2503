// The line editor. The terminal is told what changed with three ANSI sequences only: erase to
// the end of the line (ESC [ K), move left by n (ESC [ n D) and the bell, so it works on any
// VT100-like terminal, including QEMU's serial console in a host terminal.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include "shell.hpp"

namespace keel::shell {

namespace {

constexpr int kHistory = 32;
char g_history[kHistory][kMaxLine + 1];
uint64_t g_history_length[kHistory];
int g_history_count = 0;  // lines kept (at most kHistory)
int g_history_next = 0;   // the slot the next line goes to

// Input bytes, read in chunks.
struct Reader {
    Handle in;
    char buffer[256];
    int64_t length = 0, at = 0;
    // The next byte, or -1 at the end of the input.
    int next() {
        if (at == length) {
            length = sys::do_io(in, Op::kRead, buffer, sizeof buffer);
            at = 0;
            if (length <= 0) {
                length = 0;
                return -1;
            }
        }
        return static_cast<unsigned char>(buffer[at++]);
    }
};
Reader g_reader{0, {}, 0, 0};

void out(const char* bytes, uint64_t n) {
    if (n > 0)
        (void)sys::do_io(console(), Op::kWrite, bytes, n);
}
void out(const char* s) {
    out(s, c::length(s));
}

struct Editor {
    char* line;
    uint64_t length = 0;
    uint64_t cursor = 0;
    bool too_long = false;

    // Redraws from the cursor to the end, then puts the terminal's cursor back.
    void redraw_tail(uint64_t erase_extra) {
        out(line + cursor, length - cursor);
        if (erase_extra > 0)
            out("\x1b[K");
        back(length - cursor);
    }
    void back(uint64_t n) {
        if (n == 0)
            return;
        char seq[24];
        const size_t k = snformat(seq, sizeof seq, "\x1b[%luD", n);
        out(seq, k);
    }
    void insert(char c) {
        if (length == kMaxLine) {
            too_long = true;
            out("\a");
            return;
        }
        c::move(line + cursor + 1, line + cursor, length - cursor);
        line[cursor++] = c;
        ++length;
        out(line + cursor - 1, 1);
        redraw_tail(0);
    }
    void erase_before() {
        if (cursor == 0)
            return;
        c::move(line + cursor - 1, line + cursor, length - cursor);
        --cursor;
        --length;
        back(1);
        redraw_tail(1);
    }
    void erase_at() {
        if (cursor == length)
            return;
        c::move(line + cursor, line + cursor + 1, length - cursor - 1);
        --length;
        redraw_tail(1);
    }
    void home() {
        back(cursor);
        cursor = 0;
    }
    void end() {
        out(line + cursor, length - cursor);
        cursor = length;
    }
    void replace(const char* text, uint64_t n) {
        home();
        c::copy(line, text, n);
        length = n;
        cursor = n;
        out(line, n);
        out("\x1b[K");
    }
};

}  // namespace

void remember(const char* line, uint64_t length) {
    if (length == 0 || length > kMaxLine)
        return;
    const int last = (g_history_next + kHistory - 1) % kHistory;
    if (g_history_count > 0 && g_history_length[last] == length &&
        c::compare(g_history[last], line, length) == 0) {
        return;  // the same as the one before
    }
    c::copy(g_history[g_history_next], line, length);
    g_history_length[g_history_next] = length;
    g_history_next = (g_history_next + 1) % kHistory;
    if (g_history_count < kHistory)
        ++g_history_count;
}

int64_t read_line(Handle in, char* line) {
    g_reader.in = in;
    Editor e{line};
    int back_in_history = 0;  // 0: the line being typed
    static char typed[kMaxLine + 1];
    uint64_t typed_length = 0;
    for (;;) {
        const int c = g_reader.next();
        if (c < 0)
            return kEnd;
        if (c == '\r' || c == '\n') {
            out("\r\n");
            line[e.length] = '\0';
            if (e.too_long)
                return kTooLong;
            return static_cast<int64_t>(e.length);
        }
        switch (c) {
            case 0x7f:
            case 0x08:
                e.erase_before();
                continue;
            case 0x01:
                e.home();
                continue;
            case 0x05:
                e.end();
                continue;
            case 0x15:
                e.home();
                e.length = 0;
                out("\x1b[K");
                continue;
            case 0x03:
                out("^C\r\n");
                return kAbandoned;
            case 0x04:
                if (e.length == 0)
                    return kEnd;
                e.erase_at();
                continue;
            case 0x1b:
                break;
            default:
                if (c >= 0x20)
                    e.insert(static_cast<char>(c));
                continue;  // other control bytes are ignored
        }
        // An escape sequence: ESC [ or ESC O, then parameters and a final byte. Alt with a key
        // sends ESC before the key's bytes (lib/keymap): ESC ESC [ D is Left.
        int intro = g_reader.next();
        while (intro == 0x1b)
            intro = g_reader.next();
        if (intro != '[' && intro != 'O')
            continue;
        int parameter = 0;
        int final = g_reader.next();
        while (final >= '0' && final <= '9') {
            parameter = parameter * 10 + (final - '0');
            final = g_reader.next();
        }
        switch (final) {
            case 'D':
                if (e.cursor > 0) {
                    e.back(1);
                    --e.cursor;
                }
                break;
            case 'C':
                if (e.cursor < e.length) {
                    out(line + e.cursor, 1);
                    ++e.cursor;
                }
                break;
            case 'H':
                e.home();
                break;
            case 'F':
                e.end();
                break;
            case '~':
                if (parameter == 3)
                    e.erase_at();
                else if (parameter == 1 || parameter == 7)
                    e.home();
                else if (parameter == 4 || parameter == 8)
                    e.end();
                break;
            case 'A':
            case 'B': {
                const int want = back_in_history + (final == 'A' ? 1 : -1);
                if (want < 0 || want > g_history_count) {
                    out("\a");
                    break;
                }
                if (back_in_history == 0) {
                    c::copy(typed, line, e.length);
                    typed_length = e.length;
                }
                back_in_history = want;
                if (want == 0) {
                    e.replace(typed, typed_length);
                } else {
                    const int slot = (g_history_next + kHistory - want) % kHistory;
                    e.replace(g_history[slot], g_history_length[slot]);
                }
                break;
            }
            default:
                break;  // an unknown sequence: ignored
        }
    }
}

}  // namespace keel::shell
