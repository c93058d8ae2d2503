#!/usr/bin/env bash
# check-kernel-symbols.sh KERNEL_ELF
# Kernel symbols live in keel:: (kernel/README.md): the only global symbols allowed outside it
# are the five libc functions, the C++ runtime hooks (operator new/delete, __cxa_*,
# std::nothrow), the stack protector's two (__stack_chk_guard, __stack_chk_fail: the names the
# compiler emits), the vtables of keel:: classes (_ZTVN4keel), the assembly and linker-script
# symbols named keel_* / __keel_* / __kernel_* / __init_array_*. Fails listing any other global
# symbol the kernel defines.
set -uo pipefail
elf=${1:?usage: check-kernel-symbols.sh KERNEL_ELF}
[ -f "$elf" ] || { echo "FAIL: missing $elf: build the kernel preset first" >&2; exit 1; }
nm=$(command -v llvm-nm-14 || command -v nm) || { echo "FAIL: no nm" >&2; exit 1; }
allowed='^(_ZN4keel|_ZNK4keel|_ZTVN4keel|_Znwm|_Znam|_ZdlPv|_ZdaPv|_ZSt7nothrow$|__cxa_|__dso_handle$|__stack_chk_(guard|fail)$|keel_|__keel_|__kernel_|__init_array_|(memcpy|memmove|memset|memcmp|strlen)$)'
stray=$("$nm" -g --defined-only "$elf" | awk '{print $3}' | grep -Ev "$allowed")
total=$("$nm" -g --defined-only "$elf" | wc -l)
if [ -n "$stray" ]; then
    echo "FAIL: global kernel symbols outside namespace keel:" >&2
    printf '  %s\n' $stray >&2
    exit 1
fi
echo "PASS: $total global symbols, all in keel:: or on the allow-list"
