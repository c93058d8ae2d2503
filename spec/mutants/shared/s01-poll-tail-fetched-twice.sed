# file: src/server.cpp
# poll validates one load of the client's submission tail and then takes a second load of it
# for use: a client that moves its tail between the two gets an unvalidated tail in.
s|^    sq_tail_seen_ = tail;$|    sq_tail_seen_ = shared_load(view_.sq->tail.value, std::memory_order_acquire);|
