#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script: one binary per fuzz target in $OUT, with its seed
# corpus (<name>_seed_corpus.zip) and dictionary (<name>.dict). Uses only the environment the
# base-builder image sets ($CXX, $CXXFLAGS with the sanitizer and coverage flags of the run,
# $LIB_FUZZING_ENGINE, $SRC, $OUT). The same LLVMFuzzerTestOneInput sources as fuzz/CMakeLists.txt.
src=${SRC}/keel
common=("$src/ipc/src/client.cpp" "$src/ipc/src/server.cpp" "$src/ipc/host/host_platform.cpp"
        "$src/proptest/model/src/model.cpp" "$src/proptest/model/src/system.cpp"
        "$src/ipc/linux/src/hello.cpp" "$src/lib/elf/src/elf_check.cpp"
        "$src/lib/acpi/src/acpi.cpp" "$src/lib/pci/src/pci.cpp")
inc=(-I"$src/ipc/include" -I"$src/ipc/host" -I"$src/proptest/model/include"
     -I"$src/ipc/linux/include" -I"$src/lib/elf/include" -I"$src/lib/boot_abi/include"
     -I"$src/lib/acpi/include" -I"$src/lib/pci/include" -I"$src/lib/bytes/include")

declare -A source=(
    [differential]=fuzz/differential/differential_fuzz.cpp
    [hostile]=fuzz/hostile/hostile_peer_fuzz.cpp
    [abi]=fuzz/abi/abi_decode_fuzz.cpp
    [linux_hello]=fuzz/linux_hello/linux_hello_fuzz.cpp
    [elf]=fuzz/elf/elf_fuzz.cpp
    [acpi]=fuzz/acpi/acpi_fuzz.cpp
    [pci]=fuzz/pci/pci_fuzz.cpp
)
for name in "${!source[@]}"; do
    out_name=keel_ipc_$name
    $CXX $CXXFLAGS -std=c++20 "${inc[@]}" "$src/${source[$name]}" "${common[@]}" \
        $LIB_FUZZING_ENGINE -o "$OUT/$out_name"
    if [ -d "$src/fuzz/corpus/$name" ]; then
        (cd "$src/fuzz/corpus/$name" && zip -q -r "$OUT/${out_name}_seed_corpus.zip" .)
    fi
    if [ -f "$src/fuzz/dict/$name.dict" ]; then
        cp "$src/fuzz/dict/$name.dict" "$OUT/$out_name.dict"
    fi
done
