// PCI configuration space parsing: a function's identity, header type, interrupt pin, bridge
// bus numbers, capability list and base address registers. A configuration space is device-
// controlled bytes (a device, or an emulator, can put anything there): pointers are bounds-
// and loop-checked, BAR sizes must be powers of two with aligned addresses that do not wrap,
// and every refusal is a static, readable reason. Pure code on a snapshot of the bytes; how
// they are read (ECAM or the legacy ports) and how BARs are probed is the caller's business.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::pci {

inline constexpr uint32_t kConfigSize = 256;      // the conventional space; parsed from a snapshot
inline constexpr uint16_t kNoVendor = 0xffff;     // what an absent function reads as
inline constexpr uint32_t kMaxCapabilities = 48;  // (256 - 64) / 4: one per dword at most

// Register offsets and bits the kernel needs to write as well as read.
inline constexpr uint16_t kCommand = 0x04;
inline constexpr uint16_t kCommandIo = 1u << 0;      // decode I/O BARs
inline constexpr uint16_t kCommandMemory = 1u << 1;  // decode memory BARs
inline constexpr uint16_t kCommandBusMaster = 1u << 2;
inline constexpr uint16_t kCommandIntxDisable = 1u << 10;
inline constexpr uint16_t kStatusCapabilities = 1u << 4;
inline constexpr uint16_t kFirstBar = 0x10;

// Capability ids (PCI Code and ID Assignment).
inline constexpr uint8_t kCapPowerManagement = 0x01;
inline constexpr uint8_t kCapMsi = 0x05;
inline constexpr uint8_t kCapVendor = 0x09;
inline constexpr uint8_t kCapPciExpress = 0x10;
inline constexpr uint8_t kCapMsix = 0x11;

struct Capability {
    uint8_t id;
    uint8_t offset;  // of its header in the configuration space
};

struct Function {
    uint16_t vendor, device;
    uint8_t class_code, subclass, prog_if, revision;
    uint8_t header_type;    // 0 endpoint, 1 PCI-to-PCI bridge, 2 CardBus (not supported)
    bool multifunction;     // function 0's header says functions 1-7 may exist
    uint8_t interrupt_pin;  // 0 none, 1-4 INTA-INTD
    uint8_t interrupt_line;
    uint8_t secondary_bus, subordinate_bus;  // bridges only
    uint32_t bar_count;                      // 6 for endpoints, 2 for bridges
    uint32_t capability_count;
    Capability capabilities[kMaxCapabilities];
};

// Parses a function's configuration space snapshot (`size` >= kConfigSize bytes). Fails for an
// absent function (vendor 0xffff), an unknown header type, a capability pointer into the
// header or past the space, and a capability list that loops.
const char* parse_function(const uint8_t* config, size_t size, Function* out);

// The first capability with this id, or nullptr.
const Capability* find_capability(const Function& f, uint8_t id);

enum class BarKind : uint8_t { kNone, kIo, kMemory32, kMemory64 };
struct Bar {
    BarKind kind;
    bool prefetchable;
    uint64_t address;
    uint64_t size;
};

inline constexpr uint16_t bar_offset(uint32_t index) {
    return static_cast<uint16_t>(kFirstBar + 4 * index);
}

// Decodes BAR `index` of `f` from its value(s) in the snapshot and what reading it back gave
// after all ones were written (`probe_low`, and `probe_high` for the upper half of a 64-bit
// BAR): the standard sizing. A BAR that reads back 0 is unimplemented (kNone). A 64-bit BAR
// takes two slots: *slots is 2 then, else 1.
const char* decode_bar(const Function& f, const uint8_t* config, uint32_t index, uint32_t probe_low,
                       uint32_t probe_high, Bar* out, uint32_t* slots);

// Whether the `bytes` bytes from physical address `base` lie wholly inside memory BAR `bar`
// (an I/O or absent BAR holds nothing; no sum that can wrap). *offset gets base's offset into
// the BAR. The kernel uses it to find the device that holds the loader's framebuffer.
bool bar_holds(const Bar& bar, uint64_t base, uint64_t bytes, uint64_t* offset);

}  // namespace keel::pci
