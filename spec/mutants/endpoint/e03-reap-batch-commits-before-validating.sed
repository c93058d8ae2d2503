# file: src/client.cpp
# reap_batch commits the completion tail it read before any entry has validated.
s|^    KEEL_TRY(cq_available(seen));$|    KEEL_TRY(cq_available(seen));\n    cq_tail_seen_ = seen;|
