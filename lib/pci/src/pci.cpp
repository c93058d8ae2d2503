#include <keel/bytes/le.hpp>
#include <keel/pci/pci.hpp>

namespace keel::pci {

namespace {

uint32_t le(const uint8_t* p, uint32_t n) {
    return static_cast<uint32_t>(bytes::read_le(p, n));
}

constexpr uint8_t kFirstCapability = 0x40;  // the first byte after the standard header

}  // namespace

const char* parse_function(const uint8_t* config, size_t size, Function* out) {
    if (config == nullptr || size < kConfigSize)
        return "configuration space snapshot shorter than 256 bytes";
    *out = Function{};
    out->vendor = static_cast<uint16_t>(le(config, 2));
    if (out->vendor == kNoVendor || out->vendor == 0)
        return "no function here (vendor 0xffff or 0)";
    out->device = static_cast<uint16_t>(le(config + 2, 2));
    out->revision = config[8];
    out->prog_if = config[9];
    out->subclass = config[10];
    out->class_code = config[11];
    out->header_type = config[14] & 0x7f;
    out->multifunction = (config[14] & 0x80) != 0;
    if (out->header_type == 0) {
        out->bar_count = 6;
    } else if (out->header_type == 1) {
        out->bar_count = 2;
        out->secondary_bus = config[0x19];
        out->subordinate_bus = config[0x1a];
    } else {
        return "unsupported header type (neither endpoint nor PCI-to-PCI bridge)";
    }
    out->interrupt_line = config[0x3c];
    out->interrupt_pin = config[0x3d];
    if (out->interrupt_pin > 4)
        return "interrupt pin beyond INTD";
    if ((le(config + 6, 2) & kStatusCapabilities) == 0)
        return nullptr;
    // The list: each entry's pointer dword-aligned (the low two bits are reserved), inside
    // [0x40, 0xff], visited at most once.
    uint8_t visited[kConfigSize / 4 / 8] = {};
    for (uint8_t at = config[0x34] & 0xfc; at != 0; at = config[at + 1] & 0xfc) {
        if (at < kFirstCapability)
            return "capability pointer into the standard header";
        const uint8_t slot = at / 4;
        if ((visited[slot / 8] & (1u << (slot % 8))) != 0)
            return "capability list loops";
        visited[slot / 8] = static_cast<uint8_t>(visited[slot / 8] | (1u << (slot % 8)));
        out->capabilities[out->capability_count++] = {config[at], at};
    }
    return nullptr;
}

const Capability* find_capability(const Function& f, uint8_t id) {
    for (uint32_t i = 0; i < f.capability_count; ++i) {
        if (f.capabilities[i].id == id)
            return &f.capabilities[i];
    }
    return nullptr;
}

const char* decode_bar(const Function& f, const uint8_t* config, uint32_t index, uint32_t probe_low,
                       uint32_t probe_high, Bar* out, uint32_t* slots) {
    *out = Bar{};
    *slots = 1;
    if (index >= f.bar_count)
        return "no such BAR for this header type";
    const uint32_t low = le(config + bar_offset(index), 4);
    if ((low & 1) != 0) {
        // I/O: 16-bit port space on x86; the upper half of the mask may read back as 0.
        uint32_t mask = probe_low & ~3u;
        if ((mask & 0xffff0000u) == 0)
            mask |= 0xffff0000u;
        if ((probe_low & ~3u) == 0)
            return nullptr;  // unimplemented
        const uint64_t size = uint64_t{~mask} + 1;
        const uint64_t address = low & ~3u;
        if ((size & (size - 1)) != 0)
            return "I/O BAR size is not a power of two";
        if ((address & (size - 1)) != 0 || address + size > 0x10000)
            return "I/O BAR outside the 64 KiB port space or not aligned to its size";
        *out = {BarKind::kIo, false, address, size};
        return nullptr;
    }
    const uint32_t type = (low >> 1) & 3;
    const bool prefetchable = (low & 8) != 0;
    uint64_t address = low & ~0xfu;
    uint64_t mask = probe_low & ~0xfu;
    BarKind kind = BarKind::kMemory32;
    if (type == 2) {
        if (index + 1 >= f.bar_count)
            return "64-bit BAR in the last slot";
        *slots = 2;
        kind = BarKind::kMemory64;
        address |= uint64_t{le(config + bar_offset(index + 1), 4)} << 32;
        mask |= uint64_t{probe_high} << 32;
    } else if (type != 0) {
        return "memory BAR of a reserved type";
    } else {
        mask |= 0xffffffff00000000ull;  // a 32-bit BAR's size comes from 32 bits only
    }
    if ((mask & 0xffffffffull) == 0 && (kind == BarKind::kMemory32 || mask == 0))
        return nullptr;  // unimplemented
    const uint64_t size = ~mask + 1;
    if (size == 0 || (size & (size - 1)) != 0)
        return "memory BAR size is not a power of two";
    if ((address & (size - 1)) != 0)
        return "memory BAR address not aligned to its size";
    if (address > ~0ull - (size - 1))
        return "memory BAR wraps the address space";
    *out = {kind, prefetchable, address, size};
    return nullptr;
}

bool bar_holds(const Bar& bar, uint64_t base, uint64_t bytes, uint64_t* offset) {
    if (bar.kind == BarKind::kNone || bar.kind == BarKind::kIo || bar.size == 0)
        return false;
    if (base < bar.address || base - bar.address > bar.size ||
        bytes > bar.size - (base - bar.address)) {
        return false;
    }
    *offset = base - bar.address;
    return true;
}

}  // namespace keel::pci
