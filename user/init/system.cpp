// The system's name space, built by init from what the kernel gave it, and the services that
// run in it. init's view: bin/ (the programs), etc/, tmp/ (writable), srv/ (where servers
// publish), mnt/ (where file systems appear), dev/console, dev/devices (the device list) and
// processes (the process table). A service sees only what its gives name.
#include <keel/c/mem.hpp>

#include "init.hpp"

namespace keel::init {

namespace {

constexpr uint32_t kReadOnly = abi::kRightRead | abi::kRightShare;

int64_t new_root() {
    Handle h = 0;
    const int64_t r = sys::object_new(abi::Kind::kRoot, 0, &h);
    return r < 0 ? r : h;
}

// Binds h in dir as name with at most `rights` (a share with fewer rights when asked).
int64_t bind(Handle dir, const char* name, uint64_t length, Handle h, uint32_t rights) {
    const int64_t narrowed = sys::do_io(h, Op::kShare, nullptr, 0, uint64_t{rights} << 32);
    if (narrowed < 0)
        return narrowed;
    const int64_t r = sys::do_io(dir, Op::kCreate, name, length, static_cast<uint64_t>(narrowed));
    (void)sys::do_io(static_cast<uint64_t>(narrowed), Op::kClose);
    return r;
}
int64_t bind(Handle dir, const char* name, Handle h, uint32_t rights) {
    return bind(dir, name, c::length(name), h, rights);
}

bool ends_with(const char* s, uint64_t n, const char* suffix) {
    const uint64_t k = c::length(suffix);
    return n >= k && c::compare(s + n - k, suffix, k) == 0;
}

// Every program among the boot modules ("NAME.elf", init's own excepted) into bin as NAME.
void add_programs(Handle bin) {
    static char names[4096];
    const int64_t n = sys::do_io(root(), Op::kPeek, names, sizeof names);
    for (int64_t at = 0; at < n;) {
        int64_t end = at;
        while (end < n && names[end] != '\n')
            ++end;
        const uint64_t length = static_cast<uint64_t>(end - at);
        const char* name = names + at;
        if (ends_with(name, length, ".elf") &&
            !(length == 8 && c::compare(name, "init.elf", 8) == 0)) {
            const int64_t h = sys::do_io(root(), Op::kOpen, name, length);
            if (h >= 0) {
                (void)bind(bin, name, length - 4, static_cast<Handle>(h),
                           kReadOnly | abi::kRightMap | abi::kRightSpawn);
                (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
            }
        }
        at = end + 1;
    }
}

}  // namespace

bool build_system(System* s) {
    const int64_t ns = new_root();
    const int64_t tmp = new_root();
    const int64_t srv = new_root();  // where servers publish what they serve
    const int64_t mnt = new_root();  // where file system servers bind their volumes
    const int64_t dev = new_root();
    const int64_t table = open(root(), "processes");
    if (ns < 0 || tmp < 0 || srv < 0 || mnt < 0 || dev < 0 || table < 0) {
        print("init: cannot build the name space (%s)\n",
              error_text(table < 0 ? table : -static_cast<int64_t>(abi::Error::kNoMemory)));
        return false;
    }
    const auto n = static_cast<Handle>(ns);
    int64_t r = 0;
    // bin/, etc/ and the rest from the image; without one, the boot modules' programs.
    if (!load_image(n)) {
        const int64_t bin = new_root();
        const int64_t etc = new_root();
        if (bin < 0 || etc < 0)
            r = bin < 0 ? bin : etc;
        if (r >= 0) {
            add_programs(static_cast<Handle>(bin));
            r = bind(n, "bin", static_cast<Handle>(bin), kReadOnly);
        }
        if (r >= 0)
            r = bind(n, "etc", static_cast<Handle>(etc), kReadOnly);
        for (int64_t h : {bin, etc})
            (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    }
    for (const char* name : {"console", "devices"}) {
        const int64_t h = open(root(), name);
        if (h >= 0) {
            (void)bind(static_cast<Handle>(dev), name, static_cast<Handle>(h), abi::kRightsAll);
            (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
        }
    }
    if (r >= 0)
        r = bind(n, "tmp", static_cast<Handle>(tmp), abi::kRightsAll);
    if (r >= 0)
        r = bind(n, "srv", static_cast<Handle>(srv), abi::kRightsAll);
    if (r >= 0)
        r = bind(n, "mnt", static_cast<Handle>(mnt), abi::kRightsAll);
    if (r >= 0)
        r = bind(n, "dev", static_cast<Handle>(dev), kReadOnly);
    if (r >= 0)
        r = bind(n, "processes", static_cast<Handle>(table), abi::kRightsAll);
    for (int64_t h : {tmp, srv, mnt, dev})
        (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    if (r < 0) {
        print("init: cannot build the name space (%s)\n", error_text(r));
        return false;
    }
    s->ns = n;
    s->table = static_cast<Handle>(table);
    return true;
}

namespace {

constexpr uint64_t kReadyTimeoutNs = 10'000'000'000;

bool running(int64_t process) {
    abi::ExitInfo info{};
    return sys::do_io(static_cast<uint64_t>(process), Op::kGetMeta, &info, sizeof info,
                      static_cast<uint64_t>(abi::Meta::kExit)) ==
               static_cast<int64_t>(sizeof info) &&
           info.reason == static_cast<uint32_t>(abi::ExitReason::kRunning);
}

// Until the service's ready path exists (what it publishes), it ends, or the time is up: the
// services after it may rely on what it serves.
void wait_ready(const System& s, const Service& service, int64_t process) {
    const uint64_t until = sys::clock_ns() + kReadyTimeoutNs;
    for (;;) {
        const int64_t h = open_path(s.ns, service.ready, service.ready_length);
        if (h >= 0) {
            (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
            return;
        }
        if (!running(process)) {
            print("init: %s ended before it was ready\n", service.name);
            return;
        }
        if (sys::clock_ns() > until) {
            print("init: %s: not ready after %lu s; going on\n", service.name,
                  kReadyTimeoutNs / 1'000'000'000);
            return;
        }
        (void)sys::sleep_ns(5'000'000);
    }
}

// Devices given to services by identity: which service holds which device (by its name in
// the device list). Claims last as long as init: a restarted service gets its device back.
constexpr int kMaxClaims = 64;
struct Claim {
    char device[abi::kMaxNameLength + 1];
    char service[abi::kMaxNameLength + 1];
};
Claim g_claims[kMaxClaims];
int g_claim_count = 0;

const Claim* claim_of(const char* device, uint64_t length) {
    for (int i = 0; i < g_claim_count; ++i) {
        if (c::length(g_claims[i].device) == length &&
            c::compare(g_claims[i].device, device, length) == 0) {
            return &g_claims[i];
        }
    }
    return nullptr;
}

bool same(const char* a, const char* b) {
    return c::length(a) == c::length(b) && c::compare(a, b, c::length(a)) == 0;
}

// The device a give names, for `service`: the give's index-th match among those nobody
// claimed and those `service` claimed before (a new one is claimed for it). A handle, or -Error
// (kNotFound when there is none).
int64_t claim_device(const System& s, const Give& g, const char* service) {
    const int64_t list = open_path(s.ns, "dev/devices", 11);
    if (list < 0)
        return list;
    static char names[4096];
    const int64_t n = sys::do_io(static_cast<uint64_t>(list), Op::kPeek, names, sizeof names);
    int64_t found = -static_cast<int64_t>(abi::Error::kNotFound);
    uint32_t candidates = 0;
    const char* chosen = nullptr;
    uint64_t chosen_length = 0;
    for (int64_t at = 0; n > 0 && at < n && found < 0;) {
        int64_t end = at;
        while (end < n && names[end] != '\n')
            ++end;
        const char* name = names + at;
        const auto length = static_cast<uint64_t>(end - at);
        at = end + 1;
        const int64_t d = sys::do_io(static_cast<uint64_t>(list), Op::kOpen, name, length);
        abi::DeviceInfo info{};
        if (d < 0)
            continue;
        const bool match = sys::do_io(static_cast<uint64_t>(d), Op::kGetMeta, &info, sizeof info,
                                      static_cast<uint64_t>(abi::Meta::kDevice)) == sizeof info &&
                           info.bus_kind == static_cast<uint32_t>(abi::DeviceBus::kPci) &&
                           info.vendor == g.vendor && info.device == g.device_id;
        const Claim* claim = match ? claim_of(name, length) : nullptr;
        // Candidates: the matches nobody holds and those this service holds already (its
        // earlier start, or an earlier give of this start), in list order.
        if (match && (claim == nullptr || same(claim->service, service)) &&
            ++candidates == g.index) {
            found = d;
            if (claim == nullptr) {
                chosen = name;
                chosen_length = length;
            }
        } else {
            (void)sys::do_io(static_cast<uint64_t>(d), Op::kClose);
        }
    }
    (void)sys::do_io(static_cast<uint64_t>(list), Op::kClose);
    if (chosen != nullptr && g_claim_count < kMaxClaims && chosen_length <= abi::kMaxNameLength) {
        Claim& c = g_claims[g_claim_count++];
        c::copy(c.device, chosen, chosen_length);
        c.device[chosen_length] = '\0';
        const uint64_t k =
            c::length(service) < abi::kMaxNameLength ? c::length(service) : abi::kMaxNameLength;
        c::copy(c.service, service, k);
        c.service[k] = '\0';
    }
    return found;
}

}  // namespace

void sync_mounts(const System& s) {
    const int64_t mnt = open_path(s.ns, "mnt", 3);
    if (mnt < 0)
        return;
    char names[1024];
    for (uint64_t cursor = 0;;) {
        const int64_t n =
            sys::do_io(static_cast<uint64_t>(mnt), Op::kRead, names, sizeof names, cursor);
        if (n <= 0)
            break;
        for (int64_t at = 0; at < n;) {
            int64_t end = at;
            while (end < n && names[end] != '\n')
                ++end;
            const int64_t h = sys::do_io(static_cast<uint64_t>(mnt), Op::kOpen, names + at,
                                         static_cast<uint64_t>(end - at));
            const int64_t r = h < 0 ? h : sys::do_io(static_cast<uint64_t>(h), Op::kSync);
            if (r < 0) {
                names[end] = '\0';
                print("init: mnt/%s: cannot sync: %s\n", names + at, error_text(r));
            }
            if (h >= 0)
                (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
            ++cursor;
            at = end + 1;
        }
    }
    (void)sys::do_io(static_cast<uint64_t>(mnt), Op::kClose);
}

int64_t start_service(const System& s, const Service& service) {
    const int64_t image = open_path(s.ns, service.program, service.program_length);
    if (image < 0) {
        print("init: %s: no program: %s\n", service.name, error_text(image));
        return image;
    }
    const int64_t child_root = new_root();
    int64_t r = child_root;
    for (int i = 0; r >= 0 && i < service.give_count; ++i) {
        const Give& g = service.gives[i];
        const int64_t h =
            g.device ? claim_device(s, g, service.name) : open_path(s.ns, g.path, g.path_length);
        r = h < 0 ? h
                  : sys::do_io(static_cast<uint64_t>(child_root), Op::kCreate, g.as, g.as_length,
                               static_cast<uint64_t>(h));
        if (h >= 0)
            (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
        if (r < 0) {
            char path[128];
            const uint64_t k = g.path_length < sizeof path - 1 ? g.path_length : sizeof path - 1;
            c::copy(path, g.path, k);
            path[k] = '\0';
            print("init: %s: cannot give %s: %s\n", service.name, path, error_text(r));
        }
    }
    int64_t process = r;
    if (r >= 0) {
        const Handle given[] = {static_cast<Handle>(child_root)};
        const uint64_t name_length = c::length(service.name);
        const abi::SpawnArgs args{
            reinterpret_cast<uint64_t>(given),
            1,
            reinterpret_cast<uint64_t>(service.args),
            service.args_length,
            reinterpret_cast<uint64_t>(service.name),
            name_length < abi::kMaxNameLength ? name_length : abi::kMaxNameLength,
            0};
        process = spawn_with(s.table, static_cast<Handle>(image), args);
        if (process < 0)
            print("init: %s: cannot start: %s\n", service.name, error_text(process));
    }
    if (child_root >= 0)
        (void)sys::do_io(static_cast<uint64_t>(child_root), Op::kClose);
    (void)sys::do_io(static_cast<uint64_t>(image), Op::kClose);
    if (process >= 0 && service.ready_length > 0)
        wait_ready(s, service, process);
    return process;
}

int64_t wait_service(const Service& service, int64_t process) {
    abi::ExitInfo info{};
    const int64_t r = sys::do_io(static_cast<uint64_t>(process), Op::kRead, &info, sizeof info);
    (void)sys::do_io(static_cast<uint64_t>(process), Op::kClose);
    if (r < 0)
        return 1;
    if (info.reason == static_cast<uint32_t>(abi::ExitReason::kFault)) {
        print("init: %s ended by a fault (vector %u at 0x%lx)\n", service.name, info.vector,
              info.address);
        return 128 + info.vector;
    }
    return info.status;
}

Service shell_service(const char* args, uint64_t args_length) {
    Service s{};
    s.name = "shell";
    s.program = "bin/shell";
    s.program_length = 9;
    const char* const gives[][2] = {{"bin", "bin"},
                                    {"etc", "etc"},
                                    {"tmp", "tmp"},
                                    {"processes", "processes"},
                                    {"dev/console", "console"},
                                    {"dev/console", "input"}};
    for (const auto& g : gives) {
        s.gives[s.give_count++] = {g[0], c::length(g[0]), g[1], c::length(g[1]), false, 0, 0, 0};
    }
    s.args = args;
    s.args_length = args_length;
    s.restart = Restart::kAlways;
    return s;
}

}  // namespace keel::init
