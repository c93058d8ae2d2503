// The application processors' way from real mode to the kernel. arch/smp.cpp copies the bytes
// from keel_ap_trampoline to keel_ap_trampoline_end to a page below 1 MiB, fills the data block
// (keel_ap_trampoline_data, smp.cpp's TrampolineData) and starts each AP there with STARTUP
// (cs = page >> 4, ip = 0). The code is position-independent: in real mode it addresses the
// data through cs = ds, afterwards through ebx = the page's physical address. The page's own
// tables (the data's cr3: the first 2 MiB identity-mapped, the kernel half as the kernel's)
// carry it across the switch to paging; keel_ap_entry then loads the kernel's own CR3.
    .section .rodata.ap_trampoline, "a"
    .balign 16
    .globl keel_ap_trampoline
    .code16
keel_ap_trampoline:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    movzwl %ax, %ebx
    shl $4, %ebx                     // ebx = the page's physical address, from here on
    lgdtl D_GDTR
    mov %cr0, %eax
    or $1, %eax                      // PE
    mov %eax, %cr0
    ljmpl *D_PROTECTED

    .code32
tr_protected:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $(1 << 5), %eax               // PAE
    mov %eax, %cr4
    mov D_CR3(%ebx), %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx            // EFER as the boot CPU has it: LME, NXE (the kernel's
    mov D_EFER(%ebx), %eax           // tables use NX), SCE
    xor %edx, %edx
    wrmsr
    mov %cr0, %eax
    or $(1 << 31), %eax              // PG: long mode active
    mov %eax, %cr0
    ljmp *D_LONG(%ebx)

    .code64
tr_long:
    mov %ebx, %ebx                   // the upper halves are undefined after the mode switch
    mov D_STACK(%rbx), %rsp
    mov D_PERCPU(%rbx), %rdi
    mov D_KERNEL_CR3(%rbx), %rsi
    mov D_ENTRY(%rbx), %rax
    jmp *%rax                        // keel_ap_entry, in the kernel half

// The data block (layout: smp.cpp's TrampolineData, offsets checked there).
    .balign 16
    .globl keel_ap_trampoline_data
keel_ap_trampoline_data:
    .word 4 * 8 - 1                  // 0: GDTR limit
    .long tr_gdt - keel_ap_trampoline //  2: GDTR base (+ page, by smp.cpp)
    .long tr_protected - keel_ap_trampoline // 6: far pointer to 32-bit code (+ page)
    .word 0x08
    .long tr_long - keel_ap_trampoline // 12: far pointer to 64-bit code (+ page)
    .word 0x18
    .long 0                          // 18: cr3 (the page's tables, below 4 GiB)
    .long 0                          // 22: EFER (low half)
    .balign 8
    .quad 0                          // 32: the kernel's CR3
    .quad 0                          // 40: stack top
    .quad 0                          // 48: PerCpu*
    .quad 0                          // 56: entry (keel_ap_entry)
tr_gdt:                              // 64: null, 32-bit code, data, 64-bit code
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
    .quad 0x00af9a000000ffff
    .globl keel_ap_trampoline_end
keel_ap_trampoline_end:

    .set D_GDTR, keel_ap_trampoline_data - keel_ap_trampoline
    .set D_PROTECTED, D_GDTR + 6
    .set D_LONG, D_GDTR + 12
    .set D_CR3, D_GDTR + 18
    .set D_EFER, D_GDTR + 22
    .set D_KERNEL_CR3, D_GDTR + 32
    .set D_STACK, D_GDTR + 40
    .set D_PERCPU, D_GDTR + 48
    .set D_ENTRY, D_GDTR + 56

// The AP's first instructions in the kernel half, on the trampoline's tables: rdi = PerCpu*,
// rsi = the kernel's CR3, rsp = the AP's boot stack.
    .text
    .code64
    .globl keel_ap_entry
    .type keel_ap_entry, @function
keel_ap_entry:
    mov %rsi, %cr3
    xor %ebp, %ebp                   // backtraces stop here
    call keel_ap_main                // never returns
1:  cli
    hlt
    jmp 1b
