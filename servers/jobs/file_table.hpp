// The job server's file table: with --gather DIR, every job gets, in place of the "cwd" of the
// root it was lent, the one gather directory, so the relative paths every job writes land in
// one central place; every other name of the lent root (console, input, ns, self, processes,
// whatever the caller bound) is passed on unchanged.
#pragma once

#include "runtime.hpp"

namespace keel::jobs {

// A new root holding every name of `lent` bound to the same object with the same rights, and
// "cwd" bound to `gather` (added when `lent` had none). The new root's handle (the caller
// closes it once the job has it), or -Error: kInvalidArgument when `lent` is not a root, what
// reading it or opening a name in it gives (kNoRights: no Read), kFull (more names than a root
// holds), kNoMemory. Nothing is left behind on failure.
int64_t gather_root(user::Handle lent, user::Handle gather);

}  // namespace keel::jobs
