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

using namespace keel;
using namespace keel::user;
namespace vio = keel::virtio;
namespace blk = keel::virtio::blk;

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
constexpr uint32_t kMaxDataSegments = 16;  // per virtio request
constexpr uint64_t kResetTimeoutNs = 1'000'000'000;
constexpr uint64_t kMetaBytes = 20 * 1024;  // rings, request headers, status bytes
constexpr uint32_t kMaxPartitions = 16;     // served as objects 1..16 ("1".."16")

uint16_t error(abi::Error e) {
    return abi::queue_error_status(e);
}

// ---- the device's registers ------------------------------------------------------------------

struct Mmio {
    volatile uint8_t* base = nullptr;
    uint8_t r8(uint32_t at) const { return base[at]; }
    uint16_t r16(uint32_t at) const { return *reinterpret_cast<volatile uint16_t*>(base + at); }
    uint32_t r32(uint32_t at) const { return *reinterpret_cast<volatile uint32_t*>(base + at); }
    void w8(uint32_t at, uint8_t v) const { base[at] = v; }
    void w16(uint32_t at, uint16_t v) const {
        *reinterpret_cast<volatile uint16_t*>(base + at) = v;
    }
    void w32(uint32_t at, uint32_t v) const {
        *reinterpret_cast<volatile uint32_t*>(base + at) = v;
    }
    // 64-bit fields as two 32-bit writes, low half first (the spec allows it).
    void w64(uint32_t at, uint64_t v) const {
        w32(at, static_cast<uint32_t>(v));
        w32(at + 4, static_cast<uint32_t>(v >> 32));
    }
};

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
};

struct Record {  // one virtio request in flight; its header and status live at its index
    bool busy;
    uint32_t slot;
};

struct Driver {
    Handle device = 0;
    Mmio common, isr, config;
    volatile uint16_t* notify = nullptr;
    vio::SplitQueue queue;
    blk::Geometry geometry{};
    bool flush = false;
    uint32_t max_piece = 0;      // data bytes per virtio request (whole blocks)
    uint32_t segment_bytes = 0;  // data bytes per descriptor
    // DMA: the rings, headers and status bytes in one object, the bounce buffers in another.
    uint8_t* meta = nullptr;
    uint64_t meta_device = 0;
    uint8_t* bounce = nullptr;
    uint64_t bounce_device = 0;
    uint32_t header_at = 0, status_at = 0;
    Handle interrupt = 0;
    bool msix = false;
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

int64_t resource(abi::DeviceResourceKind kind, uint32_t index, uint64_t arg) {
    const abi::DeviceResource r{static_cast<uint32_t>(kind), index, arg};
    return sys::do_io(g->device, Op::kCreate, &r, sizeof r);
}

// Maps a memory BAR read-write (once); its address or 0.
uint64_t map_bar(uint8_t bar) {
    static uint64_t mapped[6];
    if (mapped[bar] != 0)
        return mapped[bar];
    const int64_t h = resource(abi::DeviceResourceKind::kBar, bar, 0);
    if (h < 0)
        return 0;
    const int64_t at = sys::do_io(static_cast<uint64_t>(h), Op::kMap, nullptr, 0, 1);
    (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);  // the mapping keeps it
    mapped[bar] = at > 0 ? static_cast<uint64_t>(at) : 0;
    return mapped[bar];
}

// DMA memory of `bytes`: its address in this process and the device's, or false.
bool dma(uint64_t bytes, uint8_t** at, uint64_t* device_address) {
    const int64_t h = resource(abi::DeviceResourceKind::kDmaMemory, 0, bytes);
    if (h < 0)
        return false;
    const int64_t r = sys::do_io(static_cast<uint64_t>(h), Op::kGetMeta, device_address, 8,
                                 static_cast<uint64_t>(abi::Meta::kDeviceAddress));
    const int64_t mapped = sys::do_io(static_cast<uint64_t>(h), Op::kMap, nullptr, 0, 1);
    (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    if (r != 8 || mapped <= 0)
        return false;
    *at = reinterpret_cast<uint8_t*>(mapped);
    return true;
}

const char* fail_device(const char* why) {
    if (g->common.base != nullptr)
        g->common.w8(vio::kDeviceStatus, g->common.r8(vio::kDeviceStatus) | vio::kStatusFailed);
    return why;
}

uint64_t read_features() {
    g->common.w32(vio::kDeviceFeatureSelect, 0);
    const uint64_t low = g->common.r32(vio::kDeviceFeature);
    g->common.w32(vio::kDeviceFeatureSelect, 1);
    return low | uint64_t{g->common.r32(vio::kDeviceFeature)} << 32;
}

// The device configuration, read until the generation is stable.
const char* read_geometry(uint64_t features) {
    for (int tries = 0; tries < 16; ++tries) {
        const uint8_t before = g->common.r8(vio::kConfigGeneration);
        const uint64_t capacity = g->config.r32(blk::kConfigCapacity) |
                                  uint64_t{g->config.r32(blk::kConfigCapacity + 4)} << 32;
        const uint32_t size_max = g->config.r32(blk::kConfigSizeMax);
        const uint32_t seg_max = g->config.r32(blk::kConfigSegMax);
        const uint32_t block_size = g->config.r32(blk::kConfigBlockSize);
        if (g->common.r8(vio::kConfigGeneration) != before)
            continue;
        return blk::check_geometry(features, capacity, size_max, seg_max, block_size, &g->geometry);
    }
    return "device configuration never stable";
}

// Resets and initialises the device (virtio 1.x 3.1.1) with one request queue. nullptr or why.
const char* init_device() {
    abi::DeviceInfo info{};
    if (sys::do_io(g->device, Op::kGetMeta, &info, sizeof info,
                   static_cast<uint64_t>(abi::Meta::kDevice)) != sizeof info) {
        return "no device information";
    }
    if (info.bus_kind != static_cast<uint32_t>(abi::DeviceBus::kPci) ||
        info.vendor != vio::kVendor) {
        return "not a virtio PCI function";
    }
    uint8_t config[256];
    if (sys::do_io(g->device, Op::kRead, config, sizeof config, 0) != sizeof config)
        return "cannot read the configuration space";
    uint64_t bar_sizes[6] = {};
    for (int i = 0; i < 6; ++i) {
        if (info.bars[i].kind == static_cast<uint32_t>(abi::BarKind::kMemory))
            bar_sizes[i] = info.bars[i].size;
    }
    vio::Layout layout{};
    if (const char* why = vio::find_layout(config, sizeof config, bar_sizes, &layout))
        return why;
    if (!layout.has_device || layout.device.length < blk::kConfigMinimum)
        return "no block device configuration";
    const uint64_t common = map_bar(layout.common.bar), isr = map_bar(layout.isr.bar),
                   device = map_bar(layout.device.bar), notify = map_bar(layout.notify.bar);
    if (common == 0 || isr == 0 || device == 0 || notify == 0)
        return "cannot map the device's registers";
    g->common.base = reinterpret_cast<volatile uint8_t*>(common + layout.common.offset);
    g->isr.base = reinterpret_cast<volatile uint8_t*>(isr + layout.isr.offset);
    g->config.base = reinterpret_cast<volatile uint8_t*>(device + layout.device.offset);

    // Reset, and wait for it to finish (status reads 0).
    g->common.w8(vio::kDeviceStatus, 0);
    const uint64_t deadline = sys::clock_ns() + kResetTimeoutNs;
    while (g->common.r8(vio::kDeviceStatus) != 0) {
        if (sys::clock_ns() > deadline)
            return "device reset never finished";
        (void)sys::sleep_ns(100'000);
    }
    g->common.w8(vio::kDeviceStatus, vio::kStatusAcknowledge);
    g->common.w8(vio::kDeviceStatus, vio::kStatusAcknowledge | vio::kStatusDriver);
    const uint64_t optional = blk::kFeatureSegMax | blk::kFeatureSizeMax | blk::kFeatureBlockSize |
                              blk::kFeatureFlush | blk::kFeatureReadOnly;
    uint64_t features = 0;
    if (const char* why =
            vio::negotiate(read_features(), vio::kFeatureVersion1, optional, &features)) {
        return fail_device(why);
    }
    g->common.w32(vio::kDriverFeatureSelect, 0);
    g->common.w32(vio::kDriverFeature, static_cast<uint32_t>(features));
    g->common.w32(vio::kDriverFeatureSelect, 1);
    g->common.w32(vio::kDriverFeature, static_cast<uint32_t>(features >> 32));
    g->common.w8(vio::kDeviceStatus,
                 vio::kStatusAcknowledge | vio::kStatusDriver | vio::kStatusFeaturesOk);
    if ((g->common.r8(vio::kDeviceStatus) & vio::kStatusFeaturesOk) == 0)
        return fail_device("device refused the features");
    g->flush = (features & blk::kFeatureFlush) != 0;
    if (const char* why = read_geometry(features))
        return fail_device(why);

    // The request queue: the largest power of two the device allows, at most 256.
    g->common.w16(vio::kQueueSelect, 0);
    const uint16_t most = g->common.r16(vio::kQueueSize);
    uint16_t size = kMaxQueue;
    while (size > most)
        size = static_cast<uint16_t>(size / 2);
    if (size < 8)
        return fail_device("request queue shorter than 8 entries");
    g->common.w16(vio::kQueueSize, size);
    // One DMA object for the rings (descriptors at 0, available ring at 4 KiB, used ring at
    // 8 KiB), then the request headers (12 KiB) and status bytes (16 KiB), indexed by request
    // record.
    g->header_at = 12 * 1024;
    g->status_at = g->header_at + kMaxQueue * sizeof(blk::RequestHeader);
    static_assert(12 * 1024 + kMaxQueue * (sizeof(blk::RequestHeader) + 1) <= kMetaBytes);
    if (!dma(kMetaBytes, &g->meta, &g->meta_device) ||
        !dma(uint64_t{kSlots} * kMaxTransfer, &g->bounce, &g->bounce_device)) {
        return fail_device("no DMA memory");
    }
    if (!g->queue.init(size, g->meta, g->meta + 4096, g->meta + 8192))
        return fail_device("cannot lay out the request queue");
    g->common.w64(vio::kQueueDesc, g->meta_device);
    g->common.w64(vio::kQueueDriver, g->meta_device + 4096);
    g->common.w64(vio::kQueueDevice, g->meta_device + 8192);
    uint32_t notify_at = 0;
    if (const char* why =
            vio::notify_offset(layout, g->common.r16(vio::kQueueNotifyOff), &notify_at)) {
        return fail_device(why);
    }
    g->notify = reinterpret_cast<volatile uint16_t*>(notify + layout.notify.offset + notify_at);

    // Interrupts: MSI-X vector 0 for the queue, else INTx (then the ISR says why it fired).
    // Bus mastering first: both the requests and the interrupt messages are memory writes.
    uint16_t command = 0;
    (void)sys::do_io(g->device, Op::kRead, &command, 2, 4);
    command = static_cast<uint16_t>(command | 0x6);  // memory decoding, bus mastering
    (void)sys::do_io(g->device, Op::kWrite, &command, 2, 4);
    g->common.w16(vio::kConfigMsixVector, vio::kNoVector);
    const int64_t msi = resource(abi::DeviceResourceKind::kMsi, 0, 0);
    if (msi > 0) {
        g->common.w16(vio::kQueueMsixVector, 0);
        if (g->common.r16(vio::kQueueMsixVector) == 0) {
            g->interrupt = static_cast<Handle>(msi);
            g->msix = true;
        } else {
            (void)sys::do_io(static_cast<uint64_t>(msi), Op::kClose);
        }
    }
    if (!g->msix) {
        g->common.w16(vio::kQueueMsixVector, vio::kNoVector);
        const int64_t intx = resource(abi::DeviceResourceKind::kInterrupt, 0, 0);
        if (intx < 0)
            return fail_device("no interrupt (neither MSI-X nor INTx)");
        g->interrupt = static_cast<Handle>(intx);
    }
    g->common.w16(vio::kQueueEnable, 1);
    g->common.w8(vio::kDeviceStatus, vio::kStatusAcknowledge | vio::kStatusDriver |
                                         vio::kStatusFeaturesOk | vio::kStatusDriverOk);

    // How a transfer is cut into requests: data segments of at most size_max bytes, at most
    // seg_max (and 16, and what the queue can hold) of them per request.
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

// Hands as many pieces of the busy slots to the device as descriptors and records allow,
// oldest slot first. Lock held.
void issue() {
    for (;;) {
        uint32_t pick = kSlots;
        for (uint32_t i = 0; i < kSlots; ++i) {
            const Slot& s = g->slots[i];
            const bool more = s.flush ? s.issued == 0 && s.outstanding == 0 : s.issued < s.length;
            if (s.busy && more && (pick == kSlots || s.order < g->slots[pick].order))
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
        vio::Segment segs[kMaxDataSegments + 2];
        uint32_t n = 0;
        segs[n++] = {g->meta_device + g->header_at + r * sizeof(blk::RequestHeader),
                     sizeof(blk::RequestHeader), false};
        const uint64_t data = g->bounce_device + uint64_t{pick} * kMaxTransfer + s.issued;
        for (uint32_t done = 0; done < piece;) {
            const uint32_t k = piece - done < g->segment_bytes ? piece - done : g->segment_bytes;
            segs[n++] = {data + done, k, !s.write};
            done += k;
        }
        segs[n++] = {g->meta_device + g->status_at + r, 1, true};
        if (!g->queue.add(segs, n, r))
            return;  // no descriptors: the next reap frees some
        g->records[r] = {true, pick};
        s.issued += piece;
        if (s.flush)
            s.issued = 1;  // the flush request is out
        ++s.outstanding;
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
             0,    g->started++};
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
            g->common.w8(vio::kDeviceStatus, 0);  // reset first: it stops using the memory
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
        Slot& s = g->slots[rec.slot];
        if (g->meta[g->status_at + c.token] != blk::kStatusOk)
            s.failed = true;
        rec.busy = false;
        --s.outstanding;
        if (s.outstanding == 0 && (s.flush || s.issued == s.length))
            finish_slot(rec.slot);
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

// Runs pump, then hands the completions back; while the kernel says new operations came in
// meanwhile, again (so that a sync here never swallows a submission the serve loop sleeps
// through).
void pump_and_hand_back() {
    for (;;) {
        g->lock.lock();
        (void)pump();
        g->lock.unlock();
        if (sys::serve_sync(g->port.port(), 0, 0) <= 0)
            return;
    }
}

// The interrupt thread: sleeps on the interrupt while the device is idle; once it fires,
// polls the used ring with interrupts suppressed for as long as that makes progress (at most
// kPollRounds rounds, each handing its completions back at once), then turns them back on
// and looks once more (a completion between the last poll and turning them on would otherwise
// wait for the next one).
constexpr int kPollRounds = 64;

void interrupt_thread(uint64_t) {
    for (;;) {
        uint64_t fired = 0;
        if (sys::do_io(g->interrupt, Op::kRead, &fired, 8) < 0) {
            (void)sys::sleep_ns(1'000'000);
            continue;
        }
        if (!g->msix) {
            (void)g->isr.r8(0);  // reading clears it, and lowers the line
            (void)sys::do_io(g->interrupt, Op::kWrite, nullptr, 0);
        }
        g->lock.lock();
        g->queue.set_interrupts(false);
        g->lock.unlock();
        for (int round = 0; round < kPollRounds; ++round) {
            g->lock.lock();
            const bool progress = pump();
            g->lock.unlock();
            (void)sys::serve_sync(g->port.port(), 0, 0);  // news: pumped next round or below
            if (!progress)
                break;
        }
        g->lock.lock();
        g->queue.set_interrupts(true);
        g->lock.unlock();
        pump_and_hand_back();
    }
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
    char name[abi::kMaxNameLength + 1] = "blk0";
    if (start.args_length > 0 && start.args_length <= abi::kMaxNameLength) {
        c::copy(name, start.args, start.args_length);
        name[start.args_length] = '\0';
    }
    const int64_t device = open(root(), "device");
    if (device < 0) {
        print("virtio-blk: no device given: %s\n", error_text(device));
        return 1;
    }
    g->device = static_cast<Handle>(device);
    if (const char* why = init_device()) {
        print("virtio-blk: %s\n", why);
        return 1;
    }
    if (const int64_t r = g->port.create(kServeCapacity, kServeBuffers, kMaxTransfer); r < 0) {
        print("virtio-blk: cannot serve: %s\n", error_text(r));
        return 1;
    }
    const int64_t srv = open(root(), "srv");
    const int64_t bound = srv < 0 ? srv
                                  : sys::do_io(static_cast<uint64_t>(srv), Op::kCreate, name,
                                               c::length(name), g->port.served());
    if (bound < 0) {
        print("virtio-blk: cannot publish srv/%s: %s\n", name, error_text(bound));
        return 1;
    }
    (void)sys::do_io(static_cast<uint64_t>(srv), Op::kClose);
    print("virtio-blk: srv/%s: %lu blocks of %u bytes%s%s, queue %u (%s), %u bytes a request\n",
          name, g->geometry.capacity_bytes / g->geometry.block_size, g->geometry.block_size,
          g->geometry.read_only ? ", read-only" : "", g->flush ? ", flush" : ", write-through",
          g->queue.size(), g->msix ? "MSI-X" : "INTx", g->max_piece);
    if (spawn_thread(interrupt_thread, 0) < 0 || spawn_thread(partition_thread, 0) < 0) {
        print("virtio-blk: no interrupt or partition thread\n");
        return 1;
    }
    // The serve loop: sleeps until the kernel forwards something (the server side is
    // published under the lock by every pump, so the wait itself needs no lock).
    for (;;) {
        const int64_t n = sys::serve_sync(g->port.port(), 1, 0);
        if (n == -static_cast<int64_t>(abi::Error::kPeerGone))
            return 0;
        pump_and_hand_back();
    }
}
