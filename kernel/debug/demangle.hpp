// A small demangler for backtraces: the subset of the Itanium C++ ABI mangling that names
// kernel functions (nested names, anonymous namespaces, constructors, destructors, template
// argument lists elided as <...>). Parameter types are dropped. Anything outside that subset
// is left mangled: a mangled name is still a correct name.
#pragma once

#include <cstddef>

namespace keel::debug {

// Writes the readable name of `mangled` into buf (NUL-terminated, cut to size). Returns false,
// having copied `mangled` unchanged, when the name is not in the supported subset.
bool demangle(const char* mangled, char* buf, size_t size);

}  // namespace keel::debug
