// AlignedBytes: zeroed, page-aligned memory for a queue region or an endpoint's private storage,
// as the real endpoints get it (the Recorder's and the refinement check's harnesses).
#pragma once

#include <algorithm>
#include <cstddef>
#include <new>
#include <span>

namespace keel::spec {

struct AlignedBytes {
    std::byte* p = nullptr;
    std::size_t n = 0;
    explicit AlignedBytes(std::size_t size) : n((size + 4095) & ~std::size_t(4095)) {
        p = static_cast<std::byte*>(::operator new(n, std::align_val_t(4096)));
        std::fill(p, p + n, std::byte(0));
    }
    ~AlignedBytes() { ::operator delete(p, std::align_val_t(4096)); }
    AlignedBytes(const AlignedBytes&) = delete;
    AlignedBytes& operator=(const AlignedBytes&) = delete;
    std::span<std::byte> span() { return {p, n}; }
};

}  // namespace keel::spec
