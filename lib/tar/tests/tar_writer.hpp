// A tiny ustar writer for tests only: the model side of the property tests and the base of
// the hand-corrupted archives. It writes what GNU tar writes with --format=ustar (directories
// with a trailing '/', long paths split at a '/' into prefix and name, "%07o\0" numbers,
// "%06o\0 " checksum), and nothing the reader does not read.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace keel::tar::testing {

struct WriteEntry {
    std::string path;  // as stored, before the writer adds a directory's '/'
    char typeflag = '0';
    std::string data;  // a regular file's contents
    std::string link;  // a symlink's target
    uint32_t mode = 0644;
    uint64_t mtime = 1700000000;
};

inline WriteEntry file(const std::string& path, const std::string& data) {
    WriteEntry e;
    e.path = path, e.typeflag = '0', e.data = data;
    return e;
}
inline WriteEntry directory(const std::string& path) {
    WriteEntry e;
    e.path = path, e.typeflag = '5';
    return e;
}

inline void put_octal(uint8_t* field, size_t length, uint64_t v) {
    char text[32];
    std::snprintf(text, sizeof text, "%0*llo", static_cast<int>(length - 1),
                  static_cast<unsigned long long>(v));
    std::memcpy(field, text, length - 1);
    field[length - 1] = 0;
}

// Recomputes a header's checksum after a test changed it (the unsigned sum, field as spaces).
inline void set_checksum(uint8_t* h) {
    std::memset(h + 148, ' ', 8);
    uint32_t sum = 0;
    for (int i = 0; i < 512; ++i)
        sum += h[i];
    char text[8];
    std::snprintf(text, sizeof text, "%06o", sum);
    std::memcpy(h + 148, text, 6);
    h[154] = 0;
    h[155] = ' ';
}

// Splits `path` into ustar's prefix and name at a '/', as tar does; false if it cannot be.
inline bool split_path(const std::string& path, std::string* prefix, std::string* name) {
    if (path.size() <= 100) {
        *prefix = "", *name = path;
        return true;
    }
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
        if (slash <= 155 && path.size() - slash - 1 <= 100 && path.size() - slash - 1 > 0) {
            *prefix = path.substr(0, slash), *name = path.substr(slash + 1);
            return true;
        }
    }
    return false;
}

inline std::vector<uint8_t> header(const WriteEntry& e, bool gnu = false) {
    std::vector<uint8_t> h(512, 0);
    std::string prefix, name;
    const std::string stored = e.typeflag == '5' ? e.path + "/" : e.path;
    if (gnu) {
        name = stored.substr(0, 100);
    } else if (!split_path(stored, &prefix, &name)) {
        name = stored.substr(0, 100);
    }
    std::memcpy(h.data(), name.data(), name.size());
    std::memcpy(h.data() + 345, prefix.data(), prefix.size());
    put_octal(h.data() + 100, 8, e.mode);
    put_octal(h.data() + 108, 8, 1000);
    put_octal(h.data() + 116, 8, 1000);
    put_octal(h.data() + 124, 12, e.typeflag == '0' ? e.data.size() : 0);
    put_octal(h.data() + 136, 12, e.mtime);
    h[156] = static_cast<uint8_t>(e.typeflag);
    std::memcpy(h.data() + 157, e.link.data(), std::min<size_t>(e.link.size(), 100));
    std::memcpy(h.data() + 257,
                gnu ? "ustar  \0"
                    : "ustar\0"
                      "00",
                8);
    std::memcpy(h.data() + 265, "keel", 4);
    std::memcpy(h.data() + 297, "keel", 4);
    set_checksum(h.data());
    return h;
}

// The whole archive: each header, its data padded to blocks, two zero blocks, and (like tar)
// zeros up to a 10240-byte record unless `exact`.
inline std::vector<uint8_t> write_archive(const std::vector<WriteEntry>& entries, bool gnu = false,
                                          bool exact = false) {
    std::vector<uint8_t> out;
    for (const WriteEntry& e : entries) {
        const std::vector<uint8_t> h = header(e, gnu);
        out.insert(out.end(), h.begin(), h.end());
        if (e.typeflag == '0') {
            out.insert(out.end(), e.data.begin(), e.data.end());
            out.resize((out.size() + 511) / 512 * 512, 0);
        }
    }
    out.resize(out.size() + 1024, 0);
    if (!exact)
        out.resize((out.size() + 10239) / 10240 * 10240, 0);
    return out;
}

}  // namespace keel::tar::testing
