// lib/keymap unit tests: the decoder's paths, modifiers and locks, repeats against a fake clock,
// terminal bytes, the parser's refusals and the tree's de.keymap.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <keel/keymap/keymap.hpp>

namespace km = keel::keymap;

namespace {

std::vector<km::RawKey> decode(km::Decoder& d, std::initializer_list<uint8_t> bytes) {
    std::vector<km::RawKey> keys;
    for (uint8_t b : bytes) {
        km::RawKey k{};
        if (d.feed(b, &k))
            keys.push_back(k);
    }
    return keys;
}

const char* parse(const std::string& s, km::Keymap* m, uint32_t* line = nullptr) {
    return km::parse(reinterpret_cast<const uint8_t*>(s.data()), s.size(), m, line);
}

std::string bytes(const km::Stroke& s) {
    uint8_t b[16];
    const size_t n = km::terminal_bytes(s, b, sizeof b);
    return std::string(reinterpret_cast<char*>(b), n);
}

// Presses (and releases) a key on k at time t; the press's stroke.
km::Stroke press(km::Keyboard& k, uint16_t key, uint64_t t = 0) {
    km::Stroke s{};
    EXPECT_TRUE(k.key({key, true}, t, &s));
    return s;
}
void release(km::Keyboard& k, uint16_t key, uint64_t t = 0) {
    km::Stroke s{};
    EXPECT_TRUE(k.key({key, false}, t, &s));
    EXPECT_EQ(s.flags, 0);
    EXPECT_EQ(s.code_point, 0u);
}
km::Stroke tap(km::Keyboard& k, uint16_t key) {
    const km::Stroke s = press(k, key);
    release(k, key);
    return s;
}

}  // namespace

TEST(Decoder, PlainMakeAndBreak) {
    km::Decoder d;
    const auto keys = decode(d, {0x1e, 0x9e, 0x01, 0x81});
    ASSERT_EQ(keys.size(), 4u);
    EXPECT_EQ(keys[0].key, 0x1e);
    EXPECT_TRUE(keys[0].pressed);
    EXPECT_EQ(keys[1].key, 0x1e);
    EXPECT_FALSE(keys[1].pressed);
    EXPECT_EQ(keys[2].key, km::kKeyEscape);
    EXPECT_FALSE(keys[3].pressed);
    EXPECT_EQ(d.dropped(), 0u);
}

TEST(Decoder, ExtendedKeys) {
    km::Decoder d;
    const auto keys = decode(d, {0xe0, 0x48, 0xe0, 0xc8, 0xe0, 0x38, 0xe0, 0x1d});
    ASSERT_EQ(keys.size(), 4u);
    EXPECT_EQ(keys[0].key, km::kKeyUp);
    EXPECT_TRUE(keys[0].pressed);
    EXPECT_EQ(keys[1].key, km::kKeyUp);
    EXPECT_FALSE(keys[1].pressed);
    EXPECT_EQ(keys[2].key, km::kKeyRightAlt);
    EXPECT_EQ(keys[3].key, km::kKeyRightCtrl);
}

TEST(Decoder, FakeShiftsDropped) {
    km::Decoder d;
    // Insert with Num Lock on, as many keyboards send it: E0 2A E0 52 ... E0 D2 E0 AA.
    const auto keys =
        decode(d, {0xe0, 0x2a, 0xe0, 0x52, 0xe0, 0xd2, 0xe0, 0xaa, 0xe0, 0x36, 0xe0, 0xb6});
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0].key, km::kKeyInsert);
    EXPECT_TRUE(keys[0].pressed);
    EXPECT_EQ(keys[1].key, km::kKeyInsert);
    EXPECT_FALSE(keys[1].pressed);
    EXPECT_EQ(d.dropped(), 0u);
}

TEST(Decoder, Pause) {
    km::Decoder d;
    const auto keys = decode(d, {0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5});
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0].key, km::kKeyPause);
    EXPECT_TRUE(keys[0].pressed);
    EXPECT_EQ(keys[1].key, km::kKeyPause);
    EXPECT_FALSE(keys[1].pressed);
    EXPECT_EQ(d.dropped(), 0u);
}

TEST(Decoder, BrokenPauseIsDroppedAndTheByteReadAgain) {
    km::Decoder d;
    const auto keys = decode(d, {0xe1, 0x1d, 0x1e, 0xe1, 0x30});
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0].key, 0x1e);
    EXPECT_EQ(keys[1].key, 0x30);
    EXPECT_EQ(d.dropped(), 2u);
}

TEST(Decoder, AnswersAreNotKeys) {
    km::Decoder d;
    EXPECT_TRUE(decode(d, {0xfa, 0xfe, 0xee, 0x00, 0xff, 0xfc, 0xfd, 0x80}).empty());
    EXPECT_EQ(d.dropped(), 8u);
    // After E0, an answer breaks the sequence: both are dropped.
    EXPECT_TRUE(decode(d, {0xe0, 0xfa}).empty());
    EXPECT_EQ(d.dropped(), 10u);
    // E0 E0 48: the first prefix is dropped, the second one stands.
    const auto keys = decode(d, {0xe0, 0xe0, 0x48});
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0].key, km::kKeyUp);
    d.reset();
    EXPECT_EQ(d.dropped(), 0u);
    d.feed(0xe0, nullptr);  // a prefix: no key written
    d.reset();
    const auto plain = decode(d, {0x48});
    ASSERT_EQ(plain.size(), 1u);
    EXPECT_EQ(plain[0].key, km::kKeyKeypad8);
}

TEST(Keyboard, LettersShiftAndCapsLock) {
    km::Keyboard k;
    k.init(&km::us());
    EXPECT_EQ(tap(k, 0x1e).code_point, U'a');
    press(k, km::kKeyLeftShift);
    EXPECT_EQ(k.modifiers(), km::kModShift);
    EXPECT_EQ(tap(k, 0x1e).code_point, U'A');
    EXPECT_EQ(tap(k, 0x02).code_point, U'!');
    release(k, km::kKeyLeftShift);
    EXPECT_EQ(k.modifiers(), 0);
    tap(k, km::kKeyCapsLock);
    EXPECT_EQ(k.modifiers(), km::kModCapsLock);
    EXPECT_EQ(k.leds(), 4);
    EXPECT_EQ(tap(k, 0x1e).code_point, U'A');
    EXPECT_EQ(tap(k, 0x02).code_point, U'1');  // Caps Lock shifts letters only
    press(k, km::kKeyRightShift);
    EXPECT_EQ(tap(k, 0x1e).code_point, U'a');
    EXPECT_EQ(tap(k, 0x02).code_point, U'!');
    release(k, km::kKeyRightShift);
    // A hardware repeat of Caps Lock does not toggle it again.
    press(k, km::kKeyCapsLock);
    km::Stroke s{};
    EXPECT_FALSE(k.key({km::kKeyCapsLock, true}, 0, &s));
    release(k, km::kKeyCapsLock);
    EXPECT_EQ(k.modifiers(), 0);
    EXPECT_EQ(k.leds(), 0);
}

TEST(Keyboard, ModifiersLeftAndRight) {
    km::Keyboard k;
    k.init(&km::us());
    press(k, km::kKeyLeftCtrl);
    press(k, km::kKeyRightCtrl);
    release(k, km::kKeyLeftCtrl);
    EXPECT_EQ(k.modifiers(), km::kModCtrl);  // the right one is still down
    release(k, km::kKeyRightCtrl);
    press(k, km::kKeyLeftAlt);
    const km::Stroke s = press(k, km::kKeyRightAlt);
    EXPECT_EQ(s.modifiers, km::kModAlt | km::kModAltGr);
    EXPECT_EQ(s.code_point, 0u);
    release(k, km::kKeyLeftAlt);
    release(k, km::kKeyRightAlt);
    EXPECT_EQ(k.modifiers(), 0);
    // A release of a key that is not down (0xAA, the self-test answer) gives nothing.
    km::Stroke r{};
    EXPECT_FALSE(k.key({km::kKeyLeftShift, false}, 0, &r));
    EXPECT_FALSE(k.key({0, true}, 0, &r));
    EXPECT_FALSE(k.key({km::kKeyMax + 1, true}, 0, &r));
}

TEST(Keyboard, KeypadAndNumLock) {
    km::Keyboard k;
    k.init(&km::us());
    EXPECT_EQ(tap(k, km::kKeyKeypad8).code_point, 0u);
    EXPECT_EQ(bytes(tap(k, km::kKeyKeypad8)), "\x1b[A");
    EXPECT_EQ(tap(k, km::kKeyKeypadPlus).code_point, U'+');
    tap(k, km::kKeyNumLock);
    EXPECT_EQ(k.leds(), 2);
    EXPECT_EQ(tap(k, km::kKeyKeypad8).code_point, U'8');
    EXPECT_EQ(tap(k, km::kKeyKeypadDot).code_point, U'.');
    EXPECT_EQ(tap(k, km::kKeyKeypadSlash).code_point, U'/');
    press(k, km::kKeyLeftShift);
    EXPECT_EQ(bytes(tap(k, km::kKeyKeypad4)), "\x1b[D");
    release(k, km::kKeyLeftShift);
    tap(k, km::kKeyScrollLock);
    EXPECT_EQ(k.leds(), 3);
    EXPECT_EQ(bytes(tap(k, km::kKeyKeypadEnter)), "\r");
}

TEST(Keyboard, RepeatDeadlines) {
    km::Keyboard k;
    k.init(&km::us());
    km::Stroke s{};
    EXPECT_EQ(k.next_repeat(), UINT64_MAX);
    EXPECT_FALSE(k.repeat(UINT64_MAX - 1, &s));
    const uint64_t t0 = 1'000'000'000;
    press(k, 0x1e, t0);
    EXPECT_EQ(k.next_repeat(), t0 + km::Keyboard::kRepeatDelay);
    EXPECT_FALSE(k.repeat(t0 + km::Keyboard::kRepeatDelay - 1, &s));
    // The keyboard's own repeat is dropped and does not move the deadline.
    EXPECT_FALSE(k.key({0x1e, true}, t0 + 300'000'000, &s));
    EXPECT_EQ(k.next_repeat(), t0 + km::Keyboard::kRepeatDelay);
    ASSERT_TRUE(k.repeat(t0 + km::Keyboard::kRepeatDelay, &s));
    EXPECT_EQ(s.flags, km::kPressed | km::kRepeat);
    EXPECT_EQ(s.code_point, U'a');
    EXPECT_EQ(s.key, 0x1e);
    EXPECT_FALSE(k.repeat(t0 + km::Keyboard::kRepeatDelay, &s));
    const uint64_t t1 = t0 + km::Keyboard::kRepeatDelay + km::Keyboard::kRepeatInterval;
    EXPECT_EQ(k.next_repeat(), t1);
    ASSERT_TRUE(k.repeat(t1 + 5, &s));
    // Shift pressed while held: the repeat follows the modifiers, the held key stays.
    press(k, km::kKeyLeftShift, t1 + 10);
    ASSERT_TRUE(k.repeat(t1 + km::Keyboard::kRepeatInterval, &s));
    EXPECT_EQ(s.code_point, U'A');
    // Far behind: at most four repeats, then caught up.
    int n = 0;
    while (k.repeat(t1 + 10'000'000'000, &s))
        ++n;
    EXPECT_EQ(n, 4);
    EXPECT_GT(k.next_repeat(), t1 + 10'000'000'000);
    // Another key takes over the repeat; releasing the first one changes nothing.
    press(k, 0x30, t1 + 20'000'000'000);
    release(k, 0x1e, t1 + 20'000'000'001);
    EXPECT_EQ(k.next_repeat(), t1 + 20'000'000'000 + km::Keyboard::kRepeatDelay);
    release(k, 0x30, t1 + 20'000'000'002);
    EXPECT_EQ(k.next_repeat(), UINT64_MAX);
    // Modifiers and locks never repeat.
    release(k, km::kKeyLeftShift);
    press(k, km::kKeyLeftCtrl);
    press(k, km::kKeyCapsLock);
    EXPECT_EQ(k.next_repeat(), UINT64_MAX);
}

TEST(Terminal, Bytes) {
    km::Keyboard k;
    k.init(&km::us());
    EXPECT_EQ(bytes(tap(k, 0x1e)), "a");
    EXPECT_EQ(bytes(tap(k, km::kKeyEnter)), "\r");
    EXPECT_EQ(bytes(tap(k, km::kKeyBackspace)), "\x7f");
    EXPECT_EQ(bytes(tap(k, km::kKeyTab)), "\t");
    EXPECT_EQ(bytes(tap(k, km::kKeyEscape)), "\x1b");
    EXPECT_EQ(bytes(tap(k, km::kKeyUp)), "\x1b[A");
    EXPECT_EQ(bytes(tap(k, km::kKeyDown)), "\x1b[B");
    EXPECT_EQ(bytes(tap(k, km::kKeyRight)), "\x1b[C");
    EXPECT_EQ(bytes(tap(k, km::kKeyLeft)), "\x1b[D");
    EXPECT_EQ(bytes(tap(k, km::kKeyHome)), "\x1b[H");
    EXPECT_EQ(bytes(tap(k, km::kKeyEnd)), "\x1b[F");
    EXPECT_EQ(bytes(tap(k, km::kKeyInsert)), "\x1b[2~");
    EXPECT_EQ(bytes(tap(k, km::kKeyDelete)), "\x1b[3~");
    EXPECT_EQ(bytes(tap(k, km::kKeyPageUp)), "\x1b[5~");
    EXPECT_EQ(bytes(tap(k, km::kKeyPageDown)), "\x1b[6~");
    EXPECT_EQ(bytes(tap(k, km::kKeyF1)), "");
    EXPECT_EQ(bytes(tap(k, km::kKeyLeftShift)), "");
    press(k, km::kKeyLeftCtrl);
    EXPECT_EQ(bytes(tap(k, 0x2e)), "\x03");  // Ctrl+C
    EXPECT_EQ(bytes(tap(k, 0x2c)), "\x1a");  // Ctrl+Z
    EXPECT_EQ(bytes(tap(k, km::kKeySpace)), std::string(1, '\0'));
    EXPECT_EQ(bytes(tap(k, 0x1a)), "\x1b");  // Ctrl+[
    EXPECT_EQ(bytes(tap(k, 0x2b)), "\x1c");  // Ctrl+backslash
    EXPECT_EQ(bytes(tap(k, 0x02)), "1");
    press(k, km::kKeyLeftShift);
    EXPECT_EQ(bytes(tap(k, 0x03)), std::string(1, '\0'));  // Ctrl+@
    EXPECT_EQ(bytes(tap(k, 0x0c)), "\x1f");                // Ctrl+_
    release(k, km::kKeyLeftShift);
    release(k, km::kKeyLeftCtrl);
    press(k, km::kKeyLeftAlt);
    EXPECT_EQ(bytes(tap(k, 0x30)),
              "\x1b"
              "b");
    EXPECT_EQ(bytes(tap(k, km::kKeyLeft)), "\x1b\x1b[D");
    EXPECT_EQ(bytes(tap(k, km::kKeyF1)), "");
    release(k, km::kKeyLeftAlt);
    // UTF-8, releases and room.
    uint8_t b[4];
    EXPECT_EQ(km::terminal_bytes({0x10, km::kPressed, 0, 0xe4}, b, 4), 2u);
    EXPECT_EQ(b[0], 0xc3);
    EXPECT_EQ(b[1], 0xa4);
    EXPECT_EQ(km::terminal_bytes({0x10, km::kPressed, 0, 0x20ac}, b, 4), 3u);
    EXPECT_EQ(km::terminal_bytes({0x10, km::kPressed, 0, 0x1f600}, b, 4), 4u);
    EXPECT_EQ(b[0], 0xf0);
    EXPECT_EQ(km::terminal_bytes({0x10, km::kPressed, 0, 0x1f600}, b, 3), 0u);
    EXPECT_EQ(km::terminal_bytes({0x10, 0, 0, 'q'}, b, 4), 0u);
    EXPECT_EQ(km::terminal_bytes({0xc8, km::kPressed, 0, 0}, b, 2), 0u);
    EXPECT_EQ(km::terminal_bytes({0x10, km::kPressed, 0, 0x110000}, b, 4), 0u);
}

TEST(Keymap, UsCoversThePrintableKeys) {
    const km::Keymap& us = km::us();
    EXPECT_STREQ(us.name, "us");
    std::string plain, shifted;
    for (int key = 0; key < 256; ++key) {
        if (us.levels[key][0] >= 0x21 && us.levels[key][0] < 0x7f && key < 0x37)
            plain += static_cast<char>(us.levels[key][0]);
        if (us.levels[key][1] >= 0x21 && us.levels[key][1] < 0x7f && key < 0x37)
            shifted += static_cast<char>(us.levels[key][1]);
    }
    EXPECT_EQ(plain, "1234567890-=qwertyuiop[]asdfghjkl;'`\\zxcvbnm,./");
    EXPECT_EQ(shifted, "!@#$%^&*()_+QWERTYUIOP{}ASDFGHJKL:\"~|ZXCVBNM<>?");
}

TEST(Keymap, ParseFormat) {
    km::Keymap m{};
    const std::string text =
        "# a comment\n"
        "\n"
        "  name  test-1  \r\n"
        "0x10 q Q @ none caps   # a trailing comment\n"
        "0x12\te\tE\tU+20AC\n"
        "0X1e ä Ä\n"
        "0x39 U+0020 U+0020\n"
        "0x2b U+0023 U+1F600";  // no newline at the end
    ASSERT_EQ(parse(text, &m), nullptr);
    EXPECT_STREQ(m.name, "test-1");
    EXPECT_EQ(m.levels[0x10][0], U'q');
    EXPECT_EQ(m.levels[0x10][2], U'@');
    EXPECT_EQ(m.levels[0x10][3], 0u);
    EXPECT_EQ(m.levels[0x12][2], 0x20acu);
    EXPECT_EQ(m.caps[0x12 >> 3] >> (0x12 & 7) & 1, 0);  // no caps marker: Caps Lock ignores it
    EXPECT_EQ(m.caps[0x10 >> 3] >> (0x10 & 7) & 1, 1);
    EXPECT_EQ(m.levels[0x1e][0], 0xe4u);
    EXPECT_EQ(m.levels[0x1e][2], 0u);
    EXPECT_EQ(m.levels[0x2b][0], U'#');
    EXPECT_EQ(m.levels[0x2b][1], 0x1f600u);
    EXPECT_EQ(m.levels[0x1f][0], U's');  // not listed: the US map's
    ASSERT_EQ(parse("", &m), nullptr);
    EXPECT_STREQ(m.name, "unnamed");
}

TEST(Keymap, Refusals) {
    static const std::string long_line = "# " + std::string(600, 'x') + "\n";
    const struct {
        const char* text;
        uint32_t line;
        const char* reason;
    } cases[] = {
        {"name de\n0x10 q Q\n0x11 w U+D800\n", 3, "bad code point"},
        {"0x10 q U+110000\n", 1, "bad code point"},
        {"0x10 q U+1234567\n", 1, "bad code point"},
        {"0x10 q U+12G4\n", 1, "bad code point"},
        {"0x10 q U+\n", 1, "a level is one character, U+XXXX or none"},
        {"0x10 U+0009\n", 1, "bad code point"},
        {"0x10 U+0085\n", 1, "bad code point"},
        {"0x10 qq\n", 1, "a level is one character, U+XXXX or none"},
        {"0x10 a b c d e\n", 1, "more than four levels"},
        {"0x10\n", 1, "no levels"},
        {"0x10 caps\n", 1, "no levels"},
        {"0x00 a\n", 1, "bad key number"},
        {"0x100 a\n", 1, "a line starts with a key number (0xNN) or name"},
        {"0xg0 a\n", 1, "bad key number"},
        {"16 a\n", 1, "a line starts with a key number (0xNN) or name"},
        {"\n\n0x10 a\n0x10 b\n", 4, "key given twice"},
        {"name a\nname b\n", 2, "a second name line"},
        {"name\n", 1, "name takes one word of 1-31 letters, digits, - _ ."},
        {"name a b\n", 1, "name takes one word of 1-31 letters, digits, - _ ."},
        {"name a/b\n", 1, "name takes one word of 1-31 letters, digits, - _ ."},
        {"name 0123456789012345678901234567890123\n", 1,
         "name takes one word of 1-31 letters, digits, - _ ."},
        {"0x10 a\x01\n", 1, "control character"},
        {"0x10 a\x7f\n", 1, "control character"},
        {"# \xc3\n", 1, "invalid UTF-8"},
        {"0x10 \xc0\xaf\n", 1, "invalid UTF-8"},
        {"0x10 \xed\xa0\x80\n", 1, "invalid UTF-8"},
        {"0x10 a b c d caps e f g\n", 1, "too many fields"},
        {long_line.c_str(), 1, "line too long"},
    };
    for (const auto& c : cases) {
        km::Keymap m{};
        uint32_t line = 0;
        const char* why =
            km::parse(reinterpret_cast<const uint8_t*>(c.text), std::strlen(c.text), &m, &line);
        ASSERT_NE(why, nullptr) << c.text;
        EXPECT_STREQ(why, c.reason) << c.text;
        EXPECT_EQ(line, c.line) << c.text;
    }
    char msg[64];
    EXPECT_EQ(km::describe("bad code point", 12, msg, sizeof msg), 31u);
    EXPECT_STREQ(msg, "keymap: line 12: bad code point");
    EXPECT_EQ(km::describe("bad code point", 12, msg, 10), 9u);
    EXPECT_STREQ(msg, "keymap: l");
}

TEST(Keymap, WriteRoundTrip) {
    km::Keymap m{};
    ASSERT_EQ(parse("name x\n0x10 q Q @ U+0023 caps\n0x39 none\n0x02 U+20AC\n", &m), nullptr);
    static char text[16384];
    const size_t n = km::write(m, text, sizeof text);
    ASSERT_GT(n, 0u);
    km::Keymap again{};
    ASSERT_EQ(parse(std::string(text, n), &again), nullptr) << text;
    EXPECT_EQ(std::memcmp(&m, &again, sizeof m), 0);
    EXPECT_EQ(km::write(m, text, 20), 0u);
    EXPECT_NE(std::string(text, n).find("0x39 none none none none\n"), std::string::npos);
}

TEST(Keymap, GermanFileFromTheTree) {
    FILE* f = std::fopen(KEEL_DE_KEYMAP, "rb");
    ASSERT_NE(f, nullptr);
    std::string text;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
        text.append(buf, n);
    std::fclose(f);
    km::Keymap de{};
    uint32_t line = 0;
    ASSERT_EQ(parse(text, &de, &line), nullptr) << "line " << line;
    EXPECT_STREQ(de.name, "de");
    km::Keyboard k;
    k.init(&de);
    EXPECT_EQ(tap(k, 0x15).code_point, U'z');  // y and z swapped
    EXPECT_EQ(tap(k, 0x2c).code_point, U'y');
    EXPECT_EQ(tap(k, 0x28).code_point, U'ä');
    EXPECT_EQ(bytes(tap(k, 0x28)), "\xc3\xa4");
    EXPECT_EQ(tap(k, 0x27).code_point, U'ö');
    EXPECT_EQ(tap(k, 0x1a).code_point, U'ü');
    EXPECT_EQ(tap(k, 0x0c).code_point, U'ß');
    EXPECT_EQ(tap(k, 0x2b).code_point, U'#');
    press(k, km::kKeyRightAlt);
    EXPECT_EQ(tap(k, 0x10).code_point, U'@');
    EXPECT_EQ(tap(k, 0x12).code_point, U'€');
    EXPECT_EQ(tap(k, 0x08).code_point, U'{');
    EXPECT_EQ(tap(k, 0x09).code_point, U'[');
    EXPECT_EQ(tap(k, 0x0a).code_point, U']');
    EXPECT_EQ(tap(k, 0x0b).code_point, U'}');
    EXPECT_EQ(tap(k, 0x0c).code_point, U'\\');
    EXPECT_EQ(tap(k, 0x1e).code_point, U'a');  // no AltGr level: the plain one
    EXPECT_EQ(tap(k, 0x03).code_point, U'²');
    release(k, km::kKeyRightAlt);
    tap(k, km::kKeyCapsLock);
    EXPECT_EQ(tap(k, 0x28).code_point, U'Ä');
    EXPECT_EQ(tap(k, 0x03).code_point, U'2');
    press(k, km::kKeyLeftShift);
    EXPECT_EQ(tap(k, 0x03).code_point, U'"');
    EXPECT_EQ(tap(k, 0x27).code_point, U'ö');
    // The layout changes under a held key and locks.
    k.set_keymap(&km::us());
    EXPECT_EQ(tap(k, 0x15).code_point, U'y');
    EXPECT_EQ(k.modifiers(), km::kModShift | km::kModCapsLock);
}
