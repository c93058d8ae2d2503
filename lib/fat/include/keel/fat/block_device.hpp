// The block device a volume lives on, addressed in sectors from the volume's (partition's)
// first sector. The server implements it over its block device object; tests over memory.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/fat/error.hpp>

namespace keel::fat {

struct BlockDevice {
    // Reads `count` sectors from `sector` into `out` (count * sector_size bytes).
    virtual Error read(uint64_t sector, uint32_t count, uint8_t* out) = 0;
    // Writes `count` sectors at `sector` from `in`.
    virtual Error write(uint64_t sector, uint32_t count, const uint8_t* in) = 0;
    // Makes every completed write durable (the cache's barrier ends here).
    virtual Error flush() = 0;

    uint32_t sector_size = 512;  // bytes; 512, 1024, 2048 or 4096
    uint64_t sector_count = 0;   // the library never addresses a sector at or past this

  protected:
    // Not deleted through this type: no virtual destructor, so no operator delete needed in a
    // freestanding program.
    ~BlockDevice() = default;
};

}  // namespace keel::fat
