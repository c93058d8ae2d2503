// A Keel queue (Client + Server) in one region of caller memory, for the queue rows (B3, B4,
// B5, B6). The region comes from the caller so that B6 can put it in memory shared between
// two processes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <span>
#include <vector>

#include <ipc/client.hpp>
#include <ipc/server.hpp>

namespace keel::bench {

// The first service opcode: the server library queues it for take()/complete() instead of
// answering it itself as it does a Nop.
inline constexpr std::uint16_t kServiceOp = ipc::abi::kFirstServiceOp;

inline ipc::Layout layout_of(const ipc::Geometry& g) {
    auto l = ipc::Layout::compute(g);
    if (!l)
        std::abort();
    return *l;
}

// Private storage of one endpoint (8-byte aligned, as create()/attach() require).
struct Storage {
    std::vector<std::uint64_t> words;
    explicit Storage(std::size_t bytes) : words((bytes + 7) / 8) {}
    std::span<std::byte> span() {
        return {reinterpret_cast<std::byte*>(words.data()), words.size() * 8};
    }
};

// Page-aligned heap region for a queue used within one process.
struct Region {
    std::byte* data;
    std::size_t size;
    explicit Region(std::size_t bytes)
        : data(static_cast<std::byte*>(::operator new(bytes, std::align_val_t(4096)))),
          size(bytes) {}
    ~Region() { ::operator delete(data, std::align_val_t(4096)); }
    Region(const Region&) = delete;
    Region& operator=(const Region&) = delete;
    std::span<std::byte> span() { return {data, size}; }
};

struct ClientEnd {
    Storage storage;
    ipc::Client client;
    ClientEnd(std::span<std::byte> shared, const ipc::Geometry& g)
        : storage(ipc::Client::private_size(g)) {
        if (!client.create(shared, storage.span(), g))
            std::abort();
    }
};

struct ServerEnd {
    Storage storage;
    ipc::Server server;
    ServerEnd(std::span<std::byte> shared, const ipc::Geometry& g)
        : storage(ipc::Server::private_size(g)) {
        if (!server.attach(shared, storage.span(), g, kServiceOp + 1))
            std::abort();
    }
};

// Server side of one service turn: drain submissions (Nops complete inside poll), complete
// every taken operation at once with Ok, publish. by_id: take_id() and the request viewed in
// place (no copy); otherwise take() and its copy. Returns the operations completed, or -1 on
// any error (the benchmarks treat that as fatal).
inline int serve_once(ipc::Server& server, bool by_id = true) {
    auto polled = server.poll();
    if (!polled)
        return -1;
    int n = int(*polled);
    bool took = false;
    while (true) {
        std::uint32_t id;
        std::uint64_t length;
        if (by_id) {
            auto op = server.take_id();
            if (!op) {
                if (op.error() != ipc::Error::Empty)
                    return -1;
                break;
            }
            id = *op;
            length = server.request(id).length;
        } else {
            auto op = server.take();
            if (!op) {
                if (op.error() != ipc::Error::Empty)
                    return -1;
                break;
            }
            id = op->id;
            length = op->request.length;
        }
        took = true;
        if (!server.complete(id, std::uint16_t(ipc::abi::Status::Ok), length))
            return -1;
    }
    if (took)
        server.publish();
    return n;
}

// The server's side with its batched calls: poll, then take_batch / complete_batch (one call,
// one mode check and one ring-room check per batch) with each request viewed in place, and
// one publish. Returns the operations polled, or -1 on any error.
inline int serve_batch(ipc::Server& server) {
    constexpr std::uint32_t kServeBatch = 32;
    auto polled = server.poll();
    if (!polled)
        return -1;
    std::uint32_t handles[kServeBatch];
    ipc::Server::Done done[kServeBatch];
    bool took = false;
    while (true) {
        auto n = server.take_batch(std::span(handles));
        if (!n) {
            if (n.error() != ipc::Error::Empty)
                return -1;
            break;
        }
        for (std::uint32_t i = 0; i < *n; ++i) {
            done[i] = {handles[i], std::uint16_t(ipc::abi::Status::Ok),
                       server.request(handles[i]).length};
        }
        auto c = server.complete_batch(std::span<const ipc::Server::Done>(done, *n));
        if (!c || *c != *n)
            return -1;
        took = true;
    }
    if (took)
        server.publish();
    return int(*polled);
}

}  // namespace keel::bench
