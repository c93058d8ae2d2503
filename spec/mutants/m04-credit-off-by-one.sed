# file: include/ipc/rules.hpp
# Credit off by one: capacity + 1 operations may be outstanding.
s|return WordOps<W>::ult(live, capacity);|return WordOps<W>::ule(live, capacity);|
