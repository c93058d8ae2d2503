// lib/keymap properties (RapidCheck): random layouts written by keymap::write parse back to
// the same map; the decoder fed random bytes never reports a key outside its range; random
// press/release sequences encoded in set 1 by this file's own encoder (with E0 prefixes, fake
// shifts, Pause's E1 sequences and controller answers mixed in) decode back exactly.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/keymap/keymap.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace km = keel::keymap;

namespace {

uint32_t random_code_point() {
    const int kind = *rc::gen::inRange(0, 4);
    uint32_t cp = 0;
    do {
        switch (kind) {
            case 0:
                cp = *rc::gen::inRange<uint32_t>(0x20, 0x7f);
                break;
            case 1:
                cp = *rc::gen::inRange<uint32_t>(0xa0, 0x800);
                break;
            case 2:
                cp = *rc::gen::inRange<uint32_t>(0x800, 0x10000);
                break;
            default:
                cp = *rc::gen::inRange<uint32_t>(0x10000, 0x110000);
                break;
        }
    } while (cp >= 0xd800 && cp <= 0xdfff);
    return cp;
}

// One set-1 encoding of a key going down or up.
void encode(km::RawKey k, std::vector<uint8_t>* out) {
    if (k.key == km::kKeyPause) {
        const uint8_t make[] = {0xe1, 0x1d, 0x45}, brk[] = {0xe1, 0x9d, 0xc5};
        for (uint8_t b : k.pressed ? make : brk)
            out->push_back(b);
        return;
    }
    if (k.key >= 0x80)
        out->push_back(0xe0);
    out->push_back(static_cast<uint8_t>((k.key & 0x7f) | (k.pressed ? 0 : 0x80)));
}

// A key number the decoder can report: 1..0x7f without the codes whose break byte is a
// controller answer (0x7a 0x7c 0x7d 0x7e: FA FC FD FE; 0x6e: EE; 0x7f: FF) or a prefix
// (0x60 0x61: E0 E1; no keyboard has them), the same after
// E0 without the fake shifts (2A 36), and Pause.
uint16_t random_key() {
    for (;;) {
        const auto k = *rc::gen::inRange<uint16_t>(1, km::kKeyMax + 1);
        const uint16_t code = k & 0x7f;
        if (k != km::kKeyPause && (k > 0xff || code == 0))
            continue;
        if (code == 0x7a || code == 0x7c || code == 0x7d || code == 0x7e || code == 0x6e ||
            code == 0x7f || code == 0x60 || code == 0x61)
            continue;
        if (k >= 0x80 && k <= 0xff && (code == 0x2a || code == 0x36))
            continue;
        return k;
    }
}

}  // namespace

RC_GTEST_PROP(KeymapProperty, WrittenMapsParseBack, ()) {
    km::Keymap m = km::us();
    const std::string name = *rc::gen::container<std::string>(
        *rc::gen::inRange<size_t>(1, 32), rc::gen::elementOf(std::string("abcXYZ019-_.")));
    std::memset(m.name, 0, sizeof m.name);
    std::memcpy(m.name, name.data(), name.size());
    const int changes = *rc::gen::inRange(0, 120);
    for (int i = 0; i < changes; ++i) {
        const auto key = *rc::gen::inRange<uint32_t>(1, 256);
        for (uint32_t& l : m.levels[key])
            l = *rc::gen::inRange(0, 3) == 0 ? 0 : random_code_point();
        const uint8_t bit = static_cast<uint8_t>(1u << (key & 7));
        if (*rc::gen::arbitrary<bool>())
            m.caps[key >> 3] |= bit;
        else
            m.caps[key >> 3] &= static_cast<uint8_t>(~bit);
    }
    static char text[32768];
    const size_t n = km::write(m, text, sizeof text);
    RC_ASSERT(n > 0);
    km::Keymap again{};
    uint32_t line = 0;
    const char* why = km::parse(reinterpret_cast<const uint8_t*>(text), n, &again, &line);
    RC_ASSERT(why == nullptr);
    RC_ASSERT(std::memcmp(&m, &again, sizeof m) == 0);
}

RC_GTEST_PROP(KeymapProperty, RandomBytesGiveKeysInRange, ()) {
    const auto bytes = *rc::gen::container<std::vector<uint8_t>>(rc::gen::arbitrary<uint8_t>());
    km::Decoder d;
    km::Keyboard k;
    k.init(&km::us());
    uint64_t now = 0, fed = 0;
    for (uint8_t b : bytes) {
        km::RawKey key{};
        ++fed;
        if (d.feed(b, &key)) {
            RC_ASSERT(key.key >= 1);
            RC_ASSERT(key.key <= km::kKeyMax);
            RC_ASSERT(key.key == km::kKeyPause || (key.key & 0x7f) != 0);
            km::Stroke s{};
            if (k.key(key, now, &s)) {
                uint8_t out[16];
                RC_ASSERT(km::terminal_bytes(s, out, sizeof out) <= 10u);
                RC_ASSERT(s.key == key.key);
            }
        }
        now += 10'000'000;
        km::Stroke s{};
        while (k.repeat(now, &s))
            RC_ASSERT((s.flags & km::kRepeat) != 0);
        RC_ASSERT(k.next_repeat() > now);
    }
    RC_ASSERT(d.dropped() <= fed);
}

RC_GTEST_PROP(KeymapProperty, EncodedKeysDecodeBack, ()) {
    const int count = *rc::gen::inRange(0, 200);
    std::vector<km::RawKey> keys;
    std::vector<uint8_t> bytes;
    uint64_t answers = 0;
    for (int i = 0; i < count; ++i) {
        const km::RawKey k{random_key(), *rc::gen::arbitrary<bool>()};
        keys.push_back(k);
        // Noise between keys: controller answers (dropped, counted) and fake shifts.
        switch (*rc::gen::inRange(0, 8)) {
            case 0:
                bytes.push_back(*rc::gen::elementOf(
                    std::vector<uint8_t>{0x00, 0xff, 0xfa, 0xfe, 0xee, 0xfc, 0xfd}));
                ++answers;
                break;
            case 1:
                bytes.push_back(0xe0);
                bytes.push_back(*rc::gen::elementOf(std::vector<uint8_t>{0x2a, 0xaa, 0x36, 0xb6}));
                break;
            default:
                break;
        }
        encode(k, &bytes);
    }
    km::Decoder d;
    std::vector<km::RawKey> got;
    for (uint8_t b : bytes) {
        km::RawKey k{};
        if (d.feed(b, &k))
            got.push_back(k);
    }
    RC_ASSERT(got.size() == keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
        RC_ASSERT(got[i].key == keys[i].key);
        RC_ASSERT(got[i].pressed == keys[i].pressed);
    }
    RC_ASSERT(d.dropped() == answers);
}
