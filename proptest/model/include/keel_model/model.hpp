// Reference model of the Keel queue protocol (spec/ipc.md): both endpoints and the shared rings
// as plain sequences and maps, with none of the library's machinery (no slot stacks, no
// masking, no generations). It uses abi.hpp for the wire constants only and never rules.hpp,
// so a wrong decision in the library cannot be copied into the model.
//
// Where the library may choose (which pooled buffer acquire() hands out, which tag a
// submission gets, which server op id take() returns, in which order leftovers complete after
// teardown) the model accepts any choice the protocol allows: the harness passes the
// library's choice to the model's commit, which checks it.
//
// Failures are predicted as a set of acceptable errors (ErrorSet): when several checks fail at
// once the spec does not fix which one is reported, only that the call fails and changes
// nothing.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <ipc/abi.hpp>
#include <ipc/result.hpp>

namespace keel::model {

using ipc::Error;

// A set of ipc::Error values; empty means "must succeed".
struct ErrorSet {
    std::uint32_t bits = 0;
    void add(Error e) { bits |= 1u << unsigned(e); }
    bool has(Error e) const { return (bits >> unsigned(e)) & 1u; }
    bool empty() const { return bits == 0; }
    std::string str() const;
};

struct Config {
    std::uint32_t capacity = 1;
    std::uint32_t buffer_count = 0;
    std::uint32_t buffer_size = 0;
    std::uint16_t op_limit = ipc::abi::kFirstServiceOp;
    std::uint32_t first_index = 0;
};

enum class Owner : std::uint8_t { Pool, Hand, Lent };  // who holds a buffer, client's view
enum class ClientMode : std::uint8_t { Open, PeerGone, Closed };
enum class ServerMode : std::uint8_t { Open, ClientGone, Closed };
// What submit/release is handed: the no-buffer form, a buffer in hand, a moved-from handle, or
// another client's buffer.
enum class Handle : std::uint8_t { None, Own, Empty, Foreign };

// A submission as it sits in the submission ring.
struct Sub {
    std::uint32_t tag = 0;
    std::uint64_t user_data = 0;
    std::uint16_t opcode = 0;
    std::uint16_t buffer = ipc::abi::kNoBuffer;
    std::uint32_t length = 0;
    std::uint64_t target = 0;  // args[0]: a Cancel's target tag
    // Carried to the service unchanged; the protocol does not interpret them.
    std::uint32_t object = 0;
    std::uint64_t offset = 0;
    std::uint32_t flags = 0;
};

// A completion as it sits in the completion ring.
struct Comp {
    std::uint32_t tag = 0;
    std::uint16_t status = 0;
    std::uint16_t buffer = ipc::abi::kNoBuffer;
    std::uint64_t value = 0;
};

// What reap() must do next.
enum class ReapKind : std::uint8_t {
    Empty,     // nothing to reap: Error::Empty
    Ring,      // the completion at the ring's head, for a live operation
    Refused,   // the completion at the ring's head is impossible (IPC-R-040..043)
    Leftover,  // after teardown: any live operation, completed locally
};
struct ReapExpect {
    ReapKind kind = ReapKind::Empty;
    std::uint32_t tag = 0;  // Ring only; a Leftover's tag is checked at commit
    std::uint64_t user_data = 0;
    std::uint16_t status = 0;
    std::uint64_t value = 0;
    bool is_cancel = false;
    std::uint16_t buffer = ipc::abi::kNoBuffer;
};

struct ClientOp {
    std::uint64_t user_data = 0;
    std::uint16_t buffer = ipc::abi::kNoBuffer;
    bool is_cancel = false;
};

enum class OpState : std::uint8_t { Queued, Taken };
struct ServerOp {
    Sub sub;
    OpState state = OpState::Queued;
    bool cancel_flag = false;
};

class Model {
  public:
    explicit Model(const Config& c);

    const Config& config() const { return cfg_; }

    // ---- client ----
    ErrorSet acquire_errors() const;
    std::string acquire_commit(std::uint16_t id);  // "" or what is wrong with the choice
    ErrorSet release_errors(Handle h) const;
    void release_commit(std::uint16_t id);

    // opcode/buffer/length as passed to submit(); buffer is kNoBuffer for the no-buffer form.
    ErrorSet submit_errors(Handle h, std::uint16_t opcode, std::uint16_t buffer,
                           std::uint32_t length, bool is_cancel) const;
    // True if a submit that passes every other check will read the server's head.
    bool submit_reads_head() const;
    std::string submit_commit(std::uint32_t tag, const Sub& sub, bool is_cancel);
    // The tag cancel_user_data() must target (kNoTag if none).
    std::vector<std::uint32_t> cancel_targets_for(std::uint64_t user_data) const;

    void client_publish();

    ReapExpect reap_expect() const;
    // Whether the next reap reads the completion tail from shared memory.
    bool reap_reads_tail() const;
    // Whether the next reap reads the entry at cq_head from the ring (not a leftover).
    bool reap_reads_ring() const;
    std::string reap_commit(std::uint32_t tag);
    // A reap met an impossible completion during the teardown drain: the drain ends there and
    // the remaining operations complete as leftovers.
    void end_drain();

    void peer_gone();
    void client_close();

    // ---- server ----
    ErrorSet poll_errors() const;
    // IPC-R-012: whether the next poll reads the client's completion head (the credit as last
    // seen does not cover every visible submission).
    bool poll_reads_cq_head() const { return server_live() + sq_visible_ > cfg_.capacity; }
    // Drains and answers; returns the number drained.
    std::uint32_t poll_commit();
    // take(): nullopt = error (take_error says which).
    Error take_error() const;
    std::optional<Sub> take_expect() const;
    void take_commit();
    // complete(): the op is named by its tag (the harness maps the server's op id to it);
    // tag = nullopt when the id names no taken op.
    ErrorSet complete_errors(std::optional<std::uint32_t> tag, bool id_in_range,
                             std::uint16_t status) const;
    void complete_commit(std::uint32_t tag, std::uint16_t status, std::uint64_t value);
    bool cancel_flag(std::uint32_t tag) const;
    void server_publish();
    void client_gone();
    void server_close();

    // ---- hostile-client tampering of a published, unpolled submission ----
    Sub* visible_sub(std::size_t k);  // k-th published, unpolled submission (nullptr if none)

    // ---- observable state, compared with the library after every step ----
    ClientMode client_mode() const { return cmode_; }
    ServerMode server_mode() const { return smode_; }
    std::uint32_t outstanding() const { return std::uint32_t(live_.size()); }
    std::uint32_t pooled() const;
    Owner owner(std::uint16_t id) const { return owner_[id]; }
    std::uint32_t sq_tail() const { return sq_tail_; }
    std::uint32_t sq_head() const { return sq_head_; }
    std::uint32_t cq_head() const { return cq_head_; }
    std::uint32_t cq_tail() const { return cq_tail_; }
    std::uint32_t server_live() const;
    std::uint32_t queued() const;
    std::uint32_t taken() const;
    bool held(std::uint16_t id) const;
    // queued(), taken() and held() for every buffer, from one pass over the server's records
    // (the lock-step check reads them after every step).
    struct ServerSummary {
        std::uint32_t queued = 0;
        std::uint32_t taken = 0;
        std::uint64_t held_low = 0;  // bit i: held(i), for i < 64
        const Model* model = nullptr;
        bool held(std::uint16_t id) const {
            return id < 64 ? ((held_low >> id) & 1u) != 0 : model->held(id);
        }
    };
    ServerSummary server_summary() const;
    bool header_client_closed() const { return hdr_client_closed_; }
    bool header_server_closed() const { return hdr_server_closed_; }
    std::size_t sq_visible() const { return sq_visible_; }
    std::size_t cq_visible() const { return cq_visible_; }
    std::size_t cq_posted() const { return cq_.size(); }
    std::size_t client_cq_seen() const { return client_cq_seen_; }
    const std::map<std::uint32_t, ClientOp>& live() const { return live_; }
    const std::vector<ServerOp>& server_ops() const { return ops_; }
    const std::deque<Comp>& cq() const { return cq_; }
    const std::deque<Sub>& sq() const { return sq_; }
    std::uint32_t leftover_drain() const { return drain_left_; }

  private:
    void post(const Comp& c);
    void accept(const Sub& s);

    Config cfg_;
    // Client.
    ClientMode cmode_ = ClientMode::Open;
    std::vector<Owner> owner_;
    std::map<std::uint32_t, ClientOp> live_;  // accepted by the client, not yet reaped
    std::uint32_t sq_tail_;
    std::uint32_t client_sq_head_seen_;
    std::uint32_t cq_head_;
    std::size_t client_cq_seen_ = 0;  // completions the client has seen published, unreaped
    std::uint32_t drain_left_ = 0;    // after teardown: ring completions still to reap
    bool hdr_client_closed_ = false;
    bool hdr_server_closed_ = false;
    // Submission ring: submissions written, not yet drained; the first sq_visible_ published.
    std::deque<Sub> sq_;
    std::size_t sq_visible_ = 0;
    std::uint32_t sq_head_;
    // Server.
    ServerMode smode_ = ServerMode::Open;
    std::vector<ServerOp> ops_;  // accepted service ops, oldest first
    std::uint32_t server_cq_head_seen_;
    // Completion ring: posted, not yet reaped; the first cq_visible_ published.
    std::deque<Comp> cq_;
    std::size_t cq_visible_ = 0;
    std::uint32_t cq_tail_;
};

}  // namespace keel::model
