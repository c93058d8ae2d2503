// The one check of a queue geometry a process asks for, shared by queue_create (Queue) and
// serve_create (Served): the fields come from user memory, so each is checked against the
// kernel's limits before ipc::Layout sees it.
#pragma once

#include <keel/syscall_abi.hpp>

#include <ipc/layout.hpp>

#include "obj/object.hpp"

namespace keel::obj {

// The layout of the region. Errors: kInvalidArgument (a flag outside flags_allowed set,
// capacity below min_capacity or above the limit, too many or too large buffers, a geometry ipc
// refuses), kTooLarge (the region would exceed abi::kMaxQueueRegion).
Result<ipc::Layout> check_queue_geometry(const abi::QueueGeometry& g, uint32_t min_capacity,
                                         uint32_t flags_allowed);

}  // namespace keel::obj
