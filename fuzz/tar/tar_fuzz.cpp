// ustar reader fuzz target (lib/tar): raw bytes as an archive. Every entry the Reader accepts
// is re-read by this file's own oracle at the offsets the ustar format fixes: magic, the
// unsigned checksum, the size field, the header and data inside the input, headers one after
// another with nothing skipped; its path relative, without "..", "." or empty components. A
// refusal has a reason; validate() agrees with the walk (same end, same count); find() finds
// each of the first entries of a valid archive at its own header (or reports it twice); the
// same bytes always give the same answer. Each input runs twice: as it is, and with the
// checksum of every block that carries the ustar magic fixed up, so that mutations reach the
// fields behind the checksum.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <keel/tar/tar.hpp>

namespace {

namespace tar = keel::tar;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "tar oracle: %s\n", what);
    std::abort();
}

// A numeric field read independently: octal digits after optional spaces.
uint64_t octal(const uint8_t* h, size_t at, size_t length) {
    uint64_t v = 0;
    size_t i = at;
    while (i < at + length && h[i] == ' ')
        ++i;
    for (; i < at + length && h[i] >= '0' && h[i] <= '7'; ++i)
        v = v * 8 + static_cast<uint64_t>(h[i] - '0');
    return v;
}

void check_entry(const std::vector<uint8_t>& a, const tar::Entry& e, uint64_t expected_offset) {
    if (e.header_offset != expected_offset)
        fail("an entry's header is not where the previous entry's data ended");
    if (e.header_offset > a.size() || a.size() - e.header_offset < tar::kBlockSize)
        fail("accepted a header outside the input");
    const uint8_t* h = a.data() + e.header_offset;
    if (std::memcmp(h + 257,
                    "ustar\0"
                    "00",
                    8) != 0 &&
        std::memcmp(h + 257, "ustar  \0", 8) != 0)
        fail("accepted a header without a ustar magic");
    uint64_t sum = 0;
    for (size_t i = 0; i < tar::kBlockSize; ++i)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    if (sum != octal(h, 148, 8))
        fail("accepted a header whose checksum does not match");
    if (e.size != octal(h, 124, 12))
        fail("entry size is not the size field");
    const uint64_t room = a.size() - e.header_offset - tar::kBlockSize;
    if ((e.size + tar::kBlockSize - 1) / tar::kBlockSize * tar::kBlockSize > room)
        fail("accepted data running past the input");
    if ((e.size == 0) != (e.data == nullptr) || (e.size != 0 && e.data != h + tar::kBlockSize))
        fail("entry data is not the blocks after its header");
    if ((e.type == tar::Type::kDirectory || e.type == tar::Type::kSymlink) && e.size != 0)
        fail("a directory or symlink with data");
    const std::string p(e.path);
    if (p.size() != e.path_length || p.size() > tar::kMaxPath)
        fail("path length wrong");
    if (p.empty() && e.type != tar::Type::kDirectory)
        fail("a non-directory names the root");
    const std::string slashed = "/" + p + "/";
    if ((!p.empty() && p[0] == '/') || p.find("//") != std::string::npos ||
        slashed.find("/../") != std::string::npos || slashed.find("/./") != std::string::npos)
        fail("accepted a path that is absolute, has '..', '.' or an empty component");
    for (char c : p) {
        if (static_cast<uint8_t>(c) < 0x20 || c == 0x7f)
            fail("accepted a control byte in a path");
    }
    if (e.type == tar::Type::kSymlink &&
        (e.link_length == 0 || std::strlen(e.link) != e.link_length))
        fail("symlink target empty or its length wrong");
}

void run(const std::vector<uint8_t>& a) {
    tar::Reader r(a.data(), a.size());
    tar::Entry e;
    std::vector<tar::Entry> seen;
    uint64_t next = 0;
    uint32_t entries = 0;
    tar::Step s;
    while ((s = r.next(&e)) == tar::Step::kEntry) {
        check_entry(a, e, next);
        next = e.header_offset + tar::kBlockSize +
               (e.size + tar::kBlockSize - 1) / tar::kBlockSize * tar::kBlockSize;
        if (r.offset() != next)
            fail("the reader's offset is not after the entry's data");
        if (seen.size() < 8)
            seen.push_back(e);
        if (++entries > a.size() / tar::kBlockSize)
            fail("more entries than blocks");
    }
    if (s == tar::Step::kError && (r.error() == nullptr || r.error()[0] == '\0'))
        fail("refused without a reason");
    if (r.next(&e) != s)
        fail("the walk's end is not sticky");

    uint32_t count = 0;
    const char* why = tar::validate(a.data(), a.size(), &count);
    if ((why == nullptr) != (s == tar::Step::kEnd) || (why == nullptr && count != entries))
        fail("validate and the walk disagree");
    if (why != nullptr && std::strcmp(why, r.error()) != 0)
        fail("validate gives another reason than the walk");
    if (why != nullptr)
        return;
    for (const tar::Entry& want : seen) {
        tar::Entry got;
        bool found = false;
        // The root's path is empty; "." asks for it.
        const char* path = want.path_length == 0 ? "." : want.path;
        const size_t length = want.path_length == 0 ? 1 : want.path_length;
        const char* find_why = tar::find(a.data(), a.size(), path, length, &got, &found);
        if (find_why != nullptr) {
            if (std::strcmp(find_why, "path names more than one entry in the archive") != 0)
                fail("find refused a path the walk accepted");
            continue;
        }
        if (!found || got.header_offset != want.header_offset)
            fail("find did not find an entry at its own header");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<uint8_t> a(data, data + size);  // exact: ASan sees overruns
    run(a);
    bool fixed = false;
    for (size_t at = 0; a.size() - at >= tar::kBlockSize; at += tar::kBlockSize) {
        uint8_t* h = a.data() + at;
        if (std::memcmp(h + 257, "ustar", 5) != 0)
            continue;
        std::memset(h + 148, ' ', 8);
        uint32_t sum = 0;
        for (size_t i = 0; i < tar::kBlockSize; ++i)
            sum += h[i];
        char text[8];
        std::snprintf(text, sizeof text, "%06o", sum & 0777777);
        std::memcpy(h + 148, text, 6);
        h[154] = 0;
        fixed = true;
    }
    if (fixed)
        run(a);
    return 0;
}
