// lib/partition properties (RapidCheck) against a model: random partition layouts (MBR and
// GPT, 512- and 4096-byte sectors, varied entry counts and sizes, random slots) written by the
// test-only writer (partition_writer.hpp) with correct CRCs parse back to exactly the model.
// Then hostile tables: random byte changes (with and without CRCs fixed up afterwards) and
// truncations never crash or read outside the input (ASan: exact-size vectors), and whatever
// is still accepted keeps the contract (inside the disk, no overlaps, counts). confine() is
// checked against 128-bit arithmetic.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/partition/partition.hpp>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "partition_writer.hpp"

namespace keel::partition {
namespace {

using testing::GptLayout;
using testing::GptPart;
using testing::MbrPart;

// n disjoint, ordered extents [first, last] inside [lo, hi], gaps random.
std::vector<std::pair<uint64_t, uint64_t>> extents(size_t n, uint64_t lo, uint64_t hi) {
    std::vector<uint64_t> cuts;
    for (size_t i = 0; i < 2 * n; ++i)
        cuts.push_back(*rc::gen::inRange<uint64_t>(lo, hi + 1));
    std::sort(cuts.begin(), cuts.end());
    std::vector<std::pair<uint64_t, uint64_t>> out;
    uint64_t floor = lo;
    for (size_t i = 0; i < n; ++i) {
        uint64_t a = std::max(cuts[2 * i], floor), b = std::max(cuts[2 * i + 1], a);
        if (a > hi)
            break;
        b = std::min(b, hi);
        out.emplace_back(a, b);
        floor = b + 1;
    }
    return out;
}

struct GptModel {
    GptLayout layout;
    std::vector<GptPart> parts;  // in slot order
    uint8_t disk_guid[16];
};

GptModel gpt_model() {
    GptModel m;
    m.layout.ss = *rc::gen::element(512u, 4096u);
    m.layout.entry_count = *rc::gen::element(1u, 4u, 56u, 128u, 200u);
    m.layout.entry_size = *rc::gen::element(128u, 256u, 512u);
    const uint64_t array = testing::gpt_entry_sectors(m.layout);
    m.layout.sectors = *rc::gen::inRange<uint64_t>(2 * array + 4, 1ull << 40);
    for (auto& b : m.disk_guid)
        b = *rc::gen::arbitrary<uint8_t>();
    const size_t n = *rc::gen::inRange<size_t>(0, std::min<size_t>(m.layout.entry_count, 12) + 1);
    const auto ext =
        extents(n, testing::gpt_first_usable(m.layout), testing::gpt_last_usable(m.layout));
    std::set<uint32_t> slots;
    while (slots.size() < ext.size())
        slots.insert(*rc::gen::inRange<uint32_t>(0, m.layout.entry_count));
    auto slot = slots.begin();
    for (const auto& [first, last] : ext) {
        GptPart p{};
        p.slot = *slot++;
        for (auto& b : p.type_guid)
            b = *rc::gen::arbitrary<uint8_t>();
        p.type_guid[0] |= 1;  // never the all-zero "unused" GUID
        for (auto& b : p.unique_guid)
            b = *rc::gen::arbitrary<uint8_t>();
        p.first = first;
        p.last = last;
        p.attributes = *rc::gen::arbitrary<uint64_t>();
        p.name = *rc::gen::container<std::u16string>(*rc::gen::inRange<size_t>(0, 37),
                                                     rc::gen::inRange<char16_t>(1, 0x200));
        m.parts.push_back(p);
    }
    // Slots are handed out in order, so extents are in slot order; shuffle extents across
    // slots sometimes so table order is not disk order.
    if (*rc::gen::arbitrary<bool>() && m.parts.size() > 1)
        std::swap(m.parts.front().first, m.parts.back().first),
            std::swap(m.parts.front().last, m.parts.back().last);
    return m;
}

std::string ascii(const std::u16string& name) {
    std::string s;
    for (size_t i = 0; i < name.size() && i < 36; ++i)
        s += name[i] >= 0x20 && name[i] < 0x7F ? static_cast<char>(name[i]) : '?';
    return s;
}

// The contract of an accepted table, whatever the input.
void check_accepted(const Partition* p, const Table& t, uint32_t cap, uint64_t sectors) {
    RC_ASSERT(t.stored == std::min(t.count, cap));
    for (uint32_t i = 0; i < t.stored; ++i) {
        RC_ASSERT(p[i].sector_count >= 1);
        RC_ASSERT(p[i].first_lba >= 1);
        RC_ASSERT(p[i].first_lba < sectors);
        RC_ASSERT(p[i].sector_count <= sectors - p[i].first_lba);
        RC_ASSERT(std::strlen(p[i].name) <= kNameLength);
        if (i > 0)
            RC_ASSERT(p[i].index > p[i - 1].index);
        for (uint32_t j = 0; j < i; ++j)
            RC_ASSERT(p[i].first_lba + p[i].sector_count <= p[j].first_lba ||
                      p[j].first_lba + p[j].sector_count <= p[i].first_lba);
        uint64_t abs = 0;
        RC_ASSERT(confine(p[i], 0, p[i].sector_count, &abs) == nullptr);
        RC_ASSERT(abs == p[i].first_lba);
        RC_ASSERT(confine(p[i], p[i].sector_count, 1, &abs) != nullptr);
    }
}

RC_GTEST_PROP(PartitionModel, GptParsesBackToTheModel, ()) {
    const GptModel m = gpt_model();
    const std::vector<uint8_t> d = testing::write_gpt(m.parts, m.layout, m.disk_guid);
    std::vector<Partition> p(16);
    Table t;
    const char* why = parse(d.data(), d.size(), m.layout.ss, m.layout.sectors, p.data(), 16, &t);
    RC_ASSERT(why == nullptr);
    RC_ASSERT(t.scheme == Scheme::kGpt);
    RC_ASSERT(t.count == m.parts.size());
    RC_ASSERT(std::memcmp(t.disk_guid.bytes, m.disk_guid, 16) == 0);
    RC_ASSERT(t.first_usable_lba == testing::gpt_first_usable(m.layout));
    RC_ASSERT(t.last_usable_lba == testing::gpt_last_usable(m.layout));
    for (size_t i = 0; i < m.parts.size(); ++i) {
        const GptPart& w = m.parts[i];
        RC_ASSERT(p[i].index == w.slot + 1);
        RC_ASSERT(p[i].first_lba == w.first);
        RC_ASSERT(p[i].sector_count == w.last - w.first + 1);
        RC_ASSERT(std::memcmp(p[i].type_guid.bytes, w.type_guid, 16) == 0);
        RC_ASSERT(std::memcmp(p[i].unique_guid.bytes, w.unique_guid, 16) == 0);
        RC_ASSERT(p[i].attributes == w.attributes);
        RC_ASSERT(std::string(p[i].name) == ascii(w.name));
        RC_ASSERT(p[i].mbr_type == 0);
    }
    check_accepted(p.data(), t, 16, m.layout.sectors);
}

RC_GTEST_PROP(PartitionModel, MbrParsesBackToTheModel, ()) {
    const uint32_t ss = *rc::gen::element(512u, 4096u);
    const uint64_t sectors = *rc::gen::inRange<uint64_t>(2, 1ull << 33);
    const uint64_t top = std::min<uint64_t>(sectors - 1, 0xFFFFFFFFu);
    const size_t n = *rc::gen::inRange<size_t>(0, 5);
    const auto ext = extents(n, 1, top);
    std::vector<MbrPart> parts;
    std::set<uint32_t> used;
    for (const auto& [first, last] : ext) {
        uint32_t s;
        do
            s = *rc::gen::inRange<uint32_t>(0, 4);
        while (!used.insert(s).second);
        const uint8_t type = *rc::gen::suchThat(rc::gen::arbitrary<uint8_t>(),
                                                [](uint8_t t) { return t != 0 && t != 0xEE; });
        parts.push_back({s, type, *rc::gen::arbitrary<bool>(), static_cast<uint32_t>(first),
                         static_cast<uint32_t>(last - first + 1)});
    }
    std::vector<uint8_t> d = testing::write_mbr(parts, ss);
    std::sort(parts.begin(), parts.end(),
              [](const MbrPart& a, const MbrPart& b) { return a.slot < b.slot; });
    Partition p[4];
    Table t;
    RC_ASSERT(parse(d.data(), d.size(), ss, sectors, p, 4, &t) == nullptr);
    RC_ASSERT(t.scheme == Scheme::kMbr);
    RC_ASSERT(t.count == parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
        RC_ASSERT(p[i].index == parts[i].slot + 1);
        RC_ASSERT(p[i].first_lba == parts[i].start);
        RC_ASSERT(p[i].sector_count == parts[i].count);
        RC_ASSERT(p[i].mbr_type == parts[i].type);
        RC_ASSERT(p[i].attributes == (parts[i].boot ? 0x80u : 0u));
    }
    check_accepted(p, t, 4, sectors);
}

RC_GTEST_PROP(PartitionModel, ByteChangesNeverCrash, ()) {
    std::vector<uint8_t> d;
    uint32_t ss = 512;
    uint64_t sectors = 0;
    if (*rc::gen::arbitrary<bool>()) {
        const GptModel m = gpt_model();
        d = testing::write_gpt(m.parts, m.layout, m.disk_guid);
        ss = m.layout.ss;
        sectors = m.layout.sectors;
    } else {
        sectors = *rc::gen::inRange<uint64_t>(2, 1ull << 20);
        const auto ext = extents(*rc::gen::inRange<size_t>(0, 5), 1, sectors - 1);
        std::vector<MbrPart> parts;
        for (size_t i = 0; i < ext.size(); ++i)
            parts.push_back({static_cast<uint32_t>(i), 0x83, false,
                             static_cast<uint32_t>(ext[i].first),
                             static_cast<uint32_t>(ext[i].second - ext[i].first + 1)});
        d = testing::write_mbr(parts, ss);
    }
    const size_t flips = *rc::gen::inRange<size_t>(1, 8);
    for (size_t i = 0; i < flips; ++i) {
        // Mostly in the structures (MBR entries, header, first entries), sometimes anywhere.
        const size_t at =
            *rc::gen::arbitrary<bool>()
                ? *rc::gen::inRange<size_t>(0, d.size())
                : *rc::gen::element<size_t>(
                      446 + *rc::gen::inRange<size_t>(0, 66),
                      std::min(d.size() - 1, ss + *rc::gen::inRange<size_t>(0, 92)),
                      std::min(d.size() - 1, 2 * size_t{ss} + *rc::gen::inRange<size_t>(0, 512)));
        d[at] = *rc::gen::arbitrary<uint8_t>();
    }
    if (d.size() > ss && *rc::gen::arbitrary<bool>() &&
        std::memcmp(d.data() + ss, "EFI PART", 8) == 0) {
        uint32_t hs = 0, count = 0, size = 0;
        std::memcpy(&hs, d.data() + ss + 12, 4);
        std::memcpy(&count, d.data() + ss + 80, 4);
        std::memcpy(&size, d.data() + ss + 84, 4);
        uint64_t lba = 0;
        std::memcpy(&lba, d.data() + ss + 72, 8);
        const bool entries_fit =
            lba < d.size() / ss && uint64_t{count} * size <= d.size() - lba * ss;
        if (hs >= 92 && hs <= ss)
            testing::gpt_fix_crcs(d, ss, entries_fit);
    }
    if (*rc::gen::arbitrary<bool>())
        d.resize(*rc::gen::inRange<size_t>(0, d.size() + 1));
    const uint32_t cap = *rc::gen::inRange<uint32_t>(0, 9);
    std::vector<Partition> p(cap + 1);
    Table t;
    const char* why = parse(d.data(), d.size(), ss, sectors, p.data(), cap, &t);
    if (why != nullptr)
        RC_ASSERT(why[0] != '\0');
    else
        check_accepted(p.data(), t, cap, sectors);
}

RC_GTEST_PROP(PartitionModel, ConfineMatchesWideArithmetic, ()) {
    Partition p{};
    p.first_lba =
        *rc::gen::oneOf(rc::gen::arbitrary<uint64_t>(), rc::gen::inRange<uint64_t>(0, 100));
    p.sector_count =
        *rc::gen::oneOf(rc::gen::arbitrary<uint64_t>(), rc::gen::inRange<uint64_t>(0, 100));
    const uint64_t lba =
        *rc::gen::oneOf(rc::gen::arbitrary<uint64_t>(), rc::gen::inRange<uint64_t>(0, 110));
    const uint64_t count =
        *rc::gen::oneOf(rc::gen::arbitrary<uint64_t>(), rc::gen::inRange<uint64_t>(0, 110));
    using u128 = unsigned __int128;
    const bool inside =
        u128{lba} + count <= p.sector_count && u128{p.first_lba} + lba <= UINT64_MAX;
    uint64_t abs = 0;
    const char* why = confine(p, lba, count, &abs);
    RC_ASSERT((why == nullptr) == inside);
    if (inside)
        RC_ASSERT(abs == p.first_lba + lba);
}

}  // namespace
}  // namespace keel::partition
