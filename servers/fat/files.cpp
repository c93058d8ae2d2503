#include "files.hpp"

#include <keel/c/calendar.hpp>
#include <keel/c/mem.hpp>

namespace keel::fatserver {

namespace {

using abi::Error;
using user::Op;

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);

uint16_t fail(Error e) {
    return abi::queue_error_status(e);
}
uint16_t fail(fat::Error e) {
    return abi::queue_error_status(to_abi(e));
}

// The rights an open grants: a file can be read, written and handed on; a directory also lets
// its holder remove names (the kernel gives the opener no more than its own handle had).
constexpr uint32_t kFileRights = abi::kRightRead | abi::kRightWrite | abi::kRightShare;
constexpr uint32_t kDirectoryRights = kFileRights | abi::kRightDestroy;

bool same_entry(const fat::Node& a, const fat::Node& b) {
    return a.is_root == b.is_root && a.dir_cluster == b.dir_cluster && a.entry == b.entry;
}

// FAT keeps local dates without a zone; Keel's clock is UTC, so the volume holds UTC.
int64_t to_unix_ns(uint16_t date, uint16_t time, uint8_t tenths) {
    if (date == 0)
        return 0;
    const c::CivilTime t{1980 + (date >> 9),  (date >> 5) & 0x0fu,
                         date & 0x1fu,        static_cast<uint32_t>(time >> 11),
                         (time >> 5) & 0x3fu, (time & 0x1fu) * 2u};
    return c::unix_seconds(t) * 1'000'000'000 + static_cast<int64_t>(tenths) * 10'000'000;
}

fat::DateTime from_unix_ns(int64_t ns) {
    const c::CivilTime t = c::civil_from_unix(ns / 1'000'000'000);
    fat::DateTime d = fat::make_time(static_cast<uint32_t>(t.year < 1980 ? 1980 : t.year), t.month,
                                     t.day, t.hour, t.minute, t.second);
    return d;
}

}  // namespace

abi::Error to_abi(fat::Error e) {
    switch (e) {
        case fat::Error::kOk:
            break;
        case fat::Error::kIo:
            return Error::kIo;
        case fat::Error::kCorrupt:
            return Error::kCorrupt;
        case fat::Error::kNotFound:
            return Error::kNotFound;
        case fat::Error::kExists:
            return Error::kExists;
        case fat::Error::kNotDirectory:
            return Error::kNotDirectory;
        case fat::Error::kIsDirectory:
            return Error::kIsDirectory;
        case fat::Error::kNotEmpty:
            return Error::kNotEmpty;
        case fat::Error::kNoSpace:
            return Error::kNoSpace;
        case fat::Error::kTooLarge:
            return Error::kTooLarge;
        case fat::Error::kBadName:
        case fat::Error::kInvalid:
            return Error::kInvalidArgument;
    }
    return Error::kInvalidArgument;
}

fat::DateTime Files::now() const {
    return from_unix_ns(static_cast<int64_t>(user::sys::wall_clock_ns()));
}

fat::Error Files::flush() {
    const fat::Error e = volume_.flush();
    if (e == fat::Error::kOk)
        dirty_ = false;
    return e;
}

Files::Open* Files::lookup_object(uint32_t object) {
    if (object == 0) {
        root_.used = true;
        root_.node = volume_.root();
        return &root_;
    }
    if (object > kMaxOpen || !opens_[object - 1].used)
        return nullptr;
    return &opens_[object - 1];
}

uint16_t Files::perform(const ipc::abi::Submission& s, std::span<std::byte> data, uint64_t* value) {
    const auto op = static_cast<Op>(s.opcode - abi::kQueueOpBase);
    const uint64_t arg = s.args[0];
    Open* o = lookup_object(s.object);
    if (o == nullptr)  // the kernel names only objects this server made and has not closed
        return fail(Error::kInvalidArgument);
    if (op == Op::kClose) {
        if (o != &root_) {
            *o = Open{};
            --open_count_;
        }
        return kOk;
    }
    if (o->gone)
        return fail(Error::kNotFound);
    switch (op) {
        case Op::kOpen:
            return open(*o, data, arg, value);
        case Op::kRead:
        case Op::kPeek:
            return read(*o, data, arg, op == Op::kRead, value);
        case Op::kReadAt:
            if (o->node.directory())  // a listing has a cursor, not byte positions
                return fail(Error::kIsDirectory);
            return read_at(*o, arg, data, value);
        case Op::kWrite:
            return write(*o, data, value);
        case Op::kSeek:
            if (o->node.directory())
                return fail(Error::kIsDirectory);
            if (arg > fat::kMaxFileSize)
                return fail(Error::kInvalidArgument);
            o->position = arg;
            *value = arg;
            return kOk;
        case Op::kGetMeta:
            return get_meta(*o, arg, data, value);
        case Op::kSetMeta:
            return set_meta(*o, arg, data, value);
        case Op::kDestroy:
            return destroy(*o, data);
        case Op::kSync: {
            const fat::Error e = flush();
            return e == fat::Error::kOk ? kOk : fail(e);
        }
        default:
            return fail(Error::kNotSupported);
    }
}

uint32_t Files::plan(const ipc::abi::Submission* const* ops, const uint64_t* lengths,
                     uint32_t count, uint32_t first, bool lone, uint64_t base,
                     fat::Volume::Extent* out, uint32_t max, uint64_t* ready) {
    for (uint32_t i = first; i < count; ++i)
        ready[i] = 0;
    if (pages_ == nullptr || pages_->pages() == 0)
        return 0;
    constexpr uint32_t kMost = 64;  // objects followed, and runs per read
    struct Sim {
        uint32_t object;
        uint64_t position;
        fat::Node node;
    };
    static Sim sim[kMost];
    static fat::Volume::Extent runs[kMost];
    uint32_t sims = 0, planned = 0;
    // Lists the missing whole pages of [at, at + length) of f's file: how many runs were
    // missing (listed, or inside the run listed just before), or -1 when `out` filled up.
    auto list = [&](Sim& f, uint64_t at, uint64_t length) -> int32_t {
        uint32_t n = 0;
        if (volume_.map(f.node, at, length, runs, kMost, &n) != fat::Error::kOk)
            return 0;  // the read itself will say why
        int32_t missing = 0;
        for (uint32_t r = 0; r < n; ++r) {
            uint64_t first_sector = 0;
            uint32_t sectors = 0;
            if (!pages_->missing(runs[r].sector, runs[r].count, &first_sector, &sectors))
                continue;
            ++missing;
            // A partial sector next to the previous run (a read's unaligned end) joins it.
            const fat::Volume::Extent* last = planned > 0 ? &out[planned - 1] : nullptr;
            if (last != nullptr && first_sector >= last->sector &&
                first_sector + sectors <= last->sector + last->count)
                continue;
            if (planned == max)
                return -1;
            out[planned++] = {first_sector, sectors};
        }
        return missing;
    };
    for (uint32_t i = 0; i < count && planned < max; ++i) {
        const ipc::abi::Submission& s = *ops[i];
        const auto op = static_cast<Op>(s.opcode - abi::kQueueOpBase);
        if (op != Op::kSeek && op != Op::kRead && op != Op::kPeek && op != Op::kReadAt)
            continue;
        Open* o = lookup_object(s.object);
        if (o == nullptr || o->gone || o->node.directory())
            continue;
        uint32_t k = 0;
        while (k < sims && sim[k].object != s.object)
            ++k;
        if (k == sims) {
            if (sims == kMost)
                continue;
            sim[sims++] = {s.object, o->position, o->node};
        }
        if (op == Op::kSeek) {
            sim[k].position = s.args[0];
            continue;
        }
        // A read_at reads at its own offset and leaves the position where it was.
        const uint64_t at = op == Op::kReadAt ? s.args[0] : sim[k].position;
        if (op == Op::kRead)
            sim[k].position += lengths[i];
        if (i < first)  // planned before: only its effect on the position
            continue;
        const uint64_t size = sim[k].node.size;
        const uint64_t end = at + lengths[i] < size ? at + lengths[i] : size;
        const bool in_order = at == o->read_end;
        o->read_end = at + lengths[i];
        if (at >= end)
            continue;  // nothing to read
        // Pages asked for by an earlier read-ahead (the open's last pieces, contiguous from
        // the oldest kept): wait for the pieces it overlaps.
        const uint32_t kept = o->chunks < kAheadChunks ? o->chunks : kAheadChunks;
        const Open::Chunk* oldest = &o->chunk[(o->chunks - kept) % kAheadChunks];
        if (kept > 0 && at >= oldest->start && end <= o->ahead_end) {
            for (uint32_t c = 0; c < kept; ++c) {
                const Open::Chunk& piece = o->chunk[(o->chunks - kept + c) % kAheadChunks];
                if (piece.start < end && at < piece.end && piece.ready > ready[i])
                    ready[i] = piece.ready;
            }
        } else if (!lone || in_order) {
            const int32_t missing = list(sim[k], at, end - at);
            if (missing < 0)
                break;
            ready[i] = missing > 0 ? base + planned : 0;
        }
        if (!in_order)
            continue;
        // Reading on in order: ask for the next kReadAhead bytes not asked for yet (a new
        // sequence when it starts past what was asked: the pieces kept so far are forgotten).
        if (end > o->ahead_end) {
            o->ahead_end = end;
            o->chunks = 0;
        }
        const uint64_t from = o->ahead_end;
        const uint64_t to = end + kReadAhead < size ? end + kReadAhead : size;
        if (from >= to)
            continue;
        const int32_t missing = list(sim[k], from, to - from);
        if (missing < 0)
            break;
        o->chunk[o->chunks % kAheadChunks] = {from, to, missing > 0 ? base + planned : 0};
        ++o->chunks;
        o->ahead_end = to;
    }
    return planned;
}

uint16_t Files::open(Open& dir, std::span<std::byte> name, uint64_t flags, uint64_t* value) {
    if (!dir.node.directory())
        return fail(Error::kNotDirectory);
    const auto* text = reinterpret_cast<const char*>(name.data());
    const size_t length = name.size();
    for (size_t i = 0; i < length; ++i) {
        if (text[i] == '/' || text[i] == '\0')
            return fail(Error::kInvalidArgument);  // one name, not a path
    }
    const bool want_directory = (flags & abi::kOpenDirectory) != 0;
    fat::Node node;
    fat::Error e = volume_.lookup(dir.node, text, length, &node);
    if (e == fat::Error::kOk) {
        if ((flags & abi::kOpenCreate) != 0 && (flags & abi::kOpenExclusive) != 0)
            return fail(Error::kExists);
        if (want_directory && !node.directory())
            return fail(Error::kNotDirectory);
        if ((flags & abi::kOpenTruncate) != 0) {
            if (node.directory())
                return fail(Error::kIsDirectory);
            dirty_ = true;
            e = volume_.truncate(node, 0, now());
            if (e != fat::Error::kOk)
                return fail(e);
        }
    } else if (e == fat::Error::kNotFound && (flags & abi::kOpenCreate) != 0) {
        dirty_ = true;
        e = volume_.create(dir.node, text, length, want_directory, now(), &node);
        if (e != fat::Error::kOk)
            return fail(e);
    } else {
        return fail(e);
    }
    // A slot for it: the object id is the slot's index + 1 (0 is the root).
    uint32_t slot = 0;
    while (slot < kMaxOpen && opens_[slot].used)
        ++slot;
    if (slot == kMaxOpen)
        return fail(Error::kFull);
    Open& o = opens_[slot];
    o = Open{};
    o.used = true;
    o.node = node;
    o.append = (flags & abi::kOpenAppend) != 0;
    ++open_count_;
    *value = abi::served_open_value(slot + 1, node.directory() ? kDirectoryRights : kFileRights);
    return kOk;
}

uint16_t Files::read(Open& o, std::span<std::byte> data, uint64_t cursor, bool advance,
                     uint64_t* value) {
    if (o.node.directory())
        return list(o, data, cursor, value);
    const uint16_t status = read_at(o, o.position, data, value);
    if (status == kOk && advance)
        o.position += *value;
    return status;
}

// `data.size()` bytes of the file from `at` (fewer at its end, none past it); the position
// is the caller's business. The volume answers any `at`: past the size is the end.
uint16_t Files::read_at(Open& o, uint64_t at, std::span<std::byte> data, uint64_t* value) {
    size_t done = 0;
    const fat::Error e =
        volume_.read(o.node, at, reinterpret_cast<uint8_t*>(data.data()), data.size(), &done);
    if (e != fat::Error::kOk)
        return fail(e);
    *value = done;
    return kOk;
}

// A directory reads as whole names, one per line, from the entry `cursor` on (as the kernel's
// roots do); as many as fit, kBufferTooSmall when not even the first does.
uint16_t Files::list(Open& dir, std::span<std::byte> data, uint64_t cursor, uint64_t* value) {
    uint32_t at = 0;  // the volume's cursor
    uint64_t index = 0;
    if (cursor == dir.listed && cursor != 0) {
        at = dir.resume;
        index = cursor;
    }
    static fat::Entry entry;
    size_t filled = 0;
    for (;;) {
        const uint32_t before = at;
        const fat::Error e = volume_.list(dir.node, &at, &entry);
        if (e == fat::Error::kNotFound)
            break;  // the end
        if (e != fat::Error::kOk)
            return fail(e);
        if (index++ < cursor)
            continue;
        if (filled + entry.name_length + 1 > data.size()) {
            if (filled == 0)
                return fail(Error::kBufferTooSmall);
            at = before;  // this one starts the next read
            --index;
            break;
        }
        c::copy(data.data() + filled, entry.name, entry.name_length);
        data[filled + entry.name_length] = std::byte{'\n'};
        filled += entry.name_length + 1;
    }
    dir.listed = index;
    dir.resume = at;
    *value = filled;
    return kOk;
}

uint16_t Files::write(Open& o, std::span<std::byte> data, uint64_t* value) {
    if (o.node.directory())
        return fail(Error::kIsDirectory);
    fat::Error e = volume_.stat(&o.node);  // the size another object may have changed
    if (e != fat::Error::kOk)
        return fail(e);
    const uint64_t at = o.append ? o.node.size : o.position;
    dirty_ = true;
    e = volume_.write(o.node, at, reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                      now());
    if (e != fat::Error::kOk)
        return fail(e);
    o.position = at + data.size();
    *value = data.size();
    return kOk;
}

uint16_t Files::get_meta(Open& o, uint64_t key, std::span<std::byte> data, uint64_t* value) {
    fat::Error e = volume_.stat(&o.node);
    if (e != fat::Error::kOk)
        return fail(e);
    auto answer = [&](const void* bytes, size_t n) {
        if (data.size() < n)
            return fail(Error::kBufferTooSmall);
        c::copy(data.data(), bytes, n);
        *value = n;
        return kOk;
    };
    // A directory's size is its entry count (as a root's), which takes a walk.
    uint64_t size = o.node.size;
    const auto k = static_cast<abi::Meta>(key);
    if (o.node.directory() && (k == abi::Meta::kSize || k == abi::Meta::kStat)) {
        size = 0;
        static fat::Entry entry;
        uint32_t at = 0;
        while ((e = volume_.list(o.node, &at, &entry)) == fat::Error::kOk)
            ++size;
        if (e != fat::Error::kNotFound)
            return fail(e);
    }
    switch (k) {
        case abi::Meta::kSize:
            return answer(&size, sizeof size);
        case abi::Meta::kStat: {
            const abi::NodeType type =
                o.node.directory() ? abi::NodeType::kDirectory : abi::NodeType::kFile;
            const abi::Stat st{static_cast<uint32_t>(type), 0, size};
            return answer(&st, sizeof st);
        }
        case abi::Meta::kTimes: {
            const fat::Node& n = o.node;
            const abi::FileTimes t{to_unix_ns(n.created.date, n.created.time, n.created.tenths),
                                   to_unix_ns(n.modified.date, n.modified.time, 0),
                                   to_unix_ns(n.accessed_date, 0, 0)};
            return answer(&t, sizeof t);
        }
        default:
            return fail(Error::kInvalidArgument);
    }
}

uint16_t Files::set_meta(Open& o, uint64_t key, std::span<std::byte> data, uint64_t* value) {
    const auto k = static_cast<abi::Meta>(key);
    if (k == abi::Meta::kRename) {
        if (!o.node.directory())
            return fail(Error::kNotDirectory);
        const uint16_t r = rename(o, data);
        *value = r == kOk ? data.size() : 0;
        return r;
    }
    fat::Error e = fat::Error::kOk;
    if (k == abi::Meta::kSize) {
        uint64_t size = 0;
        if (data.size() != sizeof size)
            return fail(Error::kInvalidArgument);
        c::copy(&size, data.data(), sizeof size);
        if (o.node.directory())
            return fail(Error::kIsDirectory);
        if (size > fat::kMaxFileSize)
            return fail(Error::kTooLarge);
        dirty_ = true;
        e = volume_.truncate(o.node, size, now());
    } else if (k == abi::Meta::kDropCaches) {
        if (!data.empty())
            return fail(Error::kInvalidArgument);
        e = volume_.drop_caches();
        if (e == fat::Error::kOk) {
            dirty_ = false;
            if (pages_ != nullptr)
                pages_->drop_all();
        }
    } else if (k == abi::Meta::kTimes) {
        abi::FileTimes t{};
        if (data.size() != sizeof t)
            return fail(Error::kInvalidArgument);
        c::copy(&t, data.data(), sizeof t);
        dirty_ = true;
        e = volume_.set_times(o.node, from_unix_ns(t.modified), from_unix_ns(t.accessed).date);
    } else {
        return fail(Error::kInvalidArgument);
    }
    if (e != fat::Error::kOk)
        return fail(e);
    *value = data.size();
    return kOk;
}

uint16_t Files::destroy(Open& dir, std::span<std::byte> name) {
    if (!dir.node.directory())
        return fail(Error::kNotDirectory);
    const auto* text = reinterpret_cast<const char*>(name.data());
    fat::Node node;
    fat::Error e = volume_.lookup(dir.node, text, name.size(), &node);
    if (e == fat::Error::kOk) {
        dirty_ = true;
        e = volume_.remove(dir.node, text, name.size());
    }
    if (e != fat::Error::kOk)
        return fail(e);
    moved(node, nullptr);
    return kOk;
}

fat::Error Files::walk_parent(const fat::Node& dir, const char* path, size_t length,
                              fat::Node* parent, const char** last, size_t* last_length) {
    fat::Node at = dir;
    size_t i = 0;
    for (;;) {
        while (i < length && path[i] == '/')
            ++i;
        size_t end = i;
        while (end < length && path[end] != '/')
            ++end;
        size_t next = end;
        while (next < length && path[next] == '/')
            ++next;
        if (next == length) {  // path[i, end) is the last component
            if (end == i)
                return fat::Error::kBadName;
            *parent = at;
            *last = path + i;
            *last_length = end - i;
            return fat::Error::kOk;
        }
        fat::Node child;
        const fat::Error e = volume_.lookup(at, path + i, end - i, &child);
        if (e != fat::Error::kOk)
            return e;
        if (!child.directory())
            return fat::Error::kNotDirectory;
        at = child;
        i = next;
    }
}

// set_meta kRename on a directory: "old\0new", old a name in it and new a path from it.
uint16_t Files::rename(Open& dir, std::span<std::byte> names) {
    const auto* text = reinterpret_cast<const char*>(names.data());
    size_t old_length = 0;
    while (old_length < names.size() && text[old_length] != '\0')
        ++old_length;
    if (old_length == 0 || old_length + 1 >= names.size())
        return fail(Error::kInvalidArgument);
    for (size_t i = 0; i < old_length; ++i) {
        if (text[i] == '/')
            return fail(Error::kInvalidArgument);
    }
    const char* path = text + old_length + 1;
    const size_t path_length = names.size() - old_length - 1;
    fat::Node from;
    fat::Error e = volume_.lookup(dir.node, text, old_length, &from);
    fat::Node parent;
    const char* last = nullptr;
    size_t last_length = 0;
    if (e == fat::Error::kOk)
        e = walk_parent(dir.node, path, path_length, &parent, &last, &last_length);
    if (e == fat::Error::kOk) {
        dirty_ = true;
        e = volume_.rename(dir.node, text, old_length, parent, last, last_length);
    }
    fat::Node to;
    if (e == fat::Error::kOk)
        e = volume_.lookup(parent, last, last_length, &to);
    if (e != fat::Error::kOk)
        return fail(e);
    moved(from, &to);
    return kOk;
}

void Files::moved(const fat::Node& from, const fat::Node* to) {
    for (Open& o : opens_) {
        if (!o.used || o.gone || !same_entry(o.node, from))
            continue;
        if (to != nullptr)
            o.node = *to;
        else
            o.gone = true;
    }
}

}  // namespace keel::fatserver
