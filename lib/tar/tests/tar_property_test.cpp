// lib/tar properties (RapidCheck) against a model: a list of entries (path, type, data or
// target, mode, mtime) written into a ustar image by the test-only writer (tar_writer.hpp),
// then parsed: the reader must give back exactly the model, in order, and find() must find
// each path. Then hostile archives: random byte changes and truncations of valid images must
// never crash or read outside the image (ASan: the image is an exact-size vector), and what
// is still accepted must obey the reader's contract.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/tar/tar.hpp>

#include <set>
#include <string>
#include <vector>

#include "tar_writer.hpp"

namespace keel::tar {
namespace {

using testing::WriteEntry;

rc::Gen<std::string> component() {
    // Never "." or ".." (those are path syntax, not names): a letter first.
    return rc::gen::apply(
        [](char first, const std::string& rest) { return std::string(1, first) + rest; },
        rc::gen::elementOf(std::string("abcdefghijklmnopqrstuvwxyz")),
        rc::gen::container<std::string>(
            *rc::gen::inRange<size_t>(0, 40),
            rc::gen::elementOf(std::string("abcdefghijklmnopqrstuvwxyz0123456789._-"))));
}

std::string path_of(const std::vector<std::string>& parts) {
    std::string p;
    for (const std::string& c : parts)
        p += (p.empty() ? "" : "/") + c;
    return p;
}

// A model archive: distinct paths the ustar format can hold, each a file, a directory or a
// symlink.
std::vector<WriteEntry> model() {
    const size_t count = *rc::gen::inRange<size_t>(0, 24);
    std::vector<WriteEntry> entries;
    std::set<std::string> seen;
    for (size_t i = 0; i < count; ++i) {
        const auto parts = *rc::gen::container<std::vector<std::string>>(
            *rc::gen::inRange<size_t>(1, 8), component());
        WriteEntry e;
        e.path = path_of(parts);
        e.typeflag = *rc::gen::elementOf(std::string("00005552"));
        std::string prefix, name;
        const std::string stored = e.typeflag == '5' ? e.path + "/" : e.path;
        if (!testing::split_path(stored, &prefix, &name) || !seen.insert(e.path).second)
            continue;
        if (e.typeflag == '0') {
            const size_t n = *rc::gen::elementOf(std::vector<size_t>{0, 1, 511, 512, 513, 2000});
            e.data = *rc::gen::container<std::string>(n, rc::gen::arbitrary<char>());
        } else if (e.typeflag == '2') {
            e.link = *rc::gen::container<std::string>(*rc::gen::inRange<size_t>(1, 101),
                                                      rc::gen::inRange<char>(0x20, 0x7f));
        }
        e.mode = *rc::gen::inRange<uint32_t>(0, 07777);
        e.mtime = *rc::gen::inRange<uint64_t>(0, 077777777777);
        entries.push_back(e);
    }
    return entries;
}

std::string data_of(const Entry& e) {
    return e.size == 0 ? "" : std::string(reinterpret_cast<const char*>(e.data), e.size);
}

RC_GTEST_PROP(TarModel, ReaderGivesBackTheModel, ()) {
    const std::vector<WriteEntry> entries = model();
    const bool exact = *rc::gen::arbitrary<bool>();
    const std::vector<uint8_t> a = testing::write_archive(entries, false, exact);
    Reader r(a.data(), a.size());
    Entry e;
    for (const WriteEntry& w : entries) {
        RC_ASSERT(r.next(&e) == Step::kEntry);
        RC_ASSERT(std::string(e.path) == w.path);
        RC_ASSERT(e.path_length == w.path.size());
        RC_ASSERT(e.typeflag == w.typeflag);
        RC_ASSERT(e.type == (w.typeflag == '0'   ? Type::kFile
                             : w.typeflag == '5' ? Type::kDirectory
                                                 : Type::kSymlink));
        RC_ASSERT(data_of(e) == w.data);
        RC_ASSERT(std::string(e.link) == w.link);
        RC_ASSERT(e.mode == w.mode);
        RC_ASSERT(e.mtime == w.mtime);
    }
    RC_ASSERT(r.next(&e) == Step::kEnd);
    uint32_t count = 0;
    RC_ASSERT(validate(a.data(), a.size(), &count) == nullptr);
    RC_ASSERT(count == entries.size());
    for (const WriteEntry& w : entries) {
        bool found = false;
        RC_ASSERT(find(a.data(), a.size(), w.path.data(), w.path.size(), &e, &found) == nullptr);
        RC_ASSERT(found);
        RC_ASSERT(data_of(e) == w.data);
    }
}

RC_GTEST_PROP(TarModel, DotComponentsAreNormalisedAway, ()) {
    std::vector<WriteEntry> entries = model();
    RC_PRE(!entries.empty());
    const size_t i = *rc::gen::inRange<size_t>(0, entries.size());
    WriteEntry dotted = entries[i];
    dotted.path = "./" + dotted.path;
    std::string prefix, name;
    RC_PRE(testing::split_path(dotted.path + (dotted.typeflag == '5' ? "/" : ""), &prefix, &name));
    std::vector<WriteEntry> written = entries;
    written[i] = dotted;
    const std::vector<uint8_t> a = testing::write_archive(written);
    Entry e;
    bool found = false;
    RC_ASSERT(find(a.data(), a.size(), entries[i].path.data(), entries[i].path.size(), &e,
                   &found) == nullptr);
    RC_ASSERT(found);
    RC_ASSERT(std::string(e.path) == entries[i].path);
}

// What every accepted entry of any archive must satisfy: data inside the image, a normalised
// path (relative, no "..", no empty component), sizes consistent with the type.
void check_accepted(const std::vector<uint8_t>& a, const Entry& e) {
    if (e.size != 0) {
        RC_ASSERT(e.data >= a.data() + kBlockSize);
        RC_ASSERT(e.size <= static_cast<uint64_t>(a.data() + a.size() - e.data));
    }
    const std::string p(e.path);
    RC_ASSERT(p.size() == e.path_length);
    RC_ASSERT(p.size() <= kMaxPath);
    RC_ASSERT(p.empty() || p[0] != '/');
    RC_ASSERT(p.find("//") == std::string::npos);
    RC_ASSERT(("/" + p + "/").find("/../") == std::string::npos);
    RC_ASSERT(("/" + p + "/").find("/./") == std::string::npos);
    RC_ASSERT(p.empty() == false || e.type == Type::kDirectory);
    if (e.type == Type::kDirectory || e.type == Type::kSymlink)
        RC_ASSERT(e.size == 0u);
    if (e.type == Type::kSymlink)
        RC_ASSERT(e.link_length > 0u);
}

RC_GTEST_PROP(TarHostile, MutatedImagesNeverOverrunAndKeepTheContract, ()) {
    std::vector<uint8_t> a = testing::write_archive(model(), false, *rc::gen::arbitrary<bool>());
    const size_t changes = *rc::gen::inRange<size_t>(1, 8);
    for (size_t k = 0; k < changes; ++k) {
        const size_t at = *rc::gen::inRange<size_t>(0, a.size());
        a[at] = *rc::gen::arbitrary<uint8_t>();
        if (*rc::gen::inRange(0, 4) == 0 && at < 512 * (a.size() / 512))
            testing::set_checksum(a.data() + at / 512 * 512);  // let it reach the fields
    }
    if (*rc::gen::arbitrary<bool>())
        a.resize(*rc::gen::inRange<size_t>(0, a.size() + 1));
    Reader r(a.data(), a.size());
    Entry e;
    uint32_t n = 0;
    Step s;
    while ((s = r.next(&e)) == Step::kEntry) {
        check_accepted(a, e);
        ++n;
        RC_ASSERT(n <= a.size() / kBlockSize);
    }
    if (s == Step::kError)
        RC_ASSERT(r.error() != nullptr && r.error()[0] != '\0');
    uint32_t count = 0;
    const char* why = validate(a.data(), a.size(), &count);
    RC_ASSERT((why == nullptr) == (s == Step::kEnd));
    if (why == nullptr)
        RC_ASSERT(count == n);
}

}  // namespace
}  // namespace keel::tar
