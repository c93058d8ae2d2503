// Copying a root's names into another root: how a program hands a child the name space it was
// given with a few names changed (the job server's file table, `with`'s process table).
#pragma once

#include "syscall.hpp"

namespace keel::user {

// Binds every name of the root `from` in the root `to`, each to the same object with the rights
// it was bound with, except the `skip_count` names of `skip`. 0 or -Error: kInvalidArgument
// when `from` is not a root, what reading it or opening a name in it gives (kNoRights without
// Read), what binding in `to` gives (kExists, kFull). Names bound before a failure stay bound.
int64_t copy_names(Handle from, Handle to, const char* const* skip, int skip_count);

}  // namespace keel::user
