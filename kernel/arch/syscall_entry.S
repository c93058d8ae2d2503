// System-call entry (LSTAR). The CPU left the user rip in rcx and rflags in r11, cleared the
// SFMASK flags (interrupts are off) and did not switch stacks. The stub switches to the
// thread's kernel stack, saves only what the C++ code may clobber and the user must get back
// (the argument registers rdi rsi rdx r10 r8 r9, and rbp, zeroed so that backtraces stop at the
// user boundary; rbx r12-r15 are callee-saved in the C++ ABI and come back unchanged), builds a
// syscall_entry::SyscallFrame, calls keel_syscall_dispatch(frame*) and returns with sysretq,
// rax = its result. Every register the user sees afterwards is its own or the result: nothing of
// the kernel's leaks.
    .text
    .code64
    .globl keel_syscall_entry
    .type keel_syscall_entry, @function
keel_syscall_entry:
    swapgs                           // GS -> percpu::PerCpu
    mov %rsp, %gs:0
    mov %gs:8, %rsp
    pushq %gs:0                      // rsp
    push %r11                        // rflags
    push %rcx                        // rip
    push %rbp
    push %r9
    push %r8
    push %r10
    push %rdx
    push %rsi
    push %rdi
    push %rax                        // the system-call number
    sub $8, %rsp                     // keeps the call 16-byte aligned (kernel stack top - 96)
    mov %rsp, %rdi
    xor %ebp, %ebp                   // backtraces stop at the user boundary
    call keel_syscall_dispatch       // rax: the result
    add $16, %rsp                    // padding, number
    pop %rdi
    pop %rsi
    pop %rdx
    pop %r10
    pop %r8
    pop %r9
    pop %rbp
    // rsp -> rip, rflags, rsp. The dispatcher guarantees a canonical user rip (sysret with a
    // non-canonical rcx would fault in ring 0).
    pop %rcx
    pop %r11
    pop %rsp
    swapgs
    sysretq
