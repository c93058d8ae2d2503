#include "obj/served_spawn.hpp"

#include <keel/c/libc.hpp>
#include "proc/process.hpp"
#include "proc/spawn_args.hpp"

namespace keel::obj {

namespace {

Result<void> lend_one(proc::Process& server, const proc::HandleEntry& e, Lent& lent) {
    const abi::Handle h = KEEL_TRY(server.handles().insert(*e.object, e.rights));
    lent.handles[lent.count++] = h;
    return success();
}

}  // namespace

Result<void> lend_spawn(Request& req, proc::Process& server, abi::ServedSpawn* out, Lent& lent) {
    abi::TableSpawn s{};
    if (req.buffer.length() != sizeof s || req.caller == nullptr)
        return fail(Error::kInvalidArgument);
    KEEL_TRY(req.buffer.copy_out_of(0, &s, sizeof s));
    if (s.reserved != 0)
        return fail(Error::kInvalidArgument);
    proc::SpawnInput in;
    KEEL_TRY(proc::read_spawn_input(*req.caller, s.image, s.args, in));
    lent.count = 0;
    Result<void> r = lend_one(server, in.image, lent);
    for (uint32_t i = 0; r.ok() && i < in.handle_count; ++i)
        r = lend_one(server, in.handles[i], lent);
    if (!r.ok()) {
        return_lent(server, lent);
        return r;
    }
    // `out` is memory the server can write: it is only written here, never read back.
    out->image = lent.handles[0];
    out->handle_count = in.handle_count;
    for (uint32_t i = 0; i < abi::kMaxSpawnHandles; ++i)
        out->handles[i] = i < in.handle_count ? lent.handles[1 + i] : 0;
    out->args_length = static_cast<uint32_t>(in.args_length);
    out->name_length = static_cast<uint32_t>(in.name_length);
    out->has_limits = in.has_limits ? 1 : 0;
    out->reserved = 0;
    out->limits = in.limits;
    memset(out->name, 0, sizeof out->name);
    memcpy(out->name, in.name, in.name_length);
    memcpy(out->args, in.args, in.args_length);
    return success();
}

void return_lent(proc::Process& server, Lent& lent) {
    for (uint32_t i = 0; i < lent.count; ++i)
        (void)server.handles().close(lent.handles[i]);  // stale: the server closed it itself
    lent.count = 0;
}

}  // namespace keel::obj
