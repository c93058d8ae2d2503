// Kernel tests for paging: map/unmap/protect/translate, deliberate page faults that the
// exception handler recovers (through the probe functions), and the permissions of the
// kernel image, guard pages and the dropped identity map.
#include "mm/paging.hpp"
#include "arch/cpu.hpp"
#include "arch/exceptions.hpp"
#include "arch/stacks.hpp"
#include "mm/frame_allocator.hpp"
#include "test/ktest.hpp"

extern "C" char __kernel_text_start[];
extern "C" char __kernel_data_start[];

namespace keel::mm {
namespace {

using exceptions::keel_probe_call;
using exceptions::keel_probe_read_u64;
using exceptions::keel_probe_write_u64;
using exceptions::last_recovered_fault;

constexpr uint64_t kTestVirt = 0xffffc80000000000ull;  // unused by anything else
constexpr uint64_t kPfPresent = 1, kPfWrite = 2, kPfFetch = 16;

// A function to call through keel_probe_call: it lives in kernel text, so the call succeeds.
[[gnu::noinline]] int returns_seven() {
    return 7;
}

// A queue window: scattered frames seen contiguously, writable, NX, a guard page after them;
// unmapping leaves the frames to their owner.
KTEST(paging_window_maps_scattered_frames) {
    PhysAddr f[3];
    for (auto& x : f) {
        auto a = frames().alloc_zeroed();
        KASSERT(a.has_value());
        x = *a;
    }
    const PhysAddr scattered[3] = {f[2], f[0], f[1]};
    const auto w = map_window(scattered, 3);
    KASSERT(w.has_value());
    KEXPECT(w->value >= kWindowBase);
    for (uint64_t i = 0; i < 3; ++i) {
        const auto t = kernel_space().translate(VirtAddr{w->value + i * kPageSize});
        KASSERT(t.has_value());
        KEXPECT_EQ(t->phys.value, scattered[i].value);
        KEXPECT_EQ(t->flags, kPageWritable | kPageNoExecute);
    }
    KEXPECT(!kernel_space().translate(VirtAddr{w->value + 3 * kPageSize}).has_value());
    w->as<uint64_t>()[kPageSize / 8] = 0x5151;  // page 1 of the window is f[0]
    KEXPECT_EQ(*direct_map<uint64_t>(f[0]), 0x5151u);
    unmap_window(*w, 3);
    KEXPECT(!kernel_space().translate(*w).has_value());
    const auto w2 = map_window(scattered, 1);  // a fresh address, never the old one
    KASSERT(w2.has_value());
    KEXPECT(w2->value > w->value);
    unmap_window(*w2, 1);
    for (auto& x : f)
        frames().free(x);
}

// Addresses of windows and stacks are never reused, so the page tables under them must go
// when they empty: 600 one-page windows (two pages of addresses each) cross at least two page
// tables, and every frame comes back.
KTEST(paging_unmapping_frees_the_tables_it_emptied) {
    auto f = frames().alloc_zeroed();
    KASSERT(f.has_value());
    const uint64_t before = frames().free_frames();
    for (int i = 0; i < 600; ++i) {
        const auto w = map_window(&*f, 1);
        KASSERT(w.has_value());
        unmap_window(*w, 1);
    }
    KEXPECT_EQ(frames().free_frames(), before);
    // A process's half: a page far from anything else needs a PDPT, a PD and a PT; unmapping
    // it gives back the PD and the PT (the PDPT goes with the process).
    auto pml4 = create_user_tables();
    KASSERT(pml4.has_value());
    AddressSpace user(*pml4);
    const uint64_t empty = frames().free_frames();
    KASSERT(user.map(VirtAddr{0x5f0000000000ull}, *f, kPageUser | kPageWritable));
    KEXPECT_EQ(frames().free_frames(), empty - 3);
    KEXPECT(user.unmap(VirtAddr{0x5f0000000000ull}).has_value());
    KEXPECT_EQ(frames().free_frames(), empty - 1);
    destroy_user_tables(*pml4);
    frames().free(*f);
}

KTEST(paging_pat_entry_4_is_write_combining_and_the_rest_as_at_reset) {
    const uint64_t pat = cpu::rdmsr(0x277);
    KEXPECT_EQ(pat >> 32 & 0xff, 0x01u);  // kPageWriteCombining (PAT bit, PCD = PWT = 0): WC
    KEXPECT_EQ(pat & 0xff, 0x06u);        // entry 0, plain mappings: write-back
    KEXPECT_EQ(pat >> 24 & 0xff, 0x00u);  // entry 3, kPageUncached (PCD | PWT): uncached
    // A write-combining mapping translates with its flag intact.
    auto frame = frames().alloc_zeroed();
    KASSERT(frame.has_value());
    const VirtAddr v{kTestVirt};
    KASSERT(kernel_space().map(v, *frame, kPageWritable | kPageWriteCombining | kPageNoExecute));
    volatile uint64_t* p = v.as<volatile uint64_t>();
    *p = 0x1122334455667788ull;
    KEXPECT_EQ(*direct_map<uint64_t>(*frame), 0x1122334455667788ull);
    const auto freed = kernel_space().unmap(v);
    KEXPECT(freed.has_value() && freed->value == frame->value);
    frames().free(*frame);
}

KTEST(paging_map_translate_unmap) {
    auto frame = frames().alloc_zeroed();
    KASSERT(frame.has_value());
    const VirtAddr va{kTestVirt};
    KEXPECT(!kernel_space().translate(va).has_value());
    KASSERT(kernel_space().map(va, *frame, kPageWritable | kPageNoExecute));
    KEXPECT(!kernel_space().map(va, *frame, kPageWritable));  // already mapped
    const auto t = kernel_space().translate(VirtAddr{kTestVirt + 0x123});
    KASSERT(t.has_value());
    KEXPECT_EQ(t->phys.value, frame->value + 0x123);
    KEXPECT_EQ(t->page_size, kPageSize);
    KEXPECT_EQ(t->flags, kPageWritable | kPageNoExecute);
    *va.as<volatile uint64_t>() = 0x1122334455667788ull;
    KEXPECT_EQ(*direct_map<uint64_t>(*frame), 0x1122334455667788ull);
    const auto old = kernel_space().unmap(va);
    KASSERT(old.has_value());
    KEXPECT_EQ(old->value, frame->value);
    KEXPECT(!kernel_space().translate(va).has_value());
    KEXPECT(!kernel_space().unmap(va).has_value());
    frames().free(*frame);
}

KTEST(paging_fault_on_unmapped_page_is_caught_and_recovered) {
    const uint64_t before = last_recovered_fault().count;
    uint64_t value = 0;
    KEXPECT(!keel_probe_read_u64(reinterpret_cast<volatile uint64_t*>(kTestVirt + 8), &value));
    const auto fault = last_recovered_fault();
    KEXPECT_EQ(fault.count, before + 1);
    KEXPECT_EQ(fault.vector, 14u);
    KEXPECT_EQ(fault.address, kTestVirt + 8);
    KEXPECT_EQ(fault.error_code & kPfPresent, 0u);
    // Now map it and the same probe succeeds: the handler really resumed this test.
    auto frame = frames().alloc_zeroed();
    KASSERT(frame.has_value());
    KASSERT(kernel_space().map(VirtAddr{kTestVirt}, *frame, kPageWritable | kPageNoExecute));
    *direct_map<uint64_t>(PhysAddr{frame->value + 8}) = 42;
    KEXPECT(keel_probe_read_u64(reinterpret_cast<volatile uint64_t*>(kTestVirt + 8), &value));
    KEXPECT_EQ(value, 42u);
    KEXPECT(kernel_space().unmap(VirtAddr{kTestVirt}).has_value());
    frames().free(*frame);
}

KTEST(paging_protect_makes_a_page_read_only) {
    auto frame = frames().alloc_zeroed();
    KASSERT(frame.has_value());
    auto* p = reinterpret_cast<volatile uint64_t*>(kTestVirt);
    KASSERT(kernel_space().map(VirtAddr{kTestVirt}, *frame, kPageWritable | kPageNoExecute));
    KEXPECT(keel_probe_write_u64(p, 1));
    KASSERT(kernel_space().protect(VirtAddr{kTestVirt}, kPageNoExecute));
    KEXPECT(!keel_probe_write_u64(p, 2));
    KEXPECT_EQ(last_recovered_fault().error_code & (kPfPresent | kPfWrite), kPfPresent | kPfWrite);
    uint64_t v = 0;
    KEXPECT(keel_probe_read_u64(p, &v));
    KEXPECT_EQ(v, 1u);
    KEXPECT(kernel_space().unmap(VirtAddr{kTestVirt}).has_value());
    frames().free(*frame);
}

KTEST(paging_kernel_text_is_read_only_and_data_is_not_executable) {
    auto* text = reinterpret_cast<volatile uint64_t*>(__kernel_text_start);
    uint64_t v = 0;
    KEXPECT(keel_probe_read_u64(text, &v));
    KEXPECT(!keel_probe_write_u64(text, v));  // CR0.WP binds the kernel too
    KEXPECT(keel_probe_call(reinterpret_cast<uint64_t>(&returns_seven)));

    static uint8_t ret_in_data[16] = {0xc3};  // `ret`, in .data (NX)
    KEXPECT(!keel_probe_call(reinterpret_cast<uint64_t>(ret_in_data)));
    KEXPECT_EQ(last_recovered_fault().error_code & kPfFetch, kPfFetch);
    const auto data =
        kernel_space().translate(VirtAddr{reinterpret_cast<uint64_t>(__kernel_data_start)});
    KASSERT(data.has_value());
    KEXPECT((data->flags & kPageNoExecute) != 0);
}

KTEST(paging_guard_pages_and_no_identity_map) {
    for (int s = 0; s < stacks::kStackCount; ++s) {
        const uint64_t guard = stacks::guard_page(static_cast<stacks::Stack>(s));
        KEXPECT(!kernel_space().translate(VirtAddr{guard}).has_value());
        KEXPECT(kernel_space().translate(VirtAddr{guard + kPageSize}).has_value());
        uint64_t v = 0;
        KEXPECT(!keel_probe_read_u64(reinterpret_cast<volatile uint64_t*>(guard + 64), &v));
    }
    uint64_t v = 0;
    KEXPECT(!keel_probe_read_u64(reinterpret_cast<volatile uint64_t*>(0x100000), &v));
    KEXPECT(!kernel_space().translate(VirtAddr{0x100000}).has_value());
    // The direct map still reaches the same memory (2 MiB pages, NX).
    const auto dm = kernel_space().translate(VirtAddr{boot::kDirectMapBase + 0x100000});
    KASSERT(dm.has_value());
    KEXPECT_EQ(dm->phys.value, 0x100000u);
    KEXPECT((dm->flags & kPageNoExecute) != 0);
}

}  // namespace
}  // namespace keel::mm
