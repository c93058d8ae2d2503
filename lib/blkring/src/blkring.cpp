// The shared-memory block ring's checks (blkring.hpp).
#include <keel/blkring/blkring.hpp>

namespace keel::blkring {

Window window(uint32_t sq_head, uint32_t sq_tail, uint32_t cq_tail, uint32_t cq_head,
              uint32_t in_flight) {
    const uint32_t pending = sq_tail - sq_head;  // wraps: a tail behind the head is huge
    if (pending > kEntries)
        return {0, Fault::kSubmissions};
    const uint32_t unread = cq_tail - cq_head;
    if (unread > kEntries)
        return {0, Fault::kCompletions};
    // in_flight is the driver's own count (at most kEntries by this very rule).
    const uint32_t used = unread + in_flight;
    const uint32_t room = used >= kEntries ? 0 : kEntries - used;
    return {pending < room ? pending : room, Fault::kNone};
}

Verdict check(const Request& r, const Disk& disk) {
    if ((r.op != kRead && r.op != kWrite) || r.reserved != 0)
        return Verdict::kBadOp;
    if (r.buffer >= kBuffers)
        return Verdict::kBadBuffer;
    if (disk.block_size == 0 || r.length == 0 || r.length > kBufferBytes ||
        r.length > disk.max_length || r.length % disk.block_size != 0 ||
        r.offset % disk.block_size != 0)
        return Verdict::kBadLength;
    if (r.offset > disk.capacity || r.length > disk.capacity - r.offset)
        return Verdict::kOutOfRange;
    if (r.op == kWrite && disk.read_only)
        return Verdict::kReadOnly;
    return Verdict::kOk;
}

void DriverRing::attach(Header* h) {
    h_ = h;
    sq_head_ = cq_tail_ = in_flight_ = 0;
    fault_ = Fault::kNone;
    h->entries = kEntries;
    h->buffers = kBuffers;
    h->buffer_bytes = kBufferBytes;
    h->sq_tail = h->sq_head = h->cq_tail = h->cq_head = h->driver_idle = h->fault = 0;
    store(&h->magic, kMagic);
}

Request DriverRing::read_entry(uint32_t index) const {
    // Field by field through volatile: one read each, whatever the client writes meanwhile.
    const volatile Request& e = h_->sq[index];
    Request r;
    r.offset = e.offset;
    r.length = e.length;
    r.buffer = e.buffer;
    r.op = e.op;
    r.reserved = e.reserved;
    r.tag = e.tag;
    return r;
}

void DriverRing::complete(uint64_t tag, int64_t result) {
    volatile Completion& c = h_->cq[cq_tail_ % kEntries];
    c.tag = tag;
    c.result = result;
    ++cq_tail_;
    if (in_flight_ > 0)
        --in_flight_;
    store(&h_->cq_tail, cq_tail_);
}

}  // namespace keel::blkring
