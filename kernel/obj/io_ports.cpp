#include "obj/io_ports.hpp"

#include <new>

#include "arch/cpu.hpp"

namespace keel::obj {

Result<RefPtr<IoPorts>> IoPorts::create(uint16_t first, uint16_t count) {
    RefPtr<IoPorts> p = adopt_ref(new (std::nothrow) IoPorts(first, count));
    if (!p)
        return fail(Error::kNoMemory);
    return p;
}

Result<uint16_t> IoPorts::port(const Request& req) const {
    const uint64_t width = req.buffer.length();
    if ((width != 1 && width != 2 && width != 4) || req.arg >= count_ || width > count_ - req.arg)
        return fail(Error::kInvalidArgument);
    return static_cast<uint16_t>(first_ + req.arg);
}

Result<uint64_t> IoPorts::read(Request& req) {
    const uint16_t at = KEEL_TRY(port(req));
    uint32_t value = 0;
    // The buffer is proved writable before the `in`: reading a device's data port consumes.
    KEEL_TRY(req.buffer.copy_into(0, &value, req.buffer.length()));
    switch (req.buffer.length()) {
        case 1:
            value = cpu::inb(at);
            break;
        case 2:
            value = cpu::inw(at);
            break;
        default:
            value = cpu::inl(at);
            break;
    }
    KEEL_TRY(req.buffer.copy_into(0, &value, req.buffer.length()));
    return req.buffer.length();
}

Result<uint64_t> IoPorts::write(Request& req) {
    const uint16_t at = KEEL_TRY(port(req));
    uint32_t value = 0;
    KEEL_TRY(req.buffer.copy_out_of(0, &value, req.buffer.length()));
    switch (req.buffer.length()) {
        case 1:
            cpu::outb(at, static_cast<uint8_t>(value));
            break;
        case 2:
            cpu::outw(at, static_cast<uint16_t>(value));
            break;
        default:
            cpu::outl(at, value);
            break;
    }
    return req.buffer.length();
}

Result<uint64_t> IoPorts::get_meta(Request& req) {
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kSize)
        return answer_u64(req, count_);
    return fail(Error::kInvalidArgument);
}

}  // namespace keel::obj
