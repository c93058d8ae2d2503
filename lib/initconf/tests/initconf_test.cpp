// lib/initconf on the host: every rule of the format (lib/initconf/README.md) and every error,
// with its column; then whole files: bad lines reported with their numbers and skipped,
// duplicate names, the program limit, CRLF, a last line without '\n'.
#include <gtest/gtest.h>
#include <keel/initconf/initconf.hpp>

#include <string>
#include <vector>

namespace keel::initconf {
namespace {

struct Parsed {
    Outcome outcome;
    Entry entry;
    Error error;
};

Parsed parse(const std::string& line, uint32_t number = 7) {
    Parsed p{};
    p.outcome = parse_line(line.data(), line.size(), number, &p.entry, &p.error);
    return p;
}

// The error a line gives: its column and reason (the line number is checked once below).
void refuse(const std::string& line, uint32_t column, const char* reason) {
    const Parsed p = parse(line);
    ASSERT_EQ(p.outcome, Outcome::kError) << line;
    EXPECT_EQ(p.error.line, 7u) << line;
    EXPECT_EQ(p.error.column, column) << line;
    EXPECT_STREQ(p.error.reason, reason) << line;
}

TEST(InitconfLine, MinimalEntry) {
    const Parsed p = parse("console bin/console");
    ASSERT_EQ(p.outcome, Outcome::kEntry);
    EXPECT_STREQ(p.entry.name, "console");
    EXPECT_EQ(p.entry.name_length, 7u);
    EXPECT_STREQ(p.entry.program, "bin/console");
    EXPECT_EQ(p.entry.program_length, 11u);
    EXPECT_EQ(p.entry.restart, Restart::kNever);
    EXPECT_EQ(p.entry.give_count, 0u);
    EXPECT_FALSE(p.entry.has_args);
    EXPECT_EQ(p.entry.args_length, 0u);
}

TEST(InitconfLine, EveryOption) {
    const Parsed p = parse(
        "  net-0\t sbin/netd  give=dev/virtio_net0:nic restart=on-failure  give=net "
        "--  -v  --port 80 \t ");
    ASSERT_EQ(p.outcome, Outcome::kEntry) << p.error.reason;
    EXPECT_STREQ(p.entry.name, "net-0");
    EXPECT_STREQ(p.entry.program, "sbin/netd");
    EXPECT_EQ(p.entry.restart, Restart::kOnFailure);
    ASSERT_EQ(p.entry.give_count, 2u);
    EXPECT_STREQ(p.entry.gives[0].path, "dev/virtio_net0");
    EXPECT_STREQ(p.entry.gives[0].as, "nic");
    EXPECT_EQ(p.entry.gives[0].as_length, 3u);
    EXPECT_STREQ(p.entry.gives[1].path, "net");
    EXPECT_STREQ(p.entry.gives[1].as, "net");  // the last component by default
    EXPECT_TRUE(p.entry.has_args);
    EXPECT_STREQ(p.entry.args, "-v  --port 80");  // inner blanks kept, outer ones cut
    EXPECT_EQ(p.entry.args_length, 13u);
}

TEST(InitconfLine, RestartValues) {
    EXPECT_EQ(parse("a b restart=never").entry.restart, Restart::kNever);
    EXPECT_EQ(parse("a b restart=on-failure").entry.restart, Restart::kOnFailure);
    EXPECT_EQ(parse("a b restart=always").entry.restart, Restart::kAlways);
    refuse("a b restart=sometimes", 13, "restart must be never, on-failure or always");
    refuse("a b restart=", 13, "restart must be never, on-failure or always");
    refuse("a b restart=Always", 13, "restart must be never, on-failure or always");
    refuse("a b restart=always restart=never", 20, "restart= given twice");
}

TEST(InitconfLine, Ready) {
    const Parsed p = parse("fs bin/fat give=srv ready=mnt/disk -- blk0/1 disk");
    ASSERT_EQ(p.outcome, Outcome::kEntry);
    EXPECT_STREQ(p.entry.ready, "mnt/disk");
    EXPECT_EQ(p.entry.ready_length, 8u);
    EXPECT_EQ(parse("a b").entry.ready_length, 0u);
    refuse("a b ready=x ready=y", 13, "ready= given twice");
    refuse("a b ready=", 11, "empty path");
    refuse("a b ready=/x", 11, "absolute path (paths are relative to the image)");
    refuse("a b ready=x/../y", 13, "'..' component (a path must stay inside the image)");
}

TEST(InitconfLine, BlankAndCommentLines) {
    for (const char* s :
         {"", "   ", "\t", "# a comment", "   # indented comment", "#", "\r", "  \r"})
        EXPECT_EQ(parse(s).outcome, Outcome::kSkip) << s;
}

TEST(InitconfLine, Names) {
    EXPECT_EQ(parse(std::string(32, 'a') + " p").outcome, Outcome::kEntry);
    EXPECT_EQ(parse("a_-09z p").outcome, Outcome::kEntry);
    refuse(std::string(33, 'a') + " p", 33, "name longer than 32 characters");
    refuse("Console p", 1, "a name may hold only a-z, 0-9, '_' and '-'");
    refuse("con.sole p", 4, "a name may hold only a-z, 0-9, '_' and '-'");
    refuse("  caf\xc3\xa9 p", 6, "a name may hold only a-z, 0-9, '_' and '-'");
    refuse("name", 5, "missing program path after the name");
    refuse("name   ", 8, "missing program path after the name");
}

TEST(InitconfLine, Paths) {
    EXPECT_EQ(parse("a " + std::string(128, 'p')).outcome, Outcome::kEntry);
    EXPECT_EQ(parse("a bin/caf\xc3\xa9#1=x").outcome, Outcome::kEntry);  // any non-blank byte
    refuse("a " + std::string(129, 'p'), 131, "path longer than 128 bytes");
    refuse("a /bin/sh", 3, "absolute path (paths are relative to the image)");
    refuse("a bin//sh", 7, "empty path component ('//' or a trailing '/')");
    refuse("a bin/", 7, "empty path component ('//' or a trailing '/')");
    refuse("a ./bin/sh", 3, "'.' component in a path");
    refuse("a bin/./sh", 7, "'.' component in a path");
    refuse("a bin/../../sh", 7, "'..' component (a path must stay inside the image)");
    refuse("a ..", 3, "'..' component (a path must stay inside the image)");
    EXPECT_EQ(parse("a ..a/b..").outcome, Outcome::kEntry);  // not ".." itself
}

TEST(InitconfLine, Gives) {
    std::string sixteen = "a b";
    for (int i = 0; i < 16; ++i)
        sixteen += " give=dev/d" + std::to_string(i);
    const Parsed p = parse(sixteen);
    ASSERT_EQ(p.outcome, Outcome::kEntry);
    EXPECT_EQ(p.entry.give_count, 16u);
    EXPECT_STREQ(p.entry.gives[15].as, "d15");
    refuse(sixteen + " give=x", static_cast<uint32_t>(sixteen.size()) + 2,
           "more than 16 give= options");
    refuse("a b give=", 10, "empty path");
    refuse("a b give=:x", 10, "empty path");
    refuse("a b give=/dev/x", 10, "absolute path (paths are relative to the image)");
    refuse("a b give=dev/../x", 14, "'..' component (a path must stay inside the image)");
    refuse("a b give=dev/x:", 16, "empty name after ':'");
    refuse("a b give=dev/x:Y", 16, "a name may hold only a-z, 0-9, '_' and '-'");
    refuse("a b give=dev/x:y:z", 17, "a name may hold only a-z, 0-9, '_' and '-'");
    refuse("a b give=dev/x:" + std::string(33, 'y'), 48, "name longer than 32 characters");
    refuse("a b give=dev/Serial.0", 14,
           "the path's last component is not a valid name: give it one with ':AS'");
    EXPECT_STREQ(parse("a b give=dev/Serial.0:serial").entry.gives[0].as, "serial");
    refuse("a b give=dev/x give=fs/x", 24, "two objects given under the same name");
    refuse("a b give=dev/x:y give=y", 23, "two objects given under the same name");
    EXPECT_EQ(parse("a b give=dev/x give=fs/x:y").outcome, Outcome::kEntry);
    EXPECT_EQ(parse("a b give=x give=x:y").outcome, Outcome::kEntry);  // one object, two names
    refuse("a b give=" + std::string(129, 'p'), 138, "path longer than 128 bytes");
}

// Devices by PCI identity: give=device:VVVV:DDDD[#N][:AS].
TEST(InitconfLine, DeviceGives) {
    Parsed p = parse("blk bin/virtio-blk give=device:1af4:1042 give=srv");
    ASSERT_EQ(p.outcome, Outcome::kEntry);
    ASSERT_EQ(p.entry.give_count, 2u);
    const Give& g = p.entry.gives[0];
    EXPECT_TRUE(g.is_device);
    EXPECT_EQ(g.vendor, 0x1af4);
    EXPECT_EQ(g.device_id, 0x1042);
    EXPECT_EQ(g.index, 1u);
    EXPECT_STREQ(g.path, "device:1af4:1042");
    EXPECT_EQ(g.path_length, 16u);
    EXPECT_STREQ(g.as, "device");
    EXPECT_EQ(g.as_length, 6u);
    EXPECT_FALSE(p.entry.gives[1].is_device);
    p = parse("blk bin/virtio-blk give=device:1AF4:10ff#12:disk");
    ASSERT_EQ(p.outcome, Outcome::kEntry);
    EXPECT_EQ(p.entry.gives[0].device_id, 0x10ff);
    EXPECT_EQ(p.entry.gives[0].index, 12u);
    EXPECT_STREQ(p.entry.gives[0].path, "device:1AF4:10ff#12");
    EXPECT_STREQ(p.entry.gives[0].as, "disk");
    EXPECT_EQ(parse("a b give=device:1af4:1042#99").entry.gives[0].index, 99u);
    refuse("a b give=device:1af4:1042#0", 27, "a device's #N must be 1 to 99");
    refuse("a b give=device:1af4:1042#100", 27, "a device's #N must be 1 to 99");
    refuse("a b give=device:1af4:1042#", 27, "a device's #N must be 1 to 99");
    refuse("a b give=device:1af4:1042#x", 27, "a device's #N must be 1 to 99");
    refuse("a b give=device:1af4:10421", 26, "a device give is device:VVVV:DDDD[#N][:AS]");
    refuse("a b give=device:1af4:1042:", 27, "empty name after ':'");
    refuse("a b give=device:1af4:1042:Disk", 27, "a name may hold only a-z, 0-9, '_' and '-'");
    refuse("a b give=device:1af4:1042 give=device:1af4:1042#2", 27,
           "two objects given under the same name");
    EXPECT_EQ(parse("a b give=device:1af4:1042 give=device:1af4:1042#2:second").outcome,
              Outcome::kEntry);
    // Not the device pattern: the path rules, as before ("device" given under another name).
    p = parse("a b give=device:x");
    ASSERT_EQ(p.outcome, Outcome::kEntry);
    EXPECT_FALSE(p.entry.gives[0].is_device);
    EXPECT_STREQ(p.entry.gives[0].path, "device");
    EXPECT_STREQ(p.entry.gives[0].as, "x");
    refuse("a b give=device:1af4:104", 21, "a name may hold only a-z, 0-9, '_' and '-'");
}

TEST(InitconfLine, Arguments) {
    Parsed p = parse("a b --");
    ASSERT_EQ(p.outcome, Outcome::kEntry);
    EXPECT_TRUE(p.entry.has_args);
    EXPECT_EQ(p.entry.args_length, 0u);
    p = parse("a b -- restart=always give=x # not a comment --");
    ASSERT_EQ(p.outcome, Outcome::kEntry);
    EXPECT_EQ(p.entry.restart, Restart::kNever);  // after "--" nothing is an option
    EXPECT_EQ(p.entry.give_count, 0u);
    EXPECT_STREQ(p.entry.args, "restart=always give=x # not a comment --");
    EXPECT_EQ(parse("a b -- " + std::string(1024, 'x')).entry.args_length, 1024u);
    refuse("a b -- " + std::string(1025, 'x'), 8 + 1024, "arguments longer than 1024 bytes");
    refuse("a b --x", 5, "unknown option (expected restart=, give=, ready= or --)");
    refuse("a b -v", 5, "unknown option (expected restart=, give=, ready= or --)");
    refuse("a b # trailing comment", 5, "unknown option (expected restart=, give=, ready= or --)");
    refuse("a b Give=x", 5, "unknown option (expected restart=, give=, ready= or --)");
    refuse("a b restart", 5, "unknown option (expected restart=, give=, ready= or --)");
}

TEST(InitconfLine, BytesAndLength) {
    refuse(std::string("a b\0c", 5), 4, "control character");
    refuse("a b -- x\x1b[2J", 9, "control character");
    refuse("a\x7f b", 2, "control character");
    refuse("# comment\x01", 10, "control character");    // a comment is checked too
    EXPECT_EQ(parse("a b\r").outcome, Outcome::kEntry);  // CRLF files
    refuse("a b\r\r", 4, "control character");
    refuse(std::string(8193, ' '), 8193, "line longer than 8192 bytes");
    EXPECT_EQ(parse(std::string(8192, ' ')).outcome, Outcome::kSkip);
}

struct Seen {
    std::vector<std::string> names;
    std::vector<Error> errors;
};

Seen walk(const std::string& text) {
    Parser parser(text.data(), text.size());
    Seen seen;
    Entry e;
    Error err;
    for (;;) {
        const Outcome o = parser.next(&e, &err);
        if (o == Outcome::kEnd)
            break;
        if (o == Outcome::kEntry)
            seen.names.push_back(e.name);
        else
            seen.errors.push_back(err);
    }
    EXPECT_EQ(parser.next(&e, &err), Outcome::kEnd);
    return seen;
}

TEST(InitconfFile, BadLinesAreReportedAndSkipped) {
    const Seen s = walk(
        "# init's programs\n"
        "\n"
        "console bin/console restart=always give=dev/serial0\n"
        "Bad bin/x\n"
        "fs bin/fs give=dev/virtio_blk0:disk -- --read-only\n"
        "console bin/other\n"
        "   shell   bin/sh give=console restart=maybe\n"
        "shell bin/sh\n"
        "last bin/last");  // no final newline
    EXPECT_EQ(s.names, (std::vector<std::string>{"console", "fs", "shell", "last"}));
    ASSERT_EQ(s.errors.size(), 3u);
    EXPECT_EQ(s.errors[0].line, 4u);
    EXPECT_EQ(s.errors[0].column, 1u);
    EXPECT_EQ(s.errors[1].line, 6u);
    EXPECT_EQ(s.errors[1].column, 1u);
    EXPECT_STREQ(s.errors[1].reason, "duplicate program name (an earlier line has it)");
    EXPECT_EQ(s.errors[2].line, 7u);
    EXPECT_EQ(s.errors[2].column, 40u);  // the value after "restart="
    EXPECT_STREQ(s.errors[2].reason, "restart must be never, on-failure or always");
}

TEST(InitconfFile, DuplicateColumnIsTheName) {
    const Seen s = walk("a b\n  \ta c\n");
    ASSERT_EQ(s.errors.size(), 1u);
    EXPECT_EQ(s.errors[0].line, 2u);
    EXPECT_EQ(s.errors[0].column, 4u);
}

TEST(InitconfFile, CrlfAndEmptyInput) {
    const Seen s = walk("a b\r\n\r\nc d -- x\r\n");
    EXPECT_EQ(s.names, (std::vector<std::string>{"a", "c"}));
    EXPECT_TRUE(s.errors.empty());
    EXPECT_TRUE(walk("").names.empty());
    EXPECT_TRUE(walk("\n\n\n").errors.empty());
}

TEST(InitconfFile, ProgramLimit) {
    std::string text;
    for (int i = 0; i < 66; ++i)
        text += "p" + std::to_string(i) + " bin/x\n";
    const Seen s = walk(text);
    EXPECT_EQ(s.names.size(), 64u);
    ASSERT_EQ(s.errors.size(), 2u);
    EXPECT_EQ(s.errors[0].line, 65u);
    EXPECT_STREQ(s.errors[0].reason, "more than 64 programs");
    // A duplicate is still reported as one past the limit.
    const Seen d = walk(text + "p0 bin/y\n");
    EXPECT_STREQ(d.errors.back().reason, "duplicate program name (an earlier line has it)");
}

TEST(InitconfFile, ErrorLinesCountEveryLine) {
    const Seen s = walk("\n#\n\nx\n");
    ASSERT_EQ(s.errors.size(), 1u);
    EXPECT_EQ(s.errors[0].line, 4u);
    EXPECT_STREQ(s.errors[0].reason, "missing program path after the name");
}

}  // namespace
}  // namespace keel::initconf
