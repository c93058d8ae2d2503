// uptime: publishes one served object, "uptime", in the directory it was given as "srv".
// Reading it from the start gives "up S.mmm s, N processes\n", made fresh at each seek to 0
// (what `cat` does first); read, peek and seek follow one position, get_meta kSize is the
// text's length. Every other operation is NotSupported. It serves until its port is closed.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include "runtime.hpp"
#include "serve.hpp"

using namespace keel;
using namespace keel::user;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);

char g_text[96];
uint64_t g_length = 0;
uint64_t g_position = 0;

void refresh() {
    uint64_t processes = 0;
    const int64_t table = open(root(), "processes");
    if (table >= 0) {
        (void)sys::do_io(static_cast<uint64_t>(table), Op::kGetMeta, &processes, 8,
                         static_cast<uint64_t>(abi::Meta::kSize));
        (void)sys::do_io(static_cast<uint64_t>(table), Op::kClose);
    }
    const uint64_t ms = sys::clock_ns() / 1'000'000;
    g_length = snformat(g_text, sizeof g_text, "up %lu.%03lu s, %lu processes\n", ms / 1000,
                        ms % 1000, processes);
}

// One forwarded operation: its completion status and value.
uint16_t perform(const ipc::Operation& op, std::span<std::byte> data, uint64_t* value) {
    const auto o = static_cast<Op>(op.request.opcode - abi::kQueueOpBase);
    const uint64_t arg = op.request.args[0];
    switch (o) {
        case Op::kSeek:
            if (arg > g_length)
                return abi::queue_error_status(abi::Error::kInvalidArgument);
            if (arg == 0)
                refresh();
            g_position = arg;
            *value = arg;
            return kOk;
        case Op::kRead:
        case Op::kPeek: {
            const uint64_t left = g_length - g_position;
            const uint64_t n = data.size() < left ? data.size() : left;
            c::copy(data.data(), g_text + g_position, n);
            if (o == Op::kRead)
                g_position += n;
            *value = n;
            return kOk;
        }
        case Op::kGetMeta:
            if (static_cast<abi::Meta>(arg) != abi::Meta::kSize)
                return abi::queue_error_status(abi::Error::kInvalidArgument);
            if (data.size() < 8)
                return abi::queue_error_status(abi::Error::kBufferTooSmall);
            c::copy(data.data(), &g_length, 8);
            *value = 8;
            return kOk;
        default:
            return abi::queue_error_status(abi::Error::kNotSupported);
    }
}

}  // namespace

int keel_main(const StartInfo&) {
    refresh();
    ServePort sp;
    if (const int64_t r = sp.create(8, 8, 4096); r < 0) {
        print("uptime: cannot serve: %s\n", error_text(r));
        return 1;
    }
    const int64_t srv = open(root(), "srv");
    const int64_t bound =
        srv < 0 ? srv
                : sys::do_io(static_cast<uint64_t>(srv), Op::kCreate, "uptime", 6, sp.served());
    if (bound < 0) {
        print("uptime: cannot publish srv/uptime: %s\n", error_text(bound));
        return 1;
    }
    (void)sys::do_io(static_cast<uint64_t>(srv), Op::kClose);
    for (;;) {
        if (sp.sync(true) < 0)
            continue;
        (void)sp.server().poll();
        while (auto op = sp.server().take()) {
            uint64_t value = 0;
            const uint16_t status = perform(*op, sp.server().bytes(*op), &value);
            (void)sp.server().complete(op->id, status, value);
        }
    }
}
