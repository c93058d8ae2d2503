// AddressSanitizer's defaults for the spec programs that link it (the refinement check, the
// conformance driver, the mutant programs). Most of their allocations are Z3's, which ASan
// intercepts like any other: recording a stack trace at each malloc and free, keeping 256 MiB
// of freed memory in quarantine and scanning the heap for leaks at exit made the refinement
// check about 1.5 times slower (`perf stat -e task-clock`, 7 Dec, alternating runs of
// keel_spec_refine --caps 2 --buffers 2 --depth 1: 10.4 and 11.8 s of CPU with ASan's
// defaults, 7.2 s with these). Every check that finds an error stays on: out-of-bounds and
// use-after-free reports lose the allocation's and the free's stacks, and a use-after-free is
// still caught within the last 16 MiB freed. ipc/ allocates nothing, so a
// leak check would only look at the harness and Z3. ASAN_OPTIONS in the environment still
// overrides these.
extern "C" const char* __asan_default_options() {
    return "malloc_context_size=0:quarantine_size_mb=16:detect_leaks=0";
}
