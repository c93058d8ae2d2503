// lib/remote wire properties (RapidCheck) against a model: a message is an owned value (its
// strings and bytes in std containers); random valid ones encode and decode back to equal
// values; a stream of them cut at random places, fed through a Reader, gives the same sequence,
// as does the stream cut at every single byte boundary; a frame with a byte changed either
// decodes to a message that encodes back to exactly those bytes, or is refused.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/remote/wire.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace keel::remote {
namespace {

// The model: what a message says, owned.
struct Model {
    Type type{};
    uint32_t job = 0, object = 0;
    uint32_t version = 0, max_data = 0, image_length = 0;
    std::string name, args;
    std::vector<std::pair<uint32_t, std::string>> entries;
    uint32_t tag = 0, out_capacity = 0, status = 0, new_object = 0;
    uint8_t op = 0;
    uint64_t arg = 0, value = 0;
    std::vector<uint8_t> data;
    int64_t started = 0;
    uint32_t exit_reason = 0, exit_vector = 0;
    int64_t exit_status = 0;
    uint64_t exit_address = 0, exit_cr2 = 0;
    bool operator==(const Model&) const = default;
};

// A view of the model for encode() (its pointers into the model).
Message view(const Model& x) {
    Message m{};
    m.type = x.type;
    m.job = x.job;
    m.object = x.object;
    m.version = x.version;
    m.max_data = x.max_data;
    m.image_length = x.image_length;
    m.name = x.name.data();
    m.name_length = static_cast<uint32_t>(x.name.size());
    m.args = x.args.data();
    m.args_length = static_cast<uint32_t>(x.args.size());
    m.entry_count = static_cast<uint32_t>(x.entries.size());
    for (size_t i = 0; i < x.entries.size(); ++i)
        m.entries[i] = Entry{x.entries[i].first, x.entries[i].second.data(),
                             static_cast<uint8_t>(x.entries[i].second.size())};
    m.tag = x.tag;
    m.op = x.op;
    m.arg = x.arg;
    m.out_capacity = x.out_capacity;
    m.status = x.status;
    m.value = x.value;
    m.new_object = x.new_object;
    m.data = x.data.data();
    m.data_length = static_cast<uint32_t>(x.data.size());
    m.started = x.started;
    m.exit_reason = x.exit_reason;
    m.exit_vector = x.exit_vector;
    m.exit_status = x.exit_status;
    m.exit_address = x.exit_address;
    m.exit_cr2 = x.exit_cr2;
    return m;
}

// What a decoded message says, in the model's terms (only the fields its type carries).
Model model_of(const Message& m) {
    Model x;
    x.type = m.type;
    x.job = m.job;
    x.object = m.object;
    switch (m.type) {
        case Type::kHello:
            x.version = m.version;
            x.max_data = m.max_data;
            break;
        case Type::kSpawn:
            x.image_length = m.image_length;
            x.name.assign(m.name, m.name_length);
            x.args.assign(m.args, m.args_length);
            for (uint32_t i = 0; i < m.entry_count; ++i)
                x.entries.emplace_back(m.entries[i].object,
                                       std::string(m.entries[i].name, m.entries[i].name_length));
            break;
        case Type::kImage:
            x.data.assign(m.data, m.data + m.data_length);
            break;
        case Type::kStarted:
            x.started = m.started;
            break;
        case Type::kOp:
            x.tag = m.tag;
            x.op = m.op;
            x.arg = m.arg;
            x.out_capacity = m.out_capacity;
            x.data.assign(m.data, m.data + m.data_length);
            break;
        case Type::kDone:
            x.tag = m.tag;
            x.status = m.status;
            x.value = m.value;
            x.new_object = m.new_object;
            x.data.assign(m.data, m.data + m.data_length);
            break;
        case Type::kExit:
            x.exit_reason = m.exit_reason;
            x.exit_vector = m.exit_vector;
            x.exit_status = m.exit_status;
            x.exit_address = m.exit_address;
            x.exit_cr2 = m.exit_cr2;
            break;
        case Type::kHeartbeat:
            break;
        case Type::kCancel:
            x.tag = m.tag;
            break;
    }
    return x;
}

rc::Gen<std::string> gen_name(bool slash_ok) {
    return rc::gen::container<std::string>(
        *rc::gen::inRange<size_t>(1, kMaxName + 1),
        rc::gen::suchThat(rc::gen::inRange<char>(0x21, 0x7f),
                          [slash_ok](char c) { return slash_ok || c != '/'; }));
}

std::vector<uint8_t> gen_data(uint32_t min, uint32_t max) {
    // Mostly short, sometimes up to the limit.
    const uint32_t n = *rc::gen::weightedOneOf<uint32_t>(
        {{8, rc::gen::inRange<uint32_t>(min, std::min<uint32_t>(max, 64) + 1)},
         {1, rc::gen::inRange<uint32_t>(min, max + 1)}});
    return *rc::gen::container<std::vector<uint8_t>>(n, rc::gen::arbitrary<uint8_t>());
}

Model gen_model() {
    Model x;
    x.type = static_cast<Type>(*rc::gen::inRange<int>(1, kTypeCount));
    if (x.type != Type::kHello)
        x.job = *rc::gen::inRange<uint32_t>(1, 0xffffffffu);
    if (x.type == Type::kOp || x.type == Type::kDone)
        x.object = *rc::gen::inRange<uint32_t>(1, 0xffffffffu);
    switch (x.type) {
        case Type::kHello:
            x.version = *rc::gen::inRange<uint32_t>(1, 0xffffffffu);
            x.max_data = *rc::gen::inRange<uint32_t>(512, kMaxData + 1);
            break;
        case Type::kSpawn: {
            x.image_length = *rc::gen::inRange<uint32_t>(1, kMaxImage + 1);
            x.name = *gen_name(true);
            x.args = *rc::gen::container<std::string>(*rc::gen::inRange<size_t>(0, kMaxArgs + 1),
                                                      rc::gen::arbitrary<char>());
            const size_t count = *rc::gen::inRange<size_t>(0, kMaxEntries + 1);
            for (size_t i = 0; i < count; ++i) {
                const std::string name = *gen_name(false);
                const uint32_t object = *rc::gen::inRange<uint32_t>(1, 0xffffffffu);
                const bool clash = std::any_of(
                    x.entries.begin(), x.entries.end(),
                    [&](const auto& e) { return e.first == object || e.second == name; });
                if (!clash)
                    x.entries.emplace_back(object, name);
            }
            break;
        }
        case Type::kImage:
            x.data = gen_data(1, kMaxData);
            break;
        case Type::kStarted:
            x.started = *rc::gen::oneOf(rc::gen::inRange<int64_t>(1, INT64_MAX),
                                        rc::gen::inRange<int64_t>(-255, 0));
            break;
        case Type::kOp:
            x.tag = *rc::gen::arbitrary<uint32_t>();
            x.op = *rc::gen::suchThat(rc::gen::inRange<uint8_t>(0, 14), op_allowed);
            x.arg = *rc::gen::arbitrary<uint64_t>();
            // Bytes go only the operation's way (op_flow).
            if (op_flow(x.op) == Flow::kOut)
                x.out_capacity = *rc::gen::inRange<uint32_t>(0, kMaxData + 1);
            if (op_flow(x.op) == Flow::kIn)
                x.data = gen_data(0, kMaxData);
            break;
        case Type::kDone:
            x.tag = *rc::gen::arbitrary<uint32_t>();
            if (*rc::gen::arbitrary<bool>()) {
                x.status = *rc::gen::inRange<uint32_t>(1, 256);
            } else {
                x.value = *rc::gen::inRange<uint64_t>(0, 1ull << 63);
                x.new_object = *rc::gen::arbitrary<uint32_t>();
                x.data = gen_data(0, kMaxData);
            }
            break;
        case Type::kExit:
            x.exit_reason = *rc::gen::inRange<uint32_t>(1, 3);
            x.exit_vector = *rc::gen::inRange<uint32_t>(0, 256);
            x.exit_status = *rc::gen::arbitrary<int64_t>();
            x.exit_address = *rc::gen::arbitrary<uint64_t>();
            x.exit_cr2 = *rc::gen::arbitrary<uint64_t>();
            break;
        case Type::kHeartbeat:
            break;
        case Type::kCancel:
            x.tag = *rc::gen::arbitrary<uint32_t>();
            break;
    }
    return x;
}

std::vector<uint8_t> encode_all(const std::vector<Model>& models) {
    std::vector<uint8_t> stream;
    std::vector<uint8_t> f(kMaxFrame);
    for (const Model& x : models) {
        const size_t n = encode(view(x), f.data(), f.size());
        RC_ASSERT(n >= kHeaderSize);
        stream.insert(stream.end(), f.begin(), f.begin() + static_cast<ptrdiff_t>(n));
    }
    return stream;
}

// Feeds the stream to a Reader in pieces ending at `cuts` (sorted), decoding after each.
std::vector<Model> read_all(const std::vector<uint8_t>& stream, const std::vector<size_t>& cuts) {
    Reader reader;
    std::vector<Model> out;
    size_t at = 0;
    auto drain = [&] {
        Message m{};
        for (;;) {
            const DecodeResult r = reader.next(&m);
            RC_ASSERT(r.status != Decoded::kBad);
            if (r.status == Decoded::kNeedMore)
                return;
            out.push_back(model_of(m));
        }
    };
    std::vector<size_t> ends = cuts;
    ends.push_back(stream.size());
    for (size_t end : ends) {
        while (at < end) {
            uint8_t* room = reader.space();
            const size_t n = std::min(end - at, reader.room());
            RC_ASSERT(n > 0);
            std::memcpy(room, stream.data() + at, n);
            reader.produced(n);
            at += n;
            drain();
        }
    }
    RC_ASSERT(reader.buffered() == 0u);
    return out;
}

RC_GTEST_PROP(Wire, EncodeThenDecodeIsTheModel, ()) {
    const Model x = gen_model();
    std::vector<uint8_t> f(kMaxFrame);
    const size_t n = encode(view(x), f.data(), f.size());
    RC_ASSERT(n >= kHeaderSize);
    Message m{};
    const DecodeResult r = decode(f.data(), n, &m);
    RC_ASSERT(r.status == Decoded::kMessage);
    RC_ASSERT(r.consumed == n);
    RC_ASSERT(model_of(m) == x);
    // Every proper prefix is incomplete, never a message or an error.
    const size_t prefix = *rc::gen::inRange<size_t>(0, n);
    RC_ASSERT(decode(f.data(), prefix, &m).status == Decoded::kNeedMore);
}

RC_GTEST_PROP(Wire, AStreamCutAnywhereDecodesTheSame, ()) {
    const auto models = *rc::gen::container<std::vector<Model>>(*rc::gen::inRange<size_t>(1, 12),
                                                                rc::gen::exec(gen_model));
    const std::vector<uint8_t> stream = encode_all(models);
    auto cuts = *rc::gen::container<std::vector<size_t>>(
        *rc::gen::inRange<size_t>(0, 16), rc::gen::inRange<size_t>(0, stream.size() + 1));
    std::sort(cuts.begin(), cuts.end());
    RC_ASSERT(read_all(stream, cuts) == models);
}

RC_GTEST_PROP(Wire, AStreamCutAtEveryByteDecodesTheSame, ()) {
    // Short messages (no large data), so that a cut at every boundary stays cheap.
    auto models = *rc::gen::container<std::vector<Model>>(
        *rc::gen::inRange<size_t>(1, 5),
        rc::gen::suchThat(rc::gen::exec(gen_model), [](const Model& x) {
            return x.data.size() <= 64 && x.args.size() <= 64;
        }));
    const std::vector<uint8_t> stream = encode_all(models);
    std::vector<size_t> every(stream.size());
    for (size_t i = 0; i < stream.size(); ++i)
        every[i] = i;
    RC_ASSERT(read_all(stream, every) == models);
    // And the stream split in two at each place.
    for (size_t cut = 0; cut <= stream.size(); ++cut)
        RC_ASSERT(read_all(stream, {cut}) == models);
}

RC_GTEST_PROP(Wire, AChangedByteDecodesCanonicallyOrIsRefused, ()) {
    const Model x = *rc::gen::suchThat(rc::gen::exec(gen_model),
                                       [](const Model& m) { return m.data.size() <= 256; });
    std::vector<uint8_t> f(kMaxFrame);
    const size_t n = encode(view(x), f.data(), f.size());
    f.resize(n);
    const size_t at = *rc::gen::inRange<size_t>(0, n);
    f[at] = *rc::gen::arbitrary<uint8_t>();
    Message m{};
    const DecodeResult r = decode(f.data(), f.size(), &m);
    if (r.status == Decoded::kMessage) {
        std::vector<uint8_t> again(kMaxFrame);
        const size_t k = encode(m, again.data(), again.size());
        RC_ASSERT(k == r.consumed);
        RC_ASSERT(std::equal(f.begin(), f.begin() + static_cast<ptrdiff_t>(k), again.begin()));
    } else if (r.status == Decoded::kBad) {
        RC_ASSERT(r.reason != nullptr);
    }
}

}  // namespace
}  // namespace keel::remote
