#include "obj/message_pipe.hpp"

#include <new>

#include <keel/c/libc.hpp>
#include "sched/wait_queue.hpp"

namespace keel::obj {

namespace {

struct Message {
    Message* next;
    uint64_t length;
    uint8_t* data;
};

// Direction i carries messages towards endpoint i.
struct Channel {
    Message* head[2] = {};
    Message* tail[2] = {};
    uint32_t count[2] = {};
    bool open[2] = {true, true};
    sched::WaitQueue readable[2];  // endpoint i waits for a message
    sched::WaitQueue writable[2];  // writers towards endpoint i wait for room
};

void free_message(Message* m) {
    delete[] m->data;
    delete m;
}

class Endpoint final : public Object {
  public:
    Endpoint(Channel* c, int side) : Object(abi::Kind::kMessagePipe), c_(c), side_(side) {}

    Result<uint64_t> read(Request& req) override { return take(req, true); }
    Result<uint64_t> peek(Request& req) override { return take(req, false); }

    Result<uint64_t> write(Request& req) override {
        const int to = 1 - side_;
        if (!c_->open[to])
            return fail(Error::kPeerGone);
        const uint64_t n = req.buffer.length();
        if (n > abi::kMaxMessageLength)
            return fail(Error::kTooLarge);
        if (c_->count[to] == kMaxQueuedMessages)
            return obj::would_block(req, c_->writable[to]);
        auto* m = new (std::nothrow) Message{nullptr, n, nullptr};
        if (m == nullptr)
            return fail(Error::kNoMemory);
        if (n > 0) {
            m->data = new (std::nothrow) uint8_t[n];
            if (m->data == nullptr) {
                delete m;
                return fail(Error::kNoMemory);
            }
            if (!req.buffer.copy_out_of(0, m->data, n)) {
                free_message(m);
                return fail(Error::kBadAddress);
            }
        }
        if (c_->tail[to] != nullptr)
            c_->tail[to]->next = m;
        else
            c_->head[to] = m;
        c_->tail[to] = m;
        ++c_->count[to];
        c_->readable[to].wake_all();
        return Result<uint64_t>(n);
    }

    Result<uint64_t> get_meta(Request& req) override {
        if (static_cast<abi::Meta>(req.arg) == abi::Meta::kSize)
            return answer_u64(req, c_->count[side_]);
        return fail(Error::kInvalidArgument);
    }

  private:
    ~Endpoint() override {
        c_->open[side_] = false;
        while (Message* m = c_->head[side_]) {
            c_->head[side_] = m->next;
            free_message(m);
        }
        c_->tail[side_] = nullptr;
        c_->count[side_] = 0;
        for (int i = 0; i < 2; ++i) {
            c_->readable[i].wake_all();
            c_->writable[i].wake_all();
        }
        if (!c_->open[0] && !c_->open[1])
            delete c_;
    }

    Result<uint64_t> take(Request& req, bool consume) {
        Message* m = c_->head[side_];
        if (m == nullptr) {
            if (!c_->open[1 - side_])
                return fail(Error::kPeerGone);
            return obj::would_block(req, c_->readable[side_]);
        }
        if (req.buffer.length() < m->length)
            return fail(Error::kBufferTooSmall);
        if (!req.buffer.copy_into(0, m->data, m->length))
            return fail(Error::kBadAddress);
        const uint64_t n = m->length;
        if (consume) {
            c_->head[side_] = m->next;
            if (c_->head[side_] == nullptr)
                c_->tail[side_] = nullptr;
            --c_->count[side_];
            free_message(m);
            c_->writable[side_].wake_all();
        }
        return Result<uint64_t>(n);
    }

    Channel* c_;
    int side_;
};

}  // namespace

Result<ObjectPair> create_message_pipe() {
    auto* c = new (std::nothrow) Channel;
    if (c == nullptr)
        return fail(Error::kNoMemory);
    ObjectPair ends{adopt_ref<Object>(new (std::nothrow) Endpoint(c, 0)),
                    adopt_ref<Object>(new (std::nothrow) Endpoint(c, 1))};
    if (!ends.first || !ends.second) {
        // Releasing the one end that exists frees the channel: mark the other as never opened.
        if (ends.first)
            c->open[1] = false;
        else if (ends.second)
            c->open[0] = false;
        else
            delete c;
        return fail(Error::kNoMemory);
    }
    return ends;
}

}  // namespace keel::obj
