# file: include/ipc/rules.hpp
# A buffer already lent (in flight) may be lent again with a new submission.
/client_may_lend/,/^}/ s|return state == k(state, kBufInHand);|return !(state == k(state, kBufPooled));|
