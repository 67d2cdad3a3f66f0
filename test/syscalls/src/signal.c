/* signal.c: dispositions, masks, delivery, siginfo, faults, waits. */
#define AREA "signal"
#include "../harness.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

#define NO_SUCH_PID 0x3ffffff0

static volatile sig_atomic_t hits;
static volatile sig_atomic_t last_sig;
static siginfo_t last_info;
static sigset_t mask_in_handler;
static void *stack_addr_in_handler;
static int altstack_flags_in_handler;
static sigjmp_buf fault_jmp;

static void count_handler(int sig)
{
	hits++;
	last_sig = sig;
}

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_sig = sig;
	last_info = *si;
}

static void mask_handler(int sig)
{
	stack_t ss;
	int local;
	hits++;
	last_sig = sig;
	sigprocmask(SIG_SETMASK, NULL, &mask_in_handler);
	stack_addr_in_handler = &local;
	if (sigaltstack(NULL, &ss) == 0)
		altstack_flags_in_handler = ss.ss_flags;
}

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	last_sig = sig;
	last_info = *si;
	siglongjmp(fault_jmp, 1);
}

/* install sets a handler (SA_SIGINFO when info is set) with flags. */
static void install(int sig, void (*h)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		h_fail(1, __FILE__, __LINE__, "sigaction: %s", strerror(errno));
}

static void install_info(int sig, void (*h)(int, siginfo_t *, void *),
			 int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h;
	sa.sa_flags = flags | SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		h_fail(1, __FILE__, __LINE__, "sigaction: %s", strerror(errno));
}

static void reset(void)
{
	hits = 0;
	last_sig = 0;
	memset(&last_info, 0, sizeof(last_info));
}

static void block(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

static void unblock(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

TEST(sigaction_roundtrip)
{
	struct sigaction sa, got;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = info_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
	ASSERT_OK(sigaction(SIGUSR1, NULL, &got));
	EXPECT_TRUE(got.sa_sigaction == info_handler);
	EXPECT_EQ(got.sa_flags & (SA_SIGINFO | SA_RESTART),
		  SA_SIGINFO | SA_RESTART);
	EXPECT_TRUE(sigismember(&got.sa_mask, SIGUSR2));
	EXPECT_FALSE(sigismember(&got.sa_mask, SIGTERM));
}

TEST(sigaction_returns_old_action)
{
	struct sigaction sa, old;
	install(SIGUSR2, count_handler, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	ASSERT_OK(sigaction(SIGUSR2, &sa, &old));
	EXPECT_TRUE(old.sa_handler == count_handler);
	ASSERT_OK(sigaction(SIGUSR2, NULL, &old));
	EXPECT_TRUE(old.sa_handler == SIG_IGN);
}

TEST(sigaction_sigkill_sigstop_einval)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_handler;
	EXPECT_ERRNO(sigaction(SIGKILL, &sa, NULL), EINVAL);
	EXPECT_ERRNO(sigaction(SIGSTOP, &sa, NULL), EINVAL);
	sa.sa_handler = SIG_IGN;
	EXPECT_ERRNO(sigaction(SIGKILL, &sa, NULL), EINVAL);
	/* Querying them is fine. */
	EXPECT_OK(sigaction(SIGKILL, NULL, &old));
	EXPECT_TRUE(old.sa_handler == SIG_DFL);
}

TEST(sigaction_invalid_signal_einval)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	EXPECT_ERRNO(sigaction(0, &sa, NULL), EINVAL);
	EXPECT_ERRNO(sigaction(65, &sa, NULL), EINVAL);
	EXPECT_ERRNO(sigaction(-1, &sa, NULL), EINVAL);
}

TEST(rt_sigaction_bad_sigsetsize_einval)
{
	unsigned long act[4] = {0};
	EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, NULL, act, 4), EINVAL);
	EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, NULL, act, 16), EINVAL);
}

TEST(rt_sigaction_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, (void *)1, NULL, 8),
		     EFAULT);
	EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, NULL, (void *)1, 8),
		     EFAULT);
}

TEST(sigprocmask_block_query_unblock)
{
	sigset_t s, got;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &s, NULL));
	ASSERT_OK(sigprocmask(SIG_SETMASK, NULL, &got));
	EXPECT_TRUE(sigismember(&got, SIGUSR1));
	ASSERT_OK(sigprocmask(SIG_UNBLOCK, &s, &got));
	EXPECT_TRUE(sigismember(&got, SIGUSR1));
	ASSERT_OK(sigprocmask(SIG_SETMASK, NULL, &got));
	EXPECT_FALSE(sigismember(&got, SIGUSR1));
}

TEST(sigprocmask_cannot_block_kill_stop)
{
	sigset_t all, got;
	sigfillset(&all);
	ASSERT_OK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8));
	ASSERT_OK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, NULL, &got, 8));
	EXPECT_FALSE(sigismember(&got, SIGKILL));
	EXPECT_FALSE(sigismember(&got, SIGSTOP));
	EXPECT_TRUE(sigismember(&got, SIGTERM));
	EXPECT_TRUE(sigismember(&got, SIGRTMAX));
}

TEST(sigprocmask_invalid_how_einval)
{
	sigset_t s;
	sigemptyset(&s);
	EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, 99, &s, NULL, 8), EINVAL);
	EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &s, NULL, 4),
		     EINVAL);
}

TEST(blocked_signal_stays_pending)
{
	sigset_t p;
	reset();
	install(SIGUSR1, count_handler, 0);
	block(SIGUSR1);
	ASSERT_OK(kill(getpid(), SIGUSR1));
	EXPECT_EQ(hits, 0);
	ASSERT_OK(sigpending(&p));
	EXPECT_TRUE(sigismember(&p, SIGUSR1));
	EXPECT_FALSE(sigismember(&p, SIGUSR2));
	unblock(SIGUSR1);
	EXPECT_EQ(hits, 1);
	ASSERT_OK(sigpending(&p));
	EXPECT_FALSE(sigismember(&p, SIGUSR1));
}

TEST(standard_signals_coalesce)
{
	reset();
	install(SIGUSR1, count_handler, 0);
	block(SIGUSR1);
	raise(SIGUSR1);
	raise(SIGUSR1);
	raise(SIGUSR1);
	unblock(SIGUSR1);
	EXPECT_EQ(hits, 1);
}

static int rt_values[8];
static volatile int rt_count;

static void rt_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (rt_count < 8)
		rt_values[rt_count] = si->si_value.sival_int;
	rt_count++;
}

TEST(realtime_signals_queue_in_order)
{
	union sigval v;
	rt_count = 0;
	install_info(SIGRTMIN + 1, rt_handler, 0);
	block(SIGRTMIN + 1);
	for (int i = 0; i < 3; i++) {
		v.sival_int = 100 + i;
		ASSERT_OK(sigqueue(getpid(), SIGRTMIN + 1, v));
	}
	EXPECT_EQ(rt_count, 0);
	unblock(SIGRTMIN + 1);
	EXPECT_EQ(rt_count, 3);
	EXPECT_EQ(rt_values[0], 100);
	EXPECT_EQ(rt_values[1], 101);
	EXPECT_EQ(rt_values[2], 102);
}

TEST(lower_signal_delivered_first)
{
	int order[2] = {0, 0};
	sigset_t s;
	int sig;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	raise(SIGUSR2);
	raise(SIGUSR1);
	ASSERT_OK(sigwait(&s, &sig));
	order[0] = sig;
	ASSERT_OK(sigwait(&s, &sig));
	order[1] = sig;
	EXPECT_EQ(order[0], SIGUSR1);
	EXPECT_EQ(order[1], SIGUSR2);
}

TEST(siginfo_from_kill_is_si_user)
{
	reset();
	install_info(SIGUSR1, info_handler, 0);
	ASSERT_OK(kill(getpid(), SIGUSR1));
	EXPECT_EQ(hits, 1);
	EXPECT_EQ(last_info.si_signo, SIGUSR1);
	EXPECT_EQ(last_info.si_code, SI_USER);
	EXPECT_EQ(last_info.si_pid, getpid());
	EXPECT_EQ(last_info.si_uid, getuid());
}

TEST(siginfo_from_tgkill_is_si_tkill)
{
	reset();
	install_info(SIGUSR2, info_handler, 0);
	ASSERT_OK(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2));
	EXPECT_EQ(hits, 1);
	EXPECT_EQ(last_info.si_signo, SIGUSR2);
	EXPECT_EQ(last_info.si_code, SI_TKILL);
	EXPECT_EQ(last_info.si_pid, getpid());
}

TEST(siginfo_from_sigqueue_carries_value)
{
	union sigval v = {.sival_int = 1234};
	reset();
	install_info(SIGUSR1, info_handler, 0);
	ASSERT_OK(sigqueue(getpid(), SIGUSR1, v));
	EXPECT_EQ(hits, 1);
	EXPECT_EQ(last_info.si_code, SI_QUEUE);
	EXPECT_EQ(last_info.si_value.sival_int, 1234);
	EXPECT_EQ(last_info.si_pid, getpid());
}

TEST(rt_sigqueueinfo_custom_code_to_self)
{
	siginfo_t si;
	reset();
	install_info(SIGUSR1, info_handler, 0);
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGUSR1;
	si.si_code = -42;
	si.si_value.sival_int = 77;
	ASSERT_OK(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si));
	EXPECT_EQ(hits, 1);
	EXPECT_EQ(last_info.si_code, -42);
	EXPECT_EQ(last_info.si_value.sival_int, 77);
}

TEST(rt_sigqueueinfo_kernel_code_to_other_eperm)
{
	siginfo_t si;
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGUSR1;
	si.si_code = SI_KERNEL;
	EXPECT_ERRNO(syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si), EPERM);
	si.si_code = SI_TKILL;
	EXPECT_ERRNO(syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si), EPERM);
	kill(pid, SIGKILL);
	EXPECT_EQ(h_wait(pid), 1000 + SIGKILL);
}

TEST(sa_resethand_resets_to_default)
{
	struct sigaction got;
	reset();
	install(SIGUSR1, count_handler, SA_RESETHAND);
	raise(SIGUSR1);
	EXPECT_EQ(hits, 1);
	ASSERT_OK(sigaction(SIGUSR1, NULL, &got));
	EXPECT_TRUE(got.sa_handler == SIG_DFL);
}

TEST(signal_blocked_during_own_handler)
{
	reset();
	install(SIGUSR1, mask_handler, 0);
	raise(SIGUSR1);
	EXPECT_EQ(hits, 1);
	EXPECT_TRUE(sigismember(&mask_in_handler, SIGUSR1));
}

TEST(sa_nodefer_leaves_signal_unblocked)
{
	reset();
	install(SIGUSR1, mask_handler, SA_NODEFER);
	raise(SIGUSR1);
	EXPECT_EQ(hits, 1);
	EXPECT_FALSE(sigismember(&mask_in_handler, SIGUSR1));
}

TEST(sa_mask_applied_then_restored)
{
	struct sigaction sa;
	sigset_t after;
	reset();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mask_handler;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, SIGHUP);
	ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
	raise(SIGUSR1);
	EXPECT_EQ(hits, 1);
	EXPECT_TRUE(sigismember(&mask_in_handler, SIGUSR2));
	EXPECT_TRUE(sigismember(&mask_in_handler, SIGHUP));
	sigprocmask(SIG_SETMASK, NULL, &after);
	EXPECT_FALSE(sigismember(&after, SIGUSR2));
	EXPECT_FALSE(sigismember(&after, SIGUSR1));
}

TEST(sigaltstack_with_sa_onstack)
{
	size_t sz = 64 * 1024;
	char *mem = malloc(sz);
	stack_t ss, old, got;
	ASSERT_TRUE(mem != NULL);
	ss.ss_sp = mem;
	ss.ss_size = sz;
	ss.ss_flags = 0;
	ASSERT_OK(sigaltstack(&ss, &old));
	ASSERT_OK(sigaltstack(NULL, &got));
	EXPECT_TRUE(got.ss_sp == mem);
	EXPECT_EQ(got.ss_size, sz);
	EXPECT_EQ(got.ss_flags, 0);
	reset();
	install(SIGUSR1, mask_handler, SA_ONSTACK);
	raise(SIGUSR1);
	EXPECT_EQ(hits, 1);
	EXPECT_TRUE((char *)stack_addr_in_handler >= mem &&
		    (char *)stack_addr_in_handler < mem + sz);
	EXPECT_EQ(altstack_flags_in_handler, SS_ONSTACK);
	/* Without SA_ONSTACK the handler stays on the normal stack. */
	install(SIGUSR1, mask_handler, 0);
	raise(SIGUSR1);
	EXPECT_FALSE((char *)stack_addr_in_handler >= mem &&
		     (char *)stack_addr_in_handler < mem + sz);
	ss.ss_flags = SS_DISABLE;
	EXPECT_OK(sigaltstack(&ss, NULL));
	ASSERT_OK(sigaltstack(NULL, &got));
	EXPECT_EQ(got.ss_flags, SS_DISABLE);
	free(mem);
}

TEST(sigaltstack_too_small_enomem)
{
	char buf[64];
	stack_t ss = {.ss_sp = buf, .ss_size = sizeof(buf), .ss_flags = 0};
	EXPECT_ERRNO(sigaltstack(&ss, NULL), ENOMEM);
}

TEST(sigaltstack_bad_flags_einval)
{
	static char buf[65536];
	stack_t ss = {.ss_sp = buf, .ss_size = sizeof(buf), .ss_flags = 0x1234};
	EXPECT_ERRNO(sigaltstack(&ss, NULL), EINVAL);
}

TEST(sigsuspend_returns_eintr_restores_mask)
{
	sigset_t empty, now;
	reset();
	install(SIGUSR1, count_handler, 0);
	block(SIGUSR1);
	raise(SIGUSR1);
	sigemptyset(&empty);
	EXPECT_ERRNO(sigsuspend(&empty), EINTR);
	EXPECT_EQ(hits, 1);
	sigprocmask(SIG_SETMASK, NULL, &now);
	EXPECT_TRUE(sigismember(&now, SIGUSR1));
}

TEST(sigtimedwait_timeout_eagain)
{
	sigset_t s;
	struct timespec ts = {0, 10 * 1000 * 1000};
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	block(SIGUSR2);
	EXPECT_ERRNO(sigtimedwait(&s, NULL, &ts), EAGAIN);
}

TEST(sigtimedwait_zero_timeout_polls)
{
	sigset_t s;
	struct timespec ts = {0, 0};
	siginfo_t si;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	block(SIGUSR2);
	EXPECT_ERRNO(sigtimedwait(&s, NULL, &ts), EAGAIN);
	ASSERT_OK(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2));
	/* Raw syscall: glibc's wrapper rewrites SI_TKILL to SI_USER. */
	EXPECT_EQ(syscall(SYS_rt_sigtimedwait, &s, &si, &ts, 8), SIGUSR2);
	EXPECT_EQ(si.si_signo, SIGUSR2);
	EXPECT_EQ(si.si_code, SI_TKILL);
}

TEST(sigtimedwait_bad_timespec_einval)
{
	sigset_t s;
	struct timespec ts = {0, 1000000000};
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	block(SIGUSR2);
	EXPECT_ERRNO(sigtimedwait(&s, NULL, &ts), EINVAL);
}

TEST(sigwaitinfo_gets_queued_value)
{
	sigset_t s;
	siginfo_t si;
	union sigval v = {.sival_int = 555};
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 2);
	block(SIGRTMIN + 2);
	ASSERT_OK(sigqueue(getpid(), SIGRTMIN + 2, v));
	EXPECT_EQ(sigwaitinfo(&s, &si), SIGRTMIN + 2);
	EXPECT_EQ(si.si_code, SI_QUEUE);
	EXPECT_EQ(si.si_value.sival_int, 555);
}

TEST(sigsegv_unmapped_si_addr)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_OK(munmap(p, pg));
	reset();
	install_info(SIGSEGV, fault_handler, SA_NODEFER);
	if (sigsetjmp(fault_jmp, 1) == 0) {
		*(volatile char *)(p + 8) = 1;
		h_fail(1, __FILE__, __LINE__, "no fault");
	}
	EXPECT_EQ(last_sig, SIGSEGV);
	EXPECT_EQ(last_info.si_signo, SIGSEGV);
	EXPECT_EQ(last_info.si_code, SEGV_MAPERR);
	EXPECT_TRUE(last_info.si_addr == p + 8);
}

TEST(sigsegv_readonly_write_accerr)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	reset();
	install_info(SIGSEGV, fault_handler, SA_NODEFER);
	if (sigsetjmp(fault_jmp, 1) == 0) {
		*(volatile char *)(p + 100) = 1;
		h_fail(0, __FILE__, __LINE__, "no fault");
	}
	EXPECT_EQ(last_info.si_code, SEGV_ACCERR);
	EXPECT_TRUE(last_info.si_addr == p + 100);
	munmap(p, pg);
}

TEST(sigsegv_null_read)
{
	reset();
	install_info(SIGSEGV, fault_handler, SA_NODEFER);
	if (sigsetjmp(fault_jmp, 1) == 0) {
		(void)*(volatile int *)16;
		h_fail(1, __FILE__, __LINE__, "no fault");
	}
	EXPECT_EQ(last_info.si_code, SEGV_MAPERR);
	EXPECT_TRUE(last_info.si_addr == (void *)16);
}

TEST(sigfpe_integer_divide_by_zero)
{
	volatile int a = 10, b = 0;
	reset();
	install_info(SIGFPE, fault_handler, SA_NODEFER);
	if (sigsetjmp(fault_jmp, 1) == 0) {
		a = a / b;
		h_fail(1, __FILE__, __LINE__, "no fault");
	}
	EXPECT_EQ(last_sig, SIGFPE);
	EXPECT_EQ(last_info.si_code, FPE_INTDIV);
	EXPECT_TRUE(last_info.si_addr != NULL);
}

TEST(sigill_from_ud2)
{
	reset();
	install_info(SIGILL, fault_handler, SA_NODEFER);
	if (sigsetjmp(fault_jmp, 1) == 0) {
		__asm__ volatile("ud2");
		h_fail(1, __FILE__, __LINE__, "no fault");
	}
	EXPECT_EQ(last_sig, SIGILL);
	EXPECT_EQ(last_info.si_code, ILL_ILLOPN);
}

TEST(sigtrap_from_int3)
{
	reset();
	install_info(SIGTRAP, fault_handler, SA_NODEFER);
	if (sigsetjmp(fault_jmp, 1) == 0) {
		__asm__ volatile("int3");
		h_fail(1, __FILE__, __LINE__, "no trap");
	}
	EXPECT_EQ(last_sig, SIGTRAP);
	EXPECT_EQ(last_info.si_code, SI_KERNEL);
}

TEST(fault_handler_blocked_signal_kills)
{
	/* A synchronous fault with SIGSEGV blocked still kills the process. */
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		block(SIGSEGV);
		*(volatile int *)16 = 1;
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 1000 + SIGSEGV);
}

TEST(sigchld_on_child_exit)
{
	sigset_t s;
	siginfo_t si;
	struct timespec ts = {10, 0};
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	block(SIGCHLD);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(7);
	ASSERT_EQ(sigtimedwait(&s, &si, &ts), SIGCHLD);
	EXPECT_EQ(si.si_code, CLD_EXITED);
	EXPECT_EQ(si.si_pid, pid);
	EXPECT_EQ(si.si_status, 7);
	EXPECT_EQ(h_wait(pid), 7);
}

TEST(sigchld_ignored_autoreaps)
{
	install(SIGCHLD, SIG_IGN, 0);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(0);
	/* wait blocks until the child is gone, then finds nothing. */
	EXPECT_ERRNO(waitpid(pid, NULL, 0), ECHILD);
}

TEST(sa_nocldwait_autoreaps)
{
	install(SIGCHLD, SIG_DFL, SA_NOCLDWAIT);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(0);
	EXPECT_ERRNO(waitpid(pid, NULL, 0), ECHILD);
}

TEST(pause_interrupted_eintr)
{
	/* A repeating timer: one that fires before pause() starts (on a
	 * loaded machine) is followed by another while it waits. */
	struct itimerval it = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};
	reset();
	install(SIGALRM, count_handler, 0);
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_ERRNO(pause(), EINTR);
	setitimer(ITIMER_REAL, &off, NULL);
	EXPECT_GE(hits, 1);
	EXPECT_EQ(last_sig, SIGALRM);
}

TEST(alarm_delivers_sigalrm)
{
	sigset_t s, old;
	reset();
	install(SIGALRM, count_handler, 0);
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	sigprocmask(SIG_BLOCK, &s, &old);
	EXPECT_EQ(alarm(1), 0);
	sigdelset(&old, SIGALRM);
	while (hits == 0)
		sigsuspend(&old);
	EXPECT_EQ(hits, 1);
	EXPECT_EQ(last_sig, SIGALRM);
	EXPECT_EQ(alarm(0), 0);
}

TEST(alarm_returns_remaining)
{
	EXPECT_EQ(alarm(100), 0);
	unsigned left = alarm(0);
	EXPECT_GE(left, 90); /* generous: a loaded box may stall */
	EXPECT_LE(left, 100);
	EXPECT_EQ(alarm(0), 0);
}

struct restart_arg {
	pthread_t target;
	int wfd;
	volatile int done;
	int write_after;
};

static void *restart_thread(void *p)
{
	struct restart_arg *a = p;
	struct timespec ts = {0, 10 * 1000 * 1000};
	for (int i = 0; i < 500 && !a->done; i++) {
		pthread_kill(a->target, SIGUSR1);
		nanosleep(&ts, NULL);
		if (a->write_after && hits >= 3) {
			write(a->wfd, "x", 1);
			break;
		}
	}
	return NULL;
}

/* read_with_signals reads one byte while another thread keeps signalling. */
static ssize_t read_with_signals(int flags, int *err)
{
	int p[2];
	char c;
	pthread_t t;
	struct restart_arg a;
	ssize_t n;

	reset();
	install(SIGUSR1, count_handler, flags);
	if (pipe(p) != 0)
		return -2;
	a.target = pthread_self();
	a.wfd = p[1];
	a.done = 0;
	a.write_after = flags & SA_RESTART;
	pthread_create(&t, NULL, restart_thread, &a);
	n = read(p[0], &c, 1);
	*err = errno;
	a.done = 1;
	pthread_join(t, NULL);
	close(p[0]);
	close(p[1]);
	return n;
}

TEST(read_without_sa_restart_eintr)
{
	int err = 0;
	EXPECT_EQ(read_with_signals(0, &err), -1);
	EXPECT_EQ(err, EINTR);
	EXPECT_GE(hits, 1);
}

TEST(read_with_sa_restart_restarts)
{
	int err = 0;
	EXPECT_EQ(read_with_signals(SA_RESTART, &err), 1);
	EXPECT_GE(hits, 3);
}

TEST(kill_invalid_signal_einval)
{
	EXPECT_ERRNO(kill(getpid(), 65), EINVAL);
	EXPECT_ERRNO(kill(getpid(), -1), EINVAL);
}

TEST(tgkill_errors)
{
	EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), NO_SUCH_PID, SIGUSR1), ESRCH);
	EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), 0, SIGUSR1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_tgkill, -1, getpid(), SIGUSR1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), getpid(), 99), EINVAL);
	EXPECT_OK(syscall(SYS_tgkill, getpid(), getpid(), 0));
}

TEST(ignored_signal_is_discarded)
{
	sigset_t p;
	install(SIGUSR1, SIG_IGN, 0);
	EXPECT_OK(raise(SIGUSR1));
	ASSERT_OK(sigpending(&p));
	EXPECT_FALSE(sigismember(&p, SIGUSR1));
}

TEST(setting_sig_ign_flushes_pending)
{
	sigset_t p;
	install(SIGUSR1, count_handler, 0);
	block(SIGUSR1);
	raise(SIGUSR1);
	ASSERT_OK(sigpending(&p));
	EXPECT_TRUE(sigismember(&p, SIGUSR1));
	install(SIGUSR1, SIG_IGN, 0);
	ASSERT_OK(sigpending(&p));
	EXPECT_FALSE(sigismember(&p, SIGUSR1));
}

TEST(default_action_ignore_continues)
{
	install(SIGURG, SIG_DFL, 0);
	install(SIGWINCH, SIG_DFL, 0);
	EXPECT_OK(raise(SIGURG));
	EXPECT_OK(raise(SIGWINCH));
}

TEST(default_action_terminate_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 1000 + SIGTERM);
}

TEST(kill_process_group)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		for (;;)
			pause();
	}
	setpgid(pid, pid); /* close the race with the child's own call */
	EXPECT_OK(kill(-pid, SIGTERM));
	EXPECT_EQ(h_wait(pid), 1000 + SIGTERM);
}

TEST(pdeathsig_delivered_on_parent_exit)
{
	int p[2];
	char c = 0;
	ASSERT_OK(pipe(p));
	pid_t mid = h_fork();
	ASSERT_GE(mid, 0);
	if (mid == 0) {
		int ready[2];
		if (pipe(ready) != 0)
			_exit(1);
		pid_t gc = fork();
		if (gc == 0) {
			sigset_t s;
			int sig;
			sigemptyset(&s);
			sigaddset(&s, SIGUSR1);
			sigprocmask(SIG_BLOCK, &s, NULL);
			prctl(PR_SET_PDEATHSIG, SIGUSR1);
			write(ready[1], "r", 1);
			sigwait(&s, &sig);
			write(p[1], sig == SIGUSR1 ? "y" : "n", 1);
			_exit(0);
		}
		read(ready[0], &c, 1);
		_exit(0);
	}
	close(p[1]);
	EXPECT_EQ(h_wait(mid), 0);
	EXPECT_EQ(read(p[0], &c, 1), 1);
	EXPECT_EQ(c, 'y');
}

TEST(sigpending_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_rt_sigpending, (void *)1, 8), EFAULT);
}

TEST(handler_sees_thread_directed_signal)
{
	reset();
	install_info(SIGUSR1, info_handler, 0);
	ASSERT_OK(syscall(SYS_tkill, syscall(SYS_gettid), SIGUSR1));
	EXPECT_EQ(hits, 1);
	EXPECT_EQ(last_info.si_code, SI_TKILL);
}
