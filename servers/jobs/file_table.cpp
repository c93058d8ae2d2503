#include "file_table.hpp"

#include "names.hpp"

namespace keel::jobs {

namespace {

constexpr char kCwd[] = "cwd";

}  // namespace

int64_t gather_root(user::Handle lent, user::Handle gather) {
    user::Handle made = 0;
    int64_t r = user::sys::object_new(abi::Kind::kRoot, 0, &made);
    if (r < 0)
        return r;
    const char* const skip[] = {kCwd};
    r = user::copy_names(lent, made, skip, 1);
    if (r >= 0)
        r = user::sys::do_io(made, user::Op::kCreate, kCwd, sizeof kCwd - 1, gather);
    if (r < 0) {
        (void)user::sys::do_io(made, user::Op::kClose);
        return r;
    }
    return made;
}

}  // namespace keel::jobs
