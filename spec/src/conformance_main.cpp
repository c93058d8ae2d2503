// keel_spec_conformance [-v]: the conformance runs against the linked ipc/ library. Exit 0 if
// every trace agrees with the spec; otherwise prints the first disagreement and exits 1.
#include <cstdio>
#include <string>

#include <spec/conformance.hpp>

int main(int argc, char** argv) {
    bool verbose = argc > 1 && std::string(argv[1]) == "-v";
    auto r = keel::spec::run_conformance(verbose);
    if (!r.ok) {
        std::printf("%s", r.message.c_str());
        std::printf("FAILED conformance\n");
        return 1;
    }
    std::printf(
        "CONFORMS: %zu traces, %zu steps agree with the spec (concrete and parametric model)\n",
        r.traces, r.steps);
    return 0;
}
