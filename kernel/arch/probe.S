// Memory probes: each access that may fault is listed in .keel_extable as (instruction,
// fixup). The exception handler resumes a faulting listed instruction at its fixup, which
// returns false. These are the kernel's only recoverable faults (and the basis of future
// user-memory copies).
    .text
    .code64

    .globl keel_probe_read_u64
keel_probe_read_u64:                 // bool (const volatile uint64_t* addr, uint64_t* out)
1:  mov (%rdi), %rax
    mov %rax, (%rsi)
    mov $1, %eax
    ret
2:  xor %eax, %eax
    ret
    .section .keel_extable, "a"
    .quad 1b, 2b
    .text

    .globl keel_probe_write_u64
keel_probe_write_u64:                // bool (volatile uint64_t* addr, uint64_t value)
1:  mov %rsi, (%rdi)
    mov $1, %eax
    ret
2:  xor %eax, %eax
    ret
    .section .keel_extable, "a"
    .quad 1b, 2b
    .text

    .globl keel_probe_call
keel_probe_call:                     // bool (uint64_t addr): calls addr, which must return
    call *%rdi
1:  mov $1, %eax
    ret
2:  xor %eax, %eax
    ret
    // The fault happens at addr, not here: for instruction-fetch faults the handler looks up
    // the return address on top of the stack (1b), pops it and resumes at 2b.
    .section .keel_extable, "a"
    .quad 1b, 2b
    .text

    // User-memory copies (mm/user_copy.cpp): the caller has checked that the user side of the
    // range lies in the user half; a fault on an unmapped or read-only user page resumes at
    // the fixup, which reports failure. The two rep moves (8-byte words, then the 0-7 tail
    // bytes) are the only instructions that may fault. With SMAP on (arch/protections.hpp) the
    // user pages are open to the kernel only between the stac and the clac on either way out.
    .globl keel_user_copy
keel_user_copy:                      // bool (void* dst, const void* src, uint64_t n)
    cmpb $0, keel_smap_on(%rip)
    je 4f
    stac
4:  mov %rdx, %rcx
    shr $3, %rcx
1:  rep movsq
    mov %edx, %ecx
    and $7, %ecx
3:  rep movsb
    mov $1, %eax
    jmp 5f
2:  xor %eax, %eax
5:  cmpb $0, keel_smap_on(%rip)
    je 6f
    clac
6:  ret
    .section .keel_extable, "a"
    .quad 1b, 2b
    .quad 3b, 2b
    .text
