// Process entry (the start-up contract of kernel/include/keel/syscall_abi.hpp): rdi = handle
// count, rsi = argument string, rdx = its length, rsp = aligned as after a call.
    .section .text.start, "ax"
    .globl _start
    .type _start, @function
_start:
    xor %ebp, %ebp
    call keel_user_start             // [[noreturn]]: exits the process with main's status
    ud2
