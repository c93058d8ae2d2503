// The shell's grammar and the argument words, rule by rule and error by error.
#include <gtest/gtest.h>
#include <keel/cmdline/cmdline.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace keel::cmdline {
namespace {

struct Parsed {
    const char* error = nullptr;
    std::vector<std::vector<std::vector<std::string>>> words;  // command, stage, word
    Pipeline commands[kMaxCommands];
    int count = 0;
};

Parsed parse(const std::string& line, int64_t status = 0) {
    static Parser* parser = nullptr;
    delete parser;
    parser = new Parser(status);
    Parsed r;
    r.error = parser->parse(line.data(), line.size(), r.commands, &r.count, kMaxCommands);
    if (r.error == nullptr) {
        for (int c = 0; c < r.count; ++c) {
            r.words.emplace_back();
            for (int s = 0; s < r.commands[c].count; ++s) {
                r.words.back().emplace_back();
                const Stage& st = r.commands[c].stages[s];
                for (int w = 0; w < st.count; ++w)
                    r.words.back().back().emplace_back(st.words[w]);
                EXPECT_EQ(st.words[st.count], nullptr);
            }
        }
    }
    return r;
}

using Words = std::vector<std::string>;

TEST(Parse, WordsBlanksAndQuotes) {
    const Parsed p = parse("  echo  'a  b' \"c d\" e\\ f\tg ");
    ASSERT_EQ(p.error, nullptr);
    ASSERT_EQ(p.count, 1);
    EXPECT_EQ(p.words[0][0], (Words{"echo", "a  b", "c d", "e f", "g"}));
}

TEST(Parse, QuotesJoinWithTheWordAround) {
    const Parsed p = parse("a'b'\"c\"d");
    ASSERT_EQ(p.error, nullptr);
    EXPECT_EQ(p.words[0][0], (Words{"abcd"}));
}

TEST(Parse, StatusExpandsOutsideSingleQuotes) {
    const Parsed p = parse("echo $? \"s=$?\" '$?' \\$? \"\\$?\"", 127);
    ASSERT_EQ(p.error, nullptr);
    EXPECT_EQ(p.words[0][0], (Words{"echo", "127", "s=127", "$?", "$?", "$?"}));
    EXPECT_EQ(parse("echo $?", -3).words[0][0], (Words{"echo", "-3"}));
    EXPECT_EQ(parse("echo $x $", 0).words[0][0], (Words{"echo", "$x", "$"}));
}

TEST(Parse, PipelinesCommandsAndRedirections) {
    const Parsed p = parse("cat<in|upper|wc>>out;ls / ; echo x > f");
    ASSERT_EQ(p.error, nullptr);
    ASSERT_EQ(p.count, 3);
    ASSERT_EQ(p.commands[0].count, 3);
    EXPECT_STREQ(p.commands[0].stages[0].input, "in");
    EXPECT_STREQ(p.commands[0].stages[2].output, "out");
    EXPECT_TRUE(p.commands[0].stages[2].append);
    EXPECT_EQ(p.words[0][1], (Words{"upper"}));
    EXPECT_EQ(p.words[1][0], (Words{"ls", "/"}));
    EXPECT_STREQ(p.commands[2].stages[0].output, "f");
    EXPECT_FALSE(p.commands[2].stages[0].append);
}

TEST(Parse, BackgroundCommandsEndWithAnAmpersand) {
    const Parsed p = parse("cksum a -o a.sum & cat<in|wc &ls;wait");
    ASSERT_EQ(p.error, nullptr);
    ASSERT_EQ(p.count, 4);
    EXPECT_TRUE(p.commands[0].background);
    EXPECT_EQ(p.words[0][0], (Words{"cksum", "a", "-o", "a.sum"}));
    EXPECT_TRUE(p.commands[1].background);
    EXPECT_EQ(p.commands[1].count, 2);
    EXPECT_STREQ(p.commands[1].stages[0].input, "in");
    EXPECT_FALSE(p.commands[2].background);
    EXPECT_FALSE(p.commands[3].background);
    // Quoted or escaped, & is a byte of a word.
    const Parsed q = parse("echo '&' \\& \"a&b\"");
    ASSERT_EQ(q.error, nullptr);
    EXPECT_FALSE(q.commands[0].background);
    EXPECT_EQ(q.words[0][0], (Words{"echo", "&", "&", "a&b"}));
}

TEST(Parse, CommentsRunToTheEndOfTheLine) {
    const Parsed p = parse("echo a # b; rm x & |");
    ASSERT_EQ(p.error, nullptr);
    ASSERT_EQ(p.count, 1);
    EXPECT_EQ(p.words[0][0], (Words{"echo", "a"}));
    EXPECT_EQ(parse("  # only a comment").count, 0);
    // Inside a word, quoted or escaped, # is a byte.
    EXPECT_EQ(parse("echo a#b '#c' \\#d").words[0][0], (Words{"echo", "a#b", "#c", "#d"}));
    EXPECT_TRUE(parse("sleep 1 &# later").commands[0].background);
}

TEST(Parse, EmptyCommandsAreNothing) {
    EXPECT_EQ(parse("").count, 0);
    EXPECT_EQ(parse(" ; ;; ").count, 0);
    const Parsed p = parse(";ls;;pwd;");
    ASSERT_EQ(p.error, nullptr);
    EXPECT_EQ(p.count, 2);
}

TEST(Parse, MalformedLinesAreRefusedWithAReason) {
    EXPECT_STREQ(parse("echo 'open").error, "unterminated '");
    EXPECT_STREQ(parse("echo \"open").error, "unterminated \"");
    EXPECT_STREQ(parse("| wc").error, "a pipe without a command before it");
    EXPECT_STREQ(parse("ls || wc").error, "a pipe without a command before it");
    EXPECT_STREQ(parse("ls |").error, "a pipe leads nowhere");
    EXPECT_STREQ(parse("ls | ; wc").error, "a pipe leads nowhere");
    EXPECT_STREQ(parse("> f").error, "a redirection without a command");
    EXPECT_STREQ(parse("echo >").error, "> needs a file name");
    EXPECT_STREQ(parse("echo > | wc").error, "> needs a file name");
    EXPECT_STREQ(parse("cat <").error, "< needs a file name");
    EXPECT_STREQ(parse("echo > a > b").error, "more than one redirection the same way");
    EXPECT_STREQ(parse("cat < a < b").error, "more than one redirection the same way");
    EXPECT_STREQ(parse("& ls").error, "& without a command before it");
    EXPECT_STREQ(parse("ls && wc").error, "& without a command before it");
    EXPECT_STREQ(parse("ls; & wc").error, "& without a command before it");
    EXPECT_STREQ(parse("ls | &").error, "a pipe leads nowhere");
    EXPECT_STREQ(parse("> f &").error, "a redirection without a command");
}

TEST(Parse, Limits) {
    std::string words = "echo";
    for (int i = 0; i < kMaxWords; ++i)
        words += " w";
    EXPECT_STREQ(parse(words).error, "too many words");
    std::string stages = "a";
    for (int i = 0; i < kMaxStages; ++i)
        stages += "|a";
    EXPECT_STREQ(parse(stages).error, "too many stages in a pipeline");
    std::string commands = "a";
    for (int i = 0; i < kMaxCommands; ++i)
        commands += ";a";
    EXPECT_STREQ(parse(commands).error, "too many commands on one line");
    EXPECT_STREQ(parse(std::string(kMaxLine + 1, 'x')).error, "line too long");
    EXPECT_EQ(parse(std::string(kMaxLine, 'x')).error, nullptr);
    // $? grows a word: a line of them cannot overrun the storage.
    std::string statuses;
    while (statuses.size() + 3 <= kMaxLine)
        statuses += " $?";
    const Parsed p = parse("e" + statuses, INT64_MIN);
    EXPECT_TRUE(p.error == nullptr || std::strcmp(p.error, "line too long") == 0 ||
                std::strcmp(p.error, "too many words") == 0);
}

TEST(Args, SplitsQuotesAndEscapes) {
    char storage[256];
    const char* words[8];
    const std::string s = "  a \"b c\" d\\ e \"f\\\"g\\\\h\" \"\" ";
    ASSERT_EQ(split_args(s.data(), s.size(), storage, sizeof storage, words, 8), 5);
    EXPECT_STREQ(words[0], "a");
    EXPECT_STREQ(words[1], "b c");
    EXPECT_STREQ(words[2], "d e");
    EXPECT_STREQ(words[3], "f\"g\\h");
    EXPECT_STREQ(words[4], "");
}

TEST(Args, RefusesWhatDoesNotFit) {
    char storage[8];
    const char* words[2];
    EXPECT_EQ(split_args("a b c", 5, storage, sizeof storage, words, 2), -1);
    EXPECT_EQ(split_args("abcdefgh", 8, storage, sizeof storage, words, 2), -1);
    EXPECT_EQ(split_args("\"open", 5, storage, sizeof storage, words, 2), -1);
    EXPECT_EQ(split_args("", 0, storage, sizeof storage, words, 2), 0);
}

TEST(Args, QuotedWordsSplitBackTheSame) {
    const char* in[] = {"plain", "with space", "quote\"inside", "back\\slash", "", "$?|;<>"};
    char line[256];
    const uint64_t n = quote_args(in, 6, line, sizeof line);
    ASSERT_LE(n, sizeof line);
    char storage[256];
    const char* out[8];
    ASSERT_EQ(split_args(line, n, storage, sizeof storage, out, 8), 6);
    for (int i = 0; i < 6; ++i)
        EXPECT_STREQ(out[i], in[i]);
    EXPECT_EQ(quote_args(in, 6, line, 10), 11u);  // does not fit
}

}  // namespace
}  // namespace keel::cmdline
