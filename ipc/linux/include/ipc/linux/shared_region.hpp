// SharedRegion: a memfd mapped MAP_SHARED, the memory a queue and its buffers live in.
//
// The creator seals the memfd against shrinking and growing before handing it over: a peer
// that could truncate the file would turn every later access of ours into SIGBUS. The
// receiver refuses a memfd without those seals, so the guarantee holds both ways.
#pragma once

#include <cstddef>
#include <span>

#include <ipc/linux/unique_fd.hpp>

namespace keel::ipc::linux_transport {

class SharedRegion {
  public:
    SharedRegion() = default;
    SharedRegion(const SharedRegion&) = delete;
    SharedRegion& operator=(const SharedRegion&) = delete;
    SharedRegion(SharedRegion&& other) noexcept;
    SharedRegion& operator=(SharedRegion&& other) noexcept;
    ~SharedRegion();

    // A new zero-filled memfd of `size` bytes, sealed (no shrink, no grow, no more seals),
    // mapped read-write. Returns 0 or -errno.
    static int create(std::size_t size, SharedRegion* out);
    // Maps a memfd received from a peer after checking it: F_SEAL_SHRINK and F_SEAL_GROW set
    // and exactly `size` bytes. Returns 0, -EPERM (seals missing or not a memfd), -EINVAL
    // (wrong size) or -errno.
    static int map_received(UniqueFd fd, std::size_t size, SharedRegion* out);

    std::span<std::byte> bytes() const { return {base_, size_}; }
    int fd() const { return fd_.get(); }

  private:
    void unmap();

    UniqueFd fd_;
    std::byte* base_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace keel::ipc::linux_transport
