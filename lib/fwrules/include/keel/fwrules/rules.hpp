// The firewall's rules (servers/firewall): a plain-text file of allow and deny lines, first
// match wins, and one default. The text is untrusted (it comes from an image anyone can
// rebuild, or from a disk): the whole file is checked before any of it is used, and a bad
// file is refused as a whole with the first bad line's number, column and a static reason,
// never a partial rule set and never a crash. Pure code: no allocation (the caller provides
// the RuleSet), no globals, built-in headers only. The format is in lib/fwrules/README.md.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::fwrules {

inline constexpr uint32_t kMaxRules = 64;        // allow and deny lines per file
inline constexpr uint32_t kMaxLine = 256;        // bytes per line, '\r' excluded
inline constexpr uint32_t kMaxText = 64 * 1024;  // bytes per file

enum class Action : uint8_t { kAllow, kDeny };
enum class Protocol : uint8_t { kAny, kTcp, kUdp, kIcmp };

// An IPv4 address as lib/net and the ABI hold it: a.b.c.d is a << 24 | b << 16 | c << 8 | d.
using Address = uint32_t;

struct Rule {
    Action action;
    Protocol protocol;
    Address address;               // the prefix's first address (no bits set past the prefix)
    uint8_t prefix;                // 0..32 leading bits that must match (0: any address)
    uint16_t port_low, port_high;  // 0..65535 inclusive (0-65535: any port; icmp: always any)
    uint32_t line;                 // the line it came from (1-based)
};

struct RuleSet {
    Action default_action;
    uint32_t default_line;
    uint32_t count;
    Rule rules[kMaxRules];
};

struct Error {
    uint32_t line;       // 1-based
    uint32_t column;     // 1-based byte column of the fault (one past the end for "missing")
    const char* reason;  // static
};

// Parses a whole file. True with *out filled, or false with *error and *out emptied (no rules,
// default deny): a file is used whole or not at all. Cost: one pass over the text.
bool parse(const char* text, size_t size, RuleSet* out, Error* error);

struct Decision {
    Action action;
    uint32_t rule;  // 1-based index of the rule that matched; 0 for the default
    uint32_t line;  // its line in the file (the default's line for the default)
};

// The first rule that matches protocol, address and port (kAny as the protocol matches only
// rules for any protocol; icmp has no port: pass 0), else the default. O(rules).
Decision decide(const RuleSet& rules, Protocol protocol, Address address, uint16_t port);

// The rule as one canonical line (`allow tcp 10.0.2.0/24 80-90`, no '\n'), NUL-terminated:
// the length without the NUL, or 0 when `room` is too small. kMaxRuleText bytes always do.
inline constexpr size_t kMaxRuleText = 48;
size_t write_rule(const Rule& rule, char* out, size_t room);

// "tcp", "udp", "icmp", "any".
const char* protocol_name(Protocol protocol);

}  // namespace keel::fwrules
