// SIGKILL the real keel_file_server while reads are in flight. The client must see every
// operation complete exactly once, with its real result if the server had posted it and with
// PeerGone otherwise, and get every buffer back.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <ipc/linux/client_endpoint.hpp>
#include <ipc/linux/spawn.hpp>

#include "file_protocol.hpp"
#include "file_reader.hpp"

namespace keel::ipc::linux_transport {
namespace {

using namespace keel::examples::file_read;

constexpr std::uint32_t kChunk = 4096;
constexpr std::uint32_t kBuffers = 8;

std::byte pattern(std::uint64_t at) {
    return std::byte((at * 2654435761u) >> 13);
}

class ServerKill : public ::testing::TestWithParam<int> {
  protected:
    void SetUp() override {
        char dir_template[] = "/tmp/keel_server_kill_XXXXXX";
        ASSERT_NE(::mkdtemp(dir_template), nullptr);
        dir_ = dir_template;
        std::vector<std::byte> data(kChunk * kBuffers * 2);
        for (std::size_t i = 0; i < data.size(); ++i) {
            data[i] = pattern(i);
        }
        FILE* f = std::fopen((dir_ + "/data.bin").c_str(), "wb");
        ASSERT_NE(f, nullptr);
        ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
        std::fclose(f);
    }
    void TearDown() override {
        std::remove((dir_ + "/data.bin").c_str());
        ::rmdir(dir_.c_str());
    }
    std::string dir_;
};

TEST_P(ServerKill, EveryOperationCompletesOnceAndEveryBufferReturns) {
    const int completions_before_kill = GetParam();
    // Each read waits 150 ms in the server: eight reads take 1.2 s, so most are in flight
    // (queued or taken) when the server dies.
    char fd[] = "3";
    char delay[] = "150";
    char* args[] = {const_cast<char*>(KEEL_FILE_SERVER),
                    const_cast<char*>("--fd"),
                    fd,
                    const_cast<char*>("--root"),
                    dir_.data(),
                    const_cast<char*>("--delay-ms"),
                    delay,
                    nullptr};
    ASSERT_EQ(kInheritedSocketFd, 3);
    UniqueFd socket;
    pid_t server = -1;
    ASSERT_EQ(spawn_with_socket(args, &socket, &server), 0);

    int error = 0;
    auto ep = ClientEndpoint::connect(std::move(socket), {16, kBuffers, kChunk}, &error);
    ASSERT_TRUE(ep) << std::strerror(error);
    Client& client = ep->client();
    std::uint32_t handle = 0;
    ASSERT_EQ(open_remote(*ep, "data.bin", &handle), 0);

    std::map<std::uint32_t, std::uint64_t> pending;  // tag -> file offset
    for (std::uint32_t i = 0; i < kBuffers; ++i) {
        auto b = client.acquire();
        ASSERT_TRUE(b.ok());
        Request r{.user_data = i * kChunk,
                  .opcode = kOpRead,
                  .object = handle,
                  .length = kChunk,
                  .offset = i * kChunk};
        auto tag = client.submit(r, std::move(*b));
        ASSERT_TRUE(tag.ok());
        pending[*tag] = r.offset;
    }
    EXPECT_EQ(client.pooled_buffers(), 0u);
    ep->publish();

    int ok = 0, peer_gone = 0, buffers_back = 0;
    auto account = [&](Reaped& done) {
        auto it = pending.find(done.tag);
        ASSERT_NE(it, pending.end()) << "completion for an unknown or already completed tag";
        EXPECT_EQ(done.user_data, it->second);
        pending.erase(it);
        if (done.buffer.valid()) {
            ++buffers_back;
        }
        if (done.status == std::uint16_t(abi::Status::Ok)) {
            ++ok;
            ASSERT_EQ(done.value, kChunk);
            auto bytes = client.bytes(done.buffer);
            for (std::uint32_t k = 0; k < kChunk; ++k) {
                ASSERT_EQ(bytes[k], pattern(done.user_data + k)) << "offset " << done.user_data + k;
            }
        } else {
            EXPECT_EQ(done.status, std::uint16_t(abi::Status::PeerGone));
            ++peer_gone;
        }
    };
    for (int i = 0; i < completions_before_kill; ++i) {
        auto done = ep->reap_wait(5000);
        ASSERT_TRUE(done.ok()) << error_name(done.error());
        ASSERT_EQ(done->status, std::uint16_t(abi::Status::Ok));  // the server is alive
        account(*done);
    }

    ASSERT_EQ(::kill(server, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(server, &status, 0), server);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    auto killed = std::chrono::steady_clock::now();
    while (client.outstanding() > 0) {
        auto done = ep->reap_wait(5000);
        ASSERT_TRUE(done.ok()) << error_name(done.error()) << " with " << client.outstanding()
                               << " outstanding";
        account(*done);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - killed, std::chrono::seconds(2));

    EXPECT_TRUE(pending.empty()) << pending.size() << " operations never completed";
    EXPECT_EQ(ok + peer_gone, int(kBuffers));
    EXPECT_GE(ok, completions_before_kill);
    EXPECT_GE(peer_gone, 1) << "the kill came too late to catch a read in flight";
    EXPECT_EQ(buffers_back, int(kBuffers));
    EXPECT_EQ(client.pooled_buffers(), kBuffers);
    EXPECT_TRUE(client.torn_down());

    // Nothing more completes, and nothing new can be submitted.
    EXPECT_EQ(ep->reap_wait(50).error(), Error::Empty);
    EXPECT_EQ(client.submit(Request{.opcode = kOpClose, .object = handle}).error(),
              Error::PeerGone);
}

INSTANTIATE_TEST_SUITE_P(CompletionsBeforeKill, ServerKill, ::testing::Values(0, 1, 3));

}  // namespace
}  // namespace keel::ipc::linux_transport
