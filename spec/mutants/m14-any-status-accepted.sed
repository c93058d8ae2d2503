# file: include/ipc/rules.hpp
# Any completion status is accepted for any slot (InProgress/NotFound for a non-Cancel too).
s|    return !(slot_is_cancel == k(slot_is_cancel, 0)) \|\| !cancel_only;|    return slot_is_cancel == slot_is_cancel;|
