#include "block_client.hpp"

namespace keel::fatserver {

int64_t BlockClient::attach(user::Handle object) {
    abi::BlockInfo info{};
    const int64_t r = user::sys::do_io(object, user::Op::kGetMeta, &info, sizeof info,
                                       static_cast<uint64_t>(abi::Meta::kBlockInfo));
    if (r < 0)
        return r;
    const uint32_t s = info.block_size;
    if (r != static_cast<int64_t>(sizeof info) ||
        (s != 512 && s != 1024 && s != 2048 && s != 4096) || info.max_transfer < s ||
        info.block_count == 0)
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    object_ = object;
    sector_size = s;
    sector_count = info.block_count;
    // Whole sectors per request, and never more than a served operation carries.
    const uint64_t most =
        info.max_transfer < abi::kMaxIoLength ? info.max_transfer : abi::kMaxIoLength;
    max_transfer_ = static_cast<uint32_t>(most / s * s);
    return 0;
}

fat::Error BlockClient::transfer(user::Op op, uint64_t sector, uint32_t count, uint8_t* data) {
    if (!inside(sector, count))
        return fat::Error::kIo;
    uint64_t bytes = static_cast<uint64_t>(count) * sector_size;
    uint64_t at = sector * sector_size;
    while (bytes > 0) {
        const uint64_t n = bytes < max_transfer_ ? bytes : max_transfer_;
        if (user::sys::do_io(object_, op, data, n, at) != static_cast<int64_t>(n))
            return fat::Error::kIo;
        data += n;
        at += n;
        bytes -= n;
    }
    return fat::Error::kOk;
}

fat::Error BlockClient::read(uint64_t sector, uint32_t count, uint8_t* out) {
    return transfer(user::Op::kRead, sector, count, out);
}

fat::Error BlockClient::write(uint64_t sector, uint32_t count, const uint8_t* in) {
    // do_io only reads the buffer of a write.
    return transfer(user::Op::kWrite, sector, count, const_cast<uint8_t*>(in));
}

fat::Error BlockClient::flush() {
    return user::sys::do_io(object_, user::Op::kSync) < 0 ? fat::Error::kIo : fat::Error::kOk;
}

}  // namespace keel::fatserver
