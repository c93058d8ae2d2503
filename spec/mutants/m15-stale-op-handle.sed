# file: include/ipc/rules.hpp
# An op handle is not checked against its record's generation: a second complete of the same
# handle, or an old handle after the record was reused, completes whichever operation is there.
s|^    return server_may_complete(op_state) \&\& tag_gen(handle) == op_gen;$|    return server_may_complete(op_state);|
