# file: src/server.cpp
# take_batch removes one operation too few from the FIFO: the last one taken stays queued there.
s|^    fifo_head_ = head;$|    fifo_head_ = head - 1;|
