#include <keel/tar/tar.hpp>

namespace keel::tar {

namespace {

// The ustar header (POSIX.1-1988, pax(1) "ustar Interchange Format"): offsets and lengths.
constexpr uint32_t kName = 0, kNameLength = 100;
constexpr uint32_t kMode = 100, kUid = 108, kGid = 116, kIdLength = 8;
constexpr uint32_t kSize = 124, kMtime = 136, kNumberLength = 12;
constexpr uint32_t kChecksum = 148, kChecksumLength = 8;
constexpr uint32_t kTypeflag = 156;
constexpr uint32_t kLinkname = 157;
constexpr uint32_t kMagic = 257;  // 6 bytes of magic, then 2 of version
constexpr uint32_t kPrefix = 345, kPrefixLength = 155;

// Why a numeric field was refused, per field: the reason names the field.
enum Field : uint8_t { kFieldMode, kFieldUid, kFieldGid, kFieldSize, kFieldMtime, kFieldChecksum };
enum Bad : uint8_t { kBase256, kEmpty, kDigit, kUnterminated, kOverflow };
constexpr const char* kNumberReasons[6][5] = {
    {"mode field: base-256 number (GNU extension) not supported", "mode field: no digits",
     "mode field: not an octal digit", "mode field: no NUL or space after the digits",
     "mode field: number too large"},
    {"uid field: base-256 number (GNU extension) not supported", "uid field: no digits",
     "uid field: not an octal digit", "uid field: no NUL or space after the digits",
     "uid field: number too large"},
    {"gid field: base-256 number (GNU extension) not supported", "gid field: no digits",
     "gid field: not an octal digit", "gid field: no NUL or space after the digits",
     "gid field: number too large"},
    {"size field: base-256 number (GNU extension) not supported", "size field: no digits",
     "size field: not an octal digit", "size field: no NUL or space after the digits",
     "size field: number too large"},
    {"mtime field: base-256 number (GNU extension) not supported", "mtime field: no digits",
     "mtime field: not an octal digit", "mtime field: no NUL or space after the digits",
     "mtime field: number too large"},
    {"checksum field: base-256 number not allowed", "checksum field: no digits",
     "checksum field: not an octal digit", "checksum field: no NUL or space after the digits",
     "checksum field: number too large"},
};

// An octal field: optional leading spaces (as pre-POSIX writers padded), at least one digit,
// then one or more NULs or spaces up to the end of the field. `limit` is the largest value the
// caller's type holds.
const char* parse_octal(const uint8_t* f, uint32_t length, Field which, uint64_t limit,
                        uint64_t* out) {
    const char* const* why = kNumberReasons[which];
    if ((f[0] & 0x80) != 0)
        return why[kBase256];
    uint32_t i = 0;
    while (i < length && f[i] == ' ')
        ++i;
    uint64_t v = 0;
    const uint32_t first = i;
    for (; i < length && f[i] != 0 && f[i] != ' '; ++i) {
        if (f[i] < '0' || f[i] > '7')
            return why[kDigit];
        if (v > (limit >> 3))
            return why[kOverflow];
        v = (v << 3) | static_cast<uint64_t>(f[i] - '0');
        if (v > limit)
            return why[kOverflow];
    }
    if (i == first)
        return why[kEmpty];
    if (i == length)
        return why[kUnterminated];
    for (; i < length; ++i) {
        if (f[i] != 0 && f[i] != ' ')
            return why[kUnterminated];
    }
    *out = v;
    return nullptr;
}

// A string field ends at its first NUL or fills the field (POSIX allows a 100-byte name with no
// NUL, and GNU tar writes one): the field's length bounds it either way.
uint32_t field_length(const uint8_t* f, uint32_t length) {
    uint32_t n = 0;
    while (n < length && f[n] != 0)
        ++n;
    return n;
}

bool same(const uint8_t* a, const char* b, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
        if (a[i] != static_cast<uint8_t>(b[i]))
            return false;
    }
    return true;
}

bool zero_block(const uint8_t* p) {
    for (uint32_t i = 0; i < kBlockSize; ++i) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

bool control(uint8_t c) {
    return c < 0x20 || c == 0x7f;
}

}  // namespace

const char* normalize_path(const char* path, size_t length, bool directory, char* out,
                           uint32_t* out_length) {
    *out_length = 0;
    out[0] = '\0';
    if (length == 0)
        return "empty name";
    if (path[0] == '/')
        return "absolute path (a path must stay inside the archive)";
    for (size_t i = 0; i < length; ++i) {
        if (control(static_cast<uint8_t>(path[i])))
            return "control character in a path";
    }
    size_t end = length;
    if (path[end - 1] == '/') {
        if (!directory)
            return "a path ending in '/' names a non-directory";
        --end;
    }
    uint32_t n = 0;
    size_t at = 0;
    while (at < end) {
        size_t stop = at;
        while (stop < end && path[stop] != '/')
            ++stop;
        const size_t part = stop - at;
        if (part == 0)
            return "empty path component ('//')";
        if (part == 2 && path[at] == '.' && path[at + 1] == '.')
            return "'..' in a path (a path must stay inside the archive)";
        if (!(part == 1 && path[at] == '.')) {
            const size_t need = (n == 0 ? 0 : 1) + part;
            if (need > kMaxPath - n)
                return "path longer than 256 bytes";
            if (n != 0)
                out[n++] = '/';
            for (size_t i = 0; i < part; ++i)
                out[n++] = path[at + i];
        }
        // A '/' just before `end` was a second trailing one: an empty last component.
        if (stop < end && stop + 1 == end)
            return "empty path component ('//')";
        at = stop + 1;
    }
    out[n] = '\0';
    if (n == 0 && !directory)
        return "a path naming the archive's root must be a directory";
    *out_length = n;
    return nullptr;
}

Step Reader::fail(const char* why) {
    error_ = why;
    return Step::kError;
}

Step Reader::next(Entry* out) {
    if (error_ != nullptr)
        return Step::kError;
    if (ended_)
        return Step::kEnd;
    const uint64_t left = size_ - offset_;
    if (left == 0)
        return fail("archive ends without the end-of-archive marker (two zero blocks)");
    if (left < kBlockSize)
        return fail("archive truncated inside a header");
    const uint8_t* h = archive_ + offset_;
    if (zero_block(h)) {
        if (left < 2 * kBlockSize)
            return fail("archive ends after one zero block (the end marker is two)");
        if (!zero_block(h + kBlockSize))
            return fail("a lone zero block inside the archive");
        ended_ = true;
        return Step::kEnd;
    }

    // Magic and version: POSIX "ustar\0" "00", or GNU tar's own "ustar " " \0" (what it writes
    // without --format=ustar). In the GNU format the prefix field holds other data.
    bool posix;
    if (same(h + kMagic,
             "ustar\0"
             "00",
             8))
        posix = true;
    else if (same(h + kMagic, "ustar  \0", 8))
        posix = false;
    else if (same(h + kMagic, "ustar", 5))
        return fail("unknown ustar magic or version");
    else
        return fail("not a ustar header (no 'ustar' magic)");

    // The checksum: the unsigned sum of the header's bytes, its own field counted as spaces.
    // (Some historic writers summed signed chars; GNU tar does not, and nothing else writes
    // Keel's images, so that variant is refused.)
    uint64_t stored = 0;
    if (const char* why =
            parse_octal(h + kChecksum, kChecksumLength, kFieldChecksum, 0xffffffff, &stored))
        return fail(why);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < kBlockSize; ++i)
        sum += (i >= kChecksum && i < kChecksum + kChecksumLength) ? ' ' : h[i];
    if (sum != stored)
        return fail("header checksum mismatch");

    uint64_t mode = 0, uid = 0, gid = 0, size = 0, mtime = 0;
    const char* why = parse_octal(h + kMode, kIdLength, kFieldMode, 0xffffffff, &mode);
    if (why == nullptr)
        why = parse_octal(h + kUid, kIdLength, kFieldUid, 0xffffffff, &uid);
    if (why == nullptr)
        why = parse_octal(h + kGid, kIdLength, kFieldGid, 0xffffffff, &gid);
    if (why == nullptr)
        why = parse_octal(h + kSize, kNumberLength, kFieldSize, ~0ull, &size);
    if (why == nullptr)
        why = parse_octal(h + kMtime, kNumberLength, kFieldMtime, ~0ull, &mtime);
    if (why != nullptr)
        return fail(why);

    Entry& e = *out;
    e.typeflag = static_cast<char>(h[kTypeflag]);
    switch (e.typeflag) {
        case '0':
        case '\0':
        case '7':
            e.type = Type::kFile;
            break;
        case '5':
            e.type = Type::kDirectory;
            break;
        case '2':
            e.type = Type::kSymlink;
            break;
        default:
            e.type = Type::kUnsupported;
            break;
    }
    // These have no data in the archive (POSIX: size zero); a size there would be skipped by
    // some readers and not by others.
    if (e.typeflag >= '1' && e.typeflag <= '6' && size != 0)
        return fail("non-zero size for a link, device, directory or FIFO");

    // The path: prefix "/" name (POSIX only), then the entry's path rules.
    const uint32_t name_length = field_length(h + kName, kNameLength);
    if (name_length == 0)
        return fail("empty name");
    const uint32_t prefix_length = posix ? field_length(h + kPrefix, kPrefixLength) : 0;
    char joined[kMaxPath];
    uint32_t n = 0;
    for (uint32_t i = 0; i < prefix_length; ++i)
        joined[n++] = static_cast<char>(h[kPrefix + i]);
    if (prefix_length != 0)
        joined[n++] = '/';
    for (uint32_t i = 0; i < name_length; ++i)
        joined[n++] = static_cast<char>(h[kName + i]);
    if ((why = normalize_path(joined, n, e.type == Type::kDirectory, e.path, &e.path_length)))
        return fail(why);

    e.link_length = 0;
    e.link[0] = '\0';
    if (e.type == Type::kSymlink) {
        const uint32_t link_length = field_length(h + kLinkname, kMaxLink);
        if (link_length == 0)
            return fail("symlink with an empty target");
        for (uint32_t i = 0; i < link_length; ++i) {
            if (control(h[kLinkname + i]))
                return fail("control character in a symlink target");
            e.link[i] = static_cast<char>(h[kLinkname + i]);
        }
        e.link[link_length] = '\0';
        e.link_length = link_length;
    }

    // The data: whole blocks after the header, all inside the archive.
    const uint64_t blocks = size / kBlockSize + (size % kBlockSize != 0 ? 1 : 0);
    if (blocks > (left - kBlockSize) / kBlockSize)
        return fail("entry data runs past the end of the archive");
    e.mode = static_cast<uint32_t>(mode);
    e.uid = static_cast<uint32_t>(uid);
    e.gid = static_cast<uint32_t>(gid);
    e.mtime = mtime;
    e.size = size;
    e.data = size != 0 ? h + kBlockSize : nullptr;
    e.header_offset = offset_;
    offset_ += kBlockSize + blocks * kBlockSize;
    return Step::kEntry;
}

const char* validate(const uint8_t* archive, size_t size, uint32_t* entries) {
    *entries = 0;
    Reader r(archive, size);
    Entry e;
    for (;;) {
        switch (r.next(&e)) {
            case Step::kEntry:
                ++*entries;
                break;
            case Step::kEnd:
                return nullptr;
            case Step::kError:
                return r.error();
        }
    }
}

const char* find(const uint8_t* archive, size_t size, const char* path, size_t path_length,
                 Entry* out, bool* found) {
    *found = false;
    char want[kMaxPath + 1];
    uint32_t want_length = 0;
    if (const char* why = normalize_path(path, path_length, true, want, &want_length))
        return why;
    // "etc/" asks for a directory; "etc" for whatever is there.
    const bool directory_only = path_length != 0 && path[path_length - 1] == '/';
    Reader r(archive, size);
    Entry e;
    for (;;) {
        switch (r.next(&e)) {
            case Step::kEntry:
                break;
            case Step::kEnd:
                return nullptr;
            case Step::kError:
                *found = false;
                return r.error();
        }
        if (e.path_length != want_length || (directory_only && e.type != Type::kDirectory))
            continue;
        bool equal = true;
        for (uint32_t i = 0; i < want_length && equal; ++i)
            equal = e.path[i] == want[i];
        if (!equal)
            continue;
        if (*found) {
            *found = false;
            return "path names more than one entry in the archive";
        }
        *out = e;
        *found = true;
    }
}

}  // namespace keel::tar
