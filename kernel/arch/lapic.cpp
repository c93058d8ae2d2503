#include "arch/lapic.hpp"

#include <atomic>

#include "arch/cpu.hpp"
#include "arch/idt.hpp"
#include "arch/percpu.hpp"
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
constexpr uint32_t kIcrDeliveryInit = 5u << 8;
constexpr uint32_t kIcrDeliveryStartup = 6u << 8;
constexpr uint32_t kIcrAssert = 1u << 14;
constexpr uint32_t kIcrPending = 1u << 12;
constexpr uint32_t kLvtMasked = 1u << 16;  // LVT timer mode bits 0: one-shot

constexpr uint32_t kPitHz = 1193182;
constexpr uint32_t kCalibrationMs = 10;
constexpr uint64_t kCalibrationNs = kCalibrationMs * 1'000'000ull;
constexpr uint64_t kDefaultDelayNs = 10'000'000;  // without a hook

volatile uint32_t* g_regs = nullptr;
std::atomic<uint64_t> g_ticks{0};
// Calibration: LAPIC counts (divide 16) and TSC cycles in the same kCalibrationNs.
uint64_t g_counts_per_cal = 0;
uint64_t g_tsc_per_cal = 0;
uint64_t g_tsc_start = 0;
uint64_t g_ns_mult = 0;  // ns = (tsc - g_tsc_start) * g_ns_mult >> 32
// Each CPU's one-shot time is in its per-CPU block (timer_armed_at).

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

using cpu::rdtsc;

// Measures kCalibrationMs of PIT channel 2 (gate on port 0x61, output on bit 5) in LAPIC
// counts and TSC cycles. Both are started together right after the PIT count is loaded and
// read together when it runs out: whatever error the polling adds, the two clocks share it,
// so a deadline computed on the TSC is met by the LAPIC count (what the scheduler needs).
void calibrate() {
    const uint32_t count = kPitHz / 1000 * kCalibrationMs;
    const uint8_t gate = cpu::inb(0x61);
    cpu::outb(0x61, static_cast<uint8_t>((gate & ~0x02) | 0x01));  // gate on, speaker off
    cpu::outb(0x43, 0xb0);  // channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count)
    cpu::outb(0x42, static_cast<uint8_t>(count));
    cpu::outb(0x42, static_cast<uint8_t>(count >> 8));  // mode 0 counts from this write
    write(kRegTimerInitial, 0xffffffff);
    const uint64_t tsc0 = rdtsc();
    for (uint64_t i = 0; i < 100000000 && (cpu::inb(0x61) & 0x20) == 0; ++i)
        cpu::pause();
    const uint32_t left = read(kRegTimerCurrent);
    const uint64_t tsc1 = rdtsc();
    write(kRegTimerInitial, 0);
    g_counts_per_cal = 0xffffffffu - left;
    g_tsc_per_cal = tsc1 - tsc0;
    // A broken PIT must not stop us: guess 62.5 MHz and 1 GHz (QEMU's LAPIC, a slow TSC).
    if (g_counts_per_cal == 0)
        g_counts_per_cal = 625000;
    if (g_tsc_per_cal < 1000)
        g_tsc_per_cal = kCalibrationNs;
    g_ns_mult = (kCalibrationNs << 32) / g_tsc_per_cal;
}

void (*g_tick_hook)(idt::InterruptFrame&) = nullptr;

void on_timer(idt::InterruptFrame& frame) {
    g_ticks.fetch_add(1, std::memory_order_relaxed);
    write(kRegEoi, 0);
    if (g_tick_hook != nullptr)
        g_tick_hook(frame);  // programs the next one; may switch threads: the EOI must come first
    else
        program(now_ns() + kDefaultDelayNs);
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

    // Calibrate: count down from the maximum, one-shot and masked.
    write(kRegTimerDivide, 0x3);  // divide by 16
    write(kRegLvtTimer, kLvtMasked | idt::kTimerVector);
    calibrate();

    g_tsc_start = rdtsc();
    idt::set_handler(idt::kTimerVector, on_timer);
    write(kRegLvtTimer, idt::kTimerVector);  // one-shot, unmasked
    program(kDefaultDelayNs);
    log::info("lapic: id %u, one-shot timer (%u counts per ms, divide 16), TSC %lu kHz", id(),
              timer_counts_per_ms(), tsc_per_ms());
}

uint64_t ticks() {
    return g_ticks.load(std::memory_order_relaxed);
}
uint64_t now_ns() {
    // 128-bit product: a 64-bit one would overflow after a few hours of a GHz TSC.
    const unsigned __int128 cycles = rdtsc() - g_tsc_start;
    return static_cast<uint64_t>((cycles * g_ns_mult) >> 32);
}

void program(uint64_t at) {
    const uint64_t now = now_ns();
    uint64_t delta = at > now ? at - now : 0;
    if (delta < kMinDelayNs)
        delta = kMinDelayNs;
    if (delta > kMaxDelayNs)
        delta = kMaxDelayNs;
    // Rounded up, plus 1/1024: the LAPIC and the TSC were calibrated together, but the host's
    // clocks behind them may drift apart by a few hundred ppm under TCG; an interrupt that
    // came early would cost a second one kMinDelayNs later.
    uint64_t counts = (delta * g_counts_per_cal + kCalibrationNs - 1) / kCalibrationNs;
    counts += counts / 1024 + 1;
    if (counts > 0xffffffffu)
        counts = 0xffffffffu;
    percpu::current().timer_armed_at = now + delta;
    write(kRegTimerInitial, static_cast<uint32_t>(counts));  // restarts the count-down
}

void program_if_earlier(uint64_t at) {
    if (at < percpu::current().timer_armed_at)
        program(at);
}

uint64_t armed_at() {
    return percpu::current().timer_armed_at;
}

void set_tick_hook(void (*hook)(idt::InterruptFrame&)) {
    g_tick_hook = hook;
}

uint32_t timer_counts_per_ms() {
    return static_cast<uint32_t>(g_counts_per_cal / kCalibrationMs);
}
uint64_t tsc_per_ms() {
    return g_tsc_per_cal / kCalibrationMs;
}
uint32_t id() {
    return read(kRegId) >> 24;
}
void eoi() {
    write(kRegEoi, 0);
}

void init_ap() {
    cpu::wrmsr(kApicBaseMsr, cpu::rdmsr(kApicBaseMsr) | (1u << 11));  // global enable
    write(kRegTpr, 0);
    write(kRegSpurious, 0x100 | idt::kSpuriousVector);  // software enable
    write(kRegTimerDivide, 0x3);                        // as the boot CPU's (calibrated there)
    write(kRegLvtTimer, kLvtMasked | idt::kTimerVector);
    write(kRegTimerInitial, 0);
}

void start_timer_ap() {
    write(kRegLvtTimer, idt::kTimerVector);  // one-shot, unmasked
    program(now_ns() + kDefaultDelayNs);
}

void delay_ns(uint64_t ns) {
    const uint64_t end = now_ns() + ns;
    while (now_ns() < end)
        cpu::pause();
}

namespace {
// Sends one IPI and waits (up to 1 ms) until the LAPIC has delivered it.
bool send_ipi(uint32_t apic_id, uint32_t low) {
    write(kRegIcrHigh, apic_id << 24);
    write(kRegIcrLow, low);
    const uint64_t end = now_ns() + 1'000'000;
    while ((read(kRegIcrLow) & kIcrPending) != 0) {
        if (now_ns() > end)
            return false;
        cpu::pause();
    }
    return true;
}
}  // namespace

bool send_init(uint32_t apic_id) {
    return send_ipi(apic_id, kIcrDeliveryInit | kIcrAssert);
}

bool send_startup(uint32_t apic_id, uint8_t page) {
    return send_ipi(apic_id, kIcrDeliveryStartup | kIcrAssert | page);
}

bool send_fixed(uint32_t apic_id, uint8_t vector) {
    return send_ipi(apic_id, kIcrAssert | vector);  // fixed delivery, physical destination
}

void send_nmi(uint32_t apic_id) {
    write(kRegIcrHigh, apic_id << 24);
    write(kRegIcrLow, kIcrDeliveryNmi | kIcrAssert);
    for (int i = 0; i < 100000 && (read(kRegIcrLow) & kIcrPending) != 0; ++i)
        cpu::pause();
}

void send_self_nmi() {
    // Physical destination = our own id (the "self" shorthand does not allow NMI delivery).
    send_nmi(id());
}

}  // namespace keel::lapic
