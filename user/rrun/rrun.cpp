// rrun ADDRESS[:PORT] PROGRAM [ARGS...]: runs PROGRAM (from /bin of this machine) on the Keel
// machine at ADDRESS, whose agent (servers/agent) listens on PORT (default 7070), with this
// process's console, input, cwd and ns as its own: what it prints, reads, opens and writes is
// here, proxied over the connection (user/remote's RemoteJob, docs/remote-run.md). Exits with
// the program's status (128 + the vector when it ended by a fault); 125 when it could not be
// run or its machine went away, with one line saying why.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/c/string.hpp>

#include <new>

#include "remote_job.hpp"
#include "tools.hpp"

using namespace keel;
using namespace keel::user;

namespace {

constexpr int kCannotRun = 125;
constexpr uint64_t kDefaultPort = 7070;

int fail(const char* where, const char* why, int64_t error) {
    char line[256];
    const size_t n =
        snformat(line, sizeof line, "rrun: %s: %s (%s)\n", where, why, error_text(error));
    tools::emit(line, n < sizeof line ? n : sizeof line - 1);
    return kCannotRun;
}

}  // namespace

int keel_main(const StartInfo& start) {
    const tools::Args a = tools::arguments(start);
    if (a.count < 2) {
        tools::emit("usage: rrun ADDRESS[:PORT] PROGRAM [ARGS...]\n", 45);
        return 2;
    }
    // ADDRESS[:PORT]: the host part goes into the connect name as it is (the network server
    // checks it: a dotted quad or a name).
    char host[64];
    const char* target = a.words[0];
    const char* colon = target;
    while (*colon != '\0' && *colon != ':')
        ++colon;
    const size_t host_length = static_cast<size_t>(colon - target);
    uint64_t port = kDefaultPort;
    if (*colon == ':') {
        port = parse_u64(colon + 1);
        if (colon[1] < '0' || colon[1] > '9' || port == 0 || port > 65535)
            return fail(target, "not a port", err(Error::kInvalidArgument));
    }
    if (host_length == 0 || host_length >= sizeof host)
        return fail(target, "not an address", err(Error::kInvalidArgument));
    c::copy(host, target, host_length);
    host[host_length] = '\0';

    const char* program = a.words[1];
    char path[64];
    if (c::length(program) > remote::kMaxName || has_char(program, '/'))
        return fail(program, "not a program of /bin", err(Error::kInvalidArgument));
    snformat(path, sizeof path, "/bin/%s", program);
    const int64_t image = tools::open_file(path);
    if (image < 0)
        return fail(path, "cannot open the program", image);
    char args[abi::kMaxArgsLength];
    const uint64_t args_length = cmdline::quote_args(a.words + 2, a.count - 2, args, sizeof args);
    if (args_length > sizeof args)
        return fail(program, "arguments too long", err(Error::kTooLarge));

    // What the program gets: this process's own entries, the ones it has.
    static const char* const kNames[] = {"console", "input", "cwd", "ns"};
    RemoteEntry entries[4];
    uint32_t count = 0;
    for (const char* name : kNames) {
        const int64_t h = open(root(), name);
        if (h >= 0)
            entries[count++] = RemoteEntry{name, static_cast<Handle>(h)};
    }

    const int64_t net = tools::open_net();
    if (net < 0)
        return fail(host, "no network (srv/net)", net);
    char name[96];
    const size_t n = snformat(name, sizeof name, "tcp/connect/%s/%lu", host, port);
    const int64_t connection = open_path(static_cast<Handle>(net), name, n);
    if (connection < 0)
        return fail(target, "cannot connect to the agent", connection);

    void* memory = allocate(sizeof(RemoteJob));
    if (memory == nullptr)
        return fail(target, "no memory", err(Error::kNoMemory));
    auto* job = new (memory) RemoteJob;
    const RemoteSpawn spawn{static_cast<Handle>(image),
                            program,
                            static_cast<uint32_t>(c::length(program)),
                            args,
                            static_cast<uint32_t>(args_length),
                            entries,
                            count};
    abi::ExitInfo info{};
    const int64_t r = job->run(static_cast<Handle>(connection), spawn, &info);
    if (r < 0) {
        const int status = fail(target, job->why(), r);
        if (job->last_heard() != 0) {
            char line[96];
            const size_t k =
                snformat(line, sizeof line, "rrun: %s: last heard from %lu ms before\n", target,
                         (sys::clock_ns() - job->last_heard()) / 1'000'000);
            tools::emit(line, k < sizeof line ? k : sizeof line - 1);
        }
        return status;
    }
    if (info.reason == static_cast<uint32_t>(abi::ExitReason::kFault)) {
        char line[128];
        const size_t k =
            snformat(line, sizeof line, "rrun: %s: %s ended by a fault (vector %u at 0x%lx)\n",
                     target, program, info.vector, info.address);
        tools::emit(line, k < sizeof line ? k : sizeof line - 1);
        return 128 + static_cast<int>(info.vector);
    }
    return static_cast<int>(info.status);
}
