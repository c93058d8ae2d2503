// The decoder, the keyboard state machine and the terminal's bytes (keymap.hpp).
#include <keel/keymap/keymap.hpp>

namespace keel::keymap {

namespace {

// Answers of the controller and the keyboard, never keys in set 1: errors (0x00, 0xFF),
// ack (0xFA), resend (0xFE), echo (0xEE), self-test failed (0xFC, 0xFD). 0xAA (self-test
// passed) is also Left Shift's break code: it decodes as that release, which the keyboard
// ignores when Left Shift is not down.
bool is_answer(uint8_t b) {
    return b == 0x00 || b == 0xff || b == 0xfa || b == 0xfe || b == 0xee || b == 0xfc || b == 0xfd;
}

// Modifier keys: their bit in Keyboard::down_mods_.
int modifier_bit(uint16_t key) {
    switch (key) {
        case kKeyLeftShift:
            return 0;
        case kKeyRightShift:
            return 1;
        case kKeyLeftCtrl:
            return 2;
        case kKeyRightCtrl:
            return 3;
        case kKeyLeftAlt:
            return 4;
        case kKeyRightAlt:
            return 5;
        default:
            return -1;
    }
}

constexpr uint8_t kScrollLockBit = 0x80;  // in Keyboard::locks_ (not a modifier bit)

// The keypad keys that are digits or '.' under Num Lock and navigation keys otherwise.
bool is_keypad_number(uint16_t key) {
    return key >= kKeyKeypad7 && key <= kKeyKeypadDot && key != kKeyKeypadMinus &&
           key != kKeyKeypadPlus;
}

}  // namespace

bool Decoder::feed(uint8_t byte, RawKey* out) {
    switch (state_) {
        case 1:  // after E0
            state_ = 0;
            if (byte == 0x2a || byte == 0xaa || byte == 0x36 || byte == 0xb6)
                return false;  // fake shifts around the navigation keys
            if (byte != 0xe0 && byte != 0xe1 && !is_answer(byte) && (byte & 0x7f) != 0) {
                *out = {static_cast<uint16_t>(0x80 | (byte & 0x7f)), (byte & 0x80) == 0};
                return true;
            }
            ++dropped_;  // a broken E0 sequence: the prefix is dropped, the byte read anew
            break;
        case 2:  // after E1: 1D starts Pause's make, 9D its break
            state_ = byte == 0x1d ? 3 : byte == 0x9d ? 4 : 0;
            if (state_ != 0)
                return false;
            ++dropped_;
            break;
        case 3:
        case 4: {
            const bool press = state_ == 3;
            state_ = 0;
            if (byte == (press ? 0x45 : 0xc5)) {
                *out = {kKeyPause, press};
                return true;
            }
            ++dropped_;
            break;
        }
        default:
            break;
    }
    if (byte == 0xe0) {
        state_ = 1;
        return false;
    }
    if (byte == 0xe1) {
        state_ = 2;
        return false;
    }
    if (is_answer(byte) || (byte & 0x7f) == 0) {
        ++dropped_;
        return false;
    }
    *out = {static_cast<uint16_t>(byte & 0x7f), (byte & 0x80) == 0};
    return true;
}

void Decoder::reset() {
    state_ = 0;
    dropped_ = 0;
}

void Keyboard::init(const Keymap* map) {
    map_ = map;
    for (uint8_t& b : down_)
        b = 0;
    down_mods_ = 0;
    locks_ = 0;
    held_ = 0;
    next_ = UINT64_MAX;
}

void Keyboard::set_keymap(const Keymap* map) {
    map_ = map;
}

uint8_t Keyboard::modifiers() const {
    uint8_t m = locks_ & (kModCapsLock | kModNumLock);
    if ((down_mods_ & 0x03) != 0)
        m |= kModShift;
    if ((down_mods_ & 0x0c) != 0)
        m |= kModCtrl;
    if ((down_mods_ & 0x10) != 0)
        m |= kModAlt;
    if ((down_mods_ & 0x20) != 0)
        m |= kModAltGr;
    return m;
}

uint8_t Keyboard::leds() const {
    return static_cast<uint8_t>(((locks_ & kScrollLockBit) != 0 ? 1 : 0) |
                                ((locks_ & kModNumLock) != 0 ? 2 : 0) |
                                ((locks_ & kModCapsLock) != 0 ? 4 : 0));
}

uint32_t Keyboard::code_point(uint16_t key) const {
    if (map_ == nullptr || key > 0xff)
        return 0;
    const uint8_t m = modifiers();
    if (is_keypad_number(key)) {
        // Num Lock on: the digit (Shift turns the key back into navigation); off: none.
        const bool digits = (m & kModNumLock) != 0 && (m & kModShift) == 0;
        return digits ? map_->levels[key][0] : 0;
    }
    unsigned shift = (m & kModShift) != 0 ? 1 : 0;
    if ((m & kModCapsLock) != 0 && (map_->caps[key >> 3] >> (key & 7) & 1) != 0)
        shift ^= 1;
    const uint32_t* l = map_->levels[key];
    if ((m & kModAltGr) != 0) {
        // AltGr picks the third and fourth levels; a key without them types its plain level.
        if (l[2 + shift] != 0)
            return l[2 + shift];
        if (l[2] != 0 || l[3] != 0)
            return 0;
    }
    return l[shift];
}

Stroke Keyboard::stroke(uint16_t key, uint8_t flags) const {
    return {key, flags, modifiers(), (flags & kPressed) != 0 ? code_point(key) : 0};
}

bool Keyboard::key(RawKey k, uint64_t now_ns, Stroke* out) {
    if (k.key == 0 || k.key > kKeyMax)
        return false;
    const uint8_t bit = static_cast<uint8_t>(1u << (k.key & 7));
    if (!k.pressed) {
        if (!is_down(k.key))
            return false;  // never pressed (or the self-test answer 0xAA)
        down_[k.key >> 3] &= static_cast<uint8_t>(~bit);
        if (const int m = modifier_bit(k.key); m >= 0)
            down_mods_ &= static_cast<uint16_t>(~(1u << m));
        if (held_ == k.key) {
            held_ = 0;
            next_ = UINT64_MAX;
        }
        *out = stroke(k.key, 0);
        return true;
    }
    if (is_down(k.key))
        return false;  // the keyboard's own repeat: ours comes from repeat()
    down_[k.key >> 3] |= bit;
    const int m = modifier_bit(k.key);
    if (m >= 0) {
        down_mods_ |= static_cast<uint16_t>(1u << m);
    } else if (k.key == kKeyCapsLock) {
        locks_ ^= kModCapsLock;
    } else if (k.key == kKeyNumLock) {
        locks_ ^= kModNumLock;
    } else if (k.key == kKeyScrollLock) {
        locks_ ^= kScrollLockBit;
    } else if (k.key != kKeyPause) {
        held_ = k.key;
        next_ = now_ns > UINT64_MAX - kRepeatDelay ? UINT64_MAX - 1 : now_ns + kRepeatDelay;
    }
    *out = stroke(k.key, kPressed);
    return true;
}

bool Keyboard::repeat(uint64_t now_ns, Stroke* out) {
    if (held_ == 0 || now_ns < next_)
        return false;
    constexpr uint64_t kBehind = 4 * kRepeatInterval;  // at most four repeats to catch up
    if (now_ns - next_ >= kBehind)
        next_ = now_ns - (kBehind - kRepeatInterval);
    *out = stroke(held_, kPressed | kRepeat);
    next_ = next_ > UINT64_MAX - 1 - kRepeatInterval ? UINT64_MAX - 1 : next_ + kRepeatInterval;
    return true;
}

uint64_t Keyboard::next_repeat() const {
    return held_ == 0 ? UINT64_MAX : next_;
}

namespace {

struct Bytes {
    uint8_t b[16];
    size_t n = 0;
    void add(uint8_t x) { b[n++] = x; }
    void csi(char final, char digit = 0) {
        add(0x1b);
        add('[');
        if (digit != 0)
            add(static_cast<uint8_t>(digit));
        add(static_cast<uint8_t>(final));
    }
};

void utf8(uint32_t cp, Bytes* o) {
    if (cp < 0x80) {
        o->add(static_cast<uint8_t>(cp));
    } else if (cp < 0x800) {
        o->add(static_cast<uint8_t>(0xc0 | cp >> 6));
        o->add(static_cast<uint8_t>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        o->add(static_cast<uint8_t>(0xe0 | cp >> 12));
        o->add(static_cast<uint8_t>(0x80 | (cp >> 6 & 0x3f)));
        o->add(static_cast<uint8_t>(0x80 | (cp & 0x3f)));
    } else {
        o->add(static_cast<uint8_t>(0xf0 | cp >> 18));
        o->add(static_cast<uint8_t>(0x80 | (cp >> 12 & 0x3f)));
        o->add(static_cast<uint8_t>(0x80 | (cp >> 6 & 0x3f)));
        o->add(static_cast<uint8_t>(0x80 | (cp & 0x3f)));
    }
}

// A navigation key's sequence (the grey keys, and the keypad's without Num Lock): true if
// `key` is one.
bool navigation(uint16_t key, Bytes* o) {
    switch (key) {
        case kKeyUp:
        case kKeyKeypad8:
            o->csi('A');
            return true;
        case kKeyDown:
        case kKeyKeypad2:
            o->csi('B');
            return true;
        case kKeyRight:
        case kKeyKeypad6:
            o->csi('C');
            return true;
        case kKeyLeft:
        case kKeyKeypad4:
            o->csi('D');
            return true;
        case kKeyHome:
        case kKeyKeypad7:
            o->csi('H');
            return true;
        case kKeyEnd:
        case kKeyKeypad1:
            o->csi('F');
            return true;
        case kKeyInsert:
        case kKeyKeypad0:
            o->csi('~', '2');
            return true;
        case kKeyDelete:
        case kKeyKeypadDot:
            o->csi('~', '3');
            return true;
        case kKeyPageUp:
        case kKeyKeypad9:
            o->csi('~', '5');
            return true;
        case kKeyPageDown:
        case kKeyKeypad3:
            o->csi('~', '6');
            return true;
        default:
            return false;
    }
}

// Ctrl with a character: the C0 control it names, or -1 (the character is sent as it is).
int control(uint32_t cp) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
        return static_cast<int>(cp & 0x1f);
    switch (cp) {
        case ' ':
        case '@':
            return 0;
        case '[':
            return 0x1b;
        case '\\':
            return 0x1c;
        case ']':
            return 0x1d;
        case '^':
            return 0x1e;
        case '_':
            return 0x1f;
        case '?':
            return 0x7f;
        default:
            return -1;
    }
}

}  // namespace

size_t terminal_bytes(const Stroke& s, uint8_t* out, size_t cap) {
    if ((s.flags & kPressed) == 0)
        return 0;
    Bytes o;
    if ((s.modifiers & kModAlt) != 0)
        o.add(0x1b);
    const size_t prefix = o.n;
    switch (s.key) {
        case kKeyEnter:
        case kKeyKeypadEnter:
            o.add('\r');
            break;
        case kKeyBackspace:
            o.add(0x7f);
            break;
        case kKeyTab:
            o.add('\t');
            break;
        case kKeyEscape:
            o.add(0x1b);
            break;
        default:
            if (s.code_point != 0 && s.code_point <= kMaxCodePoint) {
                const int c = (s.modifiers & kModCtrl) != 0 ? control(s.code_point) : -1;
                if (c >= 0)
                    o.add(static_cast<uint8_t>(c));
                else
                    utf8(s.code_point, &o);
            } else {
                (void)navigation(s.key, &o);
            }
            break;
    }
    if (o.n == prefix || o.n > cap)
        return 0;
    for (size_t i = 0; i < o.n; ++i)
        out[i] = o.b[i];
    return o.n;
}

}  // namespace keel::keymap
