// Deadline: how much of a caller's timeout is left, in slices no longer than a bound. Private
// to the transport's sources.
#pragma once

#include <algorithm>
#include <chrono>

namespace keel::ipc::linux_transport {

class Deadline {
  public:
    // timeout_ms < 0: no deadline.
    explicit Deadline(int timeout_ms)
        : forever_(timeout_ms < 0),
          end_(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms)) {}

    bool expired() const { return !forever_ && std::chrono::steady_clock::now() >= end_; }

    // Milliseconds to sleep next: at most `slice_ms`, at least 1, never past the deadline.
    int next_slice(int slice_ms) const {
        if (forever_) {
            return slice_ms;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        end_ - std::chrono::steady_clock::now())
                        .count();
        return int(std::clamp<long long>(left, 1, slice_ms));
    }

  private:
    bool forever_;
    std::chrono::steady_clock::time_point end_;
};

}  // namespace keel::ipc::linux_transport
