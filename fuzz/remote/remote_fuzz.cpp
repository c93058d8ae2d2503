// Remote-run wire fuzz target (lib/remote). Input: one byte choosing how the rest is cut into
// fragments, then a byte stream as an agent or a caller would receive it. Decoded frame by
// frame from the whole buffer: each message encodes back to exactly its bytes (the format is
// canonical, so what a side accepts is what the other side's encoder can say), nothing is read
// past the input, and kNeedMore never asks for more than a frame's worth. The same stream fed
// through a Reader in fragments gives the same frames and stops at the same place.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <keel/remote/wire.hpp>

namespace {

namespace remote = keel::remote;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "remote oracle: %s\n", what);
    std::abort();
}

struct Seen {
    std::vector<size_t> lengths;  // each frame's length
    bool bad = false;             // the stream ended in a refusal
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1)
        return 0;
    const size_t step = 1 + data[0] % 97;
    ++data;
    --size;

    Seen whole;
    std::vector<uint8_t> again(remote::kMaxFrame);
    size_t at = 0;
    for (;;) {
        remote::Message m{};
        const remote::DecodeResult r = remote::decode(data + at, size - at, &m);
        if (r.status == remote::Decoded::kNeedMore) {
            if (size - at >= remote::kMaxFrame)
                fail("needs more than a whole frame");
            break;
        }
        if (r.status == remote::Decoded::kBad) {
            if (r.reason == nullptr)
                fail("a refusal without a reason");
            whole.bad = true;
            break;
        }
        if (r.consumed < remote::kHeaderSize || r.consumed > size - at ||
            r.consumed > remote::kMaxFrame)
            fail("consumed outside the input");
        if (m.data_length > 0 &&
            (m.data < data + at || m.data + m.data_length > data + at + r.consumed))
            fail("data outside its frame");
        const size_t k = remote::encode(m, again.data(), again.size());
        if (k != r.consumed || std::memcmp(again.data(), data + at, k) != 0)
            fail("a decoded message does not encode to its bytes");
        whole.lengths.push_back(r.consumed);
        at += r.consumed;
    }

    // The same through a Reader, in fragments of `step` bytes.
    Seen pieces;
    static remote::Reader reader;
    reader = remote::Reader{};
    size_t fed = 0;
    bool stop = false;
    while (!stop) {
        remote::Message m{};
        const remote::DecodeResult r = reader.next(&m);
        if (r.status == remote::Decoded::kMessage) {
            pieces.lengths.push_back(r.consumed);
            continue;
        }
        if (r.status == remote::Decoded::kBad) {
            pieces.bad = true;
            break;
        }
        if (fed == size)
            break;
        uint8_t* room = reader.space();
        size_t n = size - fed < step ? size - fed : step;
        if (n > reader.room())
            n = reader.room();
        if (n == 0)
            fail("a Reader with no room while it needs more");
        std::memcpy(room, data + fed, n);
        reader.produced(n);
        fed += n;
    }
    if (pieces.lengths != whole.lengths || pieces.bad != whole.bad)
        fail("a Reader fed in fragments saw other frames than decode() on the whole");
    return 0;
}
