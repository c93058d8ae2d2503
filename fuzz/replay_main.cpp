// Replay driver: runs LLVMFuzzerTestOneInput over files and directories given as arguments,
// one input at a time, without any fuzzing engine. It is how the committed corpus and saved
// crashes run as ordinary ctest tests under any compiler, and the AFL++ fork-server build
// (one input per process) for the speed comparison. A failing input aborts (the target's own
// report names the input's problem); the file name is printed before each input.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

int run_file(const std::filesystem::path& p, bool verbose) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
        return 1;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (verbose)
        std::fprintf(stderr, "replay: %s (%zu bytes)\n", p.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    bool verbose = std::getenv("KEEL_REPLAY_QUIET") == nullptr;
    int failures = 0;
    std::size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path arg(argv[i]);
        std::error_code ec;
        if (std::filesystem::is_directory(arg, ec)) {
            std::vector<std::filesystem::path> files;
            for (const auto& e : std::filesystem::recursive_directory_iterator(arg)) {
                if (e.is_regular_file() && e.path().filename().string()[0] != '.')
                    files.push_back(e.path());
            }
            std::sort(files.begin(), files.end());
            for (const auto& f : files) {
                failures += run_file(f, verbose);
                ++count;
            }
        } else if (std::filesystem::exists(arg, ec)) {
            failures += run_file(arg, verbose);
            ++count;
        }
    }
    std::fprintf(stderr, "replay: %zu inputs, %d unreadable\n", count, failures);
    return failures == 0 ? 0 : 1;
}
