#include <ipc/linux/shared_region.hpp>

#include <cerrno>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keel::ipc::linux_transport {

namespace {

constexpr int kRequiredSeals = F_SEAL_SHRINK | F_SEAL_GROW;

int map_fd(int fd, std::size_t size, std::byte** base) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        return -errno;
    }
    *base = static_cast<std::byte*>(p);
    return 0;
}

}  // namespace

SharedRegion::SharedRegion(SharedRegion&& other) noexcept
    : fd_(std::move(other.fd_)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

SharedRegion& SharedRegion::operator=(SharedRegion&& other) noexcept {
    if (this != &other) {
        unmap();
        fd_ = std::move(other.fd_);
        base_ = std::exchange(other.base_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

SharedRegion::~SharedRegion() {
    unmap();
}

void SharedRegion::unmap() {
    if (base_ != nullptr) {
        ::munmap(base_, size_);
    }
    base_ = nullptr;
    size_ = 0;
}

int SharedRegion::create(std::size_t size, SharedRegion* out) {
    if (size == 0) {
        return -EINVAL;
    }
    UniqueFd fd(::memfd_create("keel-ipc-queue", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd.valid()) {
        return -errno;
    }
    if (::ftruncate(fd.get(), off_t(size)) != 0) {
        return -errno;
    }
    if (::fcntl(fd.get(), F_ADD_SEALS, kRequiredSeals | F_SEAL_SEAL) != 0) {
        return -errno;
    }
    std::byte* base = nullptr;
    if (int r = map_fd(fd.get(), size, &base); r != 0) {
        return r;
    }
    out->unmap();
    out->fd_ = std::move(fd);
    out->base_ = base;
    out->size_ = size;
    return 0;
}

int SharedRegion::map_received(UniqueFd fd, std::size_t size, SharedRegion* out) {
    if (!fd.valid() || size == 0) {
        return -EINVAL;
    }
    int seals = ::fcntl(fd.get(), F_GET_SEALS);
    if (seals < 0 || (seals & kRequiredSeals) != kRequiredSeals) {
        return -EPERM;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return -errno;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || std::size_t(st.st_size) != size) {
        return -EINVAL;
    }
    std::byte* base = nullptr;
    if (int r = map_fd(fd.get(), size, &base); r != 0) {
        return r;
    }
    out->unmap();
    out->fd_ = std::move(fd);
    out->base_ = base;
    out->size_ = size;
    return 0;
}

}  // namespace keel::ipc::linux_transport
