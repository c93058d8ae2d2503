// Roots: listing, opening, binding and unbinding names, and the rights each needs.
#include "usertest.hpp"

namespace keel::usertest {
namespace {

TEST(roots) {
    char list[128];
    const int64_t n = sys::do_io(root(), Op::kRead, list, sizeof list);
    // Exactly what init bound for us: console, self, and the process table it was asked for.
    CHECK_EQ(n, 23);
    CHECK(c::compare(list, "console\nself\nprocesses\n", 23) == 0);
    BAD_INPUT(sys::do_io(root(), Op::kRead, list, 4), kBufferTooSmall);
    // A cursor: names from the arg-th on, as many whole ones as fit.
    CHECK_EQ(sys::do_io(root(), Op::kRead, list, 12, 0), 8);  // "console\n" only
    CHECK_EQ(sys::do_io(root(), Op::kRead, list, sizeof list, 1), 15);
    CHECK(c::compare(list, "self\nprocesses\n", 15) == 0);
    CHECK_EQ(sys::do_io(root(), Op::kRead, list, sizeof list, 3), 0);  // the end
    CHECK_EQ(sys::do_io(root(), Op::kRead, list, sizeof list, ~0ull), 0);
    abi::Stat st{};
    CHECK_EQ(sys::do_io(root(), Op::kGetMeta, &st, sizeof st, uint64_t(abi::Meta::kStat)), 16);
    CHECK_EQ(st.type, uint32_t(abi::NodeType::kDirectory));
    CHECK_EQ(st.size, 3u);
    Handle pipe[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, pipe), 2);
    BAD_INPUT(sys::do_io(pipe[0], Op::kGetMeta, &st, sizeof st, uint64_t(abi::Meta::kStat)),
              kInvalidArgument);  // neither file nor directory
    close(pipe[0]);
    close(pipe[1]);
    BAD_INPUT(open(root(), "init.elf"), kNotFound);  // init's own names are not ours
    BAD_INPUT(sys::do_io(root(), Op::kOpen, "", 0), kInvalidArgument);
    BAD_INPUT(sys::do_io(root(), Op::kOpen, "0123456789012345678901234567890123", 33), kTooLarge);
    BAD_INPUT(sys::do_io_raw(root(), 5, kKernel, 4, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(root(), 5, kUnmapped, 4, 0), kBadAddress);
    Handle r;
    CHECK_EQ(sys::object_new(Kind::kRoot, 0, &r), 1);
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    CHECK_EQ(sys::do_io(r, Op::kCreate, "pipe", 4, p[1]), 0);
    BAD_INPUT(sys::do_io(r, Op::kCreate, "pipe", 4, p[0]), kExists);
    BAD_INPUT(sys::do_io(r, Op::kCreate, "self", 4, r), kInvalidArgument);
    BAD_INPUT(sys::do_io(r, Op::kCreate, "bad", 3, 0), kBadHandle);
    BAD_INPUT(sys::do_io(r, Op::kCreate, "bad", 3, 1ull << 40), kBadHandle);
    const int64_t no_share = share(p[0], 0, abi::kRightRead);
    BAD_INPUT(sys::do_io(r, Op::kCreate, "ns", 2, static_cast<uint64_t>(no_share)), kNoRights);
    uint64_t count = 0;
    CHECK_EQ(get_u64(r, Meta::kSize, &count), 8);
    CHECK_EQ(count, 1);
    const int64_t opened = open(r, "pipe");
    CHECK(opened > 0);
    CHECK_EQ(rights_of(static_cast<uint64_t>(opened)), abi::kRightWrite | abi::kRightShare);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(opened), Op::kWrite, "via root", 8), 8);
    char buf[16];
    CHECK_EQ(sys::do_io(p[0], Op::kRead, buf, 16), 8);
    // A read-only share of the root cannot bind or unbind.
    const int64_t r_ro = share(r, 0, abi::kRightRead);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(r_ro), Op::kCreate, "x", 1, p[1]), kNoRights);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(r_ro), Op::kDestroy, "pipe", 4), kNoRights);
    CHECK_EQ(sys::do_io(r, Op::kDestroy, "pipe", 4), 0);
    BAD_INPUT(sys::do_io(r, Op::kDestroy, "pipe", 4), kNotFound);
    BAD_INPUT(open(r, "pipe"), kNotFound);
    CHECK_EQ(kind_of(r), static_cast<uint64_t>(Kind::kRoot));
    close(static_cast<uint64_t>(r_ro));
    close(static_cast<uint64_t>(opened));
    close(static_cast<uint64_t>(no_share));
    close(p[0]);
    close(p[1]);
    close(r);
}

// Roots bound into roots 5,000 deep, the outermost closed last: the kernel destroyed each from
// the destructor of the one holding it, one stack frame per level, and overflowed its 16 KiB
// stack at about 460 (issue 25). Then the same again, to show the first chain all went.
// A root holding a chain of `depth` roots below it, built top-down (each bind checks only the
// fresh root it binds); 0 when the kernel refused one.
Handle root_chain(int depth) {
    Handle outer;
    CHECK_EQ(sys::object_new(Kind::kRoot, 0, &outer), 1);
    Handle at = outer;
    for (int i = 0; i < depth; ++i) {
        Handle inner;
        if (sys::object_new(Kind::kRoot, 0, &inner) != 1) {
            CHECK(false);
            break;
        }
        CHECK_EQ(sys::do_io(at, Op::kCreate, "d", 1, inner), 0);
        if (at != outer)
            close(at);
        at = inner;
    }
    if (at != outer)
        close(at);
    return outer;
}

TEST(roots_nested_deep_are_destroyed_without_recursion) {
    abi::MemoryInfo before{};
    for (int round = 0; round < 2; ++round) {
        if (round == 1)
            before = memory_info();
        close(root_chain(5000));  // the whole chain goes here
    }
    CHECK(kernel_memory_back_to(before));  // every root of the second chain went
}

// Binding a root walks every root below it (for cycles, below): a bind whose walk would pass
// 4096 roots (Root::kMaxRootsChecked) is refused, so the caller cannot make one call as long as
// it likes (issue 25's time bound).
TEST(roots_bind_walks_at_most_4096_roots) {
    const abi::MemoryInfo before = memory_info();
    Handle top;
    CHECK_EQ(sys::object_new(Kind::kRoot, 0, &top), 1);
    const Handle fits = root_chain(4095);  // 4096 roots with itself
    CHECK_EQ(sys::do_io(top, Op::kCreate, "fits", 4, fits), 0);
    close(fits);
    // Gone before the next chain: no more roots at once than the test above had (its second
    // round's heap had grown for them), so the kernel's page-table count compares.
    CHECK_EQ(sys::do_io(top, Op::kDestroy, "fits", 4), 0);
    const Handle too_many = root_chain(4096);
    BAD_INPUT(sys::do_io(top, Op::kCreate, "more", 4, too_many), kTooLarge);
    close(too_many);
    close(top);
    CHECK(kernel_memory_back_to(before));
}

// A root bound, at any depth, into a root it holds: such a cycle was never freed, not even when
// every process that held it ended (found by fuzz/kernel_objects; issue 25). Refused now.
TEST(roots_refuse_cycles) {
    const abi::MemoryInfo before = memory_info();
    Handle a, b, c;
    CHECK_EQ(sys::object_new(Kind::kRoot, 0, &a), 1);
    CHECK_EQ(sys::object_new(Kind::kRoot, 0, &b), 1);
    CHECK_EQ(sys::object_new(Kind::kRoot, 0, &c), 1);
    CHECK_EQ(sys::do_io(a, Op::kCreate, "b", 1, b), 0);                  // a holds b
    BAD_INPUT(sys::do_io(b, Op::kCreate, "a", 1, a), kInvalidArgument);  // b in a, a in b
    CHECK_EQ(sys::do_io(c, Op::kCreate, "a", 1, a), 0);                  // c holds a holds b
    BAD_INPUT(sys::do_io(b, Op::kCreate, "c", 1, c), kInvalidArgument);  // two levels down
    Handle d;
    CHECK_EQ(sys::object_new(Kind::kRoot, 0, &d), 1);
    CHECK_EQ(sys::do_io(b, Op::kCreate, "d", 1, d), 0);  // no cycle: allowed
    CHECK_EQ(sys::do_io(c, Op::kCreate, "d", 1, d), 0);  // d twice below c: still none
    close(d);
    close(a);
    close(b);
    close(c);
    CHECK(kernel_memory_back_to(before));  // every root went with its last handle
}

}  // namespace
}  // namespace keel::usertest
