// Frame batches (frame_batch.hpp): records written and read back, and the malformed shapes a
// batch from the other side of a link can take, each refused whole.
#include <gtest/gtest.h>
#include <keel/net/frame_batch.hpp>

#include <cstring>
#include <vector>

namespace keel::net {
namespace {

TEST(FrameBatch, RecordsAreALittleEndianLengthAndTheFrame) {
    uint8_t out[64] = {};
    size_t used = 0;
    const uint8_t a[3] = {1, 2, 3};
    ASSERT_TRUE(batch_put(out, sizeof out, &used, a, sizeof a));
    uint8_t* at = batch_reserve(out, sizeof out, used, 40);
    ASSERT_EQ(at, out + 7);
    std::memset(at, 9, 20);
    batch_commit(out, &used, 20);  // less than reserved
    EXPECT_EQ(used, 27u);
    const uint8_t expect[7] = {3, 0, 1, 2, 3, 20, 0};
    EXPECT_EQ(std::memcmp(out, expect, sizeof expect), 0);
    EXPECT_EQ(batch_check(out, used, 1, 1514), 2);
    size_t offset = 0;
    const uint8_t* frame = nullptr;
    size_t length = 0;
    ASSERT_TRUE(batch_next(out, used, &offset, &frame, &length));
    EXPECT_EQ(frame, out + 2);
    EXPECT_EQ(length, 3u);
    ASSERT_TRUE(batch_next(out, used, &offset, &frame, &length));
    EXPECT_EQ(frame, out + 7);
    EXPECT_EQ(length, 20u);
    EXPECT_FALSE(batch_next(out, used, &offset, &frame, &length));
    EXPECT_EQ(offset, used);
}

TEST(FrameBatch, APutThatDoesNotFitWritesNothing) {
    uint8_t out[10];
    std::memset(out, 0xee, sizeof out);
    size_t used = 0;
    const uint8_t f[9] = {};
    EXPECT_FALSE(batch_put(out, sizeof out, &used, f, 9));  // 2 + 9 > 10
    EXPECT_EQ(used, 0u);
    EXPECT_EQ(out[0], 0xee);
    EXPECT_TRUE(batch_put(out, sizeof out, &used, f, 8));  // exactly full
    EXPECT_EQ(used, 10u);
    EXPECT_EQ(batch_reserve(out, sizeof out, used, 0), nullptr);
    EXPECT_EQ(batch_reserve(out, sizeof out, 11, 0), nullptr);  // used past room
    std::vector<uint8_t> big(70000);
    size_t none = 0;
    EXPECT_FALSE(batch_put(big.data(), big.size(), &none, big.data(), 65536));  // > 0xffff
}

TEST(FrameBatch, TheEmptyBatchHoldsNoFrame) {
    EXPECT_EQ(batch_check(nullptr, 0, 14, 1514), 0);
    size_t offset = 0;
    const uint8_t* frame = nullptr;
    size_t length = 0;
    EXPECT_FALSE(batch_next(nullptr, 0, &offset, &frame, &length));
}

TEST(FrameBatch, MalformedBatchesAreRefusedWhole) {
    uint8_t b[64] = {};
    size_t used = 0;
    const uint8_t f[20] = {};
    ASSERT_TRUE(batch_put(b, sizeof b, &used, f, 20));
    ASSERT_TRUE(batch_put(b, sizeof b, &used, f, 14));
    ASSERT_EQ(batch_check(b, used, 14, 20), 2);
    EXPECT_EQ(batch_check(b, used - 1, 14, 20), -1);  // the last record cut short
    EXPECT_EQ(batch_check(b, used + 1, 14, 20), -1);  // one byte of a record header left
    EXPECT_EQ(batch_check(b, used + 2, 14, 20), -1);  // a header of a 0-byte frame
    EXPECT_EQ(batch_check(b, 1, 14, 20), -1);         // half a header
    EXPECT_EQ(batch_check(b, used, 15, 20), -1);      // a frame too short
    EXPECT_EQ(batch_check(b, used, 14, 19), -1);      // a frame too long
    b[0] = 0xff;                                      // a length past the end
    EXPECT_EQ(batch_check(b, used, 0, 0xffff), -1);
    size_t offset = 0;
    const uint8_t* frame = nullptr;
    size_t length = 0;
    EXPECT_FALSE(batch_next(b, used, &offset, &frame, &length));
    EXPECT_EQ(offset, 0u);
    offset = used + 5;  // an offset past the end reads nothing
    EXPECT_FALSE(batch_next(b, used, &offset, &frame, &length));
}

}  // namespace
}  // namespace keel::net
