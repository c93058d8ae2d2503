// First instructions of the loader: the multiboot (v1) and multiboot2 headers, the 32-bit
// entry point, and the switch to long mode that ends in a jump to the kernel. Everything that
// can be written in C++ is in loader_main.cpp; this file holds only what cannot.

#define MB1_MAGIC 0x1badb002
#define MB1_FLAGS 0x00000003  /* bit 0: page-align modules; bit 1: give us a memory map */
#define MB2_MAGIC 0xe85250d6

    .section .multiboot, "a"
    // Multiboot (v1): within the first 8 KiB of the file, 4-byte aligned. QEMU's -kernel uses it.
    .balign 4
mb1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)

    // Multiboot2: within the first 32 KiB, 8-byte aligned. GRUB's multiboot2 command uses it.
    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long 0                          // architecture: i386 protected mode
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
    .balign 8
    .short 6, 0                      // module alignment tag: page-aligned modules
    .long 8
    .balign 8
    // Framebuffer request: a linear 1024x768 mode of 32 bits per pixel. Optional (flags bit
    // 0): GRUB boots without it when it finds no such mode, in text mode. The kernel hands the
    // framebuffer to the display driver (docs/syscalls.md, "Devices").
    .short 5, 1
    .long 20
    .long 1024, 768, 32
    .balign 8
    .short 0, 0                      // end tag
    .long 8
mb2_header_end:

    .section .text
    .code32
    .globl _start
_start:
    // Entered in 32-bit protected mode, paging off, interrupts off; eax holds the multiboot
    // magic and ebx the physical address of the boot information. The stack is undefined.
    cli
    cld
    mov $loader_stack_top, %esp
    mov %eax, %esi
    mov %ebx, %ebp
    // Zero .bss: GRUB does, but nothing in the multiboot specification promises it.
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    push %ebp                        // mbi
    push %esi                        // magic
    call loader_main                 // does not return
1:  cli
    hlt
    jmp 1b

// void enter_long_mode(uint32_t pml4, const Handoff* handoff) [[noreturn]]
// Handoff: u64 entry, u64 boot_info (kernel virtual), u32 enable_nx.
    .globl enter_long_mode
enter_long_mode:
    mov 4(%esp), %edx                // pml4
    mov 8(%esp), %esi                // handoff
    mov %cr4, %eax
    or $(1 << 5), %eax               // PAE: long mode needs it
    mov %eax, %cr4
    mov %edx, %cr3
    mov $0xc0000080, %ecx            // EFER
    rdmsr
    or $(1 << 8), %eax               // LME
    testl $1, 16(%esi)
    jz 2f
    or $(1 << 11), %eax              // NXE: the kernel's page tables use the NX bit
2:  wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16)), %eax  // PG, and WP so read-only pages bind the kernel too
    mov %eax, %cr0
    lgdt gdt64_pointer
    ljmp $0x08, $long_mode

    .code64
long_mode:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov %esi, %esi                   // the upper halves of registers are undefined after the switch
    mov 8(%rsi), %rdi                // first argument of the kernel entry: BootInfo*
    mov 0(%rsi), %rax
    xor %ebp, %ebp                   // terminates the kernel's frame-pointer backtraces
    jmp *%rax

    .section .rodata
    .balign 8
gdt64:
    .quad 0
    .quad 0x00af9a000000ffff         // 0x08: 64-bit code, ring 0
    .quad 0x00cf92000000ffff         // 0x10: data, ring 0
gdt64_end:
gdt64_pointer:
    .short gdt64_end - gdt64 - 1
    .long gdt64

    .section .bss
    .balign 16
loader_stack:
    .skip 16384
loader_stack_top:
