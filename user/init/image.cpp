// The initial file system image: a ustar archive (boot module "initfs.tar", made by the build
// with the host's tar) read through lib/tar. Its directories become roots and its files memory
// objects holding their bytes, all read-only; files with an execute bit may be spawned.
#include <keel/c/mem.hpp>
#include <keel/tar/tar.hpp>

#include "init.hpp"

namespace keel::init {

namespace {

// Directories made so far, by path, with handles that can still add names (the name space
// itself gets read-only shares of them).
constexpr int kMaxDirs = 32;
struct Dir {
    char path[tar::kMaxPath + 1];
    uint32_t length;
    Handle handle;
};
Dir g_dirs[kMaxDirs];
int g_dir_count = 0;

int64_t new_root() {
    Handle h = 0;
    const int64_t r = sys::object_new(abi::Kind::kRoot, 0, &h);
    return r < 0 ? r : h;
}

// The directory at `path` (made, with its parents, when missing); 0 when it cannot be.
Handle directory(Handle top, const char* path, uint32_t length) {
    if (length == 0)
        return top;
    for (int i = 0; i < g_dir_count; ++i) {
        if (g_dirs[i].length == length && c::compare(g_dirs[i].path, path, length) == 0)
            return g_dirs[i].handle;
    }
    uint32_t slash = length;
    while (slash > 0 && path[slash - 1] != '/')
        --slash;
    const Handle parent = directory(top, path, slash > 0 ? slash - 1 : 0);
    if (parent == 0 || g_dir_count == kMaxDirs)
        return 0;
    const int64_t made = new_root();
    if (made < 0)
        return 0;
    const int64_t shared = sys::do_io(static_cast<uint64_t>(made), Op::kShare, nullptr, 0,
                                      uint64_t{abi::kRightRead | abi::kRightShare} << 32);
    const int64_t r = shared < 0 ? shared
                                 : sys::do_io(parent, Op::kCreate, path + slash, length - slash,
                                              static_cast<uint64_t>(shared));
    (void)sys::do_io(static_cast<uint64_t>(shared), Op::kClose);
    if (r < 0) {
        (void)sys::do_io(static_cast<uint64_t>(made), Op::kClose);
        return 0;
    }
    Dir& d = g_dirs[g_dir_count++];
    c::copy(d.path, path, length);
    d.length = length;
    d.handle = static_cast<Handle>(made);
    return d.handle;
}

// One file: a memory object with its bytes, bound read-only (and spawnable when executable).
int64_t add_file(Handle top, const tar::Entry& e) {
    uint32_t slash = e.path_length;
    while (slash > 0 && e.path[slash - 1] != '/')
        --slash;
    const Handle dir = directory(top, e.path, slash > 0 ? slash - 1 : 0);
    if (dir == 0)
        return -static_cast<int64_t>(abi::Error::kFull);
    if (e.size == 0)
        return 0;  // a memory object has at least one byte: empty files are left out
    Handle file = 0;
    int64_t r = sys::object_new(abi::Kind::kMemory, e.size, &file);
    // One do_io carries at most kMaxIoLength bytes: a larger file goes in pieces.
    for (uint64_t at = 0; r >= 0 && at < e.size;) {
        const uint64_t n = e.size - at < abi::kMaxIoLength ? e.size - at : abi::kMaxIoLength;
        r = sys::do_io(file, Op::kWrite, e.data + at, n);
        at += n;
    }
    if (r >= 0)
        r = sys::do_io(file, Op::kSeek, nullptr, 0, 0);
    uint32_t rights = abi::kRightRead | abi::kRightMap | abi::kRightShare;
    if ((e.mode & 0111) != 0)
        rights |= abi::kRightSpawn;
    const int64_t shared =
        r < 0 ? r : sys::do_io(file, Op::kShare, nullptr, 0, uint64_t{rights} << 32);
    if (shared >= 0)
        r = sys::do_io(dir, Op::kCreate, e.path + slash, e.path_length - slash,
                       static_cast<uint64_t>(shared));
    else
        r = shared;
    (void)sys::do_io(static_cast<uint64_t>(shared), Op::kClose);
    (void)sys::do_io(file, Op::kClose);
    return r < 0 ? r : 0;
}

}  // namespace

bool load_image(Handle top) {
    const int64_t image = open(root(), kImageName);
    if (image < 0)
        return false;
    uint64_t size = 0;
    (void)sys::do_io(static_cast<uint64_t>(image), Op::kGetMeta, &size, 8,
                     static_cast<uint64_t>(abi::Meta::kSize));
    const int64_t at = sys::do_io(static_cast<uint64_t>(image), Op::kMap, nullptr, 0, 0);
    (void)sys::do_io(static_cast<uint64_t>(image), Op::kClose);
    if (at < 0) {
        print("init: %s: cannot map it: %s\n", kImageName, error_text(at));
        return false;
    }
    const auto* bytes = reinterpret_cast<const uint8_t*>(at);
    uint32_t entries = 0;
    if (const char* why = tar::validate(bytes, size, &entries)) {
        print("init: %s refused: %s\n", kImageName, why);
        (void)sys::unmap(static_cast<uint64_t>(at));
        return false;
    }
    tar::Reader reader(bytes, size);
    static tar::Entry e;
    uint32_t files = 0;
    while (reader.next(&e) == tar::Step::kEntry) {
        int64_t r = 0;
        if (e.type == tar::Type::kDirectory)
            r = directory(top, e.path, e.path_length) != 0 ? 0 : -1;
        else if (e.type == tar::Type::kFile)
            r = add_file(top, e);
        else
            print("init: %s: %s: not a file or directory, left out\n", kImageName, e.path);
        if (r < 0)
            print("init: %s: %s: cannot add it: %s\n", kImageName, e.path, error_text(r));
        else if (e.type == tar::Type::kFile)
            ++files;
    }
    (void)sys::unmap(static_cast<uint64_t>(at));
    print("init: %s: %u files in %d directories\n", kImageName, files, g_dir_count);
    return true;
}

}  // namespace keel::init
