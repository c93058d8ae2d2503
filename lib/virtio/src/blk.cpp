#include <keel/virtio/blk.hpp>

namespace keel::virtio::blk {

const char* check_geometry(uint64_t features, uint64_t capacity_sectors, uint32_t size_max,
                           uint32_t seg_max, uint32_t block_size, Geometry* out) {
    Geometry g{};
    g.block_size = kSector;
    if ((features & kFeatureBlockSize) != 0 && block_size >= kSector && block_size <= 4096 &&
        (block_size & (block_size - 1)) == 0) {
        g.block_size = block_size;
    }
    g.size_max = UINT32_MAX;
    if ((features & kFeatureSizeMax) != 0) {
        if (size_max < kSector)
            return "size_max below one sector";
        g.size_max = size_max;
    }
    g.seg_max = UINT32_MAX;
    if ((features & kFeatureSegMax) != 0) {
        if (seg_max == 0)
            return "seg_max is 0";
        g.seg_max = seg_max;
    }
    if (capacity_sectors > UINT64_MAX / kSector)
        return "capacity overflows in bytes";
    const uint64_t bytes = capacity_sectors * kSector;
    g.capacity_bytes = bytes - bytes % g.block_size;
    g.read_only = (features & kFeatureReadOnly) != 0;
    *out = g;
    return nullptr;
}

Check check_request(const Geometry& g, uint64_t offset, uint64_t length) {
    if (length == 0 || offset % g.block_size != 0 || length % g.block_size != 0)
        return Check::kInvalid;
    if (offset > g.capacity_bytes || length > g.capacity_bytes - offset)
        return Check::kOutOfRange;
    return Check::kOk;
}

uint32_t max_request_bytes(const Geometry& g, uint32_t cap) {
    uint64_t n = cap;
    const uint64_t limit = uint64_t{g.seg_max} * g.size_max;
    if (limit < n)
        n = limit;
    n -= n % g.block_size;
    return n == 0 ? g.block_size : static_cast<uint32_t>(n);
}

}  // namespace keel::virtio::blk
