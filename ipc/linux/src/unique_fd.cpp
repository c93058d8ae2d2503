#include <ipc/linux/unique_fd.hpp>

#include <unistd.h>

namespace keel::ipc::linux_transport {

void UniqueFd::reset(int fd) {
    // close() is not retried on EINTR: on Linux the descriptor is released either way.
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

}  // namespace keel::ipc::linux_transport
