// Unit tests for module-string splitting and command-line joining.
#include <gtest/gtest.h>

#include <string>

#include "module_string.hpp"

namespace keel::loader {
namespace {

struct Split {
    std::string name, args;
};
Split split(const char* s, uint32_t name_cap = 64, uint32_t args_cap = 64) {
    char name[64], args[64];
    split_module_string(s, name, name_cap, args, args_cap);
    return {name, args};
}

TEST(ModuleString, NameIsTheLastPathComponentOfTheFirstWord) {
    EXPECT_EQ(split("/work/build/kernel/keel-kernel.elf test debug").name, "keel-kernel.elf");
    EXPECT_EQ(split("/work/build/kernel/keel-kernel.elf test debug").args, "test debug");
    EXPECT_EQ(split("  init   a  b").name, "init");
    EXPECT_EQ(split("  init   a  b").args, "a  b");
    EXPECT_EQ(split("dir/").name, "");
    EXPECT_EQ(split("").name, "");
    EXPECT_EQ(split("").args, "");
}

TEST(ModuleString, CutsToCapacity) {
    EXPECT_EQ(split("abcdefgh xyz", 4, 3).name, "abc");
    EXPECT_EQ(split("abcdefgh xyz", 4, 3).args, "xy");
    EXPECT_EQ(split("a b", 1, 1).name, "");
}

TEST(ModuleString, AppendWords) {
    char buf[12] = "";
    append_words(buf, sizeof buf, "");
    EXPECT_STREQ(buf, "");
    append_words(buf, sizeof buf, "test");
    EXPECT_STREQ(buf, "test");
    append_words(buf, sizeof buf, "");
    EXPECT_STREQ(buf, "test");
    append_words(buf, sizeof buf, "debug");
    EXPECT_STREQ(buf, "test debug");
    append_words(buf, sizeof buf, "overflowing");
    EXPECT_STREQ(buf, "test debug ");
    EXPECT_EQ(buf[11], '\0');
}

}  // namespace
}  // namespace keel::loader
