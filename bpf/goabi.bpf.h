/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go's internal register ABI as seen from a uprobe on a Go function, after
 * the stack check and before the frame is set up (where hotalloc places its
 * probes): integer arguments in order, the current goroutine, and whether
 * the stack-check branch is about to be taken.
 *
 * amd64: arguments RAX, RBX, RCX, RDI, RSI, R8, R9, R10, R11; g in R14.
 * arm64: arguments R0..R15; g in R28.
 */
#ifndef HOTALLOC_GOABI_BPF_H
#define HOTALLOC_GOABI_BPF_H

#if defined(__TARGET_ARCH_x86)

#define GO_ARG1(ctx) ((ctx)->ax)
#define GO_ARG2(ctx) ((ctx)->bx)
#define GO_ARG3(ctx) ((ctx)->cx)
#define GO_ARG4(ctx) ((ctx)->di)
#define GO_ARG5(ctx) ((ctx)->si)
#define GO_G(ctx) ((ctx)->r14)
#define GO_SP(ctx) ((ctx)->sp)
#define GO_FP(ctx) ((ctx)->bp)
/* CALL pushed it: at a function's entry, its stack check and its RET, it is at [SP]. */
#define GO_RETURN_ADDRESS_IN_REGISTER 0

#define X86_EFLAGS_CF 0x0001
#define X86_EFLAGS_ZF 0x0040

/* JBE is taken when CF or ZF is set: the function is off to morestack. */
static __always_inline bool go_stack_check_branch_taken(struct pt_regs *ctx)
{
	return (ctx->flags & (X86_EFLAGS_CF | X86_EFLAGS_ZF)) != 0;
}

#elif defined(__TARGET_ARCH_arm64)

#define GO_REGS(ctx) ((struct user_pt_regs *)(ctx))
#define GO_ARG1(ctx) (GO_REGS(ctx)->regs[0])
#define GO_ARG2(ctx) (GO_REGS(ctx)->regs[1])
#define GO_ARG3(ctx) (GO_REGS(ctx)->regs[2])
#define GO_ARG4(ctx) (GO_REGS(ctx)->regs[3])
#define GO_ARG5(ctx) (GO_REGS(ctx)->regs[4])
#define GO_G(ctx) (GO_REGS(ctx)->regs[28])
#define GO_SP(ctx) (GO_REGS(ctx)->sp)
#define GO_FP(ctx) (GO_REGS(ctx)->regs[29])
/* BL leaves it in the link register until the prologue saves it, and RET reads it there. */
#define GO_RETURN_ADDRESS_IN_REGISTER 1
#define GO_LR(ctx) (GO_REGS(ctx)->regs[30])

#define ARM64_PSTATE_Z (1ULL << 30)
#define ARM64_PSTATE_C (1ULL << 29)

/* B.LS is taken when C is clear or Z is set. */
static __always_inline bool go_stack_check_branch_taken(struct pt_regs *ctx)
{
	__u64 pstate = GO_REGS(ctx)->pstate;
	return !(pstate & ARM64_PSTATE_C) || (pstate & ARM64_PSTATE_Z);
}

#endif

#endif /* HOTALLOC_GOABI_BPF_H */
