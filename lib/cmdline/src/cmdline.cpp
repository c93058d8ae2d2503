#include <keel/cmdline/cmdline.hpp>

namespace keel::cmdline {

namespace {

bool blank(char c) {
    return c == ' ' || c == '\t';
}
bool special(char c) {
    return c == '|' || c == ';' || c == '&' || c == '<' || c == '>';
}

}  // namespace

void Parser::put(char c) {
    if (used_ + 1 < sizeof storage_)
        storage_[used_++] = c;
    else
        overflow_ = true;
}

void Parser::put_status() {
    // Decimal, by hand: this library has no formatter.
    char digits[24];
    int n = 0;
    const bool negative = last_status_ < 0;
    uint64_t v =
        negative ? 0 - static_cast<uint64_t>(last_status_) : static_cast<uint64_t>(last_status_);
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (negative)
        put('-');
    while (n > 0)
        put(digits[--n]);
}

// One word from p (quotes and escapes resolved), NUL-terminated in storage_; nullptr, or a
// reason when a quote is not closed.
const char* Parser::word(const char*& p, const char* end, const char** out) {
    *out = storage_ + used_;
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
                    put_status();
                    p += 2;
                } else {
                    put(*p++);
                }
            }
            if (p == end)
                return "unterminated \"";
            ++p;
        } else if (c == '$' && p < end && *p == '?') {
            put_status();
            ++p;
        } else {
            put(c);
        }
    }
    if (overflow_ || used_ + 1 >= sizeof storage_)
        return "line too long";
    storage_[used_++] = '\0';
    return nullptr;
}

const char* Parser::parse(const char* line, uint64_t length, Pipeline* commands, int* count,
                          int max_commands) {
    used_ = 0;
    overflow_ = false;
    *count = 0;
    if (length > kMaxLine)
        return "line too long";
    const char* p = line;
    const char* end = line + length;
    Pipeline* cmd = nullptr;
    Stage* stage = nullptr;
    for (;;) {
        while (p < end && blank(*p))
            ++p;
        if (p < end && *p == '#')  // a comment: the rest of the line (only where a word starts)
            p = end;
        if (p == end || *p == ';' || *p == '&') {
            const bool background = p < end && *p == '&';
            if (background && stage == nullptr)
                return "& without a command before it";
            // The end of a command: a stage left empty is an error unless the whole command is.
            if (stage != nullptr && stage->count == 0) {
                if (cmd->count > 1)
                    return "a pipe leads nowhere";
                return "a redirection without a command";
            }
            if (background)
                cmd->background = true;
            if (p == end)
                return nullptr;
            ++p;
            cmd = nullptr;
            stage = nullptr;
            continue;
        }
        if (*p == '|') {
            if (stage == nullptr || stage->count == 0)
                return "a pipe without a command before it";
            ++p;
            if (cmd->count == kMaxStages)
                return "too many stages in a pipeline";
            stage = &cmd->stages[cmd->count++];
            *stage = Stage{};
            continue;
        }
        if (cmd == nullptr) {
            if (*count == max_commands)
                return "too many commands on one line";
            cmd = &commands[(*count)++];
            cmd->count = 1;
            cmd->background = false;
            stage = &cmd->stages[0];
            *stage = Stage{};
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

int split_args(const char* args, uint64_t length, char* storage, uint64_t storage_size,
               const char** words, int max_words) {
    int count = 0;
    uint64_t out = 0;
    uint64_t i = 0;
    while (i < length) {
        while (i < length && args[i] == ' ')
            ++i;
        if (i == length)
            break;
        if (count == max_words)
            return -1;
        words[count++] = storage + out;
        bool quoted = false;
        for (; i < length && (quoted || args[i] != ' '); ++i) {
            char c = args[i];
            if (c == '"') {
                quoted = !quoted;
                continue;
            }
            if (c == '\\' && i + 1 < length &&
                (!quoted || args[i + 1] == '"' || args[i + 1] == '\\')) {
                c = args[++i];
            }
            if (out + 1 >= storage_size)
                return -1;
            storage[out++] = c;
        }
        if (quoted || out >= storage_size)
            return -1;
        storage[out++] = '\0';
    }
    return count;
}

uint64_t quote_args(const char* const* words, int count, char* out, uint64_t size) {
    uint64_t n = 0;
    for (int i = 0; i < count; ++i) {
        if (n + 3 > size)
            return size + 1;
        if (i > 0)
            out[n++] = ' ';
        out[n++] = '"';
        for (const char* p = words[i]; *p != '\0'; ++p) {
            if (n + 3 > size)
                return size + 1;
            if (*p == '"' || *p == '\\')
                out[n++] = '\\';
            out[n++] = *p;
        }
        out[n++] = '"';
    }
    return n;
}

}  // namespace keel::cmdline
