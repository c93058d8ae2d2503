// keel_file_client: reads files through keel_file_server and checks every byte against
// reading them directly. Exit status 0 only if every file matched, the server refused paths
// outside its root, and (with --spawn) the server exited cleanly after the client closed.
//
//   keel_file_client (--spawn SERVER_EXE | --connect PATH) --root DIR FILE...
//
// --spawn starts the server with the socket inherited; --connect reaches a server started
// with --listen PATH. FILE names are relative to DIR, which both processes can read.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>

#include <ipc/linux/client_endpoint.hpp>
#include <ipc/linux/spawn.hpp>

#include "file_reader.hpp"

namespace {

using namespace keel::ipc;
using namespace keel::ipc::linux_transport;
using namespace keel::examples::file_read;

bool read_directly(const std::string& path, std::vector<std::byte>* out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return false;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    out->resize(bytes.size());
    if (!bytes.empty()) {
        std::memcpy(out->data(), bytes.data(), bytes.size());
    }
    return true;
}

// The server is started at the same time by whoever runs us: retry while it is not listening.
int connect_retrying(const char* path, UniqueFd* socket) {
    int r = 0;
    for (int attempt = 0; attempt < 250; ++attempt) {
        r = connect_to(path, socket);
        if (r != -ENOENT && r != -ECONNREFUSED) {
            return r;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return r;
}

int check_file(ClientEndpoint& ep, const std::string& root, const std::string& name) {
    std::uint32_t handle = 0;
    if (int e = open_remote(ep, name, &handle); e != 0) {
        std::fprintf(stderr, "file_client: open %s: %s\n", name.c_str(), std::strerror(e));
        return 1;
    }
    std::vector<std::byte> remote;
    int e = read_remote(ep, handle, &remote);
    int c = close_remote(ep, handle);
    if (e != 0 || c != 0) {
        std::fprintf(stderr, "file_client: read/close %s: %s\n", name.c_str(),
                     std::strerror(e != 0 ? e : c));
        return 1;
    }
    std::vector<std::byte> local;
    if (!read_directly(root + "/" + name, &local)) {
        std::fprintf(stderr, "file_client: cannot read %s/%s directly\n", root.c_str(),
                     name.c_str());
        return 1;
    }
    bool same = remote == local;
    std::printf("file_client: %s: %zu bytes through the server, fnv1a %016llx, %s\n", name.c_str(),
                remote.size(), static_cast<unsigned long long>(fnv1a(remote)),
                same ? "identical to a direct read" : "DIFFERENT from a direct read");
    return same ? 0 : 1;
}

// The server must refuse to leave its root, whatever the path says.
int check_confinement(ClientEndpoint& ep) {
    int failures = 0;
    for (const char* escape : {"../", "/etc/passwd", "../../../../etc/passwd"}) {
        std::uint32_t handle = 0;
        int e = open_remote(ep, escape, &handle);
        if (e == 0) {
            std::fprintf(stderr, "file_client: server opened %s outside its root\n", escape);
            (void)close_remote(ep, handle);
            ++failures;
        } else if (e == EPIPE || e == EIO) {
            std::fprintf(stderr, "file_client: open %s: %s\n", escape, std::strerror(e));
            ++failures;
        }
    }
    if (failures == 0) {
        std::printf("file_client: paths outside the root refused\n");
    }
    return failures;
}

}  // namespace

int main(int argc, char** argv) {
    const char* spawn = nullptr;
    const char* connect = nullptr;
    std::string root;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--spawn" && i + 1 < argc) {
            spawn = argv[++i];
        } else if (a == "--connect" && i + 1 < argc) {
            connect = argv[++i];
        } else if (a == "--root" && i + 1 < argc) {
            root = argv[++i];
        } else {
            files.push_back(a);
        }
    }
    if ((spawn == nullptr) == (connect == nullptr) || root.empty() || files.empty()) {
        std::fprintf(stderr,
                     "usage: keel_file_client (--spawn SERVER | --connect PATH) --root DIR "
                     "FILE...\n");
        return 2;
    }

    UniqueFd socket;
    pid_t server = -1;
    int r;
    if (spawn != nullptr) {
        std::string fd = std::to_string(kInheritedSocketFd);
        char* args[] = {const_cast<char*>(spawn),
                        const_cast<char*>("--fd"),
                        fd.data(),
                        const_cast<char*>("--root"),
                        root.data(),
                        nullptr};
        r = spawn_with_socket(args, &socket, &server);
    } else {
        r = connect_retrying(connect, &socket);
    }
    if (r != 0) {
        std::fprintf(stderr, "file_client: cannot reach the server: %s\n", std::strerror(-r));
        return 1;
    }

    int failures = 0;
    {
        int error = 0;
        // Small buffers so that even small files take several reads in flight at once.
        Geometry g{.capacity = 16, .buffer_count = 8, .buffer_size = 16 * 1024};
        auto ep = ClientEndpoint::connect(std::move(socket), g, &error);
        if (!ep) {
            std::fprintf(stderr, "file_client: handshake: %s\n", std::strerror(error));
            return 1;
        }
        for (const auto& f : files) {
            failures += check_file(*ep, root, f);
        }
        failures += check_confinement(*ep);
        if (ep->client().pooled_buffers() != g.buffer_count) {
            std::fprintf(stderr, "file_client: %u of %u buffers back\n",
                         ep->client().pooled_buffers(), g.buffer_count);
            ++failures;
        }
    }  // the endpoint closes: the server sees it and exits

    if (server > 0) {
        int status = 0;
        if (::waitpid(server, &status, 0) != server || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            std::fprintf(stderr, "file_client: the server did not exit cleanly (status %d)\n",
                         status);
            ++failures;
        }
    }
    return failures == 0 ? 0 : 1;
}
