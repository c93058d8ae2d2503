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
// lib/fat's sector cache: the metadata being changed (write-back) and what is read most. A
// miss scans every slot for its victim, and whatever it misses the page cache below mostly
// has, so it stays small.
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

// Operations that read file data (what Files::plan fetches ahead for).
bool reads_file(const ipc::abi::Submission& s) {
    const auto op = static_cast<Op>(s.opcode - abi::kQueueOpBase);
    return op == Op::kRead || op == Op::kPeek || op == Op::kReadAt;
}

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
    // The operations taken and not yet performed, in the order taken (a ring: the served queue
    // never has more than kCapacity outstanding), each with the fetch it waits for.
    static ipc::Operation ops[kCapacity];
    static uint64_t ready_at[kCapacity];  // g_device.fetched() at which its pages are in
    static const ipc::abi::Submission* window[kCapacity];
    static uint64_t lengths[kCapacity];
    static uint64_t ready[kCapacity];
    static fat::Volume::Extent ahead[kAheadRuns];
    static const char* said = nullptr;  // the last corruption reported
    uint32_t head = 0, pending = 0;
    for (;;) {
        if (pending == 0) {
            // Fetches still out (a read-ahead past the last read) are collected first: each
            // holds one of the device's served slots until this server collects it, and the
            // device's other callers must not wait on a server that sleeps.
            while (g_device.fetching())
                g_device.fetch_wait();
            // Wait for work; when idle with unwritten data, wait only until it is due on disk.
            const int64_t r = sp.sync(true, g_files.dirty() ? kIdleFlushNs : 0);
            if (r == -static_cast<int64_t>(abi::Error::kTimedOut)) {
                if (const fat::Error e = g_files.flush(); e != fat::Error::kOk)
                    print("fat: mnt/%s: write-back failed: %s\n", name, fat::describe(e));
                continue;
            }
            if (r < 0)
                break;
        }
        // Every operation there is, taken at once: the file reads among them fetch the pages
        // they will miss asynchronously (several device requests in flight, g_device.fetch),
        // and operations are performed in order, each as soon as what it reads has arrived,
        // while new ones are taken and their fetches sent (a pipeline, not batch by batch).
        (void)sp.server().poll();
        const uint32_t before = pending;
        while (pending < kCapacity) {
            auto op = sp.server().take();
            if (!op)
                break;
            ops[(head + pending) % kCapacity] = *op;
            ready_at[(head + pending) % kCapacity] = g_device.fetched();
            ++pending;
        }
        uint32_t reads = 0;
        for (uint32_t i = 0; i < pending; ++i) {
            const ipc::Operation& op = ops[(head + i) % kCapacity];
            window[i] = &op.request;
            lengths[i] = sp.server().bytes(op).size();
            reads += reads_file(op.request) ? 1 : 0;
        }
        // A lone read out of order reads the device itself, straight into its buffer (no copy
        // through the pages); reads in company, and reads in order of a file (which also fetch
        // ahead of themselves), are fetched (Files::plan).
        if (pending > before && reads > 0 && under == &g_pages) {
            const uint64_t from = g_device.next_run();
            const uint32_t runs = g_files.plan(window, lengths, pending, before, reads == 1, from,
                                               ahead, kAheadRuns, ready);
            // fetch() numbers the runs from `from` on (skipping an empty one, so a number
            // planned is never too early): one past the last accepted caps them.
            const uint64_t last = g_device.fetch(ahead, runs, g_pages);
            for (uint32_t i = before; i < pending; ++i)
                ready_at[(head + i) % kCapacity] = ready[i] < last ? ready[i] : last;
        }
        // Performed in order, each once the pages it reads are in. Anything may be performed
        // while fetches are in flight: a write (an operation's, or lib/fat writing back a
        // sector it evicts while it serves a read) reaches the device only after the block
        // client has collected them (BlockClient::io), and the page cache refuses a piece
        // sent before a write that went through it (PageCache::fill), so the pages never hold
        // bytes older than the device's.
        bool completed = false;
        while (pending > 0) {
            ipc::Operation& op = ops[head];
            if (ready_at[head] > g_device.fetched())
                break;
            uint64_t value = 0;
            const uint16_t status = g_files.perform(op.request, sp.server().bytes(op), &value);
            // Corruption found after the mount (a crash's leftovers, a hostile volume): why, on
            // the console, once for each reason in a row (a client retrying cannot flood it).
            if (status == abi::queue_error_status(abi::Error::kCorrupt) &&
                g_volume.reason() != said) {
                said = g_volume.reason();
                print("fat: mnt/%s: corrupt: %s\n", name, said);
            }
            (void)sp.server().complete(op.id, status, value);
            head = (head + 1) % kCapacity;
            --pending;
            completed = true;
        }
        // Handed back now, unless the loop goes straight to sleep: its waiting sync hands them
        // back too, and switches to the caller at once (a served do_io's reply) instead of
        // waking it into the ready queue and sleeping in a second system call.
        if (completed && (pending > 0 || g_device.fetching()))
            (void)sp.sync(false);
        if (pending > 0)
            g_device.fetch_wait();  // the front waits for a fetch
    }
    (void)g_files.flush();
    return 0;
}
