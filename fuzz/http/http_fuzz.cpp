// HTTP fuzz target (lib/http). Input: one byte choosing how the rest is cut into fragments,
// then bytes that are read four ways. As a request head, fed whole and again in fragments
// (the same answer both ways; a complete head inside the input, its target inside the head),
// its target resolved inside a root (a path that never starts with '/', never holds an empty,
// "." or ".." segment or a NUL, never longer than its buffer), and its target written as a
// listing entry (within the documented bound). As a response head (its head inside the input)
// whose body, when chunked, is decoded; and the whole input as a chunked body, decoded from
// fragments into small buffers: the output never exceeds the room given or the input read.
// As a URL: host and path inside the input, the request written within its length.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <keel/http/chunked.hpp>
#include <keel/http/client.hpp>
#include <keel/http/path.hpp>
#include <keel/http/request.hpp>
#include <keel/http/response.hpp>

namespace {

namespace http = keel::http;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "http oracle: %s\n", what);
    std::abort();
}

bool inside(const char* p, size_t n, const char* base, size_t size) {
    return n == 0 || (p >= base && p + n <= base + size);
}

void check_path(const char* target, size_t n) {
    std::vector<char> out(n + 1);
    const http::Resolved r = http::resolve_path(target, n, out.data(), out.size());
    if (r.status != 200 && r.status != 400 && r.status != 403 && r.status != 414)
        fail("unexpected status from resolve_path");
    if (r.status != 200)
        return;
    if (r.length > out.size())
        fail("resolved path longer than its buffer");
    size_t i = 0;
    while (i < r.length) {
        size_t j = i;
        while (j < r.length && out[j] != '/')
            ++j;
        const size_t len = j - i;
        if (len == 0)
            fail("empty segment (or a leading or trailing '/')");
        if ((len == 1 && out[i] == '.') || (len == 2 && out[i] == '.' && out[i + 1] == '.'))
            fail("'.' or '..' in a resolved path");
        if (std::memchr(out.data() + i, '\0', len) != nullptr)
            fail("NUL in a resolved path");
        i = j + 1;
    }
    if (r.length > 0 && out[r.length - 1] == '/')
        fail("trailing '/'");
}

void check_request(const std::vector<char>& d, uint8_t cut) {
    http::RequestParser whole;
    const auto want = whole.feed(d.data(), d.size());
    if (want == http::RequestParser::Outcome::kComplete) {
        const http::Request& r = whole.request();
        if (r.head_length > d.size() || r.head_length > http::Limits().max_head)
            fail("head past the input or the limit");
        // An absolute-form target without a path is the library's own "/".
        const bool root = r.target.length == 1 && r.target.data[0] == '/';
        if ((!root && !inside(r.target.data, r.target.length, d.data(), r.head_length)) ||
            !inside(r.host.data, r.host.length, d.data(), r.head_length))
            fail("a field outside the head");
        if (r.target.length == 0 || r.target.data[0] != '/')
            fail("a target that is not a path");
        check_path(r.target.data, r.target.length);
        std::vector<char> entry(http::kListingEntryMax);
        const size_t name = r.target.length < 255 ? r.target.length : 255;
        if (http::listing_entry("", 0, r.target.data, name, true, entry.data(), entry.size()) >
            http::kListingEntryMax)
            fail("listing entry over its bound");
    } else if (want == http::RequestParser::Outcome::kError) {
        const uint16_t s = whole.status();
        if (s != 400 && s != 413 && s != 414 && s != 431 && s != 501 && s != 505)
            fail("unexpected error status");
    }
    // The same bytes in fragments.
    http::RequestParser parts;
    auto got = http::RequestParser::Outcome::kIncomplete;
    const size_t step = 1 + cut % 61;
    for (size_t n = 0; got == http::RequestParser::Outcome::kIncomplete && n < d.size();) {
        n = n + step < d.size() ? n + step : d.size();
        std::vector<char> exact(d.begin(), d.begin() + static_cast<long>(n));
        got = parts.feed(exact.data(), exact.size());
        if (got == http::RequestParser::Outcome::kComplete &&
            parts.request().head_length != whole.request().head_length)
            fail("fragments found another head");
    }
    if (got != want ||
        (got == http::RequestParser::Outcome::kError && parts.status() != whole.status()))
        fail("fragments gave another answer");
}

void decode_chunked(const uint8_t* in, size_t n, uint8_t cut) {
    http::ChunkedDecoder d;
    uint8_t room[13];
    size_t pos = 0, total = 0;
    const size_t step = 1 + cut % 17, cap = 1 + cut % sizeof room;
    for (int guard = 0;; ++guard) {
        if (guard > static_cast<int>(4 * n + 16))
            fail("chunked decoder makes no progress");
        const size_t avail = n - pos < step ? n - pos : step;
        size_t used = 0, made = 0;
        const auto o = d.decode(in + pos, avail, room, cap, &used, &made);
        if (used > avail || made > cap)
            fail("decoder past its input or room");
        pos += used;
        total += made;
        if (total > pos)
            fail("more output than input");
        if (o != http::ChunkedDecoder::Outcome::kMore)
            break;
        if (used == 0 && made == 0 && pos == n)
            break;
    }
    if (d.total() != total)
        fail("total() disagrees");
}

void check_response(const std::vector<char>& d, uint8_t cut) {
    http::ResponseParser p(cut & 1);
    if (p.feed(d.data(), d.size()) != http::ResponseParser::Outcome::kComplete)
        return;
    const http::Response& r = p.response();
    if (r.head_length > d.size() || r.status < 100 || r.status > 999)
        fail("response head past the input or a bad status");
    if (r.framing == http::Framing::kChunked)
        decode_chunked(reinterpret_cast<const uint8_t*>(d.data()) + r.head_length,
                       d.size() - r.head_length, cut);
}

void check_url(const std::vector<char>& d) {
    http::Url u{};
    if (http::parse_url(d.data(), d.size(), &u) != nullptr)
        return;
    if (!inside(u.host.data, u.host.length, d.data(), d.size()) ||
        !inside(u.path.data, u.path.length, d.data(), d.size()) || u.host.length == 0 ||
        u.port == 0)
        fail("URL parts outside the input");
    const size_t need = http::write_request(u, nullptr, 0);
    std::vector<char> out(need);
    if (http::write_request(u, out.data(), out.size()) != need)
        fail("request length changed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0)
        return 0;
    const uint8_t cut = data[0];
    const std::vector<char> d(data + 1, data + size);  // exact size: ASan sees any overread
    check_request(d, cut);
    check_response(d, cut);
    decode_chunked(reinterpret_cast<const uint8_t*>(d.data()), d.size(), cut);
    check_url(d);
    return 0;
}
