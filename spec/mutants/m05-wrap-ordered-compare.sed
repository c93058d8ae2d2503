# file: include/ipc/rules.hpp
# ">= instead of ==" at wrap: "is there an entry" compares the free-running counters by order.
s|    return !(head == tail);|    return WordOps<W>::ult(head, tail);|
