// guesthttpd: bench row B10's second Linux server (bench/README.md), run inside the Linux guest
// that bench/linux/make-guest.sh builds, beside busybox httpd. busybox httpd closes every
// connection (and forks for each), so it cannot show what the guest does for requests on a
// kept connection; this server can. It is deliberately plain: one thread, epoll, non-blocking
// sockets, HTTP/1.1 GET and HEAD of regular files in one directory, connections kept unless the
// request asks to close (or is HTTP/1.0 without keep-alive), bodies sent with sendfile().
//
//   guesthttpd PORT DIR
//
// The request target must be an absolute path without "..", "%" or "\\"; "/" means
// "/index.html"; the query is ignored. Answers: 200 with Content-Length, 404, 400 for a malformed
// request, 405 for another method, 431 when the head exceeds 8 KiB (then the connection closes).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace {

constexpr size_t kMaxHead = 8192;
constexpr size_t kSendChunk = 1 << 20;

struct Conn {
    std::string in;    // bytes received and not yet consumed as a request
    std::string head;  // the response head being sent
    size_t head_sent = 0;
    int file = -1;  // the body's file while sending, else -1
    off_t offset = 0, end = 0;
    bool close_after = false;
    bool sending = false;
};

std::string dir;
int epfd = -1;
std::map<int, Conn> conns;

bool lower_equal(const std::string& a, const char* b) {
    if (a.size() != std::strlen(b))
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != b[i])
            return false;
    }
    return true;
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

void watch(int fd, bool out) {
    epoll_event ev{};
    ev.events = out ? EPOLLOUT : EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
}

void drop(int fd) {
    auto it = conns.find(fd);
    if (it != conns.end() && it->second.file >= 0)
        close(it->second.file);
    conns.erase(fd);
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
}

void answer_status(Conn& c, int status, const char* reason) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "HTTP/1.1 %d %s\r\nServer: guesthttpd\r\nContent-Length: 0\r\n%s\r\n", status,
                  reason, c.close_after ? "Connection: close\r\n" : "");
    c.head = buf;
    c.head_sent = 0;
    c.sending = true;
}

// Takes one complete request head from c.in (false when none is complete yet) and prepares
// its answer.
bool take_request(Conn& c) {
    size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos)
        return false;
    std::string head = c.in.substr(0, end);
    c.in.erase(0, end + 4);
    size_t eol = head.find("\r\n");
    std::string line = head.substr(0, eol);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1) {
        c.close_after = true;
        answer_status(c, 400, "Bad Request");
        return true;
    }
    std::string method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                version = line.substr(sp2 + 1);
    bool keep = version == "HTTP/1.1";
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        c.close_after = true;
        answer_status(c, 400, "Bad Request");
        return true;
    }
    for (size_t at = eol; at != std::string::npos && at < head.size();) {
        size_t next = head.find("\r\n", at + 2);
        std::string field =
            head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
        size_t colon = field.find(':');
        if (colon != std::string::npos && lower_equal(trim(field.substr(0, colon)), "connection")) {
            std::string v = trim(field.substr(colon + 1));
            if (lower_equal(v, "close"))
                keep = false;
            else if (lower_equal(v, "keep-alive"))
                keep = true;
        }
        at = next;
    }
    c.close_after = !keep;
    const bool head_only = method == "HEAD";
    if (method != "GET" && !head_only) {
        answer_status(c, 405, "Method Not Allowed");
        return true;
    }
    target = target.substr(0, target.find('?'));
    if (target.empty() || target[0] != '/' || target.find("..") != std::string::npos ||
        target.find('%') != std::string::npos || target.find('\\') != std::string::npos) {
        answer_status(c, 400, "Bad Request");
        return true;
    }
    if (target == "/")
        target = "/index.html";
    int f = open((dir + target).c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (f < 0 || fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f >= 0)
            close(f);
        answer_status(c, 404, "Not Found");
        return true;
    }
    size_t dot = target.rfind('.');
    std::string ext = dot == std::string::npos ? "" : target.substr(dot);
    const char* type = ext == ".html" || ext == ".htm" ? "text/html" : "application/octet-stream";
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "HTTP/1.1 200 OK\r\nServer: guesthttpd\r\nContent-Type: %s\r\n"
                  "Content-Length: %lld\r\n%s\r\n",
                  type, static_cast<long long>(st.st_size), keep ? "" : "Connection: close\r\n");
    c.head = buf;
    c.head_sent = 0;
    c.offset = 0;
    c.end = head_only ? 0 : st.st_size;
    if (head_only)
        close(f);
    else
        c.file = f;
    c.sending = true;
    return true;
}

// Sends what it can of the current answer; then takes the next request already received.
// False when the connection is finished.
bool pump(int fd, Conn& c) {
    for (;;) {
        if (!c.sending) {
            if (c.in.size() > kMaxHead && c.in.find("\r\n\r\n") == std::string::npos) {
                c.close_after = true;
                answer_status(c, 431, "Request Header Fields Too Large");
            } else if (!take_request(c)) {
                watch(fd, false);
                return true;
            }
        }
        while (c.head_sent < c.head.size()) {
            ssize_t n =
                send(fd, c.head.data() + c.head_sent, c.head.size() - c.head_sent, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                watch(fd, true);
                return true;
            }
            if (n <= 0)
                return false;
            c.head_sent += static_cast<size_t>(n);
        }
        while (c.file >= 0 && c.offset < c.end) {
            size_t want = static_cast<size_t>(c.end - c.offset);
            ssize_t n = sendfile(fd, c.file, &c.offset, want < kSendChunk ? want : kSendChunk);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                watch(fd, true);
                return true;
            }
            if (n <= 0)
                return false;
        }
        if (c.file >= 0) {
            close(c.file);
            c.file = -1;
        }
        c.sending = false;
        if (c.close_after)
            return false;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: guesthttpd PORT DIR\n");
        return 2;
    }
    dir = argv[2];
    std::signal(SIGPIPE, SIG_IGN);  // sendfile() to a connection the peer closed
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (ls < 0 || bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(ls, 128) != 0) {
        std::perror("guesthttpd: listen");
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = ls;
    epoll_ctl(epfd, EPOLL_CTL_ADD, ls, &ev);
    std::printf("linuxbench: guesthttpd serving %s on port %s\n", argv[2], argv[1]);
    std::fflush(stdout);
    epoll_event events[64];
    for (;;) {
        int n = epoll_wait(epfd, events, 64, -1);
        if (n < 0 && errno != EINTR)
            return 1;
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == ls) {
                for (;;) {
                    int c = accept4(ls, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0)
                        break;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[c] = Conn{};
                    epoll_event cev{};
                    cev.events = EPOLLIN;
                    cev.data.fd = c;
                    epoll_ctl(epfd, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            auto it = conns.find(fd);
            if (it == conns.end())
                continue;
            Conn& c = it->second;
            if (!c.sending) {
                char buf[4096];
                ssize_t r = recv(fd, buf, sizeof buf, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                    drop(fd);
                    continue;
                }
                if (r > 0)
                    c.in.append(buf, static_cast<size_t>(r));
            }
            if (!pump(fd, c))
                drop(fd);
        }
    }
}
