// loadkeys FILE: loads a keymap file (lib/keymap/README.md's format) as the keyboard's layout:
// reads FILE, checks it here (a bad file is reported with its line and nothing changes), then
// set_meta kKeymap on /srv/kbd (the keyboard driver parses it again: it trusts no client).
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/keymap/keymap.hpp>

#include "tools.hpp"

using namespace keel::tools;
namespace km = keel::keymap;
namespace c = keel::c;
using keel::snformat;

namespace {
char g_text[16384];
km::Keymap g_map;
}  // namespace

int keel_main(const StartInfo& start) {
    const Args a = arguments(start);
    if (a.count != 1) {
        complain("loadkeys", "usage", "loadkeys FILE");
        return 2;
    }
    const int64_t f = open_file(a.words[0]);
    if (f < 0) {
        complain("loadkeys", a.words[0], error_text(f));
        return 1;
    }
    uint64_t size = 0;
    bool too_long = false;
    const int64_t r = each_chunk(
        static_cast<uint64_t>(f),
        [&](const char* bytes, uint64_t n) {
            if (size + n > sizeof g_text) {
                too_long = true;
                return false;
            }
            c::copy(g_text + size, bytes, n);
            size += n;
            return true;
        },
        true);
    (void)sys::do_io(static_cast<uint64_t>(f), Op::kClose);
    if (r < 0 || too_long) {
        complain("loadkeys", a.words[0], too_long ? "longer than 16 KiB" : error_text(r));
        return 1;
    }
    uint32_t line = 0;
    if (const char* why =
            km::parse(reinterpret_cast<const uint8_t*>(g_text), size, &g_map, &line)) {
        char text[160];
        (void)km::describe(why, line, text, sizeof text);
        complain("loadkeys", a.words[0], text);
        return 1;
    }
    const int64_t kbd = open_file("/srv/kbd");
    if (kbd < 0) {
        complain("loadkeys", "/srv/kbd", error_text(kbd));
        return 1;
    }
    const int64_t set = sys::do_io(static_cast<uint64_t>(kbd), Op::kSetMeta, g_text, size,
                                   static_cast<uint64_t>(abi::Meta::kKeymap));
    char name[40] = {};
    const int64_t got = sys::do_io(static_cast<uint64_t>(kbd), Op::kGetMeta, name, 32,
                                   static_cast<uint64_t>(abi::Meta::kKeymap));
    (void)sys::do_io(static_cast<uint64_t>(kbd), Op::kClose);
    if (set < 0) {
        complain("loadkeys", "/srv/kbd", error_text(set));
        return 1;
    }
    char line_text[80];
    const size_t n =
        snformat(line_text, sizeof line_text, "loadkeys: layout %s\n", got > 0 ? name : "?");
    return emit(line_text, n) ? 0 : 1;
}
