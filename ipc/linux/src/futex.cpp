#include <ipc/linux/futex.hpp>

#include <cerrno>
#include <climits>
#include <ctime>

#include <time.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace keel::ipc::linux_transport {

namespace {

// The futex word must be a plain 32-bit int at the atomic's address: true for the lock-free
// std::atomic<uint32_t> (asserted), which has the same representation.
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

long futex(const std::atomic<std::uint32_t>* word, int op, std::uint32_t value,
           const timespec* timeout) {
    return ::syscall(SYS_futex, const_cast<std::atomic<std::uint32_t>*>(word), op, value, timeout,
                     nullptr, 0);
}

}  // namespace

int futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected, int timeout_ms) {
    timespec ts{};
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = long(timeout_ms % 1000) * 1'000'000;
    }
    // FUTEX_WAIT's timeout is relative. Not FUTEX_PRIVATE_FLAG: the waker is another process.
    long r = futex(word, FUTEX_WAIT, expected, timeout_ms >= 0 ? &ts : nullptr);
    return r == 0 ? 0 : -errno;
}

int futex_wake(const std::atomic<std::uint32_t>* word, int count) {
    long r = futex(word, FUTEX_WAKE, std::uint32_t(count < 0 ? INT_MAX : count), nullptr);
    return r >= 0 ? int(r) : -errno;
}

void wake_until_awake(const std::atomic<std::uint32_t>& sleeping,
                      const std::atomic<std::uint32_t>* word, int max_ms) {
    constexpr long kPauseNs = 200'000;
    for (long waited = 0; waited <= long(max_ms) * 1'000'000; waited += kPauseNs) {
        // Pairs with the sleeper's fence: we stored "closed", it stored its flag.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (sleeping.load(std::memory_order_relaxed) == 0) {
            return;
        }
        futex_wake(word, 1);
        timespec pause{0, kPauseNs};
        ::nanosleep(&pause, nullptr);
    }
}

}  // namespace keel::ipc::linux_transport
