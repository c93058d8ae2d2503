#include "names.hpp"

#include <keel/c/mem.hpp>

namespace keel::user {

namespace {

bool skipped(const char* name, uint64_t length, const char* const* skip, int skip_count) {
    for (int i = 0; i < skip_count; ++i) {
        if (c::length(skip[i]) == length && c::compare(skip[i], name, length) == 0)
            return true;
    }
    return false;
}

// Binds `name` of `from` in `to` (the same object, the rights it was bound with). 0 or -Error.
int64_t copy_name(Handle from, Handle to, const char* name, uint64_t length) {
    const int64_t h = sys::do_io(from, Op::kOpen, name, length);
    if (h < 0)
        return h;
    const int64_t r = sys::do_io(to, Op::kCreate, name, length, static_cast<uint64_t>(h));
    (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    return r < 0 ? r : 0;
}

}  // namespace

int64_t copy_names(Handle from, Handle to, const char* const* skip, int skip_count) {
    uint64_t kind = 0;
    const int64_t k =
        sys::do_io(from, Op::kGetMeta, &kind, sizeof kind, static_cast<uint64_t>(abi::Meta::kKind));
    if (k < 0)
        return k;
    if (kind != static_cast<uint64_t>(abi::Kind::kRoot))
        return err(Error::kInvalidArgument);
    // Whole names one per line from a cursor (the entry index), so any number of them fits.
    char names[2048];
    uint64_t cursor = 0;
    for (;;) {
        const int64_t n = sys::do_io(from, Op::kRead, names, sizeof names, cursor);
        if (n <= 0)
            return n;
        uint64_t start = 0;
        for (uint64_t i = 0; i < static_cast<uint64_t>(n); ++i) {
            if (names[i] != '\n')
                continue;
            const uint64_t length = i - start;
            if (!skipped(names + start, length, skip, skip_count)) {
                const int64_t r = copy_name(from, to, names + start, length);
                if (r < 0)
                    return r;
            }
            start = i + 1;
            ++cursor;
        }
        if (start == 0)
            return err(Error::kInvalidArgument);  // not even one whole line: not a root's list
    }
}

}  // namespace keel::user
