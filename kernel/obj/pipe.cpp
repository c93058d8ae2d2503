#include "obj/pipe.hpp"

#include <new>

#include "sched/wait_queue.hpp"

namespace keel::obj {

namespace {

struct PipeCore {
    uint8_t data[abi::kPipeCapacity];
    uint64_t head = 0;  // next byte to read
    uint64_t count = 0;
    bool reader_open = true;
    bool writer_open = true;
    sched::WaitQueue readers;  // wait for data or the writer's end
    sched::WaitQueue writers;  // wait for room or the reader's end
};

class PipeEnd final : public Object {
  public:
    PipeEnd(PipeCore* core, bool reader) : Object(abi::Kind::kPipe), core_(core), reader_(reader) {}

    Result<uint64_t> read(Request& req) override { return take(req, true); }
    Result<uint64_t> peek(Request& req) override { return take(req, false); }

    Result<uint64_t> write(Request& req) override {
        if (reader_)
            return fail(Error::kNotSupported);
        PipeCore& c = *core_;
        if (!c.reader_open)
            return fail(Error::kPeerGone);
        if (req.buffer.length() == 0)
            return Result<uint64_t>(0);
        if (c.count == abi::kPipeCapacity)
            return obj::would_block(req, c.writers);
        const uint64_t room = abi::kPipeCapacity - c.count;
        const uint64_t n = req.buffer.length() < room ? req.buffer.length() : room;
        // Copy into the free part first; count moves only after every byte arrived.
        for (uint64_t done = 0; done < n;) {
            const uint64_t at = (c.head + c.count + done) % abi::kPipeCapacity;
            const uint64_t run = abi::kPipeCapacity - at;
            const uint64_t chunk = n - done < run ? n - done : run;
            if (!req.buffer.copy_out_of(done, c.data + at, chunk))
                return fail(Error::kBadAddress);
            done += chunk;
        }
        c.count += n;
        c.readers.wake_all();
        return Result<uint64_t>(n);
    }

    Result<uint64_t> get_meta(Request& req) override {
        if (static_cast<abi::Meta>(req.arg) == abi::Meta::kSize)
            return answer_u64(req, core_->count);
        return fail(Error::kInvalidArgument);
    }

  private:
    ~PipeEnd() override {
        PipeCore& c = *core_;
        if (reader_)
            c.reader_open = false;
        else
            c.writer_open = false;
        c.readers.wake_all();
        c.writers.wake_all();
        if (!c.reader_open && !c.writer_open)
            delete core_;
    }

    Result<uint64_t> take(Request& req, bool consume) {
        if (!reader_)
            return fail(Error::kNotSupported);
        PipeCore& c = *core_;
        if (req.buffer.length() == 0)
            return Result<uint64_t>(0);
        if (c.count == 0) {
            if (!c.writer_open)
                return Result<uint64_t>(0);  // end of stream
            return obj::would_block(req, c.readers);
        }
        const uint64_t n = req.buffer.length() < c.count ? req.buffer.length() : c.count;
        for (uint64_t done = 0; done < n;) {
            const uint64_t at = (c.head + done) % abi::kPipeCapacity;
            const uint64_t run = abi::kPipeCapacity - at;
            const uint64_t chunk = n - done < run ? n - done : run;
            if (!req.buffer.copy_into(done, c.data + at, chunk))
                return fail(Error::kBadAddress);
            done += chunk;
        }
        if (consume) {
            c.head = (c.head + n) % abi::kPipeCapacity;
            c.count -= n;
            c.writers.wake_all();
        }
        return Result<uint64_t>(n);
    }

    PipeCore* core_;
    bool reader_;
};

}  // namespace

Result<ObjectPair> create_pipe() {
    auto* core = new (std::nothrow) PipeCore;
    if (core == nullptr)
        return fail(Error::kNoMemory);
    ObjectPair ends{adopt_ref<Object>(new (std::nothrow) PipeEnd(core, true)),
                    adopt_ref<Object>(new (std::nothrow) PipeEnd(core, false))};
    if (!ends.first || !ends.second) {
        // Releasing the one end that exists frees the core: mark the other as never opened.
        if (ends.first)
            core->writer_open = false;
        else if (ends.second)
            core->reader_open = false;
        else
            delete core;
        return fail(Error::kNoMemory);
    }
    return ends;
}

}  // namespace keel::obj
