# file: src/client.cpp
# reap_batch's consume() frees a slot without advancing its generation (stale tags match again).
/Client::consume(K& k, Reaped& out)/,/return true;/ s|^    s.gen = std::uint16_t(rules::gen_next<U32>(s.gen));$|    // generation kept|
