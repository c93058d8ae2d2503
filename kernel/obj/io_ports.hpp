// I/O port objects: `in` and `out` on one range of ports, for a driver of a legacy device (the
// PS/2 controller, a serial port, the PIT, the Bochs display's index/data pair) or of a PCI
// function's I/O BAR. Made only by device objects (obj/device.hpp). Ports are reached through
// this object's operations, never by the process itself: user code runs with IOPL 0 and no TSS
// I/O bitmap, so an `in` or `out` instruction in a process faults and ends that process only.
// A system call per access costs more than a bitmap would; the legacy devices this serves are
// slow, and PCI drivers use memory BARs.
#pragma once

#include "obj/object.hpp"

namespace keel::obj {

class IoPorts final : public Object {
  public:
    // kNoMemory.
    static Result<RefPtr<IoPorts>> create(uint16_t first, uint16_t count);

    // arg = port offset from the first; the buffer's length (1, 2 or 4) is the access width.
    Result<uint64_t> read(Request& req) override;
    Result<uint64_t> write(Request& req) override;
    Result<uint64_t> get_meta(Request& req) override;  // kSize: the number of ports

  private:
    IoPorts(uint16_t first, uint16_t count)
        : Object(abi::Kind::kIoPorts), first_(first), count_(count) {}
    ~IoPorts() override = default;
    // The port for an access of req's width at req.arg, or kInvalidArgument.
    Result<uint16_t> port(const Request& req) const;

    uint16_t first_;
    uint16_t count_;
};

}  // namespace keel::obj
