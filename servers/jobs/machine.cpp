#include "machine.hpp"

namespace keel::jobs {

const char* Machine::name() const {
    return "machine";
}

int64_t Machine::spawn(Handle, const abi::SpawnArgs&) {
    return -static_cast<int64_t>(abi::Error::kNotSupported);
}

int64_t LocalMachine::spawn(Handle image, const abi::SpawnArgs& args) {
    return user::spawn_with(table_, image, args);
}

bool Machines::add(Machine& m) {
    if (count_ == kMax)
        return false;
    list_[count_++] = &m;
    return true;
}

Machine* Machines::choose() {
    Machine* best = nullptr;
    for (uint32_t i = 0; i < count_; ++i) {
        Machine* m = list_[(next_ + i) % count_];
        if (!m->usable())
            continue;
        if (best == nullptr || m->running() < best->running())
            best = m;
    }
    if (count_ > 0)
        next_ = (next_ + 1) % count_;
    return best;
}

}  // namespace keel::jobs
