// SpscProducer / SpscConsumer (spsc_ring.hpp), single-threaded: attach and each of its errors,
// push / stage / publish / pop, full and empty rings at capacity 1, 2, 16 and 2^16 with 16- and
// 64-byte entries, the counters crossing 2^32 (and 2^31) while in use, and a hostile peer
// writing impossible counters (IPC-R-001..005). The two-thread test is spsc_stress_test.cpp.
//
// Neither end exposes its private counters, so "a failed call changed nothing" is checked on
// the object representation: both classes are trivially copyable, and after a failed call every
// byte of both ends, both shared counters and every entry byte must be as before. (Padding
// bytes cannot spoil this: the snapshots compare one object with itself.)
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <ipc/spsc_ring.hpp>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using test::AlignedBytes;

// Every word of an entry is derived from its sequence number, so a torn, stale or misplaced
// entry shows.
struct Entry16 {
    std::uint64_t seq;
    std::uint64_t check;
};
struct alignas(64) Entry64 {
    std::uint64_t seq;
    std::uint64_t words[7];
};
static_assert(RingEntry<Entry16> && sizeof(Entry16) == 16 && alignof(Entry16) == 8);
static_assert(RingEntry<Entry64> && sizeof(Entry64) == 64 && alignof(Entry64) == 64);
static_assert(!RingEntry<std::uint32_t>);                 // not whole 8-byte words
static_assert(!RingEntry<std::array<std::uint32_t, 2>>);  // 8 bytes, but 4-byte aligned
static_assert(std::is_trivially_copyable_v<SpscProducer<Entry16>> &&
              std::is_trivially_copyable_v<SpscConsumer<Entry16>> &&
              std::is_trivially_copyable_v<SpscProducer<Entry64>> &&
              std::is_trivially_copyable_v<SpscConsumer<Entry64>>);

template <class T>
using Words = std::array<std::uint64_t, sizeof(T) / 8>;

template <class T>
T make_entry(std::uint64_t seq) {
    Words<T> w{};
    w[0] = seq;
    for (std::size_t i = 1; i < w.size(); ++i)
        w[i] = (seq ^ 0x9E37'79B9'7F4A'7C15ull) * (2 * i + 1) + i;
    return std::bit_cast<T>(w);
}

template <class T>
bool entry_is(const T& e, std::uint64_t seq) {
    return std::bit_cast<Words<T>>(e) == std::bit_cast<Words<T>>(make_entry<T>(seq));
}

template <class End>
std::vector<std::byte> bytes_of(const End& end) {
    static_assert(std::is_trivially_copyable_v<End>);
    std::vector<std::byte> out(sizeof(End));
    std::memcpy(out.data(), &end, sizeof(End));
    return out;
}

// Everything a failed call could have changed. producer/consumer stay empty where no end is
// involved.
struct RingState {
    std::uint32_t head;
    std::uint32_t tail;
    std::vector<std::byte> entries;
    std::vector<std::byte> producer;
    std::vector<std::byte> consumer;
    bool operator==(const RingState&) const = default;
};

void print_bytes(const std::vector<std::byte>& b, std::ostream* os) {
    static const char kHex[] = "0123456789abcdef";
    for (std::byte x : b)
        *os << kHex[std::to_integer<int>(x) >> 4] << kHex[std::to_integer<int>(x) & 15];
}

void PrintTo(const RingState& s, std::ostream* os) {
    *os << "{head=" << s.head << " tail=" << s.tail << " entries=" << s.entries.size()
        << " bytes producer=";
    print_bytes(s.producer, os);
    *os << " consumer=";
    print_bytes(s.consumer, os);
    *os << "}";
}

// A ring's shared memory: the header and the entries in separate page-aligned blocks filled
// with garbage, the counters set by spsc_ring_init.
template <class T>
class RingMemory {
  public:
    explicit RingMemory(std::uint32_t capacity, std::uint32_t first = 0)
        : capacity_(capacity),
          header_bytes_(sizeof(abi::RingHeader)),
          entry_bytes_(std::size_t(capacity) * sizeof(T)) {
        spsc_ring_init(header(), first);
    }

    abi::RingHeader& header() { return *reinterpret_cast<abi::RingHeader*>(header_bytes_.data()); }
    std::span<T> entries() { return {reinterpret_cast<T*>(entry_bytes_.data()), capacity_}; }
    std::atomic<std::uint32_t>& head() { return header().head.value; }
    std::atomic<std::uint32_t>& tail() { return header().tail.value; }
    // The slot a free-running index lands in.
    T& entry(std::uint32_t index) { return entries()[index & (capacity_ - 1)]; }

    RingState state() {
        auto e = entry_bytes_.span();
        return {head().load(), tail().load(), {e.begin(), e.end()}, {}, {}};
    }

  private:
    std::uint32_t capacity_;
    AlignedBytes header_bytes_;
    AlignedBytes entry_bytes_;
};

template <class T>
struct Ring {
    explicit Ring(std::uint32_t capacity, std::uint32_t first = 0) : mem(capacity, first) {}

    bool attach() {
        return producer.attach(mem.header(), mem.entries()).ok() &&
               consumer.attach(mem.header(), mem.entries()).ok();
    }
    RingState state() {
        RingState s = mem.state();
        s.producer = bytes_of(producer);
        s.consumer = bytes_of(consumer);
        return s;
    }

    RingMemory<T> mem;
    SpscProducer<T> producer;
    SpscConsumer<T> consumer;
};

// ---- attach --------------------------------------------------------------------------------

// A refused attach leaves the end exactly as it was (unattached: capacity() 0) and the shared
// memory untouched.
template <class T>
void expect_attach_refused(RingMemory<T>& mem, std::span<T> entries, Error expected) {
    SpscProducer<T> p;
    SpscConsumer<T> c;
    const auto p_before = bytes_of(p);
    const auto c_before = bytes_of(c);
    const RingState before = mem.state();
    EXPECT_EQ(p.attach(mem.header(), entries).error(), expected);
    EXPECT_EQ(c.attach(mem.header(), entries).error(), expected);
    EXPECT_EQ(p.capacity(), 0u);
    EXPECT_EQ(c.capacity(), 0u);
    EXPECT_EQ(bytes_of(p), p_before);
    EXPECT_EQ(bytes_of(c), c_before);
    EXPECT_EQ(mem.state(), before);
}

TEST(SpscAttach, RefusesACapacityNotAPowerOfTwo) {
    RingMemory<Entry16> mem(16);
    for (std::size_t n : {0, 3, 5, 6, 7, 9, 12, 15}) {
        SCOPED_TRACE(n);
        expect_attach_refused(mem, mem.entries().first(n), Error::InvalidArgument);
    }
    RingMemory<Entry64> mem64(16);
    for (std::size_t n : {0, 3, 10}) {
        SCOPED_TRACE(n);
        expect_attach_refused(mem64, mem64.entries().first(n), Error::InvalidArgument);
    }
}

// attach reads the header and the span's address and size, never an entry, so a span longer
// than the memory behind it can probe the 2^31 limit; nothing is pushed or popped through it.
TEST(SpscAttach, CapacityIsAtMost2To31) {
    RingMemory<Entry16> mem(1);
    Entry16* base = mem.entries().data();
    for (std::size_t n : {std::size_t(1) << 32, std::size_t(1) << 33}) {
        SCOPED_TRACE(n);
        expect_attach_refused(mem, std::span<Entry16>(base, n), Error::InvalidArgument);
    }
    const std::span<Entry16> huge(base, std::size_t(1) << 31);
    mem.tail().store(0x8000'0001u);  // one entry more than 2^31 entries past head 0
    expect_attach_refused(mem, huge, Error::BadLayout);
    mem.tail().store(0x8000'0000u);  // exactly full
    SpscProducer<Entry16> p;
    SpscConsumer<Entry16> c;
    ASSERT_TRUE(p.attach(mem.header(), huge).ok());
    ASSERT_TRUE(c.attach(mem.header(), huge).ok());
    EXPECT_EQ(p.capacity(), 0x8000'0000u);
    EXPECT_EQ(c.capacity(), 0x8000'0000u);
}

TEST(SpscAttach, RefusesMisalignedEntries) {
    AlignedBytes bytes(64 * 9);
    RingMemory<Entry64> mem(8);  // only its header is used
    RingMemory<Entry16> mem16(8);
    for (std::size_t offset : {4, 12}) {
        SCOPED_TRACE(offset);
        std::span<Entry16> e(reinterpret_cast<Entry16*>(bytes.data() + offset), 8);
        expect_attach_refused(mem16, e, Error::InvalidArgument);
    }
    for (std::size_t offset : {8, 16, 32, 56}) {
        SCOPED_TRACE(offset);
        std::span<Entry64> e(reinterpret_cast<Entry64*>(bytes.data() + offset), 8);
        expect_attach_refused(mem, e, Error::InvalidArgument);
    }
    // The requirement is alignof(T), not a cache line: 16-byte entries at 8 are fine.
    SpscProducer<Entry16> p;
    EXPECT_TRUE(p.attach(mem16.header(), {reinterpret_cast<Entry16*>(bytes.data() + 8), 8}).ok());
}

struct Counters {
    std::uint32_t head;
    std::uint32_t tail;
};

// Counters no honest pair of ends can produce: more than capacity entries, or tail behind head.
TEST(SpscAttach, RefusesImpossibleCounters) {
    RingMemory<Entry64> mem(4);
    for (auto [head, tail] : std::initializer_list<Counters>{{0, 5},
                                                             {0, 0xFFFF'FFFFu},
                                                             {10, 9},
                                                             {0xFFFF'FFFEu, 3},
                                                             {0xFFFF'FFFFu, 0xFFFF'FFFEu},
                                                             {0, 0x8000'0000u},
                                                             {0x8000'0000u, 0}}) {
        SCOPED_TRACE(::testing::Message() << "head=" << head << " tail=" << tail);
        mem.head().store(head);
        mem.tail().store(tail);
        expect_attach_refused(mem, mem.entries(), Error::BadLayout);
    }
}

// Attaching to a ring already in use (even full, across the wrap) takes the counters as they
// are: the consumer first gets the entries already there, the producer fills what is left.
TEST(SpscAttach, TakesPossibleCountersAsTheyAre) {
    for (auto [head, used] : std::initializer_list<Counters>{
             {0, 0}, {0, 4}, {0xFFFF'FFFEu, 4}, {0xFFFF'FFFFu, 1}, {0x7FFF'FFFFu, 3}}) {
        SCOPED_TRACE(::testing::Message() << "head=" << head << " used=" << used);
        Ring<Entry16> r(4);
        for (std::uint32_t i = 0; i < used; ++i)
            r.mem.entry(head + i) = make_entry<Entry16>(1000 + i);
        r.mem.head().store(head);
        r.mem.tail().store(head + used);
        ASSERT_TRUE(r.attach());
        EXPECT_EQ(r.producer.capacity(), 4u);
        EXPECT_EQ(r.consumer.capacity(), 4u);
        std::uint32_t pushed = 0;
        while (r.producer.push(make_entry<Entry16>(2000 + pushed)))
            ++pushed;
        EXPECT_EQ(pushed, 4 - used);
        for (std::uint32_t i = 0; i < 4; ++i) {
            auto e = r.consumer.pop();
            ASSERT_TRUE(e.ok()) << i << ' ' << error_name(e.error());
            EXPECT_TRUE(entry_is(*e, i < used ? 1000 + i : 2000 + (i - used)))
                << i << ' ' << e->seq;
        }
        EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
        EXPECT_EQ(r.mem.head().load(), head + 4);
        EXPECT_EQ(r.mem.tail().load(), head + 4);
    }
}

// A refused attach on an attached end keeps the ring it had.
TEST(SpscAttach, RefusedReattachKeepsTheRing) {
    Ring<Entry16> r(4, 0xFFFF'FFFFu);
    ASSERT_TRUE(r.attach());
    ASSERT_TRUE(r.producer.push(make_entry<Entry16>(0)).ok());
    ASSERT_TRUE(r.producer.push(make_entry<Entry16>(1)).ok());
    ASSERT_TRUE(r.consumer.pop().ok());

    RingMemory<Entry16> other(8);
    other.tail().store(9);  // impossible counters
    const RingState before = r.state();
    const RingState other_before = other.state();
    EXPECT_EQ(r.producer.attach(other.header(), other.entries().first(3)).error(),
              Error::InvalidArgument);
    EXPECT_EQ(r.consumer.attach(other.header(), other.entries().first(3)).error(),
              Error::InvalidArgument);
    EXPECT_EQ(r.producer.attach(other.header(), other.entries()).error(), Error::BadLayout);
    EXPECT_EQ(r.consumer.attach(other.header(), other.entries()).error(), Error::BadLayout);
    EXPECT_EQ(r.state(), before);
    EXPECT_EQ(other.state(), other_before);

    ASSERT_TRUE(r.producer.push(make_entry<Entry16>(2)).ok());
    for (std::uint64_t i = 1; i <= 2; ++i) {
        auto e = r.consumer.pop();
        ASSERT_TRUE(e.ok());
        EXPECT_TRUE(entry_is(*e, i)) << e->seq;
    }
    EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
    EXPECT_EQ(other.state(), other_before);
}

// ---- push / stage / publish / pop, full and empty -------------------------------------------

struct RingCase {
    std::uint32_t capacity;
    std::uint32_t first;  // both counters' starting value
};

void PrintTo(const RingCase& k, std::ostream* os) {
    *os << "{capacity=" << k.capacity << " first=" << k.first << "}";
}

std::string case_name(const ::testing::TestParamInfo<RingCase>& info) {
    return "cap" + std::to_string(info.param.capacity) + "_first" +
           std::to_string(info.param.first);
}

// Each case runs with 16-byte and with 64-byte entries.
class SpscRing : public ::testing::TestWithParam<RingCase> {};

// Fills the ring (push, then stage + one publish, then both mixed), checks that a full ring
// refuses push and stage and changes nothing (not even the producer's cached head), drains it
// in order, checks that an empty ring refuses pop and changes nothing; three rounds, so the
// counters cross 2^32 (or 2^31) while the ring is in use.
template <class T>
void fill_and_drain(const RingCase& k) {
    SCOPED_TRACE(::testing::Message() << sizeof(T) << "-byte entries");
    Ring<T> r(k.capacity, k.first);
    ASSERT_TRUE(r.attach());
    std::uint64_t in = 0;
    std::uint64_t out = 0;
    for (int round = 0; round < 3; ++round) {
        for (std::uint32_t i = 0; i < k.capacity; ++i) {
            const bool push = round == 0 || (round == 2 && i % 2 == 0);
            auto ok =
                push ? r.producer.push(make_entry<T>(in)) : r.producer.stage(make_entry<T>(in));
            ASSERT_TRUE(ok.ok()) << round << ' ' << i << ' ' << error_name(ok.error());
            ++in;
        }
        r.producer.publish();
        EXPECT_EQ(r.mem.tail().load(), std::uint32_t(k.first + in));

        RingState before = r.state();
        EXPECT_EQ(r.producer.push(make_entry<T>(~0ull)).error(), Error::RingFull);
        EXPECT_EQ(r.producer.stage(make_entry<T>(~0ull)).error(), Error::RingFull);
        EXPECT_EQ(r.state(), before);

        for (std::uint32_t i = 0; i < k.capacity; ++i) {
            auto e = r.consumer.pop();
            ASSERT_TRUE(e.ok()) << round << ' ' << i << ' ' << error_name(e.error());
            ASSERT_TRUE(entry_is(*e, out)) << "got " << e->seq << " expected " << out;
            ++out;
        }
        EXPECT_EQ(r.mem.head().load(), std::uint32_t(k.first + out));
        before = r.state();
        EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
        EXPECT_EQ(r.state(), before);
    }
}

TEST_P(SpscRing, FillAndDrainAcrossTheWrap) {
    fill_and_drain<Entry16>(GetParam());
    fill_and_drain<Entry64>(GetParam());
}

// Staged entries stay invisible (the shared tail does not move) until publish(), which is
// idempotent; staging counts against capacity even before it is published.
template <class T>
void staged_invisible_until_publish(const RingCase& k) {
    SCOPED_TRACE(::testing::Message() << sizeof(T) << "-byte entries");
    Ring<T> r(k.capacity, k.first);
    ASSERT_TRUE(r.attach());
    const std::uint32_t n = std::min(k.capacity, 5u);
    std::uint64_t in = 0;
    std::uint64_t out = 0;
    for (std::uint32_t i = 0; i < n; ++i)
        ASSERT_TRUE(r.producer.stage(make_entry<T>(in++)).ok());
    EXPECT_EQ(r.mem.tail().load(), k.first);
    EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
    r.producer.publish();
    r.producer.publish();
    EXPECT_EQ(r.mem.tail().load(), k.first + n);
    for (std::uint32_t i = 0; i < n; ++i) {
        auto e = r.consumer.pop();
        ASSERT_TRUE(e.ok()) << i;
        EXPECT_TRUE(entry_is(*e, out++)) << e->seq;
    }
    EXPECT_EQ(r.consumer.pop().error(), Error::Empty);

    for (std::uint32_t i = 0; i < k.capacity; ++i)
        ASSERT_TRUE(r.producer.stage(make_entry<T>(in++)).ok()) << i;
    const RingState before = r.state();
    EXPECT_EQ(r.producer.stage(make_entry<T>(~0ull)).error(), Error::RingFull);
    EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
    EXPECT_EQ(r.state(), before);
    r.producer.publish();
    for (std::uint32_t i = 0; i < k.capacity; ++i) {
        auto e = r.consumer.pop();
        ASSERT_TRUE(e.ok()) << i;
        ASSERT_TRUE(entry_is(*e, out++)) << e->seq;
    }
    EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
    EXPECT_EQ(r.mem.head().load(), std::uint32_t(k.first + out));
}

TEST_P(SpscRing, StagedEntriesAreInvisibleUntilPublish) {
    staged_invisible_until_publish<Entry16>(GetParam());
    staged_invisible_until_publish<Entry64>(GetParam());
}

// A random mix of push, stage, publish and pop against a model (a deque of published entries
// and a count of staged ones): every result, every entry and both shared counters must agree
// with it, and a failed call must change nothing. Phases of 32 steps lean towards filling or
// draining, so small rings are often full and often empty.
template <class T>
void matches_a_queue_model(const RingCase& k) {
    SCOPED_TRACE(::testing::Message() << sizeof(T) << "-byte entries");
    Ring<T> r(k.capacity, k.first);
    ASSERT_TRUE(r.attach());
    std::mt19937 rng(k.capacity ^ k.first);
    std::deque<std::uint64_t> published;
    std::uint64_t staged = 0;
    std::uint64_t next = 0;
    std::uint64_t popped = 0;
    std::uint64_t fulls = 0;
    std::uint64_t empties = 0;
    for (int step = 0; step < 20'000; ++step) {
        const bool filling = (step / 32) % 2 == 0;
        const std::uint32_t roll = std::uint32_t(rng() % 8);
        const bool room = published.size() + staged < k.capacity;
        if (roll < (filling ? 5u : 2u)) {  // push or stage
            const bool push = roll % 2 == 0;
            if (!room) {  // snapshot only here: a 2^16-entry ring is 4 MiB
                const RingState before = r.state();
                auto res = push ? r.producer.push(make_entry<T>(next))
                                : r.producer.stage(make_entry<T>(next));
                ASSERT_EQ(res.error(), Error::RingFull) << step;
                ASSERT_EQ(r.state(), before) << step;
                ++fulls;
                continue;
            }
            auto res =
                push ? r.producer.push(make_entry<T>(next)) : r.producer.stage(make_entry<T>(next));
            ASSERT_TRUE(res.ok()) << step << ' ' << error_name(res.error());
            ++staged;
            ++next;
            if (push) {
                for (; staged != 0; --staged)
                    published.push_back(next - staged);
            }
        } else if (roll < (filling ? 6u : 4u)) {
            r.producer.publish();
            for (; staged != 0; --staged)
                published.push_back(next - staged);
        } else {
            if (published.empty()) {
                const RingState before = r.state();
                ASSERT_EQ(r.consumer.pop().error(), Error::Empty) << step;
                ASSERT_EQ(r.state(), before) << step;
                ++empties;
                continue;
            }
            auto e = r.consumer.pop();
            ASSERT_TRUE(e.ok()) << step << ' ' << error_name(e.error());
            ASSERT_TRUE(entry_is(*e, published.front()))
                << step << ": got " << e->seq << " expected " << published.front();
            published.pop_front();
            ++popped;
        }
        ASSERT_EQ(r.mem.tail().load(), std::uint32_t(k.first + next - staged)) << step;
        ASSERT_EQ(r.mem.head().load(), std::uint32_t(k.first + popped)) << step;
    }
    if (k.capacity <= 16) {
        EXPECT_GT(fulls, 0u);
        EXPECT_GT(empties, 0u);
    }
}

TEST_P(SpscRing, MatchesAQueueModel) {
    matches_a_queue_model<Entry16>(GetParam());
    matches_a_queue_model<Entry64>(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Capacities, SpscRing,
                         ::testing::Values(RingCase{1, 0}, RingCase{1, 0xFFFF'FFFFu},
                                           RingCase{2, 0xFFFF'FFFEu}, RingCase{2, 0xFFFF'FFFFu},
                                           RingCase{16, 0xFFFF'FFF9u}, RingCase{16, 0x7FFF'FFF9u},
                                           RingCase{1u << 16, 0xFFFF'8000u}),
                         case_name);

// ---- a hostile peer writing the shared counters (IPC-R-005) ---------------------------------
//
// Each bad value is written, the call fails with ProtocolViolation and changes nothing (both
// ends, both counters, every entry byte); then a good value is written back and the ring
// carries on in order.

class SpscHostile : public ::testing::TestWithParam<RingCase> {};

template <class T>
void producer_refuses_impossible_heads(const RingCase& k) {
    SCOPED_TRACE(::testing::Message() << sizeof(T) << "-byte entries");
    Ring<T> r(k.capacity, k.first);
    ASSERT_TRUE(r.attach());
    const std::uint32_t cap = k.capacity;
    std::uint64_t in = 0;
    std::uint64_t out = 0;
    // Fill, free one slot and refill it: the producer's cached head is now first + 1, so a head
    // "moving backwards" can go below what it has seen.
    for (std::uint32_t i = 0; i < cap; ++i)
        ASSERT_TRUE(r.producer.push(make_entry<T>(in++)).ok());
    ASSERT_TRUE(r.consumer.pop().ok());
    ++out;
    ASSERT_TRUE(r.producer.push(make_entry<T>(in++)).ok());
    ASSERT_EQ(r.producer.push(make_entry<T>(in)).error(), Error::RingFull);
    const std::uint32_t head = k.first + 1;
    const std::uint32_t tail = head + cap;
    ASSERT_EQ(r.mem.head().load(), head);
    ASSERT_EQ(r.mem.tail().load(), tail);

    for (std::uint32_t bad : {head - 1, head - cap, head - 0x100, tail + 1, tail + cap,
                              tail + 0x8000'0000u, head + 0x8000'0000u}) {
        SCOPED_TRACE(::testing::Message() << "head=" << bad);
        r.mem.head().store(bad);
        const RingState before = r.state();
        EXPECT_EQ(r.producer.push(make_entry<T>(in)).error(), Error::ProtocolViolation);
        EXPECT_EQ(r.producer.stage(make_entry<T>(in)).error(), Error::ProtocolViolation);
        EXPECT_EQ(r.state(), before);
    }

    // The true head back: full again, then room once the consumer really frees a slot.
    r.mem.head().store(head);
    const RingState before = r.state();
    EXPECT_EQ(r.producer.push(make_entry<T>(in)).error(), Error::RingFull);
    EXPECT_EQ(r.state(), before);
    auto e = r.consumer.pop();
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(entry_is(*e, out++)) << e->seq;
    ASSERT_TRUE(r.producer.push(make_entry<T>(in++)).ok());
    for (std::uint32_t i = 0; i < cap; ++i) {
        auto d = r.consumer.pop();
        ASSERT_TRUE(d.ok()) << i;
        ASSERT_TRUE(entry_is(*d, out++)) << d->seq;
    }
    EXPECT_EQ(out, in);
    EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
}

TEST_P(SpscHostile, ProducerRefusesImpossibleHeads) {
    producer_refuses_impossible_heads<Entry16>(GetParam());
    producer_refuses_impossible_heads<Entry64>(GetParam());
}

template <class T>
void consumer_refuses_impossible_tails(const RingCase& k) {
    SCOPED_TRACE(::testing::Message() << sizeof(T) << "-byte entries");
    Ring<T> r(k.capacity, k.first);
    ASSERT_TRUE(r.attach());
    const std::uint32_t cap = k.capacity;
    std::uint64_t in = 0;
    std::uint64_t out = 0;
    // A full ring (tail exactly head + capacity) is accepted; drain it so the consumer's cache
    // says empty and the next pop reads the tail.
    for (std::uint32_t i = 0; i < cap; ++i)
        ASSERT_TRUE(r.producer.push(make_entry<T>(in++)).ok());
    for (std::uint32_t i = 0; i < cap; ++i) {
        auto e = r.consumer.pop();
        ASSERT_TRUE(e.ok()) << i;
        ASSERT_TRUE(entry_is(*e, out++)) << e->seq;
    }
    const std::uint32_t head = k.first + cap;

    // Beyond capacity, far out of range, or behind the consumer's head (moved backwards).
    for (std::uint32_t bad : {head + cap + 1, head + 2 * cap, head + 0x8000'0000u, head - 1,
                              head - cap, head - 0x100}) {
        SCOPED_TRACE(::testing::Message() << "tail=" << bad);
        r.mem.tail().store(bad);
        const RingState before = r.state();
        EXPECT_EQ(r.consumer.pop().error(), Error::ProtocolViolation);
        EXPECT_EQ(r.state(), before);
    }

    // The true tail back: empty; then what the producer really publishes (its publish rewrites
    // the counter) arrives in order.
    r.mem.tail().store(head);
    const RingState before = r.state();
    EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
    EXPECT_EQ(r.state(), before);
    for (std::uint32_t i = 0; i < cap; ++i)
        ASSERT_TRUE(r.producer.push(make_entry<T>(in++)).ok());
    EXPECT_EQ(r.mem.tail().load(), head + cap);
    for (std::uint32_t i = 0; i < cap; ++i) {
        auto e = r.consumer.pop();
        ASSERT_TRUE(e.ok()) << i << ' ' << error_name(e.error());
        ASSERT_TRUE(entry_is(*e, out++)) << e->seq;
    }
    EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
}

TEST_P(SpscHostile, ConsumerRefusesImpossibleTails) {
    consumer_refuses_impossible_tails<Entry16>(GetParam());
    consumer_refuses_impossible_tails<Entry64>(GetParam());
}

// Each end reads the peer's counter only when its cached value says full (producer) or empty
// (consumer): a bad value is not seen while the cache still allows progress, and is refused as
// soon as it is read.
template <class T>
void bad_counters_are_refused_when_read(const RingCase& k) {
    SCOPED_TRACE(::testing::Message() << sizeof(T) << "-byte entries");
    Ring<T> r(k.capacity, k.first);
    ASSERT_TRUE(r.attach());
    const std::uint32_t cap = k.capacity;
    std::uint64_t in = 0;
    std::uint64_t out = 0;

    // Producer: the cached head (first) leaves room for cap entries.
    r.mem.head().store(k.first + 0x100);
    for (std::uint32_t i = 0; i < cap; ++i)
        ASSERT_TRUE(r.producer.push(make_entry<T>(in++)).ok()) << i;
    RingState before = r.state();
    EXPECT_EQ(r.producer.push(make_entry<T>(in)).error(), Error::ProtocolViolation);
    EXPECT_EQ(r.state(), before);
    r.mem.head().store(k.first);
    EXPECT_EQ(r.producer.push(make_entry<T>(in)).error(), Error::RingFull);

    // Consumer: it read tail = first + cap on its first pop and takes all of those from cache.
    auto first_entry = r.consumer.pop();
    ASSERT_TRUE(first_entry.ok());
    EXPECT_TRUE(entry_is(*first_entry, out++));
    r.mem.tail().store(k.first - 1);
    for (std::uint32_t i = 1; i < cap; ++i) {
        auto e = r.consumer.pop();
        ASSERT_TRUE(e.ok()) << i << ' ' << error_name(e.error());
        ASSERT_TRUE(entry_is(*e, out++)) << e->seq;
    }
    before = r.state();
    EXPECT_EQ(r.consumer.pop().error(), Error::ProtocolViolation);
    EXPECT_EQ(r.state(), before);
    r.mem.tail().store(k.first + cap);
    EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
    ASSERT_TRUE(r.producer.push(make_entry<T>(in++)).ok());
    auto e = r.consumer.pop();
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(entry_is(*e, out++)) << e->seq;
    EXPECT_EQ(out, in);
}

TEST_P(SpscHostile, BadCountersAreRefusedWhenRead) {
    bad_counters_are_refused_when_read<Entry16>(GetParam());
    bad_counters_are_refused_when_read<Entry64>(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Capacities, SpscHostile,
                         ::testing::Values(RingCase{1, 0xFFFF'FFFFu}, RingCase{2, 0xFFFF'FFFEu},
                                           RingCase{16, 0xFFFF'FFF8u}, RingCase{16, 0x7FFF'FFF8u}),
                         case_name);

// The peer scribbling on an end's own counter: neither end reads its own counter back, so the
// next publish (producer) or pop (consumer) simply writes the true value again.
TEST(SpscHostileOwnCounter, IsRewrittenByTheNextStore) {
    Ring<Entry16> r(4, 0xFFFF'FFFEu);
    ASSERT_TRUE(r.attach());
    ASSERT_TRUE(r.producer.push(make_entry<Entry16>(0)).ok());
    r.mem.tail().store(0x1234'5678u);  // written by the consumer's side
    ASSERT_TRUE(r.producer.stage(make_entry<Entry16>(1)).ok());
    r.producer.publish();
    EXPECT_EQ(r.mem.tail().load(), 0u);  // 0xFFFF'FFFE + 2
    r.mem.head().store(0xDEAD'BEEFu);    // written by the producer's side
    for (std::uint64_t i = 0; i < 2; ++i) {
        auto e = r.consumer.pop();
        ASSERT_TRUE(e.ok()) << i << ' ' << error_name(e.error());
        EXPECT_TRUE(entry_is(*e, i)) << e->seq;
    }
    EXPECT_EQ(r.mem.head().load(), 0u);
    EXPECT_EQ(r.consumer.pop().error(), Error::Empty);
}

}  // namespace
}  // namespace keel::ipc
