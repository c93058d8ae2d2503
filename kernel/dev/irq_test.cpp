// Kernel tests for the device vector allocator (dev/irq) and the I/O APIC driver's routing
// (dev/ioapic) against QEMU's MADT: IRQ 0 is overridden to GSI 2, the PCI link IRQs 5, 9, 10
// and 11 are level-triggered, everything else is the ISA default.
#include "dev/irq.hpp"

#include "arch/cpu.hpp"
#include "dev/acpi.hpp"
#include "dev/ioapic.hpp"
#include "log/log.hpp"
#include "log/serial.hpp"
#include "test/ktest.hpp"

namespace keel::dev {
namespace {

bool never_called(void*) {
    return false;
}

KTEST(irq_vectors_run_out_with_full_and_come_back) {
    cpu::disable_interrupts();
    const uint32_t before = irq::vectors_in_use();
    uint8_t taken[irq::kVectorCount];
    uint32_t n = 0;
    for (;;) {
        const Result<uint8_t> v = irq::allocate_vector(never_called, nullptr);
        if (!v.ok()) {
            KEXPECT_EQ(v.error(), abi::Error::kFull);
            break;
        }
        KEXPECT(v.value() >= irq::kFirstVector && v.value() <= irq::kLastVector);
        KASSERT(n < irq::kVectorCount);
        taken[n++] = v.value();
    }
    KEXPECT_EQ(n + before, irq::kVectorCount);
    KEXPECT_EQ(irq::vectors_in_use(), irq::kVectorCount);
    for (uint32_t i = 0; i < n; ++i)
        irq::free_vector(taken[i]);
    KEXPECT_EQ(irq::vectors_in_use(), before);
    cpu::enable_interrupts();
}

KTEST(ioapic_isa_routes_follow_the_madt_overrides) {
    if (!ioapic::available()) {
        log::print("irq test: SKIP ioapic_isa_routes_follow_the_madt_overrides: no I/O APIC\n");
        return;
    }
    cpu::disable_interrupts();
    // Every override as the MADT says; a conforming field takes the bus default.
    const acpi::Madt& madt = acpi_info().madt;
    for (uint32_t i = 0; i < madt.override_count; ++i) {
        const acpi::Override& o = madt.overrides[i];
        const ioapic::Route r = ioapic::isa_route(o.source);
        KEXPECT_EQ(r.gsi, o.gsi);
        const uint32_t trigger = o.flags >> 2 & 3;
        const uint32_t polarity = o.flags & 3;
        KEXPECT_EQ(r.trigger.level, trigger == 3);
        KEXPECT_EQ(r.trigger.active_low, polarity == 3);
        if (trigger == 0) {
            KEXPECT(ioapic::isa_route(o.source, {true, true}).trigger.level);
        }
    }
    // QEMU's: the timer moved to GSI 2; the RTC (IRQ 8) is not overridden.
    KEXPECT_EQ(ioapic::isa_route(0).gsi, 2u);
    const ioapic::Route rtc = ioapic::isa_route(8);
    KEXPECT_EQ(rtc.gsi, 8u);
    KEXPECT(!rtc.trigger.level && !rtc.trigger.active_low);
    KEXPECT(ioapic::isa_route(8, {true, true}).trigger.level);  // no override: the bus default
    KEXPECT(ioapic::has_gsi(23));
    KEXPECT(!ioapic::has_gsi(24));
    // Inputs nobody holds are masked (all of them at boot); the kernel holds COM1's, the
    // console's input (obj/console.cpp), unmasked.
    const uint32_t console = ioapic::isa_route(serial::kIrq).gsi;
    for (uint32_t gsi = 0; gsi < 24; ++gsi)
        KEXPECT_EQ(ioapic::masked(gsi), gsi != console);
    cpu::enable_interrupts();
}

}  // namespace
}  // namespace keel::dev
