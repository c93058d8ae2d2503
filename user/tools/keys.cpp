// keys N: prints the next N key events (a stream of its own: /srv/kbd/events), one a line, then
// exits 0; it stops early after the release of Esc (so a test can end a sequence whose length it
// does not know, such as a held key's repeats). Tests type keys into QEMU and read these lines:
//   keys: layout us, reading /srv/kbd
//   0x1e press a mods 0x00
//   0x2a press - mods 0x01
//   0x1e repeat a mods 0x00
//   0x1e release - mods 0x00
// The character is the event's code point in UTF-8 (`-` for none); mods is abi's kMod* bits.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/keymap/keymap.hpp>

#include "tools.hpp"

using namespace keel::tools;
namespace km = keel::keymap;
namespace c = keel::c;
using keel::snformat;

int keel_main(const StartInfo& start) {
    const Args a = arguments(start);
    uint64_t want = 0;
    const char* s = a.count == 1 ? a.words[0] : "";
    for (; *s >= '0' && *s <= '9' && want <= 100000; ++s)
        want = want * 10 + static_cast<uint64_t>(*s - '0');
    if (a.count != 1 || *s != '\0' || a.words[0][0] == '\0' || want > 100000) {
        complain("keys", "usage", "keys N (0-100000)");
        return 2;
    }
    const int64_t kbd = open_file("/srv/kbd/events");
    if (kbd < 0) {
        complain("keys", "/srv/kbd/events", error_text(kbd));
        return 1;
    }
    char line[96];
    char name[40] = {};
    (void)sys::do_io(static_cast<uint64_t>(kbd), Op::kGetMeta, name, 32,
                     static_cast<uint64_t>(abi::Meta::kKeymap));
    size_t n = snformat(line, sizeof line, "keys: layout %s, reading /srv/kbd\n", name);
    if (!emit(line, n))
        return 1;
    abi::KeyEvent events[16];
    while (want > 0) {
        const uint64_t room = want < 16 ? want : 16;
        const int64_t r =
            sys::do_io(static_cast<uint64_t>(kbd), Op::kRead, events, room * sizeof(abi::KeyEvent));
        if (r < 0) {
            complain("keys", "/srv/kbd", error_text(r));
            return 1;
        }
        for (uint64_t i = 0; i < static_cast<uint64_t>(r) / sizeof(abi::KeyEvent); ++i) {
            const abi::KeyEvent& e = events[i];
            char ch[8] = "-";
            if (e.code_point != 0) {
                // The character alone, as UTF-8 (key 0: no special key's sequence).
                const km::Stroke plain{0, km::kPressed, 0, e.code_point};
                const size_t k = km::terminal_bytes(plain, reinterpret_cast<uint8_t*>(ch), 7);
                ch[k] = '\0';
                if (k == 0 || e.code_point < 0x21)
                    snformat(ch, sizeof ch, "U+%04x", e.code_point);
            }
            const char* what = (e.flags & abi::kKeyPressed) == 0  ? "release"
                               : (e.flags & abi::kKeyRepeat) != 0 ? "repeat"
                                                                  : "press";
            n = snformat(line, sizeof line, "0x%02x %s %s mods 0x%02x\n", e.key, what, ch,
                         e.modifiers);
            if (!emit(line, n))
                return 1;
            --want;
            if (e.key == km::kKeyEscape && (e.flags & abi::kKeyPressed) == 0)
                want = 0;  // the rest of this read is dropped: Esc ends a typed sequence
        }
    }
    (void)sys::do_io(static_cast<uint64_t>(kbd), Op::kClose);
    return 0;
}
