/*
 * Context switch for x86_64 (System V ABI); see coroutine_switch_asm in
 * util/coroutine.c for the contract.
 *
 *   void *coroutine_switch_asm(void **save_sp, void *new_sp, void *arg)
 *
 * Only the callee-saved registers need saving: the caller of this function
 * already assumes every other register is clobbered by the call.
 */
#if defined(__x86_64__) && !defined(COROUTINE_FORCE_GENERIC)
    .text
    .globl  coroutine_switch_asm
    .hidden coroutine_switch_asm
    .type   coroutine_switch_asm, @function
    .p2align 4
coroutine_switch_asm:
    .cfi_startproc
    pushq   %rbp
    .cfi_adjust_cfa_offset 8
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    popq    %r15
    .cfi_adjust_cfa_offset -8
    popq    %r14
    .cfi_adjust_cfa_offset -8
    popq    %r13
    .cfi_adjust_cfa_offset -8
    popq    %r12
    .cfi_adjust_cfa_offset -8
    popq    %rbx
    .cfi_adjust_cfa_offset -8
    popq    %rbp
    .cfi_adjust_cfa_offset -8
    /* return value, and first argument of a context's first function */
    movq    %rdx, %rax
    movq    %rdx, %rdi
    ret
    .cfi_endproc
    .size   coroutine_switch_asm, .-coroutine_switch_asm
#endif

#if defined(__linux__) && defined(__ELF__)
    .section .note.GNU-stack,"",%progbits
#endif
