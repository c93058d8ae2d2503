// Byte pipes: a bounded byte stream (abi::kPipeCapacity) with a read end and a write end, each
// its own object. Reads take what is there (at least one byte, or wait); writes put what fits
// (at least one byte, or wait). When every handle to the write end is gone, reads drain the
// rest and then return 0 (end of stream); when the read end is gone, writes fail kPeerGone.
#pragma once

#include "obj/object.hpp"

namespace keel::obj {

// Creates a connected pair; false without memory.
// A pipe: first the read end, second the write end. kNoMemory.
Result<ObjectPair> create_pipe();

}  // namespace keel::obj
