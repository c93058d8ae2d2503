// One stub per vector: push a dummy error code where the CPU pushes none, push the vector
// number, then the shared path saves registers into an idt::InterruptFrame and calls
// keel_interrupt_dispatch(frame*).

    .text
    .code64
    .type interrupt_common, @function
interrupt_common:
    // From user mode GS holds the user's base: swap in the kernel's (syscall_entry::PerCpu) so
    // that the kernel always runs with it, whichever way it was entered. cs is at 24(%rsp).
    testb $3, 24(%rsp)
    jz 1f
    swapgs
    // User code may have set EFLAGS.AC, which would open user pages to the kernel despite
    // SMAP (syscall masks it; interrupts do not): close them. iretq gives the user its AC back.
    cmpb $0, keel_smap_on(%rip)
    je 1f
    clac
1:  cld
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
    mov %rsp, %rdi
    // Link a frame to the interrupted code so backtraces cross the interrupt: a fake frame
    // whose return address is the interrupted rip.
    push 17*8(%rsp)                  // frame.rip
    push 9*8(%rsp)                   // frame.rbp (one push later)
    mov %rsp, %rbp
    mov %rsp, %rbx
    and $-16, %rsp
    call keel_interrupt_dispatch
    mov %rbx, %rsp
    add $16, %rsp
    // keel_enter_user(frame*) starts a thread in user mode through this same return path.
    .globl keel_interrupt_return
keel_interrupt_return:
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
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:  add $16, %rsp                    // vector and error code
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
    jmp interrupt_common
    .set vec, vec + 1
    .endr
    .balign 16
    .globl keel_interrupt_stubs_end
keel_interrupt_stubs_end:
