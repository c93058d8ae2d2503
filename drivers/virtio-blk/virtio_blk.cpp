// virtio-blk: the driver of one virtio 1.x block device (PCI, modern interface), as a user
// process holding only that device ("device" in its root, given by init) and a directory to
// publish in ("srv"). It serves the disk as a block device object, srv/NAME (NAME its argument,
// blk0 by default): read and write with arg = byte offset, sync, get_meta Size and BlockInfo.
// Design (threads, interrupts and polling, the copies: none of its own where the served region
// is the device's DMA memory, else through bounce buffers; the shared-memory ring): README.md. The
// device half (set-up, virtio requests) is virtio_block.cpp, a library that user/levelbench links
// too.
#include <keel/blkring/blkring.hpp>
#include <keel/c/mem.hpp>
#include <keel/partition/partition.hpp>
#include <keel/virtio/blk.hpp>
#include <keel/virtio/pci.hpp>
#include <keel/virtio/virtqueue.hpp>

#include <new>

#include "runtime.hpp"
#include "serve.hpp"
#include "virtio_block.hpp"
#include "virtio_device.hpp"

using namespace keel;
using namespace keel::user;
namespace vio = keel::virtio;
namespace blk = keel::virtio::blk;
namespace dev = keel::drivers::virtio;
namespace br = keel::blkring;
using keel::drivers::virtio_blk::BlockDevice;
using keel::drivers::virtio_blk::kMaxMergeSegments;
using keel::drivers::virtio_blk::kMaxQueue;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
// The served queue: capacity 64 forwards 32 operations at a time (the kernel keeps a credit
// per operation for its Cancel); each carries at most kMaxTransfer bytes.
constexpr uint32_t kServeCapacity = 64;
constexpr uint32_t kServeBuffers = 48;
constexpr uint32_t kMaxTransfer = 64 * 1024;
// Operations being performed at once. The device reads and writes each one's owned buffer
// where the served region is DMA memory; otherwise each has a bounce buffer of kMaxTransfer
// bytes in DMA memory (README, "The copies").
constexpr uint32_t kSlots = 32;
constexpr uint32_t kMaxPartitions = 16;  // served as objects 1..16 ("1".."16")
// The shared-memory session (open("shm") on the disk): its served object, and how long the
// driver polls the ring after its last progress before it sleeps (then the client rings).
constexpr uint32_t kShmObject = 100;
constexpr uint64_t kShmSpinNs = 50'000;
constexpr uint64_t kShmSleepNs = 100'000'000;  // a missed doorbell costs at most this

uint16_t error(abi::Error e) {
    return abi::queue_error_status(e);
}

// ---- state -----------------------------------------------------------------------------------

struct Slot {
    bool busy;
    bool flush;
    bool write;
    bool failed;
    ipc::Operation op;
    uint64_t offset;       // byte offset on the disk
    uint32_t length;       // bytes
    uint32_t issued;       // bytes handed to virtio requests so far
    uint32_t outstanding;  // virtio requests in flight
    uint64_t order;        // start order: older slots issue first
    bool alone;            // never merged again: a merged request it was in failed
    uint64_t data;         // where the device reaches its bytes: owned buffer or bounce buffer
};

// What one virtio request in flight carries (the BlockDevice's record of that index): a piece
// of one slot, whole operations of several slots adjacent on the disk (merged), or one request
// of the shared-memory ring.
struct Record {
    uint32_t slots;  // a bit per slot it carries (kSlots is 32)
    bool shm;
    uint32_t length;  // shm: bytes
    uint64_t tag;     // shm: the client's tag
};
static_assert(kSlots <= 32);

// The shared-memory sessions' memory: a ring (lib/blkring) and data buffers in DMA memory
// that the driver and the client of the session both map; the device reads and writes the
// client's buffers directly. Made at the first session and kept for every later one: without
// an IOMMU, DMA memory a driver lets go stays in the kernel's quarantine until the device's
// bus mastering goes off (docs/syscalls.md), so fresh memory a session would leak 2 MiB each.
// A former client that kept its mapping can therefore see and disturb a later session; it gets
// nothing by that which srv/blk0 (the whole disk, read and write) did not already give it.
struct Region {
    Handle memory;    // the DMA memory object (0: not made yet)
    uint8_t* at;      // mapped here
    uint64_t device;  // where the device reaches it
};

// The session: one client at a time.
struct Session {
    bool open;
    bool closing;     // the client's object is gone; waiting for what is in flight
    uint64_t client;  // the opener's process id: only it may use the session object
    bool bound;       // the region bound as srv/NAME.shm until the client's first doorbell
    uint8_t* at;      // the region, while open
    br::DriverRing ring;
    bool waiting;  // a sync waiting for a completion
    ipc::Operation waiter;
    uint32_t seen;  // the waiter's cq_head
    bool fault_said;
};

struct Driver {
    BlockDevice dev;
    // DMA: the bounce buffers (the rings, headers and status bytes are the BlockDevice's), made
    // only when the served region is not DMA memory (direct false).
    bool direct = false;
    uint8_t* bounce = nullptr;
    uint64_t bounce_device = 0;
    ServePort port;
    Mutex lock;  // the queue, the slots, the records and the ServePort's server side
    Slot slots[kSlots];
    Record records[kMaxQueue];
    uint64_t started = 0;
    // The partition table, read once the disk is served (partition_thread); until then an
    // open of a partition answers NotFound, as for a disk without one.
    bool parts_ready = false;
    uint32_t part_count = 0;
    partition::Partition parts[kMaxPartitions];
    char name[abi::kMaxNameLength + 1];
    Region shm_region{};
    Session shm{};
    uint32_t shm_bell = 0;  // the shm thread's futex: a doorbell rang
};

// Made at start (placement new into the heap): a global with a destructor would need
// __cxa_atexit, which the runtime does not have; the driver never ends but by exiting.
Driver* g = nullptr;

// ---- set-up ----------------------------------------------------------------------------------

// Resets and initialises the device (virtio_block.cpp).
const char* init_device(Handle device) {
    return g->dev.init(device, kMaxTransfer);
}

// Once serving: the device reaches the owned buffers (the region is its DMA memory), or the
// bounce buffers are made.
const char* init_data_path() {
    const auto* region = reinterpret_cast<const std::byte*>(g->port.region());
    g->direct = g->port.device_address(region) != 0;
    if (g->direct)
        return nullptr;
    dev::Dma bounce;
    if (const char* why = g->dev.device().dma(uint64_t{kSlots} * kMaxTransfer, &bounce))
        return g->dev.device().fail(why);
    g->bounce = bounce.at;
    g->bounce_device = bounce.device;
    return nullptr;
}

// ---- requests --------------------------------------------------------------------------------

void complete(const ipc::Operation& op, uint16_t status, uint64_t value) {
    (void)g->port.server().complete(op.id, status, value);
}

// Finishes a slot whose requests are all done: copies a read's data out, completes it.
void finish_slot(uint32_t i) {
    Slot& s = g->slots[i];
    if (s.failed) {
        complete(s.op, error(abi::Error::kIo), 0);
    } else if (s.flush) {
        complete(s.op, kOk, 0);
    } else {
        if (!s.write && !g->direct) {
            const auto data = g->port.server().bytes(s.op);
            c::copy(data.data(), g->bounce + uint64_t{i} * kMaxTransfer, s.length);
        }
        complete(s.op, kOk, s.length);
    }
    s.busy = false;
}

// The slots that join slot `pick`'s request (its bit included): while the request is a whole
// operation, the not yet issued operations of the same direction that start where it ends on
// the disk, each whole, within merge_segments data segments (`segments` counts those added
// so far; add_data(slot, 0, length) adds a joining slot's). None while a flush
// waits to be issued (what the flush covers stays what was issued before it). Lock held.
template <class AddData>
uint32_t merge(uint32_t pick, uint32_t& segments, AddData add_data) {
    const Slot& s = g->slots[pick];
    uint32_t members = 1u << pick;
    if (s.alone || s.issued != 0 || s.length > g->dev.max_piece())
        return members;
    for (const Slot& o : g->slots) {
        if (o.busy && o.flush && o.issued == 0)
            return members;
    }
    uint64_t end = s.offset + s.length;
    for (;;) {
        uint32_t next = kSlots;
        for (uint32_t j = 0; j < kSlots && next == kSlots; ++j) {
            const Slot& o = g->slots[j];
            if (o.busy && !o.flush && !o.alone && o.write == s.write && o.issued == 0 &&
                o.outstanding == 0 && o.offset == end && o.length <= g->dev.max_piece() &&
                (members >> j & 1) == 0)
                next = j;
        }
        if (next == kSlots)
            return members;
        const Slot& o = g->slots[next];
        const uint32_t need = (o.length + g->dev.segment_bytes() - 1) / g->dev.segment_bytes();
        if (segments + need > g->dev.merge_segments())
            return members;
        add_data(next, 0, o.length);
        members |= 1u << next;
        end += o.length;
    }
}

// Hands as many pieces of the busy slots to the device as descriptors and records allow,
// oldest slot first. The operations of a merged request that failed go again one at a time:
// QEMU itself merges adjacent requests that reach it together, so sent together they would
// fail together again. Lock held.
void issue() {
    for (;;) {
        bool alone_out = false;
        for (const Slot& s : g->slots)
            alone_out = alone_out || (s.busy && s.alone && s.outstanding > 0);
        uint32_t pick = kSlots;
        for (uint32_t i = 0; i < kSlots; ++i) {
            const Slot& s = g->slots[i];
            const bool more = s.flush ? s.issued == 0 && s.outstanding == 0 : s.issued < s.length;
            if (s.busy && more && !(s.alone && alone_out) &&
                (pick == kSlots || s.order < g->slots[pick].order))
                pick = i;
        }
        if (pick == kSlots)
            return;
        Slot& s = g->slots[pick];
        const int32_t free = g->dev.free_record();
        if (free < 0)
            return;
        const auto r = static_cast<uint32_t>(free);
        const uint32_t piece = s.flush                                    ? 0
                               : s.length - s.issued < g->dev.max_piece() ? s.length - s.issued
                                                                          : g->dev.max_piece();
        vio::Segment segs[kMaxMergeSegments];
        uint32_t n = 0;
        // A slot's piece as data segments of at most segment_bytes from its data.
        auto add_data = [&](uint32_t slot, uint32_t from, uint32_t bytes) {
            n += g->dev.cut(g->slots[slot].data + from, bytes, !s.write, segs + n);
        };
        add_data(pick, s.issued, piece);
        const uint32_t members = s.flush ? 1u << pick : merge(pick, n, add_data);
        const uint32_t type = s.flush ? blk::kTypeFlush : s.write ? blk::kTypeOut : blk::kTypeIn;
        const uint64_t sector = s.flush ? 0 : (s.offset + s.issued) / blk::kSector;
        if (!g->dev.add(r, type, sector, segs, n))
            return;  // no descriptors: the next reap frees some
        g->records[r] = {members, false, 0, 0};
        s.issued += piece;
        if (s.flush)
            s.issued = 1;  // the flush request is out
        ++s.outstanding;
        for (uint32_t j = 0; j < kSlots; ++j) {
            if (j != pick && (members >> j & 1) != 0) {
                g->slots[j].issued = g->slots[j].length;
                ++g->slots[j].outstanding;
            }
        }
    }
}

// An open on the disk: a partition by its number ("1" is the table's first), served as object
// N with reads and writes confined to it. Lock held.
void open_partition(const ipc::Operation& op, std::span<std::byte> name) {
    uint32_t n = 0;
    bool digits = !name.empty() && name.size() <= 2 && name[0] != std::byte{'0'};
    for (std::byte b : name) {
        const auto ch = static_cast<char>(b);
        digits = digits && ch >= '0' && ch <= '9';
        n = n * 10 + static_cast<uint32_t>(ch - '0');
    }
    if (!digits || !g->parts_ready || n == 0 || n > g->part_count)
        return complete(op, error(abi::Error::kNotFound), 0);
    complete(op, kOk,
             abi::served_open_value(n, abi::kRightRead | abi::kRightWrite | abi::kRightShare));
}

// ---- the shared-memory session -----------------------------------------------------------

// NAME.shm, where the session's memory is bound in srv (NAME is at most 27 bytes: serve()).
void shm_name(char (&out)[abi::kMaxNameLength + 1]) {
    const uint64_t n = c::length(g->name);
    c::copy(out, g->name, n);
    c::copy(out + n, ".shm", 5);
}

// Removes the session memory's name srv/NAME.shm (once the client has it, or the session ends).
void shm_unbind() {
    Session& m = g->shm;
    if (!m.bound)
        return;
    m.bound = false;
    char name[abi::kMaxNameLength + 1];
    shm_name(name);
    const int64_t srv = open(root(), "srv");
    if (srv >= 0) {
        (void)sys::do_io(static_cast<uint64_t>(srv), Op::kDestroy, name, c::length(name));
        (void)sys::do_io(static_cast<uint64_t>(srv), Op::kClose);
    }
}

// Ends the session once nothing of it is in flight (the device may still write its buffers
// until then): unbinds the region's name, answers a waiting sync. The region stays (Region).
void shm_release() {
    Session& m = g->shm;
    if (m.waiting)
        complete(m.waiter, error(abi::Error::kPeerGone), 0);
    shm_unbind();
    m = Session{};
}

// open("shm") on the disk: a new session (one at a time), its ring and buffers in the region,
// cleared, bound as srv/NAME.shm for the opener to map (served objects cannot carry handles);
// the binding goes at the client's first doorbell. Lock held.
void shm_open(const ipc::Operation& op) {
    Session& m = g->shm;
    Region& region = g->shm_region;
    if (m.open)
        return complete(op, error(abi::Error::kExists), 0);
    if (c::length(g->name) + 4 > abi::kMaxNameLength)
        return complete(op, error(abi::Error::kNotSupported), 0);  // no room for ".shm"
    if (region.memory == 0) {
        dev::Dma dma;
        if (g->dev.device().dma(br::kRegionBytes, &dma, &region.memory) != nullptr) {
            region = Region{};
            return complete(op, error(abi::Error::kNoMemory), 0);
        }
        region.at = dma.at;
        region.device = dma.device;
    } else {
        c::fill(region.at, 0, br::kRegionBytes);  // nothing of the last session is left
    }
    char name[abi::kMaxNameLength + 1];
    shm_name(name);
    const int64_t srv = open(root(), "srv");
    const int64_t bound = srv < 0 ? srv
                                  : sys::do_io(static_cast<uint64_t>(srv), Op::kCreate, name,
                                               c::length(name), region.memory);
    if (srv >= 0)
        (void)sys::do_io(static_cast<uint64_t>(srv), Op::kClose);
    if (bound < 0)
        return complete(op, error(abi::Error::kExists), 0);
    m = Session{};
    m.open = true;
    m.client = op.request.args[abi::kServedClientArg];
    m.bound = true;
    m.at = region.at;
    m.ring.attach(reinterpret_cast<br::Header*>(region.at));
    complete(op, kOk, abi::served_open_value(kShmObject, abi::kRightRead | abi::kRightWrite));
}

// An operation on the session object. sync with arg 0 is the doorbell (the driver sleeps:
// wake it); arg 1 + SEEN also waits until a completion after the client's cq_head SEEN is
// published. close (the kernel's notice: the client's last handle went) ends the session once
// nothing is in flight. Lock held.
void shm_operation(const ipc::Operation& op, Op o) {
    Session& m = g->shm;
    const uint64_t client = op.request.args[abi::kServedClientArg];
    if (o == Op::kClose) {
        if (m.open && client == 0) {
            m.closing = true;
            if (m.ring.in_flight() == 0)
                shm_release();
        }
        return complete(op, kOk, 0);
    }
    if (!m.open || m.closing || client != m.client)
        return complete(op, error(abi::Error::kNoRights), 0);
    if (o != Op::kSync)
        return complete(op, error(abi::Error::kNotSupported), 0);
    shm_unbind();
    __atomic_store_n(&g->shm_bell, 1, __ATOMIC_RELEASE);
    (void)sys::futex_wake(&g->shm_bell, 1);
    if (m.ring.fault() != br::Fault::kNone)
        return complete(op, error(abi::Error::kProtocol), 0);
    const uint64_t arg = op.request.args[0];
    if (arg == 0)
        return complete(op, kOk, 0);
    const auto seen = static_cast<uint32_t>(arg - 1);
    if (m.ring.published_after(seen))
        return complete(op, kOk, 0);
    if (m.waiting)
        return complete(op, error(abi::Error::kExists), 0);  // one waiter at a time
    m.waiting = true;
    m.waiter = op;
    m.seen = seen;
}

// The error a rejected shared-ring request completes with.
abi::Error shm_error(br::Verdict v) {
    switch (v) {
        case br::Verdict::kOutOfRange:
            return abi::Error::kOutOfRange;
        case br::Verdict::kReadOnly:
            return abi::Error::kNoRights;
        default:
            return abi::Error::kInvalidArgument;
    }
}

// Takes what the ring offers as virtio requests straight on the client's buffers. Lock held.
// Whether anything was taken.
bool shm_take() {
    Session& m = g->shm;
    if (!m.open || m.closing)
        return false;
    const blk::Geometry& geo = g->dev.geometry();
    br::Disk disk{geo.capacity_bytes, geo.block_size, geo.read_only,
                  g->dev.max_piece() < br::kBufferBytes ? g->dev.max_piece() : br::kBufferBytes};
    const uint32_t taken = m.ring.take(
        disk,
        [&](const br::Request& r) {
            const int32_t rec = g->dev.free_record();
            if (rec < 0)
                return false;
            vio::Segment segs[kMaxMergeSegments];
            const bool read = r.op == br::kRead;
            const uint32_t n =
                g->dev.cut(g->shm_region.device + br::data_offset(r), r.length, read, segs);
            if (!g->dev.add(static_cast<uint32_t>(rec), read ? blk::kTypeIn : blk::kTypeOut,
                            r.offset / blk::kSector, segs, n))
                return false;
            g->records[rec] = {0, true, r.length, r.tag};
            return true;
        },
        [&](const br::Request& r, br::Verdict v) {
            m.ring.complete(r.tag, -static_cast<int64_t>(shm_error(v)));
        });
    if (m.ring.fault() != br::Fault::kNone && !m.fault_said) {
        m.fault_said = true;
        print("virtio-blk: shared ring of process %lu: impossible %s index; ignoring it\n",
              m.client, m.ring.fault() == br::Fault::kSubmissions ? "submission" : "completion");
    }
    return taken > 0;
}

// After completions: a waiting sync that can go, a closing session whose last request came
// back. Lock held.
void shm_settle() {
    Session& m = g->shm;
    if (!m.open)
        return;
    if (m.waiting && (m.ring.published_after(m.seen) || m.ring.fault() != br::Fault::kNone ||
                      g->port.server().cancel_requested(m.waiter.id))) {
        m.waiting = false;
        const bool gave_up = g->port.server().cancel_requested(m.waiter.id);
        complete(m.waiter,
                 m.ring.fault() != br::Fault::kNone ? error(abi::Error::kProtocol)
                 : gave_up ? static_cast<uint16_t>(ipc::abi::Status::Cancelled)
                           : kOk,
                 0);
    }
    if (m.closing && m.ring.in_flight() == 0)
        shm_release();
}

// Starts a forwarded operation: answered at once, or given a slot. Lock held.
void start(const ipc::Operation& op) {
    const auto o = static_cast<Op>(op.request.opcode - abi::kQueueOpBase);
    uint64_t arg = op.request.args[0];
    const auto data = g->port.server().bytes(op);
    // Device data (abi::kServeDeviceData): the caller's own memory, at a device address. Only
    // reads and writes come so, and only while the region is the device's (g->direct).
    const ServePort::DeviceData caller = ServePort::device_data(op);
    const uint64_t length = caller.length != 0 ? caller.length : data.size();
    const uint32_t object = op.request.object;
    if (caller.length != 0 && (!g->direct || object == kShmObject))
        return complete(op, error(abi::Error::kNotSupported), 0);
    if (object == kShmObject)
        return shm_operation(op, o);
    if (o == Op::kClose)
        return complete(op, kOk, 0);  // a partition object's end: nothing kept per open
    if (o == Op::kOpen) {
        if (object != 0)
            return complete(op, error(abi::Error::kNotDirectory), 0);
        if (data.size() == 3 && c::compare(data.data(), "shm", 3) == 0)
            return shm_open(op);
        return open_partition(op, data);
    }
    // The geometry the request sees: the disk's, or its partition's (object N).
    blk::Geometry geometry = g->dev.geometry();
    uint64_t base = 0;
    if (object != 0) {
        if (object > g->part_count)
            return complete(op, error(abi::Error::kInvalidArgument), 0);  // never made
        const partition::Partition& p = g->parts[object - 1];
        geometry.capacity_bytes = p.sector_count * g->dev.geometry().block_size;
        base = p.first_lba * g->dev.geometry().block_size;
    }
    if (o == Op::kGetMeta) {
        const auto key = static_cast<abi::Meta>(arg);
        if (key == abi::Meta::kSize) {
            if (data.size() < 8)
                return complete(op, error(abi::Error::kBufferTooSmall), 0);
            c::copy(data.data(), &geometry.capacity_bytes, 8);
            return complete(op, kOk, 8);
        }
        if (key == abi::Meta::kBlockInfo) {
            const abi::BlockInfo info{geometry.capacity_bytes / geometry.block_size,
                                      geometry.block_size, kMaxTransfer,
                                      geometry.read_only ? abi::kBlockReadOnly : 0u, 0};
            if (data.size() < sizeof info)
                return complete(op, error(abi::Error::kBufferTooSmall), 0);
            c::copy(data.data(), &info, sizeof info);
            return complete(op, kOk, sizeof info);
        }
        return complete(op, error(abi::Error::kInvalidArgument), 0);
    }
    const bool write = o == Op::kWrite;
    if (o == Op::kSync) {
        if (!g->dev.flush())
            return complete(op, kOk, 0);  // no flush feature: the device writes through
    } else if (o != Op::kRead && o != Op::kReadAt && !write) {  // reads are at `arg` anyway
        return complete(op, error(abi::Error::kNotSupported), 0);
    } else {
        switch (blk::check_request(geometry, arg, length)) {
            case blk::Check::kInvalid:
                return complete(op, error(abi::Error::kInvalidArgument), 0);
            case blk::Check::kOutOfRange:
                return complete(op, error(abi::Error::kOutOfRange), 0);
            case blk::Check::kOk:
                break;
        }
        if (write && g->dev.geometry().read_only)
            return complete(op, error(abi::Error::kNoRights), 0);
        // Inside the partition (checked above against its size): the disk's offset.
        arg += base;
    }
    uint32_t i = 0;
    while (g->slots[i].busy)
        ++i;  // the caller checked that one is free
    Slot& s = g->slots[i];
    const uint64_t at = caller.length != 0 ? caller.address
                        : g->direct        ? g->port.device_address(data.data())
                                           : g->bounce_device + uint64_t{i} * kMaxTransfer;
    s = Slot{true, o == Op::kSync, write, false, op, arg, static_cast<uint32_t>(length), 0,
             0,    g->started++,   false, at};
    if (write && !g->direct)
        c::copy(g->bounce + uint64_t{i} * kMaxTransfer, data.data(), data.size());
}

bool slot_free() {
    for (const Slot& s : g->slots) {
        if (!s.busy)
            return true;
    }
    return false;
}

// Everything there is to do now: reap the used ring, take new operations while a slot is
// free, hand pieces to the device, notify it, publish the served completions. Lock held.
// Whether anything was reaped or taken.
bool pump() {
    bool progress = false;
    vio::Completion c{};
    for (;;) {
        const auto r = g->dev.reap(&c);
        if (r == vio::SplitQueue::Reaped::kNothing)
            break;
        if (r == vio::SplitQueue::Reaped::kFault) {
            // The device broke the queue's rules: nothing it says is believed any more.
            print("virtio-blk: device fault: %s; stopping\n",
                  vio::fault_text(g->dev.queue().fault()));
            g->dev.device().reset();  // first: it stops using the memory
            for (uint32_t i = 0; i < kSlots; ++i) {
                if (g->slots[i].busy) {
                    g->slots[i].failed = true;
                    finish_slot(i);
                }
            }
            g->port.server().publish();
            (void)sys::serve_sync(g->port.port(), 0, 0);
            sys::process_exit(1);
        }
        progress = true;
        const Record& rec = g->records[c.token];
        const bool ok = g->dev.ok(static_cast<uint32_t>(c.token));
        if (rec.shm) {
            g->shm.ring.complete(rec.tag,
                                 ok ? int64_t{rec.length} : -static_cast<int64_t>(abi::Error::kIo));
            continue;
        }
        const bool merged = (rec.slots & (rec.slots - 1)) != 0;
        for (uint32_t i = 0; i < kSlots; ++i) {
            if ((rec.slots >> i & 1) == 0)
                continue;
            Slot& s = g->slots[i];
            --s.outstanding;
            if (!ok && merged) {
                // Which of them failed is not known: each is sent again alone, and its own
                // status decides (a merged operation is always whole in one request).
                s.issued = 0;
                s.alone = true;
                continue;
            }
            if (!ok)
                s.failed = true;
            if (s.outstanding == 0 && (s.flush || s.issued == s.length))
                finish_slot(i);
        }
    }
    (void)g->port.server().poll();
    while (slot_free()) {
        auto op = g->port.server().take();
        if (!op)
            break;
        start(*op);
        progress = true;
    }
    issue();
    progress = shm_take() || progress;
    shm_settle();
    g->dev.kick();
    g->port.server().publish();
    return progress;
}

void set_interrupts(bool on) {
    g->dev.set_interrupts(on);
}

// The two threads' loops (drivers/virtio-common) around pump().
dev::Pump g_pump{};

void interrupt_thread(uint64_t) {
    dev::interrupt_loop(g->dev.device(), g_pump);
}

// The shared ring's poller. While a session is open it pumps (new ring requests, the device's
// completions) for as long as that makes progress and kShmSpinNs after, yielding between
// rounds: the kernel is out of the data path while the client keeps it busy. Then it marks the
// ring idle (from then on the client rings the doorbell, a sync on the session object), looks
// once more, and sleeps on shm_bell until the doorbell or kShmSleepNs (without a session, until
// the doorbell: a new session's first one).
//
// Its serve_sync hands back what its pumps completed, but also counts, and so clears, the
// submissions the kernel made since the last one: the main thread's waiting serve_sync then
// sleeps on. So whatever this thread's serve_sync reports, this thread pumps, session or not
// (a disk read forwarded at start, the partition table's, was once left in the ring for good).
void shm_thread(uint64_t) {
    uint64_t last = sys::clock_ns();
    bool submitted = false;  // the last serve_sync reported new submissions
    for (;;) {
        g->lock.lock();
        const bool active =
            g->shm.open && !g->shm.closing && g->shm.ring.fault() == br::Fault::kNone;
        bool progress = (active || submitted) && pump();
        g->lock.unlock();
        submitted = sys::serve_sync(g->port.port(), 0, 0) > 0;
        if (progress || submitted) {
            last = sys::clock_ns();
            continue;
        }
        if (active && sys::clock_ns() - last < kShmSpinNs) {
            (void)sys::yield();
            continue;
        }
        if (active) {
            g->lock.lock();
            g->shm.ring.set_idle(true);
            const bool more = pump();  // a request published just before the mark
            if (more)
                g->shm.ring.set_idle(false);
            g->lock.unlock();
            submitted = sys::serve_sync(g->port.port(), 0, 0) > 0;
            if (more || submitted) {
                last = sys::clock_ns();
                continue;
            }
        }
        if (__atomic_exchange_n(&g->shm_bell, 0u, __ATOMIC_ACQ_REL) == 0)
            (void)sys::futex_wait(&g->shm_bell, 0, active ? kShmSleepNs : 0);
        __atomic_store_n(&g->shm_bell, 0u, __ATOMIC_RELEASE);
        g->lock.lock();
        if (g->shm.open)
            g->shm.ring.set_idle(false);
        g->lock.unlock();
        last = sys::clock_ns();
    }
}

}  // namespace

// Reads the partition table through the driver's own served object (the serve loop on the main
// thread performs it like any caller's read) and makes its partitions openable. A corrupt table
// is reported and nothing of it is served.
void partition_thread(uint64_t) {
    const uint32_t block = g->dev.geometry().block_size;
    const uint64_t want = g->dev.geometry().capacity_bytes < kMaxTransfer
                              ? g->dev.geometry().capacity_bytes
                              : kMaxTransfer;
    static uint8_t first[kMaxTransfer];
    const int64_t n = sys::do_io(g->port.served(), Op::kRead, first, want, 0);
    partition::Partition found[kMaxPartitions];
    partition::Table table{};
    const char* why =
        n != static_cast<int64_t>(want)
            ? "cannot read the first blocks"
            : partition::parse(first, want, block, g->dev.geometry().capacity_bytes / block, found,
                               kMaxPartitions, &table);
    g->lock.lock();
    if (why == nullptr) {
        g->part_count = table.stored;
        c::copy(g->parts, found, sizeof found);
    }
    g->parts_ready = true;
    g->lock.unlock();
    if (why != nullptr) {
        print("virtio-blk: no partitions served: %s\n", why);
    } else {
        print("virtio-blk: %s partition table, %u partition(s) served (srv/NAME/1..)\n",
              table.scheme == partition::Scheme::kGpt ? "GPT" : "MBR", table.stored);
    }
}

namespace {

// The driver's argument: NAME, or NAME followed by " copy", which keeps the served region in
// ordinary memory and copies through the bounce buffers (the fallback's path, for
// qemu_blk_copy and for measuring what the copy costs).
constexpr char kCopyWord[] = " copy";
constexpr uint64_t kCopyWordLength = sizeof kCopyWord - 1;

bool copy_asked(StartInfo& start) {
    if (start.args_length < kCopyWordLength ||
        c::compare(start.args + start.args_length - kCopyWordLength, kCopyWord, kCopyWordLength) !=
            0)
        return false;
    start.args_length -= kCopyWordLength;
    return true;
}

}  // namespace

int keel_main(const StartInfo& given) {
    StartInfo start = given;
    const bool copy = copy_asked(start);
    void* storage = allocate(sizeof(Driver));
    if (storage == nullptr) {
        print("virtio-blk: no memory\n");
        return 1;
    }
    g = new (storage) Driver;
    g_pump = dev::Pump{&g->lock, &g->port, pump, set_interrupts};
    const Handle device = dev::open_device("virtio-blk");
    if (device == 0)
        return 1;
    if (const char* why = init_device(device)) {
        print("virtio-blk: %s\n", why);
        return 1;
    }
    char* name = g->name;
    if (!dev::serve("virtio-blk", start, "blk0", g->port, kServeCapacity, kServeBuffers,
                    kMaxTransfer, g->name, copy ? 0 : device, abi::kServeDeviceData))
        return 1;
    if (const char* why = init_data_path()) {
        print("virtio-blk: %s\n", why);
        return 1;
    }
    print("virtio-blk: %s\n", g->direct ? "the device reads and writes the served buffers (no copy)"
                                        : "served buffers copied through bounce buffers");
    print("virtio-blk: srv/%s: %lu blocks of %u bytes%s%s, queue %u (%s), %u bytes a request\n",
          name, g->dev.geometry().capacity_bytes / g->dev.geometry().block_size,
          g->dev.geometry().block_size, g->dev.geometry().read_only ? ", read-only" : "",
          g->dev.flush() ? ", flush" : ", write-through", g->dev.queue().size(),
          g->dev.device().msix() ? "MSI-X" : "INTx", g->dev.max_piece());
    if (spawn_thread(interrupt_thread, 0) < 0 || spawn_thread(partition_thread, 0) < 0 ||
        spawn_thread(shm_thread, 0) < 0) {
        print("virtio-blk: no interrupt, partition or shared-ring thread\n");
        return 1;
    }
    return dev::serve_loop(g_pump);
}
