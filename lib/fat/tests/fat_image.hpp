// Test helpers for lib/fat: an in-memory block device over a byte vector (it refuses and
// counts any access outside its sectors), and images made, filled and checked by the host's
// dosfstools (mkfs.fat, fsck.fat) and mtools, run as commands in a scratch directory.
#pragma once

#include <keel/fat/volume.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace keel::fat::testing {

class MemoryDevice final : public BlockDevice {
  public:
    explicit MemoryDevice(std::vector<uint8_t> bytes, uint32_t ss = 512)
        : bytes_(std::move(bytes)) {
        sector_size = ss;
        sector_count = bytes_.size() / ss;
    }
    Error read(uint64_t sector, uint32_t count, uint8_t* out) override {
        if (!inside(sector, count))
            return Error::kIo;
        std::memcpy(out, bytes_.data() + sector * sector_size,
                    static_cast<size_t>(count) * sector_size);
        ++reads;
        read_sectors += count;
        return fail_reads || reads > fail_reads_from ? Error::kIo : Error::kOk;
    }
    Error write(uint64_t sector, uint32_t count, const uint8_t* in) override {
        if (!inside(sector, count))
            return Error::kIo;
        if (fail_writes)
            return Error::kIo;
        std::memcpy(bytes_.data() + sector * sector_size, in,
                    static_cast<size_t>(count) * sector_size);
        ++writes;
        written += count;
        // Logged and recorded a sector at a time: a device may tear a multi-sector write.
        for (uint32_t i = 0; i < count; ++i) {
            if (log_writes)
                write_log.push_back(sector + i);
            if (record) {
                const uint8_t* p = in + static_cast<size_t>(i) * sector_size;
                recorded.push_back({sector + i, std::vector<uint8_t>(p, p + sector_size)});
            }
        }
        return Error::kOk;
    }
    Error flush() override {
        ++flushes;
        if (log_writes)
            write_log.push_back(~uint64_t{0});  // a barrier
        if (record)
            recorded.push_back({~uint64_t{0}, {}});
        return Error::kOk;
    }
    bool inside(uint64_t sector, uint32_t count) {
        if (sector >= sector_count || count > sector_count - sector) {
            ++outside;
            return false;
        }
        return true;
    }
    std::vector<uint8_t>& bytes() { return bytes_; }

    uint64_t reads = 0, writes = 0, flushes = 0, outside = 0;  // calls (and refused ones)
    uint64_t read_sectors = 0, written = 0;                    // sectors they moved
    bool fail_reads = false, fail_writes = false, log_writes = false, record = false;
    uint64_t fail_reads_from = UINT64_MAX;  // reads after this many fail (their bytes still land)
    std::vector<uint64_t> write_log;
    // With `record`: every write in order with its bytes; a flush as sector ~0 with no bytes.
    struct Write {
        uint64_t sector;
        std::vector<uint8_t> bytes;
    };
    std::vector<Write> recorded;

  private:
    std::vector<uint8_t> bytes_;
};

inline int run(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string capture(const std::string& command) {
    std::string out;
    FILE* p = popen(command.c_str(), "r");
    if (p == nullptr)
        return out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    pclose(p);
    return out;
}

inline std::string mkfs_path() {
    for (const char* p : {"/usr/sbin/mkfs.fat", "/sbin/mkfs.fat"}) {
        if (access(p, X_OK) == 0)
            return p;
    }
    return "";
}

inline std::string fsck_path() {
    for (const char* p : {"/usr/sbin/fsck.fat", "/sbin/fsck.fat"}) {
        if (access(p, X_OK) == 0)
            return p;
    }
    return "";
}

inline bool have_tools() {
    return !mkfs_path().empty() && !fsck_path().empty() &&
           run("command -v mcopy >/dev/null 2>&1") == 0;
}

inline std::vector<uint8_t> load_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

inline void save_file(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Quoted for the shell (single quotes).
inline std::string q(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

// A FAT image of `kib` KiB made by mkfs.fat -F `bits` (extra options appended).
inline bool make_image(const std::filesystem::path& image, int bits, uint32_t kib,
                       const std::string& extra = "") {
    std::filesystem::remove(image);
    const std::string cmd = mkfs_path() + " -F " + std::to_string(bits) + " " + extra + " -C " +
                            q(image.string()) + " " + std::to_string(kib) + " >/dev/null 2>&1";
    return run(cmd) == 0;
}

inline std::string mtools_env() {
    return "MTOOLS_SKIP_CHECK=1 MTOOLS_NO_VFAT=0 ";
}

}  // namespace keel::fat::testing
