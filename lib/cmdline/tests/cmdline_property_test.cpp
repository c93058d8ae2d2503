// Properties of lib/cmdline against a model: any words, quoted with quote_args, split back to
// exactly those words; a line built from random words (each written with one of the grammar's
// quotings), redirections and operators parses into exactly the pipelines it was built from.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <keel/cmdline/cmdline.hpp>

#include <string>
#include <vector>

namespace keel::cmdline {
namespace {

// Words of any bytes but NUL (the argument string cannot hold NUL inside a word).
rc::Gen<std::string> any_word() {
    return rc::gen::container<std::string>(rc::gen::inRange<char>(1, 127));
}

RC_GTEST_PROP(Args, QuoteThenSplitIsIdentity, ()) {
    const auto words = *rc::gen::container<std::vector<std::string>>(any_word());
    RC_PRE(words.size() <= 32);
    std::vector<const char*> in;
    for (const auto& w : words)
        in.push_back(w.c_str());
    std::string line(8192, '\0');
    const uint64_t n = quote_args(in.data(), static_cast<int>(in.size()), line.data(), line.size());
    RC_ASSERT(n <= line.size());
    std::vector<char> storage(8192);
    const char* out[40];
    const int count = split_args(line.data(), n, storage.data(), storage.size(), out, 40);
    RC_ASSERT(count == static_cast<int>(words.size()));
    for (size_t i = 0; i < words.size(); ++i)
        RC_ASSERT(std::string(out[i]) == words[i]);
}

// A word written the way a person might: bare with escapes, in '...' or in "...".
std::string write_word(const std::string& w, int how) {
    std::string s;
    if (how == 1 && w.find('\'') == std::string::npos)
        return "'" + w + "'";
    if (how == 2) {
        s = "\"";
        for (char c : w) {
            if (c == '"' || c == '\\' || c == '$')
                s += '\\';
            s += c;
        }
        return s + "\"";
    }
    for (char c : w) {
        if (c == ' ' || c == '\t' || c == '\\' || c == '\'' || c == '"' || c == '|' || c == ';' ||
            c == '&' || c == '#' || c == '<' || c == '>' || c == '$')
            s += '\\';
        s += c;
    }
    return s;
}

struct ModelStage {
    std::vector<std::string> words;
    std::string in, out;
    bool append = false;
};

RC_GTEST_PROP(Parse, BuiltLinesParseIntoTheirPipelines, ()) {
    const auto printable = rc::gen::inRange<char>(32, 127);
    const auto word = rc::gen::nonEmpty(rc::gen::container<std::string>(printable));
    const int commands = *rc::gen::inRange(1, 5);
    std::vector<std::vector<ModelStage>> model;
    std::vector<bool> background;
    std::string line;
    for (int c = 0; c < commands; ++c) {
        if (c > 0) {
            background.push_back(*rc::gen::arbitrary<bool>());
            line += background.back() ? *rc::gen::element<std::string>("&", " & ", "&  ")
                                      : *rc::gen::element<std::string>(";", " ; ", ";  ");
        }
        model.emplace_back();
        const int stages = *rc::gen::inRange(1, 4);
        for (int s = 0; s < stages; ++s) {
            if (s > 0)
                line += *rc::gen::element<std::string>("|", " | ");
            ModelStage st;
            const int words = *rc::gen::inRange(1, 5);
            for (int w = 0; w < words; ++w) {
                st.words.push_back(*rc::gen::resize(8, word));
                line += " " + write_word(st.words.back(), *rc::gen::inRange(0, 3));
            }
            if (s == 0 && *rc::gen::inRange(0, 4) == 0) {
                st.in = *rc::gen::resize(8, word);
                line += " <" + write_word(st.in, 0);
            }
            if (s == stages - 1 && *rc::gen::inRange(0, 4) == 0) {
                st.out = *rc::gen::resize(8, word);
                st.append = *rc::gen::arbitrary<bool>();
                line += std::string(st.append ? " >> " : " > ") + write_word(st.out, 2);
            }
            model.back().push_back(st);
        }
    }
    // The last command ended by '&', by ';', by nothing, or followed by a comment.
    background.push_back(*rc::gen::arbitrary<bool>());
    if (background.back())
        line += " &";
    else if (*rc::gen::arbitrary<bool>())
        line += ";";
    if (*rc::gen::arbitrary<bool>())
        line += " #" + *rc::gen::resize(8, word);
    RC_PRE(line.size() <= kMaxLine);
    static Parser parser(0);
    parser = Parser(0);
    static Pipeline got[kMaxCommands];
    int count = 0;
    const char* why = parser.parse(line.data(), line.size(), got, &count, kMaxCommands);
    RC_ASSERT(why == nullptr);
    RC_ASSERT(count == commands);
    for (int c = 0; c < commands; ++c) {
        RC_ASSERT(got[c].count == static_cast<int>(model[c].size()));
        RC_ASSERT(got[c].background == background[c]);
        for (int s = 0; s < got[c].count; ++s) {
            const Stage& st = got[c].stages[s];
            const ModelStage& m = model[c][s];
            RC_ASSERT(st.count == static_cast<int>(m.words.size()));
            for (int w = 0; w < st.count; ++w)
                RC_ASSERT(std::string(st.words[w]) == m.words[w]);
            RC_ASSERT((st.input == nullptr) == m.in.empty());
            if (st.input != nullptr)
                RC_ASSERT(std::string(st.input) == m.in);
            RC_ASSERT((st.output == nullptr) == m.out.empty());
            if (st.output != nullptr) {
                RC_ASSERT(std::string(st.output) == m.out);
                RC_ASSERT(st.append == m.append);
            }
        }
    }
}

}  // namespace
}  // namespace keel::cmdline
