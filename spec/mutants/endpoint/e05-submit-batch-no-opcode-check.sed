# file: src/client.cpp
# submit_batch (without buffers) drops the opcode check: a Cancel opcode is queued as a submission.
s|^            if (r.length != 0 \|\| r.opcode == std::uint16_t(abi::Op::Cancel) \|\| !push_room(k))$|            if (r.length != 0 \|\| !push_room(k))|
