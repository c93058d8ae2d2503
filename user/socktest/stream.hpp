// Byte streams over socket objects, for the tests that use them (socktest against the network
// server, fwtest through the firewall): whole reads and writes with do_io, and the check that
// queued writes and reads keep their order.
#pragma once

#include "runtime.hpp"

namespace keel::socktest {

// Reads until the end of stream or n bytes; how many arrived (or the error).
int64_t read_fully(int64_t h, uint8_t* buf, uint64_t n);
// Writes all n bytes (a write may take fewer); n or the error.
int64_t write_fully(int64_t h, const uint8_t* buf, uint64_t n);

// Eight 32 KiB writes queued at once on `writer` (more than a send buffer holds), eight reads
// queued at once on `reader`, the other end of the same connection: every write completes
// whole, in order, and the bytes (pattern(0), pattern(1), ...) arrive in the order the writes
// were queued. Checks of the running test.
void check_queued_order(user::Handle writer, user::Handle reader, uint8_t (*pattern)(uint64_t));

}  // namespace keel::socktest
