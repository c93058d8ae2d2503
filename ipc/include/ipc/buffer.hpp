// Buffer: the move-only handle to one owned buffer of a queue's table.
//
// One way in: Client::acquire (from the pool) or a completion that returns it. One way out:
// Client::submit (lends it to the queue; the handle is emptied) or dropping it (returns it to
// the pool). It cannot be copied, so while an operation holds the buffer the client has no
// handle to it.
#pragma once

#include <cstdint>

#include <ipc/abi.hpp>

namespace keel::ipc {

class Client;
namespace testing {
struct StateAccess;  // spec/'s refinement check reads and loads private state (no behaviour)
}  // namespace testing

class Buffer {
  public:
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    Buffer(Buffer&& other) noexcept : owner_(other.owner_), id_(other.id_) { other.forget(); }
    Buffer& operator=(Buffer&& other) noexcept {
        if (this != &other) {
            reset();
            owner_ = other.owner_;
            id_ = other.id_;
            other.forget();
        }
        return *this;
    }
    ~Buffer() { reset(); }

    bool valid() const { return owner_ != nullptr; }
    std::uint16_t id() const { return id_; }
    // Returns the buffer to its client's pool now (the destructor does the same).
    void reset();

  private:
    friend class Client;
    friend struct testing::StateAccess;
    Buffer(Client* owner, std::uint16_t id) : owner_(owner), id_(id) {}
    void forget() {
        owner_ = nullptr;
        id_ = abi::kNoBuffer;
    }

    Client* owner_ = nullptr;
    std::uint16_t id_ = abi::kNoBuffer;
};

}  // namespace keel::ipc
