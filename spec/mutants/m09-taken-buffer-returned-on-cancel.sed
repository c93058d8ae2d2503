# file: include/ipc/rules.hpp
# Cancelling a taken op completes it at once, returning its buffer while the service holds it.
s|        O::ite(queued, k(state, 1), k(state, 0)),|        O::ite(is_found, k(state, 1), k(state, 0)),|
