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

char g_cwd[kMaxPath] = "/";  // the current directory, absolute, normalised
int64_t g_status = 0;        // of the last command
bool g_exit = false;
int64_t g_exit_status = 0;

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
bool absolute(const char* path, char* out) {
    char joined[2 * kMaxPath];
    size_t n = path[0] == '/' ? snformat(joined, sizeof joined, "%s", path)
                              : snformat(joined, sizeof joined, "%s/%s", g_cwd, path);
    if (n >= sizeof joined)
        return false;
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

// Opens a path (relative to the current directory); a handle or -Error.
int64_t open_at(const char* path) {
    char full[kMaxPath];
    if (!absolute(path, full))
        return -static_cast<int64_t>(abi::Error::kTooLarge);
    return open_path(root(), full, c::length(full));
}

// Splits an absolute path into its directory (opened) and last name; -Error when the
// directory is not there. `name` points into `full`.
int64_t open_parent(const char* path, char* full, const char** name) {
    if (!absolute(path, full))
        return -static_cast<int64_t>(abi::Error::kTooLarge);
    char* slash = full + c::length(full);
    while (slash > full && *slash != '/')
        --slash;
    if (slash[1] == '\0')
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);  // "/" has no parent
    *name = slash + 1;
    const uint64_t dir_length = static_cast<uint64_t>(slash - full);
    return open_path(root(), full, dir_length == 0 ? 1 : dir_length);
}

uint64_t kind_of(int64_t h) {
    uint64_t k = 0;
    return sys::do_io(static_cast<uint64_t>(h), Op::kGetMeta, &k, 8,
                      static_cast<uint64_t>(abi::Meta::kKind)) == 8
               ? k
               : 0;
}
bool is_directory(int64_t h) {
    return h > 0 &&
           node_type(static_cast<Handle>(h)) == static_cast<uint32_t>(abi::NodeType::kDirectory);
}
// A directory a server keeps (a file system): files are made by open, not by binding memory.
bool is_served(int64_t h) {
    return kind_of(h) == static_cast<uint64_t>(abi::Kind::kServed);
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

// Writes all of bytes to an open file, in pieces a served object takes (a server's queue
// buffers bound one operation: 64 KiB for the FAT server, 32 KiB for sockets); 0 or -Error.
int64_t write_all(int64_t h, const char* bytes, uint64_t n) {
    constexpr uint64_t kPiece = 32 * 1024;
    while (n > 0) {
        const int64_t w =
            sys::do_io(static_cast<uint64_t>(h), Op::kWrite, bytes, n < kPiece ? n : kPiece);
        if (w <= 0)
            return w < 0 ? w : -static_cast<int64_t>(abi::Error::kIo);
        bytes += w;
        n -= static_cast<uint64_t>(w);
    }
    return 0;
}

// In a served directory: opens `name` (made when absent) and writes bytes, after what was
// there (append) or instead of it.
int64_t write_served(int64_t dir, const char* name, const char* bytes, uint64_t n, bool append) {
    const uint64_t flags = abi::kOpenCreate | (append ? abi::kOpenAppend : abi::kOpenTruncate);
    const int64_t h =
        sys::do_io(static_cast<uint64_t>(dir), Op::kOpen, name, c::length(name), flags);
    if (h < 0)
        return h;
    const int64_t r =
        is_directory(h) ? -static_cast<int64_t>(abi::Error::kExists) : write_all(h, bytes, n);
    close(h);
    return r;
}

// Makes `path` a file holding bytes (replacing what was there, or after it with append: only a
// served directory's files can grow, so elsewhere the caller joins the bytes); 0 or -Error.
int64_t write_file(const char* path, const char* bytes, uint64_t n, bool append = false) {
    char full[kMaxPath];
    const char* name = nullptr;
    const int64_t dir = open_parent(path, full, &name);
    if (dir < 0)
        return dir;
    if (is_served(dir)) {
        const int64_t r = write_served(dir, name, bytes, n, append);
        close(dir);
        return r;
    }
    Handle file = 0;
    // A memory object has at least one byte: an empty file is refused rather than stored with
    // a wrong length.
    int64_t r = n == 0 ? -static_cast<int64_t>(abi::Error::kInvalidArgument)
                       : sys::object_new(abi::Kind::kMemory, n, &file);
    if (r >= 0)
        r = sys::do_io(file, Op::kWrite, bytes, n);
    if (r >= 0)  // a memory object has one position, shared by all: readers start at 0
        r = sys::do_io(file, Op::kSeek, nullptr, 0, 0);
    if (r >= 0) {
        const uint64_t length = c::length(name);
        const int64_t old = sys::do_io(static_cast<uint64_t>(dir), Op::kOpen, name, length);
        if (old >= 0) {
            const bool directory = is_directory(old);
            close(old);
            r = directory ? -static_cast<int64_t>(abi::Error::kExists)
                          : sys::do_io(static_cast<uint64_t>(dir), Op::kDestroy, name, length);
        }
        if (r >= 0)
            r = sys::do_io(static_cast<uint64_t>(dir), Op::kCreate, name, length, file);
    }
    close(file);
    close(dir);
    return r < 0 ? r : 0;
}

// ---- built-ins ---------------------------------------------------------------------------------

using Builtin = int64_t (*)(const Stage&, Sink&);

int64_t cd(const Stage& s, Sink&) {
    const char* target = s.count > 1 ? s.words[1] : "/";
    char full[kMaxPath];
    if (!absolute(target, full)) {
        error("cd: %s: path too long", target);
        return 1;
    }
    const int64_t h = open_path(root(), full, c::length(full));
    if (h < 0) {
        error("cd: %s: %s", target, error_text(h));
        return 1;
    }
    const bool directory = is_directory(h);
    close(h);
    if (!directory) {
        error("cd: %s: not a directory", target);
        return 1;
    }
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
    const int64_t table = open(root(), "processes");
    if (table < 0) {
        error("ps: no process table: %s", error_text(table));
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
    close(table);
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
    {"help", help, "help: this list"},
    {"exit", exit_shell, "exit [STATUS]: leave the shell"},
};

int64_t help(const Stage&, Sink& out) {
    out.printf("built-in commands:\n");
    for (const BuiltinEntry& b : kBuiltins)
        out.printf("  %s\n", b.what);
    out.printf(
        "programs in /bin: ls cat echo wc upper true false (PROGRAM ARGS...)\n"
        "a | b | c pipes; > FILE, >> FILE and < FILE redirect; ; separates commands;\n"
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
    // "ns": the shell's own root, so that absolute paths mean the same to the program.
    if (r >= 0)
        r = sys::do_io(child_root, Op::kCreate, "ns", 2, root());
    // "self": its own image, so that it can start copies of itself.
    if (r >= 0)
        r = sys::do_io(child_root, Op::kCreate, "self", 4, static_cast<uint64_t>(image));
    const int64_t cwd = r >= 0 ? open_at(g_cwd) : r;
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
        process = sys::spawn(static_cast<Handle>(image), &sa);
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
    if (r < 0)
        return kCannotStart;
    if (info.reason == static_cast<uint32_t>(abi::ExitReason::kFault)) {
        error("%s: ended by a fault (vector %u at 0x%lx)", name, info.vector, info.address);
        return 128 + info.vector;
    }
    return info.status;
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
    // Input of the first stage.
    Handle in = input();
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
void run_line(const char* line, uint64_t length) {
    static Pipeline commands[kMaxCommands];
    int count = 0;
    for (int i = 0; i == 0 || (i < count && !g_exit); ++i) {
        Parser parser(g_status);
        if (const char* why = parser.parse(line, length, commands, &count, kMaxCommands)) {
            error("shell: %s", why);
            g_status = 2;
            return;
        }
        if (i < count)
            g_status = run_pipeline(commands[i]);
    }
}

}  // namespace

}  // namespace keel::shell

int keel_main(const keel::user::StartInfo& start) {
    using namespace keel::shell;
    // "-c COMMANDS": run them and exit with the last status (scripts and tests).
    if (start.args_length >= 3 && start.args[0] == '-' && start.args[1] == 'c' &&
        start.args[2] == ' ') {
        run_line(start.args + 3, start.args_length - 3);
        return static_cast<int>(g_exit ? g_exit_status : g_status);
    }
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
