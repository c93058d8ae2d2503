#include "obj/console.hpp"

#include <new>

#include "log/serial.hpp"

namespace keel::obj {

Result<RefPtr<Console>> Console::create() {
    auto* c = new (std::nothrow) Console;
    if (c == nullptr)
        return fail(Error::kNoMemory);
    return adopt_ref(c);
}

Result<uint64_t> Console::write(Request& req) {
    // In chunks through a kernel buffer: the bytes are copied in before any is printed, chunk
    // by chunk, so a bad address ends the write at a chunk boundary.
    char chunk[128];
    uint64_t done = 0;
    while (done < req.buffer.length()) {
        const uint64_t left = req.buffer.length() - done;
        const uint64_t n = left < sizeof chunk ? left : sizeof chunk;
        if (!req.buffer.copy_out_of(done, chunk, n))
            return done == 0 ? fail(Error::kBadAddress) : Result<uint64_t>(done);
        for (uint64_t i = 0; i < n; ++i)
            serial::put(chunk[i]);
        done += n;
    }
    return Result<uint64_t>(done);
}

}  // namespace keel::obj
