// One stub per vector: push a dummy error code where the CPU pushes none, push the vector
// number, then the shared path saves registers into an idt::InterruptFrame and calls
// keel_interrupt_dispatch(frame*). The NMI, the double fault and the machine check take
// paranoid_common instead, which finds out whether GS needs swapping from the GS base itself.

    .text
    .code64
    .macro SAVE_REGISTERS            // the general registers of an idt::InterruptFrame
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    .endm
    .macro RESTORE_REGISTERS
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    .endm
    // keel_interrupt_dispatch(frame*), rsp pointing at the saved registers. Links a frame to
    // the interrupted code so backtraces cross the interrupt: a fake frame whose return
    // address is the interrupted rip. rbx keeps the unaligned rsp (callee-saved).
    .macro CALL_DISPATCH
    mov %rsp, %rdi
    push 17*8(%rsp)                  // frame.rip
    push 9*8(%rsp)                   // frame.rbp (one push later)
    mov %rsp, %rbp
    mov %rsp, %rbx
    and $-16, %rsp
    call keel_interrupt_dispatch
    mov %rbx, %rsp
    add $16, %rsp
    .endm

    .type interrupt_common, @function
interrupt_common:
    // From user mode GS holds the user's base: swap in the kernel's (percpu::PerCpu) so that
    // the kernel always runs with it, whichever way it was entered. cs is at 24(%rsp). (Only
    // vectors that cannot arrive between a swapgs and its iretq/sysretq come here: those run
    // with interrupts off, and their exceptions would be kernel bugs that end in a panic.)
    testb $3, 24(%rsp)
    jz 1f
    swapgs
    // User code may have set EFLAGS.AC, which would open user pages to the kernel despite
    // SMAP (syscall masks it; interrupts do not): close them. iretq gives the user its AC back.
    cmpb $0, keel_smap_on(%rip)
    je 1f
    clac
1:  cld
    SAVE_REGISTERS
    CALL_DISPATCH
    // keel_enter_user(frame*) starts a thread in user mode through this same return path.
    .globl keel_interrupt_return
keel_interrupt_return:
    RESTORE_REGISTERS
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:  add $16, %rsp                    // vector and error code
    iretq

    // The NMI, double fault and machine check can arrive anywhere, including in kernel mode
    // just after the exit paths swapped the user's GS back in (or just before the system-call
    // entry swapped it out): cs cannot tell which GS is loaded, the GS base can. The kernel's
    // blocks are in the kernel half (bit 63 set); user mode's GS base is always 0 (nothing lets
    // a program change it). r12 remembers the decision across the call (callee-saved), and
    // the frame's copy of r12 is restored after it has been used.
    .type paranoid_common, @function
paranoid_common:
    cld
    SAVE_REGISTERS
    mov $0xc0000101, %ecx            // IA32_GS_BASE
    rdmsr
    xor %r12d, %r12d
    test %edx, %edx
    js 1f                            // already the kernel's
    swapgs
    mov $1, %r12d
1:  cmpb $0, keel_smap_on(%rip)      // AC as in interrupt_common; iretq gives it back
    je 2f
    clac
2:
    CALL_DISPATCH
    test %r12d, %r12d
    jz 3f
    swapgs
3:
    RESTORE_REGISTERS
    add $16, %rsp                    // vector and error code
    iretq

    .globl keel_enter_user
    .type keel_enter_user, @function
keel_enter_user:                     // [[noreturn]] (idt::InterruptFrame* frame), interrupts off
    mov %rdi, %rsp
    jmp keel_interrupt_return

// Stub n is at keel_interrupt_stubs + 16 * n (idt.cpp relies on it and checks the total size).
    .balign 16
    .globl keel_interrupt_stubs
keel_interrupt_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0                         // no CPU error code for this vector
    .endif
    pushq $vec
    .if (vec == 2) || (vec == 8) || (vec == 18)
    jmp paranoid_common
    .else
    jmp interrupt_common
    .endif
    .set vec, vec + 1
    .endr
    .balign 16
    .globl keel_interrupt_stubs_end
keel_interrupt_stubs_end:
