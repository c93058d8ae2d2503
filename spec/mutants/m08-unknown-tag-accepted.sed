# file: include/ipc/rules.hpp
# A completion for a tag no live slot has (free slot) is accepted.
s|    return slot_state == k(slot_state, kSlotLive) \&\& slot_gen == tag_gen(tag) \&\&|    return slot_gen == tag_gen(tag) \&\&|
