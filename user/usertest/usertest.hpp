// What usertest's test files share (private to usertest): the names they use and a few
// handle queries.
#pragma once

#include <keel/c/format.hpp>
#include <keel/c/libc.hpp>
#include "testlib.hpp"

namespace keel::usertest {

using namespace keel::user;
using namespace keel::testlib;
using keel::abi::Kind;
using keel::abi::Meta;

inline constexpr char kReadOnly[16] = "read-only data";  // in .rodata: a pointer we may not write

inline int64_t get_u64(uint64_t h, Meta key, uint64_t* out) {
    return sys::do_io(h, Op::kGetMeta, out, sizeof *out, static_cast<uint64_t>(key));
}
inline uint64_t kind_of(uint64_t h) {
    uint64_t k = 0;
    return get_u64(h, Meta::kKind, &k) == 8 ? k : 0;
}
inline uint64_t rights_of(uint64_t h) {
    uint64_t r = 0;
    return get_u64(h, Meta::kRights, &r) == 8 ? r : ~0ull;
}
inline int64_t share(uint64_t h, uint64_t target, uint64_t rights) {
    return sys::do_io(h, Op::kShare, nullptr, 0, (rights << 32) | target);
}

}  // namespace keel::usertest
