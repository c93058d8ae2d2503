// Fuzz target: the Linux transport's handshake parser (ipc/linux/include/ipc/linux/hello.hpp),
// the only bytes that transport parses on its own. The first input byte picks the record
// (even: Hello, odd: HelloReply); the rest is the record.
//
// Oracle: a parse never crashes; whatever it accepts re-encodes to exactly the input bytes
// (so nothing is accepted that the encoder would not produce), a parsed Hello describes a
// valid geometry whose region size matches, and encoding then parsing a value gives it back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include <ipc/layout.hpp>
#include <ipc/linux/hello.hpp>
#include <ipc/linux/wake_page.hpp>

namespace lt = keel::ipc::linux_transport;

namespace {

[[noreturn]] void broken(const char* what) {
    __builtin_printf("linux_hello oracle: %s\n", what);
    std::abort();
}

void check_hello(std::span<const std::byte> bytes) {
    auto parsed = lt::parse_hello(bytes);
    if (!parsed)
        return;
    auto layout = keel::ipc::Layout::compute(parsed->geometry);
    if (!layout)
        broken("accepted a Hello whose geometry Layout refuses");
    if (parsed->region_size != lt::kQueueOffset + layout->total_size)
        broken("accepted a Hello whose region size does not match its geometry");
    auto again = lt::encode_hello(*parsed);
    if (bytes.size() != again.size() || std::memcmp(bytes.data(), again.data(), again.size()))
        broken("accepted Hello bytes that do not re-encode to themselves");
}

void check_reply(std::span<const std::byte> bytes) {
    auto parsed = lt::parse_reply(bytes);
    if (!parsed)
        return;
    auto again = lt::encode_reply(*parsed);
    if (bytes.size() != again.size() || std::memcmp(bytes.data(), again.data(), again.size()))
        broken("accepted reply bytes that do not re-encode to themselves");
    auto round = lt::parse_reply(again);
    if (!round || round->status != parsed->status || round->op_limit != parsed->op_limit)
        broken("an encoded reply does not parse back to itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data + 1), size - 1);
    if (data[0] % 2 == 0) {
        check_hello(rest);
    } else {
        check_reply(rest);
    }
    return 0;
}
