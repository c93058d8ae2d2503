# file: src/server.cpp
# publish stores the completion tail relaxed: the client may see the tail before the entries.
s|^    shared_store(view_.cq->tail.value, cq_tail_, std::memory_order_release);$|    shared_store(view_.cq->tail.value, cq_tail_, std::memory_order_relaxed);|
