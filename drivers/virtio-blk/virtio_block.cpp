// The device half of the virtio-blk driver (virtio_block.hpp).
#include "virtio_block.hpp"

namespace keel::drivers::virtio_blk {

namespace vio = keel::virtio;
namespace blk = keel::virtio::blk;
namespace dev = keel::drivers::virtio;

namespace {

constexpr uint64_t kMetaBytes = 20 * 1024;  // rings, request headers, status bytes

}  // namespace

// The device configuration, read until the generation is stable.
const char* BlockDevice::read_geometry(uint64_t features) {
    const dev::Mmio& config = device_.config();
    uint64_t capacity = 0;
    uint32_t size_max = 0, seg_max = 0, block_size = 0;
    if (!device_.read_config([&] {
            capacity = config.r32(blk::kConfigCapacity) |
                       uint64_t{config.r32(blk::kConfigCapacity + 4)} << 32;
            size_max = config.r32(blk::kConfigSizeMax);
            seg_max = config.r32(blk::kConfigSegMax);
            block_size = config.r32(blk::kConfigBlockSize);
        })) {
        return "device configuration never stable";
    }
    return blk::check_geometry(features, capacity, size_max, seg_max, block_size, &geometry_);
}

const char* BlockDevice::init(user::Handle device, uint32_t max_transfer) {
    dev::Device& d = device_;
    if (const char* why = d.start(device, blk::kConfigMinimum, "no block device configuration"))
        return why;
    // VIRTIO_F_ACCESS_PLATFORM: the device's DMA goes through the platform's IOMMU. Every
    // address this driver gives it is a device address the kernel made (DmaMemory, the served
    // region), so it is taken when offered; QEMU offers it with iommu_platform=on, and without
    // it a virtio device would bypass the IOMMU and read device addresses as physical ones.
    const uint64_t optional = blk::kFeatureSegMax | blk::kFeatureSizeMax | blk::kFeatureBlockSize |
                              blk::kFeatureFlush | blk::kFeatureReadOnly |
                              vio::kFeatureAccessPlatform;
    uint64_t features = 0;
    if (const char* why = d.negotiate(vio::kFeatureVersion1, optional, &features))
        return why;
    flush_ = (features & blk::kFeatureFlush) != 0;
    if (const char* why = read_geometry(features))
        return d.fail(why);

    // One DMA object for the rings (dev::kRingBytes), then the request headers (12 KiB) and
    // status bytes, indexed by request record.
    header_at_ = dev::kRingBytes;
    status_at_ = header_at_ + kMaxQueue * sizeof(blk::RequestHeader);
    static_assert(dev::kRingBytes + kMaxQueue * (sizeof(blk::RequestHeader) + 1) <= kMetaBytes);
    dev::Dma meta;
    if (const char* why = d.dma(kMetaBytes, &meta))
        return d.fail(why);
    meta_ = meta.at;
    meta_device_ = meta.device;
    // The request queue: the largest power of two the device allows, at most 256.
    if (const char* why = d.setup_queue(0, kMaxQueue, 8, meta, &queue_, &notify_))
        return why;
    if (const char* why = d.setup_interrupts(1))
        return why;
    d.go(1);

    // How a transfer is cut into requests: data segments of at most size_max bytes, at most
    // seg_max (and 16, and what the queue can hold) of them per request.
    const uint32_t size = queue_.size();
    uint32_t segments = kMaxDataSegments;
    if (geometry_.seg_max < segments)
        segments = geometry_.seg_max;
    if (size - 2u < segments)
        segments = size - 2u;
    segment_bytes_ = geometry_.size_max < max_transfer ? geometry_.size_max : max_transfer;
    blk::Geometry limits = geometry_;
    limits.seg_max = segments;
    limits.size_max = segment_bytes_;
    max_piece_ = blk::max_request_bytes(limits, max_transfer);
    merge_segments_ = kMaxMergeSegments;
    if (geometry_.seg_max < merge_segments_)
        merge_segments_ = geometry_.seg_max;
    if (size - 2u < merge_segments_)
        merge_segments_ = size - 2u;
    return nullptr;
}

int32_t BlockDevice::free_record() const {
    for (uint32_t r = 0; r < queue_.size(); ++r) {
        if (!busy_[r])
            return static_cast<int32_t>(r);
    }
    return -1;
}

uint32_t BlockDevice::cut(uint64_t at, uint32_t bytes, bool device_writes,
                          vio::Segment* out) const {
    uint32_t n = 0;
    for (uint32_t done = 0; done < bytes;) {
        const uint32_t k = bytes - done < segment_bytes_ ? bytes - done : segment_bytes_;
        out[n++] = {at + done, k, device_writes};
        done += k;
    }
    return n;
}

bool BlockDevice::add(uint32_t r, uint32_t type, uint64_t sector, const vio::Segment* data,
                      uint32_t n) {
    auto* header = reinterpret_cast<blk::RequestHeader*>(meta_ + header_at_) + r;
    header->type = type;
    header->reserved = 0;
    header->sector = sector;
    meta_[status_at_ + r] = 0xff;  // not written by the device yet
    vio::Segment segs[kMaxMergeSegments + 2];
    if (n > kMaxMergeSegments)
        return false;
    uint32_t count = 0;
    segs[count++] = {meta_device_ + header_at_ + r * sizeof(blk::RequestHeader),
                     sizeof(blk::RequestHeader), false};
    for (uint32_t i = 0; i < n; ++i)
        segs[count++] = data[i];
    segs[count++] = {meta_device_ + status_at_ + r, 1, true};
    if (!queue_.add(segs, count, r))
        return false;
    busy_[r] = true;
    return true;
}

vio::SplitQueue::Reaped BlockDevice::reap(vio::Completion* out) {
    const auto r = queue_.reap(out);
    if (r == vio::SplitQueue::Reaped::kCompletion)
        busy_[out->token] = false;
    return r;
}

void BlockDevice::kick() {
    if (queue_.publish() > 0 && queue_.notify_wanted())
        *notify_ = 0;  // queue 0
}

}  // namespace keel::drivers::virtio_blk
