// Writing whole files into a directory, whichever kind it is: a file system's (served: files
// are opened with create and written) or a root (memory files: a memory object bound by name).
#include <keel/c/string.hpp>

#include "runtime.hpp"

namespace keel::user {

namespace {

bool is_served(Handle h) {
    uint64_t kind = 0;
    return sys::do_io(h, abi::Op::kGetMeta, &kind, sizeof kind,
                      static_cast<uint64_t>(abi::Meta::kKind)) == sizeof kind &&
           kind == static_cast<uint64_t>(abi::Kind::kServed);
}

void close_handle(int64_t h) {
    if (h > 0)
        (void)sys::do_io(static_cast<uint64_t>(h), abi::Op::kClose);
}

}  // namespace

bool is_served_directory(Handle dir) {
    return is_served(dir);
}

int64_t write_all(Handle h, const void* bytes, uint64_t n) {
    // A served object takes at most what its server's queue buffers hold in one operation
    // (64 KiB for the FAT server, 32 KiB for sockets).
    constexpr uint64_t kPiece = 32 * 1024;
    const auto* p = static_cast<const char*>(bytes);
    while (n > 0) {
        const int64_t w = sys::do_io(h, abi::Op::kWrite, p, n < kPiece ? n : kPiece);
        if (w <= 0)
            return w < 0 ? w : -static_cast<int64_t>(abi::Error::kIo);
        p += w;
        n -= static_cast<uint64_t>(w);
    }
    return 0;
}

int64_t store_file(Handle dir, const char* name, const void* bytes, uint64_t n, bool append) {
    const uint64_t length = c::length(name);
    if (is_served(dir)) {
        const uint64_t flags = abi::kOpenCreate | (append ? abi::kOpenAppend : abi::kOpenTruncate);
        const int64_t h = sys::do_io(dir, abi::Op::kOpen, name, length, flags);
        if (h < 0)
            return h;
        const int64_t r =
            node_type(static_cast<Handle>(h)) == static_cast<uint32_t>(abi::NodeType::kDirectory)
                ? -static_cast<int64_t>(abi::Error::kExists)
                : write_all(static_cast<Handle>(h), bytes, n);
        close_handle(h);
        return r;
    }
    if (append)
        return -static_cast<int64_t>(abi::Error::kNotSupported);
    // A memory object has at least one byte: an empty file is refused rather than stored with
    // a wrong length.
    if (n == 0)
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    Handle file = 0;
    int64_t r = sys::object_new(abi::Kind::kMemory, n, &file);
    if (r >= 0)
        r = sys::do_io(file, abi::Op::kWrite, bytes, n);
    if (r >= 0)  // a memory object has one position, shared by all: readers start at 0
        r = sys::do_io(file, abi::Op::kSeek, nullptr, 0, 0);
    if (r >= 0) {
        const int64_t old = sys::do_io(dir, abi::Op::kOpen, name, length);
        if (old >= 0) {
            const bool directory = node_type(static_cast<Handle>(old)) ==
                                   static_cast<uint32_t>(abi::NodeType::kDirectory);
            close_handle(old);
            r = directory ? -static_cast<int64_t>(abi::Error::kExists)
                          : sys::do_io(dir, abi::Op::kDestroy, name, length);
        }
        if (r >= 0)
            r = sys::do_io(dir, abi::Op::kCreate, name, length, file);
    }
    close_handle(file);
    return r < 0 ? r : 0;
}

}  // namespace keel::user
