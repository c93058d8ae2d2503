#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script: one binary per fuzz target in $OUT, with its seed
# corpus (<name>_seed_corpus.zip) and dictionary (<name>.dict). Uses only the environment the
# base-builder image sets ($CXX, $CXXFLAGS with the sanitizer and coverage flags of the run,
# $LIB_FUZZING_ENGINE, $SRC, $OUT). The same LLVMFuzzerTestOneInput sources as fuzz/CMakeLists.txt.
src=${SRC}/keel
root=$src
# shellcheck source=../fuzz/targets.sh
source "$src/fuzz/targets.sh"
inc=("${keel_fuzz_includes[@]}")
declare -n source=keel_fuzz_source
for name in "${!source[@]}"; do
    out_name=keel_ipc_$name
    keel_fuzz_parts "$name"
    [ "$name" = kernel_objects ] || keel_parts+=("$src/proptest/model/src/system.cpp")
    $CXX $CXXFLAGS -std=c++20 "${inc[@]}" "$src/${source[$name]}" "${keel_parts[@]}" \
        $LIB_FUZZING_ENGINE -o "$OUT/$out_name"
    if [ -d "$src/fuzz/corpus/$name" ]; then
        (cd "$src/fuzz/corpus/$name" && zip -q -r "$OUT/${out_name}_seed_corpus.zip" .)
    fi
    if [ -f "$src/fuzz/dict/$name.dict" ]; then
        cp "$src/fuzz/dict/$name.dict" "$OUT/$out_name.dict"
    fi
done
