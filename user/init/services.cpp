// The services of etc/init.conf (lib/initconf): each started with exactly its gives, watched
// through one queue (a queued read of every process handle: one queue_wait sleeps on all of
// them) and started again as its restart= says.
#include <keel/c/mem.hpp>
#include <keel/initconf/initconf.hpp>

#include <utility>

#include "init.hpp"
#include "queue.hpp"

namespace keel::init {

namespace {

constexpr int kMaxServices = 64;
constexpr const char* kConfig = "etc/init.conf";
// A service that ends within this of its start, this many times in a row, is not started
// again: a program that cannot run must not keep the machine busy.
constexpr uint64_t kQuickEndNs = 1'000'000'000;
constexpr int kQuickEndsAllowed = 5;

initconf::Entry g_entries[kMaxServices];
Service g_services[kMaxServices];
int g_count = 0;

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
        if (c::length(g_services[i].name) == c::length(name) &&
            c::compare(g_services[i].name, name, c::length(name)) == 0) {
            return &g_services[i];
        }
    }
    return nullptr;
}

void start_services_but(const System& s, const char* excluded) {
    for (int i = 0; i < g_count; ++i) {
        if (c::length(g_services[i].name) == c::length(excluded) &&
            c::compare(g_services[i].name, excluded, c::length(excluded)) == 0) {
            continue;
        }
        const int64_t process = start_service(s, g_services[i]);
        if (process >= 0)
            (void)sys::do_io(static_cast<uint64_t>(process), Op::kClose);  // it runs on its own
    }
}

[[noreturn]] void run_services(const System& s) {
    if (g_count == 0) {
        g_services[0] = shell_service(nullptr, 0);
        g_count = 1;
    }
    struct Running {
        int64_t process = -1;
        uint64_t started = 0;
        int quick_ends = 0;
    };
    static Running running[kMaxServices];
    Queue q;
    if (q.create(64, 64, 64) != 0) {
        print("init: no queue to watch the services with\n");
        for (;;)
            (void)sys::sleep_ns(~0ull >> 1);
    }
    auto start = [&](int i) {
        running[i].process = start_service(s, g_services[i]);
        running[i].started = sys::clock_ns();
        if (running[i].process < 0)
            return;
        auto buffer = q.client().acquire();
        if (!buffer ||
            !q.submit(Op::kRead, static_cast<Handle>(running[i].process), 0,
                      static_cast<uint64_t>(i), std::move(*buffer), sizeof(abi::ExitInfo))) {
            print("init: %s: cannot watch it\n", g_services[i].name);
        }
    };
    for (int i = 0; i < g_count; ++i)
        start(i);
    for (;;) {
        if (q.wait(1) < 0) {
            (void)sys::sleep_ns(1'000'000'000);
            continue;
        }
        while (auto done = q.reap()) {
            const int i = static_cast<int>(done->user_data);
            abi::ExitInfo info{};
            if (done->value == sizeof info)
                c::copy(&info, q.client().bytes(done->buffer).data(), sizeof info);
            done->buffer.reset();
            (void)sys::do_io(static_cast<uint64_t>(running[i].process), Op::kClose);
            const Service& svc = g_services[i];
            const bool fault = info.reason == static_cast<uint32_t>(abi::ExitReason::kFault);
            const bool failed = fault || info.status != 0;
            if (fault)
                print("init: %s ended by a fault (vector %u)\n", svc.name, info.vector);
            else
                print("init: %s exited with status %ld\n", svc.name, info.status);
            const bool again =
                svc.restart == Restart::kAlways || (svc.restart == Restart::kOnFailure && failed);
            if (!again)
                continue;
            running[i].quick_ends =
                sys::clock_ns() - running[i].started < kQuickEndNs ? running[i].quick_ends + 1 : 0;
            if (running[i].quick_ends >= kQuickEndsAllowed) {
                print(
                    "init: %s ended %d times in a row right after starting: not started "
                    "again\n",
                    svc.name, kQuickEndsAllowed);
                continue;
            }
            start(i);
        }
    }
}

}  // namespace keel::init
