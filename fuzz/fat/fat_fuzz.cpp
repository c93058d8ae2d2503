// FAT volume fuzz target (lib/fat). Input: one byte of operation choices, four bytes (LE) of
// sectors the device has past the input's own, then the volume's first bytes from its boot
// sector. The device is sparse: sectors past the input read as zeros until written, so a seed
// needs only a volume's metadata, not its whole size. The image is mounted and, if accepted,
// walked (lists and lookups three levels deep, every file read), then changed (create, write,
// truncate, mkdir, rename, remove, flush). Oracles: no access ever falls outside the device,
// no write falls outside the volume the boot sector describes (checked here from the raw BPB
// fields, independently of the library), a refused mount has a reason, a listed name is found
// by lookup, and every call returns (libFuzzer's timeout catches a hang). With bit 5 of the
// choices the volume is mounted through a PageCache of 8 pages over the device (the FAT
// server's arrangement), and the file written is also mapped (Volume::map).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <keel/fat/page_cache.hpp>
#include <keel/fat/volume.hpp>

namespace {

namespace fat = keel::fat;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fat oracle: %s\n", what);
    std::abort();
}

class SparseDevice final : public fat::BlockDevice {
  public:
    SparseDevice(const uint8_t* data, size_t size, uint64_t extra, uint64_t volume_sectors)
        : data_(data), size_(size), volume_(volume_sectors) {
        sector_size = 512;
        sector_count = size / 512 + extra;
    }
    fat::Error read(uint64_t sector, uint32_t count, uint8_t* out) override {
        check(sector, count);
        for (uint32_t i = 0; i < count; ++i) {
            uint8_t* o = out + static_cast<size_t>(i) * 512;
            const auto w = written_.find(sector + i);
            if (w != written_.end())
                std::memcpy(o, w->second.data(), 512);
            else if ((sector + i + 1) * 512 <= size_)
                std::memcpy(o, data_ + (sector + i) * 512, 512);
            else
                std::memset(o, 0, 512);
        }
        return fat::Error::kOk;
    }
    fat::Error write(uint64_t sector, uint32_t count, const uint8_t* in) override {
        check(sector, count);
        if (sector + count > volume_)
            fail("write outside the volume the boot sector describes");
        for (uint32_t i = 0; i < count; ++i)
            written_[sector + i].assign(in + static_cast<size_t>(i) * 512,
                                        in + static_cast<size_t>(i + 1) * 512);
        return fat::Error::kOk;
    }
    fat::Error flush() override { return fat::Error::kOk; }

  private:
    void check(uint64_t sector, uint32_t count) const {
        if (count == 0 || sector >= sector_count || count > sector_count - sector)
            fail("access outside the device");
    }
    const uint8_t* data_;
    size_t size_;
    uint64_t volume_;
    std::unordered_map<uint64_t, std::vector<uint8_t>> written_;
};

const fat::DateTime kNow = fat::make_time(2026, 12, 5, 12, 0, 0);

void walk(fat::Volume& v, uint8_t* buf, size_t buf_size) {
    fat::Node stack[8];
    int depth[8];
    int top = 0;
    stack[top] = v.root();
    depth[top++] = 0;
    int budget = 200;  // entries visited in all
    while (top > 0 && budget > 0) {
        --top;
        const fat::Node dir = stack[top];
        const int d = depth[top];
        uint32_t cursor = 0;
        fat::Entry e;
        while (budget-- > 0 && v.list(dir, &cursor, &e) == fat::Error::kOk) {
            fat::Node n;
            const fat::Error le = v.lookup(dir, e.name, e.name_length, &n);
            if (le == fat::Error::kNotFound || le == fat::Error::kNotDirectory)
                fail("a listed name is not found");
            if (e.node.directory()) {
                if (d < 3 && top < 8) {
                    stack[top] = e.node;
                    depth[top++] = d + 1;
                }
            } else {
                size_t done = 0;
                (void)v.read(e.node, 0, buf, buf_size, &done);
                if (done > buf_size || done > e.node.size)
                    fail("read more than asked or than the file holds");
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 5 + 512)
        return 0;
    const uint8_t ops = data[0];
    const uint64_t extra = (data[1] | data[2] << 8 | uint64_t{data[3]} << 16) & 0xFFFFFF;
    const uint8_t* image = data + 5;
    const size_t image_size = size - 5;
    // The volume's size from the raw BPB, for the write oracle.
    const uint64_t tot16 = image[19] | image[20] << 8;
    const uint64_t tot32 = image[32] | image[33] << 8 | image[34] << 16 | uint64_t{image[35]} << 24;
    SparseDevice dev(image, image_size, extra, tot16 != 0 ? tot16 : tot32);
    std::vector<uint8_t> cache(fat::BlockCache::bytes_for(8, 512));
    std::vector<uint8_t> page_memory(fat::PageCache::bytes_for(8));
    fat::PageCache pages;
    fat::BlockDevice* under = &dev;
    if ((ops & 32) != 0 &&
        pages.init(dev, page_memory.data(), page_memory.size()) == fat::Error::kOk)
        under = &pages;
    fat::Volume v;
    const fat::Error me = v.mount(*under, cache.data(), cache.size());
    if (me != fat::Error::kOk) {
        if (me == fat::Error::kCorrupt && v.reason()[0] == '\0')
            fail("a refused mount without a reason");
        return 0;
    }
    static uint8_t buf[1 << 16];
    walk(v, buf, sizeof buf);
    if ((ops & 1) == 0)
        return 0;
    // Changes.
    const fat::Node root = v.root();
    fat::Node f, d, g;
    for (size_t i = 0; i < 3000; ++i)
        buf[i] = static_cast<uint8_t>(i * 7);
    if (v.create(root, "fuzz file name.txt", 18, false, kNow, &f) == fat::Error::kOk) {
        (void)v.write(f, 0, buf, 3000, kNow);
        (void)v.write(f, (ops & 2) != 0 ? 10000 : 100, buf, 700, kNow);
        size_t done = 0;
        (void)v.read(f, 0, buf + 4000, 4000, &done);
        fat::Volume::Extent runs[8];
        uint32_t count = 0;
        if (v.map(f, 50, 9000, runs, 8, &count) == fat::Error::kOk) {
            for (uint32_t i = 0; i < count; ++i) {
                if (runs[i].count == 0 || runs[i].sector >= dev.sector_count ||
                    runs[i].count > dev.sector_count - runs[i].sector)
                    fail("a mapped run outside the device");
            }
        }
        (void)v.truncate(f, (ops & 4) != 0 ? 0 : 1500, kNow);
    }
    if (v.create(root, "D", 1, true, kNow, &d) == fat::Error::kOk) {
        (void)v.create(d, "inner", 5, false, kNow, &g);
        (void)v.rename(root, "fuzz file name.txt", 18, d, "moved", 5);
        (void)v.remove(root, "D", 1);  // not empty
        (void)v.remove(d, "moved", 5);
    }
    // Something that was on the volume already.
    uint32_t cursor = 0;
    fat::Entry e;
    if (v.list(root, &cursor, &e) == fat::Error::kOk) {
        if ((ops & 8) != 0)
            (void)v.remove(root, e.name, e.name_length);
        else if ((ops & 16) != 0)
            (void)v.rename(root, e.name, e.name_length, root, "renamed", 7);
        else if (!e.node.directory())
            (void)v.write(e.node, e.node.size / 2, buf, 2000, kNow);
    }
    (void)v.flush();
    walk(v, buf, sizeof buf);
    return 0;
}
