// Action: one step of a test or fuzz run, as plain data. Parameters are selectors resolved
// against the state at run time ("the k-th buffer in hand"), so any sequence is runnable, a
// shrunk sequence stays meaningful, and a fuzzer can decode bytes straight into actions.
#pragma once

#include <cstdint>
#include <string>

namespace keel::model {

enum class Kind : std::uint8_t {
    // client
    Acquire,
    Release,         // a: k-th buffer in hand, via Client::release
    Drop,            // a: k-th buffer in hand, via Buffer::reset
    ReleaseEmpty,    // release() of a moved-from handle
    ReleaseForeign,  // release() of another client's buffer
    Submit,          // a: opcode selector, b: buffer selector (0 = none), c: length selector
    SubmitEmpty,     // submit() with a moved-from handle
    SubmitForeign,   // submit() with another client's buffer
    Cancel,          // a: target selector (live op, stale tag, garbage), d: garbage tag
    CancelUserData,  // a: target selector
    Publish,
    Reap,
    PeerGone,
    ClientClose,
    // server
    Poll,
    Take,
    Complete,         // a: k-th taken op, b: status selector, d: value
    CompleteBogus,    // a: any op id (often not taken, sometimes out of range)
    CancelRequested,  // a: k-th taken op
    ServerPublish,
    ClientGone,
    ServerClose,
    // hostile peer (spec I8): write, let the victim call, check, restore
    HostileCqTail,       // server writes an impossible completion tail; client reaps
    HostileCqEntry,      // server corrupts the next completion (a: how); client reaps
    HostileForge,        // server forges an extra completion (a replay); client reaps
    HostileSqTail,       // client writes an impossible submission tail; server polls
    HostileCqHead,       // client writes an impossible completion head; server polls
    HostileSqHead,       // server writes an impossible submission head; client submits
    HostileClientState,  // client flags itself closed in the header; server polls
    HostileTamperSub,    // client rewrites a published submission (a: how, b: which); kept
    SubmitForged,        // submit() through a forged copy of a handle whose buffer is lent or
                         // pooled (an application's stale handle; b: which buffer)
    Count
};

struct Action {
    Kind kind = Kind::Acquire;
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    std::uint32_t c = 0;
    std::uint64_t d = 0;
};

const char* kind_name(Kind k);
std::string describe(const Action& a);

}  // namespace keel::model
