// ping HOST [COUNT]: sends COUNT (default 4) ICMP echo requests to HOST (an address or a name)
// one second apart through the network server (/srv/net/icmp/echo/HOST) and prints each reply
// with its round-trip time, or that it timed out. Exits 0 when every request got its reply.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include "queue.hpp"
#include "tools.hpp"

using namespace keel::tools;

namespace {

constexpr uint64_t kInterval = 1'000'000'000;
constexpr uint32_t kPayload = 56;  // the usual: 64 bytes of ICMP in all

struct Stamp {
    uint32_t magic;
    uint32_t sequence;
    uint64_t sent_ns;
};
constexpr uint32_t kMagic = 0x4b65656c;  // "Keel"

uint32_t parse_count(const char* s) {
    uint32_t n = 0;
    for (; *s >= '0' && *s <= '9' && n < 1'000'000; ++s)
        n = n * 10 + static_cast<uint32_t>(*s - '0');
    return *s == '\0' ? n : 0;
}

}  // namespace

int keel_main(const StartInfo& start) {
    const Args a = arguments(start);
    if (a.count < 1 || a.count > 2 || (a.count == 2 && parse_count(a.words[1]) == 0)) {
        complain("ping", "usage", "ping HOST [COUNT]");
        return 2;
    }
    const uint32_t count = a.count == 2 ? parse_count(a.words[1]) : 4;
    char path[320];
    keel::snformat(path, sizeof path, "/srv/net/icmp/echo/%s", a.words[0]);
    const int64_t echo = open_file(path);
    if (echo < 0) {
        complain("ping", a.words[0], error_text(echo));
        return 1;
    }
    // Replies are read through a queue so that a lost one times out instead of waiting forever.
    Queue q;
    if (const int64_t r = q.create(8, 4, 128); r < 0) {
        complain("ping", "queue", error_text(r));
        return 1;
    }
    uint32_t received = 0;
    bool reading = false;
    for (uint32_t seq = 0; seq < count; ++seq) {
        uint8_t payload[kPayload] = {};
        const Stamp stamp{kMagic, seq, sys::clock_ns()};
        keel::c::copy(payload, &stamp, sizeof stamp);
        for (uint32_t i = sizeof stamp; i < kPayload; ++i)
            payload[i] = static_cast<uint8_t>(i);
        if (const int64_t r =
                sys::do_io(static_cast<uint64_t>(echo), Op::kWrite, payload, sizeof payload);
            r < 0) {
            complain("ping", a.words[0], error_text(r));
            return 1;
        }
        const uint64_t until = stamp.sent_ns + kInterval;
        bool answered = false;
        for (;;) {
            if (!reading) {
                auto b = q.client().acquire();
                if (!b || !q.submit(Op::kRead, static_cast<Handle>(echo), 0, 0, std::move(*b), 128))
                    return 1;
                reading = true;
            }
            const uint64_t now = sys::clock_ns();
            if (now >= until || q.wait(1, until - now) < 0)
                break;
            auto r = q.reap();
            if (!r)
                continue;
            reading = false;
            if (r->status != 0) {
                complain("ping", a.words[0], "the reply read failed");
                return 1;
            }
            Stamp back{};
            const auto bytes = q.client().bytes(r->buffer);
            if (r->value >= sizeof back)
                keel::c::copy(&back, bytes.data(), sizeof back);
            r->buffer.reset();
            if (back.magic != kMagic || back.sequence > seq)
                continue;  // not one of ours
            const uint64_t rtt = sys::clock_ns() - back.sent_ns;
            char line[128];
            const size_t n = keel::snformat(
                line, sizeof line, "%lu bytes from %s: seq=%u time=%lu.%03lu ms\n", r->value + 8,
                a.words[0], back.sequence, rtt / 1'000'000, rtt / 1000 % 1000);
            (void)emit(line, n);
            if (back.sequence == seq) {
                answered = true;
                ++received;
                break;
            }
        }
        if (!answered) {
            char line[64];
            const size_t n = keel::snformat(line, sizeof line, "seq=%u: no reply\n", seq);
            (void)emit(line, n);
        }
        const uint64_t now = sys::clock_ns();
        if (seq + 1 < count && now < until)
            (void)sys::sleep_ns(until - now);
    }
    char line[96];
    const size_t n = keel::snformat(line, sizeof line, "%u sent, %u received\n", count, received);
    (void)emit(line, n);
    return received == count ? 0 : 1;
}
