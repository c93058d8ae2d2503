#include "arch/tlb.hpp"

#include <atomic>

#include "arch/cpu.hpp"
#include "arch/idt.hpp"
#include "arch/lapic.hpp"
#include "arch/percpu.hpp"
#include "panic.hpp"

namespace keel::tlb {

namespace detail {
std::atomic<uint64_t> g_kernel_generation{0};
}  // namespace detail

namespace {

using detail::g_kernel_generation;

constexpr uint64_t kAnswerTimeoutNs = 1'000'000'000;

std::atomic<uint64_t> g_requested{0};
std::atomic<uint64_t> g_answered{0};
void (*g_answer_hook)() = nullptr;

void flush_all() {
    cpu::write_cr3(cpu::read_cr3());
}

void on_shootdown(idt::InterruptFrame&) {
    answer_shootdown();
    lapic::eoi();
}

}  // namespace

void init() {
    idt::set_handler(kShootdownVector, on_shootdown);
}

void set_answer_hook(void (*hook)()) {
    g_answer_hook = hook;
}

void shoot_down(uint32_t cpu_mask) {
    const uint32_t self = percpu::current().index;
    cpu_mask &= ~(1u << self);
    if (cpu_mask == 0)
        return;
    uint64_t wanted[percpu::kMaxCpus] = {};
    for (uint32_t i = 0; i < percpu::kMaxCpus; ++i) {
        if ((cpu_mask & (1u << i)) == 0)
            continue;
        percpu::PerCpu& c = percpu::cpu(i);
        wanted[i] = c.tlb_request.load(std::memory_order_relaxed) + 1;
        c.tlb_request.store(wanted[i], std::memory_order_release);
        g_requested.fetch_add(1, std::memory_order_relaxed);
        lapic::send_fixed(c.apic_id, kShootdownVector);
    }
    const uint64_t end = lapic::now_ns() + kAnswerTimeoutNs;
    for (uint32_t i = 0; i < percpu::kMaxCpus; ++i) {
        if ((cpu_mask & (1u << i)) == 0)
            continue;
        const percpu::PerCpu& c = percpu::cpu(i);
        while (c.tlb_done.load(std::memory_order_acquire) < wanted[i]) {
            if (lapic::now_ns() > end)
                panic("tlb: cpu %u did not answer a shootdown", i);
            cpu::pause();
        }
    }
}

void answer_shootdown() {
    percpu::PerCpu& c = percpu::current();
    const uint64_t r = c.tlb_request.load(std::memory_order_acquire);
    if (r == c.tlb_done.load(std::memory_order_relaxed))
        return;
    flush_all();
    if (g_answer_hook != nullptr)
        g_answer_hook();
    g_answered.fetch_add(1, std::memory_order_relaxed);
    c.tlb_done.store(r, std::memory_order_release);
}

void kernel_half_changed() {
    // Under the big kernel lock: one writer.
    const uint64_t g = g_kernel_generation.load(std::memory_order_relaxed) + 1;
    g_kernel_generation.store(g, std::memory_order_release);
    percpu::current().kernel_tlb_seen = g;
}

void detail::catch_up(uint64_t generation) {
    flush_all();
    percpu::current().kernel_tlb_seen = generation;
}

uint64_t requested() {
    return g_requested.load(std::memory_order_relaxed);
}
uint64_t answered() {
    return g_answered.load(std::memory_order_relaxed);
}

}  // namespace keel::tlb
