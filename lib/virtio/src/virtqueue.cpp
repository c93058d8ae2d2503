#include <keel/virtio/virtqueue.hpp>

namespace keel::virtio {

namespace {

bool aligned(const void* p, size_t a) {
    return p != nullptr && reinterpret_cast<uintptr_t>(p) % a == 0;
}

void zero(void* p, size_t n) {
    auto* b = static_cast<volatile uint8_t*>(p);
    for (size_t i = 0; i < n; ++i)
        b[i] = 0;
}

}  // namespace

const char* fault_text(Fault f) {
    switch (f) {
        case Fault::kNone:
            return "no fault";
        case Fault::kIndexJump:
            return "used index moved past the chains in flight";
        case Fault::kIdOutOfRange:
            return "used id outside the queue";
        case Fault::kNotInFlight:
            return "used id is not a chain in flight";
        case Fault::kLengthTooLarge:
            return "used length larger than the chain's writable bytes";
    }
    return "unknown fault";
}

bool SplitQueue::init(uint16_t size, void* descriptors, void* available, void* used) {
    size_ = 0;
    if (size == 0 || size > kMaxQueueSize || (size & (size - 1)) != 0 ||
        !aligned(descriptors, kDescriptorAlign) || !aligned(available, kAvailableAlign) ||
        !aligned(used, kUsedAlign)) {
        return false;
    }
    zero(descriptors, descriptor_table_size(size));
    zero(available, available_ring_size(size));
    zero(used, used_ring_size(size));
    descriptors_ = static_cast<volatile Descriptor*>(descriptors);
    available_ = static_cast<volatile uint16_t*>(available);
    used_ = static_cast<volatile uint16_t*>(used);
    size_ = size;
    for (uint16_t i = 0; i < size; ++i) {
        next_[i] = static_cast<uint16_t>(i + 1);
        chain_[i] = 0;
        writable_[i] = 0;
        token_[i] = 0;
        state_[i] = kFree;
    }
    free_head_ = 0;
    free_count_ = size;
    in_flight_ = published_ = next_avail_ = shown_avail_ = last_used_ = 0;
    fault_ = Fault::kNone;
    return true;
}

bool SplitQueue::add(const Segment* segments, uint32_t count, uint64_t token, uint16_t* head) {
    if (broken() || size_ == 0 || count == 0 || count > free_count_)
        return false;
    uint64_t writable = 0;
    bool writing = false;
    for (uint32_t i = 0; i < count; ++i) {
        if (segments[i].length == 0 || (writing && !segments[i].device_writes))
            return false;
        writing = segments[i].device_writes;
        if (writing)
            writable += segments[i].length;
    }
    if (writable > UINT32_MAX)
        return false;
    // Commit: take count descriptors off the free list, in order, and write them.
    const uint16_t first = free_head_;
    uint16_t d = first;
    for (uint32_t i = 0; i < count; ++i) {
        const uint16_t after = next_[d];
        const bool last = i + 1 == count;
        descriptors_[d].address = segments[i].address;
        descriptors_[d].length = segments[i].length;
        descriptors_[d].flags = static_cast<uint16_t>((segments[i].device_writes ? kDescWrite : 0) |
                                                      (last ? 0 : kDescNext));
        descriptors_[d].next = last ? 0 : after;
        if (!last)
            d = after;
        else
            free_head_ = after;
    }
    free_count_ = static_cast<uint16_t>(free_count_ - count);
    chain_[first] = static_cast<uint16_t>(count);
    writable_[first] = static_cast<uint32_t>(writable);
    token_[first] = token;
    state_[first] = kAdded;
    available_[2 + (next_avail_ & (size_ - 1))] = first;
    added_[next_avail_ & (size_ - 1)] = first;
    ++next_avail_;
    ++in_flight_;
    if (head != nullptr)
        *head = first;
    return true;
}

uint16_t SplitQueue::publish() {
    const auto n = static_cast<uint16_t>(next_avail_ - shown_avail_);
    if (n == 0 || broken())
        return 0;
    // The heads now published (from the private copy: the device may have scribbled over the
    // ring), then the index with release order: the
    // descriptors and ring entries are visible to the device before it sees the index.
    for (uint16_t i = 0; i < n; ++i)
        state_[added_[(shown_avail_ + i) & (size_ - 1)]] = kPublished;
    __atomic_store_n(const_cast<uint16_t*>(&available_[1]), next_avail_, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  // the index before any later notify or read
    shown_avail_ = next_avail_;
    published_ = static_cast<uint16_t>(published_ + n);
    return n;
}

SplitQueue::Reaped SplitQueue::reap(Completion* out) {
    if (broken())
        return Reaped::kFault;
    if (size_ == 0)
        return Reaped::kNothing;
    const uint16_t index = __atomic_load_n(const_cast<uint16_t*>(&used_[1]), __ATOMIC_ACQUIRE);
    const auto ready = static_cast<uint16_t>(index - last_used_);
    if (ready == 0)
        return Reaped::kNothing;
    if (ready > published_) {
        fault_ = Fault::kIndexJump;
        return Reaped::kFault;
    }
    // Each field read once, into locals, then judged.
    const auto* ring = reinterpret_cast<const volatile UsedElement*>(used_ + 2);
    const uint32_t slot = last_used_ & (size_ - 1);
    const uint32_t id = ring[slot].id;
    const uint32_t length = ring[slot].length;
    if (id >= size_) {
        fault_ = Fault::kIdOutOfRange;
        return Reaped::kFault;
    }
    if (state_[id] != kPublished) {
        fault_ = Fault::kNotInFlight;
        return Reaped::kFault;
    }
    if (length > writable_[id]) {
        fault_ = Fault::kLengthTooLarge;
        return Reaped::kFault;
    }
    // Commit: the chain's descriptors back on the free list (the private links, never the
    // shared table's).
    *out = Completion{token_[id], length, static_cast<uint16_t>(id)};
    uint16_t last = static_cast<uint16_t>(id);
    for (uint16_t i = 1; i < chain_[id]; ++i)
        last = next_[last];
    next_[last] = free_head_;
    free_head_ = static_cast<uint16_t>(id);
    free_count_ = static_cast<uint16_t>(free_count_ + chain_[id]);
    state_[id] = kFree;
    chain_[id] = 0;
    --in_flight_;
    --published_;
    ++last_used_;
    return Reaped::kCompletion;
}

bool SplitQueue::notify_wanted() const {
    if (size_ == 0 || broken())
        return false;
    return (__atomic_load_n(const_cast<uint16_t*>(&used_[0]), __ATOMIC_ACQUIRE) & kUsedNoNotify) ==
           0;
}

void SplitQueue::set_interrupts(bool on) {
    if (size_ != 0)
        available_[0] = on ? 0 : kAvailNoInterrupt;
}

}  // namespace keel::virtio
