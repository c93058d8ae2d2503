// The names a program opens on the network server's object (servers/net): untrusted bytes
// from any client, parsed here so the host tests and the fuzz target see the same code.
//
//   tcp/listen/PORT            a listener on PORT (1-65535)
//   tcp/connect/HOST/PORT      a connection to HOST (a dotted quad or a DNS name) at PORT
//   udp/bind/PORT              a UDP socket on PORT (0: an ephemeral port)
//   icmp/echo/HOST             an echo (ping) object for HOST
//   dns/NAME                   NAME resolved to an address (read gives it as text)
//   info                       the interface's configuration and counters as text
//   accept                     (on a listener) the next connection
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::net {

enum class SocketKind : uint8_t {
    kTcpListen,
    kTcpConnect,
    kUdpBind,
    kIcmpEcho,
    kDns,
    kInfo,
    kAccept
};

inline constexpr size_t kMaxHostName = 253;  // RFC 1035's limit for a name in text form

struct SocketName {
    SocketKind kind;
    uint16_t port;     // listen, connect, bind
    const char* host;  // connect, echo, dns: points into the parsed text (not NUL-ended)
    size_t host_size;
};

// A program's runtime opens a path one component at a time (`net/tcp/listen/80` is four
// opens), so the server also answers the beginnings of names: "tcp", "tcp/listen",
// "tcp/connect/HOST", ... are kPrefix (a directory-like object whose opens continue the name).
enum class NameMatch : uint8_t { kNone, kPrefix, kComplete };

// kComplete and *out when text[0, size) is one of the names above; kPrefix when it is the
// beginning of one, a whole number of words long; else kNone. A host is 1-253 bytes of
// letters, digits, '-' and '.'; a port is decimal without leading zeros.
NameMatch match_socket_name(const char* text, size_t size, SocketName* out);
inline bool parse_socket_name(const char* text, size_t size, SocketName* out) {
    return match_socket_name(text, size, out) == NameMatch::kComplete;
}

}  // namespace keel::net
