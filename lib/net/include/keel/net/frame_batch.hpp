// Frame batches: several Ethernet frames in one buffer, so that a link object's read or write
// (abi::kLinkBatch) carries a pump's worth of frames in one operation instead of one each. A
// batch is records back to back, each a 2-byte little-endian length and that many bytes of one
// frame (no padding, nothing after the last). The network server writes them and reads the
// NIC driver's; the driver reads the server's: each side checks the other's whole batch before
// it acts on any of it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::net {

inline constexpr size_t kBatchRecordHeader = 2;

// Appends one frame's record at out[*used] when it fits in `room` bytes, and advances *used.
// Whether it fit (nothing is written when not).
bool batch_put(uint8_t* out, size_t room, size_t* used, const uint8_t* frame, size_t length);
// Reserves a record for a frame of at most `length` bytes, to be written in place: its bytes
// start at the returned pointer (out + *used + kBatchRecordHeader), or nullptr when it does not
// fit. batch_commit then writes the frame's real length and advances *used.
uint8_t* batch_reserve(uint8_t* out, size_t room, size_t used, size_t length);
void batch_commit(uint8_t* out, size_t* used, size_t length);

// How many frames a received batch of `size` bytes holds, when every record lies inside it and
// every frame is min_frame to max_frame bytes long; -1 when not (a malformed batch: nothing
// of it is used). An empty batch holds 0.
int64_t batch_check(const uint8_t* data, size_t size, size_t min_frame, size_t max_frame);
// The frame at *offset of a batch that batch_check accepted, and *offset moved past it; false
// at the end. (On a batch it did not accept it still never reads outside data[0, size).)
bool batch_next(const uint8_t* data, size_t size, size_t* offset, const uint8_t** frame,
                size_t* length);

}  // namespace keel::net
