// Thread switching. keel_switch_context saves the callee-saved registers on the current
// kernel stack, stores rsp in *save, and resumes the thread whose stack pointer is next_rsp
// (interrupts off throughout). A new thread's stack is built by sched/scheduler.cpp to look
// like one that called keel_switch_context from keel_thread_start.
    .text
    .code64
    .globl keel_switch_context
    .type keel_switch_context, @function
keel_switch_context:                 // void (uint64_t* save, uint64_t next_rsp)
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

    .globl keel_thread_start
    .type keel_thread_start, @function
keel_thread_start:                   // first instruction of every new thread
    xor %ebp, %ebp                   // backtraces end here
    call keel_thread_first_run       // [[noreturn]]
    ud2
