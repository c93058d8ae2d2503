# file: src/server.cpp
# poll loads the client's submission tail relaxed: the entries it then reads may be older than
# the tail says.
s|^            tail = shared_load(view_.sq->tail.value, std::memory_order_acquire);$|            tail = shared_load(view_.sq->tail.value, std::memory_order_relaxed);|
