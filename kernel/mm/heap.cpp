#include "mm/heap.hpp"

#include "lib/spin_lock.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/paging.hpp"
#include "panic.hpp"

namespace keel::heap {

namespace {

constexpr uint64_t kAlign = 16;
constexpr uint64_t kGrowBytes = 64 * 1024;
constexpr uint64_t kUsedMagic = 0x6b65656c75736564ull;  // "keelused"
constexpr uint64_t kFreeMagic = 0x6b65656c66726565ull;  // "keelfree"
constexpr uint64_t kMaxHeap = 1ull << 36;               // 64 GiB of the 512 GiB slot

// Header in front of every block; size counts the whole block including the header.
struct Block {
    uint64_t size;
    uint64_t magic;
    Block* next;  // next free block by address (free blocks only)
    uint64_t pad;
};
static_assert(sizeof(Block) % kAlign == 0);
constexpr uint64_t kHeader = 16;  // payload starts after size and magic
constexpr uint64_t kMinBlock = sizeof(Block);

SpinLock g_lock{"heap", LockRank::kHeap};
Block* g_free = nullptr;  // address-ordered
uint64_t g_end = mm::kHeapBase;
uint64_t g_live = 0;

uint64_t addr(const Block* b) {
    return reinterpret_cast<uint64_t>(b);
}

// Inserts b into the free list, merging with the neighbours it touches.
void insert_free(Block* b) {
    b->magic = kFreeMagic;
    Block* prev = nullptr;
    Block* cur = g_free;
    while (cur != nullptr && addr(cur) < addr(b)) {
        prev = cur;
        cur = cur->next;
    }
    b->next = cur;
    if (prev != nullptr) {
        prev->next = b;
    } else {
        g_free = b;
    }
    if (cur != nullptr && addr(b) + b->size == addr(cur)) {
        b->size += cur->size;
        b->next = cur->next;
        cur->magic = 0;
    }
    if (prev != nullptr && addr(prev) + prev->size == addr(b)) {
        prev->size += b->size;
        prev->next = b->next;
        b->magic = 0;
    }
}

bool grow(uint64_t at_least) {
    const uint64_t bytes = (at_least + kGrowBytes - 1) / kGrowBytes * kGrowBytes;
    if (g_end + bytes > mm::kHeapBase + kMaxHeap)
        return false;
    for (uint64_t off = 0; off < bytes; off += mm::kPageSize) {
        auto frame = mm::frames().alloc();
        if (!frame || !mm::kernel_space().map(mm::VirtAddr{g_end + off}, *frame,
                                              mm::kPageWritable | mm::kPageNoExecute)) {
            if (frame)
                mm::frames().free(*frame);
            // Keep what was mapped so far as a free block.
            if (off != 0) {
                auto* b = reinterpret_cast<Block*>(g_end);
                b->size = off;
                g_end += off;
                insert_free(b);
            }
            return false;
        }
    }
    auto* b = reinterpret_cast<Block*>(g_end);
    b->size = bytes;
    g_end += bytes;
    insert_free(b);
    return true;
}

}  // namespace

void init() {
    LockGuard guard(g_lock);
    if (!grow(kGrowBytes))
        panic("heap: cannot map the initial heap");
}

void* alloc(size_t size) {
    if (size == 0 || size > kMaxHeap)
        return nullptr;
    const uint64_t need = (size + kHeader + kAlign - 1) / kAlign * kAlign;
    const uint64_t block_size = need < kMinBlock ? kMinBlock : need;
    LockGuard guard(g_lock);
    for (int attempt = 0; attempt < 2; ++attempt) {
        Block* prev = nullptr;
        for (Block* b = g_free; b != nullptr; prev = b, b = b->next) {
            if (b->size < block_size)
                continue;
            Block* next = b->next;
            if (b->size - block_size >= kMinBlock) {
                auto* rest = reinterpret_cast<Block*>(addr(b) + block_size);
                rest->size = b->size - block_size;
                rest->magic = kFreeMagic;
                rest->next = next;
                next = rest;
                b->size = block_size;
            }
            if (prev != nullptr) {
                prev->next = next;
            } else {
                g_free = next;
            }
            b->magic = kUsedMagic;
            ++g_live;
            return reinterpret_cast<uint8_t*>(b) + kHeader;
        }
        if (attempt == 0 && !grow(block_size))
            return nullptr;
    }
    return nullptr;
}

void free(void* p) {
    if (p == nullptr)
        return;
    auto* b = reinterpret_cast<Block*>(static_cast<uint8_t*>(p) - kHeader);
    LockGuard guard(g_lock);
    if (addr(b) < mm::kHeapBase || addr(b) >= g_end || addr(b) % kAlign != 0) {
        panic("heap: free of %p, which the heap never handed out", p);
    }
    if (b->magic == kFreeMagic)
        panic("heap: double free of %p", p);
    if (b->magic != kUsedMagic)
        panic("heap: free of %p: corrupt or foreign block", p);
    --g_live;
    insert_free(b);
}

Stats stats() {
    LockGuard guard(g_lock);
    Stats s{g_end - mm::kHeapBase, 0, 0, g_live};
    for (Block* b = g_free; b != nullptr; b = b->next) {
        s.free_bytes += b->size;
        ++s.free_blocks;
    }
    return s;
}

}  // namespace keel::heap
