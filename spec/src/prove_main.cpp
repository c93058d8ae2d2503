// keel_spec_prove OBLIGATION... [--caps 1,2,4,8] [--buffers 1,2,4,8]
// Proves each named obligation (or `all`); prints PROVED or the counterexample. Exit 1 if any
// obligation fails.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <spec/proofs.hpp>

namespace {

std::vector<std::uint32_t> parse_list(const char* s) {
    std::vector<std::uint32_t> v;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ','))
        v.push_back(std::uint32_t(std::stoul(item)));
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    keel::spec::ProofConfig cfg;
    std::vector<std::string> names;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--caps" && i + 1 < argc) {
            cfg.caps = parse_list(argv[++i]);
        } else if (a == "--buffers" && i + 1 < argc) {
            cfg.buffers = parse_list(argv[++i]);
        } else if (a == "all") {
            names = keel::spec::obligation_names();
        } else {
            names.push_back(a);
        }
    }
    if (names.empty()) {
        std::fprintf(stderr, "usage: keel_spec_prove OBLIGATION...|all [--caps L] [--buffers L]\n");
        for (auto& n : keel::spec::obligation_names())
            std::fprintf(stderr, "  %s\n", n.c_str());
        return 2;
    }
    int failed = 0;
    for (auto& n : names) {
        auto t0 = std::chrono::steady_clock::now();
        auto r = keel::spec::prove(n, cfg);
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (r.proved) {
            std::printf("PROVED %s (%u queries, %.2f s)\n", n.c_str(), r.queries, s);
        } else {
            std::printf("%s", r.counterexample.c_str());
            std::printf("FAILED %s (%.2f s)\n", n.c_str(), s);
            ++failed;
        }
        std::fflush(stdout);
    }
    return failed == 0 ? 0 : 1;
}
