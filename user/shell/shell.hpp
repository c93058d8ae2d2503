// The shell: a prompt on its input (the serial console), line editing and history, built-in
// commands, programs from /bin started with arguments, pipelines over pipes, redirection to and
// from files, and the status of the last command. See user/shell/README.md.
#pragma once

#include "runtime.hpp"

namespace keel::shell {

using namespace keel::user;

inline constexpr uint64_t kMaxLine = 4095;  // bytes a command line may have
inline constexpr int kMaxWords = 64;        // per stage
inline constexpr int kMaxStages = 8;        // per pipeline
inline constexpr int kMaxCommands = 16;     // per line, separated by ;

// ---- line.cpp: reading a line ----------------------------------------------------------------

// Reads one line from `in`, echoing and editing on `out` (an ANSI terminal): printable bytes
// insert at the cursor, Backspace, Delete, the arrows (Left/Right move, Up/Down walk the
// history), Home/End and Ctrl-A/Ctrl-E, Ctrl-U clears the line, Ctrl-C abandons it; other
// control bytes are ignored. Returns the line's length (NUL-terminated in `line`), kTooLong when
// more than kMaxLine bytes were typed (the rest was dropped), kAbandoned for Ctrl-C, or kEnd at
// the end of the input (Ctrl-D on an empty line, or the input closed).
inline constexpr int64_t kEnd = -1;
inline constexpr int64_t kAbandoned = -2;
inline constexpr int64_t kTooLong = -3;
int64_t read_line(Handle in, char* line);
// Adds a line to the history (Up/Down).
void remember(const char* line, uint64_t length);

// ---- parse.cpp: a command line into pipelines --------------------------------------------------

struct Stage {
    const char* words[kMaxWords + 1];  // NUL-terminated words, nullptr after the last
    int count;
    const char* output;  // "> file" or ">> file" (append), nullptr for none
    bool append;
    const char* input;  // "< file", nullptr for none
};
struct Pipeline {
    Stage stages[kMaxStages];
    int count;
};

// Splits `line` into commands separated by ';', each a pipeline of stages separated by '|'.
// Words are separated by blanks; '...' keeps everything, "..." keeps everything but $? (the
// last status), \ takes the next byte; | ; < > >> need no blanks around them. Words are
// copied into `storage`. Calls run(pipeline) for each command in order; returns nullptr, or a
// one-line reason for a malformed line (then nothing was run).
class Parser {
  public:
    explicit Parser(int64_t last_status) : last_status_(last_status) {}
    const char* parse(const char* line, uint64_t length, Pipeline* commands, int* count,
                      int max_commands);

  private:
    const char* word(const char*& p, const char* end, const char** out);
    int64_t last_status_;
    char storage_[2 * kMaxLine + 64];
    uint64_t used_ = 0;
};

// ---- shell.cpp ---------------------------------------------------------------------------------

// Runs one pipeline; returns its status (the last stage's exit status; 128 + vector when it
// ended by a fault; 127 for an unknown command, 126 when it could not be started, 1 for a
// built-in's error).
int64_t run_pipeline(const Pipeline& p);

}  // namespace keel::shell
