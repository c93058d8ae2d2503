// Frame batches (frame_batch.hpp).
#include <keel/net/frame_batch.hpp>

namespace keel::net {

namespace {

uint16_t get_le16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] | p[1] << 8);
}
void put_le16(uint8_t* p, size_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
}

}  // namespace

uint8_t* batch_reserve(uint8_t* out, size_t room, size_t used, size_t length) {
    if (length > 0xffff || used > room || room - used < kBatchRecordHeader + length)
        return nullptr;
    return out + used + kBatchRecordHeader;
}

void batch_commit(uint8_t* out, size_t* used, size_t length) {
    put_le16(out + *used, length);
    *used += kBatchRecordHeader + length;
}

bool batch_put(uint8_t* out, size_t room, size_t* used, const uint8_t* frame, size_t length) {
    uint8_t* at = batch_reserve(out, room, *used, length);
    if (at == nullptr)
        return false;
    __builtin_memcpy(at, frame, length);
    batch_commit(out, used, length);
    return true;
}

bool batch_next(const uint8_t* data, size_t size, size_t* offset, const uint8_t** frame,
                size_t* length) {
    const size_t at = *offset;
    if (at > size || size - at < kBatchRecordHeader)
        return false;
    const size_t n = get_le16(data + at);
    if (size - at - kBatchRecordHeader < n)
        return false;
    *frame = data + at + kBatchRecordHeader;
    *length = n;
    *offset = at + kBatchRecordHeader + n;
    return true;
}

int64_t batch_check(const uint8_t* data, size_t size, size_t min_frame, size_t max_frame) {
    int64_t frames = 0;
    size_t offset = 0;
    const uint8_t* frame = nullptr;
    size_t length = 0;
    while (batch_next(data, size, &offset, &frame, &length)) {
        if (length < min_frame || length > max_frame)
            return -1;
        ++frames;
    }
    return offset == size ? frames : -1;  // bytes left over: a record cut short
}

}  // namespace keel::net
