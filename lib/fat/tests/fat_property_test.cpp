// lib/fat properties (RapidCheck) against a model, a map from path to bytes (or to "a
// directory"): random sequences of create, mkdir, write (with gaps), truncate, rename (across
// directories), remove and rmdir on mkfs.fat images of each FAT type, every call's result
// compared with what the model predicts. After each sequence the whole tree is read back
// through the library and compared with the model; then the image is flushed, fsck.fat -n must
// exit 0, and mtools must extract the same tree with the same bytes.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/fat/volume.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fat_image.hpp"

namespace keel::fat {
namespace {

namespace fs = std::filesystem;
using testing::MemoryDevice;
using testing::q;
using testing::run;

const DateTime kNow = make_time(2026, 12, 5, 13, 0, 0);

struct ModelEntry {
    bool dir = false;
    std::vector<uint8_t> data;
};
using Model = std::map<std::string, ModelEntry>;  // "/a/b" -> entry; the root is implicit

// Names differ from each other in more than case, so the model may compare them exactly.
const std::vector<std::string> kNames = {"a.txt",
                                         "Long File Name.dat",
                                         "B",
                                         "ümlaut é.txt",
                                         "UPPER.TXT",
                                         "dir one",
                                         "x23456789.abcdef",
                                         "a name long enough to take three entries.txt"};

std::string parent_of(const std::string& p) {
    const size_t s = p.rfind('/');
    return s == 0 ? "/" : p.substr(0, s);
}
std::string base_of(const std::string& p) {
    return p.substr(p.rfind('/') + 1);
}
std::string join(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
}
bool below(const std::string& p, const std::string& dir) {  // p inside dir (or equal)
    return p == dir || p.rfind(dir + "/", 0) == 0;
}

// One mkfs.fat image per type, made once per process.
const std::vector<uint8_t>& template_image(int bits) {
    static std::map<int, std::vector<uint8_t>> images;
    auto& img = images[bits];
    if (img.empty()) {
        const fs::path p =
            fs::temp_directory_path() /
            ("keel_fat_prop_template_" + std::to_string(::getpid()) + "_" + std::to_string(bits));
        const bool ok = bits == 12   ? testing::make_image(p, 12, 1024, "-s 1")
                        : bits == 16 ? testing::make_image(p, 16, 2100, "-s 1")
                                     : testing::make_image(p, 32, 33600, "-s 1");
        RC_ASSERT(ok);
        img = testing::load_file(p);
        fs::remove(p);
    }
    return img;
}

struct Harness {
    std::unique_ptr<MemoryDevice> dev;
    std::vector<uint8_t> cache;
    Volume vol;
    Model model;
    // Open files: nodes kept across operations, as a server keeps them, so their remembered
    // chain positions meet the frees and allocations of the calls between. Dropped when the
    // path is renamed or removed (a node does not follow its entry).
    std::map<std::string, Node> open;

    Error resolve(const std::string& path, Node* out) {
        Node n = vol.root();
        if (path == "/") {
            *out = n;
            return Error::kOk;
        }
        size_t i = 1;
        while (i <= path.size()) {
            size_t j = path.find('/', i);
            if (j == std::string::npos)
                j = path.size();
            const std::string part = path.substr(i, j - i);
            Node next;
            const Error e = vol.lookup(n, part.data(), part.size(), &next);
            if (e != Error::kOk)
                return e;
            n = next;
            i = j + 1;
        }
        *out = n;
        return Error::kOk;
    }
    bool is_dir(const std::string& p) { return p == "/" || (model.count(p) && model[p].dir); }
    std::vector<std::string> dirs() {
        std::vector<std::string> out = {"/"};
        for (auto& [p, e] : model) {
            if (e.dir)
                out.push_back(p);
        }
        return out;
    }
    std::vector<std::string> paths() {
        std::vector<std::string> out;
        for (auto& [p, e] : model)
            out.push_back(p);
        return out;
    }
    bool has_children(const std::string& dir) {
        for (auto& [p, e] : model) {
            if (parent_of(p) == dir)
                return true;
        }
        return false;
    }
};

void check_tree(Harness& h) {
    // Every model entry through the library, and nothing else in any directory.
    for (const std::string& dir : h.dirs()) {
        Node d;
        RC_ASSERT(h.resolve(dir, &d) == Error::kOk);
        std::map<std::string, bool> listed;
        uint32_t cursor = 0;
        Entry e;
        Error err;
        while ((err = h.vol.list(d, &cursor, &e)) == Error::kOk)
            listed[std::string(e.name, e.name_length)] = e.node.directory();
        RC_ASSERT(err == Error::kNotFound);
        std::map<std::string, bool> want;
        for (auto& [p, m] : h.model) {
            if (parent_of(p) == dir)
                want[base_of(p)] = m.dir;
        }
        RC_ASSERT(listed == want);
    }
    for (auto& [p, m] : h.model) {
        if (m.dir)
            continue;
        Node n;
        RC_ASSERT(h.resolve(p, &n) == Error::kOk);
        RC_ASSERT(n.size == m.data.size());
        std::vector<uint8_t> got(m.data.size() + 10);
        size_t done = 0;
        RC_ASSERT(h.vol.read(n, 0, got.data(), got.size(), &done) == Error::kOk);
        got.resize(done);
        RC_ASSERT(got == m.data);
    }
}

void check_with_host_tools(Harness& h, int bits) {
    RC_ASSERT(h.vol.flush() == Error::kOk);
    const fs::path dir =
        fs::temp_directory_path() /
        ("keel_fat_prop_" + std::to_string(::getpid()) + "_" + std::to_string(bits));
    fs::remove_all(dir);
    fs::create_directories(dir / "out");
    const fs::path image = dir / "vol.img";
    testing::save_file(image, h.dev->bytes());
    const std::string fsck = testing::fsck_path() + " -n " + q(image.string()) + " >/dev/null 2>&1";
    RC_ASSERT(run(fsck) == 0);
    // mtools extracts the whole tree; it must be the model's.
    const std::string extract = testing::mtools_env() + "mcopy -s -n -i " + q(image.string()) +
                                " '::/*' " + q((dir / "out").string()) + " >/dev/null 2>&1";
    if (!h.model.empty())
        RC_ASSERT(run(extract) == 0);
    Model host;
    for (auto it = fs::recursive_directory_iterator(dir / "out");
         it != fs::recursive_directory_iterator(); ++it) {
        const std::string rel = "/" + fs::relative(it->path(), dir / "out").string();
        ModelEntry e;
        e.dir = it->is_directory();
        if (!e.dir)
            e.data = testing::load_file(it->path());
        host[rel] = e;
    }
    RC_ASSERT(host.size() == h.model.size());
    for (auto& [p, m] : h.model) {
        RC_ASSERT(host.count(p) == 1u);
        RC_ASSERT(host[p].dir == m.dir);
        RC_ASSERT(host[p].data == m.data);
    }
    fs::remove_all(dir);
}

void one_sequence(int bits, bool host_check) {
    Harness h;
    h.dev = std::make_unique<MemoryDevice>(template_image(bits));
    const uint32_t slots = *rc::gen::element(4u, 16u, 64u);
    h.cache.assign(BlockCache::bytes_for(slots, 512), 0);
    RC_ASSERT(h.vol.mount(*h.dev, h.cache.data(), h.cache.size()) == Error::kOk);
    const int steps = *rc::gen::inRange(1, 25);
    for (int step = 0; step < steps; ++step) {
        const int op = *rc::gen::inRange(0, 8);
        const auto dirs = h.dirs();
        const auto paths = h.paths();
        if (op <= 1) {  // create a file or a directory
            const std::string parent = *rc::gen::elementOf(dirs);
            const std::string name = *rc::gen::elementOf(kNames);
            const std::string p = join(parent, name);
            Node d, n;
            RC_ASSERT(h.resolve(parent, &d) == Error::kOk);
            const Error e = h.vol.create(d, name.data(), name.size(), op == 1, kNow, &n);
            if (h.model.count(p)) {
                RC_ASSERT(e == Error::kExists);
            } else {
                RC_ASSERT(e == Error::kOk);
                h.model[p] = ModelEntry{op == 1, {}};
            }
            continue;
        }
        if (paths.empty())
            continue;
        const std::string p = *rc::gen::elementOf(paths);
        Node fresh;
        RC_ASSERT(h.resolve(p, &fresh) == Error::kOk);
        ModelEntry& m = h.model[p];
        // Files are written, truncated and read through their open node half the time.
        const bool use_open = !m.dir && *rc::gen::arbitrary<bool>();
        if (use_open && h.open.count(p) == 0)
            h.open[p] = fresh;
        Node& n = use_open ? h.open[p] : fresh;
        if (op == 2 || op == 3) {  // write, maybe past the end (a gap of zeros)
            const uint32_t offset = *rc::gen::inRange<uint32_t>(0, 12000);
            const uint32_t length = *rc::gen::inRange<uint32_t>(0, 9000);
            const uint8_t seed = *rc::gen::arbitrary<uint8_t>();
            std::vector<uint8_t> data(length);
            for (uint32_t i = 0; i < length; ++i)
                data[i] = static_cast<uint8_t>(seed + i * 13);
            const Error e = h.vol.write(n, offset, data.data(), data.size(), kNow);
            if (m.dir) {
                RC_ASSERT(e == Error::kIsDirectory);
            } else {
                RC_ASSERT(e == Error::kOk);
                if (length > 0) {
                    if (m.data.size() < offset + length)
                        m.data.resize(offset + length, 0);
                    std::copy(data.begin(), data.end(), m.data.begin() + offset);
                }
            }
        } else if (op == 4) {  // truncate
            const uint32_t size = *rc::gen::inRange<uint32_t>(0, 15000);
            const Error e = h.vol.truncate(n, size, kNow);
            if (m.dir) {
                RC_ASSERT(e == Error::kIsDirectory);
            } else {
                RC_ASSERT(e == Error::kOk);
                m.data.resize(size, 0);
            }
        } else if (op == 5) {  // rename, maybe into another directory
            const std::string to_dir = *rc::gen::elementOf(dirs);
            const std::string name = *rc::gen::elementOf(kNames);
            const std::string to = join(to_dir, name);
            Node from, dest;
            RC_ASSERT(h.resolve(parent_of(p), &from) == Error::kOk);
            RC_ASSERT(h.resolve(to_dir, &dest) == Error::kOk);
            const std::string old = base_of(p);
            const Error e =
                h.vol.rename(from, old.data(), old.size(), dest, name.data(), name.size());
            if (m.dir && below(to_dir, p)) {
                RC_ASSERT(e == Error::kInvalid);
            } else if (h.model.count(to) && to != p) {
                RC_ASSERT(e == Error::kExists);
            } else {
                RC_ASSERT(e == Error::kOk);
                Model next;
                for (auto& [k, v] : h.model)
                    next[below(k, p) ? to + k.substr(p.size()) : k] = v;
                h.model = next;
                for (auto it = h.open.begin(); it != h.open.end();)
                    it = below(it->first, p) || below(it->first, to) ? h.open.erase(it) : ++it;
            }
        } else if (op == 7) {  // read a part, at an offset
            const uint32_t offset = *rc::gen::inRange<uint32_t>(0, 16000);
            const uint32_t length = *rc::gen::inRange<uint32_t>(0, 12000);
            std::vector<uint8_t> got(length);
            size_t done = 0;
            const Error e = h.vol.read(n, offset, got.data(), got.size(), &done);
            if (m.dir) {
                RC_ASSERT(e == Error::kIsDirectory);
            } else {
                RC_ASSERT(e == Error::kOk);
                const size_t want =
                    offset >= m.data.size() ? 0 : std::min<size_t>(length, m.data.size() - offset);
                RC_ASSERT(done == want);
                if (done > 0)
                    RC_ASSERT(std::equal(got.begin(), got.begin() + static_cast<long>(done),
                                         m.data.begin() + static_cast<long>(offset)));
            }
        } else {  // remove (a directory only when empty)
            Node d;
            RC_ASSERT(h.resolve(parent_of(p), &d) == Error::kOk);
            const std::string name = base_of(p);
            const Error e = h.vol.remove(d, name.data(), name.size());
            if (m.dir && h.has_children(p)) {
                RC_ASSERT(e == Error::kNotEmpty);
            } else {
                RC_ASSERT(e == Error::kOk);
                h.model.erase(p);
                h.open.erase(p);
            }
        }
    }
    check_tree(h);
    RC_ASSERT(h.dev->outside == 0u);
    if (host_check)
        check_with_host_tools(h, bits);
    else
        RC_ASSERT(h.vol.flush() == Error::kOk);
    // Mounted afresh from the flushed bytes, the volume still holds the model's tree.
    Harness again;
    again.dev = std::make_unique<MemoryDevice>(std::move(h.dev->bytes()));
    again.cache.assign(BlockCache::bytes_for(8, 512), 0);
    RC_ASSERT(again.vol.mount(*again.dev, again.cache.data(), again.cache.size()) == Error::kOk);
    again.model = h.model;
    check_tree(again);
}

// FAT12 and FAT16 in most cases, the 33 MB FAT32 image in one in fourteen; the host tools
// (fsck.fat and mtools: process start-ups and an image file) on one case in six: under a
// minute at the suite's RC_PARAMS=max_success=1000 on an idle machine of two cores.
RC_GTEST_PROP(FatProperty, SequencesMatchTheModelAndTheHostTools, ()) {
    if (!testing::have_tools())
        return;
    const int bits = *rc::gen::weightedElement<int>({{7, 12}, {6, 16}, {1, 32}});
    const bool host = *rc::gen::weightedElement<bool>({{5, false}, {1, true}});
    one_sequence(bits, host);
}

}  // namespace
}  // namespace keel::fat
