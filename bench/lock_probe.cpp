// Out-of-line instances of the SpscRing fast path, compiled only so that check_no_lock.sh can
// read their disassembly (the ring is a header: nothing else in ipc/ instantiates it). Built
// twice: with the kernel's freestanding flags and as plain host code.
#include <cstdint>

#include <ipc/spsc_ring.hpp>

namespace keel::bench::probe {

struct Entry16 {
    std::uint64_t w[2];
};
struct Entry64 {
    std::uint64_t w[8];
};

}  // namespace keel::bench::probe

template class keel::ipc::SpscProducer<keel::bench::probe::Entry16>;
template class keel::ipc::SpscConsumer<keel::bench::probe::Entry16>;
template class keel::ipc::SpscProducer<keel::bench::probe::Entry64>;
template class keel::ipc::SpscConsumer<keel::bench::probe::Entry64>;
