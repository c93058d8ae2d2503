// Resource accounts: what a process may use (abi::Limits, set by its parent at spawn) and what
// it uses now. Every process has one; each child's account hangs under its parent's, and a
// charge is made to the account and every account above it, all or nothing: a process's use
// includes its living descendants', so no subtree of processes can take more than the limits
// its root was given, however many processes it spawns. Init's account has the machine's
// bounds (all the RAM, abi::kMachineThreads, abi::kMachineQueues).
//
// What is charged where (docs/syscalls.md, "Resource limits"):
// - memory: the frames of the memory objects a process makes (ObjectNew kMemory; a shared
//   object stays charged to its creator until the last reference goes), of the regions of the
//   queues and served objects it creates, of its program's segments and stack (to the child, at
//   spawn), and the kernel stack of each of its threads;
// - queues: queues and served ports it created that still exist (a region lives as long as
//   its queue or port, or its user mapping);
// - threads: its live threads;
// - handles: the open handles of its own table (proc::HandleTable's limit, not hierarchical).
// An object holds its charge (a Charge) and gives it back when it is destroyed, so the account
// of an ended process stays alive, as small heap object, until the last such object goes.
// Interrupts off (one CPU): no locks.
#pragma once

#include <keel/syscall_abi.hpp>

#include <cstdint>
#include <utility>

#include "lib/result.hpp"
#include "obj/ref_ptr.hpp"

namespace keel::obj {
class MemoryObject;
}

namespace keel::proc {

// What one charge takes: frames of RAM, queues, threads.
struct Usage {
    uint64_t frames = 0;
    uint32_t queues = 0;
    uint32_t threads = 0;
};

class Account {
  public:
    // A new account under `parent` (nullptr: the machine's root, init's) with `limits` (the
    // caller checked them: spawn's child_limits). kFull when parent is already
    // abi::kMaxProcessDepth deep (a charge walks the chain: it must stay short), kNoMemory.
    static Result<obj::RefPtr<Account>> create(Account* parent, const abi::Limits& limits);
    // The machine's bounds: init's limits.
    static abi::Limits machine_limits();

    Account(const Account&) = delete;
    Account& operator=(const Account&) = delete;

    const abi::Limits& limits() const { return limits_; }
    const Usage& used() const { return used_; }
    // Charges u here and in every account above: kNoMemory when some account's memory would
    // pass its limit, kFull for its queues or threads; nothing is charged then.
    Result<void> charge(const Usage& u);
    // Gives back what charge(u) took.
    void uncharge(const Usage& u);
    // The limits a child may be given when the caller asks for `wanted` (0 fields: all that is
    // left), with `handles_left` handles left in the spawning process's table: kNoMemory
    // (memory) or kFull (a count) when a field asks for more than is left (the limit minus the
    // use, here and in every account above), kInvalidArgument for a reserved field.
    Result<abi::Limits> child_limits(const abi::Limits& wanted, uint32_t handles_left) const;

  private:
    template <class>
    friend class obj::RefPtr;
    Account() = default;
    ~Account();
    void retain() { ++refs_; }
    // The last reference to an account releases its parent's: in a loop, not by recursion (a
    // chain may be abi::kMaxProcessDepth long).
    void release();
    // What is left of one resource here and above (the smallest over the chain).
    Usage left() const;

    uint32_t refs_ = 1;
    uint32_t depth_ = 1;  // accounts from the root (init's) to this one
    obj::RefPtr<Account> parent_;
    abi::Limits limits_{};
    Usage used_{};
};

// One object's charge, given back when it is destroyed (or replaced). Move-only.
class Charge {
  public:
    Charge() = default;
    // Charges u to account (nullptr: charges nothing, the kernel's own objects). As
    // Account::charge.
    static Result<Charge> take(Account* account, const Usage& u);
    Charge(Charge&& o) noexcept
        : account_(std::move(o.account_)), usage_(std::exchange(o.usage_, Usage{})) {}
    Charge& operator=(Charge&& o) noexcept {
        if (this != &o) {
            give_back();
            account_ = std::move(o.account_);
            usage_ = std::exchange(o.usage_, Usage{});
        }
        return *this;
    }
    Charge(const Charge&) = delete;
    Charge& operator=(const Charge&) = delete;
    ~Charge() { give_back(); }

  private:
    void give_back();
    obj::RefPtr<Account> account_;
    Usage usage_;
};

// A memory object of `size` bytes (as obj::MemoryObject::create) charged to account: its
// frames are checked against the limits before any is allocated (kNoMemory), and the object
// gives them back when it is destroyed.
Result<obj::RefPtr<obj::MemoryObject>> charged_memory(Account* account, uint64_t size);

}  // namespace keel::proc
