// Command lines: the shell's grammar and the words of a program's argument string. Both read
// bytes a person typed (or a hostile program passed), so every limit is checked and every
// refusal is a static, readable reason; no allocation (the caller owns the storage).
//
// The shell's grammar: commands separated by ';' (or ended by '&': run in the background), each
// a pipeline of stages separated by '|', each stage words with at most one '< file' and one
// '> file' or '>> file'; a '#' where a word would start begins a comment to the end of the line.
// Words are separated by blanks (space, tab); '...' keeps everything, "..." keeps everything but $?
// (the last status) and the escapes \" \\ \$, and outside quotes \ takes the next byte. | ; & < >
// need no blanks around them.
//
// A program's argument string (what the shell passes at spawn): words separated by spaces,
// "..." groups (inside it \" and \\ stand for " and \), and outside quotes \ takes the next
// byte. quote_args() writes words so that split_args() gives exactly them back.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::cmdline {

inline constexpr uint64_t kMaxLine = 4095;  // bytes in one command line
inline constexpr int kMaxWords = 64;        // per stage
inline constexpr int kMaxStages = 8;        // per pipeline
inline constexpr int kMaxCommands = 16;     // per line

struct Stage {
    const char* words[kMaxWords + 1];  // NUL-terminated words, nullptr after the last
    int count;
    const char* output;  // "> file" or ">> file" (append), nullptr for none
    bool append;
    const char* input;  // "< file", nullptr for none
};
struct Pipeline {
    Stage stages[kMaxStages];
    int count;        // at least 1
    bool background;  // ended by '&': the shell starts it and goes on without waiting
};

class Parser {
  public:
    // `last_status` is what $? expands to.
    explicit Parser(int64_t last_status) : last_status_(last_status) {}
    // Splits line into *count commands (words copied into this parser's storage, which the
    // pipelines point into). nullptr, or a one-line reason for a malformed line (then *count
    // is unspecified and nothing may be run): an open quote, a pipe with no command on one
    // side, a redirection without a file or a command, two redirections the same way, more
    // than the limits above, a line longer than kMaxLine.
    const char* parse(const char* line, uint64_t length, Pipeline* commands, int* count,
                      int max_commands);

  private:
    const char* word(const char*& p, const char* end, const char** out);
    void put(char c);
    void put_status();
    int64_t last_status_;
    char storage_[2 * kMaxLine + 64];
    uint64_t used_ = 0;
    bool overflow_ = false;
};

// Splits an argument string into words, each copied NUL-terminated into `storage`; `words`
// receives pointers into it. The number of words, or -1 when they do not fit (more than
// max_words, or more than storage_size bytes) or a quote is left open.
int split_args(const char* args, uint64_t length, char* storage, uint64_t storage_size,
               const char** words, int max_words);

// Writes words[0..count) as an argument string (each word in "...", with " and \ escaped,
// separated by one space) into out; its length, or size + 1 when it does not fit.
uint64_t quote_args(const char* const* words, int count, char* out, uint64_t size);

}  // namespace keel::cmdline
