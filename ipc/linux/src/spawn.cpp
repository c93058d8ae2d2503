#include <ipc/linux/spawn.hpp>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ipc/linux/socket_io.hpp>

extern char** environ;

namespace keel::ipc::linux_transport {

int spawn_with_socket(char* const argv[], UniqueFd* ours, pid_t* pid) {
    UniqueFd mine, theirs;
    if (int r = socket_pair(&mine, &theirs); r != 0) {
        return r;
    }
    // dup2 onto the same number would keep close-on-exec set: move it out of the way first.
    if (theirs.get() == kInheritedSocketFd) {
        UniqueFd moved(::fcntl(theirs.get(), F_DUPFD_CLOEXEC, kInheritedSocketFd + 1));
        if (!moved.valid()) {
            return -errno;
        }
        theirs = std::move(moved);
    }
    posix_spawn_file_actions_t actions;
    if (int e = posix_spawn_file_actions_init(&actions); e != 0) {
        return -e;
    }
    int e = posix_spawn_file_actions_adddup2(&actions, theirs.get(), kInheritedSocketFd);
    if (e == 0) {
        e = posix_spawn(pid, argv[0], &actions, nullptr, argv, environ);
    }
    posix_spawn_file_actions_destroy(&actions);
    if (e != 0) {
        return -e;
    }
    // `theirs` closes here: from now on only the child holds that end, so its death is our EOF.
    *ours = std::move(mine);
    return 0;
}

namespace {

int make_address(const char* path, sockaddr_un* addr) {
    std::size_t n = std::strlen(path);
    if (n == 0 || n >= sizeof addr->sun_path) {
        return -ENAMETOOLONG;
    }
    *addr = sockaddr_un{};
    addr->sun_family = AF_UNIX;
    std::memcpy(addr->sun_path, path, n);
    return 0;
}

}  // namespace

int listen_at(const char* path, UniqueFd* listener) {
    sockaddr_un addr;
    if (int r = make_address(path, &addr); r != 0) {
        return r;
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return -errno;
    }
    ::unlink(path);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        return -errno;
    }
    if (::listen(fd.get(), 8) != 0) {
        return -errno;
    }
    *listener = std::move(fd);
    return 0;
}

int accept_one(int listener, UniqueFd* connection) {
    int fd;
    do {
        fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return -errno;
    }
    connection->reset(fd);
    return 0;
}

int connect_to(const char* path, UniqueFd* connection) {
    sockaddr_un addr;
    if (int r = make_address(path, &addr); r != 0) {
        return r;
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return -errno;
    }
    int r;
    do {
        r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    } while (r != 0 && errno == EINTR);
    if (r != 0) {
        return -errno;
    }
    *connection = std::move(fd);
    return 0;
}

}  // namespace keel::ipc::linux_transport
