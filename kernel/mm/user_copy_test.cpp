// Kernel tests for the user-copy helpers, in a fresh user address space: every kind of bad
// user address fails (null page, kernel half, wrap-around, unmapped, straddling the end of a
// mapping, writing a read-only page) and the unmapped cases go through fault recovery.
#include "mm/user_copy.hpp"

#include <keel/syscall_abi.hpp>

#include "arch/cpu.hpp"
#include "arch/exceptions.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/paging.hpp"
#include "test/ktest.hpp"

namespace keel::mm {
namespace {

constexpr uint64_t kPage = 0x5000000;  // a user address nothing else uses

KTEST(user_copy_rejects_bad_addresses) {
    const uint64_t before_frames = frames().free_frames();
    auto tables = create_user_tables();
    auto frame = frames().alloc_zeroed();
    KASSERT(tables.has_value() && frame.has_value());
    AddressSpace space(*tables);
    KASSERT(space.map(VirtAddr{kPage}, *frame, kPageUser | kPageWritable | kPageNoExecute));
    const uint64_t saved_cr3 = cpu::read_cr3();
    cpu::write_cr3(tables->value);

    uint64_t v = 0x1122334455667788ull, out = 0;
    const uint64_t recovered = exceptions::last_recovered_fault().count;
    KEXPECT(copy_to_user(kPage + 8, &v, 8));
    KEXPECT(copy_from_user(&out, kPage + 8, 8));
    KEXPECT_EQ(out, v);
    KEXPECT(UserPtr<uint64_t>(kPage).write(v).ok());
    const auto got = UserPtr<uint64_t>(kPage).read();
    KEXPECT(got.ok() && *got == v);
    uint64_t pair[2] = {};
    KEXPECT(UserPtr<uint64_t>(kPage).span(2).read(pair).ok() && pair[0] == v);
    KEXPECT(!UserSpan<uint64_t>(kPage, ~0ull / 4).range_ok());  // count * 8 overflows
    KEXPECT(copy_from_user(&out, 0, 0));                        // nothing to copy: no address check
    KEXPECT(!copy_from_user(&out, 0, 8));
    KEXPECT(!copy_from_user(&out, 8, 8));                      // null page
    KEXPECT(!copy_from_user(&out, 0xffff800000000000ull, 8));  // kernel half
    KEXPECT(!copy_to_user(0xffffffff80000000ull, &v, 8));      // kernel image
    KEXPECT(!copy_from_user(&out, abi::kUserTop - 4, 8));      // runs into the kernel half
    KEXPECT(!copy_from_user(&out, kPage, ~0ull - 8));          // wraps
    KEXPECT(UserPtr<uint64_t>(~0ull - 3).read().error() == abi::Error::kBadAddress);  // wraps
    KEXPECT_EQ(exceptions::last_recovered_fault().count, recovered);  // all refused up front
    KEXPECT(!copy_from_user(&out, kPage + kPageSize - 4, 8));         // straddles the end
    KEXPECT(!copy_to_user(0x200000000000ull, &v, 8));                 // unmapped
    KEXPECT(exceptions::last_recovered_fault().count >= recovered + 2);
    // Longer copies: 203 bytes there and back (8-byte moves and a tail of single ones,
    // arch/probe.S), and faults well inside a copy, reading and writing, recovered like the
    // others.
    uint8_t there[203], back[203] = {};
    for (uint32_t i = 0; i < sizeof there; ++i)
        there[i] = static_cast<uint8_t>(i * 7 + 1);
    KEXPECT(copy_to_user(kPage + 5, there, sizeof there));
    KEXPECT(copy_from_user(back, kPage + 5, sizeof back));
    bool same = true;
    for (uint32_t i = 0; i < sizeof there; ++i)
        same = same && back[i] == there[i];
    KEXPECT(same);
    const uint64_t before_long = exceptions::last_recovered_fault().count;
    KEXPECT(!copy_from_user(back, kPage + kPageSize - 100, 160));  // faults after 100 bytes
    KEXPECT(!copy_to_user(kPage + kPageSize - 100, there, 160));
    KEXPECT_EQ(exceptions::last_recovered_fault().count, before_long + 2);
    KEXPECT(space.protect(VirtAddr{kPage}, kPageUser | kPageNoExecute));
    KEXPECT(!copy_to_user(kPage, &v, 8));       // read-only: CR0.WP makes the kernel fault too
    KEXPECT(!copy_to_user(kPage, there, 128));  // the same for a longer copy
    KEXPECT(copy_from_user(&out, kPage, 8));

    cpu::write_cr3(saved_cr3);
    KEXPECT(space.unmap(VirtAddr{kPage}).has_value());
    frames().free(*frame);
    destroy_user_tables(*tables);
    KEXPECT_EQ(frames().free_frames(), before_frames);
}

KTEST(user_tables_share_the_kernel_half) {
    auto tables = create_user_tables();
    KASSERT(tables.has_value());
    AddressSpace space(*tables);
    // Kernel text and the direct map translate identically; the user half is empty.
    const VirtAddr text{0xffffffff80000000ull};
    KEXPECT_EQ(space.translate(text)->phys.value, kernel_space().translate(text)->phys.value);
    KEXPECT(!space.translate(VirtAddr{0x400000}).has_value());
    destroy_user_tables(*tables);
}

}  // namespace
}  // namespace keel::mm
