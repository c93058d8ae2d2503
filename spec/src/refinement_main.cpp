// keel_spec_refine [--caps 1,2] [--buffers 1,2] [--depth N] [--max-states N] [--buffer-size N]
//                  [--refute]
// The refinement check (include/spec/refinement.hpp) of the linked ipc build, for every
// capacity and buffer count given. Exit 0 if every call agrees with the model; otherwise
// prints the first counterexample and exits 1. --refute (a mutant's test): exit 0 only if a
// counterexample is found ("REFUTED"), 1 if the mutant survives.
//
// The program's ipc platform hook is its own: an assertion of the library that fires is a
// counterexample like any other (the model says where one may: nowhere in these states).
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <ipc/platform.hpp>
#include <spec/refinement.hpp>

namespace {

bool g_refute = false;

struct RefinePlatform {
    static void panic(const char* message) {
        std::printf(
            "COUNTEREXAMPLE (refinement): %s\n  an assertion of the library fired where "
            "the model says none can: %s\n",
            keel::spec::refinement_context().c_str(), message);
        std::printf(g_refute ? "REFUTED by the refinement check\n" : "FAILED refinement\n");
        std::fflush(stdout);
        _exit(g_refute ? 0 : 1);
    }
    static void log(const char* message) { std::fprintf(stderr, "%s\n", message); }
};

std::vector<std::uint32_t> list(const char* s) {
    std::vector<std::uint32_t> v;
    std::string t(s);
    std::size_t at = 0;
    while (at <= t.size()) {
        std::size_t comma = t.find(',', at);
        if (comma == std::string::npos)
            comma = t.size();
        v.push_back(std::uint32_t(std::stoul(t.substr(at, comma - at))));
        at = comma + 1;
    }
    return v;
}

}  // namespace

KEEL_IPC_PLATFORM(RefinePlatform)

int main(int argc, char** argv) {
    std::vector<std::uint32_t> caps{1, 2}, bufs{1, 2};
    keel::spec::RefineConfig base;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        bool more = i + 1 < argc;
        if (a == "--refute") {
            g_refute = true;
        } else if (a == "--caps" && more) {
            caps = list(argv[++i]);
        } else if (a == "--buffers" && more) {
            bufs = list(argv[++i]);
        } else if (a == "--depth" && more) {
            base.depth = unsigned(std::stoul(argv[++i]));
        } else if (a == "--max-states" && more) {
            base.max_states = std::stoul(argv[++i]);
        } else if (a == "--buffer-size" && more) {
            base.buffer_size = std::uint32_t(std::stoul(argv[++i]));
        } else {
            std::fprintf(stderr,
                         "usage: %s [--caps 1,2] [--buffers 1,2] [--depth N] "
                         "[--max-states N] [--buffer-size N] [--refute]\n",
                         argv[0]);
            return 2;
        }
    }
    for (auto cap : caps) {
        for (auto b : bufs) {
            keel::spec::RefineConfig cfg = base;
            cfg.capacity = cap;
            cfg.buffer_count = b;
            auto t0 = std::chrono::steady_clock::now();
            auto rep = keel::spec::check_refinement(cfg);
            double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (!rep.ok) {
                std::printf("%s", rep.message.c_str());
                std::printf(g_refute ? "REFUTED by the refinement check\n" : "FAILED refinement\n");
                return g_refute ? 0 : 1;
            }
            std::printf(
                "capacity %u, %u buffer(s): %zu states (%zu after a hostile write), %zu "
                "calls agree with the model; %zu states left at the bound; %zu scenario(s) "
                "cut short; %.2f s\n",
                cap, b, rep.states + rep.hostile_states, rep.hostile_states, rep.calls,
                rep.frontier, rep.scenario_stops, s);
        }
    }
    if (g_refute) {
        std::printf("SURVIVED: the refinement check finds no counterexample\n");
        return 1;
    }
    std::printf("REFINES: every call agrees with the model\n");
    return 0;
}
