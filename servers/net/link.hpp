// The network server's side of its link (a NIC driver's link object, abi::LinkInfo): frames
// arrive through reads kept posted on one queue and leave through writes on another, in
// batches (abi::kLinkBatch, lib/net's frame_batch.hpp): a read brings the frames the driver
// holds, up to 16 KiB of them, a write the frames a pump made (a full batch goes early), each
// batch in an owned buffer (the driver copies its frames to and from its DMA memory). One
// operation per frame was most of the server's and the driver's work in a bulk transfer
// (servers/net/README.md).
#pragma once

#include <keel/net/stack.hpp>

#include "queue.hpp"
#include "runtime.hpp"

namespace keel::netserver {

inline constexpr uint32_t kFrameBuffer = 1536;  // an Ethernet frame of 1514 bytes, rounded to 64
inline constexpr uint32_t kBatchBuffer = 16 * 1024;  // ten full frames; the driver's largest

class Link {
  public:
    // Reads the link's LinkInfo and posts its receive reads. 0 or -Error.
    int64_t attach(user::Handle link);
    const abi::LinkInfo& info() const { return info_; }

    // The receiving thread's: waits until at least one frame arrived (or timeout_ns). Frames
    // waiting, or -Error. Outside the lock: only that thread touches the receive queue.
    int64_t wait_received(uint64_t timeout_ns);
    // Hands every arrived frame to the stack and posts its read again. Under the lock.
    uint32_t deliver(net::Stack& stack, net::Time now);
    // Sends what the stack has to send while transmit buffers are free, and takes back the
    // buffers of finished writes. Under the lock. Whether frames are still waiting.
    bool transmit(net::Stack& stack);
    // What the stack sends through as it builds frames (net::LinkOutput): room for the frame
    // at the end of the batch being filled, then its record committed, so a TCP segment goes
    // from the send ring into the queue's owned buffer in one pass. transmit() submits the
    // batch (a full one goes at once) and lets the kernel take it. Under the lock.
    net::LinkOutput output();

    uint64_t receive_errors() const { return receive_errors_; }
    uint64_t transmit_errors() const { return transmit_errors_; }

  private:
    user::Handle link_ = 0;
    abi::LinkInfo info_{};
    user::Queue rx_;
    user::Queue tx_;
    static uint8_t* acquire(void* context, size_t size);
    static void commit(void* context, uint8_t* frame, size_t size);
    // Room for a frame of at most `size` bytes at the end of the batch being filled: a new batch
    // when there is none or it is full (the full one is sent first). nullptr when every
    // transmit buffer is in flight.
    uint8_t* reserve(size_t size);
    void send_batch();       // submits the batch being filled, if any (it goes at the next poll)
    uint8_t* batch_bytes();  // the batch being filled (batch_valid_)

    uint32_t tx_in_flight_ = 0;
    ipc::Buffer batch_{};  // the batch being filled: frames of this pump, until transmit()
    bool batch_valid_ = false;
    size_t batch_used_ = 0;
    bool reserved_ = false;  // acquire() gave the stack room in it, until its commit
    bool unpolled_ = false;  // writes submitted since the last poll
    uint64_t receive_errors_ = 0;
    uint64_t transmit_errors_ = 0;
};

}  // namespace keel::netserver
