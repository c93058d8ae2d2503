// Spawning with bad input: bad arguments, handles and names, and hostile program images.
#include "usertest.hpp"

namespace keel::usertest {
namespace {

// With no room for the new handle, thread_spawn and spawn fail Full and start nothing: they
// used to start the thread or child first, so the caller (told Full) freed the stack of a
// running thread, or had a child it held no handle to (issue 25).
uint32_t g_started = 0;
void mark_started(uint64_t) {
    __atomic_store_n(&g_started, 1, __ATOMIC_RELEASE);
    sys::thread_exit(0);
}
alignas(16) uint8_t g_stack[16384];

TEST(spawn_with_a_full_handle_table_starts_nothing) {
    Handle shared;
    const uint64_t shared_at = map_new(4096, &shared);
    CHECK(shared_at != 0);
    CHECK(self() != 0);
    Handle filler[abi::kMaxHandles];
    uint32_t filled = 0;
    for (; filled < abi::kMaxHandles; ++filled) {
        const int64_t r = sys::object_new(Kind::kMemory, 4096, &filler[filled]);
        if (r < 0) {
            CHECK_EQ(r, err(Error::kFull));
            break;
        }
    }
    CHECK(filled > 0 && filled < abi::kMaxHandles);
    BAD_INPUT(sys::thread_spawn(mark_started, addr(g_stack + sizeof g_stack - 8), 0), kFull);
    BAD_INPUT(spawn_child("write-shared", &shared, 1), kFull);
    (void)sys::sleep_ns(50'000'000);  // time for either to run, had it been started
    CHECK_EQ(__atomic_load_n(&g_started, __ATOMIC_ACQUIRE), 0u);
    CHECK_EQ(*reinterpret_cast<const volatile uint8_t*>(shared_at), 0);
    for (uint32_t i = 0; i < filled; ++i)
        close(filler[i]);
    CHECK_EQ(sys::unmap(shared_at), 0);
    close(shared);
}

TEST(spawn_bad_input) {
    Handle given[1] = {root()};
    const abi::SpawnArgs ok_args{addr(given), 1, addr("child exit 0"), 12, 0, 0, 0};
    BAD_INPUT(sys::spawn(0, &ok_args), kBadHandle);
    BAD_INPUT(sys::spawn(console(), &ok_args), kInvalidArgument);  // not memory
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    close(p[0]);
    BAD_INPUT(sys::spawn(p[0], &ok_args), kStaleHandle);
    const int64_t no_spawn = share(self(), 0, abi::kRightRead | abi::kRightShare);
    BAD_INPUT(sys::spawn(static_cast<Handle>(no_spawn), &ok_args), kNoRights);
    BAD_INPUT(sys::spawn(self(), nullptr), kBadAddress);
    BAD_INPUT(sys::spawn(self(), reinterpret_cast<const abi::SpawnArgs*>(kKernel)), kBadAddress);
    const abi::SpawnArgs too_many{addr(given), abi::kMaxSpawnHandles + 1, 0, 0, 0, 0, 0};
    BAD_INPUT(sys::spawn(self(), &too_many), kTooLarge);
    const abi::SpawnArgs long_args{addr(given), 1, addr(given), abi::kMaxArgsLength + 1, 0, 0, 0};
    BAD_INPUT(sys::spawn(self(), &long_args), kTooLarge);
    const abi::SpawnArgs bad_list{kUnmapped, 1, 0, 0, 0, 0, 0};
    BAD_INPUT(sys::spawn(self(), &bad_list), kBadAddress);
    const abi::SpawnArgs bad_text{addr(given), 1, kKernel, 4, 0, 0, 0};
    BAD_INPUT(sys::spawn(self(), &bad_text), kBadAddress);
    Handle stale_list[1] = {p[0]};
    const abi::SpawnArgs stale{addr(stale_list), 1, 0, 0, 0, 0, 0};
    BAD_INPUT(sys::spawn(self(), &stale), kStaleHandle);
    const abi::SpawnArgs long_name{addr(given), 1, 0, 0, addr(given), abi::kMaxNameLength + 1, 0};
    BAD_INPUT(sys::spawn(self(), &long_name), kTooLarge);
    const abi::SpawnArgs bad_name{addr(given), 1, 0, 0, kKernel, 4, 0};
    BAD_INPUT(sys::spawn(self(), &bad_name), kBadAddress);
    const abi::SpawnArgs unprintable{addr(given), 1, 0, 0, addr("a\nb"), 3, 0};
    BAD_INPUT(sys::spawn(self(), &unprintable), kInvalidArgument);
    Handle unshareable[1] = {static_cast<Handle>(no_spawn)};
    const int64_t no_share = share(p[1], 0, abi::kRightWrite);
    unshareable[0] = static_cast<Handle>(no_share);
    const abi::SpawnArgs cannot_give{addr(unshareable), 1, 0, 0, 0, 0, 0};
    BAD_INPUT(sys::spawn(self(), &cannot_give), kNoRights);

    // Hostile images: zeros, garbage, a truncated copy of ourselves, a bad entry point.
    Handle img;
    CHECK_EQ(sys::object_new(Kind::kMemory, 8192, &img), 1);
    BAD_INPUT(sys::spawn(img, &ok_args), kBadImage);
    uint8_t head[256];
    CHECK_EQ(sys::do_io(self(), Op::kPeek, head, sizeof head), 256);
    CHECK_EQ(sys::do_io(img, Op::kWrite, head, 120), 120);  // header, half the phdrs
    BAD_INPUT(sys::spawn(img, &ok_args), kBadImage);
    CHECK_EQ(sys::do_io(img, Op::kSeek, nullptr, 0, 0), 0);
    head[18] = 3;  // e_machine: i386
    CHECK_EQ(sys::do_io(img, Op::kWrite, head, 256), 256);
    BAD_INPUT(sys::spawn(img, &ok_args), kBadImage);
    // A full copy of our own image, made from a read-only mapping, then damaged one field
    // at a time; the undamaged copy must start (programs need not come from boot modules).
    uint64_t self_size = 0;
    CHECK_EQ(get_u64(self(), Meta::kSize, &self_size), 8);
    const int64_t self_at = sys::do_io(self(), Op::kMap, nullptr, 0, 0);
    CHECK(self_at > 0);
    BAD_INPUT(sys::do_io(self(), Op::kMap, nullptr, 0, 1), kNoRights);  // boot modules: RO
    Handle copy;
    const uint64_t copy_at = map_new(self_size, &copy);
    CHECK(copy_at != 0);
    auto* image = reinterpret_cast<uint8_t*>(copy_at);
    memcpy(image, reinterpret_cast<const void*>(self_at), self_size);
    uint64_t phoff;
    memcpy(&phoff, image + 32, 8);
    struct Damage {
        uint64_t offset;
        uint64_t value;
        uint32_t bytes;
    };
    const Damage damages[] = {
        {24, 0x10, 8},                           // entry outside every segment
        {phoff + 16, 0xffff800000000000ull, 8},  // a segment in the kernel half
        {phoff + 16, 0x1000, 8},                 // a segment over the null page
        {phoff + 40, 1ull << 40, 8},             // a huge segment
        {phoff + 8, 0xfffffffffffff000ull, 8},   // file offset wraps
        {56, 0xffff, 2},                         // program headers past the end
        {54, 40, 2},                             // wrong program header size
        {16, 3, 2},                              // ET_DYN, not ET_EXEC
        {4, 1, 1},                               // 32-bit class
    };
    for (const Damage& d : damages) {
        uint8_t saved[8];
        memcpy(saved, image + d.offset, d.bytes);
        memcpy(image + d.offset, &d.value, d.bytes);
        BAD_INPUT(sys::spawn(copy, &ok_args), kBadImage);
        memcpy(image + d.offset, saved, d.bytes);
    }
    const int64_t from_copy = sys::spawn(copy, &ok_args);
    CHECK(from_copy > 0);
    if (from_copy > 0)
        CHECK_EQ(wait_child(from_copy).status, 0);
    CHECK_EQ(sys::unmap(copy_at), 0);
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(self_at)), 0);
    close(copy);
    uint64_t garbage[32];
    for (int i = 0; i < 32; ++i)
        garbage[i] = 0x9e3779b97f4a7c15ull * (i + 1);
    CHECK_EQ(sys::do_io(img, Op::kSeek, nullptr, 0, 0), 0);
    CHECK_EQ(sys::do_io(img, Op::kWrite, garbage, sizeof garbage), 256);
    BAD_INPUT(sys::spawn(img, &ok_args), kBadImage);
    close(img);
    close(static_cast<uint64_t>(no_share));
    close(static_cast<uint64_t>(no_spawn));
    close(p[1]);
}

}  // namespace
}  // namespace keel::usertest

namespace keel::usertest {
namespace {

CHILD_MODE("table-child") {
    return 7;
}

// The process table (init gives it as "processes" in the test mode when asked,
// kernel/tests/CMakeLists.txt): listing, spawning through it, and what it refuses.
TEST(process_table) {
    const int64_t table = open(root(), "processes");
    CHECK(table > 0);
    if (table <= 0)
        return;
    const auto t = static_cast<uint64_t>(table);
    uint64_t count = 0;
    CHECK_EQ(get_u64(t, Meta::kSize, &count), 8);
    CHECK(count >= 2);  // init and this program
    abi::ProcessEntry entries[64];
    const int64_t n = sys::do_io(t, Op::kRead, entries, sizeof entries);
    CHECK(n > 0 && n % static_cast<int64_t>(sizeof(abi::ProcessEntry)) == 0);
    bool found_init = false, found_self = false;
    uint64_t self_id = 0;
    for (int64_t i = 0; i < n / static_cast<int64_t>(sizeof(abi::ProcessEntry)); ++i) {
        const abi::ProcessEntry& e = entries[i];
        if (e.id == 1 && e.parent == 0 && c::compare(e.name, "init", 5) == 0)
            found_init = true;
        if (e.parent == 1 && c::compare(e.name, "usertest.elf", 13) == 0 &&
            e.state == static_cast<uint32_t>(abi::ProcessState::kRunning) && e.threads >= 1) {
            found_self = true;
            self_id = e.id;
        }
    }
    CHECK(found_init);
    CHECK(found_self);
    BAD_INPUT(sys::do_io(t, Op::kRead, entries, sizeof(abi::ProcessEntry)), kBufferTooSmall);
    // Spawning through it: the child's parent is this process; its exit shows in the table
    // while its handle is held.
    const Handle given[] = {root()};
    const char args[] = "child table-child";
    const char name[] = "table-child";
    abi::TableSpawn s{testlib::self(), 0,
                      abi::SpawnArgs{addr(given), 1, addr(args), sizeof args - 1, addr(name),
                                     sizeof name - 1, 0}};
    const int64_t child = sys::do_io(t, Op::kCreate, &s, sizeof s);
    CHECK(child > 0);
    abi::ExitInfo info{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(child), Op::kRead, &info, sizeof info), sizeof info);
    CHECK_EQ(info.status, 7);
    uint64_t child_id = 0;
    CHECK_EQ(get_u64(static_cast<uint64_t>(child), Meta::kId, &child_id), 8);
    const int64_t m = sys::do_io(t, Op::kRead, entries, sizeof entries);
    bool listed = false;
    for (int64_t i = 0; i < m / static_cast<int64_t>(sizeof(abi::ProcessEntry)); ++i) {
        const abi::ProcessEntry& e = entries[i];
        if (e.id == child_id) {
            listed = e.parent == self_id &&
                     e.state == static_cast<uint32_t>(abi::ProcessState::kExited) &&
                     e.status == 7 && c::compare(e.name, "table-child", 12) == 0;
        }
    }
    CHECK(listed);
    CHECK_EQ(close(static_cast<uint64_t>(child)), 0);
    // Malformed spawns change nothing.
    s.reserved = 1;
    BAD_INPUT(sys::do_io(t, Op::kCreate, &s, sizeof s), kInvalidArgument);
    s.reserved = 0;
    BAD_INPUT(sys::do_io(t, Op::kCreate, &s, sizeof s - 1), kInvalidArgument);
    s.image = 0x7ffe;
    BAD_INPUT(sys::do_io(t, Op::kCreate, &s, sizeof s), kBadHandle);
    s.image = testlib::self();
    s.args.args = kKernel;
    BAD_INPUT(sys::do_io(t, Op::kCreate, &s, sizeof s), kBadAddress);
    // A read-only share lists but cannot spawn.
    const int64_t read_only = share(t, 0, abi::kRightRead);
    CHECK(read_only > 0);
    s.args.args = addr(args);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(read_only), Op::kCreate, &s, sizeof s), kNoRights);
    CHECK(sys::do_io(static_cast<uint64_t>(read_only), Op::kRead, entries, sizeof entries) > 0);
    CHECK_EQ(close(static_cast<uint64_t>(read_only)), 0);
    print("usertest: process table: %lu processes listed, a child spawned through it\n", count);
}

}  // namespace
}  // namespace keel::usertest
