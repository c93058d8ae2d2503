// ps2-keyboard: the driver of the PC's 8042 keyboard controller and the keyboard on its first
// port, as a user process holding only the `ps2` legacy device ("device" in its root: ports
// 0x60 and 0x64, IRQ 1) and a directory to publish in ("srv"). It serves srv/NAME (NAME its
// argument, kbd by default), a keyboard object: read gives whole abi::KeyEvent records,
// waiting for one; set_meta kKeymap loads a keymap file; get_meta kKeymap gives the layout's
// name. Each open of srv/NAME/events makes a stream of its own that sees every event from then
// on (the console and a test program both see each key); srv/NAME itself is one shared stream
// (each event to one of its readers). Every port access goes through the device's port objects;
// every wait for the controller is bounded, so a missing or broken controller is reported and never
// hangs or spins the driver. Design and contract: README.md.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/keymap/keymap.hpp>

#include <new>

#include "runtime.hpp"
#include "serve.hpp"
#include "timer.hpp"

using namespace keel;
using namespace keel::user;
namespace km = keel::keymap;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
constexpr uint16_t kCancelled = static_cast<uint16_t>(ipc::abi::Status::Cancelled);
// The served queue: up to 16 operations forwarded at a time; a keymap file up to 16 KiB.
constexpr uint32_t kServeCapacity = 32;
constexpr uint32_t kServeBuffers = 24;
constexpr uint32_t kServeBufferBytes = 16384;
constexpr uint32_t kMaxEvents = 256;  // queued events a stream; when full the oldest is dropped
// Streams: object 0 (srv/NAME) and up to 15 opened ones (srv/NAME/events).
constexpr uint32_t kMaxStreams = 16;
constexpr uint32_t kMaxWaiting = kServeCapacity / 2 - 4;

// 8042 status register bits, commands and answers.
constexpr uint8_t kOutputFull = 0x01, kInputFull = 0x02, kAuxData = 0x20;
constexpr uint8_t kCmdReadConfig = 0x20, kCmdWriteConfig = 0x60, kCmdDisableAux = 0xa7,
                  kCmdSelfTest = 0xaa, kCmdInterfaceTest = 0xab, kCmdDisableKbd = 0xad,
                  kCmdEnableKbd = 0xae;
constexpr uint8_t kConfigIrq1 = 0x01, kConfigIrq12 = 0x02, kConfigKbdClockOff = 0x10,
                  kConfigTranslate = 0x40;
constexpr uint8_t kKbdReset = 0xff, kKbdSetLeds = 0xed, kKbdAck = 0xfa, kKbdResend = 0xfe,
                  kKbdSelfTestOk = 0xaa;
constexpr uint64_t kMs = 1'000'000;

uint16_t error(abi::Error e) {
    return abi::queue_error_status(e);
}

struct Waiting {
    ipc::Operation ops[kServeCapacity];
    uint32_t count = 0;
    void push(const ipc::Operation& op) { ops[count++] = op; }
    void remove(uint32_t i) {
        for (uint32_t k = i + 1; k < count; ++k)
            ops[k - 1] = ops[k];
        --count;
    }
};

// One reader's view of the events: what happened since it was opened and it has not read.
struct Stream {
    bool open = false;
    abi::KeyEvent events[kMaxEvents];
    uint32_t first = 0, count = 0;
    uint64_t lost = 0;  // events dropped because this stream did not read them in time
};

struct Driver {
    Mutex lock;
    ServePort port;
    Handle data = 0, status = 0, irq = 0, timer = 0;
    bool test_garbage = false;  // --garbage: the ports read as a broken controller would
    uint64_t garbage_state = 0x9e3779b97f4a7c15;
    km::Decoder decoder;
    km::Keyboard keyboard;
    km::Keymap maps[2];  // the loaded layouts: the current one and the scratch for the next
    int loaded = -1;     // which of maps is current, -1 the built-in US map
    Stream streams[kMaxStreams];
    Waiting readers;
    uint64_t armed = UINT64_MAX;  // the repeat timer's deadline
    uint8_t leds = 0;
    const char* failure = nullptr;  // the controller's failure, or nullptr when it works
};

Driver* g = nullptr;

// Port access through the device's port objects. A failed access reads as 0xff (what an
// absent device gives on the ISA bus).
uint8_t in(Handle port) {
    if (g->test_garbage) {
        // xorshift: the same junk each run, so the test is repeatable.
        uint64_t x = g->garbage_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        g->garbage_state = x;
        return static_cast<uint8_t>(x);
    }
    uint8_t v = 0xff;
    if (sys::do_io(port, Op::kRead, &v, 1, 0) != 1)
        return 0xff;
    return v;
}
void out(Handle port, uint8_t v) {
    if (!g->test_garbage)
        (void)sys::do_io(port, Op::kWrite, &v, 1, 0);
}

// Waits, bounded by timeout_ns, until the controller takes a byte (input buffer empty).
bool wait_writable(uint64_t timeout_ns) {
    const uint64_t end = sys::clock_ns() + timeout_ns;
    for (uint32_t i = 0;; ++i) {
        if ((in(g->status) & kInputFull) == 0)
            return true;
        if (sys::clock_ns() >= end)
            return false;
        if (i > 64)
            (void)sys::sleep_ns(kMs);
    }
}
// Waits, bounded, for a byte from the controller: the byte, or -1.
int read_byte(uint64_t timeout_ns) {
    const uint64_t end = sys::clock_ns() + timeout_ns;
    for (uint32_t i = 0;; ++i) {
        if ((in(g->status) & kOutputFull) != 0)
            return in(g->data);
        if (sys::clock_ns() >= end)
            return -1;
        if (i > 64)
            (void)sys::sleep_ns(kMs);
    }
}
bool command(uint8_t c) {
    if (!wait_writable(50 * kMs))
        return false;
    out(g->status, c);
    return true;
}
bool command(uint8_t c, uint8_t arg) {
    if (!command(c) || !wait_writable(50 * kMs))
        return false;
    out(g->data, arg);
    return true;
}
// Reads what the controller holds (at most 64 bytes: a controller that always says "full" is
// broken, and is not read forever).
uint32_t flush() {
    uint32_t n = 0;
    while (n < 64 && (in(g->status) & kOutputFull) != 0) {
        (void)in(g->data);
        ++n;
    }
    return n;
}

// Sends a byte to the keyboard and waits for its ack (resending on 0xfe, twice at most).
// Other bytes that come meanwhile are keys, handed to `other`.
bool keyboard_send(uint8_t b, void (*other)(uint8_t)) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (!wait_writable(50 * kMs))
            return false;
        out(g->data, b);
        for (int i = 0; i < 16; ++i) {
            const int r = read_byte(100 * kMs);
            if (r < 0)
                return false;
            if (r == kKbdAck)
                return true;
            if (r == kKbdResend)
                break;
            if (other != nullptr)
                other(static_cast<uint8_t>(r));
        }
    }
    return false;
}

// The controller and keyboard bring-up: nullptr, or what failed (a static reason).
const char* init_controller() {
    if (!command(kCmdDisableKbd) || !command(kCmdDisableAux))
        return "the controller takes no commands (absent?)";
    if (flush() == 64)
        return "the controller never empties its output buffer";
    if (!command(kCmdReadConfig))
        return "the controller takes no commands";
    int config = read_byte(50 * kMs);
    if (config < 0)
        return "no configuration byte";
    // Interrupts off while testing; translation to set 1 on.
    uint8_t c = static_cast<uint8_t>((config & ~(kConfigIrq1 | kConfigIrq12)) | kConfigTranslate);
    if (!command(kCmdWriteConfig, c))
        return "configuration not written";
    if (!command(kCmdSelfTest))
        return "the controller takes no commands";
    const int self = read_byte(500 * kMs);
    if (self != 0x55) {
        return self < 0 ? "no answer to the controller self-test"
                        : "controller self-test failed (not 0x55)";
    }
    // Some controllers reset their configuration in the self-test: write it again.
    if (!command(kCmdWriteConfig, c))
        return "configuration not written";
    if (!command(kCmdInterfaceTest))
        return "the controller takes no commands";
    const int iface = read_byte(100 * kMs);
    if (iface != 0x00)
        return iface < 0 ? "no answer to the interface test" : "keyboard interface test failed";
    if (!command(kCmdEnableKbd))
        return "the controller takes no commands";
    if (!keyboard_send(kKbdReset, nullptr))
        return "no keyboard (no ack to reset)";
    const int bat = read_byte(1000 * kMs);
    if (bat != kKbdSelfTestOk)
        return bat < 0 ? "no answer to the keyboard's self-test" : "keyboard self-test failed";
    (void)flush();
    c = static_cast<uint8_t>((c | kConfigIrq1 | kConfigTranslate) &
                             ~(kConfigIrq12 | kConfigKbdClockOff));
    if (!command(kCmdWriteConfig, c))
        return "configuration not written";
    if (!keyboard_send(kKbdSetLeds, nullptr) || !keyboard_send(0, nullptr))
        return "the keyboard refuses its LEDs";
    return nullptr;
}

// ---- events and readers (lock held) ----

// A key event to every open stream.
void push_event(const km::Stroke& s, uint64_t now) {
    for (Stream& st : g->streams) {
        if (!st.open)
            continue;
        if (st.count == kMaxEvents) {
            st.first = (st.first + 1) % kMaxEvents;
            --st.count;
            ++st.lost;
        }
        st.events[(st.first + st.count) % kMaxEvents] = {now, s.code_point, s.key, s.flags,
                                                         s.modifiers};
        ++st.count;
    }
}

void complete(const ipc::Operation& op, uint16_t status, uint64_t value) {
    (void)g->port.server().complete(op.id, status, value);
}

// Gives each waiting reader, oldest first, as many whole events of its stream as its buffer
// holds; readers of a stream with nothing new keep waiting.
void deliver() {
    for (uint32_t i = 0; i < g->readers.count;) {
        const ipc::Operation op = g->readers.ops[i];
        Stream& st = g->streams[op.request.object];
        if (st.count == 0) {
            ++i;
            continue;
        }
        g->readers.remove(i);
        const std::span<std::byte> data = g->port.server().bytes(op);
        uint64_t n = 0;
        while (st.count > 0 && (n + 1) * sizeof(abi::KeyEvent) <= data.size()) {
            c::copy(data.data() + n * sizeof(abi::KeyEvent), &st.events[st.first],
                    sizeof(abi::KeyEvent));
            st.first = (st.first + 1) % kMaxEvents;
            --st.count;
            ++n;
        }
        complete(op, kOk, n * sizeof(abi::KeyEvent));
    }
}

void key_byte(uint8_t b);

// After keys: the LEDs follow the locks, the repeat timer the held key.
void after_keys() {
    if (g->failure == nullptr && g->keyboard.leds() != g->leds) {
        g->leds = g->keyboard.leds();
        if (!keyboard_send(kKbdSetLeds, key_byte) || !keyboard_send(g->leds, key_byte))
            print("ps2-keyboard: the keyboard did not take its LEDs\n");
    }
    const uint64_t next = g->keyboard.next_repeat();
    if (next != g->armed) {
        g->armed = next;
        (void)timer::arm(g->timer, next == UINT64_MAX ? 0 : next);
    }
}

void key_byte(uint8_t b) {
    km::RawKey k{};
    km::Stroke s{};
    const uint64_t now = sys::clock_ns();
    if (g->decoder.feed(b, &k) && g->keyboard.key(k, now, &s))
        push_event(s, now);
}

// ---- the served object (lock held) ----

void start(const ipc::Operation& op) {
    const auto o = static_cast<Op>(op.request.opcode - abi::kQueueOpBase);
    const std::span<std::byte> data = g->port.server().bytes(op);
    const uint64_t arg = op.request.args[0];
    const uint32_t object = op.request.object;
    if (object >= kMaxStreams || (object != 0 && !g->streams[object].open))  // only ours
        return complete(op, error(abi::Error::kInvalidArgument), 0);
    switch (o) {
        case Op::kOpen: {
            constexpr char kEvents[] = "events";
            if (object != 0 || data.size() != sizeof kEvents - 1 ||
                c::compare(data.data(), kEvents, sizeof kEvents - 1) != 0)
                return complete(op, error(abi::Error::kNotFound), 0);
            for (uint32_t k = 1; k < kMaxStreams; ++k) {
                if (!g->streams[k].open) {
                    g->streams[k].open = true;
                    g->streams[k].first = g->streams[k].count = 0;
                    g->streams[k].lost = 0;
                    return complete(op, kOk,
                                    abi::served_open_value(
                                        k, abi::kRightRead | abi::kRightWrite | abi::kRightShare));
                }
            }
            return complete(op, error(abi::Error::kFull), 0);
        }
        case Op::kRead:
            if (data.size() < sizeof(abi::KeyEvent))
                return complete(op, error(abi::Error::kBufferTooSmall), 0);
            // The kernel forwards at most half the queue's capacity at once: waiting reads are
            // held below that, so opens, layouts and close notices always get through.
            if (g->readers.count >= kMaxWaiting)
                return complete(op, error(abi::Error::kFull), 0);
            // srv/NAME's own stream keeps events only from its first read on: keys typed
            // into the console are not kept for whoever opens srv/NAME later.
            g->streams[object].open = true;
            g->readers.push(op);
            return;
        case Op::kSetMeta: {
            if (static_cast<abi::Meta>(arg) != abi::Meta::kKeymap)
                return complete(op, error(abi::Error::kInvalidArgument), 0);
            const int slot = g->loaded == 0 ? 1 : 0;
            uint32_t line = 0;
            const char* why = km::parse(reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                                        &g->maps[slot], &line);
            if (why != nullptr) {
                char text[128];
                (void)km::describe(why, line, text, sizeof text);
                print("ps2-keyboard: layout refused: %s\n", text);
                return complete(op, error(abi::Error::kInvalidArgument), 0);
            }
            g->loaded = slot;
            g->keyboard.set_keymap(&g->maps[slot]);
            print("ps2-keyboard: layout %s loaded\n", g->maps[slot].name);
            return complete(op, kOk, 0);
        }
        case Op::kGetMeta: {
            if (static_cast<abi::Meta>(arg) != abi::Meta::kKeymap)
                return complete(op, error(abi::Error::kInvalidArgument), 0);
            const km::Keymap& m = g->loaded < 0 ? km::us() : g->maps[g->loaded];
            const uint64_t n = c::length(m.name);
            if (data.size() < n)
                return complete(op, error(abi::Error::kBufferTooSmall), 0);
            c::copy(data.data(), m.name, n);
            return complete(op, kOk, n);
        }
        case Op::kClose:  // the last handle of an opened stream went
            if (object != 0) {
                g->streams[object].open = false;
                for (uint32_t i = 0; i < g->readers.count;) {
                    if (g->readers.ops[i].request.object == object) {
                        complete(g->readers.ops[i], kCancelled, 0);
                        g->readers.remove(i);
                    } else {
                        ++i;
                    }
                }
            }
            return complete(op, kOk, 0);
        default:
            return complete(op, error(abi::Error::kNotSupported), 0);
    }
}

// Takes the forwarded operations, ends the reads whose callers gave up, hands events out.
void pump() {
    (void)g->port.server().poll();
    while (auto op = g->port.server().take())
        start(*op);
    for (uint32_t i = 0; i < g->readers.count;) {
        if (g->port.server().cancel_requested(g->readers.ops[i].id)) {
            complete(g->readers.ops[i], kCancelled, 0);
            g->readers.remove(i);
        } else {
            ++i;
        }
    }
    deliver();
    g->port.server().publish();
}

void pump_and_hand_back() {
    for (;;) {
        g->lock.lock();
        pump();
        g->lock.unlock();
        if (sys::serve_sync(g->port.port(), 0, 0) <= 0)
            return;
    }
}

// Reads what the controller holds (at most 16 bytes an interrupt) and decodes it. Lock held.
void drain() {
    for (int i = 0; i < 16; ++i) {
        const uint8_t st = in(g->status);
        if ((st & kOutputFull) == 0)
            break;
        const uint8_t b = in(g->data);
        if ((st & kAuxData) == 0)
            key_byte(b);
    }
}

// IRQ 1: what the controller holds, decoded.
void interrupt_thread(uint64_t) {
    for (;;) {
        uint64_t fired = 0;
        if (sys::do_io(g->irq, Op::kRead, &fired, 8) < 0) {
            (void)sys::sleep_ns(10 * kMs);
            continue;
        }
        g->lock.lock();
        drain();
        after_keys();
        pump();
        g->lock.unlock();
        pump_and_hand_back();
    }
}

// The held key's software repeats, at the timer the interrupt thread arms.
void repeat_thread(uint64_t) {
    for (;;) {
        if (timer::wait(g->timer) < 0) {
            (void)sys::sleep_ns(10 * kMs);
            continue;
        }
        g->lock.lock();
        km::Stroke s{};
        const uint64_t now = sys::clock_ns();
        while (g->keyboard.repeat(now, &s))
            push_event(s, now);
        g->armed = UINT64_MAX;  // a fired one-shot timer is disarmed: arm the next
        after_keys();
        pump();
        g->lock.unlock();
        pump_and_hand_back();
    }
}

int64_t resource(Handle device, abi::DeviceResourceKind kind, uint32_t index) {
    const abi::DeviceResource r{static_cast<uint32_t>(kind), index, 0};
    return sys::do_io(device, Op::kCreate, &r, sizeof r);
}

bool same_word(const char* a, uint64_t n, const char* word) {
    return n == c::length(word) && c::compare(a, word, n) == 0;
}

}  // namespace

int keel_main(const StartInfo& start) {
    void* storage = allocate(sizeof(Driver));
    if (storage == nullptr) {
        print("ps2-keyboard: no memory\n");
        return 1;
    }
    g = new (storage) Driver;
    g->keyboard.init(&km::us());
    // Arguments: [--garbage] [NAME].
    char name[abi::kMaxNameLength + 1] = "kbd";
    static char words_storage[abi::kMaxArgsLength + 4];
    const char* words[8];
    const int count =
        split_args(start.args, start.args_length, words_storage, sizeof words_storage, words, 8);
    for (int i = 0; i < count; ++i) {
        const uint64_t n = c::length(words[i]);
        if (same_word(words[i], n, "--garbage")) {
            g->test_garbage = true;
        } else if (n <= abi::kMaxNameLength) {
            c::copy(name, words[i], n + 1);
        }
    }
    const int64_t device = open(root(), "device");
    const int64_t data = device < 0 ? device : resource(device, abi::DeviceResourceKind::kBar, 0);
    const int64_t status = device < 0 ? device : resource(device, abi::DeviceResourceKind::kBar, 1);
    const int64_t irq =
        device < 0 ? device : resource(device, abi::DeviceResourceKind::kInterrupt, 0);
    const int64_t t = timer::create();
    if (data < 0 || status < 0 || irq < 0 || t < 0) {
        print("ps2-keyboard: no ps2 device (ports and IRQ 1) given: %s\n",
              error_text(data < 0     ? data
                         : status < 0 ? status
                         : irq < 0    ? irq
                                      : t));
        return 1;
    }
    g->data = static_cast<Handle>(data);
    g->status = static_cast<Handle>(status);
    g->irq = static_cast<Handle>(irq);
    g->timer = static_cast<Handle>(t);
    g->failure = init_controller();
    g->decoder.reset();
    if (const int64_t r = g->port.create(kServeCapacity, kServeBuffers, kServeBufferBytes); r < 0) {
        print("ps2-keyboard: cannot serve: %s\n", error_text(r));
        return 1;
    }
    if (g->failure != nullptr) {
        // Served all the same: readers wait (no keys will come), loadkeys still works.
        print("ps2-keyboard: controller failed: %s; srv/%s serves no keys\n", g->failure, name);
        if (g->test_garbage) {
            // The test mode also runs the interrupt path over the junk: 1024 interrupts' worth.
            g->lock.lock();
            g->streams[0].open = true;  // to count what the junk decodes to
            for (int i = 0; i < 1024; ++i) {
                drain();
                km::Stroke s{};
                while (g->keyboard.repeat(sys::clock_ns(), &s))
                    push_event(s, sys::clock_ns());
            }
            print(
                "ps2-keyboard: test: garbage decoded: %lu bytes dropped, %u events kept, %lu "
                "lost\n",
                g->decoder.dropped(), g->streams[0].count, g->streams[0].lost);
            g->streams[0] = Stream{};  // nobody typed them
            g->lock.unlock();
        }
    } else {
        print("ps2-keyboard: srv/%s: 8042 and keyboard ready, layout us\n", name);
        if (spawn_thread(interrupt_thread, 0) < 0 || spawn_thread(repeat_thread, 0) < 0) {
            print("ps2-keyboard: no threads\n");
            return 1;
        }
    }
    // Published last: when srv/NAME appears (init's ready=), the threads run and the log says
    // how the controller is.
    const int64_t srv = open(root(), "srv");
    const int64_t bound = srv < 0 ? srv
                                  : sys::do_io(static_cast<uint64_t>(srv), Op::kCreate, name,
                                               c::length(name), g->port.served());
    if (srv >= 0)
        (void)sys::do_io(static_cast<uint64_t>(srv), Op::kClose);
    if (bound < 0) {
        print("ps2-keyboard: cannot publish srv/%s: %s\n", name, error_text(bound));
        return 1;
    }
    for (;;) {
        const int64_t n = sys::serve_sync(g->port.port(), 1, 0);
        if (n == -static_cast<int64_t>(abi::Error::kPeerGone))
            return 0;
        pump_and_hand_back();
    }
}
