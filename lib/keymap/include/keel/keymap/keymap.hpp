// lib/keymap: a PS/2 keyboard's bytes to keys, keys to characters and terminal bytes. Pure code
// over caller memory: no allocation, no globals that change, time as an input (nanoseconds of
// any monotonic clock), built-in headers only. Everything the keyboard sends is untrusted: the
// decoder drops and counts what is not a key; a keymap file is untrusted text, refused with a
// reason that names its line.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::keymap {

// Key numbers: the set-1 make code (1..0x7f) for plain keys, 0x80 | code for E0-prefixed keys,
// kKeyPause for the E1 sequence of Pause. A keymap is indexed by key number (0..0xff).
inline constexpr uint16_t kKeyEscape = 0x01, kKeyBackspace = 0x0e, kKeyTab = 0x0f, kKeyEnter = 0x1c,
                          kKeyLeftCtrl = 0x1d, kKeyLeftShift = 0x2a, kKeyRightShift = 0x36,
                          kKeyLeftAlt = 0x38, kKeySpace = 0x39, kKeyCapsLock = 0x3a, kKeyF1 = 0x3b,
                          kKeyF10 = 0x44, kKeyNumLock = 0x45, kKeyScrollLock = 0x46,
                          kKeyKeypad7 = 0x47, kKeyKeypad8 = 0x48, kKeyKeypad9 = 0x49,
                          kKeyKeypadMinus = 0x4a, kKeyKeypad4 = 0x4b, kKeyKeypad5 = 0x4c,
                          kKeyKeypad6 = 0x4d, kKeyKeypadPlus = 0x4e, kKeyKeypad1 = 0x4f,
                          kKeyKeypad2 = 0x50, kKeyKeypad3 = 0x51, kKeyKeypad0 = 0x52,
                          kKeyKeypadDot = 0x53, kKey102nd = 0x56, kKeyF11 = 0x57, kKeyF12 = 0x58,
                          kKeyKeypadEnter = 0x9c, kKeyRightCtrl = 0x9d, kKeyKeypadSlash = 0xb5,
                          kKeyPrintScreen = 0xb7, kKeyRightAlt = 0xb8, kKeyHome = 0xc7,
                          kKeyUp = 0xc8, kKeyPageUp = 0xc9, kKeyLeft = 0xcb, kKeyRight = 0xcd,
                          kKeyEnd = 0xcf, kKeyDown = 0xd0, kKeyPageDown = 0xd1, kKeyInsert = 0xd2,
                          kKeyDelete = 0xd3, kKeyLeftMeta = 0xdb, kKeyRightMeta = 0xdc,
                          kKeyMenu = 0xdd;
// Pause/Break (E1 1D 45 E1 9D C5, sent whole on the press, nothing on the release): E1 1D 45
// decodes as its press, E1 9D C5 as its release. Outside the keymap's 256 entries.
inline constexpr uint16_t kKeyPause = 0x100;
inline constexpr uint16_t kKeyMax = kKeyPause;  // no key number is larger

// Modifier bits (== abi's kMod*), and stroke flags (== abi's kKeyPressed, kKeyRepeat).
inline constexpr uint8_t kModShift = 1, kModCtrl = 2, kModAlt = 4, kModAltGr = 8, kModCapsLock = 16,
                         kModNumLock = 32;
inline constexpr uint8_t kPressed = 1, kRepeat = 2;

// One key going down or up.
struct RawKey {
    uint16_t key;  // 1..kKeyMax
    bool pressed;
};

// Scan code set 1 bytes (the 8042 translates the keyboard's set 2 to set 1) to key presses
// and releases. E0 prefixes a second set of keys; E1 starts Pause's six bytes; the fake shifts
// E0 2A / E0 AA / E0 36 / E0 B6 some keyboards send around the navigation keys are dropped;
// the controller's and keyboard's answers (0xFA ack, 0xFE resend, 0xAA self-test passed,
// 0xEE echo, 0x00 and 0xFF errors, 0xFC self-test failed) and broken sequences are dropped and
// counted. Cost O(1) per byte. State: only the pending prefix.
class Decoder {
  public:
    // Feeds one byte: true with *out set when it completes a key, false otherwise.
    bool feed(uint8_t byte, RawKey* out);
    // Bytes dropped since construction or reset(): answers, stray or broken sequences.
    uint64_t dropped() const { return dropped_; }
    // Forgets a pending prefix and the count (after a controller reset).
    void reset();

  private:
    uint8_t state_ = 0;  // 0 none, 1 after E0, 2 after E1, 3 after E1 1D, 4 after E1 9D
    uint64_t dropped_ = 0;
};

// A layout: the characters each key gives at four levels (plain, Shift, AltGr, Shift+AltGr;
// code point 0 is none), and which keys Caps Lock shifts (a bit per key number, letters).
struct Keymap {
    char name[32];  // NUL-terminated
    uint32_t levels[256][4];
    uint8_t caps[32];
};
inline constexpr uint32_t kMaxCodePoint = 0x10ffff;  // and no surrogates (0xd800..0xdfff)

// Parses a keymap file (the text format of lib/keymap/README.md) into *out. nullptr on
// success; otherwise a static reason ("bad code point"), *line (when not null) set to the
// 1-based line it is on, and *out unspecified (parse into a scratch map to keep the old one).
// describe() makes the message ("keymap: line 12: bad code point"). The keys the file names
// replace the US map's; every other key keeps the US map's levels (a file need not list the
// keypad, Space, Enter...). Cost O(size).
const char* parse(const uint8_t* text, size_t size, Keymap* out, uint32_t* line = nullptr);

// "keymap: line N: REASON" into out (NUL-terminated, cut to cap): the length written.
size_t describe(const char* reason, uint32_t line, char* out, size_t cap);

// Writes *map in the text format (what parse reads back to the same map), NUL-terminated.
// Returns the length, or 0 when it does not fit in cap.
size_t write(const Keymap& map, char* out, size_t cap);

// The built-in US layout: every printable key of a 104-key US keyboard and the keypad.
const Keymap& us();

// What a key did: a press, a repeat or a release, the modifiers after it, and the character
// the layout gives (0 for none: modifiers, arrows, function keys, releases).
struct Stroke {
    uint16_t key;
    uint8_t flags;  // kPressed (else a release), kRepeat
    uint8_t modifiers;
    uint32_t code_point;
};

// Keys to strokes: modifier and lock state, the layout's levels and software key repeat
// (the held key repeats kRepeatDelay after its press, then every kRepeatInterval). Time comes
// in as now_ns; nothing here reads a clock.
class Keyboard {
  public:
    static constexpr uint64_t kRepeatDelay = 500'000'000, kRepeatInterval = 33'000'000;  // ns

    // Sets the layout (kept by pointer: it must outlive the keyboard) and clears every state.
    void init(const Keymap* map);
    // Changes the layout; modifiers, locks and the held key stay.
    void set_keymap(const Keymap* map);
    // A stroke for presses and releases (true, *out set); a hardware repeat (a press of the key
    // already down) is dropped (false): repeats come from repeat().
    bool key(RawKey k, uint64_t now_ns, Stroke* out);
    // One due software repeat of the held key (true, *out set, the deadline moved on), false
    // when none is due at now_ns. A late caller gets one repeat per call until caught up,
    // at most 4: the rest are skipped.
    bool repeat(uint64_t now_ns, Stroke* out);
    // The next repeat's deadline in ns, UINT64_MAX when no key repeats.
    uint64_t next_repeat() const;
    uint8_t modifiers() const;
    // The PS/2 LED byte (command 0xED): bit 0 Scroll Lock, bit 1 Num Lock, bit 2 Caps Lock.
    uint8_t leds() const;

  private:
    uint32_t code_point(uint16_t key) const;
    Stroke stroke(uint16_t key, uint8_t flags) const;

    bool is_down(uint16_t key) const { return (down_[key >> 3] >> (key & 7) & 1) != 0; }

    const Keymap* map_ = nullptr;
    uint8_t down_[(kKeyMax >> 3) + 1] = {};  // a bit per key number: held now
    uint16_t down_mods_ = 0;                 // bits per modifier key held (left/right apart)
    uint8_t locks_ = 0;                      // kModCapsLock | kModNumLock, and bit 7 Scroll Lock
    uint16_t held_ = 0;                      // the key that repeats, 0 none
    uint64_t next_ = UINT64_MAX;
};

// The bytes a terminal program reads for a stroke (presses and repeats; releases give none):
// UTF-8 of code_point; Ctrl+letter 0x01..0x1a (Ctrl+Space/@ 0, Ctrl+[ 0x1b, Ctrl+\ 0x1c,
// Ctrl+] 0x1d, Ctrl+^ 0x1e, Ctrl+_ 0x1f, Ctrl+? 0x7f); Enter '\r'; Backspace 0x7f; Tab;
// Esc 0x1b; arrows ESC [ A/B/C/D; Home ESC [ H; End ESC [ F; Insert ESC [ 2 ~; Delete
// ESC [ 3 ~; PgUp ESC [ 5 ~; PgDn ESC [ 6 ~; Alt+key: ESC then the key's bytes.
// Returns the count written (0 when none, or when it does not fit in cap).
size_t terminal_bytes(const Stroke& s, uint8_t* out, size_t cap);

}  // namespace keel::keymap
