#include "stream.hpp"

#include "queue.hpp"
#include "testlib.hpp"

namespace keel::socktest {

using abi::Error;
using user::Handle;
using user::Op;
using user::Queue;
namespace sys = user::sys;

// Reads until the end of stream or n bytes; how many arrived (or the error).
int64_t read_fully(int64_t h, uint8_t* buf, uint64_t n) {
    uint64_t got = 0;
    while (got < n) {
        const uint64_t want = n - got < 16384 ? n - got : 16384;
        const int64_t r = sys::do_io(static_cast<uint64_t>(h), Op::kRead, buf + got, want);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        got += static_cast<uint64_t>(r);
    }
    return static_cast<int64_t>(got);
}

// Writes all n bytes (a write may take fewer); n or the error.
int64_t write_fully(int64_t h, const uint8_t* buf, uint64_t n) {
    uint64_t put = 0;
    while (put < n) {
        const uint64_t want = n - put < 32768 ? n - put : 32768;
        const int64_t r = sys::do_io(static_cast<uint64_t>(h), Op::kWrite, buf + put, want);
        if (r <= 0)
            return r < 0 ? r : user::err(Error::kIo);
        put += static_cast<uint64_t>(r);
    }
    return static_cast<int64_t>(put);
}

void check_queued_order(Handle writer, Handle reader, uint8_t (*pattern)(uint64_t)) {
    constexpr uint32_t kOps = 8, kPiece = 32 * 1024;
    Queue w, r;
    CHECK_EQ(w.create(16, kOps, kPiece), 0);
    CHECK_EQ(r.create(16, kOps, kPiece), 0);
    for (uint32_t i = 0; i < kOps; ++i) {
        auto b = w.client().acquire();
        CHECK(static_cast<bool>(b));
        const auto bytes = w.client().bytes(*b);
        for (uint32_t k = 0; k < kPiece; ++k)
            bytes[k] = static_cast<std::byte>(pattern(uint64_t{i} * kPiece + k));
        CHECK(static_cast<bool>(w.submit(Op::kWrite, writer, 0, i, std::move(*b), kPiece)));
    }
    CHECK(w.poll() >= 0);
    uint64_t received = 0;
    uint32_t written = 0, posted = 0;
    bool in_order = true;
    while (received < uint64_t{kOps} * kPiece && in_order) {
        while (posted < kOps) {
            auto b = r.client().acquire();
            if (!b)
                break;
            CHECK(static_cast<bool>(r.submit(Op::kRead, reader, 0, posted, std::move(*b), kPiece)));
            ++posted;
        }
        if (r.wait(1, 5'000'000'000) <= 0)
            break;
        while (auto got = r.reap()) {
            // Reads complete in the order they were queued, each with the next bytes.
            const auto bytes = r.client().bytes(got->buffer);
            for (uint64_t k = 0; k < got->value; ++k)
                in_order = in_order && bytes[k] == static_cast<std::byte>(pattern(received + k));
            received += got->value;
            got->buffer.reset();
            --posted;
        }
        (void)w.poll();
        while (auto done = w.reap()) {
            CHECK_EQ(done->status, 0);
            CHECK_EQ(done->value, uint64_t{kPiece});
            CHECK_EQ(done->user_data, uint64_t{written});
            ++written;
            done->buffer.reset();
        }
    }
    CHECK(in_order);
    CHECK_EQ(received, uint64_t{kOps} * kPiece);
    (void)w.wait(kOps - written, 5'000'000'000);
    while (auto done = w.reap()) {
        CHECK_EQ(done->user_data, uint64_t{written});
        ++written;
        done->buffer.reset();
    }
    CHECK_EQ(written, kOps);
    (void)r.destroy();  // the reads still queued are cancelled
}

}  // namespace keel::socktest
