// bochs-display: the driver of QEMU's standard VGA (the Bochs display adapter, PCI 1234:1111),
// as a user process holding only that device ("device" in its root, given by init) and a
// directory to publish in ("srv"). It maps the framebuffer (BAR 0) write-combining, sets a
// linear 32-bpp mode through the Bochs display interface registers (BAR 2), or keeps the mode
// the loader set when the device answers kBootFramebuffer, and publishes two objects:
// srv/NAME, a served display object (get_meta kDisplayInfo; a write of whole Rect records
// copies those rectangles of the surface to the screen), and srv/NAME.surface, the memory
// object a client maps and draws into (lib/abi's DisplayInfo contract). Arguments: the name
// (display0 by default) and `mode=WxH` (1024x768 by default). Design: README.md.
#include <keel/c/mem.hpp>
#include <keel/c/string.hpp>

#include <new>

#include "runtime.hpp"
#include "serve.hpp"

using namespace keel;
using namespace keel::user;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
constexpr uint16_t kVendor = 0x1234, kDevice = 0x1111;
constexpr uint32_t kDefaultWidth = 1024, kDefaultHeight = 768;
constexpr uint32_t kBytesPerPixel = 4;
// The served queue: a write carries at most kServeBufferBytes (256 rectangles); a longer one is
// refused by the kernel with TooLarge.
constexpr uint32_t kServeCapacity = 16;
constexpr uint32_t kServeBuffers = 8;
constexpr uint32_t kServeBufferBytes = 4096;

// The Bochs display interface (DISPI): sixteen-bit registers, reached through BAR 2 at 0x500 +
// 2 * index (QEMU's standard VGA since 1.3), or through the index/data port pair 0x1ce/0x1cf.
// BAR 2 also mirrors the VGA ports 0x3c0-0x3df at 0x400.
constexpr uint32_t kDispiAt = 0x500, kVgaPortsAt = 0x400;
enum Dispi : uint16_t {
    kId = 0,
    kXres = 1,
    kYres = 2,
    kBpp = 3,
    kEnable = 4,
    kVirtWidth = 6,
    kVirtHeight = 7,
    kXOffset = 8,
    kYOffset = 9,
    kVideoMemory64k = 10,
};
constexpr uint16_t kIdFirst32Bpp = 0xb0c2, kIdLast = 0xb0c5;  // ids with 32-bpp linear modes
constexpr uint16_t kEnabled = 0x01, kGetCaps = 0x02, kLinearFramebuffer = 0x40;
// VGA attribute controller: reading input status 1 (0x3da) resets its index/data flip-flop;
// writing the index port 0x3c0 with bit 5 (palette address source) set lets the display show
// (QEMU blanks the screen while it is clear, whatever the mode).
constexpr uint32_t kInputStatus1 = 0x3da - 0x3c0, kAttributeIndex = 0;
constexpr uint8_t kPaletteAddressSource = 0x20;

struct Display {
    Handle device = 0;
    volatile uint8_t* regs = nullptr;  // BAR 2, uncached; nullptr: the port pair instead
    Handle ports = 0;                  // "vbe" in the root: the bochs-vbe legacy device's ports
    uint8_t* framebuffer = nullptr;    // where the mode's first pixel is (write-combining)
    uint32_t framebuffer_pitch = 0;
    uint8_t* surface = nullptr;
    Handle surface_handle = 0;
    abi::DisplayInfo info{};
    bool boot = false;  // the loader's framebuffer and mode
    ServePort port;
    uint64_t flushes = 0, rectangles = 0, refused = 0;
};

Display* g = nullptr;

int64_t resource(abi::DeviceResourceKind kind, uint32_t index, uint64_t arg) {
    const abi::DeviceResource r{static_cast<uint32_t>(kind), index, arg};
    return sys::do_io(g->device, Op::kCreate, &r, sizeof r);
}

// Maps memory BAR `bar` read-write (write-combining when asked); its address or 0.
uint64_t map_bar(uint32_t bar, uint64_t cache) {
    const int64_t h = resource(abi::DeviceResourceKind::kBar, bar, cache);
    if (h < 0)
        return 0;
    const int64_t at = sys::do_io(static_cast<uint64_t>(h), Op::kMap, nullptr, 0, 1);
    (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);  // the mapping keeps it
    return at > 0 ? static_cast<uint64_t>(at) : 0;
}

uint16_t dispi_read(uint16_t index) {
    if (g->regs != nullptr)
        return *reinterpret_cast<volatile uint16_t*>(g->regs + kDispiAt + 2u * index);
    uint32_t v = 0;
    if (sys::do_io(g->ports, Op::kWrite, &index, 2, 0) != 2 ||
        sys::do_io(g->ports, Op::kRead, &v, 2, 1) != 2) {
        return 0;
    }
    return static_cast<uint16_t>(v);
}

void dispi_write(uint16_t index, uint16_t value) {
    if (g->regs != nullptr) {
        *reinterpret_cast<volatile uint16_t*>(g->regs + kDispiAt + 2u * index) = value;
        return;
    }
    (void)sys::do_io(g->ports, Op::kWrite, &index, 2, 0);
    (void)sys::do_io(g->ports, Op::kWrite, &value, 2, 1);
}

// The registers: BAR 2 when the function has it (no port grant needed), else the bochs-vbe
// port pair if init gave it as "vbe". nullptr or why not.
const char* find_registers(const abi::DeviceInfo& info) {
    if (info.bars[2].kind == static_cast<uint32_t>(abi::BarKind::kMemory) &&
        info.bars[2].size >= kDispiAt + 2u * (kVideoMemory64k + 1)) {
        g->regs = reinterpret_cast<volatile uint8_t*>(map_bar(2, 0));
        return g->regs != nullptr ? nullptr : "cannot map the register BAR (BAR 2)";
    }
    const int64_t vbe = open(root(), "vbe");
    if (vbe < 0)
        return "no register BAR (BAR 2) and no bochs-vbe ports given as \"vbe\"";
    // The legacy device's first range is the index/data pair.
    const abi::DeviceResource r{static_cast<uint32_t>(abi::DeviceResourceKind::kBar), 0, 0};
    const int64_t h = sys::do_io(static_cast<uint64_t>(vbe), Op::kCreate, &r, sizeof r);
    (void)sys::do_io(static_cast<uint64_t>(vbe), Op::kClose);
    if (h < 0)
        return "no ports from the bochs-vbe device";
    g->ports = static_cast<Handle>(h);
    return nullptr;
}

// "WxH" into *w and *h; false when it is not two decimal numbers so separated.
bool parse_mode(const char* s, uint32_t* w, uint32_t* h) {
    const char* x = s;
    while (*x >= '0' && *x <= '9')
        ++x;
    if (x == s || *x != 'x' || x - s > 5)
        return false;
    const char* end = x + 1;
    while (*end >= '0' && *end <= '9')
        ++end;
    if (end == x + 1 || *end != '\0' || end - x - 1 > 5)
        return false;
    *w = static_cast<uint32_t>(parse_u64(s));
    *h = static_cast<uint32_t>(parse_u64(x + 1));
    return true;
}

// Sets a linear width x height mode of 32 bits per pixel, after checking it against what the
// device says it can do (its maximum resolution and video memory) and the framebuffer BAR.
// nullptr or why not.
const char* set_mode(uint32_t width, uint32_t height, uint64_t bar_size) {
    const uint16_t id = dispi_read(kId);
    if (id < kIdFirst32Bpp || id > kIdLast)
        return "not a Bochs display interface with 32-bpp modes (DISPI id)";
    dispi_write(kEnable, kGetCaps);  // the resolution registers read as the maxima
    const uint32_t max_x = dispi_read(kXres), max_y = dispi_read(kYres);
    const uint32_t max_bpp = dispi_read(kBpp);
    dispi_write(kEnable, 0);
    const uint64_t memory = uint64_t{dispi_read(kVideoMemory64k)} * 65536;
    const uint64_t bytes = uint64_t{width} * height * kBytesPerPixel;
    if (width == 0 || height == 0 || width > max_x || height > max_y || width % 8 != 0)
        return "mode outside the device's limits (width a multiple of 8, at most its maxima)";
    if (max_bpp < 32)
        return "the device has no 32-bpp modes";
    if (bytes > bar_size || (memory != 0 && bytes > memory))
        return "mode larger than the framebuffer";
    dispi_write(kXres, static_cast<uint16_t>(width));
    dispi_write(kYres, static_cast<uint16_t>(height));
    dispi_write(kBpp, 32);
    dispi_write(kEnable, kEnabled | kLinearFramebuffer);
    dispi_write(kVirtWidth, static_cast<uint16_t>(width));
    dispi_write(kXOffset, 0);
    dispi_write(kYOffset, 0);
    if (dispi_read(kXres) != width || dispi_read(kYres) != height || dispi_read(kBpp) != 32 ||
        dispi_read(kVirtWidth) != width || dispi_read(kVirtHeight) < height) {
        dispi_write(kEnable, 0);
        return "the device did not take the mode";
    }
    if (g->regs != nullptr) {
        (void)g->regs[kVgaPortsAt + kInputStatus1];
        g->regs[kVgaPortsAt + kAttributeIndex] = kPaletteAddressSource;
    }
    g->framebuffer_pitch = width * kBytesPerPixel;
    return nullptr;
}

// The framebuffer the loader set up, when the kernel says it lies in this device's BAR: checked
// against the BAR, and kept as it is. nullptr (used, or there is none: *used says) or why not.
const char* boot_framebuffer(const abi::DeviceInfo& info, bool* used) {
    abi::BootFramebuffer fb{};
    *used = false;
    const int64_t r = sys::do_io(g->device, Op::kGetMeta, &fb, sizeof fb,
                                 static_cast<uint64_t>(abi::Meta::kBootFramebuffer));
    if (r == -static_cast<int64_t>(abi::Error::kNotFound))
        return nullptr;
    if (r != sizeof fb)
        return "cannot read the boot framebuffer";
    if (fb.bar >= 6 || info.bars[fb.bar].kind != static_cast<uint32_t>(abi::BarKind::kMemory))
        return "boot framebuffer: not in a memory BAR";
    const uint64_t size = info.bars[fb.bar].size;
    if (fb.width == 0 || fb.height == 0 || fb.width > 16384 || fb.height > 16384 ||
        fb.pitch / kBytesPerPixel < fb.width || fb.offset > size ||
        uint64_t{fb.pitch} * fb.height > size - fb.offset) {
        return "boot framebuffer: its geometry does not fit its BAR";
    }
    const bool prefetchable = (info.bars[fb.bar].flags & abi::kBarPrefetchable) != 0;
    const uint64_t at = map_bar(fb.bar, prefetchable ? abi::kCacheWriteCombining : 0);
    if (at == 0)
        return "cannot map the boot framebuffer's BAR";
    g->framebuffer = reinterpret_cast<uint8_t*>(at + fb.offset);
    g->framebuffer_pitch = fb.pitch;
    g->info.width = fb.width;
    g->info.height = fb.height;
    *used = true;
    return nullptr;
}

// The surface: pitch * height bytes rounded to pages, zeroed, mapped here.
const char* make_surface() {
    g->info.pitch = g->info.width * kBytesPerPixel;
    g->info.format = static_cast<uint32_t>(abi::PixelFormat::kXrgb8888);
    g->info.surface_size = (uint64_t{g->info.pitch} * g->info.height + 4095) & ~uint64_t{4095};
    const uint64_t at = map_new(g->info.surface_size, &g->surface_handle);
    if (at == 0)
        return "no memory for the surface";
    g->surface = reinterpret_cast<uint8_t*>(at);
    return nullptr;
}

// Binds `object` as srv/NAME (an earlier binding of that name, a previous run's, replaced).
int64_t publish(Handle srv, const char* name, Handle object) {
    const uint64_t n = c::length(name);
    (void)sys::do_io(srv, Op::kDestroy, name, n);
    return sys::do_io(srv, Op::kCreate, name, n, object);
}

// Copies rectangle r of the surface to the screen (checked by the caller).
void copy_rect(const abi::Rect& r) {
    const uint64_t row_bytes = uint64_t{r.width} * kBytesPerPixel;
    const uint8_t* from = g->surface + uint64_t{r.y} * g->info.pitch + uint64_t{r.x} * 4;
    uint8_t* to = g->framebuffer + uint64_t{r.y} * g->framebuffer_pitch + uint64_t{r.x} * 4;
    for (uint32_t row = 0; row < r.height; ++row) {
        c::copy(to, from, row_bytes);
        from += g->info.pitch;
        to += g->framebuffer_pitch;
    }
}

// Whether r lies wholly inside the mode and is not empty (no sum that can overflow).
bool rect_ok(const abi::Rect& r) {
    return r.width != 0 && r.height != 0 && r.width <= g->info.width &&
           r.x <= g->info.width - r.width && r.height <= g->info.height &&
           r.y <= g->info.height - r.height;
}

// A write: whole Rect records, every one checked before any is copied.
uint16_t flush(std::span<std::byte> data, uint64_t* value) {
    const uint64_t count = data.size() / sizeof(abi::Rect);
    if (count == 0 || data.size() % sizeof(abi::Rect) != 0) {
        ++g->refused;
        return abi::queue_error_status(abi::Error::kInvalidArgument);
    }
    for (uint64_t i = 0; i < count; ++i) {
        abi::Rect r{};
        c::copy(&r, data.data() + i * sizeof r, sizeof r);
        if (!rect_ok(r)) {
            ++g->refused;
            return abi::queue_error_status(abi::Error::kInvalidArgument);
        }
    }
    for (uint64_t i = 0; i < count; ++i) {
        abi::Rect r{};
        c::copy(&r, data.data() + i * sizeof r, sizeof r);
        copy_rect(r);
    }
    ++g->flushes;
    g->rectangles += count;
    *value = data.size();
    return kOk;
}

// One forwarded operation: its completion status and value.
uint16_t perform(const ipc::Operation& op, std::span<std::byte> data, uint64_t* value) {
    const auto o = static_cast<Op>(op.request.opcode - abi::kQueueOpBase);
    switch (o) {
        case Op::kClose:
            return kOk;  // no other objects are made: nothing kept per open
        case Op::kWrite:
            return flush(data, value);
        case Op::kGetMeta:
            if (static_cast<abi::Meta>(op.request.args[0]) != abi::Meta::kDisplayInfo)
                return abi::queue_error_status(abi::Error::kInvalidArgument);
            if (data.size() < sizeof g->info)
                return abi::queue_error_status(abi::Error::kBufferTooSmall);
            c::copy(data.data(), &g->info, sizeof g->info);
            *value = sizeof g->info;
            return kOk;
        default:
            return abi::queue_error_status(abi::Error::kNotSupported);
    }
}

}  // namespace

int keel_main(const StartInfo& start) {
    void* storage = allocate(sizeof(Display));
    if (storage == nullptr) {
        print("bochs-display: no memory\n");
        return 1;
    }
    g = new (storage) Display;
    // Arguments: NAME and mode=WxH, in any order.
    char words_storage[128];
    const char* words[4];
    const int n =
        split_args(start.args, start.args_length, words_storage, sizeof words_storage, words, 4);
    const char* name = "display0";
    uint32_t width = kDefaultWidth, height = kDefaultHeight;
    bool mode_given = false;
    for (int i = 0; i < n; ++i) {
        if (c::compare(words[i], "mode=", 5) == 0) {
            if (!parse_mode(words[i] + 5, &width, &height)) {
                print("bochs-display: %s: expected mode=WIDTHxHEIGHT\n", words[i]);
                return 1;
            }
            mode_given = true;
        } else {
            name = words[i];
        }
    }
    if (n < 0 || c::length(name) + 8 > abi::kMaxNameLength) {
        print("bochs-display: usage: bochs-display [NAME] [mode=WxH] (NAME at most %lu bytes)\n",
              abi::kMaxNameLength - 8);
        return 1;
    }
    char surface_name[abi::kMaxNameLength + 1];
    c::copy(surface_name, name, c::length(name));
    c::copy(surface_name + c::length(name), ".surface", 9);

    const int64_t device = open(root(), "device");
    if (device < 0) {
        print("bochs-display: no device given: %s\n", error_text(device));
        return 1;
    }
    g->device = static_cast<Handle>(device);
    abi::DeviceInfo info{};
    if (sys::do_io(g->device, Op::kGetMeta, &info, sizeof info,
                   static_cast<uint64_t>(abi::Meta::kDevice)) != sizeof info ||
        info.bus_kind != static_cast<uint32_t>(abi::DeviceBus::kPci) || info.vendor != kVendor ||
        info.device != kDevice) {
        print("bochs-display: not QEMU's standard VGA (PCI 1234:1111)\n");
        return 1;
    }
    if (const char* why = boot_framebuffer(info, &g->boot)) {
        // The driver can set a mode itself: a boot framebuffer it cannot use is not fatal.
        print("bochs-display: %s; setting a mode instead\n", why);
        g->boot = false;
    }
    if (g->boot && mode_given)
        print("bochs-display: the loader's mode is kept; mode=%ux%u ignored\n", width, height);
    if (!g->boot) {
        if (info.bars[0].kind != static_cast<uint32_t>(abi::BarKind::kMemory) ||
            (info.bars[0].flags & abi::kBarPrefetchable) == 0) {
            print("bochs-display: BAR 0 is not a prefetchable framebuffer\n");
            return 1;
        }
        const uint64_t fb = map_bar(0, abi::kCacheWriteCombining);
        if (fb == 0) {
            print("bochs-display: cannot map the framebuffer (BAR 0)\n");
            return 1;
        }
        g->framebuffer = reinterpret_cast<uint8_t*>(fb);
        if (const char* why = find_registers(info)) {
            print("bochs-display: %s\n", why);
            return 1;
        }
        if (const char* why = set_mode(width, height, info.bars[0].size)) {
            print("bochs-display: %ux%u: %s\n", width, height, why);
            return 1;
        }
        g->info.width = width;
        g->info.height = height;
    }
    if (const char* why = make_surface()) {
        print("bochs-display: %s\n", why);
        return 1;
    }
    // The screen starts as the surface does: black.
    const abi::Rect whole{0, 0, g->info.width, g->info.height};
    copy_rect(whole);

    if (const int64_t r = g->port.create(kServeCapacity, kServeBuffers, kServeBufferBytes); r < 0) {
        print("bochs-display: cannot serve: %s\n", error_text(r));
        return 1;
    }
    const int64_t srv = open(root(), "srv");
    const uint32_t surface_rights =
        abi::kRightRead | abi::kRightWrite | abi::kRightMap | abi::kRightShare;
    const int64_t shared =
        sys::do_io(g->surface_handle, Op::kShare, nullptr, 0, uint64_t{surface_rights} << 32);
    int64_t bound = srv < 0 ? srv : shared < 0 ? shared : 0;
    // The surface first: a client that finds srv/NAME (init's ready=) finds its surface too.
    if (bound == 0)
        bound = publish(static_cast<Handle>(srv), surface_name, static_cast<Handle>(shared));
    if (bound == 0)
        bound = publish(static_cast<Handle>(srv), name, g->port.served());
    if (bound < 0) {
        print("bochs-display: cannot publish srv/%s: %s\n", name, error_text(bound));
        return 1;
    }
    (void)sys::do_io(static_cast<Handle>(shared), Op::kClose);
    (void)sys::do_io(static_cast<Handle>(srv), Op::kClose);
    print("bochs-display: srv/%s: %ux%u, 32 bpp XRGB8888, %s; surface srv/%s (%lu KiB)\n", name,
          g->info.width, g->info.height,
          g->boot              ? "the loader's framebuffer"
          : g->regs != nullptr ? "mode set through BAR 2"
                               : "mode set through ports",
          surface_name, g->info.surface_size / 1024);
    for (;;) {
        if (g->port.sync(true) < 0)
            continue;
        (void)g->port.server().poll();
        while (auto op = g->port.server().take()) {
            uint64_t value = 0;
            const uint16_t status = perform(*op, g->port.server().bytes(*op), &value);
            (void)g->port.server().complete(op->id, status, value);
        }
    }
}
