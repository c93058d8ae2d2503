// Result<T>: value or Error, with move-only T (completions carry move-only buffers).
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include <ipc/result.hpp>

namespace keel::ipc {
namespace {

// Counts live instances, so a test sees every construction matched by one destruction.
struct Tracked {
    static inline int live = 0;
    int v;
    explicit Tracked(int x) : v(x) { ++live; }
    Tracked(Tracked&& o) noexcept : v(o.v) {
        o.v = -1;
        ++live;
    }
    Tracked(const Tracked&) = delete;
    ~Tracked() { --live; }
};

Result<std::unique_ptr<int>> make_ptr(bool ok) {
    if (!ok)
        return fail(Error::NotOwner);
    return std::make_unique<int>(42);
}

TEST(Result, HoldsMoveOnlyValue) {
    auto r = make_ptr(true);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(bool(r));
    ASSERT_NE(r.value(), nullptr);
    EXPECT_EQ(*r.value(), 42);
    EXPECT_EQ(**r, 42);
    // Moving the value out leaves the Result holding an empty pointer, not a copy.
    std::unique_ptr<int> p = std::move(r).value();
    EXPECT_EQ(*p, 42);
    EXPECT_EQ(r.value(), nullptr);  // NOLINT(bugprone-use-after-move): checking moved-from state
}

TEST(Result, HoldsError) {
    auto r = make_ptr(false);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(bool(r));
    EXPECT_EQ(r.error(), Error::NotOwner);
}

TEST(Result, MoveConstructionTransfersValueAndError) {
    Result<std::unique_ptr<int>> a = make_ptr(true);
    Result<std::unique_ptr<int>> b(std::move(a));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*b.value(), 42);
    Result<std::unique_ptr<int>> e = make_ptr(false);
    Result<std::unique_ptr<int>> f(std::move(e));
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error(), Error::NotOwner);
}

TEST(Result, DestroysItsValueExactlyOnce) {
    ASSERT_EQ(Tracked::live, 0);
    {
        Result<Tracked> r = Tracked(7);
        EXPECT_EQ(Tracked::live, 1);
        Result<Tracked> moved(std::move(r));
        EXPECT_EQ(Tracked::live, 2);  // the moved-from value still exists until its Result dies
        EXPECT_EQ(moved->v, 7);
    }
    EXPECT_EQ(Tracked::live, 0);
    {
        Result<Tracked> err = fail(Error::Empty);
        EXPECT_EQ(Tracked::live, 0);  // an error constructs no value, so destroys none
    }
    EXPECT_EQ(Tracked::live, 0);
}

// Success is the value side, never an Error member: asking an error for its value is a broken
// precondition that ends in the Platform's panic (the host platform aborts).
TEST(ResultDeathTest, ValueOfAnErrorAborts) {
    Result<int> r = fail(Error::Closed);
    EXPECT_DEATH((void)r.value(), "assertion failed: ok_");
    EXPECT_DEATH((void)*r, "assertion failed: ok_");
    Result<Tracked> t = fail(Error::Empty);
    EXPECT_DEATH((void)t->v, "assertion failed: ok_");
    Result<void> v = fail(Error::Closed);
    EXPECT_DEATH(v.value(), "assertion failed: ok_");
}

TEST(Result, ErrorOfASuccessIsNoError) {
    Result<int> r = 5;
    EXPECT_EQ(*r, 5);
    // Not a member of the enum: the zero value, which error_name does not know.
    EXPECT_STREQ(error_name(r.error()), "?");
    Result<void> v = success();
    EXPECT_STREQ(error_name(v.error()), "?");
}

Result<std::unique_ptr<int>> doubled(bool ok) {
    std::unique_ptr<int> p = KEEL_TRY(make_ptr(ok));
    *p *= 2;
    return p;
}

Result<void> checked(bool ok) {
    KEEL_TRY(ok ? Result<void>(success()) : Result<void>(fail(Error::Closed)));
    return success();
}

TEST(Result, TryPropagatesTheErrorAndYieldsTheValue) {
    auto good = doubled(true);
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good.value(), 84);  // moved out of the inner Result, not copied
    auto bad = doubled(false);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), Error::NotOwner);
    EXPECT_TRUE(checked(true).ok());
    EXPECT_EQ(checked(false).error(), Error::Closed);
}

// The same template over another error enum (the kernel's system-call errors use it so).
enum class OtherError : std::int64_t { kOne = 1, kTwo = 2 };

Result<int, OtherError> other(bool ok) {
    if (!ok)
        return fail(OtherError::kTwo);
    return 3;
}

Result<int, OtherError> other_plus_one(bool ok) {
    return KEEL_TRY(other(ok)) + 1;
}

TEST(Result, WorksOverAnotherErrorEnum) {
    EXPECT_EQ(*other_plus_one(true), 4);
    EXPECT_EQ(other_plus_one(false).error(), OtherError::kTwo);
}

TEST(Result, VoidResult) {
    Result<void> ok = success();
    EXPECT_TRUE(ok.ok());
    EXPECT_TRUE(bool(ok));
    Result<void> bad = fail(Error::Closed);
    EXPECT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), Error::Closed);
}

TEST(Result, EveryErrorHasADistinctName) {
    std::set<std::string> names;
    for (int e = int(Error::Empty); e <= int(Error::BadLayout); ++e) {
        std::string name = error_name(Error(e));
        EXPECT_NE(name, "?") << e;
        names.insert(name);
    }
    EXPECT_EQ(names.size(), std::size_t(int(Error::BadLayout) - int(Error::Empty) + 1));
    EXPECT_STREQ(error_name(Error::ProtocolViolation), "ProtocolViolation");
    EXPECT_STREQ(error_name(Error(0x7777)), "?");
}

}  // namespace
}  // namespace keel::ipc
