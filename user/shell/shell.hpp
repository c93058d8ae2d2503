// The shell: a prompt on its input (the serial console), line editing and history, built-in
// commands, programs from /bin started with arguments, pipelines over pipes, redirection to and
// from files, and the status of the last command. See user/shell/README.md.
#pragma once

#include <keel/cmdline/cmdline.hpp>

#include "runtime.hpp"

namespace keel::shell {

using namespace keel::user;

using cmdline::kMaxCommands;
using cmdline::kMaxLine;
using cmdline::kMaxStages;
using cmdline::Parser;
using cmdline::Pipeline;
using cmdline::Stage;

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

// ---- shell.cpp ---------------------------------------------------------------------------------

// Runs one pipeline; returns its status (the last stage's exit status; 128 + vector when it
// ended by a fault; 127 for an unknown command, 126 when it could not be started, 1 for a
// built-in's error).
int64_t run_pipeline(const Pipeline& p);

}  // namespace keel::shell
