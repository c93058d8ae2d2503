#include "obj/queue_geometry.hpp"

namespace keel::obj {

Result<ipc::Layout> check_queue_geometry(const abi::QueueGeometry& g, uint32_t min_capacity,
                                         uint32_t flags_allowed) {
    if ((g.flags & ~flags_allowed) != 0 || g.capacity < min_capacity ||
        g.capacity > abi::kMaxQueueCapacity || g.buffer_count > abi::kMaxQueueBuffers ||
        g.buffer_size > abi::kMaxIoLength) {
        return fail(Error::kInvalidArgument);
    }
    const auto computed = ipc::Layout::compute({g.capacity, g.buffer_count, g.buffer_size});
    if (!computed)
        return fail(Error::kInvalidArgument);
    if (computed->total_size > abi::kMaxQueueRegion)
        return fail(Error::kTooLarge);
    return computed.value();
}

}  // namespace keel::obj
