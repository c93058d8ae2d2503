// Kernel tests for SMEP and SMAP: with a user page mapped in the current address space, the
// kernel's plain reads of it and calls into it fault (and are recovered through the probes),
// while keel_user_copy still reaches it. On a CPU without them (ci/qemu-boot.sh --cpu qemu64)
// the same accesses succeed, and the test checks that instead.
#include "arch/protections.hpp"

#include "arch/cpu.hpp"
#include "arch/exceptions.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/paging.hpp"
#include "test/ktest.hpp"

extern "C" bool keel_user_copy(void* dst, const void* src, uint64_t n);

namespace keel::cpu {
namespace {

using exceptions::keel_probe_call;
using exceptions::keel_probe_read_u64;

KTEST(protections_keep_the_kernel_out_of_user_pages) {
    constexpr uint64_t kUserPage = 0x40000000;
    constexpr uint64_t kValue = 0x5a5a12345a5a;
    auto frame = mm::frames().alloc_zeroed();
    KASSERT(frame.has_value());
    auto* bytes = mm::direct_map<uint8_t>(*frame);
    bytes[0] = 0xc3;  // ret: what a call into the page would run
    __builtin_memcpy(bytes + 8, &kValue, sizeof kValue);
    auto pml4 = mm::create_user_tables();
    KASSERT(pml4.has_value());
    mm::AddressSpace user(*pml4);
    KASSERT(user.map(mm::VirtAddr{kUserPage}, *frame, mm::kPageUser | mm::kPageWritable));
    const uint64_t kernel_cr3 = read_cr3();
    write_cr3(pml4->value);

    uint64_t read = 0;
    const bool plain_read =
        keel_probe_read_u64(reinterpret_cast<const volatile uint64_t*>(kUserPage + 8), &read);
    const bool called = keel_probe_call(kUserPage);
    uint64_t copied = 0;
    const bool copy = keel_user_copy(&copied, reinterpret_cast<const void*>(kUserPage + 8), 8);

    write_cr3(kernel_cr3);
    (void)user.unmap(mm::VirtAddr{kUserPage});
    mm::destroy_user_tables(*pml4);
    mm::frames().free(*frame);

    KEXPECT_EQ(plain_read, !protections().smap);
    KEXPECT_EQ(called, !protections().smep);
    KEXPECT(copy);
    KEXPECT_EQ(copied, kValue);
}

}  // namespace
}  // namespace keel::cpu
