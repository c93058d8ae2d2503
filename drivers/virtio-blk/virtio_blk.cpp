// virtio-blk: the driver of one virtio 1.x block device (PCI, modern interface), as a user
// process holding only that device ("device" in its root, given by init) and a directory to
// publish in ("srv"). It serves the disk as a block device object, srv/NAME (NAME its argument,
// blk0 by default): read and write with arg = byte offset, sync, get_meta Size and BlockInfo.
// Design (threads, interrupts and polling, the copy through bounce buffers): README.md.
#include <keel/c/mem.hpp>
#include <keel/partition/partition.hpp>
#include <keel/virtio/blk.hpp>
#include <keel/virtio/pci.hpp>
#include <keel/virtio/virtqueue.hpp>

#include <new>

#include "runtime.hpp"
#include "serve.hpp"
#include "virtio_device.hpp"

using namespace keel;
using namespace keel::user;
namespace vio = keel::virtio;
namespace blk = keel::virtio::blk;
namespace dev = keel::drivers::virtio;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
// The served queue: capacity 64 forwards 32 operations at a time (the kernel keeps a credit
// per operation for its Cancel); each carries at most kMaxTransfer bytes.
constexpr uint32_t kServeCapacity = 64;
constexpr uint32_t kServeBuffers = 48;
constexpr uint32_t kMaxTransfer = 64 * 1024;
// Operations being performed at once, each with a bounce buffer of kMaxTransfer bytes in DMA
// memory (the served buffers have no device address).
constexpr uint32_t kSlots = 32;
constexpr uint32_t kMaxQueue = vio::kMaxQueueSize;
constexpr uint32_t kMaxDataSegments = 16;  // per virtio request of one operation
// Per virtio request that carries several operations (adjacent on the disk, merged): data
// segments, and bytes (every slot's bounce buffer).
constexpr uint32_t kMaxMergeSegments = 64;
constexpr uint64_t kMetaBytes = 20 * 1024;  // rings, request headers, status bytes
constexpr uint32_t kMaxPartitions = 16;     // served as objects 1..16 ("1".."16")

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
};

// One virtio request in flight; its header and status live at its index. It carries a piece
// of one slot, or whole operations of several slots adjacent on the disk (merged).
struct Record {
    bool busy;
    uint32_t slots;  // a bit per slot it carries (kSlots is 32)
};
static_assert(kSlots <= 32);

struct Driver {
    dev::Device device;
    volatile uint16_t* notify = nullptr;
    vio::SplitQueue queue;
    blk::Geometry geometry{};
    bool flush = false;
    uint32_t max_piece = 0;       // data bytes per virtio request (whole blocks)
    uint32_t segment_bytes = 0;   // data bytes per descriptor
    uint32_t merge_segments = 0;  // data descriptors in one merged request
    // DMA: the rings, headers and status bytes in one object, the bounce buffers in another.
    uint8_t* meta = nullptr;
    uint64_t meta_device = 0;
    uint8_t* bounce = nullptr;
    uint64_t bounce_device = 0;
    uint32_t header_at = 0, status_at = 0;
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
};

// Made at start (placement new into the heap): a global with a destructor would need
// __cxa_atexit, which the runtime does not have; the driver never ends but by exiting.
Driver* g = nullptr;

// ---- set-up ----------------------------------------------------------------------------------

// The device configuration, read until the generation is stable.
const char* read_geometry(uint64_t features) {
    const dev::Mmio& config = g->device.config();
    uint64_t capacity = 0;
    uint32_t size_max = 0, seg_max = 0, block_size = 0;
    if (!g->device.read_config([&] {
            capacity = config.r32(blk::kConfigCapacity) |
                       uint64_t{config.r32(blk::kConfigCapacity + 4)} << 32;
            size_max = config.r32(blk::kConfigSizeMax);
            seg_max = config.r32(blk::kConfigSegMax);
            block_size = config.r32(blk::kConfigBlockSize);
        })) {
        return "device configuration never stable";
    }
    return blk::check_geometry(features, capacity, size_max, seg_max, block_size, &g->geometry);
}

// Resets and initialises the device (virtio 1.x 3.1.1) with one request queue
// (drivers/virtio-common). nullptr or why.
const char* init_device(Handle device) {
    dev::Device& d = g->device;
    if (const char* why = d.start(device, blk::kConfigMinimum, "no block device configuration"))
        return why;
    const uint64_t optional = blk::kFeatureSegMax | blk::kFeatureSizeMax | blk::kFeatureBlockSize |
                              blk::kFeatureFlush | blk::kFeatureReadOnly;
    uint64_t features = 0;
    if (const char* why = d.negotiate(vio::kFeatureVersion1, optional, &features))
        return why;
    g->flush = (features & blk::kFeatureFlush) != 0;
    if (const char* why = read_geometry(features))
        return d.fail(why);

    // One DMA object for the rings (dev::kRingBytes), then the request headers (12 KiB) and
    // status bytes (16 KiB), indexed by request record; another for the bounce buffers.
    g->header_at = dev::kRingBytes;
    g->status_at = g->header_at + kMaxQueue * sizeof(blk::RequestHeader);
    static_assert(dev::kRingBytes + kMaxQueue * (sizeof(blk::RequestHeader) + 1) <= kMetaBytes);
    dev::Dma meta, bounce;
    if (const char* why = d.dma(kMetaBytes, &meta))
        return d.fail(why);
    if (const char* why = d.dma(uint64_t{kSlots} * kMaxTransfer, &bounce))
        return d.fail(why);
    g->meta = meta.at;
    g->meta_device = meta.device;
    g->bounce = bounce.at;
    g->bounce_device = bounce.device;
    // The request queue: the largest power of two the device allows, at most 256.
    if (const char* why = d.setup_queue(0, kMaxQueue, 8, meta, &g->queue, &g->notify))
        return why;
    if (const char* why = d.setup_interrupts(1))
        return why;
    d.go(1);

    // How a transfer is cut into requests: data segments of at most size_max bytes, at most
    // seg_max (and 16, and what the queue can hold) of them per request.
    const uint32_t size = g->queue.size();
    uint32_t segments = kMaxDataSegments;
    if (g->geometry.seg_max < segments)
        segments = g->geometry.seg_max;
    if (size - 2u < segments)
        segments = size - 2u;
    g->segment_bytes = g->geometry.size_max < kMaxTransfer ? g->geometry.size_max : kMaxTransfer;
    blk::Geometry limits = g->geometry;
    limits.seg_max = segments;
    limits.size_max = g->segment_bytes;
    g->max_piece = blk::max_request_bytes(limits, kMaxTransfer);
    g->merge_segments = kMaxMergeSegments;
    if (g->geometry.seg_max < g->merge_segments)
        g->merge_segments = g->geometry.seg_max;
    if (size - 2u < g->merge_segments)
        g->merge_segments = size - 2u;
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
        if (!s.write) {
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
// so far plus the header; add_data(slot, 0, length) adds a joining slot's). None while a flush
// waits to be issued (what the flush covers stays what was issued before it). Lock held.
template <class AddData>
uint32_t merge(uint32_t pick, uint32_t& segments, AddData add_data) {
    const Slot& s = g->slots[pick];
    uint32_t members = 1u << pick;
    if (s.alone || s.issued != 0 || s.length > g->max_piece)
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
                o.outstanding == 0 && o.offset == end && o.length <= g->max_piece &&
                (members >> j & 1) == 0)
                next = j;
        }
        if (next == kSlots)
            return members;
        const Slot& o = g->slots[next];
        const uint32_t need = (o.length + g->segment_bytes - 1) / g->segment_bytes;
        if (segments - 1 + need > g->merge_segments)
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
        uint32_t r = 0;
        while (r < g->queue.size() && g->records[r].busy)
            ++r;
        if (r == g->queue.size())
            return;
        const uint32_t piece = s.flush                              ? 0
                               : s.length - s.issued < g->max_piece ? s.length - s.issued
                                                                    : g->max_piece;
        auto* header = reinterpret_cast<blk::RequestHeader*>(g->meta + g->header_at) + r;
        header->type = s.flush ? blk::kTypeFlush : s.write ? blk::kTypeOut : blk::kTypeIn;
        header->reserved = 0;
        header->sector = s.flush ? 0 : (s.offset + s.issued) / blk::kSector;
        g->meta[g->status_at + r] = 0xff;  // not written by the device yet
        vio::Segment segs[kMaxMergeSegments + 2];
        uint32_t n = 0;
        segs[n++] = {g->meta_device + g->header_at + r * sizeof(blk::RequestHeader),
                     sizeof(blk::RequestHeader), false};
        // A slot's piece as data segments of at most segment_bytes from its bounce buffer.
        auto add_data = [&](uint32_t slot, uint32_t from, uint32_t bytes) {
            const uint64_t data = g->bounce_device + uint64_t{slot} * kMaxTransfer + from;
            for (uint32_t done = 0; done < bytes;) {
                const uint32_t k =
                    bytes - done < g->segment_bytes ? bytes - done : g->segment_bytes;
                segs[n++] = {data + done, k, !s.write};
                done += k;
            }
        };
        add_data(pick, s.issued, piece);
        const uint32_t members = s.flush ? 1u << pick : merge(pick, n, add_data);
        segs[n++] = {g->meta_device + g->status_at + r, 1, true};
        if (!g->queue.add(segs, n, r))
            return;  // no descriptors: the next reap frees some
        g->records[r] = {true, members};
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

// Starts a forwarded operation: answered at once, or given a slot. Lock held.
void start(const ipc::Operation& op) {
    const auto o = static_cast<Op>(op.request.opcode - abi::kQueueOpBase);
    uint64_t arg = op.request.args[0];
    const auto data = g->port.server().bytes(op);
    const uint32_t object = op.request.object;
    if (o == Op::kClose)
        return complete(op, kOk, 0);  // a partition object's end: nothing kept per open
    if (o == Op::kOpen) {
        if (object != 0)
            return complete(op, error(abi::Error::kNotDirectory), 0);
        return open_partition(op, data);
    }
    // The geometry the request sees: the disk's, or its partition's (object N).
    blk::Geometry geometry = g->geometry;
    uint64_t base = 0;
    if (object != 0) {
        if (object > g->part_count)
            return complete(op, error(abi::Error::kInvalidArgument), 0);  // never made
        const partition::Partition& p = g->parts[object - 1];
        geometry.capacity_bytes = p.sector_count * g->geometry.block_size;
        base = p.first_lba * g->geometry.block_size;
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
        if (!g->flush)
            return complete(op, kOk, 0);  // no flush feature: the device writes through
    } else if (o != Op::kRead && !write) {
        return complete(op, error(abi::Error::kNotSupported), 0);
    } else {
        switch (blk::check_request(geometry, arg, data.size())) {
            case blk::Check::kInvalid:
                return complete(op, error(abi::Error::kInvalidArgument), 0);
            case blk::Check::kOutOfRange:
                return complete(op, error(abi::Error::kOutOfRange), 0);
            case blk::Check::kOk:
                break;
        }
        if (write && g->geometry.read_only)
            return complete(op, error(abi::Error::kNoRights), 0);
        // Inside the partition (checked above against its size): the disk's offset.
        arg += base;
    }
    uint32_t i = 0;
    while (g->slots[i].busy)
        ++i;  // the caller checked that one is free
    Slot& s = g->slots[i];
    s = Slot{true, o == Op::kSync, write, false, op, arg, static_cast<uint32_t>(data.size()), 0,
             0,    g->started++,   false};
    if (write)
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
        const auto r = g->queue.reap(&c);
        if (r == vio::SplitQueue::Reaped::kNothing)
            break;
        if (r == vio::SplitQueue::Reaped::kFault) {
            // The device broke the queue's rules: nothing it says is believed any more.
            print("virtio-blk: device fault: %s; stopping\n", vio::fault_text(g->queue.fault()));
            g->device.reset();  // first: it stops using the memory
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
        Record& rec = g->records[c.token];
        const bool ok = g->meta[g->status_at + c.token] == blk::kStatusOk;
        const bool merged = (rec.slots & (rec.slots - 1)) != 0;
        rec.busy = false;
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
    if (g->queue.publish() > 0)
        *g->notify = 0;  // queue 0
    g->port.server().publish();
    return progress;
}

void set_interrupts(bool on) {
    g->queue.set_interrupts(on);
}

// The two threads' loops (drivers/virtio-common) around pump().
dev::Pump g_pump{};

void interrupt_thread(uint64_t) {
    dev::interrupt_loop(g->device, g_pump);
}

}  // namespace

// Reads the partition table through the driver's own served object (the serve loop on the main
// thread performs it like any caller's read) and makes its partitions openable. A corrupt table
// is reported and nothing of it is served.
void partition_thread(uint64_t) {
    const uint32_t block = g->geometry.block_size;
    const uint64_t want =
        g->geometry.capacity_bytes < kMaxTransfer ? g->geometry.capacity_bytes : kMaxTransfer;
    static uint8_t first[kMaxTransfer];
    const int64_t n = sys::do_io(g->port.served(), Op::kRead, first, want, 0);
    partition::Partition found[kMaxPartitions];
    partition::Table table{};
    const char* why = n != static_cast<int64_t>(want)
                          ? "cannot read the first blocks"
                          : partition::parse(first, want, block, g->geometry.capacity_bytes / block,
                                             found, kMaxPartitions, &table);
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

int keel_main(const StartInfo& start) {
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
    char name[abi::kMaxNameLength + 1];
    if (!dev::serve("virtio-blk", start, "blk0", g->port, kServeCapacity, kServeBuffers,
                    kMaxTransfer, name))
        return 1;
    print("virtio-blk: srv/%s: %lu blocks of %u bytes%s%s, queue %u (%s), %u bytes a request\n",
          name, g->geometry.capacity_bytes / g->geometry.block_size, g->geometry.block_size,
          g->geometry.read_only ? ", read-only" : "", g->flush ? ", flush" : ", write-through",
          g->queue.size(), g->device.msix() ? "MSI-X" : "INTx", g->max_piece);
    if (spawn_thread(interrupt_thread, 0) < 0 || spawn_thread(partition_thread, 0) < 0) {
        print("virtio-blk: no interrupt or partition thread\n");
        return 1;
    }
    return dev::serve_loop(g_pump);
}
