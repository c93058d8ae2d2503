# file: src/client.cpp
# Double buffer return: a reaped buffer goes back in hand AND into the pool.
s|^        out.buffer = Buffer(this, s.buffer);$|        out.buffer = Buffer(this, s.buffer);\n        pool_[pool_top_++] = s.buffer;|
