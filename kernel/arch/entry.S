// Kernel entry from the loader: long mode, the loader's page tables (identity + direct map +
// kernel), interrupts off, rdi = BootInfo* (direct-map address). The loader's stack is in
// memory the kernel does not own, so the first thing is to switch to the kernel's boot stack
// (entry 0 of keel_stacks, see arch/stacks.cpp: a 4 KiB guard page, then 16 KiB of stack).
    .section .text.entry, "ax"
    .code64
    .globl keel_kernel_entry
    .type keel_kernel_entry, @function
keel_kernel_entry:
    lea keel_stacks + 4096 + 16384(%rip), %rsp
    xor %ebp, %ebp                   // backtraces stop here
    call keel_kernel_main            // rdi passes straight through
1:  cli
    hlt
    jmp 1b
