# file: src/server.cpp
# Freeing an op record keeps its buffer marked held: the buffer can never be lent again.
s|^        held_\[op.request.buffer\] = rules::kHeldNo;$|        held_[op.request.buffer] = rules::kHeldYes;|
