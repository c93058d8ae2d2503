#include <keel/net/ipv4.hpp>
#include <keel/net/wire.hpp>

namespace keel::net {

Ipv4Parse parse_ipv4(const uint8_t* data, size_t size, Ipv4Packet* out) {
    if (size < kIpv4Header || data[0] >> 4 != 4)
        return Ipv4Parse::kMalformed;
    const size_t header = (data[0] & 0xfu) * 4u;
    const size_t total = get16(data + 2);
    // The link may pad a short frame, so total may be below size, never above it.
    if (header < kIpv4Header || header > size || total < header || total > size)
        return Ipv4Parse::kMalformed;
    if (checksum_fold(checksum_add(0, data, header)) != 0)
        return Ipv4Parse::kBadChecksum;
    const uint16_t flags = get16(data + 6);
    if (flags & 0x8000u)  // the reserved bit must be zero (RFC 791)
        return Ipv4Parse::kMalformed;
    const size_t offset = (flags & 0x1fffu) * 8u;
    if (offset + (total - header) > kIpv4MaxDatagram)
        return Ipv4Parse::kMalformed;
    out->header_size = static_cast<uint8_t>(header);
    out->ttl = data[8];
    out->protocol = data[9];
    out->more_fragments = (flags & 0x2000u) != 0;
    out->identification = get16(data + 4);
    out->fragment_offset = static_cast<uint16_t>(offset);
    out->source = get32(data + 12);
    out->destination = get32(data + 16);
    out->payload = data + header;
    out->size = total - header;
    return Ipv4Parse::kOk;
}

void write_ipv4_header(uint8_t* out, Ip4 source, Ip4 destination, uint8_t protocol,
                       uint16_t identification, size_t payload_size) {
    out[0] = 0x45;
    out[1] = 0;
    put16(out + 2, static_cast<uint16_t>(kIpv4Header + payload_size));
    put16(out + 4, identification);
    put16(out + 6, 0);
    out[8] = kIpv4Ttl;
    out[9] = protocol;
    put16(out + 10, 0);
    put32(out + 12, source);
    put32(out + 16, destination);
    put16(out + 10, checksum_fold(checksum_add(0, out, kIpv4Header)));
}

// ---- reassembly ------------------------------------------------------------------------------

struct Reassembly::Slot {
    bool used;
    bool has_end;  // the last fragment (MF clear) arrived: total is known
    uint8_t protocol;
    uint16_t identification;
    Ip4 source, destination;
    Time started;
    uint32_t total;
    uint32_t high;  // the end of the furthest fragment held
    uint32_t fragments;
};

namespace {

constexpr size_t align16(size_t n) {
    return (n + 15) & ~static_cast<size_t>(15);
}
constexpr size_t bitmap_bytes(uint32_t capacity) {
    return (capacity / 8 + 7) / 8;
}

}  // namespace

size_t Reassembly::storage_size(uint32_t slots, uint32_t capacity) {
    return slots * (align16(sizeof(Slot)) + align16(bitmap_bytes(capacity)) + capacity);
}

void Reassembly::init(uint32_t slots, uint32_t capacity, void* storage) {
    storage_ = static_cast<uint8_t*>(storage);
    slots_ = slots;
    capacity_ = capacity;
    slot_size_ = align16(sizeof(Slot)) + align16(bitmap_bytes(capacity)) + capacity;
    for (uint32_t i = 0; i < slots_; ++i)
        slot(i)->used = false;
}

Reassembly::Slot* Reassembly::slot(uint32_t i) const {
    return reinterpret_cast<Slot*>(storage_ + i * slot_size_);
}

void Reassembly::release(Slot* s) {
    s->used = false;
}

Reassembly::Result Reassembly::add(const Ipv4Packet& f, Time now) {
    Slot* s = nullptr;
    Slot* free_slot = nullptr;
    for (uint32_t i = 0; i < slots_; ++i) {
        Slot* c = slot(i);
        if (!c->used) {
            if (free_slot == nullptr)
                free_slot = c;
        } else if (c->source == f.source && c->destination == f.destination &&
                   c->protocol == f.protocol && c->identification == f.identification) {
            s = c;
            break;
        }
    }
    if (s == nullptr) {
        if (free_slot == nullptr)
            return {Result::kDropped, nullptr, 0, 1};
        s = free_slot;
        uint8_t* bits = reinterpret_cast<uint8_t*>(s) + align16(sizeof(Slot));
        __builtin_memset(bits, 0, bitmap_bytes(capacity_));
        *s = Slot{true, false, f.protocol, f.identification, f.source, f.destination, now, 0, 0, 0};
    }
    uint8_t* bits = reinterpret_cast<uint8_t*>(s) + align16(sizeof(Slot));
    uint8_t* data = bits + align16(bitmap_bytes(capacity_));
    const uint32_t begin = f.fragment_offset;
    const uint32_t end = begin + static_cast<uint32_t>(f.size);
    auto drop = [&]() -> Result {
        const uint32_t n = s->fragments + 1;
        release(s);
        return {Result::kDropped, nullptr, 0, n};
    };
    // Every fragment but the last carries whole 8-byte blocks (RFC 791's offset unit).
    if (f.more_fragments && (f.size == 0 || f.size % 8 != 0))
        return drop();
    if (end > capacity_)
        return drop();
    if (f.more_fragments ? (s->has_end && end > s->total)
                         : ((s->has_end && s->total != end) || s->high > end))
        return drop();
    // Bytes already held must match: a duplicate is harmless, a contradiction is not.
    for (uint32_t b = begin / 8; b * 8 < end; ++b) {
        if (!(bits[b / 8] & (1u << (b % 8))))
            continue;
        uint32_t stop = b * 8 + 8 < end ? b * 8 + 8 : end;
        if (s->has_end && stop > s->total)
            stop = s->total;
        for (uint32_t i = b * 8 < begin ? begin : b * 8; i < stop; ++i)
            if (data[i] != f.payload[i - begin])
                return drop();
    }
    if (f.size != 0)
        __builtin_memcpy(data + begin, f.payload, f.size);
    for (uint32_t b = begin / 8; b * 8 < end; ++b)
        bits[b / 8] = static_cast<uint8_t>(bits[b / 8] | 1u << (b % 8));
    if (!f.more_fragments) {
        s->has_end = true;
        s->total = end;
    }
    if (end > s->high)
        s->high = end;
    ++s->fragments;
    if (!s->has_end)
        return {Result::kHeld, nullptr, 0, 0};
    for (uint32_t b = 0; b * 8 < s->total; ++b)
        if (!(bits[b / 8] & (1u << (b % 8))))
            return {Result::kHeld, nullptr, 0, 0};
    release(s);  // the data stays readable until the slot is taken again
    return {Result::kComplete, data, s->total, 0};
}

uint32_t Reassembly::expire(Time now) {
    uint32_t dropped = 0;
    for (uint32_t i = 0; i < slots_; ++i) {
        Slot* s = slot(i);
        if (s->used && now >= s->started + kReassemblyTimeout) {
            dropped += s->fragments;
            release(s);
        }
    }
    return dropped;
}

Time Reassembly::deadline() const {
    Time d = kNever;
    for (uint32_t i = 0; i < slots_; ++i) {
        const Slot* s = slot(i);
        if (s->used && s->started + kReassemblyTimeout < d)
            d = s->started + kReassemblyTimeout;
    }
    return d;
}

uint32_t Reassembly::slots_in_use() const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < slots_; ++i)
        n += slot(i)->used ? 1 : 0;
    return n;
}

}  // namespace keel::net
