// Response heads, dates, media types, error bodies and directory listings.
#include <keel/http/head.hpp>
#include <keel/http/path.hpp>
#include <keel/http/response.hpp>

#include "text.hpp"

namespace keel::http {

namespace {

// The response writer: detail::Writer with HTML escaping and encoded paths.
class Writer : public detail::Writer {
  public:
    using detail::Writer::Writer;
    void escaped(const char* s, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            switch (s[i]) {
                case '&':
                    text("&amp;");
                    break;
                case '<':
                    text("&lt;");
                    break;
                case '>':
                    text("&gt;");
                    break;
                case '"':
                    text("&quot;");
                    break;
                case '\'':
                    text("&#39;");
                    break;
                default:
                    put(s[i]);
            }
        }
    }
    // Each '/'-separated segment of a resolved path, percent-encoded, after a '/'.
    void encoded_path(const char* s, size_t n) {
        size_t i = 0;
        while (i < n) {
            size_t j = i;
            while (j < n && s[j] != '/')
                ++j;
            put('/');
            segment(s + i, j - i);
            i = j + 1;
        }
    }
};

struct TypeEntry {
    const char* extension;
    const char* type;
};
constexpr TypeEntry kTypes[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"conf", "text/plain; charset=utf-8"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"xml", "application/xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"ico", "image/vnd.microsoft.icon"},
    {"webp", "image/webp"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"tar", "application/x-tar"},
    {"gz", "application/gzip"},
    {"zip", "application/zip"},
};

constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun",
                                 "Mon", "Tue", "Wed"};  // from 1970-01-01
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

}  // namespace

size_t write_response_head(const ResponseHead& h, char* out, size_t cap) {
    Writer w(out, cap);
    w.text(h.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
    w.number(h.status);
    w.put(' ');
    w.text(reason_phrase(h.status));
    w.text("\r\n");
    if (h.date != nullptr)
        w.field("Date", h.date);
    if (h.server != nullptr)
        w.field("Server", h.server);
    if (h.content_type != nullptr)
        w.field("Content-Type", h.content_type);
    if (h.chunked) {
        w.text("Transfer-Encoding: chunked\r\n");
    } else if (h.has_length) {
        w.text("Content-Length: ");
        w.number(h.content_length);
        w.text("\r\n");
    }
    if (h.allow != nullptr)
        w.field("Allow", h.allow);
    // 1.1 keeps the connection unless told; 1.0 closes it unless told.
    if (!h.keep_alive)
        w.text("Connection: close\r\n");
    else if (h.minor == 0)
        w.text("Connection: keep-alive\r\n");
    w.text("\r\n");
    return w.length();
}

void format_date(int64_t unix_seconds, char (&out)[kDateLength + 1]) {
    if (unix_seconds < 0)
        unix_seconds = 0;
    int64_t days = unix_seconds / 86400;
    const int64_t rest = unix_seconds % 86400;
    const char* weekday = kDays[days % 7];
    int64_t year = 1970;
    for (;;) {
        const int64_t in_year = leap(year) ? 366 : 365;
        if (days < in_year || year == 9999)
            break;
        days -= in_year;
        ++year;
    }
    int month = 0;
    for (;; ++month) {
        static constexpr int kLengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        const int64_t in_month = kLengths[month] + (month == 1 && leap(year) ? 1 : 0);
        if (days < in_month || month == 11)
            break;
        days -= in_month;
    }
    char text[kDateLength + 8];
    Writer w(text, sizeof text);
    auto two = [&](int64_t v) {
        w.put(static_cast<char>('0' + v / 10 % 10));
        w.put(static_cast<char>('0' + v % 10));
    };
    w.text(weekday);
    w.text(", ");
    two(days + 1);
    w.put(' ');
    w.text(kMonths[month]);
    w.put(' ');
    w.number(static_cast<uint64_t>(year));
    w.put(' ');
    two(rest / 3600);
    w.put(':');
    two(rest / 60 % 60);
    w.put(':');
    two(rest % 60);
    w.text(" GMT");
    for (size_t i = 0; i < kDateLength; ++i)
        out[i] = text[i];
    out[kDateLength] = '\0';
}

const char* content_type(const char* name, size_t n) {
    size_t dot = n;
    while (dot > 0 && name[dot - 1] != '.' && name[dot - 1] != '/')
        --dot;
    if (dot == 0 || name[dot - 1] != '.')
        return "application/octet-stream";
    const Text extension{name + dot, n - dot};
    for (const TypeEntry& t : kTypes) {
        if (equals_lower(extension, t.extension))
            return t.type;
    }
    return "application/octet-stream";
}

size_t write_error_body(uint16_t status, char* out, size_t cap) {
    Writer w(out, cap);
    w.text("<!DOCTYPE html>\n<html><head><title>");
    w.number(status);
    w.put(' ');
    w.text(reason_phrase(status));
    w.text("</title></head>\n<body><h1>");
    w.number(status);
    w.put(' ');
    w.text(reason_phrase(status));
    w.text("</h1></body></html>\n");
    return w.length();
}

size_t html_escape(const char* in, size_t n, char* out, size_t cap) {
    Writer w(out, cap);
    w.escaped(in, n);
    return w.length();
}

size_t listing_start(const char* dir, size_t dir_length, char* out, size_t cap) {
    Writer w(out, cap);
    w.text("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of /");
    w.escaped(dir, dir_length);
    w.text("</title></head>\n<body><h1>Index of /");
    w.escaped(dir, dir_length);
    w.text("</h1>\n<ul>\n");
    if (dir_length > 0) {
        // The parent: the path without its last segment.
        size_t parent = dir_length;
        while (parent > 0 && dir[parent - 1] != '/')
            --parent;
        w.text("<li><a href=\"");
        w.encoded_path(dir, parent > 0 ? parent - 1 : 0);
        w.text("/\">../</a></li>\n");
    }
    return w.length();
}

size_t listing_entry(const char* dir, size_t dir_length, const char* name, size_t name_length,
                     bool directory, char* out, size_t cap) {
    Writer w(out, cap);
    w.text("<li><a href=\"");
    w.encoded_path(dir, dir_length);
    w.put('/');
    w.segment(name, name_length);
    if (directory)
        w.put('/');
    w.text("\">");
    w.escaped(name, name_length);
    if (directory)
        w.put('/');
    w.text("</a></li>\n");
    return w.length();
}

size_t listing_end(char* out, size_t cap) {
    Writer w(out, cap);
    w.text("</ul>\n</body></html>\n");
    return w.length();
}

}  // namespace keel::http
