// System: one queue (a real ipc::Client and ipc::Server over one shared region) run in lock
// step with the reference Model. step() performs an Action on the library and on the model
// and returns a description of the first disagreement ("" when they agree):
//   - a result (value or error) the model does not allow;
//   - any observable state that differs afterwards (counters, owners, credit, modes);
//   - after a failed call, any byte of either endpoint, their private storage or the shared
//     region that changed (validate-then-commit: a failure changes nothing).
// Used by the RapidCheck properties (proptest/) and the differential fuzzer (fuzz/).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ipc/abi.hpp>
#include <ipc/client.hpp>
#include <ipc/server.hpp>
#include <keel_model/action.hpp>
#include <keel_model/model.hpp>

namespace keel::model {

// One completed step, for the failure report. Plain data (no strings are built while the
// steps run: the differential fuzzer runs millions of them).
struct TraceStep {
    Action action;
    const char* what = "ok";  // "ok", "skip", "tampered" or an ipc::error_name
    // The same as a number: 0 ok, 1 skip, 2 tampered, 2 + the ipc::Error (at most 2 + 11).
    std::uint8_t outcome = 0;
    std::uint32_t n = 0;
    const char* keys[3] = {};
    std::uint64_t values[3] = {};
};
std::string format_step(const TraceStep& t);

// One library call (or hostile write) as it happened, for observers such as the spec's trace
// checker (proptest/spec_conformance_test.cpp). Calls the API refuses before touching any
// state (moved-from or foreign handles) and pure queries are not reported.
struct Event {
    enum class Call : std::uint8_t {
        Acquire,
        Release,
        Submit,
        Cancel,
        Publish,
        Reap,
        PeerGone,
        ClientClose,
        Poll,
        Take,
        Complete,
        ServerPublish,
        ClientGone,
        ServerClose,
        PeerWrite,
    };
    Call call = Call::Publish;
    std::uint16_t opcode = 0;
    std::uint16_t buffer = ipc::abi::kNoBuffer;
    std::uint32_t length = 0;
    std::uint32_t target = 0;
    std::uint32_t op = 0;
    std::uint16_t status = 0;
    bool ok = true;
    ipc::Error error{};
    std::uint32_t value = 0;  // tag, buffer id, op id or drained count
    std::uint32_t r_tag = 0;  // reap / take
    std::uint16_t r_status = 0;
    std::uint16_t r_buffer = ipc::abi::kNoBuffer;
    bool r_cancel = false;
};

class System {
  public:
    // Fails (ok() false) only for a geometry the library refuses; callers pick valid ones.
    explicit System(const Config& c);
    ~System();
    System(const System&) = delete;
    System& operator=(const System&) = delete;
    // Starts over with a new geometry, as if freshly constructed, reusing this System's storage
    // (the fuzzers run one System per input: no allocation per input once storage has grown).
    // The observer is kept.
    void reset(const Config& c);

    bool ok() const { return ok_; }
    // Deferred byte comparison for failed calls (the differential fuzzer turns it on; off by
    // default). A failed call is still checked against a copy of everything its endpoint can
    // reach, but the comparison waits until the state is about to change (the next call the
    // model expects to succeed, the next step that writes, finish()): a run of failed calls
    // costs one comparison instead of one each. A change is then reported as made by one of
    // the failed calls of that run (the step range is named). A hostile step's own bytes are
    // compared at once (it puts them back after its call, which would hide a change there).
    void set_deferred_unchanged(bool on) { deferred_ = on; }
    std::string step(const Action& a);
    // Checks every observable of the library against the model.
    std::string check_state() const;
    // Tears the client down (close() or peer_gone()) and reaps until Empty; then every
    // operation must have completed exactly once and every buffer be back (I2, I6).
    std::string finish(bool close);

    const Model& model() const { return model_; }
    const std::vector<TraceStep>& trace() const { return trace_; }
    std::string trace_text(std::size_t last = 60) const;
    const Config& config() const { return cfg_; }

    // Observation, for checkers outside this library.
    void set_observer(std::function<void(const Event&)> f) { observer_ = std::move(f); }
    const ipc::Client& client() const { return client_; }
    const ipc::Server& server() const { return server_; }
    ipc::QueueView view() const;
    // The state as bytes, without addresses: both private storages, the protocol part of the
    // region, the counters and modes the API shows, and the model's. Equal keys mean the same
    // protocol state (used to explore small state spaces once per state).
    std::string state_key() const;

  private:
    enum class Side : std::uint8_t { Client, Server };

    // ---- The oracle (system.cpp): one handler per kind of step, each describing its library
    // call to checked(), the one helper that judges a call against the model.
    // What the model says of one call: its name (for reports), the endpoint it runs on, the
    // errors the model allows (none: it must succeed), and what to report if it succeeds
    // though the model expects a failure (nullptr: "<call> succeeded; the model expects ...").
    struct Expect {
        const char* call;
        Side side;
        ErrorSet allowed;
        const char* if_succeeds = nullptr;
    };
    template <class Call, class Agree, class Refused>
    std::string checked(const Expect& x, Call&& call, Agree&& agree, Refused&& refused);
    template <class Call, class Agree>
    std::string checked(const Expect& x, Call&& call, Agree&& agree);
    std::string expect_error(const char* call, const ErrorSet& allowed, ipc::Error got,
                             Side before) const;

    using Handler = std::string (System::*)(const Action&);
    static constexpr std::size_t kKinds = std::size_t(Kind::Count);
    static constexpr std::array<Handler, kKinds> handlers();
    static const std::array<Handler, kKinds> kHandlers;
    std::string on_acquire(const Action& a);
    std::string on_release(const Action& a);
    std::string on_release_refused(const Action& a);
    std::string on_submit(const Action& a);
    std::string on_cancel(const Action& a);
    std::string on_reap(const Action& a);
    template <auto kEndpoint, auto kCall, Event::Call kEvent, auto kModel>
    std::string on_signal(const Action& a);
    std::string on_poll(const Action& a);
    std::string on_take(const Action& a);
    std::string on_complete(const Action& a);
    std::string on_cancel_requested(const Action& a);
    std::string on_hostile_cq_tail(const Action& a);
    std::string on_hostile_cq_entry(const Action& a);
    std::string on_hostile_forge(const Action& a);
    std::string on_hostile_poll(const Action& a);
    std::string on_hostile_sq_head(const Action& a);
    std::string on_hostile_tamper(const Action& a);
    // The checked calls that several handlers share (the hostile ones call through them).
    std::string reap_checked(bool corrupted_ring, bool bogus_tail);
    std::string poll_checked(const ErrorSet& extra, const char* if_succeeds);
    std::string submit_checked(const Action& a, bool bogus_head);
    std::string complete_checked(std::uint32_t id, std::uint16_t status, std::uint64_t value);
    template <class Call>
    std::string with_bogus_counter(std::atomic<std::uint32_t>& c, std::uint32_t bogus, Call&& call);

    void note(const char* what,
              std::initializer_list<std::pair<const char*, std::uint64_t>> values = {});
    void note(ipc::Error e);
    void init();

    // ---- The cost policy (system.cpp): which bytes are saved before a call, when a failed
    // call is compared with them, when the observable check may be skipped. It decides
    // nothing about what is right. The state a failed call of one endpoint must leave
    // unchanged (see snapshot()) has five parts, saved separately so that each is copied
    // again only when something may have written it.
    enum Part : std::uint8_t {
        kClientObject = 1,
        kClientStore = 2,
        kServerObject = 4,
        kServerStore = 8,
        kRegion = 16,
        kAllParts = 31,
    };
    static constexpr int kParts = 5;
    static std::uint8_t parts_of(Side side) {
        return side == Side::Client ? kClientObject | kClientStore | kRegion
                                    : kServerObject | kServerStore | kRegion;
    }
    static std::uint8_t written_by(Kind k);
    std::pair<const std::byte*, std::size_t> part_bytes(int i) const;
    Side snapshot(Side side) const;
    Side save_for_call(Side side, const ErrorSet& allowed) const;
    std::string unchanged(Side before, const char* call) const;
    // Deferred mode: compares the parts failed calls left pending; "" or what changed.
    std::string settle() const;
    std::string begin_step(Kind k);
    bool end_step(Kind k, std::string& err);
    std::size_t protocol_bytes() const {
        return layout_.cq_entries + std::size_t(cfg_.capacity) * sizeof(ipc::abi::Completion);
    }

    std::byte* sq_entry(std::uint32_t index);
    std::byte* cq_entry(std::uint32_t index);
    std::atomic<std::uint32_t>& counter(bool sq, bool tail);
    void peer_write(std::byte* dst, const void* src, std::size_t n);
    void note_peer_write(std::size_t at, std::size_t n);
    void peer_store(std::atomic<std::uint32_t>& c, std::uint32_t v);

    Config cfg_;
    bool ok_ = false;
    ipc::Layout layout_{};
    std::byte* region_ = nullptr;
    std::size_t region_size_ = 0;
    std::vector<std::uint64_t> cstore_, sstore_;
    ipc::Client client_;
    ipc::Server server_;
    std::size_t region_capacity_ = 0;  // bytes allocated at region_ (reused by reset())
    // A buffer of another queue's client (NotOwner checks); shared by every System of the
    // process, see foreign_buffer() in system.cpp.
    ipc::Buffer* foreign_buffer_ = nullptr;

    Model model_;
    std::vector<ipc::Buffer> hand_;  // buffers the application holds
    // The bytes of each buffer's handle as last seen in hand, to forge stale copies.
    std::map<std::uint16_t, std::array<std::byte, sizeof(ipc::Buffer)>> handle_bytes_;
    void keep_handle_bytes(const ipc::Buffer& b);
    std::map<std::uint32_t, std::uint32_t> taken_;  // server op handle -> tag
    // Every handle take() handed out whose operation was completed since (IPC-R-054: stale for
    // good, until its record's 16-bit generation wraps, which these runs never reach).
    std::vector<std::uint32_t> retired_;
    // A handle that is not current: often a retired one whose record now serves another taken
    // operation (the case a missing generation check gets wrong), else any handle.
    std::uint32_t bogus_handle(const Action& a) const;
    std::optional<ipc::abi::Completion> last_reaped_;
    std::uint64_t next_user_data_ = 1;
    std::vector<TraceStep> trace_;
    template <class T>
    void emit(Event::Call call, const ipc::Result<T>& r, Event e = {}) {
        if (!observer_)
            return;
        e.call = call;
        e.ok = r.ok();
        e.error = r.error();
        observer_(e);
    }
    void emit(Event::Call call, Event e = {}) {
        if (!observer_)
            return;
        e.call = call;
        observer_(e);
    }
    std::function<void(const Event&)> observer_;
    TraceStep note_;  // result of the step in progress

    // The cost policy's state.
    // Saved bytes of each part (see snapshot()), and which of them hold exactly the current
    // bytes: nothing that can write that part ran since it was saved (or since a failed call
    // was found not to have changed it). snapshot() copies only the other ones.
    mutable std::array<std::vector<std::byte>, kParts> saved_;
    mutable std::uint8_t fresh_ = 0;
    // Deferred mode: parts that failed calls since the last settle() must have left as saved,
    // and the first and last of those steps (for the report).
    bool deferred_ = false;
    mutable std::uint8_t pending_ = 0;
    mutable std::size_t pending_first_ = 0, pending_last_ = 0;
    mutable const char* pending_call_ = "";
    // The region bytes the hostile step in progress wrote (offset, length), see peer_write();
    // a step writes at most two places (HostileForge: an entry and the tail).
    std::array<std::pair<std::uint32_t, std::uint32_t>, 4> peer_ranges_{};
    std::size_t peer_writes_ = 0;
    mutable std::string settle_err_;  // a settle() inside the step in progress failed
    // This step's call failed and unchanged() found every byte as before (deferred mode: left
    // them to settle(), which reports any change before the state may change).
    mutable bool verified_unchanged_ = false;
    bool model_touched_ = false;  // this step changed the model outside a commit (end_drain)
    bool checked_ = false;        // check_state() held after the last step
};

}  // namespace keel::model
