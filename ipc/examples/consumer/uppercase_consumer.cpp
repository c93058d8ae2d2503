// A consumer of the installed keel_ipc package: one process plays both sides of a queue. The
// client lends buffers holding lower-case words; the server upper-cases them in place; the
// client reaps, checks every result and that every buffer came back. Exit status 0 only if all
// checks hold.
#include <ipc/client.hpp>
#include <ipc/platform.hpp>
#include <ipc/server.hpp>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "uppercase.hpp"

namespace {

// This program's own Platform: the library calls panic only on a broken invariant of its own.
struct ConsumerPlatform {
    static void panic(const char* message) {
        std::fprintf(stderr, "consumer: ipc panic: %s\n", message);
        std::abort();
    }
    static void log(const char* message) { std::fprintf(stderr, "consumer: %s\n", message); }
};

}  // namespace

KEEL_IPC_PLATFORM(ConsumerPlatform)

namespace {

using namespace keel::ipc;
using namespace keel::examples::consumer;

// Storage the library does not allocate itself: 64-byte aligned shared region, 8-byte aligned
// private bookkeeping.
struct alignas(64) Block {
    std::byte bytes[64];
};

std::span<std::byte> as_bytes(std::vector<Block>& v) {
    return {reinterpret_cast<std::byte*>(v.data()), v.size() * sizeof(Block)};
}

std::vector<Block> blocks_for(std::size_t bytes) {
    return std::vector<Block>((bytes + 63) / 64);
}

}  // namespace

int main() {
    const Geometry g{.capacity = 8, .buffer_count = 4, .buffer_size = 64};
    auto layout = Layout::compute(g);
    if (!layout) {
        return std::fprintf(stderr, "consumer: bad geometry\n"), 1;
    }
    auto shared = blocks_for(layout->total_size);
    auto client_storage = blocks_for(Client::private_size(g));
    auto server_storage = blocks_for(Server::private_size(g));

    Client client;
    Server server;
    check(client.create(as_bytes(shared), as_bytes(client_storage), g).ok(), "client.create");
    check(server.attach(as_bytes(shared), as_bytes(server_storage), g, kUppercase + 1).ok(),
          "server.attach");
    if (failures != 0) {
        return 1;
    }

    for (std::uint64_t i = 0; i < kWordCount; ++i) {
        if (!submit_word(client, i)) {
            return 1;
        }
    }
    check(client.acquire().error() == Error::Empty, "every buffer is lent");
    client.publish();

    // Server: drain, take each operation, upper-case its buffer, complete.
    auto drained = server.poll();
    check(drained.ok() && *drained == 4, "server drains four submissions");
    while (auto op = server.take()) {
        std::uint64_t value = uppercase(server.bytes(*op));
        check(server.complete(op->id, std::uint16_t(abi::Status::Ok), value).ok(), "complete");
    }
    server.publish();

    // Client: every operation completes once, with its own buffer, upper-cased.
    int reaped = 0;
    while (auto done = client.reap()) {
        ++reaped;
        check_uppercased(client, *done);
    }  // each Reaped's buffer returns to the pool here
    check(reaped == 4, "four completions");
    check(client.outstanding() == 0, "nothing outstanding");
    check(client.pooled_buffers() == g.buffer_count, "every buffer back in the pool");

    if (failures != 0) {
        return 1;
    }
    std::printf("consumer: 4 operations round-tripped through keel_ipc\n");
    return 0;
}
