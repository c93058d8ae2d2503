// DMA isolation with Intel VT-d (the DMAR's remapping units). At boot every PCI function behind a
// unit gets a domain of its own (a domain id and second-level page tables) whose tables start
// EMPTY, and translation is switched on: from then on no device can reach any memory until the
// kernel maps frames for it with iommu_map. Device objects (obj/device.*) map the DMA memory a
// driver pinned for its device, and unmap it before the frames are freed.
//
// Without a remapping unit (pc, or q35 without -device intel-iommu) every call is a no-op that
// answers the physical address: drivers are then trusted with DMA (logged once at boot).
// Interrupt remapping is not done (interrupts from devices are not isolated by this code).
//
// Calling context: any thread, interrupts on or off; every call takes one spin lock and may
// spin on the unit's invalidation registers (microseconds under QEMU).
#pragma once

#include <cstdint>

#include "dev/pci.hpp"
#include "lib/result.hpp"
#include "mm/address.hpp"

namespace keel::dev {

// Reads the DMAR (dev/acpi), sets up root, context and empty second-level tables for every PCI
// function behind a unit, identity-maps the DMAR's reserved regions (RMRR) for the devices
// they name, and enables translation; logs "IOMMU: DMA remapping on, N devices isolated" or
// "IOMMU: none; drivers are trusted with DMA". Call once, after init_pci.
void init_iommu();

// True when translation is on (at least one unit set up).
bool iommu_enabled();
// True when f's DMA goes through a domain of its own: it reaches only what iommu_map gave it,
// and after iommu_unmap the frames are safe to free.
bool iommu_isolates(const PciFunction& f);

// Makes `pages` frames from `phys` (page-aligned, physically contiguous) reachable by `f` alone,
// read-only for the device unless `writable`, and answers the device address (IOVA) it must
// use: chosen by the kernel, never 0 and never below 1 MiB, each mapping followed by an
// unmapped guard page. Caches are invalidated as the unit's caching mode requires, so the
// mapping is usable when this returns. Errors: kInvalidArgument (pages 0 or above 2^20, phys
// unaligned or wrapping), kNotFound (f is not an enumerated function), kNotSupported (f sits
// behind a unit but got no domain: its DMA is blocked), kFull (the domain's mapping table or
// address space is full), kNoMemory (a page-table frame; nothing stays mapped). Without an
// IOMMU, or for a function no unit covers, answers phys.value (the device is trusted).
[[nodiscard]] Result<uint64_t> iommu_map(const PciFunction& f, mm::PhysAddr phys, uint64_t pages,
                                         bool writable);

// Removes a mapping made by iommu_map (the same iova and pages) and invalidates the unit's
// IOTLB for the domain, draining the device's reads and writes: when this returns the device
// can no longer reach those frames, which the caller may then free. Anything else is a kernel
// bug: logged and ignored.
void iommu_unmap(const PciFunction& f, uint64_t iova, uint64_t pages);

// Drops every mapping of f's domain (its driver died) except the firmware's reserved regions,
// invalidates, and frees the domain's page-table frames. f's DMA is blocked afterwards.
void iommu_reset_device(const PciFunction& f);

// Polls every unit's fault recording registers (there is no fault interrupt: call it when a
// device misbehaves, or periodically), logs each recorded fault (source bus:device.function,
// address, read or write, reason) and clears it. Answers the number of faults found, counting
// an overflow (faults lost because the registers were full) as one.
uint32_t iommu_log_faults();

}  // namespace keel::dev
