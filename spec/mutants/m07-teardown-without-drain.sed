# file: src/client.cpp
# Teardown without drain: after peer_gone/close, operations the server never completed are
# never completed locally either (reap says Empty with operations pending).
s|^    auto r = reap_leftover();$|    Result<Reaped> r = fail(Error::Empty);|
