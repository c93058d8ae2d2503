// A consumer that takes its Platform from the installed host_platform component instead of
// defining one: a Nop and an out-of-range opcode round-trip through one queue. It names
// nothing of HostPlatform on purpose: linking keel::ipc_host_platform alone must supply the
// panic hook the library needs, whatever the link order.
#include <ipc/client.hpp>
#include <ipc/server.hpp>

#include <cstdio>
#include <vector>

int main() {
    using namespace keel::ipc;
    const Geometry g{.capacity = 2, .buffer_count = 0, .buffer_size = 0};
    auto layout = Layout::compute(g);
    if (!layout) {
        return 1;
    }
    struct alignas(64) Block {
        std::byte b[64];
    };
    std::vector<Block> shared(layout->total_size / 64 + 1);
    std::vector<Block> cs(Client::private_size(g) / 64 + 1);
    std::vector<Block> ss(Server::private_size(g) / 64 + 1);
    auto span_of = [](std::vector<Block>& v) {
        return std::span<std::byte>(reinterpret_cast<std::byte*>(v.data()), v.size() * 64);
    };
    Client client;
    Server server;
    if (!client.create(span_of(shared), span_of(cs), g) ||
        !server.attach(span_of(shared), span_of(ss), g, abi::kFirstServiceOp)) {
        return 1;
    }
    if (!client.submit(Request{.user_data = 1, .opcode = std::uint16_t(abi::Op::Nop)}) ||
        !client.submit(Request{.user_data = 2, .opcode = 999})) {
        return 1;
    }
    client.publish();
    if (auto n = server.poll(); !n || *n != 2) {
        return 1;
    }
    auto first = client.reap();
    auto second = client.reap();
    bool ok = first && first->user_data == 1 && first->status == std::uint16_t(abi::Status::Ok) &&
              second && second->user_data == 2 &&
              second->status == std::uint16_t(abi::Status::BadRequest) &&
              client.reap().error() == Error::Empty;
    if (!ok) {
        std::fprintf(stderr, "nop_consumer: unexpected completions\n");
        return 1;
    }
    std::printf("nop_consumer: Nop and BadRequest as expected\n");
    return 0;
}
