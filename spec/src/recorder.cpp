// Recorder: drives a real ipc::Client / ipc::Server pair over one private region and records
// each call with its result and the state both sides then show (spec/include/spec/trace.hpp).
#include <spec/trace.hpp>

#include <cstdlib>
#include <new>
#include <optional>

#include <ipc/client.hpp>
#include <ipc/server.hpp>

#include "aligned_bytes.hpp"

namespace keel::spec {

struct Recorder::Impl {
    RecorderConfig cfg;
    ipc::Geometry geometry;
    ipc::Layout layout;
    AlignedBytes shared;
    AlignedBytes client_storage;
    AlignedBytes server_storage;
    ipc::QueueView view;
    ipc::Client client;
    ipc::Server server;
    std::vector<ipc::Buffer> hand;  // declared after client: destroyed first
    std::vector<std::uint32_t> taken;
    Trace trace;
    std::unique_ptr<TraceChecker> checker;  // with check_each_step
    Verdict verdict;
    Step skipped;  // returned for calls the API cannot express (no handle for the buffer)

    explicit Impl(const RecorderConfig& c)
        : cfg(c),
          geometry{c.capacity, c.buffer_count, c.buffer_size},
          layout(ipc::Layout::compute(geometry).value()),
          shared(layout.total_size),
          client_storage(ipc::Client::private_size(geometry) + 8),
          server_storage(ipc::Server::private_size(geometry) + 8),
          view(ipc::QueueView::map(shared.span(), layout).value()) {
        auto r = client.create(shared.span(), client_storage.span(), geometry, c.first_index);
        auto a = server.attach(shared.span(), server_storage.span(), geometry, c.op_limit);
        if (!r || !a)
            std::abort();  // a harness bug: the geometry must be valid
        hand.resize(c.buffer_count);
        trace.capacity = c.capacity;
        trace.buffer_count = c.buffer_count;
        trace.buffer_size = c.buffer_size;
        trace.op_limit = c.op_limit;
        trace.first_index = c.first_index;
        trace.initial = observe();
        if (c.check_each_step) {
            checker = std::make_unique<TraceChecker>(trace);
            verdict = checker->advance();
        }
    }

    // False once a step disagreed: later calls must not reach a library known to be wrong.
    bool live() const { return verdict.ok; }

    const Step& skip(Step s) {
        skipped = std::move(s);
        skipped.ok = false;
        skipped.error = ipc::Error::Closed;
        return skipped;
    }

    Observed observe() const {
        Observed o;
        o.client_torn_down = client.torn_down();
        o.outstanding = client.outstanding();
        o.pooled = client.pooled_buffers();
        o.sq_tail = client.sq_tail();
        o.cq_head = client.cq_head();
        o.live = server.live();
        o.queued = server.queued();
        o.taken = server.taken();
        o.sq_head = server.sq_head();
        o.cq_tail = server.cq_tail();
        for (std::uint32_t b = 0; b < cfg.buffer_count; ++b) {
            o.buffer_state.push_back(std::uint8_t(client.buffer_state(std::uint16_t(b))));
            o.held.push_back(std::uint8_t(server.buffer_held(std::uint16_t(b))));
        }
        Shared& s = o.shared;
        s.sq_head = view.sq->head.value.load();
        s.sq_tail = view.sq->tail.value.load();
        s.cq_head = view.cq->head.value.load();
        s.cq_tail = view.cq->tail.value.load();
        s.client_closed = view.header->client_state.load() == ipc::abi::kEndpointClosed;
        s.server_closed = view.header->server_state.load() == ipc::abi::kEndpointClosed;
        for (std::uint32_t j = 0; j < cfg.capacity; ++j) {
            const ipc::abi::Submission& e = view.sq_entries[j];
            s.sq.push_back(SqEntry{e.tag, e.opcode, e.buffer, e.length, e.args[0]});
            const ipc::abi::Completion& c = view.cq_entries[j];
            s.cq.push_back(CqEntry{c.tag, c.status, c.buffer});
        }
        return o;
    }

    Step& record(Step s) {
        s.after = observe();
        trace.steps.push_back(std::move(s));
        if (checker)
            verdict = checker->advance();
        return trace.steps.back();
    }

    template <class T>
    static void result(Step& s, const ipc::Result<T>& r) {
        s.ok = r.ok();
        s.error = r.error();
    }
};

Recorder::Recorder(const RecorderConfig& config) : impl_(std::make_unique<Impl>(config)) {}
Recorder::~Recorder() = default;

const Trace& Recorder::trace() const {
    return impl_->trace;
}
Verdict Recorder::verdict() const {
    return impl_->verdict;
}
std::uint32_t Recorder::capacity() const {
    return impl_->cfg.capacity;
}
std::uint32_t Recorder::buffer_count() const {
    return impl_->cfg.buffer_count;
}

std::vector<std::uint16_t> Recorder::buffers_in_hand() const {
    std::vector<std::uint16_t> v;
    for (std::uint32_t b = 0; b < impl_->hand.size(); ++b) {
        if (impl_->hand[b].valid())
            v.push_back(std::uint16_t(b));
    }
    return v;
}

std::vector<std::uint32_t> Recorder::taken_ops() const {
    return impl_->taken;
}

const Step& Recorder::acquire() {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::Acquire;
    auto r = impl_->client.acquire();
    Impl::result(s, r);
    if (r) {
        s.value = r->id();
        impl_->hand[r->id()] = std::move(*r);
    }
    return impl_->record(std::move(s));
}

const Step& Recorder::release(std::uint16_t buffer) {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::Release;
    s.buffer = buffer;
    if (buffer < impl_->hand.size() && impl_->hand[buffer].valid()) {
        auto r = impl_->client.release(std::move(impl_->hand[buffer]));
        Impl::result(s, r);
    } else {
        impl_->skipped = s;  // no handle: nothing was called, nothing recorded
        impl_->skipped.ok = false;
        impl_->skipped.error = ipc::Error::InvalidBuffer;
        return impl_->skipped;
    }
    return impl_->record(std::move(s));
}

const Step& Recorder::submit(std::uint16_t opcode, std::uint16_t buffer, std::uint32_t length) {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::Submit;
    s.opcode = opcode;
    s.buffer = buffer;
    s.length = length;
    ipc::Request req;
    req.opcode = opcode;
    req.length = length;
    req.user_data = impl_->trace.steps.size();
    if (buffer == ipc::abi::kNoBuffer) {
        auto r = impl_->client.submit(req);
        Impl::result(s, r);
        if (r)
            s.value = *r;
    } else if (buffer < impl_->hand.size() && impl_->hand[buffer].valid()) {
        auto r = impl_->client.submit(req, std::move(impl_->hand[buffer]));
        Impl::result(s, r);
        if (r)
            s.value = *r;
    } else {
        // No handle for that buffer: the API cannot even express the call. Nothing recorded.
        impl_->skipped = s;
        impl_->skipped.ok = false;
        impl_->skipped.error = ipc::Error::InvalidBuffer;
        return impl_->skipped;
    }
    return impl_->record(std::move(s));
}

const Step& Recorder::cancel(std::uint32_t target) {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::Cancel;
    s.target = target;
    auto r = impl_->client.cancel(impl_->trace.steps.size(), target);
    Impl::result(s, r);
    if (r)
        s.value = *r;
    return impl_->record(std::move(s));
}

const Step& Recorder::publish() {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::Publish;
    impl_->client.publish();
    return impl_->record(std::move(s));
}

const Step& Recorder::reap() {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::Reap;
    auto r = impl_->client.reap();
    Impl::result(s, r);
    if (r) {
        s.reaped.tag = r->tag;
        s.reaped.status = r->status;
        s.reaped.is_cancel = r->is_cancel;
        if (r->buffer.valid()) {
            auto id = r->buffer.id();
            s.reaped.buffer = id;
            if (id < impl_->hand.size())
                impl_->hand[id] = std::move(r->buffer);
        }
    }
    return impl_->record(std::move(s));
}

const Step& Recorder::peer_gone() {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::PeerGone;
    impl_->client.peer_gone();
    return impl_->record(std::move(s));
}

const Step& Recorder::client_close() {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::ClientClose;
    impl_->client.close();
    return impl_->record(std::move(s));
}

const Step& Recorder::poll() {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::Poll;
    auto r = impl_->server.poll();
    Impl::result(s, r);
    if (r)
        s.value = *r;
    return impl_->record(std::move(s));
}

const Step& Recorder::take() {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::Take;
    auto r = impl_->server.take();
    Impl::result(s, r);
    if (r) {
        s.value = r->id;
        s.reaped.tag = r->request.tag;
        s.reaped.buffer = r->request.buffer;
        impl_->taken.push_back(r->id);
    }
    return impl_->record(std::move(s));
}

const Step& Recorder::complete(std::uint32_t op, std::uint16_t status) {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::Complete;
    s.op = op;
    s.status = status;
    auto r = impl_->server.complete(op, status, 0);
    Impl::result(s, r);
    if (r) {
        auto& t = impl_->taken;
        for (auto it = t.begin(); it != t.end(); ++it) {
            if (*it == op) {
                t.erase(it);
                break;
            }
        }
    }
    return impl_->record(std::move(s));
}

const Step& Recorder::server_publish() {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::ServerPublish;
    impl_->server.publish();
    return impl_->record(std::move(s));
}

const Step& Recorder::client_gone() {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::ClientGone;
    impl_->server.client_gone();  // taken ops stay: complete() still frees them
    return impl_->record(std::move(s));
}

const Step& Recorder::server_close() {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::ServerClose;
    impl_->server.close();
    return impl_->record(std::move(s));
}

const Step& Recorder::peer_write(const std::function<void(const ipc::QueueView&)>& write) {
    if (!impl_->live())
        return impl_->skip(Step{});
    Step s;
    s.action = Action::PeerWrite;
    write(impl_->view);
    return impl_->record(std::move(s));
}

}  // namespace keel::spec
