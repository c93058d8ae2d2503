// The reference model's transitions. Each function is the spec's rule, written the plainest
// way: sequences for rings, a map for live operations, a vector for the server's records.
#include <keel_model/model.hpp>

namespace keel::model {

namespace abi = ipc::abi;

namespace {

constexpr std::uint16_t st(abi::Status s) {
    return std::uint16_t(s);
}

}  // namespace

std::string ErrorSet::str() const {
    if (bits == 0)
        return "{}";
    std::string out = "{";
    for (unsigned e = 0; e < 32; ++e) {
        if ((bits >> e) & 1u) {
            if (out.size() > 1)
                out += ",";
            out += ipc::error_name(Error(e));
        }
    }
    return out + "}";
}

Model::Model(const Config& c)
    : cfg_(c),
      owner_(c.buffer_count, Owner::Pool),
      sq_tail_(c.first_index),
      client_sq_head_seen_(c.first_index),
      cq_head_(c.first_index),
      sq_head_(c.first_index),
      server_cq_head_seen_(c.first_index),
      cq_tail_(c.first_index) {}

// ---- client ---------------------------------------------------------------------------------

std::uint32_t Model::pooled() const {
    std::uint32_t n = 0;
    for (Owner o : owner_)
        n += o == Owner::Pool;
    return n;
}

ErrorSet Model::acquire_errors() const {
    ErrorSet e;
    if (pooled() == 0)
        e.add(Error::Empty);
    return e;
}

std::string Model::acquire_commit(std::uint16_t id) {
    if (id >= cfg_.buffer_count)
        return "acquire handed out an id outside the table";
    if (owner_[id] != Owner::Pool)
        return "acquire handed out a buffer that was not pooled";
    owner_[id] = Owner::Hand;
    return "";
}

ErrorSet Model::release_errors(Handle h) const {
    ErrorSet e;
    if (h == Handle::Empty)
        e.add(Error::InvalidBuffer);
    if (h == Handle::Foreign)
        e.add(Error::NotOwner);
    return e;
}

void Model::release_commit(std::uint16_t id) {
    owner_[id] = Owner::Pool;
}

// IPC-R-010 (credit), IPC-R-030..034 (only a buffer in hand may be lent), the API contract.
ErrorSet Model::submit_errors(Handle h, std::uint16_t opcode, std::uint16_t buffer,
                              std::uint32_t length, bool is_cancel) const {
    ErrorSet e;
    if (h == Handle::Empty)
        e.add(Error::InvalidBuffer);
    if (h == Handle::Foreign)
        e.add(Error::NotOwner);
    if (h == Handle::Own && owner_[buffer] != Owner::Hand)
        e.add(Error::NotOwner);
    if (h == Handle::None && length != 0)
        e.add(Error::InvalidArgument);
    if (h != Handle::None && length > cfg_.buffer_size)
        e.add(Error::InvalidArgument);
    if (cmode_ == ClientMode::PeerGone)
        e.add(Error::PeerGone);
    if (cmode_ == ClientMode::Closed)
        e.add(Error::Closed);
    if (!is_cancel && opcode == std::uint16_t(abi::Op::Cancel))
        e.add(Error::InvalidArgument);
    if (live_.size() >= cfg_.capacity)
        e.add(Error::NoCredit);
    // With credit held the ring always has room (every entry in it is a live operation), so
    // RingFull is impossible against an honest server.
    if (std::uint32_t(sq_tail_ - sq_head_) >= cfg_.capacity)
        e.add(Error::RingFull);
    return e;
}

bool Model::submit_reads_head() const {
    return std::uint32_t(sq_tail_ - client_sq_head_seen_) >= cfg_.capacity;
}

std::string Model::submit_commit(std::uint32_t tag, const Sub& sub, bool is_cancel) {
    if (live_.count(tag))
        return "submit returned the tag of a live operation";
    if (submit_reads_head())
        client_sq_head_seen_ = sq_head_;
    live_[tag] = ClientOp{sub.user_data, sub.buffer, is_cancel};
    if (sub.buffer != abi::kNoBuffer)
        owner_[sub.buffer] = Owner::Lent;
    sq_.push_back(sub);
    ++sq_tail_;
    return "";
}

std::vector<std::uint32_t> Model::cancel_targets_for(std::uint64_t user_data) const {
    std::vector<std::uint32_t> out;
    for (const auto& [tag, op] : live_) {
        if (!op.is_cancel && op.user_data == user_data)
            out.push_back(tag);
    }
    return out;
}

void Model::client_publish() {
    if (cmode_ == ClientMode::Open)
        sq_visible_ = sq_.size();
}

bool Model::reap_reads_tail() const {
    return cmode_ == ClientMode::Open && client_cq_seen_ == 0;
}

bool Model::reap_reads_ring() const {
    if (cmode_ == ClientMode::Open)
        return client_cq_seen_ > 0 || cq_visible_ > 0;
    return drain_left_ > 0;
}

// IPC-R-040..044: completions come back in ring order, each for a live operation, carrying
// the buffer that operation lent and a status it may carry; anything else is refused. After
// teardown (IPC-R-070..072): the published completions first, then every remaining live
// operation exactly once.
ReapExpect Model::reap_expect() const {
    ReapExpect r;
    if (reap_reads_ring()) {
        const Comp& c = cq_.front();
        auto it = live_.find(c.tag);
        const bool cancel_only =
            c.status == st(abi::Status::InProgress) || c.status == st(abi::Status::NotFound);
        if (it == live_.end() || it->second.buffer != c.buffer ||
            (cancel_only && !it->second.is_cancel)) {
            r.kind = ReapKind::Refused;
            return r;
        }
        r.kind = ReapKind::Ring;
        r.tag = c.tag;
        r.user_data = it->second.user_data;
        r.status = c.status;
        r.value = c.value;
        r.is_cancel = it->second.is_cancel;
        r.buffer = it->second.buffer;
        return r;
    }
    if (cmode_ == ClientMode::Open || live_.empty())
        return r;
    r.kind = ReapKind::Leftover;
    r.status =
        cmode_ == ClientMode::PeerGone ? st(abi::Status::PeerGone) : st(abi::Status::Cancelled);
    return r;
}

std::string Model::reap_commit(std::uint32_t tag) {
    if (reap_reads_ring()) {
        if (cq_.front().tag != tag)
            return "reap returned a completion out of ring order";
        if (cmode_ == ClientMode::Open) {
            if (client_cq_seen_ == 0)
                client_cq_seen_ = cq_visible_;
            --client_cq_seen_;
        } else {
            --drain_left_;
        }
        cq_.pop_front();
        --cq_visible_;
        ++cq_head_;
    }
    auto it = live_.find(tag);
    if (it == live_.end())
        return "reaped a completion for no live operation";
    if (it->second.buffer != abi::kNoBuffer)
        owner_[it->second.buffer] = Owner::Hand;
    live_.erase(it);
    return "";
}

void Model::end_drain() {
    drain_left_ = 0;
}

void Model::peer_gone() {
    if (cmode_ != ClientMode::Open)
        return;
    drain_left_ = std::uint32_t(cq_visible_);
    cmode_ = ClientMode::PeerGone;
}

void Model::client_close() {
    if (cmode_ != ClientMode::Open)
        return;
    drain_left_ = std::uint32_t(cq_visible_);
    hdr_client_closed_ = true;
    cmode_ = ClientMode::Closed;
}

// ---- server ---------------------------------------------------------------------------------

std::uint32_t Model::server_live() const {
    return std::uint32_t(ops_.size()) + std::uint32_t(cq_tail_ - server_cq_head_seen_);
}

std::uint32_t Model::queued() const {
    std::uint32_t n = 0;
    for (const auto& op : ops_)
        n += op.state == OpState::Queued;
    return n;
}

std::uint32_t Model::taken() const {
    return std::uint32_t(ops_.size()) - queued();
}

bool Model::held(std::uint16_t id) const {
    for (const auto& op : ops_) {
        if (op.sub.buffer == id)
            return true;
    }
    return false;
}

Model::ServerSummary Model::server_summary() const {
    ServerSummary r;
    r.model = this;
    for (const auto& op : ops_) {
        if (op.state == OpState::Queued)
            ++r.queued;
        else
            ++r.taken;
        if (op.sub.buffer < 64)
            r.held_low |= std::uint64_t(1) << op.sub.buffer;
    }
    return r;
}

ErrorSet Model::poll_errors() const {
    ErrorSet e;
    if (smode_ == ServerMode::ClientGone)
        e.add(Error::PeerGone);
    if (smode_ == ServerMode::Closed)
        e.add(Error::Closed);
    if (smode_ == ServerMode::Open && hdr_client_closed_)
        e.add(Error::PeerGone);
    return e;
}

// IPC-R-011: accept only while the completion ring can hold one more completion. IPC-R-012:
// the client's head is read only when the credit as last seen does not cover every visible
// submission.
std::uint32_t Model::poll_commit() {
    if (poll_reads_cq_head())
        server_cq_head_seen_ = cq_head_;
    std::uint32_t drained = 0;
    while (sq_visible_ > 0 && server_live() < cfg_.capacity) {
        Sub s = sq_.front();
        sq_.pop_front();
        --sq_visible_;
        ++sq_head_;
        accept(s);
        ++drained;
    }
    if (drained != 0)
        server_publish();
    return drained;
}

void Model::post(const Comp& c) {
    cq_.push_back(c);
    ++cq_tail_;
}

// IPC-R-050..053 (validation; a buffer held by an uncompleted op is not lent again) and
// IPC-R-060..064 (cancel).
void Model::accept(const Sub& s) {
    const bool no_buffer = s.buffer == abi::kNoBuffer;
    const bool buffer_ok = no_buffer || (s.buffer < cfg_.buffer_count && !held(s.buffer));
    const std::uint16_t back = buffer_ok ? s.buffer : abi::kNoBuffer;
    if (s.opcode == std::uint16_t(abi::Op::Cancel)) {
        if (!no_buffer) {
            post({s.tag, st(abi::Status::BadRequest), back, 0});
            return;
        }
        std::size_t i = 0;
        while (i < ops_.size() && !(s.target <= 0xFFFF'FFFFu && ops_[i].sub.tag == s.target))
            ++i;
        if (i == ops_.size()) {
            post({s.tag, st(abi::Status::NotFound), abi::kNoBuffer, 0});
        } else if (ops_[i].state == OpState::Queued) {
            Sub target = ops_[i].sub;
            ops_.erase(ops_.begin() + std::ptrdiff_t(i));
            post({target.tag, st(abi::Status::Cancelled), target.buffer, 0});
            post({s.tag, st(abi::Status::Ok), abi::kNoBuffer, 0});
        } else {
            ops_[i].cancel_flag = true;
            post({s.tag, st(abi::Status::InProgress), abi::kNoBuffer, 0});
        }
        return;
    }
    const bool length_ok = no_buffer ? s.length == 0 : s.length <= cfg_.buffer_size;
    if (!buffer_ok || !length_ok) {
        post({s.tag, st(abi::Status::BadRequest), back, 0});
    } else if (s.opcode == std::uint16_t(abi::Op::Nop)) {
        post({s.tag, st(abi::Status::Ok), back, 0});
    } else if (s.opcode < abi::kFirstServiceOp || s.opcode >= cfg_.op_limit) {
        post({s.tag, st(abi::Status::BadRequest), back, 0});
    } else {
        ops_.push_back(ServerOp{s, OpState::Queued, false});
    }
}

Error Model::take_error() const {
    if (smode_ != ServerMode::Open)
        return Error::Closed;
    return Error::Empty;
}

std::optional<Sub> Model::take_expect() const {
    if (smode_ != ServerMode::Open)
        return std::nullopt;
    for (const auto& op : ops_) {
        if (op.state == OpState::Queued)
            return op.sub;
    }
    return std::nullopt;
}

void Model::take_commit() {
    for (auto& op : ops_) {
        if (op.state == OpState::Queued) {
            op.state = OpState::Taken;
            return;
        }
    }
}

ErrorSet Model::complete_errors(std::optional<std::uint32_t> tag, bool id_in_range,
                                std::uint16_t status) const {
    ErrorSet e;
    const bool cancel_only =
        status == st(abi::Status::InProgress) || status == st(abi::Status::NotFound);
    if (!id_in_range) {
        e.add(Error::InvalidArgument);
    } else if (!tag) {
        e.add(Error::NotOwner);
        if (cancel_only)
            e.add(Error::InvalidArgument);
    } else if (cancel_only) {
        e.add(Error::InvalidArgument);
    }
    return e;
}

void Model::complete_commit(std::uint32_t tag, std::uint16_t status, std::uint64_t value) {
    for (std::size_t i = 0; i < ops_.size(); ++i) {
        if (ops_[i].sub.tag != tag || ops_[i].state != OpState::Taken)
            continue;
        if (smode_ == ServerMode::Open) {
            if (std::uint32_t(cq_tail_ - server_cq_head_seen_) >= cfg_.capacity) {
                server_cq_head_seen_ = cq_head_;
            }
            post({tag, status, ops_[i].sub.buffer, value});
        }
        ops_.erase(ops_.begin() + std::ptrdiff_t(i));
        return;
    }
}

bool Model::cancel_flag(std::uint32_t tag) const {
    for (const auto& op : ops_) {
        if (op.sub.tag == tag && op.state == OpState::Taken)
            return op.cancel_flag;
    }
    return false;
}

void Model::server_publish() {
    if (smode_ == ServerMode::Open)
        cq_visible_ = cq_.size();
}

// IPC-R-070..072: the client is gone: queued ops are dropped, taken ones told to stop.
void Model::client_gone() {
    if (smode_ != ServerMode::Open)
        return;
    std::vector<ServerOp> keep;
    for (auto& op : ops_) {
        if (op.state == OpState::Taken) {
            op.cancel_flag = true;
            keep.push_back(op);
        }
    }
    ops_ = keep;
    smode_ = ServerMode::ClientGone;
}

void Model::server_close() {
    if (smode_ == ServerMode::Closed)
        return;
    hdr_server_closed_ = true;
    smode_ = ServerMode::Closed;
}

Sub* Model::visible_sub(std::size_t k) {
    return k < sq_visible_ ? &sq_[k] : nullptr;
}

}  // namespace keel::model
