// Frame batches (frame_batch.hpp) against a model. Any list of frames written with batch_put
// into a buffer of any size comes back from batch_check and batch_next as the longest prefix
// that fit, byte for byte; and any bytes at all are judged by batch_check exactly as a plain
// reading of the format (the model below) judges them, batch_next never leaving the buffer.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/net/frame_batch.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace keel::net {
namespace {

using Frame = std::vector<uint8_t>;

// The format read the obvious way: the frames, or nothing when any record breaks it.
std::optional<std::vector<Frame>> model_read(const std::vector<uint8_t>& b, size_t min,
                                             size_t max) {
    std::vector<Frame> frames;
    size_t i = 0;
    while (i < b.size()) {
        if (b.size() - i < 2)
            return std::nullopt;
        const size_t n = b[i] | size_t{b[i + 1]} << 8;
        i += 2;
        if (b.size() - i < n || n < min || n > max)
            return std::nullopt;
        frames.emplace_back(b.begin() + static_cast<std::ptrdiff_t>(i),
                            b.begin() + static_cast<std::ptrdiff_t>(i + n));
        i += n;
    }
    return frames;
}

std::vector<Frame> read_all(const uint8_t* data, size_t size) {
    std::vector<Frame> frames;
    size_t offset = 0;
    const uint8_t* frame = nullptr;
    size_t length = 0;
    while (batch_next(data, size, &offset, &frame, &length)) {
        RC_ASSERT(frame >= data && frame + length <= data + size);
        frames.emplace_back(frame, frame + length);
    }
    return frames;
}

RC_GTEST_PROP(FrameBatchProperty, WrittenFramesComeBackInOrderUpToTheFirstThatDidNotFit, ()) {
    const auto frames = *rc::gen::container<std::vector<Frame>>(
        rc::gen::resize(2000, rc::gen::container<Frame>(rc::gen::arbitrary<uint8_t>())));
    const size_t room = *rc::gen::inRange<size_t>(0, 8192);
    std::vector<uint8_t> out(room + 1, 0xa5);  // one guard byte
    size_t used = 0;
    std::vector<Frame> fitted;
    for (const Frame& f : frames) {
        if (!batch_put(out.data(), room, &used, f.data(), f.size()))
            break;
        fitted.push_back(f);
    }
    RC_ASSERT(used <= room);
    RC_ASSERT(out[room] == 0xa5);
    RC_ASSERT(batch_check(out.data(), used, 0, 0xffff) == static_cast<int64_t>(fitted.size()));
    RC_ASSERT(read_all(out.data(), used) == fitted);
}

RC_GTEST_PROP(FrameBatchProperty, AnyBytesAreJudgedAsTheModelJudgesThem, ()) {
    // Mostly well-formed batches with a byte changed, cut or added, and raw bytes.
    std::vector<uint8_t> b;
    if (*rc::gen::arbitrary<bool>()) {
        const auto frames = *rc::gen::container<std::vector<Frame>>(
            rc::gen::container<Frame>(rc::gen::arbitrary<uint8_t>()));
        b.resize(8192);
        size_t used = 0;
        for (const Frame& f : frames)
            (void)batch_put(b.data(), b.size(), &used, f.data(), f.size());
        b.resize(used);
        const int damage = *rc::gen::inRange(0, 4);
        if (damage == 1 && !b.empty())
            b[*rc::gen::inRange<size_t>(0, b.size())] = *rc::gen::arbitrary<uint8_t>();
        else if (damage == 2 && !b.empty())
            b.resize(*rc::gen::inRange<size_t>(0, b.size()));
        else if (damage == 3)
            b.push_back(*rc::gen::arbitrary<uint8_t>());
    } else {
        b = *rc::gen::container<std::vector<uint8_t>>(rc::gen::arbitrary<uint8_t>());
    }
    const size_t min = *rc::gen::inRange<size_t>(0, 60);
    const size_t max = min + *rc::gen::inRange<size_t>(0, 100);
    const auto model = model_read(b, min, max);
    const int64_t frames = batch_check(b.data(), b.size(), min, max);
    RC_ASSERT(frames == (model ? static_cast<int64_t>(model->size()) : -1));
    if (model)
        RC_ASSERT(read_all(b.data(), b.size()) == *model);
    else
        (void)read_all(b.data(), b.size());  // bounds asserted inside
}

}  // namespace
}  // namespace keel::net
