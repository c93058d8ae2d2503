// Two-thread stress of SpscProducer / SpscConsumer: the producer on a std::thread, the consumer
// on the test's thread, sharing only the ring header and the entries. Every entry must arrive
// exactly once, in order, with every word intact, while the counters cross 2^32; the producer
// mixes push() with batches of stage() closed by one publish(). The only errors either end may
// see are RingFull and Empty (an honest peer never trips IPC-R-005).
//
// No gtest assertion runs on the worker thread: each side records its first failure in a Report
// that the test checks after join(), and a failing side raises `stop` so the other one does not
// wait forever. Built under ThreadSanitizer too (build/host-tsan), where KEEL_STRESS_SCALE
// divides the work; there the entry copies (volatile 8-byte moves, ordered only by the counters'
// release/acquire pair) are what TSan checks.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include <ipc/spsc_ring.hpp>

#include "queue_harness.hpp"

#ifndef KEEL_STRESS_SCALE
#define KEEL_STRESS_SCALE 1
#endif

namespace keel::ipc {
namespace {

using test::AlignedBytes;

constexpr std::uint64_t scaled(std::uint64_t n) {
    return n / KEEL_STRESS_SCALE;
}

// As in spsc_ring_test.cpp: every word is derived from the sequence number.
struct Entry16 {
    std::uint64_t seq;
    std::uint64_t check;
};
struct alignas(64) Entry64 {
    std::uint64_t seq;
    std::uint64_t words[7];
};

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

struct Report {
    std::uint64_t failures = 0;
    std::string first;
    std::uint64_t count = 0;   // entries this side moved
    std::uint64_t misses = 0;  // RingFull (producer) or Empty (consumer) results

    template <class... Args>
    void fail(const Args&... parts) {
        if (failures++ == 0) {
            std::ostringstream os;
            (os << ... << parts);
            first = os.str();
        }
    }
};

// Producer thread: `count` entries; one in four rounds is a batch of up to 16 staged entries
// and one publish, the others single pushes. Yields after each miss (the machine may have
// fewer cores than threads).
template <class T>
Report produce(SpscProducer<T>& p, std::uint64_t count, std::atomic<bool>& stop) {
    Report rep;
    std::mt19937 rng(3);
    std::uint64_t seq = 0;
    while (seq < count && !stop.load(std::memory_order_relaxed)) {
        const std::uint32_t roll = std::uint32_t(rng());
        const std::uint32_t batch = roll % 4 == 0 ? 1 + (roll >> 8) % 16 : 0;
        bool missed = false;
        if (batch == 0) {
            auto r = p.push(make_entry<T>(seq));
            if (r) {
                ++seq;
            } else if (r.error() == Error::RingFull) {
                missed = true;
            } else {
                rep.fail("push ", seq, ": ", error_name(r.error()));
            }
        } else {
            for (std::uint32_t i = 0; i < batch && seq < count; ++i) {
                auto r = p.stage(make_entry<T>(seq));
                if (!r) {
                    if (r.error() != Error::RingFull)
                        rep.fail("stage ", seq, ": ", error_name(r.error()));
                    missed = true;
                    break;
                }
                ++seq;
            }
            p.publish();
        }
        if (rep.failures != 0) {
            stop.store(true, std::memory_order_relaxed);
            break;
        }
        if (missed) {
            ++rep.misses;
            std::this_thread::yield();
        }
    }
    rep.count = seq;
    return rep;
}

// Consumer thread: pops until `count` entries have arrived, each compared word for word.
template <class T>
Report consume(SpscConsumer<T>& c, std::uint64_t count, std::atomic<bool>& stop) {
    Report rep;
    std::uint64_t next = 0;
    while (next < count && !stop.load(std::memory_order_relaxed)) {
        auto r = c.pop();
        if (!r) {
            if (r.error() != Error::Empty) {
                rep.fail("pop ", next, ": ", error_name(r.error()));
                stop.store(true, std::memory_order_relaxed);
                break;
            }
            ++rep.misses;
            std::this_thread::yield();
            continue;
        }
        if (std::bit_cast<Words<T>>(*r) != std::bit_cast<Words<T>>(make_entry<T>(next))) {
            rep.fail("entry ", next, " arrived as seq ", r->seq, " (or torn)");
            stop.store(true, std::memory_order_relaxed);
            break;
        }
        ++next;
    }
    rep.count = next;
    return rep;
}

struct StressCase {
    std::uint32_t entry_size;  // 16 or 64
    std::uint32_t capacity;
    std::uint32_t first;  // both counters' starting value
    std::uint64_t count;
};

void PrintTo(const StressCase& k, std::ostream* os) {
    *os << "{entry=" << k.entry_size << " capacity=" << k.capacity << " first=" << k.first
        << " count=" << k.count << "}";
}

template <class T>
void run_two_threads(const StressCase& k) {
    AlignedBytes header_bytes(sizeof(abi::RingHeader));
    AlignedBytes entry_bytes(std::size_t(k.capacity) * sizeof(T));
    auto& header = *reinterpret_cast<abi::RingHeader*>(header_bytes.data());
    std::span<T> entries(reinterpret_cast<T*>(entry_bytes.data()), k.capacity);
    spsc_ring_init(header, k.first);
    SpscProducer<T> producer;
    SpscConsumer<T> consumer;
    ASSERT_TRUE(producer.attach(header, entries).ok());
    ASSERT_TRUE(consumer.attach(header, entries).ok());

    std::atomic<bool> stop{false};
    Report prod_rep;
    std::thread worker([&] { prod_rep = produce(producer, k.count, stop); });
    Report cons_rep = consume(consumer, k.count, stop);
    worker.join();

    EXPECT_EQ(prod_rep.failures, 0u) << prod_rep.first;
    EXPECT_EQ(cons_rep.failures, 0u) << cons_rep.first;
    EXPECT_EQ(prod_rep.count, k.count);
    EXPECT_EQ(cons_rep.count, k.count);
    EXPECT_EQ(consumer.pop().error(), Error::Empty);
    const auto end = std::uint32_t(k.first + k.count);  // crossed 2^32
    EXPECT_EQ(header.head.value.load(), end);
    EXPECT_EQ(header.tail.value.load(), end);
    std::printf("%llu entries; producer found the ring full %llu times, consumer empty %llu\n",
                static_cast<unsigned long long>(k.count),
                static_cast<unsigned long long>(prod_rep.misses),
                static_cast<unsigned long long>(cons_rep.misses));
}

class SpscStress : public ::testing::TestWithParam<StressCase> {};

TEST_P(SpscStress, FifoEveryEntryOnceAndIntact) {
    const StressCase& k = GetParam();
    ASSERT_GE(k.first + k.count, std::uint64_t(1) << 32) << "the case must cross 2^32";
    if (k.entry_size == 16) {
        run_two_threads<Entry16>(k);
    } else {
        run_two_threads<Entry64>(k);
    }
}

std::string stress_name(const ::testing::TestParamInfo<StressCase>& info) {
    return "entry" + std::to_string(info.param.entry_size) + "_cap" +
           std::to_string(info.param.capacity);
}

INSTANTIATE_TEST_SUITE_P(TwoThreads, SpscStress,
                         ::testing::Values(StressCase{16, 64, 0xFFFF'0000u, scaled(4'000'000)},
                                           StressCase{64, 4096, 0xFFFF'0000u, scaled(2'000'000)},
                                           StressCase{16, 1, 0xFFFF'FF00u, scaled(100'000)},
                                           StressCase{64, 2, 0xFFFF'FF00u, scaled(100'000)}),
                         stress_name);

}  // namespace
}  // namespace keel::ipc
