/* SPDX-License-Identifier: MIT */
/* ucontext_stubs.S - the ucontext hooks C cannot write: getcontext returns twice, makecontext is variadic, tasks start in a trampoline. */
	.text

/*
 * getcontext: the hook keeps no frame, since getcontext returns twice and
 * a frame of ours would be gone at the second return. It registers the
 * thread's root task, then tail-jumps to glibc's getcontext.
 */
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

/*
 * makecontext(ucp, func, argc, ...): the arguments are never copied, so any
 * argc passes through untouched. costack_makecontext_prepare registers the
 * task and returns the function the context should start (the trampoline
 * below, or func itself); then the stub tail-jumps to glibc's makecontext
 * with every register and stack argument as the caller left them.
 */
	.globl	makecontext
	.type	makecontext, @function
makecontext:
	.cfi_startproc
	endbr64
	pushq	%rax			/* %al: vector registers used by a variadic call */
	.cfi_adjust_cfa_offset 8
	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	pushq	%rsi
	.cfi_adjust_cfa_offset 8
	pushq	%rdx
	.cfi_adjust_cfa_offset 8
	pushq	%rcx
	.cfi_adjust_cfa_offset 8
	pushq	%r8
	.cfi_adjust_cfa_offset 8
	pushq	%r9			/* seven pushes: the stack is aligned for the call */
	.cfi_adjust_cfa_offset 8
	call	costack_makecontext_prepare
	popq	%r9
	.cfi_adjust_cfa_offset -8
	popq	%r8
	.cfi_adjust_cfa_offset -8
	popq	%rcx
	.cfi_adjust_cfa_offset -8
	popq	%rdx
	.cfi_adjust_cfa_offset -8
	popq	%rsi
	.cfi_adjust_cfa_offset -8
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	movq	%rax, %rsi		/* the function the context starts */
	popq	%rax
	.cfi_adjust_cfa_offset -8
	jmp	*costack_real_makecontext(%rip)
	.cfi_endproc
	.size	makecontext, .-makecontext

/*
 * A wrapped task starts here, entered by setcontext or swapcontext with
 * %r12 = its entry function and %r13 = its task (set in the context by
 * costack_makecontext_prepare; glibc's makecontext leaves them alone, and
 * both are callee-saved). Its return address is glibc's start code, which
 * moves on to uc_link: popped here, so that the stack arguments lie where
 * the entry function expects them, and pushed back for the final return.
 */
	.section costack_tramp,"ax",@progbits
	.globl	costack_ucontext_trampoline
	.hidden	costack_ucontext_trampoline
	.type	costack_ucontext_trampoline, @function
costack_ucontext_trampoline:
	.cfi_startproc
	.cfi_undefined rip		/* unwinders stop here: a task's outermost frame */
	endbr64
	popq	%r14			/* glibc's start code; callee-saved across the entry */
	call	*%r12			/* the entry, with the arguments as makecontext placed them */
	movq	%r13, %rdi
	call	costack_ucontext_returned
	pushq	%r14
	ret				/* to glibc's start code: %rbx still points at uc_link */
	.cfi_endproc
	.size	costack_ucontext_trampoline, .-costack_ucontext_trampoline

	.section .note.GNU-stack,"",@progbits
