#include <ipc/linux/socket_io.hpp>

#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace keel::ipc::linux_transport {

int send_message(int socket, std::span<const std::byte> message, int fd) {
    iovec iov{const_cast<std::byte*>(message.data()), message.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    for (;;) {
        ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
        if (n >= 0) {
            return std::size_t(n) == message.size() ? 0 : -EMSGSIZE;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
}

int receive_message(int socket, std::span<std::byte> buffer, Received* out, int timeout_ms) {
    *out = Received{};
    pollfd p{socket, POLLIN, 0};
    for (;;) {
        int r = ::poll(&p, 1, timeout_ms);
        if (r > 0) {
            break;
        }
        if (r == 0) {
            return -ETIMEDOUT;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
    iovec iov{buffer.data(), buffer.size()};
    // Room for a few descriptors, so that extra ones arrive (and are closed) instead of being
    // silently dropped by the kernel.
    alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    out->size = std::size_t(n);
    out->eof = n == 0;
    out->truncated = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            out->truncated = true;
            continue;
        }
        std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (!out->fd.valid()) {
                out->fd.reset(fd);
            } else {
                ::close(fd);
                out->truncated = true;
            }
        }
    }
    return 0;
}

bool peer_closed(int socket) {
    pollfd p{socket, POLLIN | POLLRDHUP, 0};
    int r;
    do {
        r = ::poll(&p, 1, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return true;
    }
    if (r == 0) {
        return false;
    }
    // POLLIN alone would be a message after the handshake: no such message exists, so the
    // peer is misbehaving; treat it like a peer that is gone.
    return true;
}

int socket_pair(UniqueFd* a, UniqueFd* b) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
        return -errno;
    }
    a->reset(fds[0]);
    b->reset(fds[1]);
    return 0;
}

}  // namespace keel::ipc::linux_transport
