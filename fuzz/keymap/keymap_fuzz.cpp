// Keymap fuzz target (lib/keymap). The input is used twice. As a keymap file: parse() either
// refuses it with a reason and a line inside the text, or accepts a map whose code points are
// all typable and whose name is a valid word; the map written by write() parses back to the
// same map. As keyboard bytes: each byte goes to the Decoder (keys only in range, never 0), its
// keys to a Keyboard over the parsed map (or the US map) with a clock advanced by the byte's
// low bits in milliseconds, every due software repeat taken; strokes keep the contract (a
// release has no character, a repeat is a press, terminal_bytes stays within its room and is
// empty for releases), next_repeat() is never in the past after repeat() ran dry, and the
// decoder's drop count never exceeds the bytes fed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <keel/keymap/keymap.hpp>

namespace {

namespace km = keel::keymap;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "keymap oracle: %s\n", what);
    std::abort();
}

void check_stroke(const km::Stroke& s) {
    if ((s.flags & km::kPressed) == 0 && (s.code_point != 0 || (s.flags & km::kRepeat) != 0))
        fail("a release with a character or a repeat flag");
    if (s.code_point > km::kMaxCodePoint)
        fail("a code point past U+10FFFF");
    uint8_t out[16];
    const size_t n = km::terminal_bytes(s, out, sizeof out);
    if (n > 9 || ((s.flags & km::kPressed) == 0 && n != 0))
        fail("terminal bytes out of contract");
    uint8_t small[2];
    if (km::terminal_bytes(s, small, sizeof small) != (n <= 2 ? n : 0))
        fail("terminal bytes ignore their room");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static km::Keymap map, again;
    uint32_t line = 0;
    const char* why = km::parse(data, size, &map, &line);
    if (why != nullptr) {
        if (why[0] == '\0' || line == 0)
            fail("refused without a reason or a line");
        uint32_t lines = 1;
        for (size_t i = 0; i < size; ++i)
            lines += data[i] == '\n' ? 1 : 0;
        if (line > lines)
            fail("an error on a line past the end");
    } else {
        if (map.name[0] == '\0' || map.name[sizeof map.name - 1] != '\0')
            fail("accepted map without a name");
        for (const auto& levels : map.levels) {
            for (uint32_t cp : levels) {
                if (cp != 0 &&
                    (cp < 0x20 || cp > km::kMaxCodePoint || (cp >= 0xd800 && cp <= 0xdfff)))
                    fail("accepted a code point a key cannot type");
            }
        }
        static char text[65536];
        const size_t n = km::write(map, text, sizeof text);
        if (n == 0)
            fail("the writer found no room");
        if (km::parse(reinterpret_cast<const uint8_t*>(text), n, &again) != nullptr ||
            std::memcmp(&map, &again, sizeof map) != 0)
            fail("a written map does not parse back to itself");
    }
    km::Decoder d;
    km::Keyboard k;
    k.init(why == nullptr ? &map : &km::us());
    uint64_t now = 0;
    for (size_t i = 0; i < size; ++i) {
        km::RawKey key{};
        if (d.feed(data[i], &key)) {
            if (key.key == 0 || key.key > km::kKeyMax ||
                (key.key != km::kKeyPause && (key.key & 0x7f) == 0))
                fail("a key outside the range");
            km::Stroke s{};
            if (k.key(key, now, &s)) {
                if (s.key != key.key || ((s.flags & km::kPressed) != 0) != key.pressed ||
                    (s.flags & km::kRepeat) != 0)
                    fail("a stroke is not its key");
                check_stroke(s);
            }
        }
        now += (data[i] & 0x3f) * 1'000'000ull;
        km::Stroke s{};
        int repeats = 0;
        while (k.repeat(now, &s)) {
            if (s.flags != (km::kPressed | km::kRepeat) || ++repeats > 4)
                fail("a bad repeat or too many at once");
            check_stroke(s);
        }
        if (k.next_repeat() <= now)
            fail("a repeat left due");
    }
    if (d.dropped() > size)
        fail("more bytes dropped than fed");
    return 0;
}
