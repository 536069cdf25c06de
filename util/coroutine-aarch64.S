/*
 * Context switch for aarch64 (AAPCS64); see coroutine_switch_asm in
 * util/coroutine.c for the contract.
 *
 *   void *coroutine_switch_asm(void **save_sp, void *new_sp, void *arg)
 *
 * Saves x19-x28, the frame pointer x29, the link register x30 and the low
 * halves d8-d15 of v8-v15 (the callee-saved set) in a 160-byte frame; the
 * slot order is mirrored by coroutine_init_context, which puts the
 * trampoline in the x30 slot (index 11) of a new context's frame.
 */
#if defined(__aarch64__) && !defined(COROUTINE_FORCE_GENERIC)
    .text
    .globl  coroutine_switch_asm
    .hidden coroutine_switch_asm
    .type   coroutine_switch_asm, %function
    .p2align 4
coroutine_switch_asm:
    .cfi_startproc
    sub     sp, sp, #160
    .cfi_adjust_cfa_offset 160
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mov     x9, sp
    str     x9, [x0]
    mov     sp, x1
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #160
    .cfi_adjust_cfa_offset -160
    /* return value, and first argument of a context's first function */
    mov     x0, x2
    ret
    .cfi_endproc
    .size   coroutine_switch_asm, .-coroutine_switch_asm
#endif

#if defined(__linux__) && defined(__ELF__)
    .section .note.GNU-stack,"",%progbits
#endif
