// The shell's commands: built-ins, programs from /bin, pipelines and redirection.
#include "shell.hpp"

#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/c/string.hpp>

#include <stdarg.h>

namespace keel::shell {

namespace {

constexpr uint64_t kMaxPath = 256;
constexpr int64_t kNotFoundStatus = 127;
constexpr int64_t kCannotStart = 126;

// The current directory: a path in the name space, absolute and normalised; or, for a shell
// started with a "cwd" whose path it cannot know (a script run by another shell, a job), "."
// and below ("./sub"), its handle in g_start_dir.
char g_cwd[kMaxPath] = "/";
Handle g_start_dir = 0;
Handle g_ns =
    0;  // the name space: "ns" in the root when given (a shell run by a shell), else the root
Handle g_table = 0;    // the process table programs are started through ("processes"), 0 for none
int64_t g_status = 0;  // of the last command
bool g_exit = false;
int64_t g_exit_status = 0;
bool g_interactive = false;

// ---- output: the console, a pipe, or bytes gathered for a file --------------------------------

class Sink {
  public:
    explicit Sink(Handle h) : handle_(h) {}
    Sink() = default;
    ~Sink() { release(data_); }
    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;

    void write(const char* bytes, uint64_t n) {
        if (handle_ != 0) {
            (void)sys::do_io(handle_, Op::kWrite, bytes, n);
            return;
        }
        if (!reserve(n))
            return;
        c::copy(data_ + length_, bytes, n);
        length_ += n;
    }
    void printf(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        char line[512];
        va_list args;
        va_start(args, fmt);
        const size_t n = vsnformat(line, sizeof line, fmt, args);
        va_end(args);
        write(line, n < sizeof line ? n : sizeof line - 1);
    }
    bool reserve(uint64_t more) {
        if (length_ + more <= capacity_)
            return true;
        uint64_t cap = capacity_ == 0 ? 4096 : capacity_;
        while (cap < length_ + more)
            cap *= 2;
        auto* bigger = static_cast<char*>(allocate(cap));
        if (bigger == nullptr) {
            failed_ = true;
            return false;
        }
        c::copy(bigger, data_, length_);
        release(data_);
        data_ = bigger;
        capacity_ = cap;
        return true;
    }
    const char* data() const { return data_; }
    uint64_t length() const { return length_; }
    bool failed() const { return failed_; }

  private:
    Handle handle_ = 0;
    char* data_ = nullptr;
    uint64_t length_ = 0, capacity_ = 0;
    bool failed_ = false;
};

void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char* fmt, ...) {
    char line[512];
    va_list args;
    va_start(args, fmt);
    size_t n = vsnformat(line, sizeof line, fmt, args);
    va_end(args);
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    (void)sys::do_io(console(), Op::kWrite, line, n);
}

// ---- paths ---------------------------------------------------------------------------------

// `path` made absolute against the current directory, with ".", ".." and empty components
// resolved, into out (kMaxPath bytes); false when it does not fit.
// With `bounded`, a ".." above the start is refused (false) instead of staying at "/".
bool normalise(const char* joined, char* out, bool bounded) {
    uint64_t length = 0;
    out[length++] = '/';
    for (const char* p = joined; *p != '\0';) {
        while (*p == '/')
            ++p;
        const char* begin = p;
        while (*p != '\0' && *p != '/')
            ++p;
        const uint64_t k = static_cast<uint64_t>(p - begin);
        if (k == 0 || (k == 1 && begin[0] == '.'))
            continue;
        if (k == 2 && begin[0] == '.' && begin[1] == '.') {
            if (bounded && length == 1)
                return false;
            while (length > 1 && out[length - 1] != '/')
                --length;
            if (length > 1)
                --length;  // the '/' before it
            continue;
        }
        if (length + (length > 1 ? 1 : 0) + k >= kMaxPath)
            return false;
        if (length > 1)
            out[length++] = '/';
        c::copy(out + length, begin, k);
        length += k;
    }
    out[length] = '\0';
    return true;
}

// Where `path` starts and its normalised form in out (kMaxPath bytes, beginning with '/'): the
// name space for an absolute path or when the current directory has a path; else the directory
// the shell started in (its path unknown: only what is below it). 0 when the path does not fit
// or climbs above that start.
Handle resolve(const char* path, char* out) {
    char joined[2 * kMaxPath];
    const bool from_start = path[0] != '/' && g_start_dir != 0;
    const char* base = from_start ? g_cwd + 1 : g_cwd;  // "./sub" is "/sub" below the start
    const size_t n = path[0] == '/' ? snformat(joined, sizeof joined, "%s", path)
                                    : snformat(joined, sizeof joined, "%s/%s", base, path);
    if (n >= sizeof joined || !normalise(joined, out, from_start))
        return 0;
    return from_start ? g_start_dir : g_ns;
}

// Opens a path (relative to the current directory); a handle or -Error (kInvalidArgument for
// a path that does not fit or climbs above a start whose path is unknown).
int64_t open_at(const char* path) {
    char full[kMaxPath];
    const Handle base = resolve(path, full);
    if (base == 0)
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    return open_path(base, full + 1, c::length(full) - 1);
}

// Splits a path into its directory (opened) and last name; -Error when the directory is not
// there. `name` points into `full`.
int64_t open_parent(const char* path, char* full, const char** name) {
    const Handle base = resolve(path, full);
    if (base == 0)
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    char* slash = full + c::length(full);
    while (slash > full && *slash != '/')
        --slash;
    if (slash[1] == '\0')
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);  // "/" has no parent
    *name = slash + 1;
    return open_path(base, full + 1, static_cast<uint64_t>(slash - full));
}

bool is_directory(int64_t h) {
    return h > 0 &&
           node_type(static_cast<Handle>(h)) == static_cast<uint32_t>(abi::NodeType::kDirectory);
}
// A directory a server keeps (a file system): files are made by open, not by binding memory.
bool is_served(int64_t h) {
    return h > 0 && is_served_directory(static_cast<Handle>(h));
}

void close(int64_t h) {
    if (h > 0)
        (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
}

// Reads a whole file (a memory object from its start) into `sink`; 0 or -Error.
int64_t read_file(int64_t h, Sink& sink) {
    if (is_directory(h))
        return -static_cast<int64_t>(abi::Error::kNotSupported);
    (void)sys::do_io(static_cast<uint64_t>(h), Op::kSeek, nullptr, 0, 0);
    char chunk[4096];
    for (;;) {
        const int64_t n = sys::do_io(static_cast<uint64_t>(h), Op::kRead, chunk, sizeof chunk);
        if (n <= 0)
            return n;
        sink.write(chunk, static_cast<uint64_t>(n));
    }
}

// Makes `path` a file holding bytes (replacing what was there, or after it with append: only a
// served directory's files can grow, so elsewhere the caller joins the bytes); 0 or -Error.
int64_t write_file(const char* path, const char* bytes, uint64_t n, bool append = false) {
    char full[kMaxPath];
    const char* name = nullptr;
    const int64_t dir = open_parent(path, full, &name);
    if (dir < 0)
        return dir;
    const int64_t r = store_file(static_cast<Handle>(dir), name, bytes, n, append);
    close(dir);
    return r;
}

// ---- built-ins ---------------------------------------------------------------------------------

using Builtin = int64_t (*)(const Stage&, Sink&);

int64_t cd(const Stage& s, Sink&) {
    const char* target = s.count > 1 ? s.words[1] : "/";
    char full[kMaxPath];
    const Handle base = resolve(target, full);
    if (base == 0) {
        error("cd: %s: %s", target,
              g_start_dir != 0 && target[0] != '/'
                  ? "above the directory this shell started in (its path is unknown)"
                  : "path too long");
        return 1;
    }
    const int64_t h = open_path(base, full + 1, c::length(full) - 1);
    if (h < 0) {
        error("cd: %s: %s", target, error_text(h));
        return 1;
    }
    if (!is_directory(h)) {
        close(h);
        error("cd: %s: not a directory", target);
        return 1;
    }
    if (base == g_start_dir) {  // still below the start: "./sub", kept as a path from it
        if (c::length(full) + 1 >= kMaxPath) {
            close(h);
            error("cd: %s: path too long", target);
            return 1;
        }
        g_cwd[0] = '.';
        c::copy(g_cwd + 1, full, c::length(full) + 1);
        if (g_cwd[1] == '/' && g_cwd[2] == '\0')
            g_cwd[1] = '\0';
        close(h);
        return 0;
    }
    close(h);
    close(g_start_dir);  // an absolute path: the current directory has a path again
    g_start_dir = 0;
    c::copy(g_cwd, full, c::length(full) + 1);
    return 0;
}

int64_t pwd(const Stage&, Sink& out) {
    out.printf("%s\n", g_cwd);
    return 0;
}

int64_t exit_shell(const Stage& s, Sink&) {
    g_exit = true;
    g_exit_status = s.count > 1 ? static_cast<int64_t>(parse_u64(s.words[1])) : g_status;
    return g_exit_status;
}

// Runs act(directory, name) for each path argument (its parent opened); says each failure as
// "what: path: why". 1 when any failed (or none was given), else 0.
template <class Act>
int64_t each_path(const Stage& s, const char* what, const char* missing, Act act) {
    if (s.count < 2) {
        error("%s: %s", what, missing);
        return 1;
    }
    int64_t status = 0;
    for (int i = 1; i < s.count; ++i) {
        char full[kMaxPath];
        const char* name = nullptr;
        const int64_t dir = open_parent(s.words[i], full, &name);
        const int64_t r = dir < 0 ? dir : act(static_cast<Handle>(dir), name);
        close(dir);
        if (r < 0) {
            error("%s: %s: %s", what, s.words[i], error_text(r));
            status = 1;
        }
    }
    return status;
}

int64_t mkdir(const Stage& s, Sink&) {
    return each_path(s, "mkdir", "which directory?", [](Handle dir, const char* name) {
        if (is_served(dir)) {
            const uint64_t flags = abi::kOpenCreate | abi::kOpenExclusive | abi::kOpenDirectory;
            const int64_t h = sys::do_io(dir, Op::kOpen, name, c::length(name), flags);
            close(h);
            return h < 0 ? h : 0;
        }
        Handle made = 0;
        int64_t r = sys::object_new(abi::Kind::kRoot, 0, &made);
        if (r >= 0)
            r = sys::do_io(dir, Op::kCreate, name, c::length(name), made);
        close(made);
        return r;
    });
}

int64_t rm(const Stage& s, Sink&) {
    return each_path(s, "rm", "which file?", [](Handle dir, const char* name) {
        return sys::do_io(dir, Op::kDestroy, name, c::length(name));
    });
}

int64_t cp(const Stage& s, Sink&) {
    if (s.count != 3) {
        error("cp: usage: cp FROM TO");
        return 1;
    }
    const int64_t from = open_at(s.words[1]);
    if (from < 0) {
        error("cp: %s: %s", s.words[1], error_text(from));
        return 1;
    }
    Sink bytes;
    int64_t r = read_file(from, bytes);
    close(from);
    if (r >= 0 && bytes.failed())
        r = -static_cast<int64_t>(abi::Error::kNoMemory);
    if (r >= 0)
        r = write_file(s.words[2], bytes.data(), bytes.length());
    if (r < 0) {
        error("cp: %s: %s", s.words[r == from ? 1 : 2], error_text(r));
        return 1;
    }
    return 0;
}

const char* state_text(uint32_t state) {
    switch (static_cast<abi::ProcessState>(state)) {
        case abi::ProcessState::kRunning:
            return "running ";
        case abi::ProcessState::kExited:
            return "exited  ";
        case abi::ProcessState::kFault:
            return "fault   ";
    }
    return "?       ";
}

int64_t ps(const Stage&, Sink& out) {
    const int64_t table = g_table;
    if (table == 0) {
        error("ps: no process table");
        return 1;
    }
    // The table can grow between asking its size and reading it: room for a few more.
    uint64_t count = 0;
    int64_t r = sys::do_io(static_cast<uint64_t>(table), Op::kGetMeta, &count, 8,
                           static_cast<uint64_t>(abi::Meta::kSize));
    const uint64_t room = count + 8;
    auto* entries = static_cast<abi::ProcessEntry*>(allocate(room * sizeof(abi::ProcessEntry)));
    if (r >= 0)
        r = entries == nullptr ? -static_cast<int64_t>(abi::Error::kNoMemory)
                               : sys::do_io(static_cast<uint64_t>(table), Op::kRead, entries,
                                            room * sizeof(abi::ProcessEntry));
    if (r < 0) {
        error("ps: %s", error_text(r));
        release(entries);
        return 1;
    }
    out.printf("   ID PARENT STATE      NAME\n");  // states are padded to 8
    for (uint64_t i = 0; i < static_cast<uint64_t>(r) / sizeof(abi::ProcessEntry); ++i) {
        const abi::ProcessEntry& e = entries[i];
        char name[sizeof e.name + 1];
        c::copy(name, e.name, sizeof e.name);
        name[sizeof e.name] = '\0';
        out.printf("%5lu %6lu %s   %s\n", e.id, e.parent, state_text(e.state), name);
    }
    release(entries);
    return 0;
}

int64_t help(const Stage&, Sink& out);
int64_t wait_all(const Stage&, Sink&);

struct BuiltinEntry {
    const char* name;
    Builtin fn;
    const char* what;
};
constexpr BuiltinEntry kBuiltins[] = {
    {"cd", cd, "cd [DIR]: change the current directory (/ without DIR)"},
    {"pwd", pwd, "pwd: print the current directory"},
    {"mkdir", mkdir, "mkdir DIR...: make directories"},
    {"rm", rm, "rm NAME...: remove names (files or directories)"},
    {"cp", cp, "cp FROM TO: copy a file"},
    {"ps", ps, "ps: list the processes (id, name, state, parent)"},
    {"wait", wait_all, "wait: wait for every background command (status: the first failure)"},
    {"help", help, "help: this list"},
    {"exit", exit_shell, "exit [STATUS]: leave the shell"},
};

int64_t help(const Stage&, Sink& out) {
    out.printf("built-in commands:\n");
    for (const BuiltinEntry& b : kBuiltins)
        out.printf("  %s\n", b.what);
    out.printf(
        "programs in /bin: ls cat echo wc upper cksum with true false sleep ping ... (PROGRAM "
        "ARGS...)\n"
        "a | b | c pipes; > FILE, >> FILE and < FILE redirect; ; separates commands;\n"
        "COMMAND & runs it in the background; # starts a comment;\n"
        "$? is the status of the last command; '...' and \"...\" quote\n");
    return 0;
}

const BuiltinEntry* builtin(const char* name) {
    for (const BuiltinEntry& b : kBuiltins) {
        if (str_equal(b.name, name))
            return &b;
    }
    return nullptr;
}

// ---- programs ----------------------------------------------------------------------------------

// Starts one stage as a process: its root holds "console" (out), "input" (in, if any), "ns"
// (the shell's name space), "self" (its image) and "cwd" (the current directory). A process handle,
// or a status (>= 0) already reported.
struct Started {
    int64_t process;
    int64_t status;
};
Started start(const Stage& s, Handle in, Handle out) {
    const char* name = s.words[0];
    int64_t image;
    if (!has_char(name, '/')) {  // a bare name is a program of /bin
        char path[kMaxPath];
        snformat(path, sizeof path, "/bin/%s", name);
        image = open_at(path);
    } else {
        image = open_at(name);
    }
    if (image < 0) {
        if (image == -static_cast<int64_t>(abi::Error::kNotFound))
            error("%s: command not found", name);
        else
            error("%s: %s", name, error_text(image));
        return {-1, kNotFoundStatus};
    }
    char args[abi::kMaxArgsLength];
    // The words after the program's name, each quoted so that split_args gives them back.
    const uint64_t args_length = cmdline::quote_args(s.words + 1, s.count - 1, args, sizeof args);
    Handle child_root = 0;
    int64_t r = args_length > sizeof args ? -static_cast<int64_t>(abi::Error::kTooLarge)
                                          : sys::object_new(abi::Kind::kRoot, 0, &child_root);
    if (r >= 0)
        r = sys::do_io(child_root, Op::kCreate, "console", 7, out);
    if (r >= 0 && in != 0)
        r = sys::do_io(child_root, Op::kCreate, "input", 5, in);
    // "ns": the shell's name space, so that absolute paths mean the same to the program.
    if (r >= 0)
        r = sys::do_io(child_root, Op::kCreate, "ns", 2, g_ns);
    // "processes": the table the shell starts programs through, so that what they start goes
    // through it too (a job server's, when the shell was given one).
    if (r >= 0 && g_table != 0)
        r = sys::do_io(child_root, Op::kCreate, "processes", 9, g_table);
    // "self": its own image, so that it can start copies of itself.
    if (r >= 0)
        r = sys::do_io(child_root, Op::kCreate, "self", 4, static_cast<uint64_t>(image));
    const int64_t cwd = r >= 0 ? open_at(".") : r;
    if (cwd >= 0)
        r = sys::do_io(child_root, Op::kCreate, "cwd", 3, static_cast<uint64_t>(cwd));
    else
        r = cwd;
    close(cwd);
    int64_t process = r;
    if (r >= 0) {
        const Handle given[] = {child_root};
        const char* base = name + c::length(name);
        while (base > name && base[-1] != '/')
            --base;
        const uint64_t base_length = c::length(base);
        const abi::SpawnArgs sa{
            reinterpret_cast<uint64_t>(given),
            1,
            reinterpret_cast<uint64_t>(args),
            args_length,
            reinterpret_cast<uint64_t>(base),
            base_length < abi::kMaxNameLength ? base_length : abi::kMaxNameLength,
            0};
        process = spawn_with(g_table, static_cast<Handle>(image), sa);
    }
    close(child_root);
    close(image);
    if (process < 0) {
        error("%s: cannot start: %s", name, error_text(process));
        return {-1, kCannotStart};
    }
    return {process, 0};
}

int64_t wait(int64_t process, const char* name) {
    abi::ExitInfo info{};
    const int64_t r = sys::do_io(static_cast<uint64_t>(process), Op::kRead, &info, sizeof info);
    close(process);
    if (r < 0) {
        // No end to report: a job server's job lost with its machine, say.
        error("%s: no exit status: %s", name, error_text(r));
        return kCannotStart;
    }
    if (info.reason == static_cast<uint32_t>(abi::ExitReason::kFault)) {
        error("%s: ended by a fault (vector %u at 0x%lx)", name, info.vector, info.address);
        return 128 + info.vector;
    }
    return info.status;
}

// ---- background commands ---------------------------------------------------------------------

// A pipeline started with '&': its processes, waited for by `wait`.
struct Job {
    int64_t processes[kMaxStages];
    char names[kMaxStages][32];
    int count;
};
constexpr int kMaxJobs = 64;
Job g_jobs[kMaxJobs];
int g_job_count = 0;

// Keeps a started pipeline's processes as a background job (the caller checked for room).
void keep_job(const Started* started, const Pipeline& p) {
    Job& job = g_jobs[g_job_count++];
    job.count = p.count;
    for (int i = 0; i < p.count; ++i) {
        job.processes[i] = started[i].process;
        snformat(job.names[i], sizeof job.names[i], "%s", p.stages[i].words[0]);
    }
    if (g_interactive)
        print("[%d]\n", g_job_count);
}

// Waits for every background job in the order they started; the status is the first job's
// (its last stage's) that was not 0, else 0.
int64_t wait_all(const Stage&, Sink&) {
    int64_t status = 0;
    for (int j = 0; j < g_job_count; ++j) {
        const Job& job = g_jobs[j];
        for (int i = 0; i < job.count; ++i) {
            const int64_t st = wait(job.processes[i], job.names[i]);
            if (i == job.count - 1 && status == 0)
                status = st;
        }
    }
    g_job_count = 0;
    return status;
}

// Whether path's directory is a served one (where files grow in place).
bool is_served_parent(const char* path) {
    char full[kMaxPath];
    const char* name = nullptr;
    const int64_t dir = open_parent(path, full, &name);
    const bool served = dir >= 0 && is_served(dir);
    close(dir);
    return served;
}

// Copies what arrives on a pipe's read end into sink until every writer is gone.
void drain(Handle pipe, Sink& sink) {
    char chunk[4096];
    for (;;) {
        const int64_t n = sys::do_io(pipe, Op::kRead, chunk, sizeof chunk);
        if (n <= 0)
            return;
        sink.write(chunk, static_cast<uint64_t>(n));
    }
}

// Where the last stage's output goes, and the file it ends up in.
int64_t finish_output(const Stage& last, Sink& gathered) {
    if (last.output == nullptr)
        return 0;
    if (gathered.failed()) {
        error("%s: out of memory for the output", last.output);
        return 1;
    }
    int64_t r;
    if (last.append && is_served_parent(last.output)) {
        r = write_file(last.output, gathered.data(), gathered.length(), true);
    } else if (last.append) {
        Sink all;
        const int64_t old = open_at(last.output);
        if (old >= 0) {
            r = read_file(old, all);
            close(old);
            if (r < 0) {
                error("%s: %s", last.output, error_text(r));
                return 1;
            }
        }
        all.write(gathered.data(), gathered.length());
        r = write_file(last.output, all.data(), all.length());
    } else {
        r = write_file(last.output, gathered.data(), gathered.length());
    }
    if (r < 0) {
        error("%s: %s", last.output,
              gathered.length() == 0 && r == -static_cast<int64_t>(abi::Error::kInvalidArgument)
                  ? "nothing to write (empty files are not kept)"
                  : error_text(r));
        return 1;
    }
    return 0;
}

}  // namespace

int64_t run_pipeline(const Pipeline& p) {
    const Stage& first = p.stages[0];
    const Stage& last = p.stages[p.count - 1];
    for (int i = 0; i < p.count; ++i) {
        const Stage& s = p.stages[i];
        if ((s.output != nullptr && i != p.count - 1) || (s.input != nullptr && i != 0)) {
            error("shell: only the first stage reads a file and only the last writes one");
            return 2;
        }
    }
    if (p.background) {
        if (builtin(first.words[0]) != nullptr) {
            error("%s: a built-in cannot run in the background", first.words[0]);
            return 2;
        }
        if (last.output != nullptr) {
            // The shell gathers a redirected output itself, which it cannot while going on.
            error("%s: a background command cannot write > %s (the program can write it)",
                  last.words[0], last.output);
            return 2;
        }
        if (g_job_count == kMaxJobs) {
            error("shell: %d background commands already: wait for them first", kMaxJobs);
            return 1;
        }
    }
    // A built-in runs in the shell itself, alone.
    if (const BuiltinEntry* b = builtin(first.words[0])) {
        if (p.count > 1) {
            error("%s: a built-in cannot be part of a pipeline", first.words[0]);
            return 2;
        }
        Sink gathered;
        Sink to_console(console());
        const int64_t status = b->fn(first, last.output != nullptr ? gathered : to_console);
        const int64_t written = finish_output(last, gathered);
        return status != 0 ? status : written;
    }
    // Input of the first stage (a background command reads only a file it is given).
    Handle in = p.background ? 0 : input();
    int64_t in_file = 0;
    if (first.input != nullptr) {
        in_file = open_at(first.input);
        if (in_file < 0 || is_directory(in_file)) {
            error("%s: %s", first.input, in_file < 0 ? error_text(in_file) : "is a directory");
            close(in_file);
            return 1;
        }
        in = static_cast<Handle>(in_file);
        (void)sys::do_io(in, Op::kSeek, nullptr, 0, 0);  // the shared position: from the start
    }
    Handle gather[2] = {0, 0};  // the last stage's output when it goes to a file
    if (last.output != nullptr && sys::object_new(abi::Kind::kPipe, 0, gather) < 0) {
        error("shell: no pipe for the output");
        close(in_file);
        return 1;
    }
    Started started[kMaxStages];
    int64_t status = 0;
    int running = 0;
    Handle previous_read = 0;
    for (int i = 0; i < p.count; ++i) {
        Handle pipe[2] = {0, 0};
        Handle out = console();
        if (i + 1 < p.count) {
            if (sys::object_new(abi::Kind::kPipe, 0, pipe) < 0) {
                error("shell: no pipe");
                status = 1;
                break;
            }
            out = pipe[1];
        } else if (gather[1] != 0) {
            out = gather[1];
        }
        started[i] = start(p.stages[i], i == 0 ? in : previous_read, out);
        close(previous_read);
        close(pipe[1]);  // the child holds its own write end now
        previous_read = pipe[0];
        if (started[i].process < 0) {
            status = started[i].status;
            break;
        }
        ++running;
    }
    close(previous_read);
    close(gather[1]);
    close(in_file);
    if (p.background) {
        if (running == p.count) {
            keep_job(started, p);
            return 0;
        }
        for (int i = 0; i < running; ++i)  // a stage did not start: the others end as usual
            (void)wait(started[i].process, p.stages[i].words[0]);
        return status;
    }
    Sink gathered;
    if (gather[0] != 0) {
        drain(gather[0], gathered);
        close(gather[0]);
    }
    for (int i = 0; i < running; ++i) {
        const int64_t s = wait(started[i].process, p.stages[i].words[0]);
        if (i == p.count - 1)
            status = s;
    }
    if (running < p.count)
        return status;  // a stage could not start: that is the status, nothing is written
    const int64_t written = finish_output(last, gathered);
    return status != 0 ? status : written;
}

namespace {

// Runs a line's commands in order. The line is parsed whole first, so a malformed line runs
// nothing; then again before each command, so that $? is the status of the one before it.
// False for a malformed line (said as "WHERE: why", "shell" by default).
bool run_line(const char* line, uint64_t length, const char* where = "shell") {
    static Pipeline commands[kMaxCommands];
    int count = 0;
    for (int i = 0; i == 0 || (i < count && !g_exit); ++i) {
        Parser parser(g_status);
        if (const char* why = parser.parse(line, length, commands, &count, kMaxCommands)) {
            error("%s: %s", where, why);
            g_status = 2;
            return false;
        }
        if (i < count)
            g_status = run_pipeline(commands[i]);
    }
    return true;
}

// Runs a script: the file's lines in order, as if typed. A malformed line stops it (status 2,
// said as "FILE:LINE: why"), as does `exit`; the status is the last command's.
int64_t run_script(const char* path) {
    const int64_t h = open_at(path);
    if (h < 0) {
        error("shell: %s: %s", path, error_text(h));
        return kNotFoundStatus;
    }
    Sink text;
    const int64_t r = read_file(h, text);
    close(h);
    if (r < 0 || text.failed()) {
        error("shell: %s: %s", path,
              r < 0 ? error_text(r) : error_text(-static_cast<int64_t>(abi::Error::kNoMemory)));
        return 1;
    }
    const char* p = text.data();
    const char* end = p + text.length();
    for (uint64_t number = 1; p < end && !g_exit; ++number) {
        const char* eol = p;
        while (eol < end && *eol != '\n')
            ++eol;
        char where[kMaxPath + 32];
        snformat(where, sizeof where, "%s:%lu", path, number);
        if (static_cast<uint64_t>(eol - p) > kMaxLine) {
            error("%s: line too long (at most %lu bytes)", where, kMaxLine);
            return 2;
        }
        if (!run_line(p, static_cast<uint64_t>(eol - p), where))
            return 2;
        p = eol + 1;
    }
    return g_exit ? g_exit_status : g_status;
}

// The name space, the process table and the starting directory, from what the root holds: a
// shell started by init has its name space as its root; one started by a shell (a script) has
// "ns" (that shell's name space) and "cwd" (its directory, whose path it cannot know).
void find_surroundings() {
    g_ns = root();
    const int64_t ns = open(root(), "ns");
    if (ns > 0)
        g_ns = static_cast<Handle>(ns);
    const int64_t table = open(root(), "processes");
    if (table > 0)
        g_table = static_cast<Handle>(table);
    const int64_t cwd = ns > 0 ? open(root(), "cwd") : -1;
    if (cwd > 0) {
        g_start_dir = static_cast<Handle>(cwd);
        g_cwd[0] = '.';
        g_cwd[1] = '\0';
    }
}

}  // namespace

}  // namespace keel::shell

int keel_main(const keel::user::StartInfo& start) {
    using namespace keel::shell;
    find_surroundings();
    // "-c COMMANDS" as init passes it (the rest of the string, unquoted): run them and exit
    // with the last status (tests).
    if (start.args_length >= 3 && start.args[0] == '-' && start.args[1] == 'c' &&
        start.args[2] == ' ') {
        run_line(start.args + 3, start.args_length - 3);
        return static_cast<int>(g_exit ? g_exit_status : g_status);
    }
    // As words (a shell passes them quoted): "-c COMMANDS" or "-f SCRIPT".
    static char storage[keel::abi::kMaxArgsLength + 8];
    const char* words[3];
    const int n = split_args(start.args, start.args_length, storage, sizeof storage, words, 3);
    if (n != 0) {
        if (n == 2 && keel::str_equal(words[0], "-c")) {
            run_line(words[1], keel::c::length(words[1]));
            return static_cast<int>(g_exit ? g_exit_status : g_status);
        }
        if (n == 2 && keel::str_equal(words[0], "-f"))
            return static_cast<int>(run_script(words[1]));
        print("shell: usage: shell [-c COMMANDS | -f SCRIPT]\n");
        return 2;
    }
    g_interactive = true;
    if (input() == 0) {
        print("shell: no input to read commands from\n");
        return 1;
    }
    print("Keel shell. Type help for the commands.\n");
    static char line[kMaxLine + 1];
    while (!g_exit) {
        // The directory, and the last status when it was not 0: "/tmp [1] $ ".
        if (g_status == 0)
            print("%s $ ", g_cwd);
        else
            print("%s [%ld] $ ", g_cwd, g_status);
        const int64_t r = read_line(input(), line);
        if (r == kEnd)
            break;
        if (r == kAbandoned)
            continue;
        if (r == kTooLong) {
            print("shell: line too long (at most %lu bytes)\n", kMaxLine);
            g_status = 2;
            continue;
        }
        remember(line, static_cast<uint64_t>(r));
        run_line(line, static_cast<uint64_t>(r));
    }
    return static_cast<int>(g_exit ? g_exit_status : g_status);
}
