// Interrupt objects (abi::Kind::kInterrupt): one device interrupt source as seen by one holder.
// Device objects (obj/device.cpp) make them for the driver that holds the device; the kernel
// tests make them directly.
//
//   read (Read): a u64, the firings since the last read (never 0); a buffer under 8 bytes is
//     kBufferTooSmall; nothing fired yet is kWouldBlock on the object's wait queue, so do_io
//     sleeps and an asynchronous queue parks the read until the interrupt handler wakes it.
//   write (Write, any buffer): acknowledge. A level-triggered line is masked in the I/O APIC
//     when it fires and stays masked until every holder it signalled has acknowledged (the
//     driver clears the cause in its device first, then acknowledges). Edge-triggered sources
//     (MSI, most ISA IRQs) are never masked: acknowledging is a no-op.
//   get_meta kInterruptInfo: abi::InterruptInfo.
//
// Firings nobody reads are counted (`pending`), never lost. The last reference going away
// (the driver's process ending closes its handles) masks the source, frees its vector and
// unhooks it from dispatch in one step with interrupts off: the handler never sees a freed
// object, and a line its device still asserts stays masked rather than storming.
//
// Interrupts off for every call (single CPU, no locks: sched/scheduler.hpp).
#pragma once

#include <cstdint>

#include "dev/pci.hpp"
#include "obj/object.hpp"
#include "sched/wait_queue.hpp"

namespace keel::obj {

struct InterruptLine;

class InterruptObject final : public Object {
  public:
    // Legacy ISA IRQ `irq` (0-15), through the I/O APIC, with the MADT's interrupt source
    // override applied (GSI, polarity, trigger; without one: GSI = irq, edge, active high).
    // kInvalidArgument (irq > 15), kNotSupported (no I/O APIC: MADT missing; no input for the
    // GSI), kExists (the GSI is in use with another trigger mode), kFull (no vector left),
    // kNoMemory.
    static Result<RefPtr<InterruptObject>> create_isa(uint8_t irq);

    // The PCI function's INTx, through the I/O APIC. Routed by the function's interrupt line
    // register as the firmware left it at boot (SeaBIOS programs it on pc and on q35): the
    // kernel does not interpret the AML _PRT, so the firmware's routing is what is trusted. A
    // line below 16 names an ISA IRQ (overrides applied, level and active low where the
    // override conforms to the bus), a larger one a GSI (level, active low). Functions on one
    // GSI share it: every holder is signalled when it fires and the line stays masked until
    // each of them acknowledged. Clears the command register's INTx disable bit unless MSI
    // objects of the function exist. f: an enumerated function (or a copy). kNotSupported (no
    // interrupt pin, line 0xff (unrouted), no I/O APIC or no input for the GSI), kExists,
    // kFull, kNoMemory, kInvalidArgument (f is not an enumerated function).
    static Result<RefPtr<InterruptObject>> create_pci_intx(const dev::PciFunction& f);

    // Message `index` of the function's MSI-X table, or of its MSI capability when it has no
    // MSI-X (dev/msi.hpp): a vector of its own, edge-triggered, the capability enabled and INTx
    // disabled (until the function's last MSI object goes, if INTx objects of the function
    // exist then). Delivery needs bus mastering (command bit 2), the driver's to enable.
    // kInvalidArgument (index >= dev::msi_vector_count(f), or f not enumerated), kNotSupported
    // (no MSI or MSI-X; plain MSI index > 0: several MSI vectors must be one aligned block;
    // MSI-X table outside a memory BAR), kExists (an object for this message exists), kFull,
    // kNoMemory.
    static Result<RefPtr<InterruptObject>> create_msi(const dev::PciFunction& f, uint32_t index);

    Result<uint64_t> read(Request& req) override;
    Result<uint64_t> write(Request& req) override;
    Result<uint64_t> get_meta(Request& req) override;

    abi::InterruptInfo info() const;
    // A level-triggered line that fired and waits for this holder's acknowledgement.
    bool awaiting_ack() const { return awaiting_ack_; }
    // Someone waits in a read (tests).
    // A thread blocked in a read, or a queue_wait listening for one (tests).
    bool has_readers() const { return !readers_.empty() || readers_.watched(); }

  private:
    InterruptObject() : Object(abi::Kind::kInterrupt) {}
    ~InterruptObject() override;

    static Result<RefPtr<InterruptObject>> create_on_line(uint32_t gsi, uint32_t flags);
    // The dispatch handlers (dev/irq.hpp): context is the InterruptLine or the MSI object.
    static bool on_line(void* context);
    static bool on_msi(void* context);
    // One firing: counted, readers woken (answers whether a thread was). Interrupt handler.
    bool signal();
    void leave_line();
    void leave_msi();
    static bool function_has_msi(const dev::PciFunction* f);
    static bool function_has_intx(const dev::PciFunction* f);

    uint32_t resource_kind_ = 0;  // abi::DeviceResourceKind
    uint32_t flags_ = 0;          // abi::kInterruptLevel, abi::kInterruptActiveLow
    uint8_t vector_ = 0;
    InterruptLine* line_ = nullptr;  // INTx and ISA: the shared I/O APIC input
    InterruptObject* next_holder_ = nullptr;
    const dev::PciFunction* function_ = nullptr;       // MSI (an entry of the enumeration table)
    const dev::PciFunction* intx_function_ = nullptr;  // PCI INTx (the same table)
    uint32_t msi_index_ = 0;
    InterruptObject* next_msi_ = nullptr;
    bool awaiting_ack_ = false;
    uint64_t count_ = 0;
    uint64_t pending_ = 0;
    sched::WaitQueue readers_;
};

}  // namespace keel::obj
