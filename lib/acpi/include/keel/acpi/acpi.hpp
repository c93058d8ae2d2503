// ACPI table parsing: the RSDP, the root table (RSDT or XSDT), the MADT (processors, I/O APICs,
// interrupt source overrides), the MCFG (PCI Express ECAM windows) and the DMAR (Intel VT-d
// remapping units and reserved memory regions). Firmware tables are
// untrusted bytes: every length, count and checksum is validated before a field is used, and
// a corrupt table gives a static, readable reason, never a fault. Pure code: physical memory is
// read only through the caller's PhysReader, so the kernel reads through its direct map and
// host tests and the fuzzer through an image of their own.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::acpi {

// Reads `size` bytes of physical memory at `phys` into `out`; false when that range is not
// readable (outside the memory the caller can reach). Must not fault.
struct PhysReader {
    bool (*read)(void* ctx, uint64_t phys, void* out, uint64_t size);
    void* ctx;
};

inline constexpr uint32_t kHeaderSize = 36;           // every system description table
inline constexpr uint32_t kMaxTableSize = 64 * 1024;  // larger is refused as implausible
inline constexpr uint32_t kMaxTables = 64;            // root table entries looked at
inline constexpr uint32_t kMaxCpus = 64;
inline constexpr uint32_t kMaxIoApics = 8;
inline constexpr uint32_t kMaxOverrides = 16;
inline constexpr uint32_t kMaxEcamWindows = 4;
inline constexpr uint32_t kMaxDmarUnits = 8;
inline constexpr uint32_t kMaxDmarReserved = 8;
inline constexpr uint32_t kMaxDeviceScopes = 32;  // kept per unit or reserved region
inline constexpr uint32_t kMaxScopePath = 4;      // (device, function) hops kept per scope

struct Rsdp {
    uint8_t revision;       // 0: ACPI 1.0 (RSDT only); 2 and up: XSDT
    char oem[7];            // NUL-terminated
    uint64_t root_address;  // the XSDT when revision >= 2 and present, else the RSDT
    bool root_is_xsdt;      // entries are 8 bytes (XSDT) rather than 4 (RSDT)
};

// Validates an RSDP copy (signature, the 20-byte checksum, and for revision 2+ the length and
// extended checksum) of `size` bytes.
const char* parse_rsdp(const uint8_t* bytes, size_t size, Rsdp* out);

struct TableRef {
    char signature[5];  // NUL-terminated
    uint64_t address;
    uint32_t length;
};

struct RootTable {
    uint32_t count;    // tables listed (and readable, with a valid header), at most kMaxTables
    uint32_t skipped;  // entries not readable or with an impossible length
    TableRef tables[kMaxTables];
};

// Reads the root table the RSDP names (length and checksum checked) and the header of each
// table it lists. `scratch` holds at least kMaxTableSize bytes.
const char* read_root(const PhysReader& mem, const Rsdp& rsdp, uint8_t* scratch, RootTable* out);

// Reads the table `ref` into `scratch` (at least kMaxTableSize bytes) and validates its
// length and checksum; `*length` is its size.
const char* read_table(const PhysReader& mem, const TableRef& ref, uint8_t* scratch,
                       uint32_t* length);

// The first table with this signature, or nullptr.
const TableRef* find(const RootTable& root, const char* signature);

struct Cpu {
    uint8_t processor_id;
    uint8_t apic_id;
    bool enabled;  // enabled, or online-capable
};
struct IoApic {
    uint8_t id;
    uint32_t address;   // its registers (physical)
    uint32_t gsi_base;  // the first global system interrupt it serves
};
struct Override {
    uint8_t source;  // ISA IRQ
    uint32_t gsi;
    uint16_t flags;  // MPS INTI flags: polarity bits 0-1, trigger mode bits 2-3
};
struct Madt {
    uint64_t local_apic_address;  // the 64-bit override when present
    bool pc_at_compatible;        // dual 8259 PICs present (they must be masked)
    uint32_t cpu_count, io_apic_count, override_count;
    uint32_t dropped;  // well-formed entries beyond the arrays' room
    Cpu cpus[kMaxCpus];
    IoApic io_apics[kMaxIoApics];
    Override overrides[kMaxOverrides];
};
// Parses a validated MADT ("APIC") of `length` bytes: every entry's length inside the table and
// at least its type's size; unknown entry types are skipped.
const char* parse_madt(const uint8_t* table, uint32_t length, Madt* out);

struct EcamWindow {
    uint64_t base;  // bus b's configuration space is at base + (b << 20), from bus 0 on (PCI
                    // Firmware spec: the base is bus 0's even when start_bus is above 0)
    uint16_t segment;
    uint8_t start_bus, end_bus;
};
struct Mcfg {
    uint32_t count;
    uint32_t dropped;
    EcamWindow windows[kMaxEcamWindows];
};
// Parses a validated MCFG of `length` bytes: whole 16-byte entries, start bus <= end bus, a
// 1 MiB-aligned base that does not wrap.
const char* parse_mcfg(const uint8_t* table, uint32_t length, Mcfg* out);

// DMAR (VT-d specification, chapter 8). A device scope names a device by the bus it starts on
// and the path of (device, function) hops from there through PCI-to-PCI bridges.
enum class ScopeType : uint8_t {
    kPciEndpoint = 1,
    kPciSubHierarchy = 2,
    kIoApic = 3,
    kHpet = 4,
    kAcpiNamespace = 5,
};
struct ScopeHop {
    uint8_t device;    // 0-31 (checked)
    uint8_t function;  // 0-7 (checked)
};
struct DeviceScope {
    ScopeType type;          // any value; unknown types are kept and ignored by users
    uint8_t enumeration_id;  // I/O APIC id, HPET number, ACPI device number
    uint8_t start_bus;
    uint8_t path_length;  // 1 to kMaxScopePath (longer paths are refused)
    ScopeHop path[kMaxScopePath];
};
struct DeviceScopes {
    uint32_t count;
    uint32_t dropped;  // well-formed scopes beyond the array
    DeviceScope entries[kMaxDeviceScopes];
};
// A DMA remapping hardware unit (DRHD).
struct DmarUnit {
    uint64_t register_base;  // 4 KiB aligned, not 0
    uint16_t segment;
    bool include_pci_all;  // flags bit 0: every device of the segment no other unit lists
    uint8_t flags;
    DeviceScopes scopes;
};
// A reserved memory region (RMRR): memory a device's firmware may reach by DMA at any time, which
// must stay identity-mapped for the devices in its scope.
struct DmarReserved {
    uint64_t base;   // 4 KiB aligned
    uint64_t limit;  // last byte; limit + 1 is 4 KiB aligned and base <= limit
    uint16_t segment;
    DeviceScopes scopes;
};
inline constexpr uint8_t kDmarIntrRemap = 1u << 0;  // DMAR flags
inline constexpr uint8_t kDmarX2apicOptOut = 1u << 1;
inline constexpr uint8_t kDmarIncludePciAll = 1u << 0;  // DRHD flags
struct Dmar {
    uint8_t host_address_width;  // in bits (the table holds width - 1)
    uint8_t flags;               // kDmarIntrRemap, kDmarX2apicOptOut, ...
    uint32_t unit_count, reserved_count;
    uint32_t dropped;  // well-formed units or regions beyond the arrays
    uint32_t skipped;  // structures of other types (ATSR, RHSA, ANDD, SATC, ...)
    DmarUnit units[kMaxDmarUnits];
    DmarReserved reserved[kMaxDmarReserved];
};
// Parses a validated DMAR of `length` bytes: every structure's length at least its type's size
// and inside the table, every device scope inside its structure with a whole, non-empty path of
// valid (device, function) hops; register bases page-aligned and not 0; reserved regions
// page-aligned with base <= limit. Structures of other types are counted as skipped.
const char* parse_dmar(const uint8_t* table, uint32_t length, Dmar* out);

// Which PCI functions a device scope names. The path is walked from the start bus through
// PCI-to-PCI bridges, whose secondary and subordinate buses come from the caller (the live
// configuration space, not the table).
struct PciAddress {
    uint8_t bus, device, function;
};
struct BridgeLookup {
    // The bus numbers behind the PCI-to-PCI bridge at `at`; false when no bridge is there.
    bool (*bridge)(void* ctx, PciAddress at, uint8_t* secondary, uint8_t* subordinate);
    void* ctx;
};
// An endpoint scope names its function exactly; a sub-hierarchy scope its bridge and every
// function on the buses behind it; other types (I/O APIC, HPET, ACPI devices) no PCI function.
// False when a hop before the last is not a bridge.
bool scope_names(const DeviceScope& scope, PciAddress f, const BridgeLookup& bridges);
bool scopes_name(const DeviceScopes& scopes, PciAddress f, const BridgeLookup& bridges);

}  // namespace keel::acpi
