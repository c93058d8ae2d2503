// One port, many objects: a served directory whose open makes a new object with rights the
// server chooses, every such object closed exactly once (by its handle's close, the client's
// exit, a full handle table, an open nobody collected), and servers that lie about an open.
#include "queuetest.hpp"

namespace keel::queuetest {
namespace {

constexpr uint32_t kMaxObjects = 512;

// The server's side: a directory of two names, "ro" (granted Read) and "rw" (Read|Write),
// whose objects read back their name; "lie0" answers object 0, "liebits" a right outside
// kRightsServed, "slow" is never answered until the client has gone.
struct Directory {
    bool open[kMaxObjects] = {};
    uint32_t next = 1;
    uint32_t opened = 0, closed = 0, double_closes = 0, destroyed = 0, slow_id = 0;
    bool slow_taken = false;
    char last_destroyed[16] = {};
};

uint32_t serve_directory(ServePort& sp, Directory& d) {
    (void)sp.server().poll();
    uint32_t n = 0;
    while (auto op = sp.server().take()) {
        ++n;
        const auto& s = op->request;
        const auto data = sp.server().bytes(*op);
        const auto o = static_cast<Op>(s.opcode - abi::kQueueOpBase);
        uint16_t status = kOk;
        uint64_t value = 0;
        auto is = [&](const char* name) {
            return data.size() == strlen(name) && memcmp(data.data(), name, data.size()) == 0;
        };
        if (o == Op::kClose) {
            if (s.object == 0 || s.object >= kMaxObjects || !d.open[s.object]) {
                ++d.double_closes;
            } else {
                d.open[s.object] = false;
                ++d.closed;
            }
        } else if (o == Op::kOpen && s.object == 0) {
            const bool lie0 = is("lie0"), liebits = is("liebits");
            if (is("slow")) {
                d.slow_id = op->id;
                d.slow_taken = true;
                continue;  // answered later
            }
            if (!is("ro") && !is("rw") && !lie0 && !liebits) {
                status = queue_error_status(Error::kNotFound);
            } else if (d.next >= kMaxObjects) {
                status = queue_error_status(Error::kFull);
            } else if (lie0) {
                value = abi::served_open_value(0, abi::kRightRead);
            } else {
                const uint32_t id = d.next++;
                d.open[id] = true;
                ++d.opened;
                const uint32_t rights = liebits    ? abi::kRightsAll
                                        : is("ro") ? abi::kRightRead | abi::kRightShare
                                                   : abi::kRightRead | abi::kRightWrite;
                value = abi::served_open_value(id, rights);
            }
        } else if (o == Op::kDestroy && s.object == 0) {
            ++d.destroyed;
            const size_t k = data.size() < sizeof d.last_destroyed - 1
                                 ? data.size()
                                 : sizeof d.last_destroyed - 1;
            memcpy(d.last_destroyed, data.data(), k);
            d.last_destroyed[k] = 0;
        } else if (o == Op::kRead && s.object != 0) {
            // A child reads back which object it is.
            char text[24];
            const size_t k = snformat(text, sizeof text, "object %u", s.object);
            value = k < data.size() ? k : data.size();
            memcpy(data.data(), text, value);
        } else {
            status = queue_error_status(Error::kNotSupported);
        }
        (void)sp.server().complete(op->id, status, value);
    }
    return n;
}

TEST(serve_many_objects) {
    ServePort sp;
    CHECK_EQ(sp.create(16, 16, 4096), 0);
    Directory d;
    const Handle served = sp.served();
    const int64_t c = spawn_child("serve opener", &served, 1);
    CHECK(c > 0);
    for (int i = 0; i < 5000 && child_running(c); ++i) {
        (void)sp.sync(true, 10'000'000);
        (void)serve_directory(sp, d);
        (void)sp.sync(false);
    }
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(e.status, 0);
    // The slow open is answered only now: its caller is gone, so the object it grants is
    // closed again by the kernel.
    CHECK(d.slow_taken);
    if (d.slow_taken && d.next < kMaxObjects) {
        const uint32_t id = d.next++;
        d.open[id] = true;
        ++d.opened;
        (void)sp.server().complete(d.slow_id, kOk, abi::served_open_value(id, abi::kRightRead));
    }
    // The child's exit closed whatever it still held; collect every notice.
    for (int i = 0; i < 200 && d.closed < d.opened; ++i) {
        (void)sp.sync(true, 5'000'000);
        (void)serve_directory(sp, d);
        (void)sp.sync(false);
    }
    print("queuetest: served objects: %u opened, %u closed, %u double closes, %u destroyed\n",
          d.opened, d.closed, d.double_closes, d.destroyed);
    CHECK(d.opened > 200);
    CHECK_EQ(d.closed, d.opened);
    CHECK_EQ(d.double_closes, 0u);
    CHECK_EQ(d.destroyed, 1u);
    CHECK(memcmp(d.last_destroyed, "ro", 3) == 0);
}

// The client child of serve_many_objects: 0 when every step matched, else the step.
CHILD_MODE("serve opener") {
    const Handle dir = abi::initial_handle(1);
    auto open = [&](Handle at, const char* name, uint64_t flags = 0) {
        return sys::do_io(at, Op::kOpen, name, strlen(name), flags);
    };
    const int64_t ro = open(dir, "ro");
    if (ro <= 0)
        return 2;
    uint64_t v = 0;
    if (sys::do_io(static_cast<Handle>(ro), Op::kGetMeta, &v, 8, uint64_t(Meta::kKind)) != 8 ||
        v != uint64_t(Kind::kServed))
        return 3;
    if (sys::do_io(static_cast<Handle>(ro), Op::kGetMeta, &v, 8, uint64_t(Meta::kRights)) != 8 ||
        v != (abi::kRightRead | abi::kRightShare))
        return 4;  // the server's grant, within the directory handle's rights
    char text[24] = {};
    const int64_t n = sys::do_io(static_cast<Handle>(ro), Op::kRead, text, sizeof text);
    if (n <= 7 || memcmp(text, "object ", 7) != 0)
        return 5;
    if (sys::do_io(static_cast<Handle>(ro), Op::kWrite, "x", 1) != err(Error::kNoRights))
        return 6;  // the kernel enforces the server's grant
    if (open(dir, "missing") != err(Error::kNotFound))
        return 7;
    if (open(dir, "ro", 1u << 10) != err(Error::kInvalidArgument))
        return 8;  // unknown open flags never reach the server
    Handle read_only = 0;
    {
        const int64_t h = sys::do_io(dir, Op::kShare, nullptr, 0, uint64_t(abi::kRightRead) << 32);
        if (h <= 0)
            return 9;
        read_only = static_cast<Handle>(h);
    }
    if (open(read_only, "rw", abi::kOpenCreate) != err(Error::kNoRights))
        return 10;  // creating needs Write on the directory
    const int64_t rw = open(read_only, "rw");
    if (rw <= 0)
        return 11;
    if (sys::do_io(static_cast<Handle>(rw), Op::kGetMeta, &v, 8, uint64_t(Meta::kRights)) != 8 ||
        v != abi::kRightRead)
        return 12;  // granted Read|Write, opened through a Read handle: Read
    if (open(dir, "lie0") != err(Error::kProtocol) || open(dir, "liebits") != err(Error::kProtocol))
        return 13;
    if (sys::do_io(dir, Op::kDestroy, "ro", 2) != 0)
        return 14;
    // Through a queue: the completion's value is the new handle.
    Queue* q = heap_queue(8, 8);
    if (q == nullptr)
        return 15;
    if (submit_with(*q, Op::kOpen, dir, 0, 7, "rw", 2, 2) == ipc::abi::kNoTag)
        return 16;
    int64_t queued = -1;
    for (int i = 0; i < 500 && queued < 0; ++i) {
        (void)q->wait(1, 10'000'000);
        while (auto r = q->reap())
            queued = r->status == kOk ? static_cast<int64_t>(r->value) : 0;
    }
    if (queued <= 0 || sys::do_io(static_cast<Handle>(queued), Op::kRead, text, sizeof text) <= 7)
        return 17;
    // Open and close in a loop: every close reaches the server (checked there).
    for (int i = 0; i < 150; ++i) {
        const int64_t h = open(dir, "rw");
        if (h <= 0 || sys::do_io(static_cast<Handle>(h), Op::kClose) != 0)
            return 18;
    }
    // Fill the handle table: the open that finds no slot fails kFull, and its object is closed.
    int64_t r = 0;
    int opens = 0;
    while ((r = open(dir, "rw")) > 0)
        ++opens;
    if (r != err(Error::kFull) || opens < 50)
        return 19;
    // Free two slots: one for the slow open (its handle is never collected), one for the share.
    (void)sys::do_io(static_cast<Handle>(ro), Op::kClose);
    (void)sys::do_io(static_cast<Handle>(rw), Op::kClose);
    // An open the server answers only after this process has gone.
    const char slow[] = "slow";
    if (submit_with(*q, Op::kOpen, dir, 0, 8, slow, 4, 4) == ipc::abi::kNoTag)
        return 20;
    (void)q->poll();
    // A round trip after it: the server takes operations in order, so it has taken "slow".
    if (sys::do_io(dir, Op::kRead, text, sizeof text) != err(Error::kNotSupported))
        return 21;
    return 0;  // exits holding every handle: each object's close notice goes to the server
}

}  // namespace
}  // namespace keel::queuetest
