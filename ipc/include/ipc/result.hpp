// Result<T> and Error: the one way every fallible ipc/ call reports failure.
#pragma once

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace keel::ipc {

// Every error any ipc/ call can return. Success is never an Error value.
enum class Error : std::uint16_t {
    Empty = 1,          // nothing to pop: no completion / no submission / no queued op
    NoCredit,           // every completion slot is reserved: reap before submitting more
    RingFull,           // submission ring full (cannot happen while credit holds; kept as a guard)
    InvalidArgument,    // a caller argument is out of range (bad geometry, bad op id, ...)
    InvalidBuffer,      // the buffer handle is empty (moved from) or its id is out of range
    NotOwner,           // the buffer or op is not in the state the call needs (not yours now)
    DuplicateTag,       // (reserved for transports that let callers choose tags)
    ProtocolViolation,  // the peer wrote something impossible into shared memory
    PeerGone,           // the peer closed or died; see the teardown rules
    Closed,             // this endpoint was closed
    BadLayout,          // shared memory too small, misaligned, or its header does not match
};

// Short, stable names for logs and test output.
constexpr const char* error_name(Error e) {
    switch (e) {
        case Error::Empty:
            return "Empty";
        case Error::NoCredit:
            return "NoCredit";
        case Error::RingFull:
            return "RingFull";
        case Error::InvalidArgument:
            return "InvalidArgument";
        case Error::InvalidBuffer:
            return "InvalidBuffer";
        case Error::NotOwner:
            return "NotOwner";
        case Error::DuplicateTag:
            return "DuplicateTag";
        case Error::ProtocolViolation:
            return "ProtocolViolation";
        case Error::PeerGone:
            return "PeerGone";
        case Error::Closed:
            return "Closed";
        case Error::BadLayout:
            return "BadLayout";
    }
    return "?";
}

struct Unexpected {
    Error error;
};
constexpr Unexpected fail(Error e) {
    return Unexpected{e};
}

// A value or an Error. Move-only T is supported (completions carry move-only buffers).
template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : ok_(true) { ::new (&value_) T(std::move(value)); }  // NOLINT: implicit
    Result(Unexpected u) : ok_(false) { error_ = u.error; }               // NOLINT: implicit
    Result(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(o.ok_) {
        if (ok_) {
            ::new (&value_) T(std::move(o.value_));
        } else {
            error_ = o.error_;
        }
    }
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    Result& operator=(Result&&) = delete;
    ~Result() {
        if (ok_)
            value_.~T();
    }

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    // Precondition for value(): ok(). Precondition for error(): !ok().
    T& value() & { return value_; }
    const T& value() const& { return value_; }
    T&& value() && { return std::move(value_); }
    T* operator->() { return &value_; }
    const T* operator->() const { return &value_; }
    T& operator*() & { return value_; }
    Error error() const { return ok_ ? Error{} : error_; }

  private:
    bool ok_;
    union {
        T value_;
        Error error_;
    };
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Unexpected u) : ok_(false), error_(u.error) {}  // NOLINT: implicit
    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    Error error() const { return error_; }

  private:
    bool ok_ = true;
    Error error_{};
};

inline Result<void> success() {
    return {};
}

}  // namespace keel::ipc
