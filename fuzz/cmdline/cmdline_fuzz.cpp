// lib/cmdline on raw bytes: the shell's parser with any line and any $? (never reads or writes
// out of bounds; a success has every word NUL-terminated inside the parser, counts within the
// limits), and split_args on the same bytes; whatever split_args accepts, quote_args writes
// back so that it splits into the same words.
#include <keel/cmdline/cmdline.hpp>

#include <cstdint>
#include <cstring>
#include <string>

using namespace keel::cmdline;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    int64_t status = 0;
    if (size >= 1)
        status = static_cast<int8_t>(data[0]) * 1000003;
    const char* line = reinterpret_cast<const char*>(data);
    static Parser parser(0);
    parser = Parser(status);
    static Pipeline commands[kMaxCommands];
    int count = 0;
    if (parser.parse(line, size, commands, &count, kMaxCommands) == nullptr) {
        if (count < 0 || count > kMaxCommands)
            __builtin_trap();
        for (int c = 0; c < count; ++c) {
            if (commands[c].count < 1 || commands[c].count > kMaxStages)
                __builtin_trap();
            for (int s = 0; s < commands[c].count; ++s) {
                const Stage& st = commands[c].stages[s];
                if (st.count < 1 || st.count > kMaxWords || st.words[st.count] != nullptr)
                    __builtin_trap();
                for (int w = 0; w < st.count; ++w)
                    (void)std::strlen(st.words[w]);  // ASan: inside the parser, terminated
            }
        }
    }
    static char storage[8192];
    const char* words[64];
    const int n = split_args(line, size, storage, sizeof storage, words, 64);
    if (n > 0) {
        static char quoted[3 * 8192];
        const uint64_t q = quote_args(words, n, quoted, sizeof quoted);
        if (q > sizeof quoted)
            __builtin_trap();  // three bytes a byte is always enough
        static char again[8192 * 2];
        const char* words2[64];
        if (split_args(quoted, q, again, sizeof again, words2, 64) != n)
            __builtin_trap();
        for (int i = 0; i < n; ++i) {
            if (std::strcmp(words[i], words2[i]) != 0)
                __builtin_trap();
        }
    }
    return 0;
}
