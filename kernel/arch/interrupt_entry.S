// One stub per vector: push a dummy error code where the CPU pushes none, push the vector
// number, then the shared path saves registers into an idt::InterruptFrame and calls
// keel_interrupt_dispatch(frame*).

    .text
    .code64
    .type interrupt_common, @function
interrupt_common:
    cld
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
    add $16, %rsp                    // vector and error code
    iretq

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
