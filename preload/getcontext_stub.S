/* SPDX-License-Identifier: MIT */
/* getcontext_stub.S - getcontext returns twice, so its hook keeps no frame: it tail-jumps to glibc's. */
	.text
	.globl	getcontext
	.type	getcontext, @function
getcontext:
	.cfi_startproc
	endbr64
	pushq	%rdi			/* the argument; also aligns the stack for the call */
	.cfi_adjust_cfa_offset 8
	call	costack_getcontext_prepare
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	jmp	*%rax			/* glibc's getcontext, returning to our caller */
	.cfi_endproc
	.size	getcontext, .-getcontext
	.section .note.GNU-stack,"",@progbits
