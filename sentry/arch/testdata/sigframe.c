// sigframe: records the signal frames the host kernel builds and what
// rt_sigreturn does with a frame a handler edited, for signal_frame_test.go
// to compare with arch.SignalSetup and arch.SignalRestore.
//
//   sigframe frames      one "case=... key=value ..." line per delivery
//   sigframe restore     effects of edited frames on rt_sigreturn
//   sigframe norestorer  a handler without SA_RESTORER (the process must
//                        die of SIGSEGV)
//   sigframe dump        the bytes of one frame and its FP state
//   sigframe replay      prints a frame, replaces it with the hex bytes read
//                        from stdin, returns through it and prints the
//                        registers it restored
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

// What a handler saw at entry, saved by an assembly trampoline before any
// instruction of the C handler changes the registers.
struct entry {
	uint64_t rsp, rax, rdi, rsi, rdx, flags;
};
struct entry e1, e2;

void record1(int sig, siginfo_t *si, void *uc);
void record2(int sig, siginfo_t *si, void *uc);

#define TRAMPOLINE(name, ent, target)                      \
	__asm__(".text\n.globl " #name "\n" #name ":\n"        \
		"mov %rsp, " #ent "+0(%rip)\n"                     \
		"mov %rax, " #ent "+8(%rip)\n"                     \
		"mov %rdi, " #ent "+16(%rip)\n"                    \
		"mov %rsi, " #ent "+24(%rip)\n"                    \
		"mov %rdx, " #ent "+32(%rip)\n"                    \
		"pushfq\npop %r11\n"                               \
		"mov %r11, " #ent "+40(%rip)\n"                    \
		"jmp " #target "\n");
TRAMPOLINE(tramp1, e1, record1)
TRAMPOLINE(tramp2, e2, record2)
void tramp1(int);
void tramp2(int);

// tgkill to this thread, with the direction flag set at the syscall.
static void raise_df(int sig) {
	long pid = getpid(), tid = syscall(SYS_gettid), ret;
	__asm__ volatile("std\n\tsyscall\n\tcld"
			 : "=a"(ret)
			 : "a"((long)SYS_tgkill), "D"(pid), "S"(tid), "d"((long)sig)
			 : "rcx", "r11", "memory", "cc");
}

struct record {
	struct entry e;
	uint64_t sp, eflags, cs_gs_fs, uc_flags, st_sp, st_size, fpstate, oldmask, sigmask;
	uint64_t err, trapno, cr2;
	uint32_t st_flags, xs, ext, magic2;
	uint64_t xf, bv, pretcode;
	int info_written, signo;
};
static struct record r1, r2;
static volatile int alt_filled;

static void record(struct record *r, struct entry *e, void *ucv) {
	ucontext_t *uc = ucv;
	r->e = *e;
	r->sp = uc->uc_mcontext.gregs[REG_RSP];
	r->eflags = uc->uc_mcontext.gregs[REG_EFL];
	r->cs_gs_fs = uc->uc_mcontext.gregs[REG_CSGSFS];
	r->err = uc->uc_mcontext.gregs[REG_ERR];
	r->trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	r->cr2 = uc->uc_mcontext.gregs[REG_CR2];
	r->oldmask = uc->uc_mcontext.gregs[REG_OLDMASK];
	r->uc_flags = uc->uc_flags;
	r->st_sp = (uint64_t)uc->uc_stack.ss_sp;
	r->st_flags = uc->uc_stack.ss_flags;
	r->st_size = uc->uc_stack.ss_size;
	memcpy(&r->sigmask, &uc->uc_sigmask, 8);
	unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
	r->fpstate = (uint64_t)fp;
	memcpy(&r->xs, fp + 464 + 16, 4);
	memcpy(&r->ext, fp + 464 + 4, 4);
	memcpy(&r->xf, fp + 464 + 8, 8);
	memcpy(&r->magic2, fp + r->xs, 4);
	memcpy(&r->bv, fp + 512, 8);
	memcpy(&r->pretcode, (char *)e->rsp, 8);
	r->info_written = -1;
	if (alt_filled) {
		unsigned char *si = (unsigned char *)e->rsi;
		r->info_written = 0;
		for (int i = 0; i < 128; i++)
			if (si[i] != 0xaa)
				r->info_written = 1;
	}
}

static volatile int nest;
static sigjmp_buf fault_env;

void record2(int sig, siginfo_t *si, void *uc) {
	(void)si;
	r2.signo = sig;
	record(&r2, &e2, uc);
}

void record1(int sig, siginfo_t *si, void *uc) {
	(void)si;
	r1.signo = sig;
	record(&r1, &e1, uc);
	if (nest)
		raise_df(SIGUSR2);
	if (sig == SIGSEGV)
		siglongjmp(fault_env, 1);
}

static uint64_t kernel_flags(int sig, uint64_t *restorer) {
	uint64_t ka[4];
	if (syscall(SYS_rt_sigaction, sig, NULL, ka, 8) != 0) {
		perror("rt_sigaction");
		exit(2);
	}
	*restorer = ka[2];
	return ka[1];
}

static void print(const char *name, struct record *r, int sig, void *alt_sp, int alt_flags, size_t alt_size) {
	uint64_t restorer, flags = kernel_flags(sig, &restorer);
	printf("case=%s signo=%d sa_flags=%#lx restorer=%#lx handler=%#lx alt_sp=%#lx alt_flags=%#x alt_size=%#lx "
	       "sp=%#lx eflags=%#lx csgsfs=%#lx err=%#lx trapno=%#lx cr2=%#lx "
	       "entry_rsp=%#lx entry_rax=%#lx entry_rdi=%#lx entry_rsi=%#lx entry_rdx=%#lx entry_flags=%#lx "
	       "pretcode=%#lx uc_flags=%#lx st_sp=%#lx st_flags=%#x st_size=%#lx fpstate=%#lx "
	       "xs=%#x ext=%#x xf=%#lx magic2=%#x bv=%#lx oldmask=%#lx sigmask=%#lx info_written=%d\n",
	       name, r->signo, flags, restorer, (uint64_t)(sig == SIGUSR2 ? tramp2 : tramp1),
	       (uint64_t)alt_sp, alt_flags, (uint64_t)alt_size,
	       r->sp, r->eflags, r->cs_gs_fs, r->err, r->trapno, r->cr2,
	       r->e.rsp, r->e.rax, r->e.rdi, r->e.rsi, r->e.rdx, r->e.flags,
	       r->pretcode, r->uc_flags, r->st_sp, r->st_flags, r->st_size, r->fpstate,
	       r->xs, r->ext, r->xf, r->magic2, r->bv, r->oldmask, r->sigmask, r->info_written);
}

static void handle(int sig, void (*h)(int), int flags, int block) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = flags;
	if (block)
		sigaddset(&sa.sa_mask, block);
	if (sigaction(sig, &sa, NULL) != 0) {
		perror("sigaction");
		exit(2);
	}
}

static char altbuf[1 << 16] __attribute__((aligned(4096)));

static void set_alt(void *sp, int flags, size_t size) {
	stack_t ss = {.ss_sp = sp, .ss_flags = flags, .ss_size = size};
	if (sigaltstack(&ss, NULL) != 0) {
		perror("sigaltstack");
		exit(2);
	}
}

static void frames(void) {
	sigset_t m;

	// On the thread's stack, with a signal blocked. The process never
	// called sigaltstack, so the kernel's record of it is all zero.
	handle(SIGUSR1, tramp1, SA_SIGINFO, 0);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	sigaddset(&m, SIGRTMIN + 3);
	sigprocmask(SIG_SETMASK, &m, NULL);
	raise_df(SIGUSR1);
	print("stack", &r1, SIGUSR1, 0, 0, 0);
	sigemptyset(&m);
	sigprocmask(SIG_SETMASK, &m, NULL);

	// SA_ONSTACK without an alternate stack.
	handle(SIGUSR1, tramp1, SA_SIGINFO | SA_ONSTACK, 0);
	raise_df(SIGUSR1);
	print("onstack_none", &r1, SIGUSR1, 0, 0, 0);

	// Alternate stacks at odd addresses and sizes; the C library's
	// SA_SIGINFO-less handler to see that siginfo is not written.
	static const struct {
		const char *name;
		int off, flags, sa;
		size_t size;
	} alts[] = {
		{"alt", 0, 0, SA_SIGINFO | SA_ONSTACK, 40000},
		{"alt_odd", 3, 0, SA_SIGINFO | SA_ONSTACK, 40005},
		{"alt_odd2", 77, 0, SA_SIGINFO | SA_ONSTACK, 33333},
		{"alt_autodisarm", 8, SS_AUTODISARM, SA_SIGINFO | SA_ONSTACK, 40000},
		{"alt_nosiginfo", 0, 0, SA_ONSTACK, 40000},
		{"alt_unused", 0, 0, SA_SIGINFO, 40000},
	};
	for (size_t i = 0; i < sizeof alts / sizeof alts[0]; i++) {
		memset(altbuf, 0xaa, sizeof altbuf);
		alt_filled = (alts[i].sa & SA_ONSTACK) != 0;
		set_alt(altbuf + alts[i].off, alts[i].flags, alts[i].size);
		handle(SIGUSR1, tramp1, alts[i].sa, 0);
		raise_df(SIGUSR1);
		print(alts[i].name, &r1, SIGUSR1, altbuf + alts[i].off, alts[i].flags, alts[i].size);
		alt_filled = 0;
	}

	// A signal while a handler runs on the alternate stack.
	memset(altbuf, 0xaa, sizeof altbuf);
	set_alt(altbuf, 0, 40000);
	handle(SIGUSR1, tramp1, SA_SIGINFO | SA_ONSTACK, 0);
	handle(SIGUSR2, tramp2, SA_SIGINFO | SA_ONSTACK, 0);
	nest = 1;
	raise_df(SIGUSR1);
	nest = 0;
	print("nested_outer", &r1, SIGUSR1, altbuf, 0, 40000);
	print("nested", &r2, SIGUSR2, altbuf, 0, 40000);

	// After sigaltstack(SS_DISABLE) the recorded flags say so.
	set_alt(NULL, SS_DISABLE, 0);
	raise_df(SIGUSR1);
	print("disabled", &r1, SIGUSR1, 0, SS_DISABLE, 0);

	// A page fault: trapno, err and cr2 describe it, and stay in the
	// frames of later signals.
	handle(SIGSEGV, tramp1, SA_SIGINFO, 0);
	if (sigsetjmp(fault_env, 1) == 0)
		*(volatile int *)0x10 = 1;
	print("fault", &r1, SIGSEGV, 0, SS_DISABLE, 0);
	raise_df(SIGUSR1);
	print("after_fault", &r1, SIGUSR1, 0, SS_DISABLE, 0);
}

// rt_sigreturn of edited frames.
extern char resume_flags[];
static volatile int edit;
static void editor(int sig, siginfo_t *si, void *ucv) {
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
	switch (edit) {
	case 1: // every arithmetic flag and IOPL, NT, ID; IF cleared
		uc->uc_mcontext.gregs[REG_EFL] = 0x8d5 | 0x3000 | 0x4000 | 0x200000;
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)resume_flags;
		break;
	case 2: // no FP state: the init state
		uc->uc_mcontext.fpregs = NULL;
		break;
	case 3: // XSAVE magic gone: only the FXSAVE part is restored
		memset(fp + 464, 0, 4);
		break;
	case 4: // SIGKILL, SIGSTOP and SIGUSR2 in the restored mask
		sigaddset(&uc->uc_sigmask, SIGKILL);
		sigaddset(&uc->uc_sigmask, SIGSTOP);
		sigaddset(&uc->uc_sigmask, SIGUSR2);
		break;
	}
}

static void restore(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = editor;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	long pid = getpid(), tid = syscall(SYS_gettid), ret;

	uint64_t flags;
	edit = 1;
	__asm__ volatile("syscall\n\tud2\n"
			 ".globl resume_flags\nresume_flags:\n\t"
			 "pushfq\n\tpop %1\n\t"
			 "push $0x202\n\tpopfq"
			 : "=a"(ret), "=&r"(flags)
			 : "a"((long)SYS_tgkill), "D"(pid), "S"(tid), "d"((long)SIGUSR1)
			 : "rcx", "r11", "memory", "cc");
	printf("eflags_set=%#lx eflags_after=%#lx\n", (uint64_t)0x8d5 | 0x3000 | 0x4000 | 0x200000, flags);

	uint32_t mxcsr_in = 0x9fc0, mxcsr_out;
	edit = 2;
	__asm__ volatile("ldmxcsr %2\n\tsyscall\n\tstmxcsr %1"
			 : "=a"(ret), "=m"(mxcsr_out)
			 : "m"(mxcsr_in), "a"((long)SYS_tgkill), "D"(pid), "S"(tid), "d"((long)SIGUSR1)
			 : "rcx", "r11", "memory");
	printf("nullfp_mxcsr_before=%#x nullfp_mxcsr_after=%#x\n", mxcsr_in, mxcsr_out);

	if (__builtin_cpu_supports("avx")) {
		unsigned char in[32], out[32];
		for (int i = 0; i < 32; i++)
			in[i] = i + 1;
		edit = 3;
		__asm__ volatile("vmovdqu (%2), %%ymm0\n\tsyscall\n\tvmovdqu %%ymm0, (%3)\n\tvzeroupper"
				 : "=a"(ret)
				 : "a"((long)SYS_tgkill), "r"(in), "r"(out), "D"(pid), "S"(tid), "d"((long)SIGUSR1)
				 : "rcx", "r11", "xmm0", "memory");
		printf("fxonly_ymm0=");
		for (int i = 0; i < 32; i++)
			printf("%02x", out[i]);
		printf("\n");
	}

	edit = 4;
	raise_df(SIGUSR1);
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	uint64_t m;
	memcpy(&m, &cur, 8);
	printf("mask_after=%#lx\n", m);
	(void)ret;
}

static unsigned char dumpbuf[1 << 16];
static uint64_t dump_frame, dump_len;
static void dumper(int sig, siginfo_t *si, void *ucv) {
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
	uint32_t xs;
	memcpy(&xs, fp + 464 + 16, 4);
	dump_frame = (uint64_t)uc - 8;
	dump_len = (uint64_t)fp + xs + 4 - dump_frame;
	if (dump_len <= sizeof dumpbuf)
		memcpy(dumpbuf, (void *)dump_frame, dump_len);
}

static void dump(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = dumper;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	// Some live x87, SSE and AVX state.
	double d = 1.5;
	__asm__ volatile("fldl %0\n\tfldpi" ::"m"(d));
	raise_df(SIGUSR1);
	__asm__ volatile("fstp %st(0)\n\tfstp %st(0)");
	if (dump_len > sizeof dumpbuf)
		exit(4);
	printf("frame=%#lx bytes=", dump_frame);
	for (uint64_t i = 0; i < dump_len; i++)
		printf("%02x", dumpbuf[i]);
	printf("\n");
}

static int unhex(int c) {
	return c >= 'a' ? c - 'a' + 10 : c - '0';
}

static void replayer(int sig, siginfo_t *si, void *ucv) {
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
	uint32_t xs;
	memcpy(&xs, fp + 464 + 16, 4);
	uint64_t frame = (uint64_t)uc - 8, len = (uint64_t)fp + xs + 4 - frame;
	if (len > sizeof dumpbuf)
		exit(4);
	printf("frame=%#lx bytes=", frame);
	for (uint64_t i = 0; i < len; i++)
		printf("%02x", ((unsigned char *)frame)[i]);
	printf("\n");
	fflush(stdout);
	static char line[2 * sizeof dumpbuf + 2];
	if (!fgets(line, sizeof line, stdin) || strlen(line) != 2 * len + 1)
		exit(5);
	for (uint64_t i = 0; i < len; i++)
		dumpbuf[i] = unhex(line[2 * i]) << 4 | unhex(line[2 * i + 1]);
	memcpy((void *)frame, dumpbuf, len);
}

static void replay(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = replayer;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	unsigned char in[32], out[32];
	for (int i = 0; i < 32; i++)
		in[i] = 0xc0 + i;
	long pid = getpid(), tid = syscall(SYS_gettid), ret;
	uint64_t rbx_out;
	__asm__ volatile("mov $0x1122334455667788, %%rbx\n\t"
			 "vmovdqu (%2), %%ymm1\n\t"
			 "syscall\n\t"
			 "vmovdqu %%ymm1, (%3)\n\t"
			 "vzeroupper"
			 : "=a"(ret), "=&b"(rbx_out)
			 : "r"(in), "r"(out), "a"((long)SYS_tgkill), "D"(pid), "S"(tid), "d"((long)SIGUSR1)
			 : "rcx", "r11", "xmm1", "memory");
	printf("rbx=%#lx ymm1=", rbx_out);
	for (int i = 0; i < 32; i++)
		printf("%02x", out[i]);
	printf("\n");
	(void)ret;
}

static void norestorer(void) {
	uint64_t ka[4] = {(uint64_t)tramp1, SA_SIGINFO, 0, 0};
	if (syscall(SYS_rt_sigaction, SIGUSR1, ka, NULL, 8) != 0) {
		perror("rt_sigaction");
		exit(2);
	}
	raise_df(SIGUSR1);
	printf("survived\n");
	exit(3);
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "frames") == 0)
		frames();
	else if (argc == 2 && strcmp(argv[1], "restore") == 0)
		restore();
	else if (argc == 2 && strcmp(argv[1], "replay") == 0)
		replay();
	else if (argc == 2 && strcmp(argv[1], "dump") == 0)
		dump();
	else if (argc == 2 && strcmp(argv[1], "norestorer") == 0)
		norestorer();
	else
		return 2;
	return 0;
}
