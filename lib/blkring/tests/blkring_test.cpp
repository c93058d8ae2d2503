// lib/blkring: the window over indices a client may lie about, and each request check.
#include <gtest/gtest.h>
#include <keel/blkring/blkring.hpp>

namespace keel::blkring {
namespace {

const Disk kDisk{16u << 20, 512, false};

Request read(uint64_t offset, uint32_t length, uint32_t buffer = 0) {
    return Request{offset, length, buffer, kRead, 0, 7};
}

TEST(Window, TakesWhatIsPendingWithinRoom) {
    EXPECT_EQ(window(0, 5, 0, 0, 0).take, 5u);
    EXPECT_EQ(window(0, 32, 0, 0, 0).take, 32u);
    // 10 in flight, 20 completions unread: room for 2.
    EXPECT_EQ(window(100, 132, 50, 30, 10).take, 2u);
    EXPECT_EQ(window(100, 132, 50, 30, 10).fault, Fault::kNone);
    // The ring full of unread completions: nothing, and no fault (the client is just slow).
    EXPECT_EQ(window(0, 8, 32, 0, 0).take, 0u);
    EXPECT_EQ(window(0, 8, 32, 0, 0).fault, Fault::kNone);
}

TEST(Window, WrapsAroundTheIndexSpace) {
    EXPECT_EQ(window(0xfffffff0u, 0x00000004u, 0xfffffffeu, 0xfffffffcu, 3).take, 20u);
    EXPECT_EQ(window(0xfffffff0u, 0x00000004u, 0xfffffffeu, 0xfffffffcu, 3).fault, Fault::kNone);
}

TEST(Window, ImpossibleIndicesAreFaults) {
    EXPECT_EQ(window(0, 33, 0, 0, 0).fault, Fault::kSubmissions);
    EXPECT_EQ(window(10, 9, 0, 0, 0).fault, Fault::kSubmissions);  // tail behind head
    EXPECT_EQ(window(0, 1, 5, 6, 0).fault, Fault::kCompletions);   // head ahead of tail
    EXPECT_EQ(window(0, 1, 40, 0, 0).fault, Fault::kCompletions);
    EXPECT_EQ(window(0, 0xffffffffu, 0, 0, 0).take, 0u);
}

TEST(Check, GoodRequests) {
    EXPECT_EQ(check(read(0, 512), kDisk), Verdict::kOk);
    EXPECT_EQ(check(read((16u << 20) - 65536, 65536, 31), kDisk), Verdict::kOk);
    Request w = read(4096, 4096);
    w.op = kWrite;
    EXPECT_EQ(check(w, kDisk), Verdict::kOk);
    EXPECT_EQ(data_offset(read(0, 512, 31)) + 65536, kRegionBytes);
}

TEST(Check, BadRequests) {
    Request r = read(0, 512);
    r.op = 0;
    EXPECT_EQ(check(r, kDisk), Verdict::kBadOp);
    r = read(0, 512);
    r.reserved = 1;
    EXPECT_EQ(check(r, kDisk), Verdict::kBadOp);
    EXPECT_EQ(check(read(0, 512, kBuffers), kDisk), Verdict::kBadBuffer);
    EXPECT_EQ(check(read(0, 512, 0xffffffffu), kDisk), Verdict::kBadBuffer);
    EXPECT_EQ(check(read(0, 0), kDisk), Verdict::kBadLength);
    EXPECT_EQ(check(read(0, 100), kDisk), Verdict::kBadLength);
    EXPECT_EQ(check(read(1, 512), kDisk), Verdict::kBadLength);
    EXPECT_EQ(check(read(0, kBufferBytes + 512), kDisk), Verdict::kBadLength);
    EXPECT_EQ(check(read(16u << 20, 512), kDisk), Verdict::kOutOfRange);
    EXPECT_EQ(check(read((16u << 20) - 512, 1024), kDisk), Verdict::kOutOfRange);
    EXPECT_EQ(check(read(0xfffffffffffffe00ull, 1024), kDisk), Verdict::kOutOfRange);
    Request w = read(0, 512);
    w.op = kWrite;
    EXPECT_EQ(check(w, Disk{16u << 20, 512, true}), Verdict::kReadOnly);
    EXPECT_EQ(check(read(0, 512), Disk{16u << 20, 0, false}), Verdict::kBadLength);
    EXPECT_EQ(check(read(0, 8192), Disk{16u << 20, 512, false, 4096}), Verdict::kBadLength);
    EXPECT_EQ(check(read(0, 4096), Disk{16u << 20, 512, false, 4096}), Verdict::kOk);
}

}  // namespace
}  // namespace keel::blkring
