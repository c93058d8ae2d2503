// System: the library and the reference model in lock step. See system.hpp.
#include <keel_model/system.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <sstream>
#include <type_traits>

namespace keel::model {

namespace abi = ipc::abi;
using ipc::Error;

namespace {

constexpr std::uint16_t kOpLimitSpan = 4;  // service opcodes 16..19 are valid
// The note of a step that called nothing; step() tells such steps by this pointer.
constexpr const char* kSkip = "skip";
constexpr const char* kTampered = "tampered";

std::string hex(std::uint64_t v) {
    std::ostringstream os;
    os << "0x" << std::hex << v;
    return os.str();
}

// Submit's opcode selector: mostly valid, sometimes Nop, a reserved opcode, one past the
// service's limit, or Cancel through submit() (which the API refuses).
std::uint16_t opcode_for(std::uint32_t sel, std::uint16_t op_limit) {
    switch (sel % 8) {
        case 0:
            return std::uint16_t(abi::Op::Nop);
        case 6:
            return std::uint16_t(2 + (sel / 8) % 14);
        case 7:
            return (sel / 8) % 2 ? std::uint16_t(abi::Op::Cancel) : op_limit;
        default:
            return std::uint16_t(abi::kFirstServiceOp + sel % kOpLimitSpan);
    }
}

std::uint16_t status_for(std::uint32_t sel) {
    switch (sel % 6) {
        case 0:
            return std::uint16_t(abi::Status::Ok);
        case 1:
            return std::uint16_t(abi::Status::Cancelled);
        case 2:
            return std::uint16_t(abi::kFirstServiceStatus + sel / 6 % 16);
        case 3:
            return std::uint16_t(abi::Status::BadRequest);
        case 4:
            return std::uint16_t(abi::Status::InProgress);  // Cancel's only: refused
        default:
            return std::uint16_t(abi::Status::NotFound);  // Cancel's only: refused
    }
}

std::byte* alloc_region(std::size_t size) {
    std::size_t rounded = (size + 4095) & ~std::size_t(4095);
    auto* p = static_cast<std::byte*>(std::aligned_alloc(4096, rounded));
    std::memset(p, 0, rounded);
    return p;
}

}  // namespace

const char* kind_name(Kind k) {
    static const char* const names[] = {"Acquire",
                                        "Release",
                                        "Drop",
                                        "ReleaseEmpty",
                                        "ReleaseForeign",
                                        "Submit",
                                        "SubmitEmpty",
                                        "SubmitForeign",
                                        "Cancel",
                                        "CancelUserData",
                                        "Publish",
                                        "Reap",
                                        "PeerGone",
                                        "ClientClose",
                                        "Poll",
                                        "Take",
                                        "Complete",
                                        "CompleteBogus",
                                        "CancelRequested",
                                        "ServerPublish",
                                        "ClientGone",
                                        "ServerClose",
                                        "HostileCqTail",
                                        "HostileCqEntry",
                                        "HostileForge",
                                        "HostileSqTail",
                                        "HostileCqHead",
                                        "HostileSqHead",
                                        "HostileClientState",
                                        "HostileTamperSub",
                                        "SubmitForged"};
    static_assert(sizeof(names) / sizeof(names[0]) == std::size_t(Kind::Count));
    return k < Kind::Count ? names[std::size_t(k)] : "?";
}

std::string describe(const Action& a) {
    std::ostringstream os;
    os << kind_name(a.kind) << "(a=" << a.a << " b=" << a.b << " c=" << a.c << " d=" << hex(a.d)
       << ")";
    return os.str();
}

namespace {

// A second queue whose only job is to own a buffer that is not the System's client's. Every
// System of the process shares it (the fuzzers build one System per input): calls with it are
// only ever refused. If a faulty library ever took it, a fresh one replaces it.
struct ForeignQueue {
    std::byte* region = nullptr;
    std::vector<std::uint64_t> store;
    ipc::Client client;
    ipc::Buffer buffer;
    ForeignQueue() {
        ipc::Geometry g{1, 1, 64};
        auto l = ipc::Layout::compute(g);
        region = alloc_region(std::size_t(l->total_size));
        store.resize(ipc::Client::private_size(g) / 8 + 1);
        if (client.create({region, std::size_t(l->total_size)},
                          std::as_writable_bytes(std::span(store)), g)) {
            auto b = client.acquire();
            if (b)
                buffer = std::move(b.value());
        }
    }
    ~ForeignQueue() {
        buffer.reset();
        std::free(region);
    }
};

ipc::Buffer& foreign_buffer() {
    static std::unique_ptr<ForeignQueue> q;
    if (!q || !q->buffer.valid())
        q = std::make_unique<ForeignQueue>();
    return q->buffer;
}

}  // namespace

System::System(const Config& c) : cfg_(c), model_(c) {
    trace_.reserve(256);
    init();
}

void System::reset(const Config& c) {
    // Handles in hand release into the old client first (their destructors call it).
    hand_.clear();
    handle_bytes_.clear();
    taken_.clear();
    retired_.clear();
    last_reaped_.reset();
    next_user_data_ = 1;
    trace_.clear();
    note_ = TraceStep{};
    fresh_ = 0;
    pending_ = 0;
    settle_err_.clear();
    verified_unchanged_ = false;
    model_touched_ = false;
    checked_ = false;
    cfg_ = c;
    model_ = Model(c);
    std::destroy_at(&client_);
    std::construct_at(&client_);
    std::destroy_at(&server_);
    std::construct_at(&server_);
    ok_ = false;
    layout_ = {};
    region_size_ = 0;
    init();
}

// The common part of the constructor and reset(): a zeroed region and zeroed private storage
// (reused when large enough), then create() and attach().
void System::init() {
    foreign_buffer_ = &foreign_buffer();
    ipc::Geometry g{cfg_.capacity, cfg_.buffer_count, cfg_.buffer_size};
    auto layout = ipc::Layout::compute(g);
    if (!layout)
        return;
    layout_ = *layout;
    region_size_ = std::size_t(layout_.total_size);
    if (region_size_ > region_capacity_) {
        std::free(region_);
        region_capacity_ = (region_size_ + 4095) & ~std::size_t(4095);
        region_ = alloc_region(region_capacity_);
    } else {
        std::memset(region_, 0, region_size_);
    }
    cstore_.assign(ipc::Client::private_size(g) / 8 + 1, 0);
    sstore_.assign(ipc::Server::private_size(g) / 8 + 1, 0);
    std::span<std::byte> shared{region_, region_size_};
    auto cs = std::as_writable_bytes(std::span(cstore_));
    auto ss = std::as_writable_bytes(std::span(sstore_));
    if (!client_.create(shared, cs, g, cfg_.first_index))
        return;
    if (!server_.attach(shared, ss, g, cfg_.op_limit))
        return;

    ok_ = true;
}

System::~System() {
    hand_.clear();
    std::free(region_);
}

ipc::QueueView System::view() const {
    return ipc::QueueView::map({region_, region_size_}, layout_).value();
}

std::string System::state_key() const {
    std::string k;
    auto add = [&k](const void* p, std::size_t n) { k.append(static_cast<const char*>(p), n); };
    add(cstore_.data(), cstore_.size() * 8);
    add(sstore_.data(), sstore_.size() * 8);
    add(region_, protocol_bytes());
    const std::uint32_t scalars[] = {client_.outstanding(),
                                     client_.pooled_buffers(),
                                     client_.sq_tail(),
                                     client_.cq_head(),
                                     client_.torn_down(),
                                     server_.sq_head(),
                                     server_.cq_tail(),
                                     server_.live(),
                                     server_.queued(),
                                     server_.taken(),
                                     std::uint32_t(model_.client_mode()),
                                     std::uint32_t(model_.server_mode()),
                                     model_.leftover_drain(),
                                     std::uint32_t(model_.client_cq_seen()),
                                     std::uint32_t(hand_.size())};
    add(scalars, sizeof scalars);
    return k;
}

std::byte* System::sq_entry(std::uint32_t index) {
    return region_ + layout_.sq_entries + (index & (cfg_.capacity - 1)) * sizeof(abi::Submission);
}
std::byte* System::cq_entry(std::uint32_t index) {
    return region_ + layout_.cq_entries + (index & (cfg_.capacity - 1)) * sizeof(abi::Completion);
}
void System::note_peer_write(std::size_t at, std::size_t n) {
    for (std::size_t k = 0; k < peer_writes_; ++k) {
        if (peer_ranges_[k] == std::pair{std::uint32_t(at), std::uint32_t(n)})
            return;  // the restore of an earlier write
    }
    if (peer_writes_ < peer_ranges_.size())
        peer_ranges_[peer_writes_++] = {std::uint32_t(at), std::uint32_t(n)};
}

// A hostile peer's write into the region. The saved copy of the region, if current, gets the
// same bytes: it stays current without being copied again.
void System::peer_write(std::byte* dst, const void* src, std::size_t n) {
    std::memcpy(dst, src, n);
    const std::size_t at = std::size_t(dst - region_);
    note_peer_write(at, n);
    if ((fresh_ & kRegion) && at + n <= saved_[kParts - 1].size())
        std::memcpy(saved_[kParts - 1].data() + at, src, n);
    else
        fresh_ &= std::uint8_t(~kRegion);
}
void System::peer_store(std::atomic<std::uint32_t>& c, std::uint32_t v) {
    c.store(v);
    const std::size_t at = std::size_t(reinterpret_cast<std::byte*>(&c) - region_);
    note_peer_write(at, sizeof v);
    if ((fresh_ & kRegion) && at + sizeof v <= saved_[kParts - 1].size())
        std::memcpy(saved_[kParts - 1].data() + at, &v, sizeof v);
    else
        fresh_ &= std::uint8_t(~kRegion);
}

std::atomic<std::uint32_t>& System::counter(bool sq, bool tail) {
    auto* r = reinterpret_cast<abi::RingHeader*>(
        region_ + (sq ? abi::kSqHeaderOffset : abi::kCqHeaderOffset));
    return tail ? r->tail.value : r->head.value;
}

// ---- the cost policy ---------------------------------------------------------------------------
// What keeps a step cheap without checking less; nothing here decides what is right, only
// which bytes are saved before a call, when a failed call's bytes are compared with them, and
// when the full observable check (check_state()) can be skipped because nothing it reads has
// changed. The oracle (checked() and the handlers) calls only save_for_call() and, through
// expect_error(), unchanged(); step() calls begin_step() and end_step().
//   - A call the model expects to succeed is not snapshotted: an unexpected failure is
//     reported on its error alone.
//   - The saved state is kept per part (objects, private storages, region); a part is copied
//     again only if a step that can write it ran since (fresh_).
//   - Deferred mode (set_deferred_unchanged, the differential fuzzer's knob): a run of failed
//     calls is compared once, before anything may change the state (settle()).
//   - A step that changed no byte and no bookkeeping does not repeat the observable check.

namespace {

// Steps whose only call may be one the model expects to fail (or a pure query): in deferred
// mode they keep earlier failed calls pending unless their call is expected to succeed.
bool may_fail(Kind k) {
    switch (k) {
        case Kind::Acquire:
        case Kind::ReleaseEmpty:
        case Kind::ReleaseForeign:
        case Kind::Submit:
        case Kind::SubmitEmpty:
        case Kind::SubmitForeign:
        case Kind::SubmitForged:
        case Kind::Cancel:
        case Kind::CancelUserData:
        case Kind::Reap:
        case Kind::Poll:
        case Kind::Take:
        case Kind::Complete:
        case Kind::CompleteBogus:
        case Kind::CancelRequested:
        // Hostile steps: their writes go into the saved region too (peer_write()), and their
        // call is one the model expects to fail unless save_for_call() settles first.
        case Kind::HostileCqTail:
        case Kind::HostileCqEntry:
        case Kind::HostileForge:
        case Kind::HostileSqTail:
        case Kind::HostileCqHead:
        case Kind::HostileSqHead:
        case Kind::HostileClientState:
            return true;
        default:
            return false;
    }
}

}  // namespace

std::pair<const std::byte*, std::size_t> System::part_bytes(int i) const {
    auto b = [](const void* p) { return static_cast<const std::byte*>(p); };
    switch (i) {
        case 0:
            return {b(&client_), sizeof client_};
        case 1:
            return {b(cstore_.data()), cstore_.size() * 8};
        case 2:
            return {b(&server_), sizeof server_};
        case 3:
            return {b(sstore_.data()), sstore_.size() * 8};
        default:
            return {region_, protocol_bytes()};
    }
}

// The parts a step of this kind may write.
std::uint8_t System::written_by(Kind k) {
    constexpr std::uint8_t client = kClientObject | kClientStore | kRegion;
    constexpr std::uint8_t server = kServerObject | kServerStore | kRegion;
    if (k >= Kind::Poll && k <= Kind::ServerClose)
        return server;
    if (k <= Kind::ClientClose || k == Kind::SubmitForged)
        return client;
    return kAllParts;  // hostile: writes the region and calls either side
}

// Only calls the model allows to fail need a snapshot (an unexpected failure is reported
// before the snapshot would be compared). A call the model expects to succeed changes the
// state: in deferred mode, the failed calls before it are checked now.
System::Side System::save_for_call(Side side, const ErrorSet& allowed) const {
    if (!allowed.empty()) {
        snapshot(side);
    } else if (pending_ != 0) {
        std::string e = settle();
        if (!e.empty() && settle_err_.empty())
            settle_err_ = std::move(e);
    }
    return side;
}

// What one endpoint's call can reach: its own object, its own private storage and the shared
// region (the region up to the end of the completion entries: the buffers behind them are the
// service's bytes, which the library never writes). The other endpoint's object and storage
// are not reachable from it and are not copied. Parts still saved from before (fresh_: nothing
// that can write them ran since) are not copied again. No allocation per step once the
// buffers have grown.
System::Side System::snapshot(Side side) const {
    const std::uint8_t need = parts_of(side) & std::uint8_t(~fresh_);
    for (int i = 0; i < kParts; ++i) {
        if (need & (1u << i)) {
            auto [p, n] = part_bytes(i);
            saved_[std::size_t(i)].assign(p, p + n);
        }
    }
    fresh_ |= need;
    return side;
}

namespace {

// Byte equality without memcmp: a word loop the compiler vectorises (libFuzzer intercepts
// memcmp and traces its arguments, which cost more than the comparison here). Not
// instrumented for coverage: a counter in the loop would keep it from being vectorised, and
// its edges say nothing about the protocol. An AVX2 copy is used where the CPU has it.
#if defined(__clang__)
#define KEEL_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define KEEL_NO_COVERAGE
#endif
// One instantiation per caller (kCopy), so that the AVX2 caller's inlined copy is its own.
template <int kCopy>
KEEL_NO_COVERAGE inline bool same_words(const std::byte* a, const std::byte* b, std::size_t n) {
    std::uint64_t diff = 0;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        diff |= x ^ y;
    }
    for (; i < n; ++i)
        diff |= std::uint64_t(a[i] ^ b[i]);
    return diff == 0;
}

KEEL_NO_COVERAGE bool same_bytes_base(const std::byte* a, const std::byte* b, std::size_t n) {
    return same_words<0>(a, b, n);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
__attribute__((target("avx2"))) KEEL_NO_COVERAGE bool same_bytes_avx2(const std::byte* a,
                                                                      const std::byte* b,
                                                                      std::size_t n) {
    return same_words<1>(a, b, n);
}
bool have_avx2() {
    static const bool yes = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));
    return yes;
}
#endif

KEEL_NO_COVERAGE bool same_bytes(const std::vector<std::byte>& saved, const void* now) {
    const auto* b = static_cast<const std::byte*>(now);
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (have_avx2())
        return same_bytes_avx2(saved.data(), b, saved.size());
#endif
    return same_bytes_base(saved.data(), b, saved.size());
}

}  // namespace

namespace {

const char* part_name(int i) {
    static const char* const names[] = {"the Client object", "the client's private storage",
                                        "the Server object", "the server's private storage",
                                        "the shared region"};
    return names[i];
}

}  // namespace

std::string System::unchanged(Side before, const char* call) const {
    if (deferred_) {
        // Compared later (settle()): the parts stay saved until then. Except the bytes a
        // hostile step wrote before this call: it puts them back afterwards (into the saved
        // copy too), so a change this call made there would not be seen later.
        const auto& region = saved_[kParts - 1];
        for (std::size_t k = 0; k < peer_writes_; ++k) {
            auto [at, n] = peer_ranges_[k];
            if (at + n > region.size() || !same_words<0>(region.data() + at, region_ + at, n)) {
                return std::string("failed ") + call + " changed " + part_name(kParts - 1) +
                       " (validate-then-commit: a failed call changes nothing)";
            }
        }
        if (pending_ == 0) {
            pending_first_ = trace_.size();
            pending_call_ = call;
        }
        pending_ |= parts_of(before);
        pending_last_ = trace_.size();
        verified_unchanged_ = true;
        return {};
    }
    const std::uint8_t parts = parts_of(before);
    for (int i = 0; i < kParts; ++i) {
        if ((parts & (1u << i)) && !same_bytes(saved_[std::size_t(i)], part_bytes(i).first)) {
            return std::string("failed ") + call + " changed " + part_name(i) +
                   " (validate-then-commit: a failed call changes nothing)";
        }
    }
    verified_unchanged_ = true;
    return {};
}

std::string System::settle() const {
    const std::uint8_t parts = pending_;
    pending_ = 0;
    for (int i = 0; i < kParts; ++i) {
        if ((parts & (1u << i)) && !same_bytes(saved_[std::size_t(i)], part_bytes(i).first)) {
            return std::string("a failed call of steps #") + std::to_string(pending_first_) + ".." +
                   std::to_string(pending_last_) + " (the first: " + pending_call_ + ") changed " +
                   part_name(i) + " (validate-then-commit: a failed call changes nothing)";
        }
    }
    return {};
}

// The start of every step. In deferred mode, a step that may change the state without a call
// the model expects to fail first checks the failed calls before it (the others do so in
// save_for_call()); "" or what they changed.
std::string System::begin_step(Kind k) {
    verified_unchanged_ = false;
    model_touched_ = false;
    peer_writes_ = 0;
    if (pending_ != 0 && !may_fail(k))
        return settle();
    return {};
}

// The end of every step (its result noted): forgets the saved parts it may have written and
// tells whether the last full check of the observables still holds. Hostile steps write the
// region before their call (through peer_write(), which writes the saved copy of the region
// too); all but HostileForge and HostileTamperSub put back exactly what they wrote. A step that
// called nothing (skip, a pure query) leaves every byte as it was. A failed call found
// unchanged (deferred mode: to be found so by settle(), which reports otherwise before
// anything else may change) leaves every byte of both endpoints, their storage and the
// protocol part of the region as it was (restored ones: as before the hostile write), and the
// model and this System's bookkeeping untouched: every observable check_state() reads is a
// function of those, so the previous step's full check still holds and is not repeated. Sets
// `err` (if empty) when the policy's own bookkeeping failed, or when an earlier failed call,
// found changed by settle() inside this step, is the first disagreement.
bool System::end_step(Kind k, std::string& err) {
    const bool hostile = k >= Kind::HostileCqTail && k <= Kind::HostileTamperSub;
    const bool restores = hostile && k != Kind::HostileForge && k != Kind::HostileTamperSub;
    const bool pure = k == Kind::CancelRequested || note_.what == kSkip;
    const bool same = pure || (verified_unchanged_ && !model_touched_ && (!hostile || restores));
    // Whatever this step may have written is no longer saved: a client call reaches the
    // client's object, its storage and the region, a server call the server's; a hostile step
    // calls either side (its own writes went into the saved region too, see peer_write()).
    // (Through a local: reading fresh_ back right after a byte store to it stalled.)
    std::uint8_t fresh = fresh_;
    if (!pure && !verified_unchanged_) {
        fresh = std::uint8_t(fresh & ~written_by(k));
        fresh_ = fresh;
    }
    // Pending parts stay saved until settle(): a step that writes settles first.
    if ((pending_ & ~fresh) != 0 && err.empty())
        err = "internal: a step wrote the state while failed calls were pending";
    if (!settle_err_.empty()) {
        // The failed calls before this one changed the state (found when this call, expected
        // to succeed, was about to change it): that is the first disagreement.
        err = "before it, " + settle_err_;
        settle_err_.clear();
    }
    return same && checked_;
}

// ---- the oracle's judgement of a call, the trace, the observables -----------------------------

std::string System::expect_error(const char* call, const ErrorSet& allowed, Error got,
                                 Side before) const {
    if (allowed.empty()) {
        return std::string(call) + " failed with " + ipc::error_name(got) +
               "; the model expects success";
    }
    if (!allowed.has(got)) {
        return std::string(call) + " failed with " + ipc::error_name(got) +
               "; the model allows only " + allowed.str();
    }
    return unchanged(before, call);
}

// Fields are set one by one (keys and values past n are never read): this runs for every
// step, and building a whole TraceStep to copy it in stalled on the copy.
void System::note(const char* what,
                  std::initializer_list<std::pair<const char*, std::uint64_t>> values) {
    note_.what = what;
    note_.outcome = what == kSkip ? 1 : what == kTampered ? 2 : 0;
    note_.n = 0;
    for (const auto& [k, v] : values) {
        if (note_.n == 3)
            break;
        note_.keys[note_.n] = k;
        note_.values[note_.n++] = v;
    }
}

void System::note(Error e) {
    note_.what = ipc::error_name(e);
    note_.outcome = std::uint8_t(2 + unsigned(e));
    note_.n = 0;
}

std::string format_step(const TraceStep& t) {
    std::string out = describe(t.action) + " -> " + t.what;
    for (std::uint32_t i = 0; i < t.n; ++i)
        out += std::string(" ") + t.keys[i] + "=" + hex(t.values[i]);
    return out;
}

std::string System::trace_text(std::size_t last) const {
    std::ostringstream os;
    os << "config: capacity=" << cfg_.capacity << " buffers=" << cfg_.buffer_count
       << " buffer_size=" << cfg_.buffer_size << " op_limit=" << cfg_.op_limit
       << " first_index=" << hex(cfg_.first_index) << "\n";
    std::size_t from = trace_.size() > last ? trace_.size() - last : 0;
    for (std::size_t i = from; i < trace_.size(); ++i) {
        os << "  #" << i << " " << format_step(trace_[i]) << "\n";
    }
    return os.str();
}

std::string System::check_state() const {
    auto mismatch = [](const char* what, std::uint64_t lib, std::uint64_t model) {
        return std::string(what) + ": library " + hex(lib) + ", model " + hex(model);
    };
    const Model& m = model_;
    if (client_.outstanding() != m.outstanding()) {
        return mismatch("outstanding (IPC-R-010)", client_.outstanding(), m.outstanding());
    }
    if (client_.credit() != cfg_.capacity - m.outstanding()) {
        return mismatch("credit (IPC-R-010)", client_.credit(), cfg_.capacity - m.outstanding());
    }
    // The model's server records, summarised in one pass (queued, taken, buffers held).
    const Model::ServerSummary sum = m.server_summary();
    if (client_.pooled_buffers() != m.pooled()) {
        return mismatch("pooled buffers (I1)", client_.pooled_buffers(), m.pooled());
    }
    std::uint32_t in_hand = 0;
    for (std::uint16_t id = 0; id < cfg_.buffer_count; ++id) {
        static const std::uint32_t want[] = {0, 1, 2};  // rules::kBufPooled/InHand/Lent
        std::uint32_t exp = want[unsigned(m.owner(id))];
        if (client_.buffer_state(id) != exp) {
            return mismatch(("owner of buffer " + std::to_string(id) + " (I1, IPC-R-030)").c_str(),
                            client_.buffer_state(id), exp);
        }
        in_hand += m.owner(id) == Owner::Hand;
        const bool held = sum.held(id);
        if (server_.buffer_held(id) != (held ? 1u : 0u)) {
            return mismatch(
                ("server holds buffer " + std::to_string(id) + " (I1, IPC-R-051)").c_str(),
                server_.buffer_held(id), held);
        }
    }
    if (hand_.size() != in_hand)
        return mismatch("buffers in hand (I1)", hand_.size(), in_hand);
    for (const auto& b : hand_) {
        if (!b.valid() || m.owner(b.id()) != Owner::Hand) {
            return "a handle in hand names buffer " + std::to_string(b.id()) +
                   " that the model does not place in hand (I1)";
        }
    }
    if (client_.sq_tail() != m.sq_tail())
        return mismatch("sq tail (I7)", client_.sq_tail(), m.sq_tail());
    if (client_.cq_head() != m.cq_head())
        return mismatch("cq head (I7)", client_.cq_head(), m.cq_head());
    if (server_.sq_head() != m.sq_head())
        return mismatch("sq head (I7)", server_.sq_head(), m.sq_head());
    if (server_.cq_tail() != m.cq_tail())
        return mismatch("cq tail (I7)", server_.cq_tail(), m.cq_tail());
    if (server_.live() != m.server_live()) {
        return mismatch("server live (I3, IPC-R-011)", server_.live(), m.server_live());
    }
    if (server_.live() > cfg_.capacity)
        return "server live exceeds capacity (I3)";
    if (server_.queued() != sum.queued)
        return mismatch("queued", server_.queued(), sum.queued);
    if (server_.taken() != sum.taken)
        return mismatch("taken", server_.taken(), sum.taken);
    if (taken_.size() != sum.taken)
        return mismatch("taken ids", taken_.size(), sum.taken);
    for (const auto& [id, tag] : taken_) {
        if (server_.cancel_requested(id) != m.cancel_flag(tag)) {
            return mismatch("cancel flag (IPC-R-062)", server_.cancel_requested(id),
                            m.cancel_flag(tag));
        }
    }
    if (client_.torn_down() != (m.client_mode() != ClientMode::Open)) {
        return mismatch("client torn down", client_.torn_down(),
                        m.client_mode() != ClientMode::Open);
    }
    if (client_.server_closed() != m.header_server_closed()) {
        return mismatch("server closed flag", client_.server_closed(), m.header_server_closed());
    }
    if (server_.client_closed() != m.header_client_closed()) {
        return mismatch("client closed flag", server_.client_closed(), m.header_client_closed());
    }
    // I2/I3: the completion ring never holds more than capacity entries.
    if (m.cq_posted() > cfg_.capacity)
        return "completion ring over capacity (I3)";
    return {};
}

std::string System::finish(bool close) {
    std::string e = step({close ? Kind::ClientClose : Kind::PeerGone});
    // Each reap completes one operation; capacity + 1 reaps must reach Empty.
    for (std::uint32_t i = 0; e.empty() && i <= cfg_.capacity + 1; ++i) {
        bool last = model_.reap_expect().kind == ReapKind::Empty;
        e = step({Kind::Reap});
        if (last)
            break;
    }
    if (e.empty() && pending_ != 0)
        e = settle();  // the final reap (Empty) and any failed call before it
    if (!e.empty())
        return e;
    if (model_.reap_expect().kind != ReapKind::Empty || client_.outstanding() != 0) {
        return "after teardown and draining, operations are still outstanding (I6)";
    }
    for (std::uint16_t id = 0; id < cfg_.buffer_count; ++id) {
        if (client_.buffer_state(id) == 2)
            return "after teardown a buffer is still lent (I6)";
    }
    return {};
}

void System::keep_handle_bytes(const ipc::Buffer& b) {
    std::memcpy(handle_bytes_[b.id()].data(), static_cast<const void*>(&b), sizeof(ipc::Buffer));
}

// ---- the checked call -------------------------------------------------------------------------

namespace {

ErrorSet only(Error e) {
    ErrorSet s;
    s.add(e);
    return s;
}

}  // namespace

// Every library call whose outcome the model judges goes through here, the same way:
//   1. what a failure of that endpoint must leave unchanged is saved (save_for_call(): the
//      cost policy decides what is copied, and when);
//   2. `call()` makes the call; it also reports it to the observer and notes a success's
//      values in the trace;
//   3. a failure: `refused(error)` may report a fault of its own (a handle emptied by a
//      refused call); then the error must be one the model allows, and every byte the call
//      could reach must be as before (expect_error());
//   4. a success: the model must have expected one; then `agree(value)` compares what the
//      library returned with what the model expects and commits the model.
// The handle of the foreign queue is passed only to calls that must refuse it: after any call
// it must still be valid. step() then compares every observable.
template <class Call, class Agree, class Refused>
std::string System::checked(const Expect& x, Call&& call, Agree&& agree, Refused&& refused) {
    const Side before = save_for_call(x.side, x.allowed);
    auto r = call();
    if (!r)
        note(r.error());
    if (!foreign_buffer_->valid())
        return std::string("a refused ") + x.call + " emptied the foreign handle";
    if (!r) {
        std::string e = refused(r.error());
        if (!e.empty())
            return e;
        return expect_error(x.call, x.allowed, r.error(), before);
    }
    if (!x.allowed.empty()) {
        if (x.if_succeeds != nullptr)
            return x.if_succeeds;
        return std::string(x.call) + " succeeded; the model expects " + x.allowed.str();
    }
    // Result<void> has a value() too (it asserts success), but nothing to hand to agree().
    if constexpr (!std::is_void_v<decltype(r.value())>)
        return agree(r.value());
    else
        return agree();
}

template <class Call, class Agree>
std::string System::checked(const Expect& x, Call&& call, Agree&& agree) {
    return checked(x, std::forward<Call>(call), std::forward<Agree>(agree),
                   [](Error) { return std::string(); });
}

// ---- the handlers: one per kind of step (kHandlers) -------------------------------------------

std::string System::on_acquire(const Action& /*unused*/) {
    return checked(
        {"acquire", Side::Client, model_.acquire_errors()},
        [&] {
            auto r = client_.acquire();
            emit(Event::Call::Acquire, r, {.value = r ? r->id() : 0u});
            if (r)
                note("ok", {{"id", r->id()}});
            return r;
        },
        [&](ipc::Buffer& b) {
            std::string e = model_.acquire_commit(b.id());
            hand_.push_back(std::move(b));
            keep_handle_bytes(hand_.back());
            return e;
        });
}

// Release and Drop: a buffer in hand goes back to the pool (it cannot fail).
std::string System::on_release(const Action& a) {
    if (hand_.empty()) {
        note(kSkip);
        return {};
    }
    std::size_t i = a.a % hand_.size();
    std::uint16_t id = hand_[i].id();
    if (a.kind == Kind::Release) {
        auto r = client_.release(std::move(hand_[i]));
        if (!r)
            return std::string("release of a buffer in hand failed: ") + ipc::error_name(r.error());
    } else {
        hand_[i].reset();
    }
    emit(Event::Call::Release, {.buffer = id});
    if (hand_[i].valid())
        return "release left the handle valid";
    hand_.erase(hand_.begin() + std::ptrdiff_t(i));
    model_.release_commit(id);
    return {};
}

// ReleaseEmpty and ReleaseForeign: release() of a handle that is not one of this client's.
std::string System::on_release_refused(const Action& a) {
    const Handle h = a.kind == Kind::ReleaseEmpty ? Handle::Empty : Handle::Foreign;
    return checked(
        {"release", Side::Client, model_.release_errors(h),
         "release of a buffer not in hand succeeded (IPC-R-033)"},
        [&] {
            ipc::Buffer empty;
            return h == Handle::Empty ? client_.release(std::move(empty))
                                      : client_.release(std::move(*foreign_buffer_));
        },
        [] { return std::string(); });
}

// Submit, SubmitEmpty, SubmitForeign, SubmitForged.
std::string System::on_submit(const Action& a) {
    return submit_checked(a, false);
}

std::string System::submit_checked(const Action& a, bool bogus_head) {
    Handle h = Handle::None;
    std::size_t idx = 0;
    std::uint16_t buffer = abi::kNoBuffer;
    std::uint16_t opcode = opcode_for(a.a, cfg_.op_limit);
    // A forged handle: raw bytes of an earlier handle for a buffer that is not in hand now. It
    // lives in raw storage and is never destroyed (its destructor would release the buffer).
    alignas(ipc::Buffer) std::byte forged_raw[sizeof(ipc::Buffer)];
    ipc::Buffer* forged = nullptr;
    if (a.kind == Kind::SubmitForged) {
        std::vector<std::uint16_t> ids;
        for (const auto& [id, bytes] : handle_bytes_) {
            if (model_.owner(id) == Owner::Lent)
                ids.push_back(id);
        }
        if (ids.empty()) {
            for (const auto& [id, bytes] : handle_bytes_) {
                if (model_.owner(id) == Owner::Pool)
                    ids.push_back(id);
            }
        }
        if (ids.empty()) {
            note(kSkip);
            return {};
        }
        buffer = ids[a.b % ids.size()];
        std::memcpy(forged_raw, handle_bytes_[buffer].data(), sizeof forged_raw);
        forged = std::launder(reinterpret_cast<ipc::Buffer*>(forged_raw));
        h = Handle::Own;
    } else if (a.kind == Kind::SubmitEmpty) {
        h = Handle::Empty;
    } else if (a.kind == Kind::SubmitForeign) {
        h = Handle::Foreign;
    } else if (!bogus_head && !hand_.empty() && a.b % (hand_.size() + 1) != 0) {
        h = Handle::Own;
        idx = a.b % (hand_.size() + 1) - 1;
        buffer = hand_[idx].id();
    }
    std::uint32_t length = 0;
    if (h != Handle::None || a.c % 8 == 7) {
        switch (a.c % 4) {
            case 0:
                length = 0;
                break;
            case 1:
                length = 1 + a.c / 4 % (cfg_.buffer_size + 1);
                break;
            case 2:
                length = cfg_.buffer_size;
                break;
            default:
                length = cfg_.buffer_size + 1 + a.c / 4 % 64;
                break;  // too long
        }
        if (h == Handle::None)
            length = 1 + a.c / 8 % 64;  // a length without a buffer
    }
    ipc::Request req;
    req.user_data = next_user_data_++;
    req.opcode = opcode;
    req.object = std::uint32_t(a.d);
    req.length = length;
    req.offset = a.d >> 8;
    req.args[1] = a.d ^ 0x5555;
    req.flags = a.c;

    ErrorSet allowed = model_.submit_errors(h, opcode, buffer, length, false);
    if (bogus_head && allowed.empty() && model_.submit_reads_head()) {
        allowed.add(Error::ProtocolViolation);  // IPC-R-004: an impossible head is refused
    } else if (bogus_head) {
        bogus_head = false;  // the head is not read: an ordinary submit
    }
    // In-place submission (prepare, fill the entry, commit) for one submit in two that the
    // model expects to succeed: it must queue exactly what submit() would. (Its refusals leave
    // the caller's bytes in the unpublished entry, which the unchanged-bytes check would flag:
    // they are ipc/tests/inplace_test.cpp's.)
    const bool in_place = allowed.empty() && !forged && (h == Handle::None || h == Handle::Own) &&
                          (a.d >> 62 & 1) != 0;
    return checked(
        {"submit", Side::Client, allowed},
        [&] {
            auto r = [&]() -> ipc::Result<std::uint32_t> {
                if (in_place) {
                    auto e = client_.prepare();
                    if (!e)
                        return ipc::fail(e.error());
                    abi::Submission* entry = *e;
                    entry->object = req.object;
                    entry->offset = req.offset;
                    for (int i = 0; i < 3; ++i)
                        entry->args[i] = req.args[i];
                    entry->flags = req.flags;
                    entry->reserved0 = 0;
                    if (h == Handle::Own) {
                        return client_.commit(entry, req.user_data, opcode, length,
                                              std::move(hand_[idx]));
                    }
                    return client_.commit(entry, req.user_data, opcode);
                }
                switch (h) {
                    case Handle::Own:
                        if (forged)
                            return client_.submit(req, std::move(*forged));
                        return client_.submit(req, std::move(hand_[idx]));
                    case Handle::Empty: {
                        ipc::Buffer empty;
                        return client_.submit(req, std::move(empty));
                    }
                    case Handle::Foreign:
                        return client_.submit(req, std::move(*foreign_buffer_));
                    case Handle::None:
                        break;
                }
                return client_.submit(req);
            }();
            if (h == Handle::None || h == Handle::Own) {
                emit(Event::Call::Submit, r,
                     {.opcode = opcode,
                      .buffer = buffer,
                      .length = length,
                      .value = r ? r.value() : 0});
            }
            if (r)
                note("ok", {{"tag", r.value()}});
            return r;
        },
        [&](std::uint32_t tag) -> std::string {
            if (forged)
                return "submit accepted a stale handle to a buffer not in hand (IPC-R-032)";
            if (h == Handle::Own) {
                if (hand_[idx].valid())
                    return "submit kept the lent buffer in the handle (IPC-R-031)";
                hand_.erase(hand_.begin() + std::ptrdiff_t(idx));
            }
            Sub s;
            s.tag = tag;
            s.user_data = req.user_data;
            s.opcode = opcode;
            s.buffer = buffer;
            s.length = length;
            s.object = req.object;
            s.offset = req.offset;
            s.flags = req.flags;
            return model_.submit_commit(s.tag, s, false);
        },
        [&](Error got) -> std::string {
            if (h == Handle::Own && !forged && (!hand_[idx].valid() || hand_[idx].id() != buffer))
                return "a failed submit took the buffer out of the handle (IPC-R-031)";
            if (bogus_head && got != Error::ProtocolViolation) {
                return std::string("submit read an impossible head and returned ") +
                       ipc::error_name(got);
            }
            return {};
        });
}

// Cancel and CancelUserData. Target: a live operation in any state, the last reaped tag
// (completed), a garbage tag, or kNoTag; by user_data: a live one or an unknown one.
std::string System::on_cancel(const Action& a) {
    const auto& live = model_.live();
    std::size_t pick = a.a % (live.size() + 3);
    std::uint32_t target = abi::kNoTag;
    std::uint64_t target_ud = ~std::uint64_t(0) - a.d % 16;
    if (pick < live.size()) {
        auto it = std::next(live.begin(), std::ptrdiff_t(pick));
        target = it->first;
        target_ud = it->second.user_data;
    } else if (pick == live.size() && last_reaped_) {
        target = last_reaped_->tag;
    } else if (pick == live.size() + 1) {
        target = std::uint32_t(a.d);
    }
    const std::uint64_t ud = next_user_data_++;
    if (a.kind == Kind::CancelUserData) {
        auto targets = model_.cancel_targets_for(target_ud);
        target = targets.empty() ? abi::kNoTag : targets.front();
    }
    const auto opcode = std::uint16_t(abi::Op::Cancel);
    return checked(
        {"cancel", Side::Client,
         model_.submit_errors(Handle::None, opcode, abi::kNoBuffer, 0, true)},
        [&] {
            auto r = a.kind == Kind::Cancel ? client_.cancel(ud, target)
                                            : client_.cancel_user_data(ud, target_ud);
            emit(Event::Call::Cancel, r, {.target = target, .value = r ? r.value() : 0});
            if (r)
                note("ok", {{"tag", r.value()}, {"target", target}});
            return r;
        },
        [&](std::uint32_t tag) {
            Sub s;
            s.tag = tag;
            s.user_data = ud;
            s.opcode = opcode;
            s.target = target;
            return model_.submit_commit(s.tag, s, true);
        });
}

std::string System::on_reap(const Action& /*unused*/) {
    return reap_checked(false, false);
}

std::string System::reap_checked(bool corrupted_ring, bool bogus_tail) {
    // An impossible completion or tail that the client reads must be refused (IPC-R-040..044,
    // I8): while open as a ProtocolViolation with nothing changed; during the teardown drain
    // by ending the drain (the operation then completes as a leftover).
    ReapExpect e = model_.reap_expect();
    if (corrupted_ring && model_.reap_reads_ring())
        e.kind = ReapKind::Refused;
    const bool open = model_.client_mode() == ClientMode::Open;
    if ((bogus_tail && model_.reap_reads_tail()) || (e.kind == ReapKind::Refused && open)) {
        return checked(
            {"reap", Side::Client, only(Error::ProtocolViolation),
             "reap accepted an impossible completion or tail (I8, IPC-R-041)"},
            [&] {
                auto r = client_.reap();
                emit(Event::Call::Reap, r);
                return r;
            },
            [](ipc::Reaped& /*unused*/) { return std::string(); });
    }
    if (e.kind == ReapKind::Refused) {
        model_.end_drain();
        model_touched_ = true;
        e = model_.reap_expect();
    }
    return checked(
        {"reap", Side::Client, e.kind == ReapKind::Empty ? only(Error::Empty) : ErrorSet{},
         "reap returned a completion; the model has none (I2)"},
        [&] {
            auto r = client_.reap();
            if (observer_) {
                Event ev;
                if (r) {
                    ev.r_tag = r->tag;
                    ev.r_status = r->status;
                    ev.r_cancel = r->is_cancel;
                    ev.r_buffer = r->buffer.valid() ? r->buffer.id() : abi::kNoBuffer;
                }
                emit(Event::Call::Reap, r, ev);
            }
            if (r) {
                note("ok", {{"tag", r->tag},
                            {"status", r->status},
                            {"buffer", r->buffer.valid() ? r->buffer.id() : abi::kNoBuffer}});
            }
            return r;
        },
        [&](ipc::Reaped& got) -> std::string {
            const std::uint16_t got_buffer = got.buffer.valid() ? got.buffer.id() : abi::kNoBuffer;
            if (e.kind == ReapKind::Leftover) {
                auto it = model_.live().find(got.tag);
                if (it == model_.live().end())
                    return "leftover completion for a tag with no live operation (I2, IPC-R-071)";
                e.tag = got.tag;
                e.user_data = it->second.user_data;
                e.is_cancel = it->second.is_cancel;
                e.buffer = it->second.buffer;
            }
            if (got.tag != e.tag)
                return "reap: tag " + hex(got.tag) + ", model " + hex(e.tag) + " (I2)";
            if (got.user_data != e.user_data)
                return "reap: user_data differs (IPC-R-040)";
            if (got.status != e.status) {
                return "reap: status " + std::to_string(got.status) + ", model " +
                       std::to_string(e.status) + " (I5/I6)";
            }
            if (got.value != e.value)
                return "reap: value differs";
            if (got.is_cancel != e.is_cancel)
                return "reap: is_cancel differs";
            if (got_buffer != e.buffer) {
                return "reap: buffer " + std::to_string(got_buffer) + ", model " +
                       std::to_string(e.buffer) + " (I4: a buffer returns with its own operation)";
            }
            if (got.buffer.valid() && client_.bytes(got.buffer).size() != cfg_.buffer_size)
                return "reap: returned buffer has no bytes";
            std::string err = model_.reap_commit(got.tag);
            if (!err.empty())
                return err;
            if (e.kind == ReapKind::Ring)
                last_reaped_ = abi::Completion{got.tag, got.status, got_buffer, got.value};
            if (got.buffer.valid()) {
                hand_.push_back(std::move(got.buffer));
                keep_handle_bytes(hand_.back());
            }
            return {};
        });
}

// The calls that cannot fail (publish and teardown, either side): the library, the observer,
// then the model.
template <auto kEndpoint, auto kCall, Event::Call kEvent, auto kModel>
std::string System::on_signal(const Action& /*unused*/) {
    ((this->*kEndpoint).*kCall)();
    emit(kEvent);
    (model_.*kModel)();
    return {};
}

std::string System::on_poll(const Action& /*unused*/) {
    return poll_checked({}, nullptr);
}

// `extra`: what the model allows besides (a hostile write the poll must refuse), and the
// report if the poll succeeds anyway.
std::string System::poll_checked(const ErrorSet& extra, const char* if_succeeds) {
    ErrorSet allowed = model_.poll_errors();
    if (allowed.empty())
        allowed = extra;
    return checked(
        {"poll", Side::Server, allowed, if_succeeds},
        [&] {
            auto r = server_.poll();
            emit(Event::Call::Poll, r, {.value = r ? r.value() : 0});
            if (r)
                note("ok", {{"drained", r.value()}});
            return r;
        },
        [&](std::uint32_t drained) -> std::string {
            std::uint32_t n = model_.poll_commit();
            if (drained != n) {
                return "poll drained " + std::to_string(drained) + ", model " + std::to_string(n) +
                       " (IPC-R-011)";
            }
            return {};
        });
}

std::string System::on_take(const Action& /*unused*/) {
    auto exp = model_.take_expect();
    return checked(
        {"take", Side::Server, exp ? ErrorSet{} : only(model_.take_error()),
         "take returned an operation; the model has none queued"},
        [&] {
            auto r = server_.take();
            emit(Event::Call::Take, r,
                 r ? Event{.value = r->id, .r_tag = r->request.tag, .r_buffer = r->request.buffer}
                   : Event{});
            if (r)
                note("ok", {{"id", r->id}, {"tag", r->request.tag}});
            return r;
        },
        [&](const ipc::Operation& t) -> std::string {
            const abi::Submission& q = t.request;
            if (q.tag != exp->tag)
                return "take: not the oldest queued operation (FIFO)";
            if (q.user_data != exp->user_data || q.opcode != exp->opcode ||
                q.buffer != exp->buffer || q.length != exp->length || q.object != exp->object ||
                q.offset != exp->offset || q.flags != exp->flags) {
                return "take: the request differs from what the client submitted";
            }
            // IPC-R-054: the handle names a record below capacity, and is none handed out
            // before (the record's generation advanced when its last operation ended).
            if (ipc::Server::record_index(t.id) >= cfg_.capacity || taken_.count(t.id) ||
                std::find(retired_.begin(), retired_.end(), t.id) != retired_.end()) {
                return "take: bad op handle (record out of range, or a generation used before)";
            }
            taken_[t.id] = q.tag;
            model_.take_commit();
            return {};
        });
}

std::uint32_t System::bogus_handle(const Action& a) const {
    if (!retired_.empty() && a.c % 3 != 2) {
        // Stale: prefer one whose record is taken again, by another operation.
        for (std::size_t k = 0; a.c % 3 == 0 && k < retired_.size(); ++k) {
            const std::uint32_t h = retired_[(a.a + k) % retired_.size()];
            for (const auto& [id, tag] : taken_) {
                if (ipc::Server::record_index(id) == ipc::Server::record_index(h))
                    return h;
            }
        }
        return retired_[a.a % retired_.size()];
    }
    // A record index up to twice the capacity (some out of range), any generation bits.
    return (a.a % (2 * cfg_.capacity + 1)) | ((a.b & 3) == 0 ? 0 : (a.a >> 16) << 16);
}

// Complete: the k-th taken op (any handle when none is taken); CompleteBogus: a handle that is
// stale (completed before), or names a record not taken, or out of range.
std::string System::on_complete(const Action& a) {
    if (a.kind == Kind::CompleteBogus || taken_.empty())
        return complete_checked(bogus_handle(a), status_for(a.b), a.d);
    auto it = std::next(taken_.begin(), std::ptrdiff_t(a.a % taken_.size()));
    return complete_checked(it->first, status_for(a.b), a.d);
}

std::string System::complete_checked(std::uint32_t id, std::uint16_t status, std::uint64_t value) {
    auto it = taken_.find(id);
    std::optional<std::uint32_t> tag;
    if (it != taken_.end())
        tag = it->second;
    return checked(
        // The handle is current iff it is one take() handed out and not completed since: an
        // id-and-generation check (a stale handle of a record taken again is not in taken_).
        {"complete", Side::Server,
         model_.complete_errors(tag, ipc::Server::record_index(id) < cfg_.capacity, status)},
        [&] {
            auto r = server_.complete(id, status, value);
            emit(Event::Call::Complete, r, {.op = id, .status = status});
            return r;
        },
        [&] {
            model_.complete_commit(*tag, status, value);
            taken_.erase(it);
            retired_.push_back(id);
            return std::string();
        });
}

// A pure query: nothing is called that could change anything.
std::string System::on_cancel_requested(const Action& a) {
    std::uint32_t id = a.d % 2 == 0 && !taken_.empty()
                           ? std::next(taken_.begin(), std::ptrdiff_t(a.a % taken_.size()))->first
                           : bogus_handle(a);
    auto it = taken_.find(id);
    bool want = it != taken_.end() && model_.cancel_flag(it->second);
    if (server_.cancel_requested(id) != want)
        return "cancel_requested differs";
    return {};
}

// ---- hostile peers (spec I8): write the region, let the victim call, check, restore ----------

// The peer stores `bogus` into counter `c`, the victim makes its checked call, the peer puts
// the counter back.
template <class Call>
std::string System::with_bogus_counter(std::atomic<std::uint32_t>& c, std::uint32_t bogus,
                                       Call&& call) {
    const std::uint32_t saved = c.load();
    peer_store(c, bogus);
    emit(Event::Call::PeerWrite);
    std::string e = call();
    peer_store(c, saved);
    emit(Event::Call::PeerWrite);
    return e;
}

std::string System::on_hostile_cq_tail(const Action& a) {
    return with_bogus_counter(counter(false, true),
                              model_.cq_head() + cfg_.capacity + 1 + std::uint32_t(a.d % 1000),
                              [&] { return reap_checked(false, true); });
}

std::string System::on_hostile_cq_entry(const Action& a) {
    if (!model_.reap_reads_ring()) {
        note(kSkip);
        return {};
    }
    abi::Completion c;
    std::byte* p = cq_entry(model_.cq_head());
    std::memcpy(&c, p, sizeof c);
    const abi::Completion saved = c;
    auto op = model_.live().find(c.tag);
    bool is_cancel = op != model_.live().end() && op->second.is_cancel;
    switch (a.a % 4) {
        case 0:  // a pending-slot number past the table (IPC-R-040)
            c.tag = (c.tag & 0xFFFF0000u) |
                    (cfg_.capacity + std::uint32_t(a.d % (0x10000 - cfg_.capacity)));
            break;
        case 1:  // another generation: stale or duplicate (IPC-R-021)
            c.tag ^= (1u + std::uint32_t(a.d % 0xFFFF)) << 16;
            break;
        case 2:  // the wrong buffer (I4)
            c.buffer = std::uint16_t(c.buffer ^ (1u + a.d % 0xFFFF));
            break;
        default:  // a status only a Cancel may carry (IPC-R-043)
            if (is_cancel) {
                c.tag ^= 1u << 16;
            } else {
                c.status = a.d % 2 ? std::uint16_t(abi::Status::InProgress)
                                   : std::uint16_t(abi::Status::NotFound);
            }
            break;
    }
    peer_write(p, &c, sizeof c);
    emit(Event::Call::PeerWrite);
    std::string e = reap_checked(true, false);
    peer_write(p, &saved, sizeof saved);
    emit(Event::Call::PeerWrite);
    return e;
}

std::string System::on_hostile_forge(const Action& a) {
    if (model_.client_mode() != ClientMode::Open || model_.client_cq_seen() != 0 ||
        model_.cq_posted() != 0) {
        note(kSkip);
        return {};
    }
    abi::Completion c{};
    std::uint32_t next_gen = 0;
    if (last_reaped_) {
        next_gen =
            (last_reaped_->tag & 0xFFFFu) | ((((last_reaped_->tag >> 16) + 1) & 0xFFFFu) << 16);
    }
    if (last_reaped_ && a.a % 2 == 1 && !model_.live().count(next_gen)) {
        // The current generation of a slot that is free: no live operation has this tag
        // (IPC-R-040: the slot must be live, not only the generation).
        c.tag = next_gen;
        c.status = std::uint16_t(abi::Status::Ok);
        c.buffer = abi::kNoBuffer;
    } else if (last_reaped_) {
        c = *last_reaped_;  // a replay: its slot's generation has moved on
    } else {
        c.tag = cfg_.capacity + std::uint32_t(a.d % (0x10000 - cfg_.capacity));
    }
    peer_write(cq_entry(model_.cq_tail()), &c, sizeof c);
    return with_bogus_counter(counter(false, true), model_.cq_tail() + 1,
                              [&] { return reap_checked(false, true); });
}

// HostileSqTail, HostileCqHead, HostileClientState: an impossible counter or a closed header
// that the server's poll must refuse.
std::string System::on_hostile_poll(const Action& a) {
    std::atomic<std::uint32_t>* w;
    std::uint32_t bogus;
    ErrorSet extra;
    if (a.kind == Kind::HostileSqTail) {
        w = &counter(true, true);
        bogus = model_.sq_head() + cfg_.capacity + 1 + std::uint32_t(a.d % 1000);
        extra.add(Error::ProtocolViolation);
    } else if (a.kind == Kind::HostileCqHead) {
        w = &counter(false, false);
        bogus = model_.cq_tail() + 1 + std::uint32_t(a.d % 1000);
        // IPC-R-012: a poll whose credit covers what it sees never reads the head, so it must
        // succeed as usual; one that needs the head must refuse it.
        if (model_.poll_reads_cq_head())
            extra.add(Error::ProtocolViolation);
    } else {
        auto* h = reinterpret_cast<abi::QueueHeader*>(region_);
        w = &h->client_state;
        bogus = abi::kEndpointClosed;
        extra.add(Error::PeerGone);
    }
    return with_bogus_counter(*w, bogus, [&] {
        return poll_checked(extra,
                            "poll accepted an impossible counter or closed header (I8, IPC-R-003)");
    });
}

std::string System::on_hostile_sq_head(const Action& a) {
    return with_bogus_counter(counter(true, false),
                              model_.sq_tail() + 1 + std::uint32_t(a.d % 1000),
                              [&] { return submit_checked(a, true); });
}

// A published submission rewritten by the client before the server polls; kept, not restored
// (the server's later calls judge it).
std::string System::on_hostile_tamper(const Action& a) {
    if (model_.sq_visible() == 0) {
        note(kSkip);
        return {};
    }
    std::size_t k = a.b % model_.sq_visible();
    Sub* s = model_.visible_sub(k);
    abi::Submission e;
    std::byte* p = sq_entry(model_.sq_head() + std::uint32_t(k));
    std::memcpy(&e, p, sizeof e);
    if (e.tag != s->tag)
        return "the ring entry is not the submission the model has";
    const bool cancel = s->opcode == std::uint16_t(abi::Op::Cancel);
    const bool none = s->buffer == abi::kNoBuffer;
    std::uint16_t held = abi::kNoBuffer;
    for (const auto& op : model_.server_ops()) {
        if (op.sub.buffer != abi::kNoBuffer)
            held = op.sub.buffer;
    }
    unsigned how = a.a % 6;
    if (how == 1 && held == abi::kNoBuffer)
        how = 0;
    if ((how == 0 || how == 1) && !none)
        how = 2;
    if (how == 2 && (none || cancel))
        how = 3;
    if (how == 3 && (!none || cancel))
        how = 4;
    if (how == 4 && cancel)
        how = 5;
    if (how == 0 && cfg_.buffer_count >= abi::kMaxBuffers)
        how = 5;
    switch (how) {
        case 0:  // a buffer id outside the table, often just past it (IPC-R-050)
            s->buffer =
                std::uint16_t(cfg_.buffer_count +
                              (a.d % 2 ? 0 : a.d / 2 % (abi::kMaxBuffers + 1 - cfg_.buffer_count)));
            break;
        case 1:
            s->buffer = held;
            break;  // reuse of an in-flight buffer (IPC-R-051)
        case 2:
            s->length = cfg_.buffer_size + 1 + std::uint32_t(a.d % 4096);
            break;
        case 3:
            s->length = 1 + std::uint32_t(a.d % 4096);
            break;
        case 4:  // a reserved opcode, or one past the service's limit (IPC-R-052)
            s->opcode = a.d % 2
                            ? std::uint16_t(2 + a.d / 2 % 14)
                            : std::uint16_t(cfg_.op_limit + a.d / 2 % (0x10000 - cfg_.op_limit));
            if (s->opcode == std::uint16_t(abi::Op::Cancel))
                s->opcode = 2;
            break;
        default:  // fields the protocol does not interpret travel unchanged
            s->user_data ^= a.d;
            s->object ^= std::uint32_t(a.d >> 3);
            s->flags ^= std::uint32_t(a.d >> 7);
            break;
    }
    note(kTampered, {{"how", how}});
    e.buffer = s->buffer;
    e.length = s->length;
    e.opcode = s->opcode;
    e.user_data = s->user_data;
    e.object = s->object;
    e.flags = s->flags;
    peer_write(p, &e, sizeof e);
    emit(Event::Call::PeerWrite);
    return {};
}

// The handler of each kind, by index; a kind with none is a compile error.
constexpr std::array<System::Handler, System::kKinds> System::handlers() {
    std::array<Handler, kKinds> t{};
    auto set = [&t](Kind k, Handler h) { t[std::size_t(k)] = h; };
    set(Kind::Acquire, &System::on_acquire);
    set(Kind::Release, &System::on_release);
    set(Kind::Drop, &System::on_release);
    set(Kind::ReleaseEmpty, &System::on_release_refused);
    set(Kind::ReleaseForeign, &System::on_release_refused);
    set(Kind::Submit, &System::on_submit);
    set(Kind::SubmitEmpty, &System::on_submit);
    set(Kind::SubmitForeign, &System::on_submit);
    set(Kind::SubmitForged, &System::on_submit);
    set(Kind::Cancel, &System::on_cancel);
    set(Kind::CancelUserData, &System::on_cancel);
    set(Kind::Publish, &System::on_signal<&System::client_, &ipc::Client::publish,
                                          Event::Call::Publish, &Model::client_publish>);
    set(Kind::Reap, &System::on_reap);
    set(Kind::PeerGone, &System::on_signal<&System::client_, &ipc::Client::peer_gone,
                                           Event::Call::PeerGone, &Model::peer_gone>);
    set(Kind::ClientClose, &System::on_signal<&System::client_, &ipc::Client::close,
                                              Event::Call::ClientClose, &Model::client_close>);
    set(Kind::Poll, &System::on_poll);
    set(Kind::Take, &System::on_take);
    set(Kind::Complete, &System::on_complete);
    set(Kind::CompleteBogus, &System::on_complete);
    set(Kind::CancelRequested, &System::on_cancel_requested);
    set(Kind::ServerPublish,
        &System::on_signal<&System::server_, &ipc::Server::publish, Event::Call::ServerPublish,
                           &Model::server_publish>);
    set(Kind::ClientGone, &System::on_signal<&System::server_, &ipc::Server::client_gone,
                                             Event::Call::ClientGone, &Model::client_gone>);
    set(Kind::ServerClose, &System::on_signal<&System::server_, &ipc::Server::close,
                                              Event::Call::ServerClose, &Model::server_close>);
    set(Kind::HostileCqTail, &System::on_hostile_cq_tail);
    set(Kind::HostileCqEntry, &System::on_hostile_cq_entry);
    set(Kind::HostileForge, &System::on_hostile_forge);
    set(Kind::HostileSqTail, &System::on_hostile_poll);
    set(Kind::HostileCqHead, &System::on_hostile_poll);
    set(Kind::HostileClientState, &System::on_hostile_poll);
    set(Kind::HostileSqHead, &System::on_hostile_sq_head);
    set(Kind::HostileTamperSub, &System::on_hostile_tamper);
    return t;
}

namespace {

template <class T, std::size_t N>
constexpr bool none_null(const std::array<T, N>& t) {
    for (const T& x : t) {
        if (x == nullptr)
            return false;
    }
    return true;
}

}  // namespace

const std::array<System::Handler, System::kKinds> System::kHandlers = handlers();

// ---- step ---------------------------------------------------------------------------------------

std::string System::step(const Action& a) {
    static_assert(none_null(handlers()), "a kind of step has no handler");
    note("ok");
    // The cost policy's own checks first: in deferred mode, failed calls before this step that
    // may change the state.
    std::string err = begin_step(a.kind);
    if (!err.empty()) {
        checked_ = false;
        return "step #" + std::to_string(trace_.size()) + " " + describe(a) + ": before it, " + err;
    }
    if (a.kind < Kind::Count)
        err = (this->*kHandlers[std::size_t(a.kind)])(a);
    else
        note(kSkip);
    // Copied in first, the action set after: copying a TraceStep just after writing its
    // action into note_ stalled on the copy.
    trace_.push_back(note_);
    trace_.back().action = a;
    // Every observable against the model, unless the cost policy knows it still holds.
    const bool still_holds = end_step(a.kind, err);
    if (err.empty() && !still_holds)
        err = check_state();
    checked_ = err.empty();
    if (!err.empty())
        err = "step #" + std::to_string(trace_.size() - 1) + " " + describe(a) + ": " + err;
    return err;
}

}  // namespace keel::model
