// A root: a name-to-object map. Each entry holds an object and the rights that open() grants
// on it. A process sees only the roots it was handed, so the names it can reach are exactly
// the ones its parent bound for it. read/peek list the names, one per line.
#pragma once

#include <span>

#include "obj/object.hpp"

namespace keel::obj {

// Names in a root: enough for a /bin of every program the system image carries (39 in Dec
// 2026) with room to grow; 64 entries of 56 bytes stay within one page of kernel heap.
inline constexpr uint32_t kMaxRootEntries = 64;

class Root final : public Object {
  public:
    // Room for `capacity` names (the devices root needs more than a process's roots). kNoMemory.
    static Result<RefPtr<Root>> create(uint32_t capacity = kMaxRootEntries);

    Result<uint64_t> read(Request& req) override;
    Result<uint64_t> peek(Request& req) override { return read(req); }
    Result<uint64_t> get_meta(Request& req) override;
    Result<uint64_t> open(Request& req) override;     // buffer = name
    Result<uint64_t> create(Request& req) override;   // buffer = name, arg = handle to bind
    Result<uint64_t> destroy(Request& req) override;  // buffer = name

    // Binds name to object (a new reference) with rights: kInvalidArgument (bad name), kExists,
    // kFull. Kernel-side too (boot: init's root).
    Result<void> bind(const char* name, uint64_t length, Object& object, uint32_t rights);

  private:
    struct Entry {
        char name[abi::kMaxNameLength] = {};
        uint64_t length = 0;
        RefPtr<Object> object;  // null: free
        uint32_t rights = 0;
    };
    Root() : Object(abi::Kind::kRoot) {}
    ~Root() override { delete[] entries_; }
    std::span<Entry> entries() { return {entries_, capacity_}; }
    std::span<const Entry> entries() const { return {entries_, capacity_}; }
    Entry* find(const char* name, uint64_t length);
    // The entry the request's buffer names: the errors of read_name, or kNotFound.
    Result<Entry*> named(Request& req);

    // Binding this root into `target`: kInvalidArgument when target is reachable from this
    // root through root entries (the cycle could never be freed), kTooLarge when more than
    // kMaxRootsChecked roots are (the walk stays within the kernel's time bound). Iterative,
    // each root visited once: a worklist threaded through the roots themselves.
    static constexpr uint32_t kMaxRootsChecked = 4096;
    Result<void> check_no_cycle(const Root& target);

    Entry* entries_ = nullptr;
    uint32_t capacity_ = 0;
    uint64_t visited_ = 0;       // check_no_cycle()'s mark: the walk that last came here
    Root* next_work_ = nullptr;  // check_no_cycle()'s worklist
};

}  // namespace keel::obj
