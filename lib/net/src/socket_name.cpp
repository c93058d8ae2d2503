#include <keel/net/socket_name.hpp>

namespace keel::net {
namespace {

// Cuts the next '/'-separated word off [*text, end).
bool word(const char** text, const char* end, const char** start, size_t* size) {
    const char* p = *text;
    *start = p;
    while (p < end && *p != '/')
        ++p;
    *size = static_cast<size_t>(p - *start);
    *text = p < end ? p + 1 : p;
    return *size > 0 && (p == end || p + 1 < end);  // no empty word, no trailing '/'
}

bool is(const char* s, size_t n, const char* literal) {
    size_t i = 0;
    for (; i < n && literal[i] != '\0'; ++i) {
        if (s[i] != literal[i])
            return false;
    }
    return i == n && literal[i] == '\0';
}

bool port_of(const char* s, size_t n, bool zero_ok, uint16_t* out) {
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + static_cast<uint32_t>(s[i] - '0');
    }
    if (v > 65535 || (v == 0 && !zero_ok))
        return false;
    *out = static_cast<uint16_t>(v);
    return true;
}

bool host_ok(const char* s, size_t n) {
    if (n == 0 || n > kMaxHostName)
        return false;
    for (size_t i = 0; i < n; ++i) {
        const char c = s[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}

}  // namespace

NameMatch match_socket_name(const char* text, size_t size, SocketName* out) {
    const char* p = text;
    const char* end = text + size;
    const char* w[4];
    size_t n[4];
    int count = 0;
    while (p < end) {
        if (count == 4 || !word(&p, end, &w[count], &n[count]))
            return NameMatch::kNone;
        ++count;
    }
    if (count == 0)
        return NameMatch::kNone;
    // The beginnings: each word so far valid in its place.
    const bool tcp = is(w[0], n[0], "tcp");
    if ((count == 1 &&
         (tcp || is(w[0], n[0], "udp") || is(w[0], n[0], "icmp") || is(w[0], n[0], "dns"))) ||
        (count == 2 && tcp && (is(w[1], n[1], "listen") || is(w[1], n[1], "connect"))) ||
        (count == 2 && is(w[0], n[0], "udp") && is(w[1], n[1], "bind")) ||
        (count == 2 && is(w[0], n[0], "icmp") && is(w[1], n[1], "echo")) ||
        (count == 3 && tcp && is(w[1], n[1], "connect") && host_ok(w[2], n[2])))
        return NameMatch::kPrefix;
    SocketName r{SocketKind::kInfo, 0, nullptr, 0};
    if (count == 1 && is(w[0], n[0], "info")) {
        r.kind = SocketKind::kInfo;
    } else if (count == 1 && is(w[0], n[0], "accept")) {
        r.kind = SocketKind::kAccept;
    } else if (count == 3 && is(w[0], n[0], "tcp") && is(w[1], n[1], "listen")) {
        r.kind = SocketKind::kTcpListen;
        if (!port_of(w[2], n[2], false, &r.port))
            return NameMatch::kNone;
    } else if (count == 4 && is(w[0], n[0], "tcp") && is(w[1], n[1], "connect")) {
        r.kind = SocketKind::kTcpConnect;
        if (!host_ok(w[2], n[2]) || !port_of(w[3], n[3], false, &r.port))
            return NameMatch::kNone;
        r.host = w[2];
        r.host_size = n[2];
    } else if (count == 3 && is(w[0], n[0], "udp") && is(w[1], n[1], "bind")) {
        r.kind = SocketKind::kUdpBind;
        if (!port_of(w[2], n[2], true, &r.port))
            return NameMatch::kNone;
    } else if (count == 3 && is(w[0], n[0], "icmp") && is(w[1], n[1], "echo")) {
        r.kind = SocketKind::kIcmpEcho;
        if (!host_ok(w[2], n[2]))
            return NameMatch::kNone;
        r.host = w[2];
        r.host_size = n[2];
    } else if (count == 2 && is(w[0], n[0], "dns")) {
        r.kind = SocketKind::kDns;
        if (!host_ok(w[1], n[1]))
            return NameMatch::kNone;
        r.host = w[1];
        r.host_size = n[1];
    } else {
        return NameMatch::kNone;
    }
    *out = r;
    return NameMatch::kComplete;
}

}  // namespace keel::net
