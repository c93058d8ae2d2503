// console: the text console on the screen. Programs' output is read by a terminal (lib/vt:
// cursor, scrolling, colours, escape sequences) and drawn in a PSF font (lib/font,
// etc/console.psf) on the display driver's surface; typed keys (the keyboard driver's events)
// become the bytes a terminal sends (lib/keymap). It serves one object, srv/NAME: a write is
// shown, a read gives typed bytes (at least one, waiting for them). init hands it to a shell
// as that shell's console and input (etc/init.conf).
//
// Arguments: [NAME [DISPLAY [KEYBOARD]]], objects under srv (default tty display0 kbd). No
// display: nothing to serve, exit 0 (a machine without one). No keyboard: output only.
//
// Two threads share everything under one lock: the main thread sleeps until the kernel forwards
// an operation, the keyboard thread until a key event comes (it answers waiting reads, and
// serves the operations its hand-back reports: see hand_back).
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/keymap/keymap.hpp>

#include <new>

#include "runtime.hpp"
#include "screen.hpp"
#include "serve.hpp"

using namespace keel;
using namespace keel::user;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
// The serve queue: reads park (one per waiting program), writes are short and immediate. The
// kernel forwards at most half the capacity at once, so waiting reads are held to fewer than
// that (more are refused Full): writes always find room, and the screen never stops for them.
constexpr uint32_t kCapacity = 32, kBuffers = 16, kBufferSize = 4096;
constexpr uint32_t kMaxParked = kCapacity / 2 - 4;
// How often the console looks for a restarted keyboard driver.
constexpr uint64_t kReopenInterval = 500'000'000;
// Typed bytes not yet read: a person types far less between two reads.
constexpr uint32_t kInputSize = 4096;
constexpr uint32_t kMaxFontMappings = 4096;

struct Console {
    Mutex lock;
    ServePort port;
    vt::Terminal terminal;
    console::Screen screen;
    font::Font font;
    font::Mapping mappings[kMaxFontMappings];
    uint8_t input[kInputSize];
    uint32_t input_head = 0, input_count = 0;
    uint64_t input_dropped = 0;
    ipc::Operation parked[kMaxParked];
    uint32_t parked_count = 0;
    Handle srv = 0, keyboard = 0;
    const char* display_name = nullptr;
    const char* keyboard_name = nullptr;
    bool display_lost = false;
};
Console* g;

// Under the lock: typed bytes into the ring (what does not fit is dropped and counted).
void push_input(const uint8_t* bytes, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (g->input_count == kInputSize) {
            g->input_dropped += n - i;
            return;
        }
        g->input[(g->input_head + g->input_count) % kInputSize] = bytes[i];
        ++g->input_count;
    }
}

// Under the lock: up to `room` typed bytes into `out`, taken from the ring.
uint64_t pop_input(uint8_t* out, uint64_t room) {
    uint64_t n = 0;
    while (n < room && g->input_count > 0) {
        out[n++] = g->input[g->input_head];
        g->input_head = (g->input_head + 1) % kInputSize;
        --g->input_count;
    }
    return n;
}

// Under the lock: parked reads answered with what was typed, or Cancelled when their caller
// asked; the rest stay parked in their order.
void answer_parked() {
    ipc::Server& server = g->port.server();
    uint32_t kept = 0;
    for (uint32_t i = 0; i < g->parked_count; ++i) {
        const ipc::Operation& op = g->parked[i];
        const uint32_t id = op.id;
        if (server.cancel_requested(id)) {
            (void)server.complete(id, static_cast<uint16_t>(ipc::abi::Status::Cancelled), 0);
        } else if (g->input_count > 0 && kept == 0) {
            // Reads take bytes in the order they came, while there are bytes.
            std::span<std::byte> data = server.bytes(op);
            const uint64_t n = pop_input(reinterpret_cast<uint8_t*>(data.data()), data.size());
            (void)server.complete(id, kOk, n);
        } else {
            g->parked[kept++] = op;
        }
    }
    g->parked_count = kept;
}

// Programs write "\n" to end a line, as on the serial console; a terminal's LF only moves down,
// so each one goes with a CR (a Unix tty's output translation).
void show(const uint8_t* bytes, size_t n) {
    size_t from = 0;
    for (size_t i = 0; i < n; ++i) {
        if (bytes[i] != '\n')
            continue;
        g->terminal.write(bytes + from, i - from);
        g->terminal.write(reinterpret_cast<const uint8_t*>("\r\n"), 2);
        from = i + 1;
    }
    g->terminal.write(bytes + from, n - from);
}

// Under the lock, on the main thread: one operation on srv/NAME.
void perform(const ipc::Operation& op) {
    ipc::Server& server = g->port.server();
    std::span<std::byte> data = server.bytes(op);
    const auto o = static_cast<Op>(op.request.opcode - abi::kQueueOpBase);
    switch (o) {
        case Op::kWrite: {
            show(reinterpret_cast<const uint8_t*>(data.data()), data.size());
            uint8_t reply[64];
            while (const size_t n = g->terminal.take_reply(reply, sizeof reply))
                push_input(reply, n);
            // The terminal took the bytes whatever the display does: the write is done. A
            // display that went away (its driver restarted) is looked for again at each write,
            // and redrawn whole once it is back.
            if (g->display_lost) {
                if (g->screen.attach(g->srv, g->display_name, &g->font) == 0 &&
                    g->screen.render_all(g->terminal) == 0) {
                    g->display_lost = false;
                    print("console: srv/%s is back\n", g->display_name);
                }
            } else if (const int64_t r = g->screen.render(g->terminal); r < 0) {
                print("console: srv/%s: %s; looking for it again at each write\n", g->display_name,
                      error_text(r));
                g->display_lost = true;
            }
            (void)server.complete(op.id, kOk, data.size());
            return;
        }
        case Op::kRead:
            if (data.empty()) {
                (void)server.complete(op.id, kOk, 0);
            } else if (g->input_count > 0 && g->parked_count == 0) {
                const uint64_t n = pop_input(reinterpret_cast<uint8_t*>(data.data()), data.size());
                (void)server.complete(op.id, kOk, n);
            } else if (g->parked_count < kMaxParked) {
                g->parked[g->parked_count++] = op;
            } else {
                (void)server.complete(op.id, abi::queue_error_status(abi::Error::kFull), 0);
            }
            return;
        default:
            (void)server.complete(op.id, abi::queue_error_status(abi::Error::kNotSupported), 0);
            return;
    }
}

// Under the lock: every operation submitted, waiting reads answered, completions published.
void serve_pending() {
    ipc::Server& server = g->port.server();
    (void)server.poll();
    while (auto op = server.take())
        perform(*op);
    answer_parked();
    server.publish();
}

// The keyboard thread's hand-back. serve_sync reports the submissions made since the last call
// by either thread: when this one saw some, the main thread may already be asleep without
// them, so this thread serves them (and hands those completions back in turn).
void hand_back() {
    while (sys::serve_sync(g->port.port(), 0, 0) > 0) {
        g->lock.lock();
        serve_pending();
        g->lock.unlock();
    }
}

// A stream of the keyboard's events of its own (srv/KEYBOARD/events): a program reading the
// keyboard beside the console sees every key too. The handle or -Error.
int64_t open_keyboard() {
    char events[abi::kMaxNameLength + 8];
    const uint64_t n = snformat(events, sizeof events, "%s/events", g->keyboard_name);
    if (n >= sizeof events)
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    return open_path(g->srv, events, n);
}

void keyboard_thread(uint64_t) {
    abi::KeyEvent events[16];
    for (;;) {
        const int64_t r = sys::do_io(g->keyboard, Op::kRead, events, sizeof events);
        if (r < 0) {
            // The driver ended (a restart gives PeerGone): wait for its new stream.
            print("console: srv/%s/events: %s; waiting for the keyboard to come back\n",
                  g->keyboard_name, error_text(r));
            (void)sys::do_io(g->keyboard, Op::kClose);
            int64_t h;
            while ((h = open_keyboard()) < 0)
                (void)sys::sleep_ns(kReopenInterval);
            g->keyboard = static_cast<Handle>(h);
            print("console: srv/%s/events is back\n", g->keyboard_name);
            continue;
        }
        g->lock.lock();
        for (uint64_t i = 0; i < static_cast<uint64_t>(r) / sizeof(abi::KeyEvent); ++i) {
            const abi::KeyEvent& e = events[i];
            const keymap::Stroke stroke{e.key, e.flags, e.modifiers, e.code_point};
            uint8_t bytes[16];
            push_input(bytes, keymap::terminal_bytes(stroke, bytes, sizeof bytes));
        }
        serve_pending();  // polls first: a read cancelled meanwhile takes none of these bytes
        g->lock.unlock();
        hand_back();
    }
}

// etc/console.psf read into memory and parsed (the file stays: the font points into it).
int64_t load_font() {
    const int64_t file = open_path(root(), "etc/console.psf", 15);
    if (file < 0)
        return file;
    uint64_t size = 0;
    if (node_type(static_cast<Handle>(file), &size) !=
            static_cast<uint32_t>(abi::NodeType::kFile) ||
        size == 0 || size > (1u << 20))
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    auto* bytes = static_cast<uint8_t*>(allocate(size));
    if (bytes == nullptr)
        return -static_cast<int64_t>(abi::Error::kNoMemory);
    (void)sys::do_io(static_cast<Handle>(file), Op::kSeek, nullptr, 0, 0);
    uint64_t got = 0;
    while (got < size) {
        const int64_t r = sys::do_io(static_cast<Handle>(file), Op::kRead, bytes + got, size - got);
        if (r <= 0)
            return r < 0 ? r : -static_cast<int64_t>(abi::Error::kInvalidArgument);
        got += static_cast<uint64_t>(r);
    }
    if (const char* why = font::parse(bytes, size, g->mappings, kMaxFontMappings, &g->font)) {
        print("console: etc/console.psf: %s\n", why);
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    }
    return 0;
}

}  // namespace

int keel_main(const StartInfo& start) {
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[4];
    const int count = split_args(start.args, start.args_length, storage, sizeof storage, words, 4);
    if (count < 0 || count > 3) {
        print("console: usage: console [NAME [DISPLAY [KEYBOARD]]] (objects under srv/)\n");
        return 2;
    }
    const char* name = count >= 1 ? words[0] : "tty";
    const char* display = count >= 2 ? words[1] : "display0";
    const char* keyboard = count >= 3 ? words[2] : "kbd";
    const int64_t srv = open(root(), "srv");
    if (srv < 0) {
        print("console: needs srv in its root\n");
        return 2;
    }
    void* memory = allocate(sizeof(Console));
    if (memory == nullptr) {
        print("console: no memory\n");
        return 1;
    }
    g = new (memory) Console;
    g->srv = static_cast<Handle>(srv);
    g->display_name = display;
    g->keyboard_name = keyboard;
    if (const int64_t r = load_font(); r < 0) {
        print("console: cannot load etc/console.psf: %s\n", error_text(r));
        return 1;
    }
    // init starts the console after the display driver published (its ready=): a display that
    // is not there means a machine without one, which is not a failure to restart.
    if (const int64_t r = g->screen.attach(static_cast<Handle>(srv), display, &g->font); r < 0) {
        print("console: srv/%s: %s: no screen\n", display, error_text(r));
        return r == -static_cast<int64_t>(abi::Error::kNotFound) ? 0 : 1;
    }
    const uint32_t columns = g->screen.columns(), rows = g->screen.rows();
    auto* cells = static_cast<vt::Cell*>(allocate(sizeof(vt::Cell) * columns * rows));
    if (cells == nullptr) {
        print("console: no memory for %ux%u cells\n", columns, rows);
        return 1;
    }
    g->terminal.init(cells, columns, rows);
    if (const int64_t r = g->screen.render_all(g->terminal); r < 0) {
        print("console: srv/%s: %s\n", display, error_text(r));
        return 1;
    }
    if (const int64_t r = g->port.create(kCapacity, kBuffers, kBufferSize); r < 0) {
        print("console: cannot serve: %s\n", error_text(r));
        return 1;
    }
    const int64_t kbd = open_keyboard();
    if (kbd < 0) {
        print("console: srv/%s/events: %s: output only\n", keyboard, error_text(kbd));
    } else {
        g->keyboard = static_cast<Handle>(kbd);
        if (const int64_t t = spawn_thread(keyboard_thread, 0); t < 0)
            print("console: cannot start the keyboard thread: %s: output only\n", error_text(t));
    }
    print("console: srv/%s: %ux%u cells of %ux%u on srv/%s (%ux%u)\n", name, columns, rows,
          g->font.width, g->font.height, display, g->screen.info().width, g->screen.info().height);
    // Published last, after the line above: init's ready= then means the console is up and
    // has said so (its line never lands inside the output of a shell started after it).
    if (const int64_t r = sys::do_io(static_cast<uint64_t>(srv), Op::kCreate, name, c::length(name),
                                     g->port.served());
        r < 0) {
        print("console: srv/%s: %s\n", name, error_text(r));
        return 1;
    }
    for (;;) {
        const int64_t r = sys::serve_sync(g->port.port(), 1, 0);
        if (r < 0 && r != -static_cast<int64_t>(abi::Error::kTimedOut)) {
            print("console: serving srv/%s failed: %s\n", name, error_text(r));
            return 1;  // init restarts it
        }
        g->lock.lock();
        serve_pending();
        g->lock.unlock();
    }
}
