# file: include/ipc/rules.hpp
# A freed slot keeps its generation: a stale or duplicated completion still matches.
s|    return (gen + k(gen, 1)) \& k(gen, kSlotMask);|    return gen \& k(gen, kSlotMask);|
