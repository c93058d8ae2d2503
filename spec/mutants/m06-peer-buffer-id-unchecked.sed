# file: include/ipc/rules.hpp
# The peer's buffer id is checked against count inclusively: id == count is accepted.
s|return id == k(id, abi::kNoBuffer) \|\| WordOps<W>::ult(id, count);|return id == k(id, abi::kNoBuffer) \|\| WordOps<W>::ule(id, count);|
