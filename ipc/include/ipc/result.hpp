// Result<T> and Error: the one way every fallible ipc/ call reports failure.
#pragma once

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include <ipc/platform.hpp>

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

// The error side of a Result under construction: `return fail(Error::Closed);`. Generic over
// the error enum so that the kernel can use the same Result over its system-call errors.
template <class E>
struct Unexpected {
    E error;
};
template <class E>
constexpr Unexpected<E> fail(E e) {
    return Unexpected<E>{e};
}

// The value side of a Result<void>: `return success();`.
struct Success {};
constexpr Success success() {
    return {};
}

namespace detail {

// Result's storage: the flag and a union of the value and the error. For a trivially copyable
// T (a count, a tag, a handle) it is trivially copyable itself, so a Result<T> is returned in
// registers rather than through memory (the SysV ABI passes only such classes in registers);
// for any other T (a completion carrying a move-only buffer) the value is built, moved and
// destroyed by hand. Two specialisations because clang 14 has no conditionally trivial special
// members (P0848).
template <class T, class E, bool = std::is_trivially_copyable_v<T>>
struct ResultStorage {
    explicit ResultStorage(T&& v) : ok_(true) { ::new (&value_) T(std::move(v)); }
    explicit ResultStorage(E e) : ok_(false) { error_ = e; }
    ResultStorage(ResultStorage&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
        : ok_(o.ok_) {
        if (ok_) {
            ::new (&value_) T(std::move(o.value_));
        } else {
            error_ = o.error_;
        }
    }
    ResultStorage(const ResultStorage& o) requires std::is_copy_constructible_v<T> : ok_(o.ok_) {
        if (ok_) {
            ::new (&value_) T(o.value_);
        } else {
            error_ = o.error_;
        }
    }
    ResultStorage& operator=(const ResultStorage&) = delete;
    ResultStorage& operator=(ResultStorage&&) = delete;
    ~ResultStorage() {
        if (ok_)
            value_.~T();
    }

    bool ok_;
    union {
        T value_;
        E error_;
    };
};

template <class T, class E>
struct ResultStorage<T, E, true> {
    explicit ResultStorage(T&& v) : ok_(true), value_(v) {}
    explicit ResultStorage(E e) : ok_(false), error_(e) {}
    ResultStorage(ResultStorage&&) = default;
    ResultStorage(const ResultStorage&) = default;
    ResultStorage& operator=(const ResultStorage&) = delete;
    ResultStorage& operator=(ResultStorage&&) = delete;
    ~ResultStorage() = default;

    bool ok_;
    union {
        T value_;
        E error_;
    };
};

}  // namespace detail

// A value or an error. Move-only T is supported (completions carry move-only buffers).
// Success is the value side, never a member of E: value() (or `*`, `->`) of an error is a
// broken precondition that ends in the Platform's panic (always on). error() of a success is
// E's zero value, which no member of E has (trace recorders copy error() unconditionally
// beside ok(); everything else tests ok() first). Trivially copyable when T is
// (detail::ResultStorage).
template <class T, class E = Error>
class [[nodiscard]] Result : private detail::ResultStorage<T, E> {
    using Storage = detail::ResultStorage<T, E>;
    using Storage::error_;
    using Storage::ok_;
    using Storage::value_;

  public:
    using ErrorType = E;

    Result(T value) : Storage(std::move(value)) {}  // NOLINT: implicit
    Result(Unexpected<E> u) : Storage(u.error) {}   // NOLINT: implicit
    Result(Result&&) = default;
    Result(const Result&) = default;
    Result& operator=(const Result&) = delete;
    Result& operator=(Result&&) = delete;
    ~Result() = default;

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    T& value() & {
        KEEL_IPC_ASSERT(ok_);
        return value_;
    }
    const T& value() const& {
        KEEL_IPC_ASSERT(ok_);
        return value_;
    }
    T&& value() && {
        KEEL_IPC_ASSERT(ok_);
        return std::move(value_);
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    E error() const { return ok_ ? E{} : error_; }
};

static_assert(std::is_trivially_copyable_v<Result<std::uint64_t>>);
static_assert(sizeof(Result<std::uint64_t>) == 16);  // two registers

template <class E>
class [[nodiscard]] Result<void, E> {
  public:
    using ErrorType = E;

    Result() = default;
    Result(Success) {}                                        // NOLINT: implicit
    Result(Unexpected<E> u) : ok_(false), error_(u.error) {}  // NOLINT: implicit
    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    // Nothing to hand out; asserts like the other value() so KEEL_TRY treats both alike.
    void value() const { KEEL_IPC_ASSERT(ok_); }
    E error() const { return error_; }  // E{} for a success, as above

  private:
    bool ok_ = true;
    E error_{};
};

}  // namespace keel::ipc

// Propagation (SerenityOS's TRY): evaluates expr, a Result; on error returns that error from
// the enclosing function (whose own Result has the same error type), else yields the value
// (nothing for Result<void>). A GNU statement expression, which clang and gcc both accept.
#define KEEL_TRY(expr)                                                       \
    ({                                                                       \
        auto&& keel_try_result_ = (expr);                                    \
        if (!keel_try_result_.ok()) [[unlikely]]                             \
            return ::keel::ipc::fail(keel_try_result_.error());              \
        static_cast<decltype(keel_try_result_)&&>(keel_try_result_).value(); \
    })
