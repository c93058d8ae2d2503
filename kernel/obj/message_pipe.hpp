// Message pipes: two connected endpoints; what one writes, the other reads, one message at a
// time with its boundaries kept (at most abi::kMaxMessageLength bytes, at most
// kMaxQueuedMessages waiting in each direction). A read into a buffer shorter than the next
// message fails with kBufferTooSmall and leaves the message queued. When one endpoint is gone
// the other reads what is left, then gets kPeerGone; its writes fail kPeerGone at once.
#pragma once

#include "obj/object.hpp"

namespace keel::obj {

inline constexpr uint32_t kMaxQueuedMessages = 16;

// Two connected message endpoints. kNoMemory.
Result<ObjectPair> create_message_pipe();

}  // namespace keel::obj
