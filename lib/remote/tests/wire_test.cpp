// lib/remote wire: each message by hand (its bytes on the wire), every refusal, hostile headers.
#include <gtest/gtest.h>
#include <keel/remote/wire.hpp>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace keel::remote {
namespace {

std::vector<uint8_t> frame(const Message& m) {
    std::vector<uint8_t> out(kMaxFrame);
    const size_t n = encode(m, out.data(), out.size());
    out.resize(n);
    return out;
}

Message hello() {
    Message m{};
    m.type = Type::kHello;
    m.version = kVersion;
    m.max_data = kMaxData;
    return m;
}

Message spawn() {
    Message m{};
    m.type = Type::kSpawn;
    m.job = 7;
    m.image_length = 4096;
    m.name = "cat";
    m.name_length = 3;
    m.args = "/etc/motd";
    m.args_length = 9;
    m.entries[0] = Entry{1, "console", 7};
    m.entries[1] = Entry{2, "cwd", 3};
    m.entry_count = 2;
    return m;
}

Message op(uint8_t operation, const char* bytes) {
    Message m{};
    m.type = Type::kOp;
    m.job = 7;
    m.object = 2;
    m.tag = 99;
    m.op = operation;
    m.arg = 0x1122334455667788ull;
    // Room for an answer only where one comes back, bytes only where they go in.
    if (op_flow(operation) == Flow::kOut)
        m.out_capacity = 512;
    if (op_flow(operation) == Flow::kIn) {
        m.data = reinterpret_cast<const uint8_t*>(bytes);
        m.data_length = static_cast<uint32_t>(std::strlen(bytes));
    }
    return m;
}

TEST(Wire, HelloOnTheWire) {
    const std::vector<uint8_t> f = frame(hello());
    const std::vector<uint8_t> expected = {0x52, 0x4a, 1, 0, 0, 0, 0, 0, 0, 0,    0, 0,
                                           8,    0,    0, 0, 1, 0, 0, 0, 0, 0x80, 0, 0};
    EXPECT_EQ(f, expected);
    Message m{};
    const DecodeResult r = decode(f.data(), f.size(), &m);
    ASSERT_EQ(r.status, Decoded::kMessage) << r.reason;
    EXPECT_EQ(r.consumed, f.size());
    EXPECT_EQ(m.version, 1u);
    EXPECT_EQ(m.max_data, kMaxData);
}

TEST(Wire, SpawnRoundTrips) {
    const std::vector<uint8_t> f = frame(spawn());
    ASSERT_EQ(f.size(), kHeaderSize + 12 + 3 + 9 + 5 + 7 + 5 + 3);
    Message m{};
    ASSERT_EQ(decode(f.data(), f.size(), &m).status, Decoded::kMessage);
    EXPECT_EQ(m.job, 7u);
    EXPECT_EQ(m.image_length, 4096u);
    EXPECT_EQ(std::string(m.name, m.name_length), "cat");
    EXPECT_EQ(std::string(m.args, m.args_length), "/etc/motd");
    ASSERT_EQ(m.entry_count, 2u);
    EXPECT_EQ(m.entries[1].object, 2u);
    EXPECT_EQ(std::string(m.entries[1].name, m.entries[1].name_length), "cwd");
}

TEST(Wire, OpAndDoneRoundTrip) {
    const std::vector<uint8_t> f = frame(op(5, "motd"));
    Message m{};
    ASSERT_EQ(decode(f.data(), f.size(), &m).status, Decoded::kMessage);
    EXPECT_EQ(m.op, 5);
    EXPECT_EQ(m.arg, 0x1122334455667788ull);
    EXPECT_EQ(m.out_capacity, 0u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data), m.data_length), "motd");

    Message d{};
    d.type = Type::kDone;
    d.job = 7;
    d.object = 2;
    d.tag = 99;
    d.value = 3;
    d.new_object = 12;
    d.data = reinterpret_cast<const uint8_t*>("abc");
    d.data_length = 3;
    const std::vector<uint8_t> g = frame(d);
    ASSERT_EQ(decode(g.data(), g.size(), &m).status, Decoded::kMessage);
    EXPECT_EQ(m.new_object, 12u);
    EXPECT_EQ(m.value, 3u);
    EXPECT_EQ(m.data_length, 3u);
}

TEST(Wire, EveryForwardedOperationHasItsFlow) {
    // docs/syscalls.md's operations: which an Op may carry, and which way their bytes go.
    const std::vector<std::pair<uint8_t, Flow>> allowed = {
        {0, Flow::kOut},   {1, Flow::kOut},   {2, Flow::kIn},  {3, Flow::kOut},
        {4, Flow::kIn},    {5, Flow::kIn},    {7, Flow::kIn},  {8, Flow::kNone},
        {10, Flow::kNone}, {12, Flow::kNone}, {13, Flow::kOut}};
    for (unsigned o = 0; o < 256; ++o) {
        const auto it = std::find_if(allowed.begin(), allowed.end(),
                                     [&](const auto& a) { return a.first == o; });
        EXPECT_EQ(op_allowed(static_cast<uint8_t>(o)), it != allowed.end()) << o;
        if (it == allowed.end())
            continue;
        EXPECT_EQ(op_flow(static_cast<uint8_t>(o)), it->second) << o;
        // And each round-trips with its bytes going its way.
        const std::vector<uint8_t> f = frame(op(static_cast<uint8_t>(o), "name"));
        Message m{};
        ASSERT_EQ(decode(f.data(), f.size(), &m).status, Decoded::kMessage) << o;
        EXPECT_EQ(m.op, o);
    }
}

TEST(Wire, EncoderRefusesWhatTheDecoderWould) {
    uint8_t out[kMaxFrame];
    Message m = spawn();
    m.job = 0;
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = spawn();
    m.image_length = kMaxImage + 1;
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = spawn();
    m.name = "a b";
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = spawn();
    m.entries[1] = Entry{1, "input", 5};  // object id twice
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = spawn();
    m.entries[1] = Entry{3, "console", 7};  // name twice
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = spawn();
    m.entries[1] = Entry{3, "a/b", 3};
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = spawn();
    m.args_length = kMaxArgs + 1;
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = op(6, "");  // create carries handles: never forwarded
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = op(11, "");  // map
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = op(0, "");
    m.object = 0;
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = op(0, "");
    m.out_capacity = kMaxData + 1;
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = op(13, "");  // read_at asks for room ...
    m.data = reinterpret_cast<const uint8_t*>("x");
    m.data_length = 1;  // ... and carries no bytes in
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = op(2, "abc");     // a write carries bytes in ...
    m.out_capacity = 16;  // ... and gets none back
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    m = op(8, "");  // seek: neither way
    m.out_capacity = 1;
    EXPECT_EQ(encode(m, out, sizeof out), 0u);
    Message d{};
    d.type = Type::kDone;
    d.job = 1;
    d.object = 1;
    d.status = 11;
    d.value = 5;  // a failure with a value
    EXPECT_EQ(encode(d, out, sizeof out), 0u);
    d.status = 0;
    d.value = 1ull << 63;
    EXPECT_EQ(encode(d, out, sizeof out), 0u);
    Message e{};
    e.type = Type::kExit;
    e.job = 1;
    e.exit_reason = 3;
    EXPECT_EQ(encode(e, out, sizeof out), 0u);
    // Too small a buffer.
    EXPECT_EQ(encode(hello(), out, kHeaderSize + 7), 0u);
    EXPECT_EQ(encode(hello(), out, kHeaderSize + 8), kHeaderSize + 8);
}

TEST(Wire, BadHeadersAreRefusedAsSoonAsSeen) {
    Message m{};
    const uint8_t not_ours[] = {'G', 'E', 'T', ' '};
    EXPECT_EQ(decode(not_ours, 1, &m).status, Decoded::kBad);
    std::vector<uint8_t> f = frame(hello());
    f[2] = 0;
    EXPECT_EQ(decode(f.data(), 3, &m).status, Decoded::kBad);
    f[2] = kTypeCount;
    EXPECT_EQ(decode(f.data(), 3, &m).status, Decoded::kBad);
    f = frame(hello());
    f[3] = 1;
    EXPECT_EQ(decode(f.data(), 4, &m).status, Decoded::kBad);
    // A huge length is refused from the header alone, not waited for.
    f = frame(hello());
    f[12] = 0xff;
    f[13] = 0xff;
    f[14] = 0xff;
    f[15] = 0x7f;
    const DecodeResult r = decode(f.data(), kHeaderSize, &m);
    EXPECT_EQ(r.status, Decoded::kBad);
    EXPECT_STREQ(r.reason, "payload over the limit");
    // A length that disagrees with the contents.
    f = frame(hello());
    f[12] = 9;
    f.push_back(0);
    EXPECT_EQ(decode(f.data(), f.size(), &m).status, Decoded::kBad);
    // A hello naming a job, a heartbeat naming an object.
    f = frame(hello());
    f[4] = 1;
    EXPECT_EQ(decode(f.data(), f.size(), &m).status, Decoded::kBad);
    Message h{};
    h.type = Type::kHeartbeat;
    h.job = 3;
    f = frame(h);
    ASSERT_EQ(f.size(), kHeaderSize);
    f[8] = 1;
    EXPECT_EQ(decode(f.data(), f.size(), &m).status, Decoded::kBad);
}

TEST(Wire, SpawnWithFieldsPastThePayloadIsRefused) {
    std::vector<uint8_t> f = frame(spawn());
    // The name's length made to run past the payload.
    std::vector<uint8_t> g = f;
    g[kHeaderSize + 4] = 200;
    Message m{};
    EXPECT_EQ(decode(g.data(), g.size(), &m).status, Decoded::kBad);
    // More entries than sent.
    g = f;
    g[kHeaderSize + 8] = 3;
    EXPECT_EQ(decode(g.data(), g.size(), &m).status, Decoded::kBad);
    g[kHeaderSize + 8] = 200;
    EXPECT_EQ(decode(g.data(), g.size(), &m).status, Decoded::kBad);
    // An entry name that runs past the payload.
    g = f;
    g[g.size() - 4] = 40;
    EXPECT_EQ(decode(g.data(), g.size(), &m).status, Decoded::kBad);
}

TEST(Wire, IncompleteIsNeedMoreAtEveryPrefix) {
    const std::vector<uint8_t> f = frame(spawn());
    Message m{};
    for (size_t n = 0; n < f.size(); ++n)
        EXPECT_EQ(decode(f.data(), n, &m).status, Decoded::kNeedMore) << n;
    EXPECT_EQ(decode(f.data(), f.size(), &m).status, Decoded::kMessage);
}

TEST(Wire, ReaderFramesAStreamAndStopsAtGarbage) {
    std::vector<uint8_t> stream = frame(hello());
    const std::vector<uint8_t> b = frame(op(0, ""));
    stream.insert(stream.end(), b.begin(), b.end());
    stream.push_back('x');
    Reader reader;
    std::memcpy(reader.space(), stream.data(), stream.size());
    reader.produced(stream.size());
    Message m{};
    ASSERT_EQ(reader.next(&m).status, Decoded::kMessage);
    EXPECT_EQ(m.type, Type::kHello);
    ASSERT_EQ(reader.next(&m).status, Decoded::kMessage);
    EXPECT_EQ(m.type, Type::kOp);
    EXPECT_EQ(reader.next(&m).status, Decoded::kBad);
}

TEST(Wire, ReaderAlwaysHasRoomForAWholeFrame) {
    Reader reader;
    Message d{};
    d.type = Type::kImage;
    d.job = 1;
    std::vector<uint8_t> data(kMaxData, 0xab);
    d.data = data.data();
    d.data_length = kMaxData;
    const std::vector<uint8_t> f = frame(d);
    ASSERT_EQ(f.size(), kHeaderSize + kMaxData);
    // Two maximal frames in a row, each received after the other was taken.
    for (int round = 0; round < 2; ++round) {
        uint8_t* room = reader.space();
        ASSERT_GE(reader.room(), f.size());
        std::memcpy(room, f.data(), f.size());
        reader.produced(f.size());
        Message m{};
        ASSERT_EQ(reader.next(&m).status, Decoded::kMessage);
        EXPECT_EQ(m.data_length, kMaxData);
        EXPECT_EQ(reader.next(&m).status, Decoded::kNeedMore);
    }
}

}  // namespace
}  // namespace keel::remote
