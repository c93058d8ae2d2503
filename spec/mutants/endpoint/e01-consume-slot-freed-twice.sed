# file: src/client.cpp
# reap_batch's consume() pushes the freed slot on the free-slot stack twice.
s|^    k.free_slots\[k.free_top++\] = std::uint16_t(slot);$|    k.free_slots[k.free_top++] = std::uint16_t(slot);\n    k.free_slots[k.free_top++] = std::uint16_t(slot);|
