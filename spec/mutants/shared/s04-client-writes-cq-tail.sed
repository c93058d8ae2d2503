# file: src/client.cpp
# close also stores the completion tail it read back, a word only the server writes.
s|^            cq_tail_seen_ = tail;$|            cq_tail_seen_ = tail;\n            shared_store(view_.cq->tail.value, tail, std::memory_order_release);|
