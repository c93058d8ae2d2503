// The runtime's server side of a served object (issue 8): ServeCreate makes a queue whose
// client is the kernel, and this class attaches ipc::Server to it, the same library the
// kernel runs for QueueCreate. The kernel forwards every operation other processes make on
// the served object (do_io or their queues) as a submission: opcode kQueueOpBase + Op,
// args[0] = the operation's arg, the caller's bytes in the lent buffer, `object` which of the
// port's objects (0: served(); others are made by answering an open with
// abi::served_open_value, and end with a kClose notice: docs/syscalls.md).
//
// Use: create(); loop { sync(true) to wait for work; server().poll(); take() each operation,
// read or fill server().bytes(op), complete() it; sync(false) to hand the completions back }.
// Closing the port (destroy(), exit or a fault) ends the service: the kernel completes every
// operation in flight with PeerGone. One thread at a time (ipc::Server's rule).
#pragma once

#include <ipc/server.hpp>

#include "syscall.hpp"

namespace keel::user {

class ServePort {
  public:
    ServePort() = default;
    ServePort(const ServePort&) = delete;
    ServePort& operator=(const ServePort&) = delete;
    // Closes the port if still open, unmaps its region and frees the private storage.
    ~ServePort();

    // ServeCreate and ipc::Server::attach over the region (once per ServePort). 0 or -Error.
    // With `device` (a device handle with Create) the region is that device's DMA memory:
    // device_address() then says where the device reaches an owned buffer. flags:
    // abi::kServeDeviceData (with a device) to take reads and writes whose data the device
    // reaches at a device address (device_data() below).
    int64_t create(uint32_t capacity, uint32_t buffer_count, uint32_t buffer_size,
                   Handle device = 0, uint32_t flags = 0);

    ipc::Server& server() { return server_; }
    Handle port() const { return port_; }
    Handle served() const { return served_; }    // shareable: give it to clients
    uint8_t* region() const { return region_; }  // the shared region (tests scribble on it)
    uint64_t region_size() const { return region_size_; }
    // Where the device given to create() reaches `bytes` (inside the region, e.g. an owned
    // buffer's server().bytes(op)), or 0 when the region is ordinary memory.
    uint64_t device_address(const std::byte* bytes) const {
        return device_address_ == 0
                   ? 0
                   : device_address_ +
                         static_cast<uint64_t>(bytes - reinterpret_cast<const std::byte*>(region_));
    }

    // An operation with device data (abi::kServeDeviceData): where its device reaches the
    // caller's memory and how many bytes (length 0 for any other operation, which has its data,
    // if any, in server().bytes(op)).
    struct DeviceData {
        uint64_t address;
        uint64_t length;
    };
    static DeviceData device_data(const ipc::Operation& op) {
        if ((op.request.flags & abi::kServedDeviceData) == 0)
            return {0, 0};
        return {op.request.offset, op.request.args[abi::kServedDataLengthArg]};
    }

    // Publishes the completions, lets the kernel hand them to the callers, and with wait
    // sleeps until the kernel submitted something (or timeout_ns, 0 = none). Submissions
    // since the last sync, or -Error (kTimedOut, kPeerGone). The count is the port's, not the
    // thread's: a server whose second thread hands completions back with a non-waiting sync
    // must serve what that sync reports, or its waiting thread may sleep on them for good.
    int64_t sync(bool wait, uint64_t timeout_ns = 0);

    // The direct call path (abi::ServeCall, issue 24): publishes the completions, answers the
    // call this thread holds when msg.flags has abi::kServeCallReply (with msg.status,
    // msg.value and a read's bytes in msg.data), then waits for the next synchronous call (1:
    // msg holds it; this thread must answer it with its next call()) or for ring work (0:
    // msg.ring submissions since the last sync: serve them as after sync()). -Error as sync(),
    // and kInvalidArgument for a call held and not answered. A server may mix it with sync()
    // and its ring: see docs/syscalls.md for which operations come which way.
    int64_t call(abi::ServeCall& msg, uint64_t timeout_ns = 0);

    // Closes the port: the service ends (the region stays mapped until the destructor). 0 or
    // -Error.
    int64_t destroy();

  private:
    ipc::Server server_;
    Handle port_ = 0;
    Handle served_ = 0;
    uint8_t* region_ = nullptr;
    uint64_t region_size_ = 0;
    uint64_t device_address_ = 0;  // of the region's first byte (0: ordinary memory)
    void* storage_ = nullptr;
};

// A create forwarded to this server is a spawn on its process table (docs/syscalls.md,
// "Handles carried by served operations"): the kernel lent the image and the handles and wrote
// an abi::ServedSpawn. read_spawn() copies it out of the region (this process can write there,
// so it is read once) and says false when `op` is no such create; spawn_args_of() makes it
// SpawnArgs for spawn_with() (lengths clamped to their limits; `rec` must outlive the spawn).
// The lent handles close when the completion is handed back: a spawn within the operation
// gives the child its own.
bool read_spawn(ServePort& sp, const ipc::Operation& op, abi::ServedSpawn* out);
abi::SpawnArgs spawn_args_of(const abi::ServedSpawn& rec);

}  // namespace keel::user
