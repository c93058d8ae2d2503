// The Stack's DNS resolver: one A query per slot, each from its own random port with a random
// id (RFC 5452's defences against forged answers), to the configured server only.
#include <keel/net/dns.hpp>
#include <keel/net/udp.hpp>

#include "stack_parts.hpp"

namespace keel::net {

Stack::Query* Stack::query(int64_t id) const {
    uint32_t index = 0;
    if (!id_index(id, limits_.dns_queries, &index))
        return nullptr;
    Query* q = &queries_[index];
    return q->state != Query::kFree && make_id(q->generation, index) == id ? q : nullptr;
}

int64_t Stack::dns_start(const char* name, size_t size, Time now) {
    now_ = now;
    Ip4 literal = 0;
    const bool is_literal = parse_ip4(name, size, &literal);
    uint8_t qname[kDnsMaxName];
    size_t qname_size = 0;
    if (!is_literal) {
        qname_size = dns_encode_name(name, size, qname);
        if (qname_size == 0)
            return fail(Error::kInvalid);
        if (!interface_.configured || interface_.dns == 0)
            return fail(Error::kUnreachable);
    }
    for (uint32_t i = 0; i < limits_.dns_queries; ++i) {
        Query* q = &queries_[i];
        if (q->state != Query::kFree)
            continue;
        q->generation = ++generation_;
        if (is_literal) {
            q->state = Query::kDone;
            q->result = 0;
            q->address = literal;
            ++events_;
            return make_id(q->generation, i);
        }
        q->port = ephemeral_port();
        q->id = static_cast<uint16_t>(random());
        q->state = Query::kPending;
        q->sends = 0;
        q->result = fail(Error::kWouldBlock);
        q->address = 0;
        q->wait = kDnsFirstRetry;
        q->qname_size = static_cast<uint8_t>(qname_size);
        __builtin_memcpy(q->qname, qname, qname_size);
        dns_send(q, now);
        return make_id(q->generation, i);
    }
    return fail(Error::kNoRoom);
}

void Stack::dns_send(Query* q, Time now) {
    uint8_t message[kDnsMaxQuery];
    const size_t size = dns_write_query(message, q->id, q->qname, q->qname_size);
    if (send_udp(0, q->port, interface_.dns, kDnsPort, message, size))
        ++counters_.dns_sent;
    ++q->sends;
    q->deadline = now + q->wait;
    q->wait *= 2;
}

bool Stack::dns_input(Ip4 source, uint16_t port, uint16_t destination_port, const uint8_t* data,
                      size_t size) {
    for (uint32_t i = 0; i < limits_.dns_queries; ++i) {
        Query* q = &queries_[i];
        // Only the server we asked, from its port, to the port this query owns.
        if (q->state != Query::kPending || q->port != destination_port ||
            source != interface_.dns || port != kDnsPort)
            continue;
        Ip4 address = 0;
        const int64_t r = dns_parse_answer(data, size, q->id, q->qname, q->qname_size, &address);
        if (r == fail(Error::kMalformed)) {
            ++counters_.malformed_dns;  // a forgery or garbage: keep waiting for the real one
            return true;
        }
        q->state = Query::kDone;
        q->result = r;
        q->address = address;
        ++counters_.dns_answers;
        ++events_;
        return true;
    }
    return false;
}

void Stack::dns_unreachable(Ip4 server, uint16_t source_port, uint16_t destination_port) {
    for (uint32_t i = 0; i < limits_.dns_queries; ++i) {
        Query* q = &queries_[i];
        if (q->state == Query::kPending && server == interface_.dns && source_port == q->port &&
            destination_port == kDnsPort) {
            q->state = Query::kDone;
            q->result = fail(Error::kUnreachable);
            ++events_;
        }
    }
}

Time Stack::dns_poll(Time now) {
    Time next = kNever;
    for (uint32_t i = 0; i < limits_.dns_queries; ++i) {
        Query* q = &queries_[i];
        if (q->state != Query::kPending)
            continue;
        if (now >= q->deadline) {
            if (q->sends < kDnsSends) {
                dns_send(q, now);
            } else {
                q->state = Query::kDone;
                q->result = fail(Error::kTimedOut);
                ++events_;
                continue;
            }
        }
        if (q->deadline < next)
            next = q->deadline;
    }
    return next;
}

int64_t Stack::dns_result(int64_t id, Ip4* out) {
    Query* q = query(id);
    if (q == nullptr)
        return fail(Error::kInvalid);
    if (q->state == Query::kPending)
        return fail(Error::kWouldBlock);
    const int64_t r = q->result;
    if (r == 0 && out != nullptr)
        *out = q->address;
    q->state = Query::kFree;
    return r;
}

void Stack::dns_cancel(int64_t id) {
    Query* q = query(id);
    if (q != nullptr)
        q->state = Query::kFree;
}

}  // namespace keel::net
