// cksum [-o OUT] [FILE...]: each file's POSIX checksum and size ("CRC SIZE NAME", the same
// numbers as the host's cksum), or its input's ("CRC SIZE"). With -o the lines go to the file
// OUT (relative to "cwd", made or replaced) instead of the console: a job that writes its own
// output file, for the job server's file table.
#include <keel/c/format.hpp>
#include <keel/c/string.hpp>

#include "tools.hpp"

using namespace keel::tools;

namespace {

// POSIX cksum: CRC-32 with the polynomial 0x04C11DB7, most significant bit first, starting
// from 0, over the bytes and then the length (least significant byte first, only as many bytes
// as it needs), complemented.
class Crc {
  public:
    Crc() {
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i << 24;
            for (int k = 0; k < 8; ++k)
                c = (c & 0x80000000u) != 0 ? (c << 1) ^ 0x04C11DB7u : c << 1;
            table_[i] = c;
        }
    }
    void add(const char* bytes, uint64_t n) {
        for (uint64_t i = 0; i < n; ++i)
            crc_ = (crc_ << 8) ^ table_[((crc_ >> 24) ^ static_cast<uint8_t>(bytes[i])) & 0xff];
        size_ += n;
    }
    uint32_t finish() {
        uint32_t crc = crc_;
        for (uint64_t n = size_; n != 0; n >>= 8)
            crc = (crc << 8) ^ table_[((crc >> 24) ^ (n & 0xff)) & 0xff];
        return ~crc;
    }
    uint64_t size() const { return size_; }

  private:
    uint32_t table_[256];
    uint32_t crc_ = 0;
    uint64_t size_ = 0;
};

// The lines, gathered for -o.
char g_out[16 * 1024];
uint64_t g_out_length = 0;
bool g_to_file = false;

bool say(const char* line, uint64_t n) {
    if (!g_to_file)
        return emit(line, n);
    if (g_out_length + n > sizeof g_out)
        return false;
    keel::c::copy(g_out + g_out_length, line, n);
    g_out_length += n;
    return true;
}

// One file or the input: its line; false (said) when it cannot be read.
bool sum(int64_t h, const char* name, bool from_start) {
    static Crc crc;
    crc = Crc();
    const int64_t r = each_chunk(
        static_cast<Handle>(h),
        [&](const char* b, uint64_t n) {
            crc.add(b, n);
            return true;
        },
        from_start);
    if (r < 0) {
        complain("cksum", name != nullptr ? name : "input", error_text(r));
        return false;
    }
    char line[300];
    const uint32_t value = crc.finish();
    const size_t n = name != nullptr
                         ? keel::snformat(line, sizeof line, "%u %lu %s\n", value, crc.size(), name)
                         : keel::snformat(line, sizeof line, "%u %lu\n", value, crc.size());
    if (n >= sizeof line || !say(line, n)) {
        complain("cksum", name != nullptr ? name : "input", "output too long");
        return false;
    }
    return true;
}

// Stores the gathered lines as `path` (relative to "cwd", or absolute from "ns").
int64_t store(const char* path) {
    const char* slash = nullptr;
    for (const char* p = path; *p != '\0'; ++p)
        slash = *p == '/' ? p : slash;
    int64_t dir;
    const char* name = path;
    if (slash == nullptr) {
        dir = open(root(), "cwd");
    } else {
        char parent[256];
        const uint64_t k = static_cast<uint64_t>(slash - path);
        if (k + 2 > sizeof parent)
            return -static_cast<int64_t>(keel::abi::Error::kTooLarge);
        keel::c::copy(parent, path, k);
        parent[k == 0 ? 1 : k] = '\0';
        if (k == 0)
            parent[0] = '/';
        dir = open_file(parent);
        name = slash + 1;
    }
    if (dir < 0)
        return dir;
    const int64_t r = store_file(static_cast<Handle>(dir), name, g_out, g_out_length);
    (void)sys::do_io(static_cast<uint64_t>(dir), Op::kClose);
    return r;
}

}  // namespace

int keel_main(const StartInfo& start) {
    const Args args = arguments(start);
    if (args.count < 0) {
        complain("cksum", "arguments", "malformed");
        return 2;
    }
    int first = 0;
    const char* out = nullptr;
    if (args.count >= 1 && keel::str_equal(args.words[0], "-o")) {
        if (args.count < 2) {
            complain("cksum", "-o", "needs a file name");
            return 2;
        }
        out = args.words[1];
        g_to_file = true;
        first = 2;
    }
    bool ok = true;
    if (first == args.count) {
        ok = input() != 0 && sum(input(), nullptr, false);
        if (input() == 0)
            complain("cksum", "input", "none given");
    }
    for (int i = first; i < args.count; ++i) {
        const int64_t h = open_file(args.words[i]);
        if (h < 0) {
            complain("cksum", args.words[i], error_text(h));
            ok = false;
            continue;
        }
        ok = sum(h, args.words[i], true) && ok;
        (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    }
    if (out != nullptr) {
        const int64_t r = store(out);
        if (r < 0) {
            complain("cksum", out, error_text(r));
            return 1;
        }
    }
    return ok ? 0 : 1;
}
