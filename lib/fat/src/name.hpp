// Names (private to lib/fat): UTF-8 <-> UTF-16, the long-name rules, 8.3 short names and
// their generation, the long-name checksum. Pure functions over caller buffers.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/fat/error.hpp>

namespace keel::fat::detail {

// UTF-8 to UTF-16 (surrogate pairs above U+FFFF). kBadName for invalid UTF-8 (overlong forms,
// surrogates, beyond U+10FFFF), an empty name, or more than 255 units.
Error to_utf16(const char* name, size_t length, uint16_t* out, uint32_t* units);
// UTF-16 to UTF-8 into out[0 .. 3 * units], NUL-terminated; a lone surrogate becomes '?'.
// Returns the byte length.
uint32_t to_utf8(const uint16_t* in, uint32_t units, char* out);

// "." or "..".
inline bool is_dot(const uint16_t* name, uint32_t units) {
    return (units == 1 && name[0] == '.') || (units == 2 && name[0] == '.' && name[1] == '.');
}
// A name a new entry may have: no control character, none of " * / : < > ? \ |, not "." or
// "..", not ending in a space or a period.
bool valid_long_name(const uint16_t* name, uint32_t units);
// Whether the name is already an upper-case 8.3 name; if so its 11-byte form in short[].
bool exact_short(const uint16_t* name, uint32_t units, uint8_t* short_name);
// The generated short name with numeric tail n (1-999999): "LONGNA~1TXT".
void numbered_short(const uint16_t* name, uint32_t units, uint32_t n, uint8_t* short_name);
// The long-name checksum of an 11-byte short name.
uint8_t checksum(const uint8_t* short_name);
// The short name as UTF-16 for comparison and display ("FOO.TXT"; the NT lower-case bits in
// `flags` applied; an OEM byte >= 0x80 becomes '?'). Returns the unit count (<= 12).
uint32_t short_units(const uint8_t* raw, uint8_t flags, uint16_t* out);
// Case-insensitive (ASCII letters) equality of two UTF-16 names.
bool same_name(const uint16_t* a, uint32_t a_units, const uint16_t* b, uint32_t b_units);

}  // namespace keel::fat::detail
