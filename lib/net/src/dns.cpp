#include <keel/net/dns.hpp>
#include <keel/net/error.hpp>
#include <keel/net/wire.hpp>

namespace keel::net {

namespace {

constexpr uint16_t kTypeA = 1, kTypeCname = 5, kClassIn = 1;
constexpr uint8_t kRcodeNxDomain = 3;

bool name_byte(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

uint8_t lower(uint8_t c) {
    return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + ('a' - 'A')) : c;
}

// Names compare without regard to ASCII case (RFC 1035 section 2.3.3).
bool same_name(const char* a, size_t a_size, const char* b, size_t b_size) {
    if (a_size != b_size)
        return false;
    for (size_t i = 0; i < a_size; ++i)
        if (lower(static_cast<uint8_t>(a[i])) != lower(static_cast<uint8_t>(b[i])))
            return false;
    return true;
}

struct Record {
    char owner[kDnsMaxText + 1];
    size_t owner_size;
    uint16_t type, klass;
    size_t rdata, rdlength;  // offset and length inside the message
};

// Reads one resource record at *offset: false if it does not fit in the message.
bool read_record(const uint8_t* m, size_t size, size_t* offset, Record* r) {
    if (!dns_decode_name(m, size, *offset, r->owner, &r->owner_size, offset))
        return false;
    if (size - *offset < 10)
        return false;
    r->type = get16(m + *offset);
    r->klass = get16(m + *offset + 2);
    r->rdlength = get16(m + *offset + 8);
    r->rdata = *offset + 10;
    if (r->rdlength > size - r->rdata)
        return false;
    *offset = r->rdata + r->rdlength;
    return true;
}

}  // namespace

size_t dns_encode_name(const char* name, size_t size, uint8_t* out) {
    if (size != 0 && name[size - 1] == '.')
        --size;  // the root's dot is implied
    if (size == 0 || size > kDnsMaxText)
        return 0;
    size_t o = 0;
    size_t label = 0;  // where the current label's length byte goes
    out[o++] = 0;
    for (size_t i = 0; i < size; ++i) {
        const uint8_t c = static_cast<uint8_t>(name[i]);
        if (c == '.') {
            if (o - label - 1 == 0)
                return 0;  // an empty label
            out[label] = static_cast<uint8_t>(o - label - 1);
            label = o;
            out[o++] = 0;
            continue;
        }
        if (!name_byte(c) || o - label - 1 == 63)
            return 0;
        out[o++] = c;
    }
    if (o - label - 1 == 0)
        return 0;
    out[label] = static_cast<uint8_t>(o - label - 1);
    out[o++] = 0;
    return o;  // at most 253 + 2: size bounds it
}

bool dns_decode_name(const uint8_t* message, size_t size, size_t offset, char* out,
                     size_t* text_size, size_t* next) {
    size_t pos = offset;
    size_t text = 0;
    size_t wire = 1;  // the root label
    uint32_t jumps = 0;
    bool jumped = false;
    for (;;) {
        if (pos >= size)
            return false;
        const uint8_t length = message[pos];
        if ((length & 0xc0) == 0xc0) {
            if (size - pos < 2)
                return false;
            const size_t target = static_cast<size_t>(length & 0x3f) << 8 | message[pos + 1];
            // Only backwards, and only so often: no loop can last.
            if (target >= pos || ++jumps > kDnsMaxJumps)
                return false;
            if (!jumped)
                *next = pos + 2;
            jumped = true;
            pos = target;
            continue;
        }
        if (length & 0xc0)
            return false;  // 0x40 and 0x80 are reserved label types
        if (length == 0) {
            if (!jumped)
                *next = pos + 1;
            break;
        }
        if (length > size - pos - 1)
            return false;
        wire += 1u + length;
        if (wire > kDnsMaxName)
            return false;
        if (text != 0)
            out[text++] = '.';
        for (size_t i = 0; i < length; ++i) {
            const uint8_t c = message[pos + 1 + i];
            // Printable and no dot: a dot inside a label would make two names read alike.
            if (c <= 0x20 || c >= 0x7f || c == '.')
                return false;
            out[text++] = static_cast<char>(c);
        }
        pos += 1u + length;
    }
    out[text] = 0;
    *text_size = text;
    return true;
}

size_t dns_write_query(uint8_t* out, uint16_t id, const uint8_t* qname, size_t qname_size) {
    put16(out, id);
    put16(out + 2, 0x0100);  // a standard query, recursion desired
    put16(out + 4, 1);
    put16(out + 6, 0);
    put16(out + 8, 0);
    put16(out + 10, 0);
    __builtin_memcpy(out + kDnsHeader, qname, qname_size);
    put16(out + kDnsHeader + qname_size, kTypeA);
    put16(out + kDnsHeader + qname_size + 2, kClassIn);
    return kDnsHeader + qname_size + 4;
}

int64_t dns_parse_answer(const uint8_t* message, size_t size, uint16_t id, const uint8_t* qname,
                         size_t qname_size, Ip4* address) {
    if (size < kDnsHeader || get16(message) != id)
        return fail(Error::kMalformed);
    const uint16_t flags = get16(message + 2);
    // A response (QR) to a standard query (opcode 0) that echoes our one question.
    if (!(flags & 0x8000) || (flags & 0x7800) || get16(message + 4) != 1)
        return fail(Error::kMalformed);
    char asked[kDnsMaxText + 1];
    size_t asked_size = 0, ignored = 0;
    if (!dns_decode_name(qname, qname_size, 0, asked, &asked_size, &ignored))
        return fail(Error::kMalformed);
    Record q{};
    size_t offset = kDnsHeader;
    if (!dns_decode_name(message, size, offset, q.owner, &q.owner_size, &offset) ||
        size - offset < 4)
        return fail(Error::kMalformed);
    if (!same_name(q.owner, q.owner_size, asked, asked_size) || get16(message + offset) != kTypeA ||
        get16(message + offset + 2) != kClassIn)
        return fail(Error::kMalformed);
    offset += 4;
    const uint8_t rcode = flags & 0xf;
    if (rcode == kRcodeNxDomain)
        return fail(Error::kNotFound);
    if (rcode != 0)
        return fail(Error::kUnreachable);
    // Every answer record must fit: a count beyond the message is malformed, not trimmed.
    const uint16_t answers = get16(message + 6);
    const size_t first = offset;
    Record r{};
    for (uint32_t i = 0; i < answers; ++i)
        if (!read_record(message, size, &offset, &r))
            return fail(Error::kMalformed);
    // Follow the chain from the question: each pass looks for the current name's A record,
    // or the CNAME it is an alias for. Passes are bounded, so a CNAME loop ends here.
    char target[kDnsMaxText + 1];
    size_t target_size = asked_size;
    __builtin_memcpy(target, asked, asked_size + 1);
    for (uint32_t hop = 0; hop <= kDnsMaxCnames; ++hop) {
        char alias[kDnsMaxText + 1];
        size_t alias_size = 0;
        bool have_alias = false;
        offset = first;
        for (uint32_t i = 0; i < answers; ++i) {
            read_record(message, size, &offset, &r);
            if (r.klass != kClassIn || !same_name(r.owner, r.owner_size, target, target_size))
                continue;
            if (r.type == kTypeA && r.rdlength == 4) {
                *address = get32(message + r.rdata);
                return 0;
            }
            if (r.type == kTypeCname && !have_alias) {
                size_t end = 0;
                // The alias must lie inside its RDATA (pointers may lead out of it).
                if (!dns_decode_name(message, r.rdata + r.rdlength, r.rdata, alias, &alias_size,
                                     &end) ||
                    end != r.rdata + r.rdlength)
                    return fail(Error::kMalformed);
                have_alias = true;
            }
        }
        if (!have_alias)
            break;
        __builtin_memcpy(target, alias, alias_size + 1);
        target_size = alias_size;
    }
    return fail(Error::kNotFound);
}

}  // namespace keel::net
