// System-call entry (LSTAR). The CPU left the user rip in rcx and rflags in r11, cleared the
// SFMASK flags (interrupts are off) and did not switch stacks. The stub switches to the
// thread's kernel stack, builds the same idt::InterruptFrame an interrupt from user mode would,
// calls keel_syscall_dispatch(frame*), and returns with sysretq (rax from the frame).
    .text
    .code64
    .globl keel_syscall_entry
    .type keel_syscall_entry, @function
keel_syscall_entry:
    swapgs                           // GS -> syscall_entry::PerCpu
    mov %rsp, %gs:0
    mov %gs:8, %rsp
    pushq $0x1b                      // ss: user data
    pushq %gs:0                      // rsp
    pushq %r11                       // rflags
    pushq $0x23                      // cs: user code
    pushq %rcx                       // rip
    pushq $0                         // error code
    pushq $0x100                     // vector: syscall_entry::kSyscallVector
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
    xor %ebp, %ebp                   // backtraces stop at the user boundary
    call keel_syscall_dispatch       // the frame is 16-byte aligned (kernel stack top - 176)
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
    // rsp -> vector, error, rip, cs, rflags, rsp, ss. The dispatcher guarantees a canonical
    // user rip (sysret with a non-canonical rcx would fault in ring 0).
    mov 16(%rsp), %rcx
    mov 32(%rsp), %r11
    mov 40(%rsp), %rsp
    swapgs
    sysretq
