#include "proc/spawn_args.hpp"

#include "mm/user_copy.hpp"
#include "proc/process.hpp"

namespace keel::proc {

Result<void> read_spawn_input(Process& caller, uint64_t image, const abi::SpawnArgs& args,
                              SpawnInput& out) {
    if (image > 0xffffffffu)
        return fail(abi::Error::kBadHandle);
    out.image = KEEL_TRY(caller.handles().lookup(static_cast<abi::Handle>(image)));
    if (out.image.object->kind() != abi::Kind::kMemory)
        return fail(abi::Error::kInvalidArgument);
    if ((out.image.rights & abi::kRightSpawn) == 0)
        return fail(abi::Error::kNoRights);
    if (args.handle_count > abi::kMaxSpawnHandles || args.args_length > abi::kMaxArgsLength)
        return fail(abi::Error::kTooLarge);
    // The addresses inside SpawnArgs are user addresses: each is typed where it is read.
    abi::Handle given[abi::kMaxSpawnHandles];
    KEEL_TRY(mm::UserSpan<abi::Handle>(args.handles, args.handle_count).read(given));
    out.handle_count = static_cast<uint32_t>(args.handle_count);
    for (uint64_t i = 0; i < args.handle_count; ++i) {
        out.handles[i] = KEEL_TRY(caller.handles().lookup(given[i]));
        // Giving a handle away is sharing it.
        if ((out.handles[i].rights & abi::kRightShare) == 0)
            return fail(abi::Error::kNoRights);
    }
    KEEL_TRY(mm::UserSpan<char>(args.args, args.args_length).read(out.args));
    out.args_length = args.args_length;
    if (args.name_length > abi::kMaxNameLength)
        return fail(abi::Error::kTooLarge);
    KEEL_TRY(mm::UserSpan<char>(args.name, args.name_length).read(out.name));
    for (uint64_t i = 0; i < args.name_length; ++i) {
        if (out.name[i] < 0x20 || out.name[i] > 0x7e)
            return fail(abi::Error::kInvalidArgument);
    }
    out.name_length = args.name_length;
    out.has_limits = args.limits != 0;
    out.limits = {};
    if (out.has_limits)
        out.limits = KEEL_TRY(mm::UserPtr<abi::Limits>(args.limits).read());
    return success();
}

}  // namespace keel::proc
