#include "file_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "file_protocol.hpp"

namespace keel::examples::file_read {

namespace {

using namespace keel::ipc;

int status_error(const Reaped& done) {
    if (done.status == std::uint16_t(abi::Status::PeerGone)) {
        return EPIPE;
    }
    if (done.status == kStatusOsError) {
        return done.value > 0 && done.value < 4096 ? int(done.value) : EIO;
    }
    return EIO;
}

// One operation, waited for. Precondition: nothing else outstanding.
int call(ClientEndpoint& ep, const Request& request, Buffer buffer, std::uint64_t* value) {
    auto tag = buffer.valid() ? ep.client().submit(request, std::move(buffer))
                              : ep.client().submit(request);
    if (!tag) {
        return tag.error() == Error::PeerGone ? EPIPE : EAGAIN;
    }
    ep.publish();
    auto done = ep.reap_wait(-1);
    if (!done) {
        ep.peer_gone();
        return EIO;
    }
    if (done->tag != *tag) {
        return EIO;
    }
    if (done->status != std::uint16_t(abi::Status::Ok)) {
        return status_error(*done);
    }
    *value = done->value;
    return 0;
}

}  // namespace

int open_remote(ClientEndpoint& ep, std::string_view path, std::uint32_t* handle) {
    auto buffer = ep.client().acquire();
    if (!buffer) {
        return EAGAIN;
    }
    auto bytes = ep.client().bytes(*buffer);
    if (path.size() > bytes.size() || path.size() > kMaxPath) {
        return ENAMETOOLONG;
    }
    std::memcpy(bytes.data(), path.data(), path.size());
    Request r{.opcode = kOpOpen, .length = std::uint32_t(path.size())};
    std::uint64_t value = 0;
    int e = call(ep, r, std::move(*buffer), &value);
    if (e == 0 && value >= kMaxHandles) {
        return EIO;
    }
    if (e == 0) {
        *handle = std::uint32_t(value);
    }
    return e;
}

int close_remote(ClientEndpoint& ep, std::uint32_t handle) {
    std::uint64_t value = 0;
    return call(ep, Request{.opcode = kOpClose, .object = handle}, Buffer{}, &value);
}

int read_remote(ClientEndpoint& ep, std::uint32_t handle, std::vector<std::byte>* data) {
    Client& client = ep.client();
    const std::uint32_t chunk = client.buffer_size();
    std::uint64_t next = 0;
    std::uint64_t end = UINT64_MAX;  // file size, once a short read showed it
    std::uint32_t in_flight = 0;
    int error = 0;
    data->clear();
    for (;;) {
        // Keep every buffer busy until the end of the file is known.
        while (error == 0 && next < end) {
            auto buffer = client.acquire();
            if (!buffer) {
                break;
            }
            Request r{.user_data = next,
                      .opcode = kOpRead,
                      .object = handle,
                      .length = chunk,
                      .offset = next};
            if (!client.submit(r, std::move(*buffer))) {  // no credit: the buffer drops back
                break;
            }
            next += chunk;
            ++in_flight;
        }
        ep.publish();
        if (in_flight == 0) {
            break;
        }
        auto done = ep.reap_wait(-1);
        if (!done) {
            ep.peer_gone();  // ProtocolViolation: stop trusting the server, drain locally
            error = error != 0 ? error : EIO;
            continue;
        }
        --in_flight;
        if (done->status != std::uint16_t(abi::Status::Ok)) {
            error = error != 0 ? error : status_error(*done);
            continue;
        }
        std::uint64_t offset = done->user_data;
        auto bytes = client.bytes(done->buffer);
        if (done->value > chunk || bytes.size() < done->value) {
            error = error != 0 ? error : EIO;
            continue;
        }
        if (done->value < chunk) {
            end = std::min(end, offset + done->value);
        }
        if (data->size() < offset + done->value) {
            data->resize(offset + done->value);
        }
        std::memcpy(data->data() + offset, bytes.data(), done->value);
    }  // each reaped buffer went back to the pool when `done` was dropped
    if (error == 0 && end != UINT64_MAX) {
        data->resize(end);
    }
    return error;
}

std::uint64_t fnv1a(const std::vector<std::byte>& data) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::byte b : data) {
        h ^= std::uint64_t(b);
        h *= 0x100000001b3ull;
    }
    return h;
}

}  // namespace keel::examples::file_read
