// The command-line grammar: commands separated by ';', pipelines of stages separated by '|',
// each stage words with at most one '< file' and one '> file' or '>> file'.
#include <keel/c/format.hpp>

#include "shell.hpp"

namespace keel::shell {

namespace {

bool blank(char c) {
    return c == ' ' || c == '\t';
}
bool special(char c) {
    return c == '|' || c == ';' || c == '<' || c == '>';
}

}  // namespace

// One word from p (quotes and escapes resolved), NUL-terminated in storage_; nullptr, or a
// reason when a quote is not closed or the storage is full.
const char* Parser::word(const char*& p, const char* end, const char** out) {
    *out = storage_ + used_;
    const uint64_t limit = sizeof storage_ - 1;
    auto put = [&](char c) {
        if (used_ < limit)
            storage_[used_++] = c;
    };
    while (p < end && !blank(*p) && !special(*p)) {
        const char c = *p++;
        if (c == '\\') {
            if (p < end)
                put(*p++);
        } else if (c == '\'') {
            while (p < end && *p != '\'')
                put(*p++);
            if (p == end)
                return "unterminated '";
            ++p;
        } else if (c == '"') {
            while (p < end && *p != '"') {
                if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\' || p[1] == '$')) {
                    put(p[1]);
                    p += 2;
                } else if (*p == '$' && p + 1 < end && p[1] == '?') {
                    char n[24];
                    const size_t k = snformat(n, sizeof n, "%ld", last_status_);
                    for (size_t i = 0; i < k; ++i)
                        put(n[i]);
                    p += 2;
                } else {
                    put(*p++);
                }
            }
            if (p == end)
                return "unterminated \"";
            ++p;
        } else if (c == '$' && p < end && *p == '?') {
            char n[24];
            const size_t k = snformat(n, sizeof n, "%ld", last_status_);
            for (size_t i = 0; i < k; ++i)
                put(n[i]);
            ++p;
        } else {
            put(c);
        }
    }
    if (used_ >= limit)
        return "line too long";
    storage_[used_++] = '\0';
    return nullptr;
}

const char* Parser::parse(const char* line, uint64_t length, Pipeline* commands, int* count,
                          int max_commands) {
    const char* p = line;
    const char* end = line + length;
    *count = 0;
    Pipeline* cmd = nullptr;
    Stage* stage = nullptr;
    auto new_stage = [&]() -> const char* {
        if (cmd->count == kMaxStages)
            return "too many stages in a pipeline";
        stage = &cmd->stages[cmd->count++];
        *stage = Stage{};
        return nullptr;
    };
    for (;;) {
        while (p < end && blank(*p))
            ++p;
        if (p == end || *p == ';') {
            if (cmd != nullptr && stage != nullptr && stage->count == 0) {
                if (stage->output != nullptr || stage->input != nullptr || cmd->count > 1)
                    return cmd->count > 1 ? "a pipe leads nowhere"
                                          : "a redirection without a command";
                --cmd->count;  // an empty command
                if (cmd->count == 0)
                    --*count;
            }
            if (p == end)
                return nullptr;
            ++p;
            cmd = nullptr;
            stage = nullptr;
            continue;
        }
        if (cmd == nullptr) {
            if (*count == max_commands)
                return "too many commands on one line";
            cmd = &commands[(*count)++];
            cmd->count = 0;
            if (const char* why = new_stage())
                return why;
        }
        if (*p == '|') {
            if (stage->count == 0)
                return "a pipe without a command before it";
            ++p;
            if (const char* why = new_stage())
                return why;
            continue;
        }
        if (*p == '<' || *p == '>') {
            const bool in = *p == '<';
            ++p;
            bool append = false;
            if (!in && p < end && *p == '>') {
                append = true;
                ++p;
            }
            while (p < end && blank(*p))
                ++p;
            if (p == end || special(*p))
                return in ? "< needs a file name" : "> needs a file name";
            const char* target = nullptr;
            if (const char* why = word(p, end, &target))
                return why;
            if (in ? stage->input != nullptr : stage->output != nullptr)
                return "more than one redirection the same way";
            if (in) {
                stage->input = target;
            } else {
                stage->output = target;
                stage->append = append;
            }
            continue;
        }
        if (stage->count == kMaxWords)
            return "too many words";
        if (const char* why = word(p, end, &stage->words[stage->count]))
            return why;
        stage->words[++stage->count] = nullptr;
    }
}

}  // namespace keel::shell
