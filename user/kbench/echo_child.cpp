#include "echo_child.hpp"

#include <keel/c/libc.hpp>

namespace keel::user::bench {

namespace {
void drop(Handle h) {
    if (h != 0)
        (void)sys::do_io(h, Op::kClose);
}
}  // namespace

int64_t start_echo_child(const char* name, EchoChild* out) {
    *out = EchoChild{};
    Handle to_child[2] = {}, from_child[2] = {};  // [0] the read end, [1] the write end
    const int64_t image = open(root(), "self");
    if (image <= 0)
        return image < 0 ? image : err(abi::Error::kNotFound);
    int64_t r = sys::object_new(abi::Kind::kPipe, 0, to_child);
    if (r == 2)
        r = sys::object_new(abi::Kind::kPipe, 0, from_child);
    if (r != 2) {
        drop(static_cast<Handle>(image));
        drop(to_child[0]);
        drop(to_child[1]);
        return r < 0 ? r : err(abi::Error::kIo);
    }
    const Handle given[3] = {root(), to_child[0], from_child[1]};
    static const char kArgs[] = "echo";
    const abi::SpawnArgs args{reinterpret_cast<uint64_t>(given),
                              3,
                              reinterpret_cast<uint64_t>(kArgs),
                              sizeof kArgs - 1,
                              reinterpret_cast<uint64_t>(name),
                              strlen(name),
                              0};
    const int64_t child = spawn_with(0, static_cast<Handle>(image), args);
    drop(static_cast<Handle>(image));
    drop(to_child[0]);  // the child holds its own copies
    drop(from_child[1]);
    out->to_child = to_child[1];
    out->from_child = from_child[0];
    if (child <= 0) {
        drop(out->to_child);
        drop(out->from_child);
        *out = EchoChild{};
        return child < 0 ? child : err(abi::Error::kIo);
    }
    out->process = static_cast<Handle>(child);
    uint8_t byte = 0x5a;
    if (sys::do_io(out->to_child, Op::kWrite, &byte, 1) != 1 ||
        sys::do_io(out->from_child, Op::kRead, &byte, 1) != 1) {
        (void)stop_echo_child(out);
        return err(abi::Error::kIo);
    }
    return 0;
}

int64_t stop_echo_child(EchoChild* child) {
    drop(child->to_child);
    int64_t result = 0;
    if (child->process != 0) {
        abi::ExitInfo info{};
        const int64_t waited = sys::do_io(child->process, Op::kRead, &info, sizeof info);
        drop(child->process);
        if (waited != sizeof info)
            result = waited < 0 ? waited : err(abi::Error::kIo);
        else if (info.reason != static_cast<uint32_t>(abi::ExitReason::kExited) || info.status != 0)
            result = info.status != 0 ? info.status : err(abi::Error::kIo);
    }
    drop(child->from_child);
    *child = EchoChild{};
    return result;
}

int echo_main() {
    const Handle in = abi::initial_handle(1), out = abi::initial_handle(2);
    uint8_t byte = 0;
    for (;;) {
        const int64_t r = sys::do_io(in, Op::kRead, &byte, 1);
        if (r == 0)
            return 0;
        if (r != 1 || sys::do_io(out, Op::kWrite, &byte, 1) != 1)
            return 1;
    }
}

}  // namespace keel::user::bench
