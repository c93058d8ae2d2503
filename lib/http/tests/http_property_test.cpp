// lib/http properties (RapidCheck) against models: percent-encoding round trips; path
// resolution agrees with a segment-stack model and never yields a path outside the root
// (no "..", no leading '/', no empty segment); the chunked coding round-trips any body cut
// into random chunks, decoded from random pieces into random output room; a request fed in
// random fragments gets the same answer as fed whole.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/http/chunked.hpp>
#include <keel/http/path.hpp>
#include <keel/http/request.hpp>

#include <string>
#include <vector>

namespace keel::http {
namespace {

RC_GTEST_PROP(Percent, EncodeThenDecodeIsIdentity, (const std::string& raw)) {
    std::string s = raw;
    for (char& c : s) {
        if (c == '\0')
            c = '0';
    }
    std::vector<char> enc(s.size() * 3 + 1);
    const size_t n = percent_encode(s.data(), s.size(), enc.data(), enc.size());
    RC_ASSERT(n <= enc.size());
    for (size_t i = 0; i < n; ++i) {
        const char c = enc[i];
        RC_ASSERT(c != '/' && c > 0x20 && c < 0x7f);
    }
    std::vector<char> dec(n);
    size_t m = 0;
    RC_ASSERT(percent_decode(enc.data(), n, dec.data(), dec.size(), &m));
    RC_ASSERT(std::string(dec.data(), m) == s);
}

RC_GTEST_PROP(Percent, NulIsAlwaysRefused, (const std::string& a, const std::string& b)) {
    const std::string s = a + std::string(1, '\0') + b;
    std::vector<char> enc(s.size() * 3);
    const size_t n = percent_encode(s.data(), s.size(), enc.data(), enc.size());
    std::vector<char> dec(n);
    size_t m = 0;
    RC_ASSERT(!percent_decode(enc.data(), n, dec.data(), dec.size(), &m));
}

// The model: split at '/', decode each segment on its own, apply "." and ".." to a stack.
struct Model {
    uint16_t status;
    std::vector<std::string> segments;
};

int hex(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

Model model(const std::string& target) {
    Model m{400, {}};
    const std::string path = target.substr(0, target.find_first_of("?#"));
    if (path.empty() || path[0] != '/')
        return m;
    size_t i = 1;
    while (i <= path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos)
            j = path.size();
        std::string seg;
        for (size_t k = i; k < j; ++k) {
            if (path[k] == '%') {
                if (k + 2 >= j + 0 || hex(path[k + 1]) < 0 || hex(path[k + 2]) < 0)
                    return m;
                const char c = static_cast<char>(hex(path[k + 1]) * 16 + hex(path[k + 2]));
                if (c == '\0')
                    return m;
                seg += c;
                k += 2;
            } else {
                seg += path[k];
            }
        }
        if (seg.find('/') != std::string::npos)
            return m;
        if (seg == "..") {
            if (m.segments.empty()) {
                m.status = 403;
                return m;
            }
            m.segments.pop_back();
        } else if (!seg.empty() && seg != ".") {
            m.segments.push_back(seg);
        }
        i = j + 1;
    }
    m.status = 200;
    return m;
}

rc::Gen<std::string> target_gen() {
    const std::vector<std::string> pieces = {
        "a",   "b", "cd", ".",   "..",  "",    "%2e",    "%2E%2e", ".%2e", "x%20y", "%2F",
        "%2f", "%", "%4", "%zz", "%00", "%41", "?q=/..", "#f",     "...",  "a..",   "%c3%a9"};
    return rc::gen::map(
        rc::gen::pair(rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(pieces)),
                      rc::gen::container<std::vector<bool>>(rc::gen::arbitrary<bool>())),
        [](const std::pair<std::vector<std::string>, std::vector<bool>>& p) {
            std::string t = "/";
            for (size_t i = 0; i < p.first.size(); ++i) {
                t += p.first[i];
                if (i < p.second.size() && p.second[i])
                    t += "/";
            }
            return t;
        });
}

RC_GTEST_PROP(Path, ResolutionAgreesWithTheModel, ()) {
    const std::string target = *target_gen();
    std::vector<char> in(target.begin(), target.end());
    std::vector<char> out(target.size() + 1);
    const Resolved r = resolve_path(in.data(), in.size(), out.data(), out.size());
    const Model m = model(target);
    RC_ASSERT(r.status == m.status);
    if (r.status != 200)
        return;
    std::string want;
    for (const std::string& s : m.segments)
        want += (want.empty() ? "" : "/") + s;
    const std::string got(out.data(), r.length);
    RC_ASSERT(got == want);
    // Inside the root whatever the model says.
    const bool edges = got.empty() || (got.front() != '/' && got.back() != '/');
    RC_ASSERT(edges);
    RC_ASSERT(got.find("//") == std::string::npos);
    RC_ASSERT(got != ".." && got.rfind("../", 0) != 0 && got.find("/../") == std::string::npos);
    const bool last = got.size() < 3 || got.substr(got.size() - 3) != "/..";
    RC_ASSERT(last);
}

RC_GTEST_PROP(Path, AnyBytesStayInsideTheRoot, (const std::string& tail)) {
    const std::string target = "/" + tail;
    std::vector<char> in(target.begin(), target.end());
    std::vector<char> out(*rc::gen::inRange<size_t>(0, target.size() + 2));
    const Resolved r = resolve_path(in.data(), in.size(), out.data(), out.size());
    RC_ASSERT(r.status == 200 || r.status == 400 || r.status == 403 || r.status == 414);
    if (r.status != 200)
        return;
    RC_ASSERT(r.length <= out.size());
    size_t i = 0;
    while (i <= r.length) {
        size_t j = i;
        while (j < r.length && out[j] != '/')
            ++j;
        const std::string seg(out.data() + i, j - i);
        const bool good = r.length == 0 || (!seg.empty() && seg != "." && seg != "..");
        RC_ASSERT(good);
        RC_ASSERT(seg.find('\0') == std::string::npos);
        i = j + 1;
    }
}

RC_GTEST_PROP(Chunked, EncodeDecodeRoundTrip, (const std::string& body)) {
    // Encode: random chunk sizes, sometimes an extension, sometimes a trailer; bare LF or CR LF.
    std::string wire;
    const bool bare = *rc::gen::arbitrary<bool>();
    const std::string eol = bare ? "\n" : "\r\n";
    size_t at = 0;
    while (at < body.size()) {
        const size_t k = *rc::gen::inRange<size_t>(1, body.size() - at + 1);
        char head[kChunkHeaderMax];
        const size_t h = chunk_header(k, head);
        wire.append(head, h - 2);
        if (*rc::gen::arbitrary<bool>())
            wire += ";name=\"v\"";
        wire += eol + body.substr(at, k) + eol;
        at += k;
    }
    wire += "0" + eol;
    if (*rc::gen::arbitrary<bool>())
        wire += "Trailer: x" + eol;
    wire += eol;
    const std::string after = *rc::gen::arbitrary<std::string>();
    wire += after;
    // Decode from random pieces into random room.
    std::vector<uint8_t> in(wire.begin(), wire.end());
    ChunkedDecoder d;
    std::string out;
    size_t pos = 0, fed = 0;
    ChunkedDecoder::Outcome o = ChunkedDecoder::Outcome::kMore;
    for (int guard = 0; o == ChunkedDecoder::Outcome::kMore; ++guard) {
        RC_ASSERT(guard < 4 * static_cast<int>(in.size()) + 16);
        if (fed == pos || *rc::gen::inRange(0, 4) == 0)
            fed = std::min(in.size(), fed + *rc::gen::inRange<size_t>(1, 9));
        // Sometimes no room at all (a full output buffer); never for ever.
        std::vector<uint8_t> room(guard % 3 == 0 ? 0 : *rc::gen::inRange<size_t>(1, 9));
        size_t used = 0, made = 0;
        o = d.decode(in.data() + pos, fed - pos, room.data(), room.size(), &used, &made);
        RC_ASSERT(used <= fed - pos);
        RC_ASSERT(made <= room.size());
        out.append(room.begin(), room.begin() + static_cast<long>(made));
        pos += used;
    }
    RC_ASSERT(o == ChunkedDecoder::Outcome::kDone);
    RC_ASSERT(out == body);
    RC_ASSERT(in.size() - pos == after.size());
}

RC_GTEST_PROP(Request, FragmentsGiveTheSameAnswer, ()) {
    const std::vector<std::string> heads = {
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
        "\r\nHEAD /b%20c HTTP/1.0\nConnection: keep-alive\n\n",
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "BREW / HTTP/1.1\r\n\r\n",
        "GET / HTTP/3.0\r\nHost: a\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody",
        "GET /" + std::string(3000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(9000, 'b') + "\r\n\r\n",
    };
    const std::string text = *rc::gen::elementOf(heads);
    std::vector<char> all(text.begin(), text.end());
    RequestParser whole;
    const auto want = whole.feed(all.data(), all.size());
    RequestParser parts;
    size_t n = 0;
    auto got = RequestParser::Outcome::kIncomplete;
    while (got == RequestParser::Outcome::kIncomplete && n < text.size()) {
        n = std::min(text.size(), n + *rc::gen::inRange<size_t>(1, text.size() > 1000 ? 2048 : 64));
        std::vector<char> exact(text.begin(), text.begin() + static_cast<long>(n));
        got = parts.feed(exact.data(), exact.size());
        if (got == RequestParser::Outcome::kComplete) {
            // The request's Texts point into `exact`: compare before it goes.
            RC_ASSERT(want == RequestParser::Outcome::kComplete);
            RC_ASSERT(parts.request().head_length == whole.request().head_length);
            RC_ASSERT(std::string(parts.request().target.data, parts.request().target.length) ==
                      std::string(whole.request().target.data, whole.request().target.length));
            RC_ASSERT(parts.request().keep_alive == whole.request().keep_alive);
        }
    }
    RC_ASSERT(got == want);
    if (got == RequestParser::Outcome::kError)
        RC_ASSERT(parts.status() == whole.status());
}

}  // namespace
}  // namespace keel::http
