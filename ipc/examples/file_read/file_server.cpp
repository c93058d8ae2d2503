// keel_file_server: serves files beneath a root directory to one client at a time over the
// Linux transport. Reads go straight into the client's lent buffers (pread into the shared
// region): the server never copies file data.
//
//   keel_file_server --root DIR (--fd N | --listen PATH [--clients K]) [--delay-ms MS]
//
// --fd: the socket was inherited (spawn_with_socket); --listen: accept K clients in turn.
// --delay-ms: sleep before completing each read, so that tests can catch reads in flight.
// Exits 0 after its client(s) closed or died, 1 on a setup error, 2 on bad arguments.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ipc/linux/server_endpoint.hpp>
#include <ipc/linux/spawn.hpp>

#include "file_protocol.hpp"

namespace {

using namespace keel::ipc;
using namespace keel::ipc::linux_transport;
using namespace keel::examples::file_read;

struct Config {
    int inherited_fd = -1;
    const char* listen_path = nullptr;
    int clients = 1;
    const char* root = nullptr;
    int delay_ms = 0;
};

class FileService {
  public:
    explicit FileService(int root) : root_(root) {
        for (auto& fd : handles_) {
            fd = -1;
        }
    }
    ~FileService() {
        for (int fd : handles_) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    }
    FileService(const FileService&) = delete;
    FileService& operator=(const FileService&) = delete;

    // Runs one operation; returns the status and sets *value.
    std::uint16_t run(Server& server, const Operation& op, std::uint64_t* value) {
        *value = 0;
        switch (op.request.opcode) {
            case kOpOpen:
                return open(server, op, value);
            case kOpRead:
                return read(server, op, value);
            case kOpClose:
                return close(op, value);
        }
        return std::uint16_t(abi::Status::BadRequest);  // poll() already refused others
    }

  private:
    std::uint16_t os_error(int e, std::uint64_t* value) {
        *value = std::uint64_t(e);
        return kStatusOsError;
    }

    std::uint16_t open(Server& server, const Operation& op, std::uint64_t* value) {
        // Copy the path out of shared memory before looking at it: the client can rewrite
        // the buffer while we work.
        auto bytes = server.bytes(op);
        std::string path(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        if (path.empty() || path.size() > kMaxPath || path.find('\0') != std::string::npos) {
            return os_error(EINVAL, value);
        }
        int slot = -1;
        for (int i = 0; i < int(kMaxHandles) && slot < 0; ++i) {
            if (handles_[i] < 0) {
                slot = i;
            }
        }
        if (slot < 0) {
            return os_error(EMFILE, value);
        }
        // RESOLVE_BENEATH: ".." above the root, absolute paths and symlinks leading out all
        // fail with EXDEV; the client names files only inside the root.
        open_how how{};
        how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        long fd = ::syscall(SYS_openat2, root_, path.c_str(), &how, sizeof how);
        if (fd < 0) {
            return os_error(errno, value);
        }
        handles_[slot] = int(fd);
        *value = std::uint64_t(slot);
        return std::uint16_t(abi::Status::Ok);
    }

    std::uint16_t read(Server& server, const Operation& op, std::uint64_t* value) {
        int fd = handle(op.request.object);
        if (fd < 0) {
            return os_error(EBADF, value);
        }
        auto bytes = server.bytes(op);
        if (op.request.offset > std::uint64_t(INT64_MAX)) {
            return os_error(EINVAL, value);
        }
        std::size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done,
                                off_t(op.request.offset + done));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return os_error(errno, value);
            }
            if (n == 0) {
                break;
            }
            done += std::size_t(n);
        }
        *value = done;
        return std::uint16_t(abi::Status::Ok);
    }

    std::uint16_t close(const Operation& op, std::uint64_t* value) {
        int fd = handle(op.request.object);
        if (fd < 0) {
            return os_error(EBADF, value);
        }
        ::close(fd);
        handles_[op.request.object] = -1;
        return std::uint16_t(abi::Status::Ok);
    }

    int handle(std::uint32_t object) const { return object < kMaxHandles ? handles_[object] : -1; }

    int root_;
    int handles_[kMaxHandles];
};

// Serves one client until it closes or dies. Returns 0, or 1 if it misbehaved.
int serve(UniqueFd socket, int root, const Config& config) {
    ServerOptions options;
    options.op_limit = kOpLimit;
    int error = 0;
    auto ep = ServerEndpoint::accept(std::move(socket), options, &error);
    if (!ep) {
        std::fprintf(stderr, "file_server: handshake refused: %s\n", std::strerror(error));
        return 1;
    }
    FileService service(root);
    Server& server = ep->server();
    for (;;) {
        auto polled = ep->poll_wait(-1);
        if (!polled) {
            if (polled.error() == Error::PeerGone) {
                return 0;
            }
            std::fprintf(stderr, "file_server: client misbehaved: %s\n",
                         error_name(polled.error()));
            return 1;
        }
        while (auto op = server.take()) {
            if (config.delay_ms > 0 && op->request.opcode == kOpRead) {
                ::usleep(config.delay_ms * 1000);
            }
            std::uint64_t value = 0;
            std::uint16_t status = server.cancel_requested(op->id)
                                       ? std::uint16_t(abi::Status::Cancelled)
                                       : service.run(server, *op, &value);
            if (!server.complete(op->id, status, value)) {
                return 1;
            }
            ep->publish();  // each result as soon as it exists
        }
    }
}

int parse(int argc, char** argv, Config* c) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        bool has_value = i + 1 < argc;
        if (a == "--fd" && has_value) {
            c->inherited_fd = std::atoi(argv[++i]);
        } else if (a == "--listen" && has_value) {
            c->listen_path = argv[++i];
        } else if (a == "--clients" && has_value) {
            c->clients = std::atoi(argv[++i]);
        } else if (a == "--root" && has_value) {
            c->root = argv[++i];
        } else if (a == "--delay-ms" && has_value) {
            c->delay_ms = std::atoi(argv[++i]);
        } else {
            return 2;
        }
    }
    bool one_source = (c->inherited_fd >= 0) != (c->listen_path != nullptr);
    return one_source && c->root != nullptr && c->clients > 0 && c->delay_ms >= 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
    Config config;
    if (parse(argc, argv, &config) != 0) {
        std::fprintf(stderr,
                     "usage: keel_file_server --root DIR (--fd N | --listen PATH [--clients K]) "
                     "[--delay-ms MS]\n");
        return 2;
    }
    UniqueFd root(::open(config.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) {
        std::fprintf(stderr, "file_server: %s: %s\n", config.root, std::strerror(errno));
        return 1;
    }
    if (config.inherited_fd >= 0) {
        return serve(UniqueFd(config.inherited_fd), root.get(), config);
    }

    UniqueFd listener;
    if (int r = listen_at(config.listen_path, &listener); r != 0) {
        std::fprintf(stderr, "file_server: listen %s: %s\n", config.listen_path, std::strerror(-r));
        return 1;
    }
    int status = 0;
    for (int i = 0; i < config.clients; ++i) {
        UniqueFd connection;
        if (int r = accept_one(listener.get(), &connection); r != 0) {
            return 1;
        }
        status |= serve(std::move(connection), root.get(), config);
    }
    ::unlink(config.listen_path);
    return status;
}
