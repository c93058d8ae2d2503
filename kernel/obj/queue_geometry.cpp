#include "obj/queue_geometry.hpp"

namespace keel::obj {

Result<uint64_t> check_queue_geometry(const abi::QueueGeometry& g, uint32_t min_capacity,
                                      ipc::Layout* layout) {
    if (g.reserved != 0 || g.capacity < min_capacity || g.capacity > abi::kMaxQueueCapacity ||
        g.buffer_count > abi::kMaxQueueBuffers || g.buffer_size > abi::kMaxIoLength) {
        return fail(Error::kInvalidArgument);
    }
    const auto computed = ipc::Layout::compute({g.capacity, g.buffer_count, g.buffer_size});
    if (!computed)
        return fail(Error::kInvalidArgument);
    if (computed->total_size > abi::kMaxQueueRegion)
        return fail(Error::kTooLarge);
    *layout = computed.value();
    return Result<uint64_t>(0);
}

}  // namespace keel::obj
