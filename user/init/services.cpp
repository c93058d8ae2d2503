// The services of etc/init.conf (lib/initconf): each started with exactly its gives, watched
// through one queue (a queued read of every process handle: one queue_wait sleeps on all of
// them) and started again as its restart= says, after a back-off, its published name freed
// first (user/README.md, "Supervision").
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/initconf/initconf.hpp>

#include <atomic>
#include <utility>

#include "init.hpp"
#include "queue.hpp"

namespace keel::init {

namespace {

constexpr int kMaxServices = 64;
constexpr const char* kConfig = "etc/init.conf";
// A service that ends within this of its start, this many times in a row, is not started
// again: a program that cannot run (no device, no program, a bad argument) ends within
// milliseconds of its start, and must not keep the machine busy. A quarter of a second is far
// above that, and below the life of a driver that served at all (the crash test,
// kernel/tests/CMakeLists.txt qemu_blk_crash, crashes its driver 300-500 ms after each start
// and expects it back every time).
constexpr uint64_t kQuickEndNs = 250'000'000;
constexpr int kQuickEndsAllowed = 5;
// The pause before a restart, doubled for each quick end in a row. 50 ms: a crash-looping
// service then runs at most a few percent of the time (a driver's start takes a few ms under
// TCG), a transient cause (a device still resetting, a service it needs still starting) gets
// 50 + 100 + 200 + 400 ms to pass before init gives up, and a client barely notices the pause
// (the crash-to-service-restored time is mostly this).
constexpr uint64_t kBackoffNs = 50'000'000;

initconf::Entry g_entries[kMaxServices];
Service g_services[kMaxServices];
int g_count = 0;

bool same_name(const char* a, const char* b) {
    return b != nullptr && c::length(a) == c::length(b) && c::compare(a, b, c::length(b)) == 0;
}

// A service's published name (its ready= path) is removed when the service ends: the object
// bound there died with it, and the restarted service publishes a new one under the same name
// (a bound name is never replaced: Root::bind answers Exists). Only init, which made the name
// space and handed the service its directory, does this; the service itself gets no power
// over other names (user/README.md, "Supervision").
void unpublish(const System& s, const Service& svc) {
    if (svc.ready_length == 0)
        return;
    uint64_t slash = svc.ready_length;
    while (slash > 0 && svc.ready[slash - 1] != '/')
        --slash;
    if (slash == 0 || slash == svc.ready_length)
        return;
    const int64_t dir = open_path(s.ns, svc.ready, slash - 1);
    if (dir < 0)
        return;
    (void)sys::do_io(static_cast<uint64_t>(dir), Op::kDestroy, svc.ready + slash,
                     svc.ready_length - slash);
    (void)sys::do_io(static_cast<uint64_t>(dir), Op::kClose);
}

Service service_of(const initconf::Entry& e) {
    Service s{};
    s.name = e.name;
    s.program = e.program;
    s.program_length = e.program_length;
    for (uint32_t i = 0; i < e.give_count; ++i) {
        const initconf::Give& g = e.gives[i];
        s.gives[s.give_count++] = {g.path,      g.path_length, g.as,        g.as_length,
                                   g.is_device, g.vendor,      g.device_id, g.index};
    }
    s.args = e.has_args ? e.args : nullptr;
    s.args_length = e.has_args ? e.args_length : 0;
    s.restart = e.restart == initconf::Restart::kAlways      ? Restart::kAlways
                : e.restart == initconf::Restart::kOnFailure ? Restart::kOnFailure
                                                             : Restart::kNever;
    s.ready = e.ready;
    s.ready_length = e.ready_length;
    return s;
}

}  // namespace

int load_config(const System& s) {
    const int64_t file = open_path(s.ns, kConfig, c::length(kConfig));
    if (file < 0) {
        print("init: no %s (%s): the shell alone\n", kConfig, error_text(file));
        return 0;
    }
    uint64_t size = 0;
    (void)sys::do_io(static_cast<uint64_t>(file), Op::kGetMeta, &size, 8,
                     static_cast<uint64_t>(abi::Meta::kSize));
    const int64_t at = sys::do_io(static_cast<uint64_t>(file), Op::kMap, nullptr, 0, 0);
    (void)sys::do_io(static_cast<uint64_t>(file), Op::kClose);
    if (at < 0) {
        print("init: %s: %s\n", kConfig, error_text(at));
        return 0;
    }
    initconf::Parser parser(reinterpret_cast<const char*>(at), size);
    // Parsed into a scratch entry, kept only while the table has room: the parser writes its
    // output before it knows whether the line is good.
    static initconf::Entry entry;
    for (;;) {
        initconf::Error error{};
        const initconf::Outcome o = parser.next(&entry, &error);
        if (o == initconf::Outcome::kEnd)
            break;
        if (o == initconf::Outcome::kError) {
            print("init: %s:%u:%u: %s; line skipped\n", kConfig, error.line, error.column,
                  error.reason);
            continue;
        }
        if (o != initconf::Outcome::kEntry || g_count == kMaxServices)
            continue;
        g_entries[g_count] = entry;
        g_services[g_count] = service_of(g_entries[g_count]);
        ++g_count;
    }
    (void)sys::unmap(static_cast<uint64_t>(at));
    return g_count;
}

const Service* find_service(const char* name) {
    for (int i = 0; i < g_count; ++i) {
        if (same_name(g_services[i].name, name))
            return &g_services[i];
    }
    return nullptr;
}

void start_services_but(const System& s, const char* excluded) {
    for (int i = 0; i < g_count; ++i) {
        if (same_name(g_services[i].name, excluded))
            continue;
        const int64_t process = start_service(s, g_services[i]);
        if (process >= 0)
            (void)sys::do_io(static_cast<uint64_t>(process), Op::kClose);  // it runs on its own
    }
}

[[noreturn]] void supervise(const System& s, const char* excluded, std::atomic<bool>* started) {
    if (g_count == 0 && excluded == nullptr) {
        g_services[0] = shell_service(nullptr, 0);
        g_count = 1;
    }
    struct Running {
        int64_t process = -1;
        uint64_t started = 0;     // when it was started
        uint64_t ended = 0;       // when its last end was seen
        uint64_t restart_at = 0;  // a restart is due then (0: none pending)
        int quick_ends = 0;
        uint32_t restarts = 0;
    };
    static Running running[kMaxServices];
    Queue q;
    if (q.create(64, 64, 64) != 0) {
        print("init: no queue to watch the services with\n");
        if (started != nullptr)
            started->store(true);
        for (;;)
            (void)sys::sleep_ns(~0ull >> 1);
    }
    auto start = [&](int i) {
        Running& r = running[i];
        r.started = sys::clock_ns();
        r.process = start_service(s, g_services[i]);
        if (r.process < 0)
            return;  // said by start_service; not watched, not started again
        if (r.restarts > 0) {
            print("init: %s started again (restart %u), ready %lu ms after it ended\n",
                  g_services[i].name, r.restarts, (sys::clock_ns() - r.ended) / 1'000'000);
        }
        auto buffer = q.client().acquire();
        if (!buffer ||
            !q.submit(Op::kRead, static_cast<Handle>(r.process), 0, static_cast<uint64_t>(i),
                      std::move(*buffer), sizeof(abi::ExitInfo))) {
            print("init: %s: cannot watch it\n", g_services[i].name);
        }
    };
    for (int i = 0; i < g_count; ++i) {
        if (!same_name(g_services[i].name, excluded))
            start(i);
    }
    if (started != nullptr)
        started->store(true);
    for (;;) {
        // Restarts whose back-off has passed, and the time until the next one.
        uint64_t now = sys::clock_ns();
        uint64_t next = 0;
        for (int i = 0; i < g_count; ++i) {
            Running& r = running[i];
            if (r.restart_at != 0 && r.restart_at <= now) {
                r.restart_at = 0;
                ++r.restarts;
                start(i);
                now = sys::clock_ns();
            }
            if (r.restart_at != 0 && (next == 0 || r.restart_at < next))
                next = r.restart_at;
        }
        // A restart that came due while another service started: at once (1 ns; 0 is none).
        const uint64_t timeout = next == 0 ? 0 : next > now ? next - now : 1;
        if (q.wait(1, timeout) < 0) {
            if (next == 0)
                (void)sys::sleep_ns(1'000'000'000);
            continue;
        }
        while (auto done = q.reap()) {
            const int i = static_cast<int>(done->user_data);
            Running& r = running[i];
            abi::ExitInfo info{};
            if (done->value == sizeof info)
                c::copy(&info, q.client().bytes(done->buffer).data(), sizeof info);
            done->buffer.reset();
            (void)sys::do_io(static_cast<uint64_t>(r.process), Op::kClose);
            r.process = -1;
            r.ended = sys::clock_ns();
            const Service& svc = g_services[i];
            unpublish(s, svc);
            const bool fault = info.reason == static_cast<uint32_t>(abi::ExitReason::kFault);
            const bool failed = fault || info.status != 0;
            const bool again =
                svc.restart == Restart::kAlways || (svc.restart == Restart::kOnFailure && failed);
            r.quick_ends = r.ended - r.started < kQuickEndNs ? r.quick_ends + 1 : 0;
            const bool give_up = again && r.quick_ends >= kQuickEndsAllowed;
            // The back-off doubles with each quick end in a row: 50, 100, 200, 400 ms.
            const uint64_t backoff = kBackoffNs << (r.quick_ends > 0 ? r.quick_ends - 1 : 0);
            char then[48];
            if (!again || give_up)
                c::copy(then, "", 1);
            else
                snformat(then, sizeof then, "; restarting in %lu ms", backoff / 1'000'000);
            if (fault) {
                print("init: %s ended by a fault (vector %u at 0x%lx)%s\n", svc.name, info.vector,
                      info.address, then);
            } else {
                print("init: %s exited with status %ld%s\n", svc.name, info.status, then);
            }
            if (give_up) {
                print(
                    "init: %s ended %d times in a row within %lu ms of starting: not started "
                    "again\n",
                    svc.name, kQuickEndsAllowed, kQuickEndNs / 1'000'000);
                r.quick_ends = 0;
            } else if (again) {
                r.restart_at = r.ended + backoff;
            }
        }
    }
}

[[noreturn]] void run_services(const System& s) {
    supervise(s, nullptr, nullptr);
}

}  // namespace keel::init
