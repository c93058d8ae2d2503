#include "arch/lapic.hpp"

#include <atomic>

#include "arch/cpu.hpp"
#include "arch/idt.hpp"
#include "log/log.hpp"
#include "mm/paging.hpp"
#include "panic.hpp"

namespace keel::lapic {

namespace {

constexpr uint32_t kApicBaseMsr = 0x1b;
constexpr uint32_t kRegId = 0x20;
constexpr uint32_t kRegTpr = 0x80;
constexpr uint32_t kRegEoi = 0xb0;
constexpr uint32_t kRegSpurious = 0xf0;
constexpr uint32_t kRegLvtTimer = 0x320;
constexpr uint32_t kRegTimerInitial = 0x380;
constexpr uint32_t kRegTimerCurrent = 0x390;
constexpr uint32_t kRegTimerDivide = 0x3e0;
constexpr uint32_t kRegIcrLow = 0x300;
constexpr uint32_t kRegIcrHigh = 0x310;
constexpr uint32_t kIcrDeliveryNmi = 4u << 8;
constexpr uint32_t kIcrAssert = 1u << 14;
constexpr uint32_t kIcrPending = 1u << 12;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtPeriodic = 1u << 17;

constexpr uint32_t kPitHz = 1193182;
constexpr uint32_t kCalibrationMs = 10;

volatile uint32_t* g_regs = nullptr;
std::atomic<uint64_t> g_ticks{0};
uint32_t g_counts_per_tick = 0;

uint32_t read(uint32_t reg) {
    return g_regs[reg / 4];
}
void write(uint32_t reg, uint32_t v) {
    g_regs[reg / 4] = v;
}

void disable_pic() {
    // Remap both 8259s to vectors 0xf0-0xff (their spurious IRQ 7/15 must not look like a CPU
    // exception), then mask every line.
    const uint8_t init[][2] = {{0x20, 0x11}, {0xa0, 0x11}, {0x21, 0xf0}, {0xa1, 0xf8},
                               {0x21, 0x04}, {0xa1, 0x02}, {0x21, 0x01}, {0xa1, 0x01},
                               {0x21, 0xff}, {0xa1, 0xff}};
    for (const auto& [port, value] : init)
        cpu::outb(port, value);
}

// Busy-waits for ms milliseconds with PIT channel 2 (gate on port 0x61, output on bit 5).
void pit_wait_ms(uint32_t ms) {
    const uint32_t count = kPitHz / 1000 * ms;
    uint8_t gate = cpu::inb(0x61);
    cpu::outb(0x61, static_cast<uint8_t>((gate & ~0x02) | 0x01));  // gate on, speaker off
    cpu::outb(0x43, 0xb0);  // channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count)
    cpu::outb(0x42, static_cast<uint8_t>(count));
    cpu::outb(0x42, static_cast<uint8_t>(count >> 8));
    gate = cpu::inb(0x61);  // restart the count: gate low then high
    cpu::outb(0x61, static_cast<uint8_t>(gate & ~0x01));
    cpu::outb(0x61, static_cast<uint8_t>(gate | 0x01));
    for (uint64_t i = 0; i < 100000000 && (cpu::inb(0x61) & 0x20) == 0; ++i)
        cpu::pause();
}

void (*g_tick_hook)(idt::InterruptFrame&) = nullptr;

void on_timer(idt::InterruptFrame& frame) {
    g_ticks.fetch_add(1, std::memory_order_relaxed);
    write(kRegEoi, 0);
    if (g_tick_hook != nullptr)
        g_tick_hook(frame);  // may switch threads: the EOI must come first
}

}  // namespace

void init() {
    uint32_t a, b, c, d;
    asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if ((d & (1u << 9)) == 0)
        panic("this CPU has no local APIC");
    disable_pic();

    const uint64_t base_msr = cpu::rdmsr(kApicBaseMsr);
    cpu::wrmsr(kApicBaseMsr, base_msr | (1u << 11));  // global enable
    g_regs = mm::map_mmio(mm::PhysAddr{base_msr & 0xffffff000ull}, 4096).as<volatile uint32_t>();
    write(kRegTpr, 0);
    write(kRegSpurious, 0x100 | idt::kSpuriousVector);  // software enable

    // Calibrate: count down from the maximum, one-shot and masked, for kCalibrationMs.
    write(kRegTimerDivide, 0x3);  // divide by 16
    write(kRegLvtTimer, kLvtMasked | idt::kTimerVector);
    write(kRegTimerInitial, 0xffffffff);
    pit_wait_ms(kCalibrationMs);
    const uint32_t elapsed = 0xffffffff - read(kRegTimerCurrent);
    write(kRegTimerInitial, 0);
    g_counts_per_tick = elapsed / kCalibrationMs * (1000 / kTimerHz);
    if (g_counts_per_tick == 0)
        g_counts_per_tick = 100000;  // a broken PIT must not stop us

    idt::set_handler(idt::kTimerVector, on_timer);
    write(kRegLvtTimer, kLvtPeriodic | idt::kTimerVector);
    write(kRegTimerInitial, g_counts_per_tick);
    log::info("lapic: id %u, timer %u Hz (%u counts per tick, divide 16)", id(), kTimerHz,
              g_counts_per_tick);
}

uint64_t ticks() {
    return g_ticks.load(std::memory_order_relaxed);
}
uint64_t now_ns() {
    constexpr uint64_t kTickNs = 1000000000ull / kTimerHz;
    const uint64_t t = ticks();
    const uint32_t left = read(kRegTimerCurrent);
    const uint64_t done = left <= g_counts_per_tick ? g_counts_per_tick - left : 0;
    return t * kTickNs + done * kTickNs / g_counts_per_tick;
}

void set_tick_hook(void (*hook)(idt::InterruptFrame&)) {
    g_tick_hook = hook;
}

uint32_t timer_counts_per_tick() {
    return g_counts_per_tick;
}
uint32_t id() {
    return read(kRegId) >> 24;
}
void eoi() {
    write(kRegEoi, 0);
}

void send_self_nmi() {
    // Physical destination = our own id (the "self" shorthand does not allow NMI delivery).
    write(kRegIcrHigh, id() << 24);
    write(kRegIcrLow, kIcrDeliveryNmi | kIcrAssert);
    for (int i = 0; i < 100000 && (read(kRegIcrLow) & kIcrPending) != 0; ++i)
        cpu::pause();
}

}  // namespace keel::lapic
