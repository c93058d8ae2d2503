// Kernel tests for interrupt objects (obj/interrupt.hpp) with real sources: QEMU's `edu`
// device (-device edu: vendor 1234, device 11e8) through its INTx pin (the I/O APIC, level) and
// through MSI, the RTC's periodic interrupt as ISA IRQ 8 (edge), and the MSI-X table of q35's
// e1000e (programmed and masked; it is not made to fire). A test whose device is absent prints
// a SKIP line and passes; each that ran prints an "irq test:" line the qemu tests look for.
//
// edu: BAR0 registers, 32-bit accesses: 0x24 interrupt status, 0x60 raise (ORs the value into
// the status and signals: an MSI per write when MSI is enabled, else INTx held asserted while
// the status is not 0), 0x64 acknowledge (clears those status bits).
//
// The bodies run with interrupts off, as kernel code does; spin_until() enables them only
// while it waits, and every object is released with them off.
#include "obj/interrupt.hpp"

#include <atomic>

#include <keel/c/libc.hpp>
#include "arch/cpu.hpp"
#include "boot_handoff.hpp"
#include "dev/ioapic.hpp"
#include "dev/irq.hpp"
#include "dev/msi.hpp"
#include "dev/pci.hpp"
#include "log/log.hpp"
#include "mm/address.hpp"
#include "mm/paging.hpp"
#include "obj/memory.hpp"
#include "obj/perform.hpp"
#include "proc/process.hpp"
#include "proc/spawn.hpp"
#include "sched/scheduler.hpp"
#include "test/ktest.hpp"

namespace keel::obj {
namespace {

constexpr uint16_t kEduVendor = 0x1234;
constexpr uint16_t kEduDevice = 0x11e8;
constexpr uint32_t kEduStatus = 0x24 / 4;
constexpr uint32_t kEduRaise = 0x60 / 4;
constexpr uint32_t kEduClear = 0x64 / 4;
constexpr uint64_t kMs = 1000000;

volatile uint32_t* g_edu_regs = nullptr;  // BAR0, mapped once (MMIO mappings are never undone)

// The edu function with memory decoding and bus mastering on (MSI is a memory write by the
// device), its status cleared; nullptr with a SKIP line when there is none.
const dev::PciFunction* edu(const char* test) {
    const dev::PciFunction* f = dev::find_pci_function(kEduVendor, kEduDevice);
    if (f == nullptr || f->bars[0].kind != pci::BarKind::kMemory32) {
        log::print("irq test: SKIP %s: no edu device (boot with -- -device edu)\n", test);
        return nullptr;
    }
    if (g_edu_regs == nullptr) {
        g_edu_regs = mm::map_mmio(mm::PhysAddr{f->bars[0].address}, 4096).as<volatile uint32_t>();
    }
    const uint32_t command = dev::pci_config_read(*f, pci::kCommand, 2);
    dev::pci_config_write(*f, pci::kCommand, command | pci::kCommandMemory | pci::kCommandBusMaster,
                          2);
    g_edu_regs[kEduClear] = ~0u;
    return f;
}

// edu() for the INTx tests, which need an I/O APIC (interrupt_without_ioapic covers its
// absence).
const dev::PciFunction* edu_with_ioapic(const char* test) {
    if (!dev::ioapic::available()) {
        log::print("irq test: SKIP %s: no I/O APIC\n", test);
        return nullptr;
    }
    return edu(test);
}

// Waits with interrupts enabled until cond() holds (true) or `ns` passed (false); returns
// with interrupts off. cond runs with them off. The tests run as the idle thread: each round
// also yields, so a ready user thread (a test's child) runs at once rather than at a tick.
template <class F>
bool spin_until(F cond, uint64_t ns) {
    const uint64_t start = sched::now_ns();
    for (;;) {
        std::atomic_signal_fence(std::memory_order_seq_cst);  // cond re-reads what handlers set
        cpu::disable_interrupts();
        if (cond())
            return true;
        if (sched::now_ns() - start > ns)
            return false;
        sched::yield();
        // Not `sti; pause`: under TCG a pause in sti's one-instruction shadow leaves the
        // shadow set, and the cli after it would keep every interrupt out.
        cpu::enable_interrupts();
        asm volatile("nop");
        cpu::pause();
    }
}

// Runs body with interrupts off, then clears edu's status and turns them back on.
void interrupts_off(void (*body)()) {
    cpu::disable_interrupts();
    body();
    if (g_edu_regs != nullptr)
        g_edu_regs[kEduClear] = ~0u;
    cpu::enable_interrupts();
}

Request make_request(abi::Op op, void* buffer, uint64_t length, uint64_t arg = 0) {
    return Request{op,      abi::kRightRead | abi::kRightWrite,
                   arg,     length != 0 ? IoBuffer::kernel(buffer, length) : IoBuffer::none(),
                   nullptr, nullptr};
}

// read: the u64 count, or -error.
int64_t read_count(InterruptObject& o, uint64_t length = 8) {
    uint64_t value = 0;
    Request req = make_request(abi::Op::kRead, &value, length);
    const Result<uint64_t> r = o.read(req);
    if (!r.ok())
        return -static_cast<int64_t>(r.error());
    return r.value() == 8 ? static_cast<int64_t>(value) : -1000;
}

bool acknowledge(InterruptObject& o) {
    Request req = make_request(abi::Op::kWrite, nullptr, 0);
    return o.write(req).ok();
}

int64_t error(abi::Error e) {
    return -static_cast<int64_t>(e);
}

void edu_intx_body() {
    const dev::PciFunction* f = edu_with_ioapic("interrupt_edu_intx_level");
    if (f == nullptr)
        return;
    const uint32_t vectors = dev::irq::vectors_in_use();
    auto created = InterruptObject::create_pci_intx(*f);
    KASSERT(created.ok());
    RefPtr<InterruptObject> o = std::move(created).value();
    const abi::InterruptInfo first = o->info();
    KEXPECT_EQ(first.kind, static_cast<uint32_t>(abi::DeviceResourceKind::kInterrupt));
    KEXPECT(first.vector >= dev::irq::kFirstVector && first.vector <= dev::irq::kLastVector);
    KEXPECT(first.gsi < 24);
    KEXPECT((first.flags & abi::kInterruptLevel) != 0);
    KEXPECT_EQ(dev::irq::vectors_in_use(), vectors + 1);
    KEXPECT(!dev::ioapic::masked(first.gsi));
    KEXPECT_EQ(dev::pci_config_read(*f, pci::kCommand, 2) & pci::kCommandIntxDisable, 0u);

    // Nothing fired: the caller is told what to wait on; a short buffer is refused first.
    uint64_t value = 0;
    Request read = make_request(abi::Op::kRead, &value, 8);
    const Result<uint64_t> empty = o->read(read);
    KEXPECT(!empty.ok() && empty.error() == abi::Error::kWouldBlock);
    KEXPECT(read.wait != nullptr);
    KEXPECT_EQ(read_count(*o, 4), error(abi::Error::kBufferTooSmall));

    // Raised and held: one firing, then masked for as long as nobody acknowledges.
    g_edu_regs[kEduRaise] = 1;
    KASSERT(spin_until([&] { return o->info().count >= 1; }, 1000 * kMs));
    KEXPECT(dev::ioapic::masked(first.gsi));
    KEXPECT(o->awaiting_ack());
    KEXPECT(!spin_until([&] { return o->info().count > 1; }, 30 * kMs));
    KEXPECT_EQ(o->info().count, 1u);
    KEXPECT_EQ(o->info().pending, 1u);

    // Acknowledged while the device still asserts: unmasked, it fires again at once.
    KEXPECT(acknowledge(*o));
    KASSERT(spin_until([&] { return o->info().count >= 2; }, 1000 * kMs));
    KEXPECT(dev::ioapic::masked(first.gsi));

    // Served (status cleared), then acknowledged: unmasked and quiet.
    g_edu_regs[kEduClear] = 1;
    KEXPECT_EQ(g_edu_regs[kEduStatus], 0u);
    KEXPECT(acknowledge(*o));
    KEXPECT(!o->awaiting_ack());
    KEXPECT(!dev::ioapic::masked(first.gsi));
    KEXPECT(!spin_until([&] { return o->info().count > 2; }, 20 * kMs));
    KEXPECT(acknowledge(*o));  // nothing to acknowledge: a no-op

    // Both firings were counted without a reader; one read takes them.
    KEXPECT_EQ(read_count(*o), 2);
    KEXPECT_EQ(read_count(*o), error(abi::Error::kWouldBlock));
    KEXPECT_EQ(o->info().count, 2u);
    abi::InterruptInfo info{};
    Request meta = make_request(abi::Op::kGetMeta, &info, sizeof info,
                                static_cast<uint64_t>(abi::Meta::kInterruptInfo));
    KEXPECT_EQ(o->get_meta(meta).value(), sizeof info);
    KEXPECT_EQ(info.count, 2u);
    KEXPECT_EQ(info.pending, 0u);
    KEXPECT_EQ(info.gsi, first.gsi);

    // A driver dying with its line asserted: raised, fired, never acknowledged, then the last
    // reference goes. The input stays masked and the vector is free.
    g_edu_regs[kEduRaise] = 4;
    KEXPECT(spin_until([&] { return o->info().count >= 3; }, 1000 * kMs));
    log::print(
        "irq test: edu INTx on GSI %u, vector 0x%x, level: fired, masked until "
        "acknowledged, %lu firings counted\n",
        first.gsi, first.vector, o->info().count);
    const uint32_t gsi = first.gsi;
    o.reset();
    KEXPECT(dev::ioapic::masked(gsi));
    KEXPECT_EQ(dev::irq::vectors_in_use(), vectors);
    KEXPECT(!spin_until([] { return false; }, 10 * kMs));  // no storm, no stray vector
}

KTEST(interrupt_edu_intx_level) {
    interrupts_off(edu_intx_body);
}

// Two holders of one line (as two functions sharing a GSI would be): both signalled, the line
// masked until both acknowledged; a holder going away unacknowledged counts as acknowledged
// for the others; the last one masks it.
void edu_shared_body() {
    const dev::PciFunction* f = edu_with_ioapic("interrupt_edu_intx_shared_line");
    if (f == nullptr)
        return;
    const uint32_t vectors = dev::irq::vectors_in_use();
    auto ca = InterruptObject::create_pci_intx(*f);
    auto cb = InterruptObject::create_pci_intx(*f);
    KASSERT(ca.ok() && cb.ok());
    RefPtr<InterruptObject> a = std::move(ca).value();
    RefPtr<InterruptObject> b = std::move(cb).value();
    const uint32_t gsi = a->info().gsi;
    KEXPECT_EQ(b->info().gsi, gsi);
    KEXPECT_EQ(b->info().vector, a->info().vector);
    KEXPECT_EQ(dev::irq::vectors_in_use(), vectors + 1);  // one vector for the line

    g_edu_regs[kEduRaise] = 1;
    KASSERT(spin_until([&] { return a->info().count >= 1; }, 1000 * kMs));
    KEXPECT_EQ(b->info().count, 1u);
    g_edu_regs[kEduClear] = 1;
    KEXPECT(acknowledge(*a));
    KEXPECT(dev::ioapic::masked(gsi));  // b has not acknowledged yet
    KEXPECT(acknowledge(*b));
    KEXPECT(!dev::ioapic::masked(gsi));

    // Fired again; a acknowledges, b goes away without: the line is a's alone, unmasked.
    g_edu_regs[kEduRaise] = 2;
    KASSERT(spin_until([&] { return a->info().count >= 2; }, 1000 * kMs));
    g_edu_regs[kEduClear] = 2;
    KEXPECT(acknowledge(*a));
    KEXPECT(dev::ioapic::masked(gsi));
    b.reset();
    KEXPECT(!dev::ioapic::masked(gsi));
    KEXPECT_EQ(dev::irq::vectors_in_use(), vectors + 1);
    KEXPECT_EQ(read_count(*a), 2);
    log::print(
        "irq test: edu INTx shared by 2 holders on GSI %u: masked until both "
        "acknowledged\n",
        gsi);
    a.reset();
    KEXPECT(dev::ioapic::masked(gsi));
    KEXPECT_EQ(dev::irq::vectors_in_use(), vectors);
}

KTEST(interrupt_edu_intx_shared_line) {
    interrupts_off(edu_shared_body);
}

void edu_msi_body() {
    const dev::PciFunction* f = edu("interrupt_edu_msi");
    if (f == nullptr)
        return;
    KEXPECT(dev::msi_kind(*f) == dev::MsiKind::kMsi);
    KEXPECT_EQ(dev::msi_vector_count(*f), 1u);
    dev::ConfigRange ranges[2];
    KEXPECT_EQ(dev::msi_config_ranges(*f, ranges), 1u);
    KEXPECT_EQ(ranges[0].offset, pci::find_capability(f->info, pci::kCapMsi)->offset);
    KEXPECT(ranges[0].size >= 12);
    dev::BarRange table{}, pba{};
    KEXPECT(!dev::msix_ranges(*f, &table, &pba));

    const uint32_t vectors = dev::irq::vectors_in_use();
    const uint64_t stray = dev::irq::stray_interrupts();
    auto created = InterruptObject::create_msi(*f, 0);
    KASSERT(created.ok());
    RefPtr<InterruptObject> o = std::move(created).value();
    KEXPECT_EQ(InterruptObject::create_msi(*f, 0).error(), abi::Error::kExists);
    KEXPECT_EQ(InterruptObject::create_msi(*f, 1).error(), abi::Error::kInvalidArgument);
    const abi::InterruptInfo info = o->info();
    KEXPECT_EQ(info.kind, static_cast<uint32_t>(abi::DeviceResourceKind::kMsi));
    KEXPECT_EQ(info.gsi, ~0u);
    KEXPECT_EQ(info.flags, 0u);
    KEXPECT_EQ(dev::irq::vectors_in_use(), vectors + 1);
    KEXPECT(!dev::msi_masked(*f, 0));
    KEXPECT((dev::pci_config_read(*f, pci::kCommand, 2) & pci::kCommandIntxDisable) != 0);

    // Through a handle, as a driver would see it.
    auto process = proc::Process::create();
    KASSERT(process.ok());
    RefPtr<proc::Process> p = std::move(process).value();
    const abi::Handle h = p->handles().insert(*o, abi::kRightRead | abi::kRightWrite).value();
    uint64_t kind = 0;
    Request meta =
        make_request(abi::Op::kGetMeta, &kind, 8, static_cast<uint64_t>(abi::Meta::kKind));
    KEXPECT(perform(*p, h, meta).ok());
    KEXPECT_EQ(kind, static_cast<uint64_t>(abi::Kind::kInterrupt));

    // Two messages with nobody reading: both counted, one read takes them.
    g_edu_regs[kEduRaise] = 1;
    KASSERT(spin_until([&] { return o->info().count >= 1; }, 1000 * kMs));
    g_edu_regs[kEduRaise] = 1;  // the status stays 1; every write to 0x60 is a new message
    KASSERT(spin_until([&] { return o->info().count >= 2; }, 1000 * kMs));
    KEXPECT(!spin_until([&] { return o->info().count > 2; }, 10 * kMs));
    KEXPECT_EQ(o->info().pending, 2u);
    KEXPECT(!o->awaiting_ack());  // edge: never masked
    KEXPECT(acknowledge(*o));
    KEXPECT_EQ(read_count(*o), 2);
    KEXPECT_EQ(read_count(*o), error(abi::Error::kWouldBlock));
    g_edu_regs[kEduClear] = ~0u;
    log::print("irq test: edu MSI on vector 0x%x: 2 messages counted with no reader\n",
               info.vector);

    // Released (the handle too): MSI disabled, INTx stays disabled, the vector is free; the
    // device raising now reaches nothing.
    p.reset();
    o.reset();
    KEXPECT(dev::msi_masked(*f, 0));
    KEXPECT_EQ(dev::irq::vectors_in_use(), vectors);
    KEXPECT((dev::pci_config_read(*f, pci::kCommand, 2) & pci::kCommandIntxDisable) != 0);
    g_edu_regs[kEduRaise] = 1;
    KEXPECT(!spin_until([] { return false; }, 10 * kMs));
    KEXPECT_EQ(dev::irq::stray_interrupts(), stray);
    g_edu_regs[kEduClear] = ~0u;
}

KTEST(interrupt_edu_msi) {
    interrupts_off(edu_msi_body);
}

// MSI and INTx objects of one function: while an MSI object exists the function signals by
// MSI only (INTx disabled); when the last one goes, the held INTx works again.
void edu_msi_then_intx_body() {
    const dev::PciFunction* f = edu_with_ioapic("interrupt_edu_msi_then_intx");
    if (f == nullptr)
        return;
    auto ci = InterruptObject::create_pci_intx(*f);
    KASSERT(ci.ok());
    RefPtr<InterruptObject> intx = std::move(ci).value();
    auto cm = InterruptObject::create_msi(*f, 0);
    KASSERT(cm.ok());
    RefPtr<InterruptObject> msi = std::move(cm).value();
    KEXPECT((dev::pci_config_read(*f, pci::kCommand, 2) & pci::kCommandIntxDisable) != 0);
    g_edu_regs[kEduRaise] = 1;
    KASSERT(spin_until([&] { return msi->info().count >= 1; }, 1000 * kMs));
    KEXPECT(!spin_until([&] { return intx->info().count != 0; }, 10 * kMs));
    g_edu_regs[kEduClear] = ~0u;

    msi.reset();
    KEXPECT_EQ(dev::pci_config_read(*f, pci::kCommand, 2) & pci::kCommandIntxDisable, 0u);
    g_edu_regs[kEduRaise] = 1;
    KASSERT(spin_until([&] { return intx->info().count >= 1; }, 1000 * kMs));
    g_edu_regs[kEduClear] = ~0u;
    KEXPECT(acknowledge(*intx));
    log::print("irq test: edu MSI then INTx: INTx disabled while MSI is held, back after\n");
}

KTEST(interrupt_edu_msi_then_intx) {
    interrupts_off(edu_msi_then_intx_body);
}

// A user process blocked in do_io read on an MSI object, woken by the interrupt handler: the
// path a driver takes. The child is a hand-made ELF (one R+X segment) given the object as its
// handle 0; it reads the count and exits with it as its status (or with -error). The child
// gets the CPU when spin_until yields.
constexpr uint64_t kChildEntry = 0x400000;
constexpr uint32_t kChildHandle = abi::initial_handle(0);
// clang-format off
constexpr uint8_t kChildCode[] = {
    0xbf, kChildHandle & 0xff, kChildHandle >> 8 & 0xff, kChildHandle >> 16 & 0xff,
    kChildHandle >> 24,                    // mov edi, handle
    0x31, 0xf6,                            // xor esi, esi        (op read)
    0x48, 0x8d, 0x54, 0x24, 0xe0,          // lea rdx, [rsp-0x20] (buffer)
    0x41, 0xba, 0x08, 0x00, 0x00, 0x00,    // mov r10d, 8         (length)
    0x45, 0x31, 0xc0,                      // xor r8d, r8d        (arg)
    0x31, 0xc0,                            // xor eax, eax        (do_io)
    0x0f, 0x05,                            // syscall
    0x48, 0x8b, 0x7c, 0x24, 0xe0,          // mov rdi, [rsp-0x20] (the count)
    0x48, 0x83, 0xf8, 0x08,                // cmp rax, 8
    0x74, 0x03,                            // je exit
    0x48, 0x89, 0xc7,                      // mov rdi, rax        (-error)
    0xb8, 0x03, 0x00, 0x00, 0x00,          // exit: mov eax, 3    (process_exit)
    0x0f, 0x05,                            // syscall
    0x0f, 0x0b,                            // ud2
};
// clang-format on

void put(uint8_t* at, uint64_t v, uint32_t bytes) {
    for (uint32_t i = 0; i < bytes; ++i)
        at[i] = static_cast<uint8_t>(v >> (8 * i));
}

Result<RefPtr<MemoryObject>> child_image() {
    static uint8_t elf[0x1000 + sizeof kChildCode];
    const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    for (uint32_t i = 0; i < sizeof ident; ++i)
        elf[i] = ident[i];
    put(elf + 16, 2, 2);   // ET_EXEC
    put(elf + 18, 62, 2);  // EM_X86_64
    put(elf + 20, 1, 4);
    put(elf + 24, kChildEntry, 8);
    put(elf + 32, 64, 8);  // program headers right after the header
    put(elf + 52, 64, 2);
    put(elf + 54, 56, 2);
    put(elf + 56, 1, 2);
    uint8_t* ph = elf + 64;
    put(ph, 1, 4);      // PT_LOAD
    put(ph + 4, 5, 4);  // R+X
    put(ph + 8, 0x1000, 8);
    put(ph + 16, kChildEntry, 8);
    put(ph + 24, kChildEntry, 8);
    put(ph + 32, sizeof kChildCode, 8);
    put(ph + 40, sizeof kChildCode, 8);
    put(ph + 48, 0x1000, 8);
    for (uint32_t i = 0; i < sizeof kChildCode; ++i)
        elf[0x1000 + i] = kChildCode[i];
    RefPtr<MemoryObject> m = KEEL_TRY(MemoryObject::create(sizeof elf));
    KEEL_TRY(m->write_bytes(0, elf, sizeof elf));
    return m;
}

void edu_msi_wakes_reader_body() {
    const dev::PciFunction* f = edu("interrupt_edu_msi_wakes_blocked_reader");
    if (f == nullptr)
        return;
    auto created = InterruptObject::create_msi(*f, 0);
    KASSERT(created.ok());
    RefPtr<InterruptObject> o = std::move(created).value();
    auto image = child_image();
    KASSERT(image.ok());
    const proc::HandleEntry given{o.get(), abi::kRightRead};
    const char name[] = "irqwait";
    auto spawned = proc::spawn({image.value().get(), &given, 1, "", 0, name, sizeof name - 1});
    KASSERT(spawned.ok());
    RefPtr<proc::Process> child = std::move(spawned).value();

    // The child runs at a tick, finds nothing pending and sleeps in its read.
    KASSERT(spin_until([&] { return o->has_readers(); }, 2000 * kMs));
    KEXPECT_EQ(child->exit_info().reason, static_cast<uint32_t>(abi::ExitReason::kRunning));
    g_edu_regs[kEduRaise] = 1;
    KASSERT(spin_until(
        [&] {
            return child->exit_info().reason != static_cast<uint32_t>(abi::ExitReason::kRunning);
        },
        2000 * kMs));
    KEXPECT_EQ(child->exit_info().reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    KEXPECT_EQ(child->exit_info().status, 1);  // it read one firing
    KEXPECT_EQ(o->info().count, 1u);
    KEXPECT_EQ(o->info().pending, 0u);
    KEXPECT(!o->has_readers());
    log::print("irq test: edu MSI woke a process blocked in do_io read; it read %ld firing\n",
               child->exit_info().status);
    g_edu_regs[kEduClear] = ~0u;
}

KTEST(interrupt_edu_msi_wakes_blocked_reader) {
    interrupts_off(edu_msi_wakes_reader_body);
}

// A driver process that dies holding the only reference to an INTx object whose line fired
// and is still asserted, never acknowledged: its end releases the object, the input stays
// masked (no storm) and the vector is free.
void edu_intx_driver_dies_body() {
    const dev::PciFunction* f = edu_with_ioapic("interrupt_edu_intx_driver_dies_asserted");
    if (f == nullptr)
        return;
    const uint32_t vectors = dev::irq::vectors_in_use();
    const uint64_t stray = dev::irq::stray_interrupts();
    auto created = InterruptObject::create_pci_intx(*f);
    KASSERT(created.ok());
    RefPtr<InterruptObject> o = std::move(created).value();
    const uint32_t gsi = o->info().gsi;
    auto image = child_image();
    KASSERT(image.ok());
    const proc::HandleEntry given{o.get(), abi::kRightRead};
    auto spawned = proc::spawn({image.value().get(), &given, 1, "", 0, nullptr, 0});
    KASSERT(spawned.ok());
    RefPtr<proc::Process> child = std::move(spawned).value();
    InterruptObject* held = o.get();  // alive while the child's handle holds it
    o.reset();

    KASSERT(spin_until([&] { return held->has_readers(); }, 2000 * kMs));
    g_edu_regs[kEduRaise] = 1;  // held asserted: the child reads once and exits, no ack
    KASSERT(spin_until(
        [&] {
            return child->exit_info().reason != static_cast<uint32_t>(abi::ExitReason::kRunning);
        },
        2000 * kMs));
    KEXPECT_EQ(child->exit_info().status, 1);
    child.reset();
    KEXPECT_EQ(dev::irq::vectors_in_use(), vectors);  // the object is gone with the process
    KEXPECT(dev::ioapic::masked(gsi));
    KEXPECT_EQ(g_edu_regs[kEduStatus], 1u);  // still asserting
    KEXPECT(!spin_until([] { return false; }, 20 * kMs));
    KEXPECT_EQ(dev::irq::stray_interrupts(), stray);
    g_edu_regs[kEduClear] = ~0u;
    log::print("irq test: edu INTx driver died with its line asserted: GSI %u left masked\n", gsi);
}

KTEST(interrupt_edu_intx_driver_dies_asserted) {
    interrupts_off(edu_intx_driver_dies_body);
}

// The queue path: user/irqwait (a boot module: --module build/kernel/user/irqwait.elf) queues
// a read of an MSI object and sleeps in queue_wait; the firing wakes it, the kernel completes
// the parked read, and irqwait acknowledges with a queued write and exits with the count.
void edu_msi_queue_body() {
    const boot::BootInfo& info = boot_info();
    const boot::Module* module = nullptr;
    for (uint32_t i = 0; i < info.module_count; ++i) {
        if (memcmp(info.modules[i].name, "irqwait.elf", 12) == 0)
            module = &info.modules[i];
    }
    if (module == nullptr) {
        log::print("irq test: SKIP interrupt_edu_msi_queue_read: no irqwait.elf boot module\n");
        return;
    }
    const dev::PciFunction* f = edu("interrupt_edu_msi_queue_read");
    if (f == nullptr)
        return;
    auto created = InterruptObject::create_msi(*f, 0);
    KASSERT(created.ok());
    RefPtr<InterruptObject> o = std::move(created).value();
    auto image = MemoryObject::create(module->size);
    KASSERT(image.ok());
    KASSERT(image.value()
                ->write_bytes(0, mm::direct_map<uint8_t>(mm::PhysAddr{module->base}), module->size)
                .ok());
    const proc::HandleEntry given{o.get(), abi::kRightRead | abi::kRightWrite};
    const char name[] = "irqwait";
    auto spawned = proc::spawn({image.value().get(), &given, 1, "", 0, name, sizeof name - 1});
    KASSERT(spawned.ok());
    RefPtr<proc::Process> child = std::move(spawned).value();

    // Parked: its queue_wait sleeps on the interrupt's wait queue.
    KASSERT(spin_until([&] { return o->has_readers(); }, 2000 * kMs));
    KEXPECT_EQ(o->info().count, 0u);
    g_edu_regs[kEduRaise] = 1;
    KASSERT(spin_until(
        [&] {
            return child->exit_info().reason != static_cast<uint32_t>(abi::ExitReason::kRunning);
        },
        2000 * kMs));
    KEXPECT_EQ(child->exit_info().reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    KEXPECT_EQ(child->exit_info().status, 1);
    KEXPECT_EQ(o->info().pending, 0u);
    log::print(
        "irq test: edu MSI completed a queued read (queue_wait woken by the interrupt); "
        "irqwait exited with %ld\n",
        child->exit_info().status);
    g_edu_regs[kEduClear] = ~0u;
}

KTEST(interrupt_edu_msi_queue_read) {
    interrupts_off(edu_msi_queue_body);
}

// MSI-X table programming on q35's e1000e (8086:10d3, 5 entries in BAR3), which is not made to
// fire: entries unmasked while in use, masked after, the capability disabled with the last.
void msix_body() {
    const dev::PciFunction* f = dev::find_pci_function(0x8086, 0x10d3);
    if (f == nullptr) {
        log::print("irq test: SKIP interrupt_msix_table: no e1000e (the q35 default NIC)\n");
        return;
    }
    KEXPECT(dev::msi_kind(*f) == dev::MsiKind::kMsix);
    const uint32_t n = dev::msi_vector_count(*f);
    KASSERT(n >= 2);
    dev::BarRange table{}, pba{};
    KASSERT(dev::msix_ranges(*f, &table, &pba));
    KEXPECT(table.bar < 6 && f->bars[table.bar].kind != pci::BarKind::kNone);
    KEXPECT_EQ(table.size, uint64_t{n} * 16);
    KEXPECT(table.offset + table.size <= f->bars[table.bar].size);
    KEXPECT_EQ(pba.size, (n + 63) / 64 * 8u);
    dev::ConfigRange ranges[2];
    KEXPECT_EQ(dev::msi_config_ranges(*f, ranges), 2u);  // it has MSI as well

    const uint32_t vectors = dev::irq::vectors_in_use();
    auto c0 = InterruptObject::create_msi(*f, 0);
    auto c1 = InterruptObject::create_msi(*f, n - 1);
    KASSERT(c0.ok() && c1.ok());
    RefPtr<InterruptObject> first = std::move(c0).value();
    RefPtr<InterruptObject> last = std::move(c1).value();
    KEXPECT_EQ(InterruptObject::create_msi(*f, n).error(), abi::Error::kInvalidArgument);
    KEXPECT_EQ(InterruptObject::create_msi(*f, n - 1).error(), abi::Error::kExists);
    KEXPECT(!dev::msi_masked(*f, 0));
    KEXPECT(!dev::msi_masked(*f, n - 1));
    KEXPECT(dev::msi_masked(*f, 1));  // not in use
    KEXPECT(first->info().vector != last->info().vector);
    KEXPECT_EQ(dev::irq::vectors_in_use(), vectors + 2);
    first.reset();
    KEXPECT(dev::msi_masked(*f, 0));
    KEXPECT(!dev::msi_masked(*f, n - 1));
    last.reset();
    KEXPECT(dev::msi_masked(*f, n - 1));
    KEXPECT_EQ(dev::irq::vectors_in_use(), vectors);
    log::print(
        "irq test: MSI-X table of %02x:%02x.%u (%u entries, BAR%u +0x%lx, PBA BAR%u +0x%lx) "
        "programmed and masked\n",
        f->bus, f->device, f->function, n, table.bar, table.offset, pba.bar, pba.offset);
}

KTEST(interrupt_msix_table) {
    interrupts_off(msix_body);
}

// ISA IRQ 8, the RTC's periodic interrupt (1024 Hz): edge, active high, no override on QEMU.
// The RTC holds its line up until register C is read, so each read allows the next edge.
uint8_t cmos_read(uint8_t reg) {
    cpu::outb(0x70, reg);
    return cpu::inb(0x71);
}
void cmos_write(uint8_t reg, uint8_t v) {
    cpu::outb(0x70, reg);
    cpu::outb(0x71, v);
}
constexpr uint8_t kRtcA = 0x0a, kRtcB = 0x0b, kRtcC = 0x0c;
constexpr uint8_t kRtcPeriodic = 1u << 6;

void rtc_body() {
    if (!dev::ioapic::available()) {
        log::print("irq test: SKIP interrupt_isa_rtc_irq8: no I/O APIC\n");
        return;
    }
    KEXPECT_EQ(InterruptObject::create_isa(16).error(), abi::Error::kInvalidArgument);
    auto created = InterruptObject::create_isa(8);
    KASSERT(created.ok());
    RefPtr<InterruptObject> o = std::move(created).value();
    const abi::InterruptInfo info = o->info();
    const dev::ioapic::Route r = dev::ioapic::isa_route(8);
    KEXPECT_EQ(info.gsi, r.gsi);
    KEXPECT_EQ(info.flags, 0u);  // edge, active high

    const uint8_t a = cmos_read(kRtcA);
    const uint8_t b = cmos_read(kRtcB);
    cmos_write(kRtcA, static_cast<uint8_t>((a & 0xf0) | 6));  // 1024 Hz
    (void)cmos_read(kRtcC);
    cmos_write(kRtcB, b | kRtcPeriodic);
    uint64_t seen = 0;
    for (int i = 0; i < 3; ++i) {
        const bool fired = spin_until([&] { return o->info().count > seen; }, 1000 * kMs);
        KEXPECT(fired);
        seen = o->info().count;
        (void)cmos_read(kRtcC);  // lowers the line: the next period makes a new edge
    }
    cmos_write(kRtcB, b & ~kRtcPeriodic);
    (void)cmos_read(kRtcC);
    cmos_write(kRtcA, a);
    KEXPECT(seen >= 3);
    KEXPECT_EQ(static_cast<uint64_t>(read_count(*o)), seen);
    KEXPECT(!o->awaiting_ack());
    log::print("irq test: RTC ISA IRQ 8 on GSI %u, vector 0x%x, edge: %lu firings\n", info.gsi,
               info.vector, seen);
    o.reset();
    KEXPECT(dev::ioapic::masked(info.gsi));
}

KTEST(interrupt_isa_rtc_irq8) {
    interrupts_off(rtc_body);
}

// Without a MADT (QEMU pc with -machine acpi=off) there is no I/O APIC to route through: ISA
// and INTx objects are refused with NotSupported; MSI does not need one.
KTEST(interrupt_without_ioapic) {
    if (dev::ioapic::available()) {
        log::print("irq test: SKIP interrupt_without_ioapic: the MADT has an I/O APIC\n");
        return;
    }
    cpu::disable_interrupts();
    KEXPECT_EQ(InterruptObject::create_isa(8).error(), abi::Error::kNotSupported);
    if (const dev::PciFunction* f = dev::find_pci_function(kEduVendor, kEduDevice)) {
        KEXPECT_EQ(InterruptObject::create_pci_intx(*f).error(), abi::Error::kNotSupported);
    }
    cpu::enable_interrupts();
    log::print(
        "irq test: no I/O APIC (MADT missing): ISA IRQ and INTx refused with "
        "NotSupported\n");
}

}  // namespace
}  // namespace keel::obj
