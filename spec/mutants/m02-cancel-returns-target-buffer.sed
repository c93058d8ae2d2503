# file: src/server.cpp
# The Cancel's own completion carries the target's buffer instead of none.
s|std::uint16_t(out.cancel_buffer), 0);|ops_[target].request.buffer, 0);|
