# file: src/client.cpp
# reap validates its copy of a completion but takes the value from the ring entry again, with
# a plain load the observed build does not report: only a change between the loads shows it.
# (reap_ring alone: reap_batch's consume keeps its head in a cursor.)
/^Result<Reaped> Client::reap_ring() {$/,/^}$/s|^    out.value = c.value;$|    out.value = view_.cq_entries[rules::ring_slot<U32>(cq_head_, capacity_)].value;|
