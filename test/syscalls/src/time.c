/* time.c: clocks, sleeps, interval timers, POSIX timers, timerfd. */
#define AREA "time"
#include "../harness.h"

#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <time.h>

static volatile int hits;
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

static void on(int sig, void (*h)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sigaction(sig, &sa, NULL);
}

/* wait_for_hits blocks in sigsuspend (SIG unblocked) until hits >= n. */
static void wait_for_hits(int sig, int n)
{
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, &old);
	sigdelset(&old, sig);
	while (hits < n)
		sigsuspend(&old);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

static void block(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

TEST(monotonic_never_goes_back)
{
	struct timespec a, b;
	ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &a));
	for (int i = 0; i < 10000; i++) {
		ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &b));
		ASSERT_TRUE(b.tv_sec > a.tv_sec ||
			    (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
		a = b;
	}
}

TEST(timespec_nsec_in_range)
{
	clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
			   CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
			   CLOCK_MONOTONIC_COARSE, CLOCK_PROCESS_CPUTIME_ID,
			   CLOCK_THREAD_CPUTIME_ID};
	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct timespec ts = {-1, -1};
		EXPECT_OK(clock_gettime(ids[i], &ts));
		EXPECT_GE(ts.tv_nsec, 0);
		EXPECT_LT(ts.tv_nsec, 1000000000);
		EXPECT_GE(ts.tv_sec, 0);
	}
}

TEST(raw_syscall_clock_gettime)
{
	struct timespec a, b;
	ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &a));
	ASSERT_OK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b));
	EXPECT_GE(ts_sec(&b), ts_sec(&a));
}

TEST(realtime_agrees_with_time)
{
	struct timespec ts;
	time_t t0 = time(NULL);
	ASSERT_OK(clock_gettime(CLOCK_REALTIME, &ts));
	time_t t1 = time(NULL);
	EXPECT_GE(ts.tv_sec, t0);
	/* time() reads the coarse clock, which may lag by a tick. */
	EXPECT_LE(ts.tv_sec, t1 + 1);
	EXPECT_GT(t0, 1500000000); /* after 2017 */
}

TEST(time_syscall_matches)
{
	time_t a = time(NULL);
	time_t out = 0;
	time_t b = syscall(SYS_time, &out);
	EXPECT_GE(b, a);
	EXPECT_EQ(out, b);
}

TEST(gettimeofday_agrees_with_realtime)
{
	struct timeval tv;
	struct timespec ts;
	ASSERT_OK(clock_gettime(CLOCK_REALTIME, &ts));
	ASSERT_OK(gettimeofday(&tv, NULL));
	EXPECT_GE(tv.tv_usec, 0);
	EXPECT_LT(tv.tv_usec, 1000000);
	double d = tv.tv_sec + tv.tv_usec / 1e6 - ts_sec(&ts);
	EXPECT_TRUE(d > -0.001 && d < 5);
	ASSERT_OK(syscall(SYS_gettimeofday, &tv, NULL));
}

TEST(boottime_not_before_monotonic)
{
	double m = now(CLOCK_MONOTONIC);
	double b = now(CLOCK_BOOTTIME);
	EXPECT_GE(b + 0.001, m);
}

TEST(clock_getres_values)
{
	struct timespec r;
	ASSERT_OK(clock_getres(CLOCK_MONOTONIC, &r));
	EXPECT_EQ(r.tv_sec, 0);
	EXPECT_GT(r.tv_nsec, 0);
	EXPECT_LE(r.tv_nsec, 1000000);
	ASSERT_OK(clock_getres(CLOCK_REALTIME, &r));
	EXPECT_GT(r.tv_nsec, 0);
	ASSERT_OK(clock_getres(CLOCK_MONOTONIC_COARSE, &r));
	EXPECT_EQ(r.tv_sec, 0);
	EXPECT_GE(r.tv_nsec, 1000000);
	EXPECT_LE(r.tv_nsec, 10000000);
	EXPECT_OK(clock_getres(CLOCK_REALTIME, NULL));
}

TEST(invalid_clock_einval)
{
	struct timespec ts;
	EXPECT_ERRNO(syscall(SYS_clock_gettime, 999, &ts), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_getres, 999, &ts), EINVAL);
	EXPECT_ERRNO(clock_gettime(999, &ts), EINVAL);
}

TEST(clock_gettime_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)1),
		     EFAULT);
}

TEST(clock_settime_monotonic_einval)
{
	struct timespec ts = {100, 0};
	EXPECT_ERRNO(clock_settime(CLOCK_MONOTONIC, &ts), EINVAL);
}

TEST(process_cputime_advances)
{
	double a = now(CLOCK_PROCESS_CPUTIME_ID);
	double ta = now(CLOCK_THREAD_CPUTIME_ID);
	volatile unsigned long x = 0;
	while (now(CLOCK_PROCESS_CPUTIME_ID) - a < 0.005)
		x++;
	EXPECT_TRUE(now(CLOCK_THREAD_CPUTIME_ID) > ta);
	EXPECT_TRUE(now(CLOCK_PROCESS_CPUTIME_ID) >= a + 0.005);
}

TEST(clock_getcpuclockid_self)
{
	clockid_t c;
	struct timespec ts;
	ASSERT_EQ(clock_getcpuclockid(0, &c), 0);
	EXPECT_OK(clock_gettime(c, &ts));
	ASSERT_EQ(clock_getcpuclockid(getpid(), &c), 0);
	EXPECT_OK(clock_gettime(c, &ts));
}

TEST(nanosleep_sleeps_at_least)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	double t0 = now(CLOCK_MONOTONIC);
	EXPECT_EQ(nanosleep(&ts, NULL), 0);
	EXPECT_GE(now(CLOCK_MONOTONIC) - t0, 0.0199);
}

TEST(nanosleep_zero_returns)
{
	struct timespec ts = {0, 0};
	EXPECT_EQ(nanosleep(&ts, NULL), 0);
}

TEST(nanosleep_bad_timespec_einval)
{
	struct timespec ts = {0, 1000000000};
	EXPECT_ERRNO(nanosleep(&ts, NULL), EINVAL);
	ts.tv_sec = -1;
	ts.tv_nsec = 0;
	EXPECT_ERRNO(nanosleep(&ts, NULL), EINVAL);
	ts.tv_sec = 0;
	ts.tv_nsec = -1;
	EXPECT_ERRNO(nanosleep(&ts, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_nanosleep, (void *)1, NULL), EFAULT);
}

TEST(nanosleep_interrupted_reports_remaining)
{
	/* Repeating, so a signal that lands before the sleep starts (on a
	 * loaded machine) is followed by another one during it. */
	struct itimerval it = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};
	struct timespec ts = {5, 0}, rem = {0, 0};
	hits = 0;
	on(SIGALRM, count_handler);
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_ERRNO(nanosleep(&ts, &rem), EINTR);
	setitimer(ITIMER_REAL, &off, NULL);
	EXPECT_GE(hits, 1);
	EXPECT_GT(ts_sec(&rem), 0);
	EXPECT_LT(ts_sec(&rem), 5);
}

TEST(clock_nanosleep_absolute)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += 20 * 1000 * 1000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL), 0);
	EXPECT_GE(now(CLOCK_MONOTONIC), ts_sec(&t));
}

TEST(clock_nanosleep_absolute_in_past)
{
	struct timespec t = {1, 0};
	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL), 0);
	EXPECT_EQ(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &t, NULL), 0);
}

TEST(clock_nanosleep_errors_returned)
{
	struct timespec t = {0, 1000};
	/* clock_nanosleep returns the error rather than setting errno. */
	EXPECT_EQ(clock_nanosleep(999, 0, &t, NULL), EINVAL);
	EXPECT_EQ(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &t, NULL), EINVAL);
	t.tv_nsec = 1000000000;
	EXPECT_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &t, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &t, NULL),
		     EINVAL);
}

TEST(setitimer_getitimer_roundtrip)
{
	struct itimerval it = {{3, 0}, {10, 0}}, got, old;
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	ASSERT_OK(getitimer(ITIMER_REAL, &got));
	EXPECT_EQ(got.it_interval.tv_sec, 3);
	EXPECT_EQ(got.it_interval.tv_usec, 0);
	EXPECT_LE(got.it_value.tv_sec, 10);
	EXPECT_GE(got.it_value.tv_sec, 8);
	memset(&it, 0, sizeof(it));
	ASSERT_OK(setitimer(ITIMER_REAL, &it, &old));
	EXPECT_EQ(old.it_interval.tv_sec, 3);
	EXPECT_GE(old.it_value.tv_sec, 8);
	ASSERT_OK(getitimer(ITIMER_REAL, &got));
	EXPECT_EQ(got.it_value.tv_sec, 0);
	EXPECT_EQ(got.it_value.tv_usec, 0);
}

TEST(setitimer_real_delivers_sigalrm)
{
	struct itimerval it = {{0, 0}, {0, 20000}};
	hits = 0;
	on(SIGALRM, count_handler);
	double t0 = now(CLOCK_MONOTONIC);
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	wait_for_hits(SIGALRM, 1);
	EXPECT_GE(now(CLOCK_MONOTONIC) - t0, 0.019);
	EXPECT_EQ(hits, 1);
}

TEST(setitimer_interval_repeats)
{
	struct itimerval it = {{0, 5000}, {0, 5000}}, off = {{0, 0}, {0, 0}};
	hits = 0;
	on(SIGALRM, count_handler);
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	wait_for_hits(SIGALRM, 3);
	setitimer(ITIMER_REAL, &off, NULL);
	EXPECT_GE(hits, 3);
}

TEST(setitimer_errors)
{
	struct itimerval it = {{0, 0}, {0, 1000000}};
	EXPECT_ERRNO(setitimer(ITIMER_REAL, &it, NULL), EINVAL);
	it.it_value.tv_usec = 0;
	EXPECT_ERRNO(setitimer((__itimer_which_t)7, &it, NULL), EINVAL);
	EXPECT_ERRNO(getitimer((__itimer_which_t)7, &it), EINVAL);
	EXPECT_ERRNO(syscall(SYS_getitimer, ITIMER_REAL, (void *)1), EFAULT);
}

static void busy_until_hit(int max_seconds)
{
	double t0 = now(CLOCK_MONOTONIC);
	volatile unsigned long x = 0;
	while (!hits && now(CLOCK_MONOTONIC) - t0 < max_seconds)
		for (int i = 0; i < 100000; i++)
			x++;
}

TEST(itimer_virtual_fires_on_user_time)
{
	struct itimerval it = {{0, 0}, {0, 10000}};
	hits = 0;
	on(SIGVTALRM, count_handler);
	ASSERT_OK(setitimer(ITIMER_VIRTUAL, &it, NULL));
	busy_until_hit(30);
	EXPECT_EQ(hits, 1);
}

TEST(itimer_prof_fires_on_cpu_time)
{
	struct itimerval it = {{0, 0}, {0, 10000}};
	hits = 0;
	on(SIGPROF, count_handler);
	ASSERT_OK(setitimer(ITIMER_PROF, &it, NULL));
	busy_until_hit(30);
	EXPECT_EQ(hits, 1);
}

TEST(alarm_replaces_itimer_real)
{
	struct itimerval it;
	EXPECT_EQ(alarm(50), 0);
	ASSERT_OK(getitimer(ITIMER_REAL, &it));
	EXPECT_GE(it.it_value.tv_sec, 40);
	EXPECT_LE(it.it_value.tv_sec, 50);
	EXPECT_GE(alarm(0), 40);
}

TEST(timer_create_delivers_signal_with_value)
{
	timer_t t;
	struct sigevent ev;
	struct itimerspec its = {{0, 0}, {0, 10 * 1000 * 1000}};
	siginfo_t si;
	sigset_t s;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN + 3;
	ev.sigev_value.sival_int = 4242;
	block(SIGRTMIN + 3);
	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	ASSERT_OK(timer_settime(t, 0, &its, NULL));
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 3);
	EXPECT_EQ(sigwaitinfo(&s, &si), SIGRTMIN + 3);
	EXPECT_EQ(si.si_code, SI_TIMER);
	EXPECT_EQ(si.si_value.sival_int, 4242);
	EXPECT_EQ(timer_getoverrun(t), 0);
	EXPECT_OK(timer_delete(t));
}

TEST(timer_handler_gets_si_timer)
{
	timer_t t;
	struct sigevent ev;
	struct sigaction sa;
	struct itimerspec its = {{0, 0}, {0, 5 * 1000 * 1000}};
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = info_handler;
	sa.sa_flags = SA_SIGINFO;
	ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_value.sival_int = 9;
	hits = 0;
	ASSERT_OK(timer_create(CLOCK_REALTIME, &ev, &t));
	ASSERT_OK(timer_settime(t, 0, &its, NULL));
	wait_for_hits(SIGUSR1, 1);
	EXPECT_EQ(last_info.si_signo, SIGUSR1);
	EXPECT_EQ(last_info.si_code, SI_TIMER);
	EXPECT_EQ(last_info.si_value.sival_int, 9);
	timer_delete(t);
}

TEST(timer_gettime_counts_down)
{
	timer_t t;
	struct sigevent ev;
	struct itimerspec its = {{1, 0}, {10, 0}}, got, old;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR2;
	block(SIGUSR2);
	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	ASSERT_OK(timer_gettime(t, &got));
	EXPECT_EQ(got.it_value.tv_sec, 0);
	EXPECT_EQ(got.it_value.tv_nsec, 0);
	ASSERT_OK(timer_settime(t, 0, &its, NULL));
	ASSERT_OK(timer_gettime(t, &got));
	EXPECT_EQ(got.it_interval.tv_sec, 1);
	EXPECT_LE(ts_sec(&got.it_value), 10.0);
	EXPECT_GT(ts_sec(&got.it_value), 8.0);
	memset(&its, 0, sizeof(its));
	ASSERT_OK(timer_settime(t, 0, &its, &old));
	EXPECT_GT(ts_sec(&old.it_value), 8.0);
	ASSERT_OK(timer_gettime(t, &got));
	EXPECT_EQ(got.it_value.tv_sec, 0);
	EXPECT_EQ(got.it_value.tv_nsec, 0);
	EXPECT_OK(timer_delete(t));
}

TEST(timer_abstime_in_past_fires_now)
{
	timer_t t;
	struct sigevent ev;
	struct itimerspec its = {{0, 0}, {1, 0}};
	sigset_t s;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR2;
	block(SIGUSR2);
	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	ASSERT_OK(timer_settime(t, TIMER_ABSTIME, &its, NULL));
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	EXPECT_EQ(sigwaitinfo(&s, NULL), SIGUSR2);
	timer_delete(t);
}

TEST(timer_deleted_id_einval)
{
	timer_t t;
	struct sigevent ev;
	struct itimerspec got;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_NONE;
	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	ASSERT_OK(timer_delete(t));
	EXPECT_ERRNO(timer_gettime(t, &got), EINVAL);
	EXPECT_ERRNO(timer_delete(t), EINVAL);
}

TEST(timer_create_errors)
{
	timer_t t;
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	EXPECT_ERRNO(timer_create(999, &ev, &t), EINVAL);
	ev.sigev_signo = 99;
	EXPECT_ERRNO(timer_create(CLOCK_MONOTONIC, &ev, &t), EINVAL);
}

TEST(timer_settime_bad_nsec_einval)
{
	timer_t t;
	struct sigevent ev;
	struct itimerspec its = {{0, 0}, {0, 1000000000}};
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_NONE;
	ASSERT_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
	EXPECT_ERRNO(timer_settime(t, 0, &its, NULL), EINVAL);
	timer_delete(t);
}

TEST(timerfd_expiry_count)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec its = {{0, 0}, {0, 10 * 1000 * 1000}};
	uint64_t n = 0;
	ASSERT_GE(fd, 0);
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	EXPECT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_EQ(n, 1);
	close(fd);
}

TEST(timerfd_nonblocking_eagain)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = {{0, 0}, {100, 0}}, got;
	uint64_t n;
	char small[4];
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
	EXPECT_ERRNO(read(fd, small, sizeof(small)), EINVAL);
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_GT(got.it_value.tv_sec, 98);
	close(fd);
}

TEST(timerfd_interval_accumulates)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = {{0, 2 * 1000 * 1000}, {0, 2 * 1000 * 1000}};
	struct timespec sl = {0, 30 * 1000 * 1000};
	uint64_t n = 0;
	ASSERT_GE(fd, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	nanosleep(&sl, NULL);
	EXPECT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_GE(n, 5);
	close(fd);
}

TEST(timerfd_errors)
{
	EXPECT_ERRNO(timerfd_create(999, 0), EINVAL);
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, 0x1234), EINVAL);
	struct itimerspec its = {{0, 0}, {0, 0}};
	EXPECT_ERRNO(timerfd_settime(0x3fff, 0, &its, NULL), EBADF);
}

TEST(adjtimex_read_only)
{
	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	int st = adjtimex(&tx);
	EXPECT_GE(st, 0);
	EXPECT_LE(st, TIME_ERROR);
	EXPECT_GT(tx.tick, 0);
}
