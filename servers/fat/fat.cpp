// fat: serves a FAT12/16/32 volume (lib/fat) from a block device object as files and
// directories. Arguments: DEVICE NAME, where DEVICE is a path under the "srv" it was given (a
// driver's disk or partition, e.g. "blk0/1"; waited for while its driver starts) and NAME is
// the name its root directory gets in the "mnt" it was given. It flushes what was written
// when idle for kIdleFlushNs, on every sync, and when its port closes. When the device's
// driver is restarted, the device is opened again and the operation sent again
// (block_client.hpp): its clients do not notice beyond the wait.
#include <keel/c/mem.hpp>
#include <keel/fat/page_cache.hpp>

#include "block_client.hpp"
#include "files.hpp"
#include "serve.hpp"

using namespace keel;
using namespace keel::user;
using keel::fatserver::BlockClient;
using keel::fatserver::Files;

namespace {

constexpr uint64_t kWaitForDeviceNs = 10'000'000'000;  // a driver that takes longer is broken
constexpr uint64_t kIdleFlushNs = 50'000'000;          // dirty data reaches the disk this soon
// lib/fat's sector cache: the metadata being changed (write-back) and what is read most. Its
// lookups scan every slot, and whatever it misses the page cache below mostly has, so it stays
// small.
constexpr uint32_t kCacheSlots = 256;
// The page cache under the volume (file data, and the FAT and directories as the device has
// them): this much memory if the system gives it, else halves of it down to kLeastPageBytes.
// 32 MiB: the cache is LRU, so a file read from start to end that does not fit (16 MiB of data
// beside the FAT's pages in a 16 MiB cache: B10's bulk file) evicts each page before it is read
// again and every read went to the device; twice that holds it with room to spare.
constexpr size_t kPageCacheBytes = 32u << 20;
constexpr size_t kLeastPageBytes = 256u << 10;
// The serve queue: 64 entries (32 operations at once), 32 buffers of 64 KiB.
constexpr uint32_t kCapacity = 64, kBuffers = 32, kBufferSize = 64 * 1024;
constexpr uint32_t kAheadRuns = 128;  // runs of sectors fetched ahead for one batch of reads

// Opens `path` under `dir`, retrying while its first component (the driver's disk) is there
// but the rest is not yet (a partition table still being read); a handle or -Error. Without
// the disk itself there is nothing to wait for.
int64_t wait_for(Handle dir, const char* path) {
    const uint64_t until = sys::clock_ns() + kWaitForDeviceNs;
    uint64_t first = 0;
    while (path[first] != '\0' && path[first] != '/')
        ++first;
    for (;;) {
        const int64_t h = open_path(dir, path, c::length(path));
        if (h != -static_cast<int64_t>(abi::Error::kNotFound) || sys::clock_ns() > until)
            return h;
        const int64_t disk = open_path(dir, path, first);
        if (disk < 0)
            return h;
        (void)sys::do_io(static_cast<uint64_t>(disk), Op::kClose);
        (void)sys::sleep_ns(10'000'000);
    }
}

fat::Volume g_volume;
BlockClient g_device;
fat::PageCache g_pages;
Files g_files(g_volume, &g_pages);  // g_pages is empty (drops nothing) when not in use

}  // namespace

int keel_main(const StartInfo& start) {
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[3];
    const int count = split_args(start.args, start.args_length, storage, sizeof storage, words, 3);
    if (count != 2) {
        print("fat: usage: fat DEVICE NAME (DEVICE under srv/, NAME in mnt/)\n");
        return 2;
    }
    const char* device = words[0];
    const char* name = words[1];
    const int64_t srv = open(root(), "srv");
    const int64_t mnt = open(root(), "mnt");
    if (srv < 0 || mnt < 0) {
        print("fat: needs srv and mnt in its root\n");
        return 2;
    }
    const int64_t disk = wait_for(static_cast<Handle>(srv), device);
    if (disk < 0) {
        print("fat: srv/%s: %s\n", device, error_text(disk));
        return 1;
    }
    // Waited for; now held by the block client, which opens it again by its path whenever its
    // driver restarts (block_client.hpp).
    (void)sys::do_io(static_cast<uint64_t>(disk), Op::kClose);
    if (const int64_t r = g_device.attach(static_cast<Handle>(srv), device, c::length(device));
        r < 0) {
        print("fat: srv/%s: not a block device: %s\n", device, error_text(r));
        return 1;
    }
    // The volume reads and writes through the page cache when there is memory for one.
    fat::BlockDevice* under = &g_device;
    for (size_t bytes = kPageCacheBytes; bytes >= kLeastPageBytes; bytes /= 2) {
        auto* memory = static_cast<uint8_t*>(allocate(bytes));
        if (memory == nullptr)
            continue;
        if (g_pages.init(g_device, memory, bytes) == fat::Error::kOk)
            under = &g_pages;
        else
            release(memory);
        break;
    }
    const size_t cache_bytes = fat::BlockCache::bytes_for(kCacheSlots, g_device.sector_size);
    auto* cache = static_cast<uint8_t*>(allocate(cache_bytes));
    if (cache == nullptr) {
        print("fat: no memory for the cache\n");
        return 1;
    }
    if (const fat::Error e = g_volume.mount(*under, cache, cache_bytes); e != fat::Error::kOk) {
        print("fat: srv/%s: cannot mount: %s%s%s\n", device, fat::describe(e),
              e == fat::Error::kCorrupt ? ": " : "",
              e == fat::Error::kCorrupt ? g_volume.reason() : "");
        return 1;
    }
    ServePort sp;
    if (const int64_t r = sp.create(kCapacity, kBuffers, kBufferSize); r < 0) {
        print("fat: cannot serve: %s\n", error_text(r));
        return 1;
    }
    if (const int64_t r =
            sys::do_io(static_cast<uint64_t>(mnt), Op::kCreate, name, c::length(name), sp.served());
        r < 0) {
        print("fat: mnt/%s: %s\n", name, error_text(r));
        return 1;
    }
    const char* types[] = {"FAT12", "FAT16", "FAT32"};
    print("fat: srv/%s: %s, %u clusters of %u bytes, %u KiB page cache, served as mnt/%s\n", device,
          types[static_cast<int>(g_volume.type())], g_volume.cluster_count(),
          g_volume.cluster_bytes(),
          under == &g_pages ? g_pages.pages() * (fat::PageCache::kPageBytes / 1024) : 0u, name);
    for (;;) {
        // Wait for work; when idle with unwritten data, wait only until it is due on disk.
        const int64_t r = sp.sync(true, g_files.dirty() ? kIdleFlushNs : 0);
        if (r == -static_cast<int64_t>(abi::Error::kTimedOut)) {
            if (const fat::Error e = g_files.flush(); e != fat::Error::kOk)
                print("fat: mnt/%s: write-back failed: %s\n", name, fat::describe(e));
            continue;
        }
        if (r < 0)
            break;
        // Every operation there is, taken first: the file reads among them fetch what they
        // will miss all at once (several device requests in flight), then each is performed
        // in order as before.
        (void)sp.server().poll();
        static ipc::Operation ops[kCapacity];
        static const ipc::abi::Submission* requests[kCapacity];
        static uint64_t lengths[kCapacity];
        static fat::Volume::Extent ahead[kAheadRuns];
        static const char* said = nullptr;  // the last corruption reported
        uint32_t taken = 0, reads = 0;
        while (taken < kCapacity) {
            auto op = sp.server().take();
            if (!op)
                break;
            ops[taken] = *op;
            requests[taken] = &ops[taken].request;
            lengths[taken] = sp.server().bytes(ops[taken]).size();
            const auto o = static_cast<Op>(op->request.opcode - abi::kQueueOpBase);
            reads += o == Op::kRead || o == Op::kPeek || o == Op::kReadAt ? 1 : 0;
            ++taken;
        }
        if (reads > 1 && under == &g_pages) {
            const uint32_t runs = g_files.plan(requests, lengths, taken, ahead, kAheadRuns);
            if (runs > 1)
                g_device.read_ahead(ahead, runs, g_pages);
        }
        for (uint32_t i = 0; i < taken; ++i) {
            uint64_t value = 0;
            const uint16_t status =
                g_files.perform(ops[i].request, sp.server().bytes(ops[i]), &value);
            // Corruption found after the mount (a crash's leftovers, a hostile volume): why, on
            // the console, once for each reason in a row (a client retrying cannot flood it).
            if (status == abi::queue_error_status(abi::Error::kCorrupt) &&
                g_volume.reason() != said) {
                said = g_volume.reason();
                print("fat: mnt/%s: corrupt: %s\n", name, said);
            }
            (void)sp.server().complete(ops[i].id, status, value);
        }
        (void)sp.sync(false);
    }
    (void)g_files.flush();
    return 0;
}
