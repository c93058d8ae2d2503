# file: include/ipc/rules.hpp
# The peer's published tail is not bounded by the capacity.
s|    return WordOps<W>::ule(new_tail - head, capacity) \&\&|    return (new_tail == new_tail) \&\&|
