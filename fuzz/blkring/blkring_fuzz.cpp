// Shared-memory block ring fuzz target (lib/blkring): the driver's side (DriverRing) against a
// client that writes anything anywhere in the ring's header. Input: the disk (a byte: block
// size 512 or 4096 and read-only, two bytes of its block count), then steps, each an operation
// byte and its operands: write a request entry (32 bytes), write sq_tail or cq_head (4 bytes),
// scribble bytes anywhere in the header (offset, length, bytes), a driver take (a byte of
// which requests the device accepts now), the device completing the oldest issued request, or
// the client consuming completions honestly. Oracle: every issued request passes an
// independent check (inside the disk, whole blocks, inside its buffer); the driver writes
// nothing outside its own header fields and the completion ring; it never has more requests in
// flight than the ring holds; what it completes is what it took, each once; a fault is sticky
// and takes nothing.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#include <keel/blkring/blkring.hpp>

namespace {

namespace br = keel::blkring;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "blkring oracle: %s\n", what);
    std::abort();
}

struct Input {
    const uint8_t* p;
    size_t n;
    bool take(void* out, size_t k) {
        if (n < k)
            return false;
        std::memcpy(out, p, k);
        p += k;
        n -= k;
        return true;
    }
};

// Bytes of the header the driver may write: magic..buffer_bytes, sq_head, cq_tail,
// driver_idle, fault, and the completion ring.
bool driver_owned(size_t at) {
    const size_t cq = offsetof(br::Header, cq);
    auto in = [&](size_t off, size_t len) { return at >= off && at < off + len; };
    return in(0, 16) || in(offsetof(br::Header, sq_head), 4) ||
           in(offsetof(br::Header, cq_tail), 4) || in(offsetof(br::Header, driver_idle), 8) ||
           in(cq, sizeof(br::Completion) * br::kEntries);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in{data, size};
    uint8_t shape = 0;
    uint16_t blocks = 0;
    if (!in.take(&shape, 1) || !in.take(&blocks, 2))
        return 0;
    const uint32_t block = (shape & 1) ? 4096 : 512;
    const br::Disk disk{uint64_t{blocks} * block, block, (shape & 2) != 0};
    static br::Header h;
    std::memset(&h, 0, sizeof h);
    br::DriverRing ring;
    ring.attach(&h);
    std::deque<uint64_t> issued;  // tags, oldest first
    uint32_t taken_total = 0, completed_total = 0;
    bool faulted = false;
    uint8_t op = 0;
    while (in.take(&op, 1)) {
        switch (op % 7) {
            case 0: {  // a request entry
                uint8_t i = 0;
                br::Request r{};
                if (!in.take(&i, 1) || !in.take(&r, sizeof r))
                    return 0;
                h.sq[i % br::kEntries] = r;
                break;
            }
            case 1:
                if (!in.take(&h.sq_tail, 4))
                    return 0;
                break;
            case 2:
                if (!in.take(&h.cq_head, 4))
                    return 0;
                break;
            case 3: {  // scribble
                uint16_t at = 0;
                uint8_t len = 0;
                if (!in.take(&at, 2) || !in.take(&len, 1))
                    return 0;
                at %= sizeof h;
                if (len > sizeof h - at)
                    len = static_cast<uint8_t>(sizeof h - at);
                if (!in.take(reinterpret_cast<uint8_t*>(&h) + at, len))
                    return 0;
                break;
            }
            case 4: {  // the driver takes
                uint32_t accept = 0;
                if (!in.take(&accept, 4))
                    return 0;
                static br::Header before;
                before = h;
                uint32_t calls = 0, rejects = 0;
                const uint32_t n = ring.take(
                    disk,
                    [&](const br::Request& r) {
                        if (!(accept >> (calls++ % 32) & 1))
                            return false;
                        const bool ok =
                            (r.op == br::kRead || (r.op == br::kWrite && !disk.read_only)) &&
                            r.reserved == 0 && r.buffer < br::kBuffers && r.length > 0 &&
                            r.length <= br::kBufferBytes && r.length % block == 0 &&
                            r.offset % block == 0 &&
                            static_cast<unsigned __int128>(r.offset) + r.length <= disk.capacity;
                        if (!ok)
                            fail("a bad request was issued");
                        if (br::data_offset(r) + r.length > br::kRegionBytes)
                            fail("data outside the region");
                        issued.push_back(r.tag);
                        return true;
                    },
                    [&](const br::Request& r, br::Verdict v) {
                        if (v == br::Verdict::kOk)
                            fail("a good request rejected");
                        ++rejects;
                        ++completed_total;
                        ring.complete(r.tag, -1);
                    });
                if (faulted && n != 0)
                    fail("took after a fault");
                faulted = ring.fault() != br::Fault::kNone;
                if (faulted && h.fault == 0)
                    fail("fault not published");
                taken_total += n;
                const auto* a = reinterpret_cast<const uint8_t*>(&before);
                const auto* b = reinterpret_cast<const uint8_t*>(&h);
                for (size_t i = 0; i < sizeof h; ++i) {
                    if (a[i] != b[i] && !driver_owned(i))
                        fail("the driver wrote a client field");
                }
                (void)rejects;
                break;
            }
            case 5:  // the device completes the oldest
                if (!issued.empty()) {
                    ring.complete(issued.front(), 512);
                    issued.pop_front();
                    ++completed_total;
                }
                break;
            default:  // the client consumes every completion honestly
                h.cq_head = h.cq_tail;
                break;
        }
        if (ring.in_flight() > br::kEntries)
            fail("more in flight than the ring holds");
        if (ring.in_flight() != taken_total - completed_total)
            fail("in flight miscounted");
        if (issued.size() > ring.in_flight())
            fail("issued more than in flight");
    }
    return 0;
}
