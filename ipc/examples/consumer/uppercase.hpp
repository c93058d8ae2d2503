// What the consumers of the installed package share: the upper-case service (the server's
// work) and the client's side of it (lend a buffer holding a word, check what comes back).
// Header-only, so that each consumer still compiles from its one .cpp against nothing but the
// installed headers and libraries.
#pragma once

#include <ipc/client.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <utility>

namespace keel::examples::consumer {

// The one service opcode: upper-case the lent bytes in place; the value is their count.
inline constexpr std::uint16_t kUppercase = ipc::abi::kFirstServiceOp;

// What the client lends: word i is the operation with user_data i.
inline constexpr const char* kWords[] = {"ring", "queue", "owned buffer", "keel"};
inline constexpr std::uint64_t kWordCount = 4;

inline int failures = 0;

inline void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "consumer: check failed: %s\n", what);
        ++failures;
    }
}

// The server's work on one operation's bytes. Returns the value to complete it with.
inline std::uint64_t uppercase(std::span<std::byte> bytes) {
    for (auto& b : bytes) {
        auto c = static_cast<unsigned char>(b);
        if (c >= 'a' && c <= 'z') {
            b = std::byte(c - 'a' + 'A');
        }
    }
    return bytes.size();
}

// Acquires a buffer, copies word i into it and submits it (not yet published). False if any
// step failed (counted in failures).
inline bool submit_word(ipc::Client& client, std::uint64_t i) {
    auto buffer = client.acquire();
    check(buffer.ok(), "acquire");
    if (!buffer) {
        return false;
    }
    std::size_t n = std::strlen(kWords[i]);
    std::memcpy(client.bytes(*buffer).data(), kWords[i], n);
    ipc::Request r{.user_data = i, .opcode = kUppercase, .length = std::uint32_t(n)};
    bool submitted = client.submit(r, std::move(*buffer)).ok();
    check(submitted, "submit");
    check(!buffer->valid(), "submit empties the handle");
    return submitted;
}

// Checks one completion of submit_word: its own word, upper-cased, in its own buffer.
inline void check_uppercased(const ipc::Client& client, const ipc::Reaped& done) {
    std::uint64_t i = done.user_data;
    check(i < kWordCount, "user_data comes back");
    if (i >= kWordCount) {
        return;
    }
    check(done.status == std::uint16_t(ipc::abi::Status::Ok), "status Ok");
    std::size_t n = std::strlen(kWords[i]);
    check(done.value == n, "value is the length");
    auto bytes = client.bytes(done.buffer);
    check(bytes.size() >= n, "the buffer holds the word");
    for (std::size_t k = 0; k < n && k < bytes.size(); ++k) {
        char c = kWords[i][k];
        char want = c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c;
        check(char(bytes[k]) == want, "upper-cased byte");
    }
}

}  // namespace keel::examples::consumer
