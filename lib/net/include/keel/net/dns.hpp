// DNS (RFC 1035) for A records: names in wire form, a query and the answer it expects. The
// resolver's state (ids, ports, retransmission) lives in the Stack (stack.hpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "addr.hpp"
#include "time.hpp"

namespace keel::net {

inline constexpr uint16_t kDnsPort = 53;
inline constexpr size_t kDnsHeader = 12;
inline constexpr size_t kDnsMaxName = 255;    // wire form, with the root label
inline constexpr size_t kDnsMaxText = 253;    // dotted text, without a trailing dot
inline constexpr uint32_t kDnsMaxJumps = 32;  // compression pointers followed per name
inline constexpr uint32_t kDnsMaxCnames = 8;  // CNAME links followed per answer
inline constexpr size_t kDnsMaxQuery = kDnsHeader + kDnsMaxName + 4;
// Retransmission: the query is sent, sent again kDnsFirstRetry later, and given up
// (kTimedOut) twice that later again: 1 s, then 2 s.
inline constexpr Time kDnsFirstRetry = kSecond;
inline constexpr uint32_t kDnsSends = 2;

// "www.example.com" (an optional trailing dot) into wire form at out (capacity >= kDnsMaxName):
// its length, or 0 for an empty name, an empty label, a label over 63 bytes, a name over 255
// bytes, or a byte outside letters, digits, '-' and '_'.
size_t dns_encode_name(const char* name, size_t size, uint8_t* out);
// Reads the name at offset in message[0, size), following compression pointers (each must
// point before the label that holds it, at most kDnsMaxJumps): writes the dotted text into out
// (kDnsMaxText + 1 bytes, NUL-terminated), *text_size, and *next (the offset just after the
// name where it started). false for anything malformed.
bool dns_decode_name(const uint8_t* message, size_t size, size_t offset, char* out,
                     size_t* text_size, size_t* next);

// A recursive A/IN query for qname (wire form) at out (kDnsMaxQuery bytes): its size.
size_t dns_write_query(uint8_t* out, uint16_t id, const uint8_t* qname, size_t qname_size);
// The answer to our query `id` for qname: 0 and *address when it holds an A record for qname
// or for the end of a CNAME chain from it; fail(kNotFound) for NXDOMAIN or no such record;
// fail(kUnreachable) when the server reports another error; fail(kMalformed) for a message
// that is not a well-formed answer to this question (the caller keeps waiting).
int64_t dns_parse_answer(const uint8_t* message, size_t size, uint16_t id, const uint8_t* qname,
                         size_t qname_size, Ip4* address);

}  // namespace keel::net
