// displaytest: the display driver (drivers/bochs-display) from a client's side, through the two
// objects it publishes (ns/srv/display0 and ns/srv/display0.surface; run from the shell of a
// system whose init.conf starts the driver). It checks DisplayInfo and the surface's size and
// rights, draws a known pattern over the whole surface and flushes only some rectangles of it,
// after sending hostile flushes (each refused with its error, nothing of them copied), then
// says so and holds the picture still for a while: the host takes a screendump then and checks
// every pixel (kernel/tests/qemu-display.py knows the pattern and the rectangles below).
//
// Arguments: [WxH] the mode expected (1024x768 by default; the rectangles below need at least
// that much), [hold=MS] how long to keep the picture after "pattern drawn" (3000 ms by default).
#include <keel/c/mem.hpp>
#include <keel/c/string.hpp>

#include "testlib.hpp"

namespace keel::displaytest {

namespace {

using namespace keel::user;
using abi::Meta;
using abi::Rect;

uint32_t g_want_width = 1024, g_want_height = 768;
uint64_t g_hold_ms = 3000;
Handle g_display = 0, g_surface = 0;
abi::DisplayInfo g_info{};
uint32_t* g_pixels = nullptr;

// The pattern (kernel/tests/qemu-display.py has the same): red from x, green from y, blue from
// their high bits, so that every pixel of a 1024x768 screen is told apart from its neighbours
// and from black in at least one channel.
uint32_t pattern(uint32_t x, uint32_t y) {
    const uint32_t r = x & 0xff, gr = y & 0xff;
    const uint32_t b = 0x80 | ((x >> 8) & 7) << 3 | ((y >> 8) & 7);
    return r << 16 | gr << 8 | b;
}

int64_t flush(const void* rects, uint64_t bytes) {
    return sys::do_io(g_display, Op::kWrite, rects, bytes);
}

// The driver publishes srv/display0 once its surface is there (init waits for it); waited
// for all the same, in case the shell started first.
TEST(display_appears) {
    for (int i = 0; i < 200 && g_display == 0; ++i) {
        const int64_t h = open_path(root(), "ns/srv/display0", 15);
        if (h > 0)
            g_display = static_cast<Handle>(h);
        else
            (void)sys::sleep_ns(50'000'000);
    }
    CHECK(g_display != 0);
    const int64_t s = open_path(root(), "ns/srv/display0.surface", 23);
    CHECK(s > 0);
    g_surface = s > 0 ? static_cast<Handle>(s) : 0;
}

TEST(display_info) {
    CHECK_EQ(sys::do_io(g_display, Op::kGetMeta, &g_info, sizeof g_info,
                        static_cast<uint64_t>(Meta::kDisplayInfo)),
             sizeof g_info);
    CHECK_EQ(g_info.width, g_want_width);
    CHECK_EQ(g_info.height, g_want_height);
    CHECK_EQ(g_info.format, static_cast<uint32_t>(abi::PixelFormat::kXrgb8888));
    CHECK_EQ(g_info.pitch, g_info.width * 4);
    CHECK(g_info.surface_size >= uint64_t{g_info.pitch} * g_info.height);
    CHECK_EQ(g_info.surface_size % 4096, 0u);
    uint64_t size = 0, rights = 0;
    CHECK_EQ(sys::do_io(g_surface, Op::kGetMeta, &size, 8, static_cast<uint64_t>(Meta::kSize)), 8);
    CHECK_EQ(size, g_info.surface_size);
    CHECK_EQ(sys::do_io(g_surface, Op::kGetMeta, &rights, 8, static_cast<uint64_t>(Meta::kRights)),
             8);
    CHECK_EQ(rights,
             uint64_t{abi::kRightRead | abi::kRightWrite | abi::kRightMap | abi::kRightShare});
    // The display object's other operations and keys.
    uint8_t small[8];
    BAD_INPUT(sys::do_io(g_display, Op::kGetMeta, small, sizeof small,
                         static_cast<uint64_t>(Meta::kDisplayInfo)),
              kBufferTooSmall);
    BAD_INPUT(sys::do_io(g_display, Op::kGetMeta, small, sizeof small,
                         static_cast<uint64_t>(Meta::kLinkInfo)),
              kInvalidArgument);
    BAD_INPUT(sys::do_io(g_display, Op::kRead, small, sizeof small), kNotSupported);
    BAD_INPUT(sys::do_io(g_display, Op::kSeek, nullptr, 0, 0), kNotSupported);
}

// Black everywhere, then the pattern in the surface; the screen keeps black until a flush.
TEST(clear_then_draw) {
    const int64_t at = sys::do_io(g_surface, Op::kMap, nullptr, 0, 1);
    CHECK(at > 0);
    if (at <= 0)
        return;
    g_pixels = reinterpret_cast<uint32_t*>(at);
    const uint32_t stride = g_info.pitch / 4;
    c::fill(g_pixels, 0, uint64_t{g_info.pitch} * g_info.height);
    const Rect whole{0, 0, g_info.width, g_info.height};
    // A full-screen flush, timed (a client that redraws everything at 60 Hz needs < 16 ms).
    const uint64_t t0 = sys::clock_ns();
    CHECK_EQ(flush(&whole, sizeof whole), int64_t{sizeof whole});
    const uint64_t us = (sys::clock_ns() - t0) / 1000;
    for (uint32_t y = 0; y < g_info.height; ++y) {
        for (uint32_t x = 0; x < g_info.width; ++x)
            g_pixels[uint64_t{y} * stride + x] = pattern(x, y);
    }
    print("displaytest: full-screen flush (%ux%u) in %lu us\n", g_info.width, g_info.height, us);
}

// Hostile flushes: each refused, and nothing of a refused write copied (each batch starts with
// a good rectangle in the region (600, 40, 64, 64), which the host finds still black).
TEST(hostile_flushes) {
    const uint32_t w = g_info.width, h = g_info.height;
    const Rect good{600, 40, 64, 64};
    const Rect bad[] = {
        {w - 10, 0, 11, 1},         // past the right edge
        {0, h - 1, 1, 2},           // past the bottom
        {w, 0, 1, 1},               // starts at the edge
        {0, 0, 0, 10},              // width 0
        {0, 0, 10, 0},              // height 0
        {0xfffffff0u, 0, 0x20, 1},  // x + width overflows 32 bits
        {1, 0, 0xffffffffu, 1},     // so does this one
        {0, 0xffffffffu, 1, 1},     // y far outside
        {0, 1, 1, 0xffffffffu},     // y + height overflows
        {0, 0, w + 1, h},           // wider than the mode
    };
    for (const Rect& r : bad) {
        const Rect batch[2] = {good, r};
        BAD_INPUT(flush(batch, sizeof batch), kInvalidArgument);
        BAD_INPUT(flush(&r, sizeof r), kInvalidArgument);
    }
    // Not whole records: short, long by a byte, empty.
    const Rect two[2] = {good, good};
    BAD_INPUT(flush(two, 15), kInvalidArgument);
    BAD_INPUT(flush(two, 17), kInvalidArgument);
    BAD_INPUT(flush(two, 31), kInvalidArgument);
    BAD_INPUT(flush(two, 0), kInvalidArgument);
    // A huge number of rectangles: more than one write may carry (the served queue's buffer).
    static Rect many[4096 + 1];
    for (Rect& r : many)
        r = good;
    BAD_INPUT(flush(many, sizeof many), kTooLarge);
    BAD_INPUT(flush(many, 257 * sizeof(Rect)), kTooLarge);
    // The most one write carries, all good but the last.
    many[255] = Rect{w, h, 1, 1};
    BAD_INPUT(flush(many, 256 * sizeof(Rect)), kInvalidArgument);
    // An address that is not the caller's.
    BAD_INPUT(flush(reinterpret_cast<const void*>(testlib::kKernel), sizeof(Rect)), kBadAddress);
    // The driver is still there.
    abi::DisplayInfo again{};
    CHECK_EQ(sys::do_io(g_display, Op::kGetMeta, &again, sizeof again,
                        static_cast<uint64_t>(Meta::kDisplayInfo)),
             sizeof again);
    CHECK_EQ(again.width, g_info.width);
}

// The rectangles the host checks: these show the pattern, everything else is black.
TEST(flush_rectangles) {
    const uint32_t w = g_info.width, h = g_info.height;
    const Rect rects[] = {
        {16, 16, 256, 128},    // a block near the top left
        {300, 200, 400, 300},  // a large one in the middle
        {0, h - 1, w, 1},      // the whole last row
        {w - 1, 0, 1, 1},      // the top right pixel
        {100, 400, 1, 200},    // a one-pixel column
    };
    CHECK_EQ(flush(rects, 3 * sizeof(Rect)), int64_t{3 * sizeof(Rect)});
    for (uint32_t i = 3; i < 5; ++i)
        CHECK_EQ(flush(&rects[i], sizeof(Rect)), int64_t{sizeof(Rect)});
    // A flush of 60 small rectangles in one write (a console's damage in one frame).
    Rect strip[60];
    for (uint32_t i = 0; i < 60; ++i)
        strip[i] = Rect{8 * i, 700, 4, 8};  // x 0..476, every other 4-pixel column
    CHECK_EQ(flush(strip, sizeof strip), int64_t{sizeof strip});
    print("displaytest: pattern drawn: %ux%u, 65 rectangles flushed\n", w, h);
    (void)sys::sleep_ns(g_hold_ms * 1'000'000);
}

}  // namespace

}  // namespace keel::displaytest

int keel_main(const keel::user::StartInfo& start) {
    using namespace keel;
    char storage[96];
    const char* words[4];
    const int n =
        user::split_args(start.args, start.args_length, storage, sizeof storage, words, 4);
    for (int i = 0; i < n; ++i) {
        if (c::compare(words[i], "hold=", 5) == 0) {
            displaytest::g_hold_ms = parse_u64(words[i] + 5);
        } else {
            const char* x = words[i];
            while (*x >= '0' && *x <= '9')
                ++x;
            if (*x == 'x') {
                displaytest::g_want_width = static_cast<uint32_t>(parse_u64(words[i]));
                displaytest::g_want_height = static_cast<uint32_t>(parse_u64(x + 1));
            }
        }
    }
    return testlib::run(start, "displaytest");
}
