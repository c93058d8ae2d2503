#include <keel/bytes/le.hpp>
#include <keel/remote/wire.hpp>

namespace keel::remote {
namespace {

using bytes::le16;
using bytes::le32;
using bytes::le64;

constexpr uint32_t kSpawnFixed = 12;
constexpr uint32_t kEntryFixed = 5;
constexpr uint32_t kHelloSize = 8, kStartedSize = 8, kExitSize = 32, kCancelSize = 4;
// The largest error number a Done may carry: abi::Error's numbers are small; this leaves room
// for new ones without letting a peer pass an arbitrary word as a status.
constexpr uint32_t kMaxStatus = 255;
// The result of an operation: at most 2^63 - 1 (docs/syscalls.md: a larger Ok value would read
// as an error code).
constexpr uint64_t kMaxValue = ~uint64_t{0} >> 1;

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
}
void put32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void copy(uint8_t* dst, const void* src, size_t n) {
    const auto* s = static_cast<const uint8_t*>(src);
    for (size_t i = 0; i < n; ++i)
        dst[i] = s[i];
}

bool printable_name(const char* p, uint32_t n, bool slash_ok) {
    if (n == 0 || n > kMaxName)
        return false;
    for (uint32_t i = 0; i < n; ++i) {
        const auto c = static_cast<uint8_t>(p[i]);
        if (c < 0x21 || c > 0x7e || (!slash_ok && c == '/'))
            return false;
    }
    return true;
}

bool same(const char* a, uint32_t an, const char* b, uint32_t bn) {
    if (an != bn)
        return false;
    for (uint32_t i = 0; i < an; ++i) {
        if (a[i] != b[i])
            return false;
    }
    return true;
}

// The payload length a message of this type and contents has, or 0 with *why for one that
// breaks a rule. Shared by encode (before writing) and decode (after reading the fields), so
// the two cannot disagree.
uint32_t check(const Message& m, const char** why) {
    auto bad = [why](const char* reason) {
        *why = reason;
        return 0u;
    };
    if (m.type != Type::kHello && m.job == 0)
        return bad("job 0");
    if (m.type == Type::kHello && m.job != 0)
        return bad("a hello names no job");
    const bool has_object = m.type == Type::kOp || m.type == Type::kDone;
    if (has_object != (m.object != 0))
        return bad(has_object ? "object 0" : "an object id where none belongs");
    switch (m.type) {
        case Type::kHello:
            if (m.version == 0)
                return bad("version 0");
            if (m.max_data < 512 || m.max_data > kMaxData)
                return bad("max_data out of 512..32768");
            return kHelloSize;
        case Type::kSpawn: {
            if (m.image_length == 0 || m.image_length > kMaxImage)
                return bad("image length out of 1..16 MiB");
            if (!printable_name(m.name, m.name_length, true))
                return bad("program name not 1..32 printable bytes");
            if (m.args_length > kMaxArgs)
                return bad("arguments over 1024 bytes");
            if (m.entry_count > kMaxEntries)
                return bad("more than 8 root entries");
            uint32_t size = kSpawnFixed + m.name_length + m.args_length;
            for (uint32_t i = 0; i < m.entry_count; ++i) {
                const Entry& e = m.entries[i];
                if (e.object == 0)
                    return bad("root entry with object 0");
                if (!printable_name(e.name, e.name_length, false))
                    return bad("root entry name not 1..32 printable bytes without '/'");
                for (uint32_t j = 0; j < i; ++j) {
                    if (m.entries[j].object == e.object)
                        return bad("two root entries with one object id");
                    if (same(m.entries[j].name, m.entries[j].name_length, e.name, e.name_length))
                        return bad("two root entries with one name");
                }
                size += kEntryFixed + e.name_length;
            }
            return size;
        }
        case Type::kImage:
            if (m.data_length == 0 || m.data_length > kMaxData)
                return bad("image chunk out of 1..32768 bytes");
            return m.data_length;
        case Type::kStarted:
            if (m.started < -static_cast<int64_t>(kMaxStatus) || m.started == 0)
                return bad("started: neither a process id nor an error");
            return kStartedSize;
        case Type::kOp:
            if (!op_allowed(m.op))
                return bad("operation not forwarded");
            if (m.out_capacity > kMaxData || m.data_length > kMaxData)
                return bad("operation over 32768 bytes");
            if ((m.data_length != 0 && op_flow(m.op) != Flow::kIn) ||
                (m.out_capacity != 0 && op_flow(m.op) != Flow::kOut))
                return bad("operation's bytes the wrong way");
            return kOpFixed + m.data_length;
        case Type::kDone:
            if (m.status > kMaxStatus)
                return bad("status out of range");
            if (m.status != 0 && (m.value != 0 || m.new_object != 0 || m.data_length != 0))
                return bad("a failed operation with a value, an object or data");
            if (m.value > kMaxValue)
                return bad("value of 2^63 or more");
            if (m.data_length > kMaxData)
                return bad("completion over 32768 bytes");
            return kDoneFixed + m.data_length;
        case Type::kExit:
            if (m.exit_reason != 1 && m.exit_reason != 2)
                return bad("exit reason neither 1 (exited) nor 2 (fault)");
            if (m.exit_vector > 255)
                return bad("exit vector over 255");
            return kExitSize;
        case Type::kHeartbeat:
            return 0;
        case Type::kCancel:
            return kCancelSize;
    }
    return bad("unknown type");
}

}  // namespace

bool op_allowed(uint8_t op) {
    // read 0, peek 1, write 2, get_meta 3, set_meta 4, open 5, destroy 7, seek 8, close 10,
    // sync 12, read_at 13.
    return op <= 13 && op != 6 && op != 9 && op != 11;
}

Flow op_flow(uint8_t op) {
    switch (op) {
        case 0:   // read
        case 1:   // peek
        case 3:   // get_meta
        case 13:  // read_at
            return Flow::kOut;
        case 2:  // write
        case 4:  // set_meta
        case 5:  // open: the name
        case 7:  // destroy: the name
            return Flow::kIn;
        default:
            return Flow::kNone;
    }
}

size_t encode(const Message& m, uint8_t* out, size_t cap) {
    const char* why = nullptr;
    const uint32_t length = check(m, &why);
    if (why != nullptr || cap < kHeaderSize || cap - kHeaderSize < length)
        return 0;
    put16(out, kMagic);
    out[2] = static_cast<uint8_t>(m.type);
    out[3] = 0;
    put32(out + 4, m.job);
    put32(out + 8, m.object);
    put32(out + 12, length);
    uint8_t* p = out + kHeaderSize;
    switch (m.type) {
        case Type::kHello:
            put32(p, m.version);
            put32(p + 4, m.max_data);
            break;
        case Type::kSpawn:
            put32(p, m.image_length);
            put16(p + 4, static_cast<uint16_t>(m.name_length));
            put16(p + 6, static_cast<uint16_t>(m.args_length));
            put32(p + 8, m.entry_count);
            p += kSpawnFixed;
            copy(p, m.name, m.name_length);
            p += m.name_length;
            copy(p, m.args, m.args_length);
            p += m.args_length;
            for (uint32_t i = 0; i < m.entry_count; ++i) {
                put32(p, m.entries[i].object);
                p[4] = m.entries[i].name_length;
                copy(p + kEntryFixed, m.entries[i].name, m.entries[i].name_length);
                p += kEntryFixed + m.entries[i].name_length;
            }
            break;
        case Type::kImage:
            copy(p, m.data, m.data_length);
            break;
        case Type::kStarted:
            put64(p, static_cast<uint64_t>(m.started));
            break;
        case Type::kOp:
            put32(p, m.tag);
            p[4] = m.op;
            p[5] = p[6] = p[7] = 0;
            put64(p + 8, m.arg);
            put32(p + 16, m.out_capacity);
            copy(p + kOpFixed, m.data, m.data_length);
            break;
        case Type::kDone:
            put32(p, m.tag);
            put32(p + 4, m.status);
            put64(p + 8, m.value);
            put32(p + 16, m.new_object);
            copy(p + kDoneFixed, m.data, m.data_length);
            break;
        case Type::kExit:
            put32(p, m.exit_reason);
            put32(p + 4, m.exit_vector);
            put64(p + 8, static_cast<uint64_t>(m.exit_status));
            put64(p + 16, m.exit_address);
            put64(p + 24, m.exit_cr2);
            break;
        case Type::kHeartbeat:
            break;
        case Type::kCancel:
            put32(p, m.tag);
            break;
    }
    return kHeaderSize + length;
}

DecodeResult decode(const uint8_t* data, size_t size, Message* out) {
    auto bad = [](const char* why) { return DecodeResult{Decoded::kBad, 0, why}; };
    // What the header's bytes so far already rule out, before waiting for the rest.
    if (size >= 1 && data[0] != (kMagic & 0xff))
        return bad("bad magic");
    if (size >= 2 && le16(data) != kMagic)
        return bad("bad magic");
    if (size >= 3 && (data[2] == 0 || data[2] >= kTypeCount))
        return bad("unknown type");
    if (size >= 4 && data[3] != 0)
        return bad("reserved header byte not 0");
    if (size < kHeaderSize)
        return DecodeResult{Decoded::kNeedMore, 0, nullptr};
    const uint32_t length = le32(data + 12);
    if (length > kMaxPayload)
        return bad("payload over the limit");
    if (size - kHeaderSize < length)
        return DecodeResult{Decoded::kNeedMore, 0, nullptr};

    Message m{};
    m.type = static_cast<Type>(data[2]);
    m.job = le32(data + 4);
    m.object = le32(data + 8);
    const uint8_t* p = data + kHeaderSize;
    // Read the fields the length allows; check() then decides whether they and the length
    // agree (a short payload reads as far as it goes and fails the length comparison).
    auto has = [length](uint32_t n) { return length >= n; };
    switch (m.type) {
        case Type::kHello:
            if (!has(kHelloSize))
                return bad("short hello");
            m.version = le32(p);
            m.max_data = le32(p + 4);
            break;
        case Type::kSpawn: {
            if (!has(kSpawnFixed))
                return bad("short spawn");
            m.image_length = le32(p);
            m.name_length = le16(p + 4);
            m.args_length = le16(p + 6);
            m.entry_count = le32(p + 8);
            if (m.entry_count > kMaxEntries)
                return bad("more than 8 root entries");
            uint32_t at = kSpawnFixed;
            if (length - at < m.name_length)
                return bad("spawn name past the payload");
            m.name = reinterpret_cast<const char*>(p + at);
            at += m.name_length;
            if (length - at < m.args_length)
                return bad("spawn arguments past the payload");
            m.args = reinterpret_cast<const char*>(p + at);
            at += m.args_length;
            for (uint32_t i = 0; i < m.entry_count; ++i) {
                if (length - at < kEntryFixed)
                    return bad("root entry past the payload");
                m.entries[i].object = le32(p + at);
                m.entries[i].name_length = p[at + 4];
                at += kEntryFixed;
                if (length - at < m.entries[i].name_length)
                    return bad("root entry name past the payload");
                m.entries[i].name = reinterpret_cast<const char*>(p + at);
                at += m.entries[i].name_length;
            }
            break;
        }
        case Type::kImage:
            m.data = p;
            m.data_length = length;
            break;
        case Type::kStarted:
            if (!has(kStartedSize))
                return bad("short started");
            m.started = static_cast<int64_t>(le64(p));
            break;
        case Type::kOp:
            if (!has(kOpFixed))
                return bad("short operation");
            if (p[5] != 0 || p[6] != 0 || p[7] != 0)
                return bad("reserved operation bytes not 0");
            m.tag = le32(p);
            m.op = p[4];
            m.arg = le64(p + 8);
            m.out_capacity = le32(p + 16);
            m.data = p + kOpFixed;
            m.data_length = length - kOpFixed;
            break;
        case Type::kDone:
            if (!has(kDoneFixed))
                return bad("short completion");
            m.tag = le32(p);
            m.status = le32(p + 4);
            m.value = le64(p + 8);
            m.new_object = le32(p + 16);
            m.data = p + kDoneFixed;
            m.data_length = length - kDoneFixed;
            break;
        case Type::kExit:
            if (!has(kExitSize))
                return bad("short exit");
            m.exit_reason = le32(p);
            m.exit_vector = le32(p + 4);
            m.exit_status = static_cast<int64_t>(le64(p + 8));
            m.exit_address = le64(p + 16);
            m.exit_cr2 = le64(p + 24);
            break;
        case Type::kHeartbeat:
            break;
        case Type::kCancel:
            if (!has(kCancelSize))
                return bad("short cancel");
            m.tag = le32(p);
            break;
    }
    const char* why = nullptr;
    const uint32_t expected = check(m, &why);
    if (why != nullptr)
        return bad(why);
    if (expected != length)
        return bad("payload length does not match its contents");
    *out = m;
    return DecodeResult{Decoded::kMessage, kHeaderSize + length, nullptr};
}

void Reader::compact() {
    if (taken_ == 0)
        return;
    for (size_t i = taken_; i < used_; ++i)
        buffer_[i - taken_] = buffer_[i];
    used_ -= taken_;
    taken_ = 0;
}

uint8_t* Reader::space() {
    compact();
    return buffer_ + used_;
}

void Reader::produced(size_t n) {
    // The caller received at most room() bytes after space(); more is a bug of its own.
    used_ = n > sizeof buffer_ - used_ ? sizeof buffer_ : used_ + n;
}

DecodeResult Reader::next(Message* out) {
    compact();
    const DecodeResult r = decode(buffer_, used_, out);
    if (r.status == Decoded::kMessage)
        taken_ = r.consumed;
    return r;
}

}  // namespace keel::remote
