/* time2.c: sleeps and their restart, alarm, itimers, POSIX timers (signals,
 * overruns, limits) and argument checking, beyond time.c. */
#define AREA "time2"
#include "../harness.h"

#include <sys/resource.h>
#include <sys/timex.h>
#include <time.h>

static volatile sig_atomic_t hits;
static siginfo_t last_info;

static void count_handler(int sig)
{
	(void)sig;
	hits++;
}

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	hits++;
	last_info = *si;
}

static double ts_sec(const struct timespec *ts)
{
	return ts->tv_sec + ts->tv_nsec / 1e9;
}

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts_sec(&ts);
}

/* on installs h for sig without SA_RESTART. */
static void on(int sig, void (*h)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sigaction(sig, &sa, NULL);
}

static void on_info(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = info_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(sig, &sa, NULL);
}

static void block(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

/* take waits for the blocked signal sig and returns its info. */
static int take(int sig, siginfo_t *si)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	return sigwaitinfo(&s, si);
}

/* repeat_alarm makes SIGALRM arrive every 20 ms, so that a signal landing
 * before a sleep starts (on a loaded machine) is followed by another. */
static void repeat_alarm(void)
{
	struct itimerval it = {{0, 20000}, {0, 20000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static void alarm_off(void)
{
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
}

TEST(nanosleep_few_ms)
{
	struct timespec ts = {0, 3 * 1000 * 1000};
	double t0 = now(CLOCK_MONOTONIC);
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(nanosleep(&ts, NULL), 0);
	EXPECT_GE(now(CLOCK_MONOTONIC) - t0, 0.009);
}

TEST(nanosleep_raw_rem_untouched_when_not_interrupted)
{
	struct timespec ts = {0, 1000 * 1000}, rem = {77, 77};
	EXPECT_EQ(syscall(SYS_nanosleep, &ts, &rem), 0);
	EXPECT_EQ(rem.tv_sec, 77);
	EXPECT_EQ(rem.tv_nsec, 77);
	/* rem is only written on interruption: a bad one is not checked. */
	EXPECT_EQ(syscall(SYS_nanosleep, &ts, (void *)1), 0);
}

TEST(nanosleep_eintr_writes_rem)
{
	struct timespec ts = {10, 0}, rem = {0, 0};
	hits = 0;
	on(SIGALRM, count_handler);
	repeat_alarm();
	EXPECT_ERRNO(syscall(SYS_nanosleep, &ts, &rem), EINTR);
	alarm_off();
	EXPECT_GE(hits, 1);
	EXPECT_GT(ts_sec(&rem), 0);
	EXPECT_LE(ts_sec(&rem), 10);
	EXPECT_GE(rem.tv_nsec, 0);
	EXPECT_LT(rem.tv_nsec, 1000000000);
}

TEST(nanosleep_eintr_bad_rem_efault)
{
	struct timespec ts = {10, 0};
	on(SIGALRM, count_handler);
	repeat_alarm();
	EXPECT_ERRNO(syscall(SYS_nanosleep, &ts, (void *)1), EFAULT);
	alarm_off();
}

TEST(clock_nanosleep_relative_eintr_writes_rem)
{
	struct timespec ts = {10, 0}, rem = {0, 0};
	hits = 0;
	on(SIGALRM, count_handler);
	repeat_alarm();
	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem), EINTR);
	alarm_off();
	EXPECT_GE(hits, 1);
	EXPECT_GT(ts_sec(&rem), 0);
	EXPECT_LE(ts_sec(&rem), 10);
}

TEST(clock_nanosleep_absolute_eintr_leaves_rem)
{
	struct timespec t, rem = {55, 55};
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 10;
	on(SIGALRM, count_handler);
	repeat_alarm();
	EXPECT_EQ(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &t, &rem),
		  EINTR);
	alarm_off();
	EXPECT_EQ(rem.tv_sec, 55);
	EXPECT_EQ(rem.tv_nsec, 55);
}

TEST(nanosleep_restarted_after_stop_and_continue)
{
	/* A stop and continue interrupt the sleep without running a handler:
	 * the kernel restarts it (restart_syscall) for the remaining time. */
	struct timespec ts = {0, 60 * 1000 * 1000};
	double t0 = now(CLOCK_MONOTONIC);
	pid_t child = h_fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		usleep(10000);
		kill(getppid(), SIGSTOP);
		usleep(10000);
		kill(getppid(), SIGCONT);
		_exit(0);
	}
	EXPECT_EQ(nanosleep(&ts, NULL), 0);
	EXPECT_GE(now(CLOCK_MONOTONIC) - t0, 0.0599);
	EXPECT_EQ(h_wait(child), 0);
}

TEST(clock_nanosleep_absolute_past_returns_at_once)
{
	struct timespec past;
	clock_gettime(CLOCK_MONOTONIC, &past);
	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL),
		  0);
	past.tv_sec = 0;
	past.tv_nsec = 1;
	EXPECT_EQ(clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &past, NULL),
		  0);
	EXPECT_EQ(clock_nanosleep(CLOCK_TAI, TIMER_ABSTIME, &past, NULL), 0);
}

TEST(clock_nanosleep_clocks)
{
	struct timespec ts = {0, 1000 * 1000};
	double t0 = now(CLOCK_MONOTONIC);
	EXPECT_EQ(clock_nanosleep(CLOCK_REALTIME, 0, &ts, NULL), 0);
	EXPECT_EQ(clock_nanosleep(CLOCK_BOOTTIME, 0, &ts, NULL), 0);
	EXPECT_EQ(clock_nanosleep(CLOCK_TAI, 0, &ts, NULL), 0);
	/* Unknown flags are ignored. */
	EXPECT_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0x10, &ts, NULL),
		  0);
	EXPECT_GE(now(CLOCK_MONOTONIC) - t0, 0.0039);
}

TEST(clock_nanosleep_unsupported_clocks)
{
	struct timespec ts = {0, 1000};
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_RAW, 0, &ts,
			     NULL),
		     EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_COARSE, 0,
			     &ts, NULL),
		     EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, CLOCK_REALTIME_COARSE, 0,
			     &ts, NULL),
		     EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0,
			     &ts, NULL),
		     EOPNOTSUPP);
	/* The operation is checked before the timespec is read. */
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_RAW, 0,
			     (void *)1, NULL),
		     EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, 10, 0, &ts, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, 12, 0, &ts, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, 99, 0, (void *)1, NULL),
		     EINVAL);
}

TEST(clock_nanosleep_cpu_clock_ids)
{
	struct timespec ts = {0, 1000};
	clockid_t self_thread = (clockid_t)((~(unsigned)0 << 3) | 6);
	clockid_t bad_which = (clockid_t)((~(unsigned)0 << 3) | 7);
	/* A thread's CPU clock cannot be slept on (after the timespec is
	 * checked). */
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, self_thread, 0, &ts, NULL),
		     EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, self_thread, 0, (void *)1,
			     NULL),
		     EFAULT);
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, bad_which, 0, &ts, NULL),
		     EINVAL);
}

TEST(clock_settime_checks)
{
	struct timespec bad = {0, 2000000000L}, ok = {1, 0};
	/* Invalid values only: a valid CLOCK_REALTIME would set the host's
	 * clock when run natively as root. */
	EXPECT_ERRNO(syscall(SYS_clock_settime, CLOCK_REALTIME, &bad), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_settime, CLOCK_REALTIME, (void *)1),
		     EFAULT);
	EXPECT_ERRNO(syscall(SYS_clock_settime, CLOCK_BOOTTIME, &ok), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_settime, CLOCK_TAI, &ok), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_settime, CLOCK_MONOTONIC, (void *)1),
		     EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_settime, CLOCK_PROCESS_CPUTIME_ID, &ok),
		     EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_settime, 99, &ok), EINVAL);
}

TEST(alarm_return_values)
{
	struct itimerval it;
	EXPECT_EQ(alarm(0), 0);
	EXPECT_EQ(alarm(10), 0);
	unsigned left = alarm(5);
	EXPECT_GE(left, 9);
	EXPECT_LE(left, 10);
	ASSERT_OK(getitimer(ITIMER_REAL, &it));
	EXPECT_LE(it.it_value.tv_sec, 5);
	EXPECT_GE(it.it_value.tv_sec, 3);
	EXPECT_EQ(it.it_interval.tv_sec, 0);
	left = alarm(0);
	EXPECT_GE(left, 4);
	EXPECT_LE(left, 5);
	EXPECT_EQ(alarm(0), 0);
}

TEST(alarm_rounds_up_below_a_second)
{
	struct itimerval it = {{0, 0}, {0, 400000}};
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	/* 0.4 s left: alarm reports 1, never 0 for a pending alarm. */
	EXPECT_EQ(alarm(0), 1);
}

TEST(alarm_replaces_itimer_interval)
{
	struct itimerval it = {{3, 0}, {2, 0}}, got;
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	unsigned left = alarm(50);
	EXPECT_GE(left, 1);
	EXPECT_LE(left, 2);
	ASSERT_OK(getitimer(ITIMER_REAL, &got));
	EXPECT_EQ(got.it_interval.tv_sec, 0);
	EXPECT_EQ(got.it_interval.tv_usec, 0);
	EXPECT_GE(got.it_value.tv_sec, 40);
}

TEST(alarm_delivers_sigalrm_si_kernel)
{
	siginfo_t si;
	block(SIGALRM);
	double t0 = now(CLOCK_MONOTONIC);
	EXPECT_EQ(alarm(1), 0);
	EXPECT_EQ(take(SIGALRM, &si), SIGALRM);
	EXPECT_GE(now(CLOCK_MONOTONIC) - t0, 0.999);
	EXPECT_EQ(si.si_code, SI_KERNEL);
	EXPECT_EQ(alarm(0), 0);
}

TEST(itimer_real_signal_si_kernel)
{
	struct itimerval it = {{0, 0}, {0, 5000}};
	siginfo_t si;
	block(SIGALRM);
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_EQ(take(SIGALRM, &si), SIGALRM);
	EXPECT_EQ(si.si_code, SI_KERNEL);
	ASSERT_OK(getitimer(ITIMER_REAL, &it));
	EXPECT_EQ(it.it_value.tv_sec, 0);
	EXPECT_EQ(it.it_value.tv_usec, 0);
}

TEST(itimer_interval_kept_only_for_cpu_timers)
{
	/* A zero it_value disarms; Linux then forgets ITIMER_REAL's
	 * interval but reports the CPU itimers' one. */
	struct itimerval it = {{1, 0}, {0, 0}}, got;
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	ASSERT_OK(getitimer(ITIMER_REAL, &got));
	EXPECT_EQ(got.it_interval.tv_sec, 0);
	ASSERT_OK(setitimer(ITIMER_VIRTUAL, &it, NULL));
	ASSERT_OK(getitimer(ITIMER_VIRTUAL, &got));
	EXPECT_EQ(got.it_interval.tv_sec, 1);
	EXPECT_EQ(got.it_value.tv_sec, 0);
	EXPECT_EQ(got.it_value.tv_usec, 0);
	ASSERT_OK(setitimer(ITIMER_PROF, &it, NULL));
	ASSERT_OK(getitimer(ITIMER_PROF, &got));
	EXPECT_EQ(got.it_interval.tv_sec, 1);
}

TEST(itimer_set_returns_old_and_counts_down)
{
	struct itimerval a = {{0, 250000}, {20, 0}}, b = {{0, 0}, {30, 0}};
	struct itimerval old, got;
	ASSERT_OK(setitimer(ITIMER_REAL, &a, NULL));
	ASSERT_OK(setitimer(ITIMER_REAL, &b, &old));
	EXPECT_EQ(old.it_interval.tv_sec, 0);
	EXPECT_EQ(old.it_interval.tv_usec, 250000);
	EXPECT_LE(old.it_value.tv_sec, 20);
	EXPECT_GE(old.it_value.tv_sec, 18);
	EXPECT_GE(old.it_value.tv_usec, 0);
	EXPECT_LT(old.it_value.tv_usec, 1000000);
	ASSERT_OK(getitimer(ITIMER_REAL, &got));
	EXPECT_LE(got.it_value.tv_sec, 30);
	EXPECT_GE(got.it_value.tv_sec, 28);
	/* A NULL new value disarms (a Linux misfeature kept for old
	 * programs). */
	ASSERT_OK(syscall(SYS_setitimer, ITIMER_REAL, NULL, &old));
	EXPECT_GE(old.it_value.tv_sec, 28);
	ASSERT_OK(getitimer(ITIMER_REAL, &got));
	EXPECT_EQ(got.it_value.tv_sec, 0);
	EXPECT_EQ(got.it_value.tv_usec, 0);
}

TEST(itimer_argument_errors)
{
	struct itimerval it = {{0, 0}, {1, 0}}, bad = {{0, 0}, {0, -1}};
	struct itimerval neg = {{0, 0}, {-1, 0}}, badint = {{0, 1000000}, {1, 0}};
	EXPECT_ERRNO(syscall(SYS_setitimer, ITIMER_REAL, &bad, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setitimer, ITIMER_REAL, &neg, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setitimer, ITIMER_REAL, &badint, NULL),
		     EINVAL);
	/* The new value is read and checked before which. */
	EXPECT_ERRNO(syscall(SYS_setitimer, 9, (void *)1, NULL), EFAULT);
	EXPECT_ERRNO(syscall(SYS_setitimer, 9, &bad, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setitimer, -1, &it, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_getitimer, 9, (void *)1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_getitimer, ITIMER_PROF, (void *)1), EFAULT);
	/* A bad old-value pointer fails after the timer was set. */
	EXPECT_ERRNO(syscall(SYS_setitimer, ITIMER_REAL, &it, (void *)1),
		     EFAULT);
	ASSERT_OK(getitimer(ITIMER_REAL, &it));
	EXPECT_GE(it.it_value.tv_sec, 0);
	EXPECT_TRUE(it.it_value.tv_sec > 0 || it.it_value.tv_usec > 0);
}

TEST(itimers_not_inherited_by_fork)
{
	struct itimerval it = {{0, 0}, {30, 0}};
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	pid_t child = h_fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		struct itimerval got;
		if (getitimer(ITIMER_REAL, &got) != 0)
			_exit(2);
		if (got.it_value.tv_sec || got.it_value.tv_usec)
			_exit(3);
		_exit(alarm(0) == 0 ? 0 : 4);
	}
	EXPECT_EQ(h_wait(child), 0);
}

/* new_timer creates a timer with the raw syscall (so the ID is the
 * kernel's) and returns its ID, or -1. */
static int new_timer(clockid_t clock, int notify, int signo, int value)
{
	struct sigevent ev;
	int id = -1;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = notify;
	ev.sigev_signo = signo;
	ev.sigev_value.sival_int = value;
	if (notify == SIGEV_THREAD_ID)
		ev._sigev_un._tid = syscall(SYS_gettid);
	if (syscall(SYS_timer_create, clock, &ev, &id) != 0)
		return -1;
	return id;
}

static int set_timer(int id, int flags, long v_sec, long v_nsec, long i_sec,
		     long i_nsec)
{
	struct itimerspec its = {{i_sec, i_nsec}, {v_sec, v_nsec}};
	return syscall(SYS_timer_settime, id, flags, &its, NULL);
}

TEST(posix_timer_siginfo_fields)
{
	siginfo_t si;
	int sig = SIGRTMIN + 4;
	block(sig);
	int id = new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig, 31337);
	ASSERT_GE(id, 0);
	ASSERT_OK(set_timer(id, 0, 0, 2000000, 0, 0));
	ASSERT_EQ(take(sig, &si), sig);
	EXPECT_EQ(si.si_signo, sig);
	EXPECT_EQ(si.si_code, SI_TIMER);
	EXPECT_EQ(si.si_errno, 0);
	EXPECT_EQ(si.si_timerid, id);
	EXPECT_EQ(si.si_overrun, 0);
	EXPECT_EQ(si.si_value.sival_int, 31337);
	EXPECT_EQ(syscall(SYS_timer_getoverrun, id), 0);
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

TEST(posix_timer_default_sigevent_is_sigalrm_with_id)
{
	siginfo_t si;
	int id = -1;
	block(SIGALRM);
	ASSERT_OK(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &id));
	ASSERT_OK(set_timer(id, 0, 0, 1000000, 0, 0));
	ASSERT_EQ(take(SIGALRM, &si), SIGALRM);
	EXPECT_EQ(si.si_code, SI_TIMER);
	EXPECT_EQ(si.si_timerid, id);
	EXPECT_EQ(si.si_value.sival_int, id);
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

TEST(posix_timer_handler_gets_value)
{
	on_info(SIGUSR1);
	hits = 0;
	int id = new_timer(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR1, 606);
	ASSERT_GE(id, 0);
	ASSERT_OK(set_timer(id, 0, 0, 2000000, 0, 0));
	while (!hits)
		pause();
	EXPECT_EQ(last_info.si_code, SI_TIMER);
	EXPECT_EQ(last_info.si_value.sival_int, 606);
	EXPECT_EQ(last_info.si_timerid, id);
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

TEST(posix_timer_periodic_repeats)
{
	siginfo_t si;
	int sig = SIGRTMIN + 5;
	block(sig);
	int id = new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig, 1);
	ASSERT_GE(id, 0);
	ASSERT_OK(set_timer(id, 0, 0, 2000000, 0, 2000000));
	double t0 = now(CLOCK_MONOTONIC);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(take(sig, &si), sig);
	/* The first at 2 ms, the next ones at least one interval apart
	 * (overruns aside). */
	EXPECT_GE(now(CLOCK_MONOTONIC) - t0, 0.0019);
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

TEST(posix_timer_overrun_counts_missed_intervals)
{
	siginfo_t si;
	int sig = SIGRTMIN + 6;
	struct timespec wait = {0, 40 * 1000 * 1000};
	block(sig);
	int id = new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig, 2);
	ASSERT_GE(id, 0);
	ASSERT_OK(set_timer(id, 0, 0, 1000000, 0, 1000000));
	/* The signal stays pending for 40 ms: one signal, and the expirations
	 * in between become its overrun count. */
	nanosleep(&wait, NULL);
	ASSERT_EQ(take(sig, &si), sig);
	EXPECT_GE(si.si_overrun, 10);
	EXPECT_EQ(syscall(SYS_timer_getoverrun, id), si.si_overrun);
	/* Only one signal was queued for all of them. */
	sigset_t pend;
	sigpending(&pend);
	EXPECT_FALSE(sigismember(&pend, sig) &&
		     syscall(SYS_timer_getoverrun, id) > 1000);
	/* timer_settime resets the count. */
	ASSERT_OK(set_timer(id, 0, 0, 0, 0, 0));
	EXPECT_EQ(syscall(SYS_timer_getoverrun, id), 0);
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

TEST(posix_timer_one_signal_pending_at_a_time)
{
	int sig = SIGRTMIN + 7;
	struct timespec wait = {0, 30 * 1000 * 1000}, zero = {0, 0};
	sigset_t s;
	siginfo_t si;
	int more = 0;
	block(sig);
	int id = new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig, 3);
	ASSERT_GE(id, 0);
	ASSERT_OK(set_timer(id, 0, 0, 1000000, 0, 1000000));
	nanosleep(&wait, NULL);
	sigemptyset(&s);
	sigaddset(&s, sig);
	/* Real-time signals queue every instance, but a timer's signal is
	 * queued once and counts the rest as overruns. */
	ASSERT_EQ(sigtimedwait(&s, &si, &zero), sig);
	EXPECT_GE(si.si_overrun, 10);
	EXPECT_OK(syscall(SYS_timer_delete, id));
	/* At most one more (an expiry right after the first was taken). */
	while (sigtimedwait(&s, &si, &zero) == sig)
		more++;
	EXPECT_LE(more, 1);
}

TEST(posix_timer_thread_id_target)
{
	siginfo_t si;
	int sig = SIGRTMIN + 8;
	block(sig);
	int id = new_timer(CLOCK_MONOTONIC, SIGEV_THREAD_ID, sig, 8);
	ASSERT_GE(id, 0);
	ASSERT_OK(set_timer(id, 0, 0, 1000000, 0, 0));
	ASSERT_EQ(take(sig, &si), sig);
	EXPECT_EQ(si.si_code, SI_TIMER);
	EXPECT_EQ(si.si_value.sival_int, 8);
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

TEST(posix_timer_sigev_none_counts_down)
{
	struct itimerspec got;
	int id = new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
	ASSERT_GE(id, 0);
	ASSERT_OK(set_timer(id, 0, 0, 5000000, 0, 0));
	ASSERT_OK(syscall(SYS_timer_gettime, id, &got));
	EXPECT_GT(ts_sec(&got.it_value), 0);
	EXPECT_LE(ts_sec(&got.it_value), 0.005);
	struct timespec wait = {0, 6 * 1000 * 1000};
	nanosleep(&wait, NULL);
	ASSERT_OK(syscall(SYS_timer_gettime, id, &got));
	EXPECT_EQ(got.it_value.tv_sec, 0);
	EXPECT_EQ(got.it_value.tv_nsec, 0);
	/* Periodic: always between 0 and one interval away. */
	ASSERT_OK(set_timer(id, 0, 0, 1000000, 0, 3000000));
	nanosleep(&wait, NULL);
	ASSERT_OK(syscall(SYS_timer_gettime, id, &got));
	EXPECT_GT(ts_sec(&got.it_value), 0);
	EXPECT_LE(ts_sec(&got.it_value), 0.003);
	EXPECT_EQ(got.it_interval.tv_nsec, 3000000);
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

TEST(posix_timer_settime_old_and_disarm)
{
	struct itimerspec its = {{2, 0}, {20, 0}}, old, got;
	/* SIGEV_SIGNAL: Linux keeps reporting the old expiry of a disarmed
	 * SIGEV_NONE timer. */
	block(SIGUSR2);
	int id = new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR2, 0);
	ASSERT_GE(id, 0);
	ASSERT_OK(syscall(SYS_timer_settime, id, 0, &its, NULL));
	/* A zero value disarms whatever the interval. */
	struct itimerspec zero_value = {{5, 0}, {0, 0}};
	ASSERT_OK(syscall(SYS_timer_settime, id, 0, &zero_value, &old));
	EXPECT_EQ(old.it_interval.tv_sec, 2);
	EXPECT_GT(ts_sec(&old.it_value), 18);
	EXPECT_LE(ts_sec(&old.it_value), 20);
	ASSERT_OK(syscall(SYS_timer_gettime, id, &got));
	EXPECT_EQ(got.it_value.tv_sec, 0);
	EXPECT_EQ(got.it_value.tv_nsec, 0);
	EXPECT_EQ(got.it_interval.tv_sec, 0);
	/* An absolute time on CLOCK_REALTIME. */
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	int rid = new_timer(CLOCK_REALTIME, SIGEV_NONE, 0, 0);
	ASSERT_GE(rid, 0);
	ASSERT_OK(set_timer(rid, TIMER_ABSTIME, rt.tv_sec + 100, rt.tv_nsec, 0,
			    0));
	ASSERT_OK(syscall(SYS_timer_gettime, rid, &got));
	EXPECT_GT(ts_sec(&got.it_value), 98);
	EXPECT_LE(ts_sec(&got.it_value), 100);
	EXPECT_OK(syscall(SYS_timer_delete, rid));
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

TEST(posix_timer_cpu_clock_fires)
{
	int sig = SIGRTMIN + 9;
	sigset_t pend;
	block(sig);
	int id = new_timer(CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL, sig, 9);
	ASSERT_GE(id, 0);
	ASSERT_OK(set_timer(id, 0, 0, 5000000, 0, 0));
	double t0 = now(CLOCK_MONOTONIC);
	volatile unsigned long x = 0;
	for (;;) {
		sigpending(&pend);
		if (sigismember(&pend, sig) || now(CLOCK_MONOTONIC) - t0 > 30)
			break;
		for (int i = 0; i < 100000; i++)
			x++;
	}
	EXPECT_TRUE(sigismember(&pend, sig));
	EXPECT_GE(now(CLOCK_PROCESS_CPUTIME_ID), 0.005);
	EXPECT_OK(syscall(SYS_timer_delete, id));
	/* A thread CPU clock takes timers too. */
	id = new_timer(CLOCK_THREAD_CPUTIME_ID, SIGEV_NONE, 0, 0);
	EXPECT_GE(id, 0);
	syscall(SYS_timer_delete, id);
}

TEST(posix_timer_create_clock_errors)
{
	int id;
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_NONE;
	EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC_RAW, &ev, &id),
		     EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_REALTIME_COARSE, &ev, &id),
		     EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC_COARSE, &ev,
			     &id),
		     EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_timer_create, 10, &ev, &id), EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_create, 12, &ev, &id), EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_create, (clockid_t)((~0u << 3) | 7),
			     &ev, &id),
		     EINVAL);
	/* The sigevent is read first. */
	EXPECT_ERRNO(syscall(SYS_timer_create, 99, (void *)1, &id), EFAULT);
	EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, (void *)1),
		     EFAULT);
	id = -1;
	EXPECT_OK(syscall(SYS_timer_create, CLOCK_BOOTTIME, &ev, &id));
	EXPECT_GE(id, 0);
	syscall(SYS_timer_delete, id);
	id = -1;
	EXPECT_OK(syscall(SYS_timer_create, CLOCK_TAI, &ev, &id));
	EXPECT_GE(id, 0);
	syscall(SYS_timer_delete, id);
}

TEST(posix_timer_create_sigevent_errors)
{
	EXPECT_EQ(new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, 0, 0), -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, 65, 0), -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(new_timer(CLOCK_MONOTONIC, 99, SIGUSR1, 0), -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL | 8, SIGUSR1, 0), -1);
	EXPECT_EQ(errno, EINVAL);
	struct sigevent ev;
	int id;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGUSR1;
	ev._sigev_un._tid = 0x3ffffff0;
	EXPECT_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id),
		     EINVAL);
	/* SIGEV_NONE ignores the signal number. */
	id = new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 999, 0);
	EXPECT_GE(id, 0);
	syscall(SYS_timer_delete, id);
}

TEST(posix_timer_settime_errors)
{
	struct itimerspec its = {{0, 0}, {1, 0}}, got;
	int id = new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
	ASSERT_GE(id, 0);
	EXPECT_ERRNO(syscall(SYS_timer_settime, id, 0, NULL, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_settime, id, 0, (void *)1, NULL), EFAULT);
	struct itimerspec bad[] = {
		{{0, 0}, {0, 1000000000}},
		{{0, 0}, {-1, 0}},
		{{0, 0}, {0, -1}},
		{{-1, 0}, {0, 0}},
		{{0, 1000000000}, {1, 0}},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_ERRNO(syscall(SYS_timer_settime, id, 0, &bad[i], NULL),
			     EINVAL);
	/* Values are checked before the ID. */
	EXPECT_ERRNO(syscall(SYS_timer_settime, 0x7ffffff0, 0, &bad[0], NULL),
		     EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_settime, 0x7ffffff0, 0, &its, NULL),
		     EINVAL);
	/* A bad old-value pointer fails after the timer was set. */
	EXPECT_ERRNO(syscall(SYS_timer_settime, id, 0, &its, (void *)1), EFAULT);
	ASSERT_OK(syscall(SYS_timer_gettime, id, &got));
	EXPECT_GT(ts_sec(&got.it_value), 0);
	EXPECT_ERRNO(syscall(SYS_timer_gettime, id, (void *)1), EFAULT);
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

TEST(posix_timer_bad_ids)
{
	struct itimerspec got;
	int id = new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
	ASSERT_GE(id, 0);
	ASSERT_OK(syscall(SYS_timer_delete, id));
	EXPECT_ERRNO(syscall(SYS_timer_gettime, id, &got), EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_getoverrun, id), EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_delete, id), EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_delete, -1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_getoverrun, 0x7ffffff0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_timer_gettime, -5, &got), EINVAL);
}

TEST(posix_timers_not_inherited_by_fork)
{
	int id = new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
	ASSERT_GE(id, 0);
	ASSERT_OK(set_timer(id, 0, 30, 0, 0, 0));
	pid_t child = h_fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		struct itimerspec got;
		_exit(syscall(SYS_timer_gettime, id, &got) == -1 &&
			      errno == EINVAL ?
			      0 :
			      1);
	}
	EXPECT_EQ(h_wait(child), 0);
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

TEST(posix_timer_count_limited_by_rlimit_sigpending)
{
	/* Each timer is charged to RLIMIT_SIGPENDING (on Linux per user, so
	 * the count may start above zero): with a small limit, creation
	 * fails with EAGAIN, and a higher limit allows more. Done in a child
	 * so the limit and the timers go away with it. */
	pid_t child = h_fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		struct rlimit rl;
		int n = 0, err = 0;
		if (getrlimit(RLIMIT_SIGPENDING, &rl) != 0 || rl.rlim_max < 8 + 64)
			_exit(2);
		rl.rlim_cur = 8;
		if (setrlimit(RLIMIT_SIGPENDING, &rl) != 0)
			_exit(2);
		for (; n < 200; n++) {
			if (new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0) < 0) {
				err = errno;
				break;
			}
		}
		if (n == 200 || n > 8)
			_exit(3);
		if (err != EAGAIN)
			_exit(4);
		rl.rlim_cur = 8 + 64;
		if (setrlimit(RLIMIT_SIGPENDING, &rl) != 0)
			_exit(5);
		_exit(new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0) >= 0 ? 0 : 6);
	}
	EXPECT_EQ(h_wait(child), 0);
}

TEST(adjtimex_read_only_modes)
{
	/* Only reading modes: a change would set the host's clock when run
	 * natively as root. */
	struct timex tx, ty;
	memset(&tx, 0, sizeof(tx));
	int st = adjtimex(&tx);
	EXPECT_GE(st, TIME_OK);
	EXPECT_LE(st, TIME_ERROR);
	EXPECT_EQ(tx.tick, 10000);
	EXPECT_GT(tx.tolerance, 0);
	EXPECT_GT(tx.time.tv_sec, 1500000000);
	memset(&ty, 0, sizeof(ty));
	ty.modes = ADJ_OFFSET_SS_READ;
	EXPECT_EQ(adjtimex(&ty), st);
	memset(&ty, 0, sizeof(ty));
	EXPECT_EQ(syscall(SYS_clock_adjtime, CLOCK_REALTIME, &ty), st);
	EXPECT_EQ(ty.tick, 10000);
	/* ADJ_ADJTIME without the single-shot bit is invalid. */
	memset(&ty, 0, sizeof(ty));
	ty.modes = 0x8000 | 0x2000; /* ADJ_ADJTIME | ADJ_OFFSET_READONLY */
	EXPECT_ERRNO(adjtimex(&ty), EINVAL);
	EXPECT_ERRNO(syscall(SYS_adjtimex, (void *)1), EFAULT);
	memset(&ty, 0, sizeof(ty));
	EXPECT_ERRNO(syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &ty),
		     EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_clock_adjtime, CLOCK_PROCESS_CPUTIME_ID, &ty),
		     EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_clock_adjtime, 99, &ty), EINVAL);
}
