// virtio-net: the driver of one virtio 1.x network device (PCI, modern interface), as a user
// process holding only that device ("device" in its root, given by init) and a directory to
// publish in ("srv"). It serves the link as a link object, srv/NAME (NAME its argument, net0
// by default): read receives one Ethernet frame (waiting for one), write sends one, get_meta
// LinkInfo (lib/abi's contract). Design (buffers, copies, threads, what is validated):
// README.md.
#include <keel/c/mem.hpp>
#include <keel/net/frame_batch.hpp>
#include <keel/virtio/net.hpp>
#include <keel/virtio/pci.hpp>
#include <keel/virtio/virtqueue.hpp>

#include <new>

#include "runtime.hpp"
#include "serve.hpp"
#include "virtio_device.hpp"

using namespace keel;
using namespace keel::user;
namespace vio = keel::virtio;
namespace vnet = keel::virtio::net;
namespace dev = keel::drivers::virtio;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
constexpr uint16_t kCancelled = static_cast<uint16_t>(ipc::abi::Status::Cancelled);
// The served queue: capacity 256 forwards up to 128 operations at a time (the kernel keeps a
// credit per operation for its Cancel), so a client may keep many reads waiting and still
// write. Each carries at most kServeBufferBytes (a read's buffer must hold mtu + 14 bytes; a
// longer buffer than this is refused by the kernel with TooLarge): a batch of frames
// (abi::kLinkBatch) of up to 16 KiB, ten full-size frames or a few hundred ACKs.
constexpr uint32_t kServeCapacity = 256;
constexpr uint32_t kServeBuffers = 160;
constexpr uint32_t kServeBufferBytes = 16 * 1024;
// Buffers in DMA memory, each a 12-byte header and a frame: kRxBuffers kept posted on the
// receive queue (less those holding frames that wait for a read), kTxBuffers for transmits.
constexpr uint32_t kBufferBytes = 2048;
constexpr uint16_t kRxBuffers = 128;
constexpr uint16_t kTxBuffers = 128;
// Received frames waiting for a read, at most: every receive buffer. A reader that falls behind
// leaves the device without buffers, and the device keeps the next frames (QEMU queues them;
// hardware drops at its ring) instead of this driver dropping frames it already has: a lost
// handshake ACK or request cost a TCP peer its retransmission timeout (qemu_net_http).
constexpr uint32_t kMaxHeld = kRxBuffers;
constexpr uint64_t kRxRingsAt = 0, kTxRingsAt = dev::kRingBytes;
constexpr uint64_t kRxBuffersAt = 32 * 1024;
constexpr uint64_t kTxBuffersAt = kRxBuffersAt + uint64_t{kRxBuffers} * kBufferBytes;
constexpr uint64_t kDmaBytes = kTxBuffersAt + uint64_t{kTxBuffers} * kBufferBytes;
static_assert(2 * dev::kRingBytes <= kRxBuffersAt && kDmaBytes <= 4 * 1024 * 1024);
static_assert(kBufferBytes >= vnet::kHeaderBytes + vnet::kDefaultMtu + vnet::kEthernetHeader);

uint16_t error(abi::Error e) {
    return abi::queue_error_status(e);
}

// A FIFO of forwarded operations (readers or writers) that wait, as a ring: with the network
// server's 64 reads waiting here (before its reads were batches), an array shifted down for
// every frame delivered moved 4.5 KiB a frame. Removal from the middle (a cancelled
// operation, rare) shifts the ones after it. at(k) is the k-th oldest.
struct Waiting {
    ipc::Operation ops[kServeCapacity];
    uint32_t first = 0, count = 0;
    ipc::Operation& at(uint32_t k) { return ops[(first + k) % kServeCapacity]; }
    void push(const ipc::Operation& op) { at(count++) = op; }  // never more than taken
    ipc::Operation pop_front() {
        const ipc::Operation op = ops[first];
        first = (first + 1) % kServeCapacity;
        --count;
        return op;
    }
    void remove(uint32_t k) {
        for (; k + 1 < count; ++k)
            at(k) = at(k + 1);
        --count;
    }
};

struct Driver {
    dev::Device device;
    uint64_t features = 0;
    vnet::Config config{};
    vio::SplitQueue rx, tx;
    volatile uint16_t* rx_notify = nullptr;
    volatile uint16_t* tx_notify = nullptr;
    dev::Dma mem;
    uint16_t rx_count = 0, tx_count = 0;
    ServePort port;
    Mutex lock;  // the queues, the buffers, the waiting operations and the ServePort's server
    // Receive buffers are posted, held (a frame waiting for a read: `held`, oldest first, its
    // length in rx_length) or to be posted again at the end of the pump (`repost`).
    uint16_t held[kMaxHeld];
    uint32_t held_first = 0, held_count = 0;
    uint32_t rx_length[kRxBuffers];
    uint16_t repost[kRxBuffers];
    uint32_t repost_count = 0;
    uint16_t tx_free[kTxBuffers];
    uint32_t tx_free_count = 0;
    Waiting readers, writers;
    uint32_t written = 0;  // the oldest batched write's bytes already queued for the device
    // Counters (see README.md): frames received, handed to reads, refused (short, too long, a
    // bad header), sent.
    uint64_t received = 0, delivered = 0, refused = 0, sent = 0;
};

// Made at start (placement new into the heap): a global with a destructor would need
// __cxa_atexit, which the runtime does not have; the driver never ends but by exiting.
Driver* g = nullptr;

uint8_t* rx_buffer(uint32_t i) {
    return g->mem.at + kRxBuffersAt + uint64_t{i} * kBufferBytes;
}
uint8_t* tx_buffer(uint32_t i) {
    return g->mem.at + kTxBuffersAt + uint64_t{i} * kBufferBytes;
}

// ---- set-up ----------------------------------------------------------------------------------

// The device configuration, read until the generation is stable, and validated.
const char* read_config() {
    const dev::Mmio& config = g->device.config();
    uint8_t mac[6] = {};
    uint16_t status = 0, mtu = 0;
    if (!g->device.read_config([&] {
            for (uint32_t i = 0; i < 6; ++i)
                mac[i] = config.r8(vnet::kConfigMac + i);
            if ((g->features & vnet::kFeatureStatus) != 0)
                status = config.r16(vnet::kConfigStatus);
            if ((g->features & vnet::kFeatureMtu) != 0)
                mtu = config.r16(vnet::kConfigMtu);
        })) {
        return "device configuration never stable";
    }
    return vnet::check_config(g->features, mac, status, mtu, &g->config);
}

// Posts receive buffer i (its header zeroed: check_received expects num_buffers 0 or 1).
void post_rx(uint16_t i) {
    c::fill(rx_buffer(i), 0, vnet::kHeaderBytes);
    const vio::Segment seg{g->mem.device + kRxBuffersAt + uint64_t{i} * kBufferBytes, kBufferBytes,
                           true};
    (void)g->rx.add(&seg, 1, i);  // one descriptor each, never more buffers than descriptors
}

// Resets and initialises the device (virtio 1.x 3.1.1, 5.1.5) with one receive and one transmit
// queue (drivers/virtio-common). nullptr or why.
const char* init_device(Handle device) {
    dev::Device& d = g->device;
    if (const char* why = d.start(device, vnet::config_bytes(0), "no network device configuration"))
        return why;
    // No offloads (checksums, segmentation, merged buffers), no control queue, one queue pair.
    const uint64_t optional = vnet::kFeatureMac | vnet::kFeatureStatus | vnet::kFeatureMtu;
    if (const char* why = d.negotiate(vio::kFeatureVersion1, optional, &g->features))
        return why;
    if (d.config_length() < vnet::config_bytes(g->features))
        return d.fail("network device configuration too short for its features");
    if (const char* why = read_config())
        return d.fail(why);
    if (!g->config.has_mac)
        vnet::random_mac(sys::clock_ns() ^ reinterpret_cast<uint64_t>(g), g->config.mac);
    if (const char* why = d.dma(kDmaBytes, &g->mem))
        return d.fail(why);
    const dev::Dma rx_rings{g->mem.at + kRxRingsAt, g->mem.device + kRxRingsAt};
    const dev::Dma tx_rings{g->mem.at + kTxRingsAt, g->mem.device + kTxRingsAt};
    if (const char* why = d.setup_queue(vnet::kReceiveQueue, vio::kMaxQueueSize, 8, rx_rings,
                                        &g->rx, &g->rx_notify)) {
        return why;
    }
    if (const char* why = d.setup_queue(vnet::kTransmitQueue, vio::kMaxQueueSize, 8, tx_rings,
                                        &g->tx, &g->tx_notify)) {
        return why;
    }
    if (const char* why = d.setup_interrupts(2))
        return why;
    g->rx_count = g->rx.size() < kRxBuffers ? g->rx.size() : kRxBuffers;
    g->tx_count = g->tx.size() < kTxBuffers ? g->tx.size() : kTxBuffers;
    for (uint16_t i = 0; i < g->rx_count; ++i)
        post_rx(i);
    for (uint16_t i = 0; i < g->tx_count; ++i)
        g->tx_free[g->tx_free_count++] = i;
    d.go(2);
    // The receive buffers are there before the device starts receiving (5.1.5: the driver
    // SHOULD fill the receive queue before DRIVER_OK; publishing after it is allowed too).
    if (g->rx.publish() > 0)
        *g->rx_notify = vnet::kReceiveQueue;
    return nullptr;
}

// ---- frames ----------------------------------------------------------------------------------

void complete(const ipc::Operation& op, uint16_t status, uint64_t value) {
    (void)g->port.server().complete(op.id, status, value);
}

// The oldest held frame's buffer, taken from the held list and given back to the device at the
// end of the pump. Lock held; a frame is held.
uint16_t take_held() {
    const uint16_t i = g->held[g->held_first];
    g->held_first = (g->held_first + 1) % kMaxHeld;
    --g->held_count;
    g->repost[g->repost_count++] = i;
    ++g->delivered;
    return i;
}

// Copies the oldest held frame into the oldest waiting read, or, for a batched read, as many
// held frames as fit, and completes it. Lock held; a reader waits and a frame is held (it fits:
// the read's length was checked at start).
void deliver() {
    const ipc::Operation op = g->readers.pop_front();
    const auto data = g->port.server().bytes(op);
    auto* out = reinterpret_cast<uint8_t*>(data.data());
    if (op.request.args[0] != abi::kLinkBatch) {
        const uint16_t i = take_held();
        c::copy(out, rx_buffer(i) + vnet::kHeaderBytes, g->rx_length[i]);
        return complete(op, kOk, g->rx_length[i]);
    }
    size_t used = 0;
    while (g->held_count > 0) {
        const uint32_t n = g->rx_length[g->held[g->held_first]];
        uint8_t* at = keel::net::batch_reserve(out, data.size(), used, n);
        if (at == nullptr)
            break;
        c::copy(at, rx_buffer(take_held()) + vnet::kHeaderBytes, n);
        keel::net::batch_commit(out, &used, n);
    }
    complete(op, kOk, used);
}

// A used receive buffer: refused (and posted again) or held until a read takes it (its buffer
// is not posted meanwhile). Every frame of a pump is held first and handed out after, so that a
// batched read takes all that arrived together. Lock held.
void received(uint16_t i, uint32_t used) {
    uint32_t n = 0;
    if (vnet::check_received(rx_buffer(i), used, g->config.mtu, &n) != vnet::Received::kOk) {
        ++g->refused;
        g->repost[g->repost_count++] = i;
        return;
    }
    ++g->received;
    g->rx_length[i] = n;
    // Room for every buffer: a used buffer is not posted, so at most kRxBuffers are held.
    g->held[(g->held_first + g->held_count) % kMaxHeld] = i;
    ++g->held_count;
}

// Queues one frame for the device through a free transmit buffer. Lock held; a buffer is free.
void send_frame(const uint8_t* frame, size_t length) {
    const uint16_t i = g->tx_free[--g->tx_free_count];
    uint8_t* at = tx_buffer(i);
    c::fill(at, 0, vnet::kHeaderBytes);  // no offloads: an all-zero header
    c::copy(at + vnet::kHeaderBytes, frame, length);
    const vio::Segment seg{g->mem.device + kTxBuffersAt + uint64_t{i} * kBufferBytes,
                           static_cast<uint32_t>(vnet::kHeaderBytes + length), false};
    (void)g->tx.add(&seg, 1, i);  // one descriptor each, never more buffers than descriptors
    ++g->sent;
}

// Sends the oldest waiting write's frame, or as many of its batch's frames as buffers allow
// (checked whole at start), and completes it once they are all queued: a write is done when
// its frames are copied into DMA memory and queued for the device. Lock held; a writer waits
// and a buffer is free.
void transmit() {
    const ipc::Operation& op = g->writers.at(0);
    const auto data = g->port.server().bytes(op);
    const auto* in = reinterpret_cast<const uint8_t*>(data.data());
    if (op.request.args[0] != abi::kLinkBatch) {
        send_frame(in, data.size());
    } else {
        size_t offset = g->written;
        const uint8_t* frame = nullptr;
        size_t length = 0;
        while (g->tx_free_count > 0 &&
               keel::net::batch_next(in, data.size(), &offset, &frame, &length)) {
            send_frame(frame, length);
        }
        g->written = static_cast<uint32_t>(offset);
        if (offset < data.size())
            return;  // the rest when buffers come back
    }
    g->written = 0;
    complete(g->writers.pop_front(), kOk, data.size());
}

// The link's description, its status read now (under the lock: registers are).
abi::LinkInfo link_info() {
    abi::LinkInfo info{};
    c::copy(info.mac, g->config.mac, 6);
    info.mtu = g->config.mtu;
    bool up = true;
    if ((g->features & vnet::kFeatureStatus) != 0) {
        uint16_t status = 0;
        if (g->device.read_config([&] { status = g->device.config().r16(vnet::kConfigStatus); })) {
            up = (status & vnet::kStatusLinkUp) != 0;
        }
    }
    info.flags = up ? abi::kLinkUp : 0;
    return info;
}

// Starts a forwarded operation: answered at once, or made to wait (a read for a frame, a write
// for a transmit buffer). Lock held.
void start(const ipc::Operation& op) {
    const auto o = static_cast<Op>(op.request.opcode - abi::kQueueOpBase);
    const auto data = g->port.server().bytes(op);
    if (o == Op::kClose)
        return complete(op, kOk, 0);  // no other objects are made: nothing kept per open
    if (op.request.object != 0)
        return complete(op, error(abi::Error::kInvalidArgument), 0);
    const uint64_t frame_max = uint64_t{g->config.mtu} + vnet::kEthernetHeader;
    const bool batch = op.request.args[0] == abi::kLinkBatch;
    if ((o == Op::kRead || o == Op::kWrite) && !batch && op.request.args[0] != 0)
        return complete(op, error(abi::Error::kInvalidArgument), 0);
    switch (o) {
        case Op::kRead:
            if (data.size() < frame_max + (batch ? keel::net::kBatchRecordHeader : 0))
                return complete(op, error(abi::Error::kBufferTooSmall), 0);
            return g->readers.push(op);
        case Op::kWrite:
            // A batch is checked whole here: what transmit() sends of it is all well formed.
            if (batch ? keel::net::batch_check(reinterpret_cast<const uint8_t*>(data.data()),
                                               data.size(), vnet::kEthernetHeader, frame_max) < 0
                      : !vnet::frame_length_ok(data.size(), g->config.mtu))
                return complete(op, error(abi::Error::kInvalidArgument), 0);
            if (data.empty())
                return complete(op, kOk, 0);  // an empty batch: nothing to send
            return g->writers.push(op);
        case Op::kGetMeta: {
            if (static_cast<abi::Meta>(op.request.args[0]) != abi::Meta::kLinkInfo)
                return complete(op, error(abi::Error::kInvalidArgument), 0);
            const abi::LinkInfo info = link_info();
            if (data.size() < sizeof info)
                return complete(op, error(abi::Error::kBufferTooSmall), 0);
            c::copy(data.data(), &info, sizeof info);
            return complete(op, kOk, sizeof info);
        }
        default:
            return complete(op, error(abi::Error::kNotSupported), 0);
    }
}

// Ends the operations of `w` whose caller gave up (its process ended, its queue went):
// Cancelled, the others kept in order. Lock held.
void end_cancelled(Waiting& w) {
    for (uint32_t i = 0; i < w.count;) {
        if (g->port.server().cancel_requested(w.at(i).id)) {
            complete(w.at(i), kCancelled, 0);
            w.remove(i);
        } else {
            ++i;
        }
    }
}

// The device broke a queue's rules: nothing it says is believed any more. Every waiting
// operation fails with Io, the device is reset, and the driver exits (init restarts it).
[[noreturn]] void device_fault(const char* queue, vio::Fault f) {
    print("virtio-net: device fault on the %s queue: %s; stopping\n", queue, vio::fault_text(f));
    g->device.reset();  // first: it stops using the memory
    while (g->readers.count > 0)
        complete(g->readers.pop_front(), error(abi::Error::kIo), 0);
    while (g->writers.count > 0)
        complete(g->writers.pop_front(), error(abi::Error::kIo), 0);
    g->port.server().publish();
    (void)sys::serve_sync(g->port.port(), 0, 0);
    sys::process_exit(1);
}

// Everything there is to do now: reap both used rings, take new operations, match waiting reads
// with received frames and waiting writes with free transmit buffers, post the freed receive
// buffers, notify the device, publish the served completions. Lock held. Whether anything was
// reaped or taken.
bool pump() {
    bool progress = false;
    vio::Completion c{};
    for (;;) {
        const auto r = g->rx.reap(&c);
        if (r == vio::SplitQueue::Reaped::kNothing)
            break;
        if (r == vio::SplitQueue::Reaped::kFault)
            device_fault("receive", g->rx.fault());
        progress = true;
        // The queue checked the token is one we added (a buffer index) and the length fits.
        received(static_cast<uint16_t>(c.token), c.length);
    }
    for (;;) {
        const auto r = g->tx.reap(&c);
        if (r == vio::SplitQueue::Reaped::kNothing)
            break;
        if (r == vio::SplitQueue::Reaped::kFault)
            device_fault("transmit", g->tx.fault());
        progress = true;
        g->tx_free[g->tx_free_count++] = static_cast<uint16_t>(c.token);
    }
    (void)g->port.server().poll();
    for (;;) {
        auto op = g->port.server().take();  // at most capacity taken: Waiting holds them all
        if (!op)
            break;
        start(*op);
        progress = true;
    }
    // Reads and writes whose callers gave up end now. The oldest write may be a batch partly
    // sent: what went is gone (as frames lost on the wire would be), and the next write starts
    // from its first frame.
    end_cancelled(g->readers);
    if (g->writers.count > 0 && g->port.server().cancel_requested(g->writers.at(0).id))
        g->written = 0;
    end_cancelled(g->writers);
    while (g->readers.count > 0 && g->held_count > 0)
        deliver();
    while (g->writers.count > 0 && g->tx_free_count > 0)
        transmit();
    for (uint32_t k = 0; k < g->repost_count; ++k)
        post_rx(g->repost[k]);
    g->repost_count = 0;
    // Notified only when the device has not said it is busy with the ring already: under QEMU a
    // notification is an exit that waits for the emulator's lock (bench/README.md, B10).
    if (g->rx.publish() > 0 && g->rx.notify_wanted())
        *g->rx_notify = vnet::kReceiveQueue;
    if (g->tx.publish() > 0 && g->tx.notify_wanted())
        *g->tx_notify = vnet::kTransmitQueue;
    g->port.server().publish();
    return progress;
}

void set_interrupts(bool on) {
    g->rx.set_interrupts(on);
    g->tx.set_interrupts(on);
}

// The two threads' loops (drivers/virtio-common) around pump().
dev::Pump g_pump{};

void interrupt_thread(uint64_t) {
    dev::interrupt_loop(g->device, g_pump);
}

}  // namespace

int keel_main(const StartInfo& start) {
    void* storage = allocate(sizeof(Driver));
    if (storage == nullptr) {
        print("virtio-net: no memory\n");
        return 1;
    }
    g = new (storage) Driver;
    g_pump = dev::Pump{&g->lock, &g->port, pump, set_interrupts};
    const Handle device = dev::open_device("virtio-net");
    if (device == 0)
        return 1;
    if (const char* why = init_device(device)) {
        print("virtio-net: %s\n", why);
        return 1;
    }
    char name[abi::kMaxNameLength + 1];
    if (!dev::serve("virtio-net", start, "net0", g->port, kServeCapacity, kServeBuffers,
                    kServeBufferBytes, name)) {
        return 1;
    }
    const uint8_t* m = g->config.mac;
    print(
        "virtio-net: srv/%s: mac %02x:%02x:%02x:%02x:%02x:%02x%s, mtu %u, link %s, queues %u/%u "
        "(%s), %u receive buffers\n",
        name, m[0], m[1], m[2], m[3], m[4], m[5], g->config.has_mac ? "" : " (random)",
        g->config.mtu, link_info().flags != 0 ? "up" : "down", g->rx.size(), g->tx.size(),
        g->device.msix() ? "MSI-X" : "INTx", g->rx_count);
    if (spawn_thread(interrupt_thread, 0) < 0) {
        print("virtio-net: no interrupt thread\n");
        return 1;
    }
    return dev::serve_loop(g_pump);
}
