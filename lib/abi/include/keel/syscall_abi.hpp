// The system-call ABI: numbers, operations, errors, rights, object kinds, the structures the
// kernel and user programs exchange, and how operations and their failures are coded in a
// queue's entries. Defined once, here (lib/abi), and included by both sides (kernel/ and
// user/), so nothing is mirrored by hand. docs/syscalls.md explains each item.
//
// Calling convention (x86-64 `syscall`): rax = number, arguments in rdi, rsi, rdx, r10, r8;
// the result is in rax. rcx and r11 are clobbered (the CPU uses them), every other register
// is preserved. A result >= 0 is success; a negative result is -Error.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <ipc/abi.hpp>

namespace keel::abi {

enum class Syscall : uint64_t {
    kDoIo = 0,           // (handle, op, buffer, length, arg, timeout_ns) -> value
    kObjectNew = 1,      // (kind, arg, out_handles*) -> number of handles written
    kProcessSpawn = 2,   // (image handle, SpawnArgs*) -> process handle
    kProcessExit = 3,    // (status) -> does not return
    kThreadSpawn = 4,    // (entry, stack top, arg) -> thread handle
    kThreadExit = 5,     // (status) -> does not return
    kSleep = 6,          // (nanoseconds) -> 0
    kClock = 7,          // (0) -> monotonic nanoseconds since boot; (1) -> Unix time in ns
    kFutexWait = 8,      // (address, expected, timeout ns or 0 = none) -> 0
    kFutexWake = 9,      // (address, count) -> threads woken
    kYield = 10,         // () -> 0
    kUnmap = 11,         // (address) -> 0: removes a mapping made by Op::kMap
    kQueueCreate = 12,   // (QueueGeometry*, QueueInfo* out) -> queue handle
    kQueueDestroy = 13,  // (queue handle) -> 0: closes it; pending operations are cancelled
    kQueuePoll = 14,     // (queue handle) -> completions posted by this call
    kQueueWait = 15,     // (queue handle, min completions, timeout ns or 0 = none) -> posted
    kServeCreate = 16,   // (QueueGeometry*, ServeInfo* out, device or 0) -> 0: port, served
    kServeSync = 17,     // (port, wait, timeout ns or 0 = none) -> submissions since last sync
    kServeCall = 18,  // (port, ServeCall*, timeout ns or 0 = none) -> 1: a call held, 0: ring work
    kCount = 19,
};

// The common object operations, performed synchronously by do_io and (issue 8) as queued
// submissions. `buffer`/`length` name caller memory; `arg` is the operation's scalar.
enum class Op : uint32_t {
    kRead = 0,     // buffer <- object (consumes / advances); value = bytes
    kPeek = 1,     // like read without consuming or advancing
    kWrite = 2,    // buffer -> object; value = bytes accepted
    kGetMeta = 3,  // arg = Meta key; buffer <- value bytes; value = bytes
    kSetMeta = 4,  // arg = Meta key; buffer -> value bytes
    kOpen = 5,     // buffer = name, arg = OpenFlags (served directories); value = new handle
    kCreate = 6,   // root: buffer = name, arg = handle to bind; memory: buffer = {offset, size}
    kDestroy = 7,  // buffer = name (root): removes the entry
    kSeek = 8,     // arg = absolute position; value = new position
    kShare = 9,    // arg = rights << 32 | target process handle (0: caller); value = handle
    kClose = 10,   // releases the handle
    kMap = 11,     // memory only: arg = 1 for a writable mapping; value = address
    kSync = 12,    // make what was written durable (a file, a block device); value 0
    kReadAt = 13,  // arg = absolute position; buffer <- object from there, the position neither
                   // used nor moved (pread); value = bytes, 0 at or past the end
    kCount = 14,
};

// Errors, returned as -value.
enum class Error : int64_t {
    kBadHandle = 1,        // not a handle of this process (0, never allocated, out of range)
    kStaleHandle = 2,      // closed: the slot's generation moved on (it may hold another object)
    kNoRights = 3,         // the handle lacks a right the operation needs
    kBadAddress = 4,       // null page, kernel half, unmapped, read-only, straddling, wrapping
    kTooLarge = 5,         // length above the limit of the call or the object
    kInvalidArgument = 6,  // an argument out of range or an unknown kind/op/key
    kNotSupported = 7,     // the object type has no such operation
    kWouldBlock = 8,       // futex value mismatch; (internally) try again after a wake-up
    kPeerGone = 9,         // the other end of a pipe is closed, or its process died
    kNoMemory = 10,
    kNotFound = 11,  // no such name
    kExists = 12,    // name already bound
    kBadImage = 13,  // a spawn image that is not a valid user ELF executable
    kTimedOut = 14,
    kBufferTooSmall = 15,  // message pipe: the next message is longer than the buffer
    kFull = 16,            // a table (handles, names, messages) has no room
    kProtocol = 17,        // a queue's shared region holds an impossible index or header
    kIo = 18,              // the device or medium reported an error for this operation
    kOutOfRange = 19,      // an offset or length past the end of a device
    kNotEmpty = 20,        // a directory that still holds entries cannot be removed
    kNoSpace = 21,         // the volume or device has no free space left
    kNotDirectory = 22,    // a directory operation (open a name, list) on a file
    kIsDirectory = 23,     // a file operation (write, truncate) on a directory
    kCorrupt = 24,         // the volume's own data breaks its format (a file system's)
    kRefused = 25,         // the peer refused the connection (a TCP reset answering a SYN)
    kReset = 26,           // the peer reset an established connection
    kUnreachable = 27,     // no route to the address, or it did not answer ARP or DNS
    kAddressInUse = 28,    // a port already bound or listened on
    kLastError = kAddressInUse,
};

// Rights carried by each handle; an operation needs all the rights its row in
// docs/syscalls.md lists. Sharing can only remove rights, never add them.
enum Rights : uint32_t {
    kRightRead = 1u << 0,     // read, peek, get_meta (object keys), open, wait (process/thread)
    kRightWrite = 1u << 1,    // write, set_meta, seek; share into a process
    kRightMap = 1u << 2,      // map (writable mappings also need kRightWrite)
    kRightShare = 1u << 3,    // share into this or another process
    kRightCreate = 1u << 4,   // create (root: bind a name; memory: subrange)
    kRightDestroy = 1u << 5,  // destroy (root: unbind a name)
    kRightSpawn = 1u << 6,    // use a memory object as a program image
    kRightsAll = (1u << 7) - 1,
    // What a served object's handles can carry: ServeCreate's handle has all of them, and a
    // server grants a subset to each object an open makes (served_open_value). Create is a
    // spawn (ServedSpawn): a server offering a process table of its own.
    kRightsServed = kRightRead | kRightWrite | kRightShare | kRightCreate | kRightDestroy,
};

enum class Kind : uint64_t {
    kConsole = 1,
    kMemory = 2,       // ObjectNew arg = size in bytes
    kPipe = 3,         // ObjectNew writes two handles: read end, write end
    kMessagePipe = 4,  // ObjectNew writes two handles: two connected endpoints
    kRoot = 5,
    kProcess = 6,
    kThread = 7,
    kQueue = 8,    // QueueCreate: an asynchronous queue (ipc/ Server in the kernel)
    kPort = 9,     // ServeCreate: the server's end of a served object (ipc/ Client in the kernel)
    kServed = 10,  // ServeCreate: an object whose operations a user-space server performs
    kDevice = 11,  // the kernel, in the "devices" root: one PCI function or legacy device
    kInterrupt = 12,     // Device create(kInterrupt / kMsi): read completes when it fires
    kTimer = 13,         // ObjectNew (arg 0): read completes at the deadline TimerSet armed
    kIoPorts = 14,       // Device create(kPorts / an I/O BAR): in and out on a range of ports
    kProcessTable = 15,  // the kernel's ("processes" in init's root): list and spawn
};

enum class Meta : uint64_t {
    kKind = 1,    // u64 Kind
    kSize = 2,    // u64: memory size, bytes in a pipe, messages waiting, entries in a root
    kId = 3,      // u64: process or thread id
    kExit = 4,    // ExitInfo of a process or thread, without waiting (reason kRunning if alive)
    kRights = 5,  // u64: the rights of the handle used
    kName = 6,    // process: its name (at most kMaxNameLength bytes), shown in fault reports
    kDevice = 7,  // DeviceInfo of a device object
    kDeviceAddress = 8,     // u64: the address a device uses for a DMA memory object
    kInterruptInfo = 9,     // InterruptInfo of an interrupt object
    kBlockInfo = 10,        // BlockInfo of a block device object
    kTimes = 11,            // FileTimes of a file or directory (set_meta: the modification time)
    kRename = 12,           // set_meta on a directory: "old\0new", new a path in the same volume
    kStat = 13,             // Stat: whether it is a file or a directory, and its size
    kLinkInfo = 14,         // LinkInfo of a network link object (a NIC driver's)
    kShutdown = 15,         // set_meta on a connection, empty buffer: no more writes (TCP FIN)
    kSocketInfo = 16,       // SocketInfo of a socket object
    kKeymap = 17,           // keyboard object: set_meta loads a keymap file (lib/keymap) as the
                            // layout; get_meta gives the layout's name
    kDisplayInfo = 18,      // DisplayInfo of a display object
    kBootFramebuffer = 19,  // BootFramebuffer of the PCI device whose BAR the loader drew in
    kDropCaches = 20,       // set_meta on a served file or directory, empty: write back, then
                            // forget the cached data of its volume (the next reads go to the
                            // device; benchmarks start cold with it)
    kMemoryInfo = 21,       // MemoryInfo of the machine, from the process table
    kLimits = 22,           // ResourceUsage of a process: its limits and what it uses now
    kKernelTime = 23,       // KernelTime since the last read, from the process table
    kSyscalls = 24,         // u64: system calls a thread has made (the polling queue's tests)
    kCpus = 25,             // u64: CPUs that run threads, from the process table
    kAffinity = 26,         // u64: a thread's CPU mask (bit i: CPU i may run it); settable
    kCpu = 27,              // u64: the CPU a thread runs on, last ran on, or is queued on
};

// get_meta kStat: what a program needs to treat kernel and served objects alike. Roots and
// served directories are directories (size: entries), memory objects and served files are
// files (size: bytes); other objects do not answer it.
enum class NodeType : uint32_t { kFile = 1, kDirectory = 2 };
struct Stat {
    uint32_t type;  // NodeType
    uint32_t reserved;
    uint64_t size;
};
static_assert(sizeof(Stat) == 16);

// Open's arg on a served directory (a root ignores it): what to do when the name is absent or
// present. kOpenDirectory with kOpenCreate makes a directory; alone it requires one.
enum OpenFlags : uint64_t {
    kOpenCreate = 1u << 0,     // create the name when absent
    kOpenExclusive = 1u << 1,  // with kOpenCreate: kExists when present
    kOpenTruncate = 1u << 2,   // a file opened for writing starts empty
    kOpenDirectory = 1u << 3,  // the name is (or is made) a directory
    kOpenAppend = 1u << 4,     // every write goes to the end of the file
    kOpenFlagsAll = (1u << 5) - 1,
};

// get_meta kBlockInfo: the geometry of a block device object. Reads and writes take `arg` as
// the byte offset; offset and length must be multiples of block_size (kInvalidArgument),
// inside the device (kOutOfRange); a device error fails the operation with kIo.
struct BlockInfo {
    uint64_t block_count;   // blocks on the device
    uint32_t block_size;    // bytes per block (512 or 4096)
    uint32_t max_transfer;  // bytes one read or write may carry at most
    uint32_t flags;         // kBlockReadOnly
    uint32_t reserved;      // zero
};
static_assert(sizeof(BlockInfo) == 24);
inline constexpr uint32_t kBlockReadOnly = 1u << 0;

// get_meta kTimes: nanoseconds since 1970-01-01 UTC (0: unknown). FAT keeps 2-second
// modification times, a creation time to 10 ms and an access date.
struct FileTimes {
    int64_t created;
    int64_t modified;
    int64_t accessed;
};
static_assert(sizeof(FileTimes) == 24);

// get_meta kLinkInfo: a network link object (a NIC driver's). A read receives one Ethernet
// frame (without its CRC; the buffer must hold mtu + 14 bytes, else kBufferTooSmall), waiting
// for one; a write sends one frame of 14 to mtu + 14 bytes. With arg kLinkBatch both carry a
// batch of frames instead (lib/net's frame_batch.hpp: records of a 2-byte little-endian length
// and the frame): a read waits for one frame and receives as many waiting frames as fit (its
// buffer must hold one record of mtu + 14 bytes); a write sends every frame of its batch in
// order, or none when the batch is malformed or a frame's length is wrong (kInvalidArgument;
// a write failed later, by a device fault, may have sent part of its batch, as a lost frame
// would be). Any other arg: kInvalidArgument.
struct LinkInfo {
    uint8_t mac[6];
    uint16_t mtu;    // the largest IP datagram a frame carries (1500)
    uint32_t flags;  // kLinkUp
    uint32_t reserved;
};
static_assert(sizeof(LinkInfo) == 16);
inline constexpr uint32_t kLinkUp = 1u << 0;
inline constexpr uint64_t kLinkBatch = 1;  // the arg of a batched read or write (above)

// get_meta kSocketInfo: the two ends of a socket object, addresses as IPv4 in host order
// (10.0.2.15 is 0x0a00020f), and its protocol state (the server's numbering, for display).
struct SocketInfo {
    uint32_t local_address;
    uint32_t remote_address;
    uint16_t local_port;
    uint16_t remote_port;
    uint32_t state;
};
static_assert(sizeof(SocketInfo) == 16);

// A UDP socket's read and write buffers start with the datagram's other end: a read fills it
// with the sender, a write names the destination; the payload follows.
struct UdpHeader {
    uint32_t address;  // IPv4, host order
    uint16_t port;
    uint16_t reserved;  // zero
};
static_assert(sizeof(UdpHeader) == 8);

// A keyboard object's read gives whole KeyEvent records (a buffer under one record:
// kBufferTooSmall), waiting for at least one. `key` is lib/keymap's key number (the scan code
// set 1 make code, 0x80 | code after an E0 prefix); `code_point` is the character the layout
// gives for it under `modifiers` (0 for none: a modifier, an arrow, a release).
struct KeyEvent {
    uint64_t time_ns;  // the clock when the driver decoded it (a repeat: when it was made)
    uint32_t code_point;
    uint16_t key;
    uint8_t flags;      // kKeyPressed (else released), kKeyRepeat (a held key's repeat)
    uint8_t modifiers;  // kModShift ... kModNumLock, as they were after this key
};
static_assert(sizeof(KeyEvent) == 16);
inline constexpr uint8_t kKeyPressed = 1u << 0, kKeyRepeat = 1u << 1;
inline constexpr uint8_t kModShift = 1u << 0, kModCtrl = 1u << 1, kModAlt = 1u << 2,
                         kModAltGr = 1u << 3, kModCapsLock = 1u << 4, kModNumLock = 1u << 5;

// get_meta kDisplayInfo: a display object's mode and its surface, a memory object the driver
// publishes beside it (`NAME.surface`) that a client maps and draws into in `format`. A write
// takes whole Rect records (damage): each rectangle of the surface is copied to the screen
// before the write completes; one outside the mode is kInvalidArgument and nothing is copied.
enum class PixelFormat : uint32_t { kXrgb8888 = 1 };  // a little-endian u32 0x00RRGGBB
struct DisplayInfo {
    uint32_t width, height;  // pixels
    uint32_t pitch;          // bytes from one surface row to the next
    uint32_t format;         // PixelFormat
    uint64_t surface_size;   // bytes: at least pitch * height
};
static_assert(sizeof(DisplayInfo) == 24);
struct Rect {
    uint32_t x, y, width, height;
};
static_assert(sizeof(Rect) == 16);

// get_meta kMemoryInfo on the process table: what the kernel holds, for leak checks (a test
// reads it before and after a create/destroy loop: everything but the kernel heap's mapped
// frames, which it keeps once grown, must come back to the same numbers).
struct MemoryInfo {
    uint64_t total_frames;      // 4 KiB frames the kernel manages
    uint64_t free_frames;       // of those, free
    uint64_t heap_frames;       // of those, mapped by the kernel heap (kept once grown)
    uint64_t heap_allocations;  // live kernel heap allocations
    uint64_t objects;           // live kernel objects (every kind)
};
static_assert(sizeof(MemoryInfo) == 40);

// get_meta kKernelTime on the process table: the longest stretch the kernel spent in one system
// call without a chance to switch (from its entry, a preemption point or the switch back to its
// thread, to its exit, the next preemption point or a switch away), since boot or the last
// get_meta kKernelTime (each read starts the record again). docs/syscalls.md ("Bounded kernel
// work") states the bound.
struct KernelTime {
    uint64_t longest_ns;           // guest nanoseconds (the calibrated TSC)
    uint64_t longest_call;         // its Syscall number (kCount: a thread ending outside a
                                   // call, after a fault; ~0: none measured yet)
    uint64_t bound_ns;             // the stated bound the kernel keeps to
    uint64_t preemption_points;    // times a long call let interrupts in
    uint64_t preemption_switches;  // of those, times another thread ran meanwhile
};
static_assert(sizeof(KernelTime) == 40);

// get_meta kBootFramebuffer on a PCI device object: the framebuffer the loader set up (GRUB,
// multiboot2) lies in this device's memory BAR `bar` at `offset`, 32 bits per pixel, RGB
// (0x00RRGGBB). Devices without it answer kNotFound.
struct BootFramebuffer {
    uint64_t offset;  // bytes into the BAR
    uint32_t bar;
    uint32_t width, height;
    uint32_t pitch;  // bytes per row
};
static_assert(sizeof(BootFramebuffer) == 24);

// Handle encoding: slot index in the low 8 bits, generation in the next 23 (handles stay
// positive as int32). 0 is never a handle. Both parts are checked; a closed-and-reused slot
// yields kStaleHandle, and a slot is never given a generation it had before (docs/syscalls.md,
// "Handles").
using Handle = uint32_t;
inline constexpr uint32_t kHandleIndexBits = 8;
inline constexpr uint32_t kMaxHandles = 256;  // per process
static_assert(kMaxHandles <= (1u << kHandleIndexBits));

enum class ExitReason : uint32_t {
    kRunning = 0,  // not ended yet
    kExited = 1,   // called ProcessExit / ThreadExit (or its last thread did)
    kFault = 2,    // a CPU exception in user mode ended it
};

// What reading a process or thread object returns once it has ended.
struct ExitInfo {
    uint32_t reason;   // ExitReason
    uint32_t vector;   // CPU exception vector for kFault
    int64_t status;    // exit status for kExited
    uint64_t address;  // faulting instruction (kFault)
    uint64_t cr2;      // faulting data address for page faults
};
static_assert(sizeof(ExitInfo) == 32);

// ProcessSpawn's argument block.
struct SpawnArgs {
    uint64_t handles;       // user address of Handle[handle_count]: given to the child in order
    uint64_t handle_count;  // at most kMaxSpawnHandles
    uint64_t args;          // user address of the argument string (not NUL-terminated)
    uint64_t args_length;   // at most kMaxArgsLength
    uint64_t name;          // user address of the process's name (0: "unnamed"), see Meta::kName
    uint64_t name_length;   // at most kMaxNameLength printable bytes
    uint64_t limits;        // user address of the child's Limits (0: all the parent's remaining)
};
static_assert(sizeof(SpawnArgs) == 56);
inline constexpr uint64_t kMaxSpawnHandles = 16;
inline constexpr uint64_t kMaxArgsLength = 1024;

// Per-process resource limits (docs/syscalls.md, "Resource limits"). The parent sets them at
// spawn (SpawnArgs::limits); a field 0 means "all the parent has left" of it, and a field above
// what the parent has left (its limit minus its use) refuses the spawn: kNoMemory for memory,
// kFull for the counts. Reaching a limit fails the call that would pass it, with the same
// errors, and changes nothing.
struct Limits {
    uint64_t memory;    // bytes of RAM frames charged to the process (whole pages)
    uint32_t handles;   // open handles in its table (at most kMaxHandles - 1)
    uint32_t queues;    // queues and served ports it created that still exist
    uint32_t threads;   // live threads
    uint32_t reserved;  // zero
};
static_assert(sizeof(Limits) == 24);
// get_meta kLimits on a process object (a handle to itself, or to a child): its limits and what
// it uses now. Everything in `used` is back to 0 once the process has ended and the objects
// charged to it are gone.
struct ResourceUsage {
    Limits limits;
    Limits used;
};
static_assert(sizeof(ResourceUsage) == 48);
// Init's limits, so the machine's: every process is under init, and accounts nest (a process's
// use includes its descendants'). All the RAM, kMaxHandles - 1 handles, and these.
inline constexpr uint32_t kMachineThreads = 1024;
inline constexpr uint32_t kMachineQueues = 1024;
// Processes nest at most this deep (init is 1; ended ancestors of a living process count): a
// spawn deeper is refused with kFull.
inline constexpr uint32_t kMaxProcessDepth = 32;

// Asynchronous queues (issue 8). The shared region is laid out by ipc/ (ipc/abi.hpp): the
// user runtime is its ipc::Client, the kernel its ipc::Server. A submission's opcode is
// kQueueOpBase + Op, `object` the handle, `args[0]` the operation's arg, the lent buffer (if
// any) its caller memory. A completion's status is ipc Ok (value = the operation's value),
// Cancelled, BadRequest, or kQueueErrorBase + Error for a failed operation.
struct QueueGeometry {
    uint32_t capacity;      // entries per ring: a power of two, at most kMaxQueueCapacity
    uint32_t buffer_count;  // owned buffers, at most kMaxQueueBuffers
    uint32_t buffer_size;   // bytes per buffer, at most kMaxIoLength
    uint32_t flags;         // QueueCreate: kQueuePolling or 0; ServeCreate: 0
};
static_assert(sizeof(QueueGeometry) == 16);
// QueueCreate's flags (issue 22). kQueuePolling: a kernel thread serves the queue (picks up
// submissions, posts completions) with no system call from the client while it is awake; asleep
// it sets kQueueNeedWakeup in the poll-state word, and queue_poll/queue_wait wake it. While a
// poller serves a queue only the poller consumes its submissions (one reader per ring end):
// queue_poll only wakes it, queue_wait wakes it and sleeps until it posted completions. Any
// other bit is kInvalidArgument. docs/syscalls.md "Polling queues".
inline constexpr uint32_t kQueuePolling = 1;
// kQueueDeviceData: queue_create's third argument is a served object (a handle with Read) whose
// server asked for device data (kServeDeviceData below); the region is then made in the DMA
// memory of that server's device, and the reads and writes the queue forwards to that server
// travel by DMA between the device and the queue's own owned buffers, with no copy by the
// kernel. The device can reach the whole region for as long as it lives (docs/syscalls.md,
// "Device data").
inline constexpr uint32_t kQueueDeviceData = 2;
inline constexpr uint32_t kQueueFlags = kQueuePolling | kQueueDeviceData;
// The poll-state word: a 32-bit word the kernel writes at this byte offset of a polling queue's
// region, in the gap between ipc's QueueHeader (56 bytes) and the first ring header (at 64),
// which ipc/ neither reads nor writes. The client reads it after publishing its tail (with a
// full fence between the two) and wakes the poller (queue_poll) only when kQueueNeedWakeup is
// set. Its other bits are zero. Anything the client writes there is ignored: the kernel only
// writes it.
inline constexpr uint32_t kQueuePollStateOffset = 56;
inline constexpr uint32_t kQueueNeedWakeup = 1;
static_assert(sizeof(ipc::abi::QueueHeader) <= kQueuePollStateOffset &&
              kQueuePollStateOffset + sizeof(uint32_t) <= ipc::abi::kSqHeaderOffset);
// What QueueCreate writes back: where the region is mapped (read-write) in the caller.
struct QueueInfo {
    uint64_t address;  // the region, to hand to ipc::Client::create
    uint64_t size;     // its bytes (ipc::Layout::compute(geometry)->total_size)
};
static_assert(sizeof(QueueInfo) == 16);
// Operations and errors take the first opcodes and statuses ipc leaves to the service.
inline constexpr uint16_t kQueueOpBase = ipc::abi::kFirstServiceOp;
inline constexpr uint16_t kQueueErrorBase = ipc::abi::kFirstServiceStatus;
inline constexpr uint32_t kMaxQueueCapacity = 256;
inline constexpr uint32_t kMaxQueueBuffers = 256;
inline constexpr uint64_t kMaxQueueRegion = 4ull << 20;

// User-space servers (issue 8). ServeCreate lays out a queue whose CLIENT is the kernel: the
// caller attaches ipc::Server to the region (with the same geometry) and serves the served
// object's operations, forwarded as kQueueOpBase + Op with args[0] = the arg,
// args[kServedClientArg] = the calling process's id (0: the kernel's own close notices) and the
// caller's bytes in the lent buffer (request length = the caller's length). The server completes
// with ipc Ok (value: bytes for read/peek/get_meta, copied back up to the caller's length) or
// kQueueErrorBase + Error; ServeSync then hands the completions to the callers.
//
// ServeCreate's third argument, a device handle (Create right) or 0, asks for the region in
// that device's DMA memory: device_address is then where the device reaches the region's first
// byte (an owned buffer at region offset X is at device_address + X), so a driver hands the
// owned buffers to its device without a copy of its own. 0 without a device.
struct ServeInfo {
    uint64_t address;  // the region, to hand to ipc::Server::attach
    uint64_t size;
    uint32_t port;    // kPort handle: read/write, not shareable; closing it ends the service
    uint32_t served;  // kServed handle: all of read, write, share
    uint64_t device_address;  // see above; 0 without a device
};
static_assert(sizeof(ServeInfo) == 32);

// Which argument of a forwarded submission names its client (see above). The kernel also
// keeps one client from taking every slot: while another process waits for room or a buffer on
// a port, a process with served_client_share(capacity / 2) operations in flight there, or
// (for an operation with memory) holding served_client_share(buffer_count) of its buffers,
// waits as well, so what frees up goes to the other. A process alone may use everything.
inline constexpr int kServedClientArg = 1;

// ServeCreate's flags. kServeDeviceData (only with a device): the server also takes reads and
// writes whose data is in no owned buffer but at a device address: the submission's flags have
// kServedDeviceData, its offset is where the device reaches the caller's memory, and
// args[kServedDataLengthArg] the bytes there (the request's own length is 0 and no buffer is
// lent). The kernel sends such operations only from a queue made with kQueueDeviceData for the
// server's own device, only read, read_at and write, and only while the operation is in flight
// may the device use that memory: a read's bytes are the caller's once it completes.
inline constexpr uint32_t kServeDeviceData = 1;
inline constexpr uint32_t kServedDeviceData = 1;  // Submission::flags
inline constexpr int kServedDataLengthArg = 2;
inline constexpr uint32_t served_client_share(uint32_t n) {
    return n <= 1 ? n : n - (n + 3) / 4;
}

// A server answers a forwarded open with Ok and this value: `object` (not 0) is how its later
// submissions name the new object (Submission::object; 0 is the object ServeCreate made), and
// `rights` (within kRightsServed) what the opener's handle may carry at most: it gets these
// and the rights of the handle it opened from. When the last reference to such an object goes,
// the kernel submits kQueueOpBase + Op::kClose with that object and no buffer: the server
// forgets it and completes the notice.
inline constexpr uint64_t served_open_value(uint32_t object, uint32_t rights) {
    return static_cast<uint64_t>(rights) << 32 | object;
}

// The direct call path (issue 24): ServeCall is ServeSync for a server that also takes
// synchronous calls outside its ring. A thread waiting in ServeCall on its port
// receives a do_io on the served object straight from the caller's thread (the kernel switches
// from the caller to it and back without the ring, the kernel's ipc::Client or the scheduler's
// queues) when the operation can travel in a ServeCall: any forwarded operation but open and
// create, with at most kServeCallBytes of data, made while nothing the port forwarded through
// its ring is still in flight (so a call never overtakes what went before it), and not as
// device data. Every other operation takes the ring as before, and a server that never calls
// ServeCall gets every operation there.
//
// One call at a time per thread: the thread HOLDS the call it received until its next
// ServeCall, which must answer it (kServeCallReply; kInvalidArgument otherwise, and nothing
// changes) and then waits for the next call or for ring work. The answer is a completion's:
// status kOk or queue_error_status(e), and value (a read's bytes are data[0..value), at most the
// call's length; the kernel applies the ring path's rules to what it passes on). A call whose
// caller gave up (its timeout, its process ending) is abandoned: the answer is dropped and
// ServeCall goes on as usual. A server thread that ends, or a port that closes, with a call
// held answers it PeerGone, so every call is answered exactly once.
//
// ServeCall returns 1 with a call held (opcode, object, arg, client and length as a ring
// submission's, a write's bytes in data), or 0 when ring work came (`ring`: submissions since
// the last sync or ServeCall, as ServeSync counts them). It collects the port's ring
// completions as ServeSync does. Errors: kTimedOut, kPeerGone (the port's service ended),
// kNoRights, kInvalidArgument, kBadAddress: the message cannot be read (nothing answered) or
// written (the answer, already given, stands; a call received then is answered Protocol, the
// server never having seen it; ring work is reported again by the next ServeCall).
inline constexpr uint32_t kServeCallBytes = 64;
inline constexpr uint32_t kServeCallReply = 1;  // ServeCall::flags: answer the call held
struct ServeCall {
    // In: kServeCallReply with the answer to the call this thread holds, else 0.
    uint32_t flags;
    uint16_t status;
    uint16_t reserved;
    uint64_t value;
    // In: a read's answer (value bytes); out: a write's, set_meta's or destroy's bytes (length).
    // Next to the parts each way, so that each way is one copy.
    uint8_t data[kServeCallBytes];
    // Out, returning 1: the call.
    uint16_t opcode;
    uint16_t reserved2;
    uint32_t object;
    uint64_t arg;
    uint64_t client;
    uint32_t length;
    uint32_t reserved3;
    // Out, returning 0: the ring's submissions since the last sync or ServeCall.
    uint64_t ring;
};
static_assert(sizeof(ServeCall) == 56 + kServeCallBytes);

// The queue codec: one place that turns an Op into a submission's opcode and an Error into a
// completion's status, and back. Decoding is total: anything that is not a valid code gives
// false, so a hostile peer's entry can be handed straight to it.
inline constexpr uint16_t queue_opcode(Op op) {
    return static_cast<uint16_t>(kQueueOpBase + static_cast<uint16_t>(op));
}
inline constexpr bool decode_queue_opcode(uint16_t opcode, Op* out) {
    if (opcode < kQueueOpBase || opcode >= queue_opcode(Op::kCount))
        return false;
    *out = static_cast<Op>(opcode - kQueueOpBase);
    return true;
}
inline constexpr uint16_t queue_error_status(Error e) {
    return static_cast<uint16_t>(kQueueErrorBase + static_cast<uint16_t>(e));
}
// A status in kQueueErrorBase + [1, kLastError]; kWouldBlock is internal to the kernel and never
// a valid completion, so it decodes as false too.
inline constexpr bool decode_queue_error(uint16_t status, Error* out) {
    if (status <= kQueueErrorBase || status > queue_error_status(Error::kLastError) ||
        status == queue_error_status(Error::kWouldBlock)) {
        return false;
    }
    *out = static_cast<Error>(status - kQueueErrorBase);
    return true;
}

// Process tables (issue 16): read/peek (Read) = one ProcessEntry per process in the table (all
// of them, or kBufferTooSmall); get_meta kSize = how many; create (Create) with a TableSpawn =
// spawn, the new process's handle (as ProcessSpawn). The kernel's table holds every process.
// The interface is made of ordinary operations so that a server can offer a table of its own
// (a job server spawning elsewhere): a create on a served object carries the handles (below).
enum class ProcessState : uint32_t {
    kRunning = 0,
    kExited = 1,  // ExitReason::kExited, `status` says how
    kFault = 2,   // ExitReason::kFault, `status` is the vector
};
struct ProcessEntry {
    uint64_t id;
    uint64_t parent;  // the id of the process that spawned it; 0 for the kernel (init)
    uint32_t state;   // ProcessState
    uint32_t threads;
    int64_t status;
    char name[32];  // NUL-padded (kMaxNameLength bytes, not NUL-terminated when full)
};
static_assert(sizeof(ProcessEntry) == 64);
struct TableSpawn {
    uint32_t image;  // memory object handle with kRightSpawn
    uint32_t reserved;
    SpawnArgs args;
};
static_assert(sizeof(TableSpawn) == 64);
// A create on a served object carries handles (docs/syscalls.md, "Handles carried by served
// operations"): its buffer must be a TableSpawn, which names the caller's handles and memory.
// The kernel checks it as ProcessSpawn would (image: a memory object with Spawn; each given
// handle: Share), lends the image and the given handles to the server (each a new handle in
// the server's table with the caller's rights), and the server's buffer holds this record
// instead, with the server's handle values and the caller's bytes copied in. The lent handles
// are the server's until its completion is handed back: then the kernel closes those still
// open (a server keeps one past that by sharing it). The server completes with Ok and a handle
// of its own (with Share) as the value: the caller gets a new handle to that object with the
// same rights. A server whose table has no room for them fails the create with kFull before
// it sees anything.
struct ServedSpawn {
    uint32_t image;  // lent: the server's handle to the program image
    uint32_t handle_count;
    uint32_t handles[kMaxSpawnHandles];  // lent, in order
    uint32_t args_length;
    uint32_t name_length;
    uint32_t has_limits;  // 1: `limits` holds the caller's SpawnArgs::limits; 0: none given
    uint32_t reserved;
    Limits limits;
    char name[32];              // name_length bytes, printable (kMaxNameLength)
    char args[kMaxArgsLength];  // args_length bytes
};
static_assert(sizeof(ServedSpawn) == 1168);

// Devices (issue 15). The kernel puts one device object per PCI function and per legacy device
// it hands out into the "devices" root. On a device object: read/peek (Read) = its
// configuration space from offset `arg`; write (Write) = 1, 2 or 4 naturally aligned bytes at
// `arg`, mediated (BARs, the ROM BAR, bridge windows and the MSI/MSI-X capabilities are the
// kernel's; the command register keeps only the bits a driver may set); get_meta kDevice =
// DeviceInfo; create (Create) with a DeviceResource = a new handle to one of its resources.
enum class DeviceBus : uint32_t {
    kPci = 1,
    kLegacy = 2,  // ports and an ISA interrupt, no configuration space
};
enum class BarKind : uint32_t {
    kNone = 0,
    kMemory = 1,  // create(kBar) gives a memory object over it (map it, no Spawn)
    kIo = 2,      // create(kBar) gives a kIoPorts object over it
};
struct DeviceBar {
    uint64_t base;   // physical address or first port
    uint64_t size;   // bytes or ports; 0 when absent
    uint32_t kind;   // BarKind
    uint32_t flags;  // kBarPrefetchable, kBar64
};
static_assert(sizeof(DeviceBar) == 24);
inline constexpr uint32_t kBarPrefetchable = 1;
inline constexpr uint32_t kBar64 = 2;
struct DeviceInfo {
    uint32_t bus_kind;  // DeviceBus
    uint16_t vendor, device;
    uint8_t class_code, subclass, prog_if, revision;
    uint8_t bus, slot, function, header_type;
    uint8_t interrupt_pin;      // 0 none, 1..4 = INTA..INTD
    uint8_t interrupt_line;     // the firmware's routing (PCI), the ISA IRQ (legacy); 0xff none
    uint16_t msi_vectors;       // MSI-X table size, or MSI vectors; 0 without either
    uint16_t capabilities[16];  // the standard capability IDs found, in list order, 0-terminated
    uint16_t config_size;       // bytes of configuration space: 256, 4096 (ECAM), 0 (legacy)
    uint16_t reserved;
    DeviceBar bars[6];  // legacy devices: bars[0] is their port range (kIo)
};
static_assert(sizeof(DeviceInfo) == 200);
enum class DeviceResourceKind : uint32_t {
    kBar = 1,        // index = BAR; arg = kCacheWriteCombining or 0 (uncached)
    kInterrupt = 2,  // the device's INTx (PCI, through the I/O APIC) or ISA IRQ (legacy)
    kMsi = 3,        // index = vector number within the device's MSI-X table or MSI block
    kDmaMemory = 4,  // arg = bytes: physically contiguous memory the device may reach
};
inline constexpr uint64_t kCacheWriteCombining = 1;
struct DeviceResource {
    uint32_t kind;  // DeviceResourceKind
    uint32_t index;
    uint64_t arg;
};
static_assert(sizeof(DeviceResource) == 16);
inline constexpr uint64_t kMaxDmaMemory = 4ull << 20;  // one kDmaMemory object

// Interrupt objects: read (Read) waits until the interrupt has fired at least once since the
// last read and gives a u64 count of firings (0 is never returned); a level-triggered line is
// masked when it fires and stays masked until write (Write, empty buffer) acknowledges it.
// Firings with no reader are counted, not lost.
struct InterruptInfo {
    uint32_t kind;     // DeviceResourceKind (kInterrupt or kMsi)
    uint32_t vector;   // the CPU vector it arrives on
    uint32_t gsi;      // the I/O APIC input (kInterrupt), else ~0
    uint32_t flags;    // kInterruptLevel, kInterruptActiveLow
    uint64_t count;    // firings since it was created
    uint64_t pending;  // firings not read yet
};
static_assert(sizeof(InterruptInfo) == 32);
inline constexpr uint32_t kInterruptLevel = 1;
inline constexpr uint32_t kInterruptActiveLow = 2;

// Timer objects: write (Write) a TimerSet arms it (deadline 0 disarms); read (Read) waits until
// the deadline and gives a u64 count of expirations since the last read (periodic timers may
// have expired more than once).
struct TimerSet {
    uint64_t deadline_ns;  // absolute, on the Clock's scale; 0 disarms
    uint64_t period_ns;    // 0: one-shot
};
static_assert(sizeof(TimerSet) == 16);

// I/O port objects: read (Read) = `in`, write (Write) = `out` of 1, 2 or 4 bytes at port offset
// `arg` from the range's first port; get_meta kSize = the number of ports. A port outside the
// range is kInvalidArgument.

// Limits.
inline constexpr uint64_t kMaxIoLength = 1ull << 20;     // one do_io transfer
inline constexpr uint64_t kMaxMemorySize = 64ull << 20;  // one memory object
inline constexpr uint64_t kMaxNameLength = 32;           // root entry names
inline constexpr uint64_t kMaxMessageLength = 4096;      // message pipe
inline constexpr uint64_t kPipeCapacity = 4096;          // byte pipe buffer

// Start-up contract: a new process's first thread starts at the ELF entry with
//   rdi = number of handles it was given (they are 1|1<<16, 2|1<<16, ... in order),
//   rsi = user address of its argument string (on its stack), rdx = its length,
//   rsp = 16-byte aligned top of its stack (below the arguments) minus 8.
// The first handle is, by convention, its root.
inline constexpr Handle initial_handle(uint32_t i) {
    return (i + 1) | (1u << kHandleIndexBits);
}

// User address-space layout.
inline constexpr uint64_t kUserImageLowest = 0x10000;      // below: never mapped (null page)
inline constexpr uint64_t kUserImageHighest = 0x40000000;  // program segments end below 1 GiB
inline constexpr uint64_t kUserMapBase = 0x100000000;      // Op::kMap places mappings from here
inline constexpr uint64_t kUserStackTop = 0x7fffffff0000;  // first thread's stack
inline constexpr uint64_t kUserStackSize = 64 * 1024;      // (an unmapped guard page below)
inline constexpr uint64_t kUserTop = 0x800000000000;       // first non-user address

}  // namespace keel::abi
