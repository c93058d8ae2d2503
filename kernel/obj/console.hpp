// The console: writes go to the serial port (COM1), unchanged. There is no input yet.
#pragma once

#include "obj/object.hpp"

namespace keel::obj {

class Console final : public Object {
  public:
    static Result<RefPtr<Console>> create();  // kNoMemory
    abi::Kind kind() const override { return abi::Kind::kConsole; }
    Result<uint64_t> write(Request& req) override;
};

}  // namespace keel::obj
