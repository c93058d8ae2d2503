// ramdisk: serves a copy of a file as a block device object of 512-byte blocks, in memory
// (what it writes is gone when it exits). Arguments: FILE NAME: FILE a path in its root (an
// image in the initial file system), NAME where it publishes in the "srv" it was given. The
// block device protocol is the drivers' (abi::BlockInfo): reads (read_at too) and writes at byte
// offset `arg`, in whole blocks; sync answers at once. File systems are tested on it without a disk
// driver, and it is the smallest example of a block server.
#include <keel/c/mem.hpp>

#include "runtime.hpp"
#include "serve.hpp"

using namespace keel;
using namespace keel::user;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
constexpr uint32_t kBlock = 512;
constexpr uint32_t kBufferSize = 64 * 1024;

uint8_t* g_disk = nullptr;
uint64_t g_size = 0;  // whole blocks

uint16_t fail(abi::Error e) {
    return abi::queue_error_status(e);
}

uint16_t perform(const ipc::abi::Submission& s, std::span<std::byte> data, uint64_t* value) {
    const auto o = static_cast<Op>(s.opcode - abi::kQueueOpBase);
    const uint64_t at = s.args[0];
    if (s.object != 0)
        return fail(abi::Error::kInvalidArgument);
    switch (o) {
        case Op::kRead:
        case Op::kPeek:
        case Op::kReadAt:  // a block device's reads are at an offset already
        case Op::kWrite:
            if (at % kBlock != 0 || data.size() % kBlock != 0 || data.empty())
                return fail(abi::Error::kInvalidArgument);
            if (at > g_size || data.size() > g_size - at)
                return fail(abi::Error::kOutOfRange);
            if (o == Op::kWrite)
                c::copy(g_disk + at, data.data(), data.size());
            else
                c::copy(data.data(), g_disk + at, data.size());
            *value = data.size();
            return kOk;
        case Op::kSync:
            return kOk;
        case Op::kGetMeta:
            if (static_cast<abi::Meta>(at) == abi::Meta::kSize && data.size() >= 8) {
                c::copy(data.data(), &g_size, 8);
                *value = 8;
                return kOk;
            }
            if (static_cast<abi::Meta>(at) == abi::Meta::kBlockInfo &&
                data.size() >= sizeof(abi::BlockInfo)) {
                const abi::BlockInfo info{g_size / kBlock, kBlock, kBufferSize, 0, 0};
                c::copy(data.data(), &info, sizeof info);
                *value = sizeof info;
                return kOk;
            }
            return fail(abi::Error::kInvalidArgument);
        default:
            return fail(abi::Error::kNotSupported);
    }
}

}  // namespace

int keel_main(const StartInfo& start) {
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[3];
    if (split_args(start.args, start.args_length, storage, sizeof storage, words, 3) != 2) {
        print("ramdisk: usage: ramdisk FILE NAME\n");
        return 2;
    }
    const int64_t file = open_path(root(), words[0], c::length(words[0]));
    uint64_t size = 0;
    if (file < 0 || node_type(static_cast<Handle>(file), &size) !=
                        static_cast<uint32_t>(abi::NodeType::kFile)) {
        print("ramdisk: %s: %s\n", words[0], file < 0 ? error_text(file) : "not a file");
        return 1;
    }
    g_size = size / kBlock * kBlock;
    g_disk = reinterpret_cast<uint8_t*>(map_new(g_size == 0 ? 1 : g_size));
    if (g_disk == nullptr || g_size == 0) {
        print("ramdisk: %s: %s\n", words[0], g_size == 0 ? "smaller than a block" : "no memory");
        return 1;
    }
    (void)sys::do_io(static_cast<uint64_t>(file), Op::kSeek, nullptr, 0, 0);
    for (uint64_t at = 0; at < g_size;) {
        const uint64_t want = g_size - at < abi::kMaxIoLength ? g_size - at : abi::kMaxIoLength;
        const int64_t n = sys::do_io(static_cast<uint64_t>(file), Op::kRead, g_disk + at, want);
        if (n <= 0) {
            print("ramdisk: %s: short read\n", words[0]);
            return 1;
        }
        at += static_cast<uint64_t>(n);
    }
    ServePort sp;
    const int64_t srv = open(root(), "srv");
    int64_t r = sp.create(16, 8, kBufferSize);
    if (r >= 0)
        r = srv;
    if (r >= 0)
        r = sys::do_io(static_cast<uint64_t>(srv), Op::kCreate, words[1], c::length(words[1]),
                       sp.served());
    if (r < 0) {
        print("ramdisk: cannot publish srv/%s: %s\n", words[1], error_text(r));
        return 1;
    }
    for (;;) {
        if (sp.sync(true) < 0)
            return 0;
        (void)sp.server().poll();
        while (auto op = sp.server().take()) {
            uint64_t value = 0;
            const uint16_t status = perform(op->request, sp.server().bytes(*op), &value);
            (void)sp.server().complete(op->id, status, value);
        }
        (void)sp.sync(false);
    }
}
