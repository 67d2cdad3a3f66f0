/*
 * timerfd.c: timerfd_create, timerfd_settime, timerfd_gettime, and reading,
 * polling and the other file operations of a timerfd.
 *
 * Waits for an expiration block (a blocking read, poll with no timeout);
 * timing checks are lower bounds only.
 */
#define AREA "timerfd"
#include "../harness.h"

#include <linux/capability.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

#define MS (1000 * 1000L)

static struct itimerspec spec(long vsec, long vnsec, long isec, long insec)
{
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = vsec;
	its.it_value.tv_nsec = vnsec;
	its.it_interval.tv_sec = isec;
	its.it_interval.tv_nsec = insec;
	return its;
}

static long long ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static long long now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ns(&ts);
}

/* set_nonblock turns O_NONBLOCK on or off. */
static void set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Raw calls: the glibc wrappers pass their arguments straight through,
 * but these make the NULL-pointer cases explicit. */
static long raw_settime(int fd, int flags, const void *new, void *old)
{
	return syscall(SYS_timerfd_settime, fd, flags, new, old);
}

static long raw_gettime(int fd, void *cur)
{
	return syscall(SYS_timerfd_gettime, fd, cur);
}

TEST(create_flags)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(fcntl(fd, F_GETFD), 0);
	EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR);
	close(fd);

	fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
	close(fd);

	fd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	close(fd);
}

TEST(create_errors)
{
	static const int bad_clocks[] = {
		CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
		CLOCK_MONOTONIC_RAW,      CLOCK_REALTIME_COARSE,
		CLOCK_MONOTONIC_COARSE,   CLOCK_TAI,
		10,                       12,
		-1,                       -6, /* CPU clock of the caller */
		999,
	};
	for (unsigned i = 0; i < sizeof(bad_clocks) / sizeof(bad_clocks[0]); i++)
		EXPECT_ERRNO(timerfd_create(bad_clocks[i], 0), EINVAL);
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, O_RDWR), EINVAL);
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, TFD_TIMER_CANCEL_ON_SET), EINVAL);
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, -1), EINVAL);
	/* Flags are checked with the clock: EINVAL, not EPERM. */
	EXPECT_ERRNO(timerfd_create(CLOCK_REALTIME_ALARM, 0x1234), EINVAL);
}

#define WAKE_ALARM_BIT (1ULL << CAP_WAKE_ALARM)

static int get_eff(uint64_t *eff, struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	memset(d, 0, 2 * sizeof(*d));
	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	return 0;
}

static int set_data(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	return syscall(SYS_capset, &h, d);
}

/*
 * The alarm clocks need CAP_WAKE_ALARM (else EPERM); with it they work
 * like their base clocks (no RTC is needed, unlike timer_create).
 */
TEST(alarm_clocks_need_cap_wake_alarm)
{
	struct __user_cap_data_struct d[2], saved[2];
	uint64_t eff = 0;
	ASSERT_OK(get_eff(&eff, d));
	memcpy(saved, d, sizeof(saved));
	if (!(eff & WAKE_ALARM_BIT)) {
		EXPECT_ERRNO(timerfd_create(CLOCK_REALTIME_ALARM, 0), EPERM);
		EXPECT_ERRNO(timerfd_create(CLOCK_BOOTTIME_ALARM, 0), EPERM);
		return;
	}
	int a = timerfd_create(CLOCK_REALTIME_ALARM, TFD_NONBLOCK);
	int b = timerfd_create(CLOCK_BOOTTIME_ALARM, 0);
	EXPECT_GE(a, 0);
	EXPECT_GE(b, 0);
	if (b >= 0) {
		struct itimerspec its = spec(0, MS, 0, 0);
		uint64_t n = 0;
		EXPECT_OK(timerfd_settime(b, 0, &its, NULL));
		EXPECT_EQ(read(b, &n, 8), 8);
		EXPECT_EQ(n, 1);
	}
	/* Drop CAP_WAKE_ALARM from the effective set only, then restore. */
	d[CAP_TO_INDEX(CAP_WAKE_ALARM)].effective &= ~CAP_TO_MASK(CAP_WAKE_ALARM);
	ASSERT_OK(set_data(d));
	EXPECT_ERRNO(timerfd_create(CLOCK_REALTIME_ALARM, 0), EPERM);
	EXPECT_ERRNO(timerfd_create(CLOCK_BOOTTIME_ALARM, 0), EPERM);
	EXPECT_GE(timerfd_create(CLOCK_REALTIME, 0), 0);
	ASSERT_OK(set_data(saved));
}

TEST(gettime_disarmed)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec got;
	ASSERT_GE(fd, 0);
	memset(&got, 0x55, sizeof(got));
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_EQ(ns(&got.it_value), 0);
	EXPECT_EQ(ns(&got.it_interval), 0);
}

TEST(settime_relative_and_old_value)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = spec(100, 0, 2, 500), got, old;
	ASSERT_GE(fd, 0);
	memset(&old, 0x55, sizeof(old));
	ASSERT_OK(timerfd_settime(fd, 0, &its, &old));
	EXPECT_EQ(ns(&old.it_value), 0);
	EXPECT_EQ(ns(&old.it_interval), 0);
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_GT(ns(&got.it_value), 0);
	EXPECT_LE(ns(&got.it_value), 100 * 1000 * MS);
	EXPECT_EQ(got.it_interval.tv_sec, 2);
	EXPECT_EQ(got.it_interval.tv_nsec, 500);

	its = spec(0, 0, 0, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, &old));
	EXPECT_GT(ns(&old.it_value), 0);
	EXPECT_LE(ns(&old.it_value), 100 * 1000 * MS);
	EXPECT_EQ(old.it_interval.tv_sec, 2);
	EXPECT_EQ(old.it_interval.tv_nsec, 500);
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_EQ(ns(&got.it_value), 0);
	EXPECT_EQ(ns(&got.it_interval), 0);
}

/* A disarming setting still records its interval, which gettime shows. */
TEST(disarmed_keeps_interval)
{
	int fd = timerfd_create(CLOCK_REALTIME, 0);
	struct itimerspec its = spec(0, 0, 5, 0), got;
	ASSERT_GE(fd, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_EQ(ns(&got.it_value), 0);
	EXPECT_EQ(got.it_interval.tv_sec, 5);
	EXPECT_EQ(got.it_interval.tv_nsec, 0);
}

TEST(one_shot_blocking_read)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = spec(0, 20 * MS, 0, 0), got;
	uint64_t n = 0;
	ASSERT_GE(fd, 0);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	ASSERT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_GE(now_ns(CLOCK_MONOTONIC) - t0, 20 * MS);
	EXPECT_EQ(n, 1);
	set_nonblock(fd, 1);
	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_EQ(ns(&got.it_value), 0);
	EXPECT_EQ(ns(&got.it_interval), 0);
}

TEST(periodic_counts_every_expiration)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = spec(0, MS, 0, MS), got;
	struct timespec sl = {0, 20 * MS};
	uint64_t n = 0;
	ASSERT_GE(fd, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	nanosleep(&sl, NULL);
	ASSERT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_GE(n, 20);
	/* Still running: the next expiration is at most one interval away. */
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_GT(ns(&got.it_value), 0);
	EXPECT_LE(ns(&got.it_value), MS);
	EXPECT_EQ(ns(&got.it_interval), MS);
	ASSERT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_GE(n, 1);
}

/* An absolute time in the past expires at once, with every interval
 * since then counted. (CLOCK_MONOTONIC may be only seconds old: a
 * sandbox's starts near 0.) */
TEST(absolute_in_the_past)
{
	int fd = timerfd_create(CLOCK_REALTIME, 0);
	struct timespec now;
	struct itimerspec its, got;
	uint64_t n = 0;
	ASSERT_GE(fd, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	its = spec(now.tv_sec - 10, now.tv_nsec, 1, 0);
	ASSERT_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
	ASSERT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_GE(n, 11);
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_GT(ns(&got.it_value), 0);
	EXPECT_LE(ns(&got.it_value), 1000 * MS);
	EXPECT_EQ(got.it_interval.tv_sec, 1);
	close(fd);

	/* 1 ns after boot, one-shot: expired, once. */
	fd = timerfd_create(CLOCK_MONOTONIC, 0);
	ASSERT_GE(fd, 0);
	its = spec(0, 1, 0, 0);
	ASSERT_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
	ASSERT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_EQ(n, 1);
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_EQ(ns(&got.it_value), 0);
}

TEST(absolute_in_the_future)
{
	static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC,
					   CLOCK_BOOTTIME};
	for (unsigned i = 0; i < 3; i++) {
		int fd = timerfd_create(clocks[i], TFD_NONBLOCK);
		struct timespec now;
		struct itimerspec its, got;
		uint64_t n;
		ASSERT_GE(fd, 0);
		clock_gettime(clocks[i], &now);
		its = spec(now.tv_sec + 100, now.tv_nsec, 0, 0);
		ASSERT_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
		ASSERT_OK(timerfd_gettime(fd, &got));
		/* gettime is relative. */
		EXPECT_GT(got.it_value.tv_sec, 90);
		EXPECT_LE(ns(&got.it_value), 100 * 1000 * MS);
		EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
		close(fd);
	}
}

TEST(huge_values_saturate)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = spec(0x7fffffffffffffffL, 999999999, 0, 0), got;
	uint64_t n;
	ASSERT_GE(fd, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_GT(got.it_value.tv_sec, 1000000000L);
	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
	ASSERT_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_GT(got.it_value.tv_sec, 1000000000L);
	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
}

/* settime forgets expirations that were not read. */
TEST(settime_clears_count)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = spec(0, MS, 0, 0), old;
	struct pollfd p = {fd, POLLIN, 0};
	uint64_t n;
	ASSERT_GE(fd, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	ASSERT_EQ(poll(&p, 1, -1), 1);
	its = spec(100, 0, 0, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, &old));
	/* An expired one-shot reports 0. */
	EXPECT_EQ(ns(&old.it_value), 0);
	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
	EXPECT_EQ(poll(&p, 1, 0), 0);
}

TEST(read_sizes_and_other_io)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = spec(0, MS, 0, 0);
	unsigned char buf[16];
	uint64_t n;
	ASSERT_GE(fd, 0);
	/* The size is checked before anything else. */
	EXPECT_ERRNO(read(fd, buf, 7), EINVAL);
	EXPECT_ERRNO(read(fd, buf, 0), EINVAL);
	EXPECT_ERRNO(read(fd, buf, 8), EAGAIN);
	EXPECT_ERRNO(write(fd, buf, 8), EINVAL);
	EXPECT_ERRNO(pread(fd, buf, 8, 0), ESPIPE);
	EXPECT_ERRNO(pread(fd, buf, 8, -1), EINVAL);
	EXPECT_ERRNO(pwrite(fd, buf, 8, 0), ESPIPE);
	/* noop_llseek: lseek succeeds and the offset stays 0. */
	EXPECT_EQ(lseek(fd, 5, SEEK_SET), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
	EXPECT_ERRNO(fsync(fd), EINVAL);

	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	set_nonblock(fd, 0);
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(read(fd, buf, sizeof(buf)), 8);
	memcpy(&n, buf, 8);
	EXPECT_EQ(n, 1);
	EXPECT_EQ(buf[8], 0xaa);
	EXPECT_EQ(buf[15], 0xaa);
}

/* The count is taken before it is copied: a faulting read loses it. */
TEST(read_efault_consumes)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = spec(0, MS, 0, 0);
	struct pollfd p = {fd, POLLIN, 0};
	uint64_t n;
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(syscall(SYS_read, fd, NULL, 8), EAGAIN);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	ASSERT_EQ(poll(&p, 1, -1), 1);
	EXPECT_ERRNO(syscall(SYS_read, fd, NULL, 8), EFAULT);
	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
}

TEST(settime_errors)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	int pfd[2];
	struct itimerspec ok = spec(100, 0, 0, 0), got;
	struct itimerspec bad[] = {
		spec(0, 1000000000, 0, 0), spec(0, -1, 0, 0),
		spec(-1, 0, 0, 0),         spec(1, 0, 0, 1000000000),
		spec(1, 0, 0, -1),         spec(1, 0, -1, 0),
		spec(0, 0, -1, 0), /* checked even when disarming */
	};
	ASSERT_GE(fd, 0);
	ASSERT_OK(pipe(pfd));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_ERRNO(timerfd_settime(fd, 0, &bad[i], NULL), EINVAL);
		/* The setting is checked before the fd. */
		EXPECT_ERRNO(timerfd_settime(-1, 0, &bad[i], NULL), EINVAL);
	}
	EXPECT_ERRNO(timerfd_settime(fd, 4, &ok, NULL), EINVAL);
	EXPECT_ERRNO(timerfd_settime(fd, -1, &ok, NULL), EINVAL);
	EXPECT_ERRNO(timerfd_settime(-1, 4, &ok, NULL), EINVAL);
	EXPECT_ERRNO(timerfd_settime(-1, 0, &ok, NULL), EBADF);
	EXPECT_ERRNO(timerfd_settime(0x3fff, 0, &ok, NULL), EBADF);
	EXPECT_ERRNO(timerfd_settime(pfd[0], 0, &ok, NULL), EINVAL);
	int path = open("/", O_PATH);
	ASSERT_GE(path, 0);
	EXPECT_ERRNO(timerfd_settime(path, 0, &ok, NULL), EBADF);
	/* The new setting is read first of all. */
	EXPECT_ERRNO(raw_settime(fd, 0, NULL, NULL), EFAULT);
	EXPECT_ERRNO(raw_settime(-1, 4, NULL, NULL), EFAULT);
	/* None of these changed the timer. */
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_EQ(ns(&got.it_value), 0);
	/* A fault writing the old value comes after the timer was set. */
	EXPECT_ERRNO(raw_settime(fd, 0, &ok, (void *)8), EFAULT);
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_GT(got.it_value.tv_sec, 90);
}

TEST(gettime_errors)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	int pfd[2];
	struct itimerspec got;
	ASSERT_GE(fd, 0);
	ASSERT_OK(pipe(pfd));
	EXPECT_ERRNO(timerfd_gettime(-1, &got), EBADF);
	EXPECT_ERRNO(timerfd_gettime(pfd[1], &got), EINVAL);
	int path = open("/", O_PATH);
	ASSERT_GE(path, 0);
	EXPECT_ERRNO(timerfd_gettime(path, &got), EBADF);
	EXPECT_ERRNO(raw_gettime(fd, NULL), EFAULT);
	/* The fd is looked up before the result is written. */
	EXPECT_ERRNO(raw_gettime(-1, NULL), EBADF);
	EXPECT_ERRNO(raw_gettime(pfd[0], NULL), EINVAL);
}

/*
 * TFD_TIMER_CANCEL_ON_SET is accepted on any clock, with or without
 * TFD_TIMER_ABSTIME; as long as nobody sets CLOCK_REALTIME the timer runs
 * as usual.
 */
TEST(cancel_on_set_accepted)
{
	int rt = timerfd_create(CLOCK_REALTIME, 0);
	int mono = timerfd_create(CLOCK_MONOTONIC, 0);
	struct timespec now;
	struct itimerspec its, far = spec(100, 0, 0, 0);
	uint64_t n = 0;
	ASSERT_GE(rt, 0);
	ASSERT_GE(mono, 0);
	EXPECT_OK(timerfd_settime(mono, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &far, NULL));
	EXPECT_OK(timerfd_settime(mono, TFD_TIMER_CANCEL_ON_SET, &far, NULL));
	EXPECT_OK(timerfd_settime(rt, TFD_TIMER_CANCEL_ON_SET, &far, NULL));
	EXPECT_ERRNO(timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET | 4, &far, NULL), EINVAL);
	clock_gettime(CLOCK_REALTIME, &now);
	its = spec(now.tv_sec, now.tv_nsec, 0, 0);
	ASSERT_OK(timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL));
	EXPECT_EQ(read(rt, &n, sizeof(n)), 8);
	EXPECT_EQ(n, 1);
}

/* A timerfd is readable (POLLIN only) while expirations wait. */
TEST(poll_readiness)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = spec(0, 10 * MS, 0, 0);
	struct pollfd p = {fd, POLLIN | POLLRDNORM | POLLOUT | POLLPRI, 0};
	uint64_t n;
	ASSERT_GE(fd, 0);
	EXPECT_EQ(poll(&p, 1, 0), 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	EXPECT_EQ(poll(&p, 1, 0), 0);
	ASSERT_EQ(poll(&p, 1, -1), 1);
	EXPECT_EQ(p.revents, POLLIN);
	ASSERT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_EQ(poll(&p, 1, 0), 0);
}

TEST(epoll_readiness)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct itimerspec its = spec(0, 10 * MS, 0, 10 * MS);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = 0x1234};
	struct epoll_event out[2];
	uint64_t n;
	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	EXPECT_EQ(epoll_wait(ep, out, 2, 0), 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	ASSERT_EQ(epoll_wait(ep, out, 2, -1), 1);
	EXPECT_EQ(out[0].events, EPOLLIN);
	EXPECT_EQ(out[0].data.u64, 0x1234);
	ASSERT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_GE(n, 1);
	/* Periodic: it becomes ready again. */
	ASSERT_EQ(epoll_wait(ep, out, 2, -1), 1);
	EXPECT_EQ(out[0].events, EPOLLIN);
}

static volatile int hits;

static void on_alarm(int sig)
{
	(void)sig;
	hits++;
}

static void catch_alarm(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigaction(SIGALRM, &sa, NULL);
}

/* alarm_in sends SIGALRM after usec, and every period usec after that
 * (0: once). */
static void alarm_in(long usec, long period)
{
	struct itimerval iv = {{0, period}, {0, usec}};
	setitimer(ITIMER_REAL, &iv, NULL);
}

TEST(blocking_read_eintr)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = spec(100, 0, 0, 0);
	uint64_t n;
	ASSERT_GE(fd, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	hits = 0;
	catch_alarm(0);
	/* Repeated, in case the first signal comes before the read blocks. */
	alarm_in(10 * 1000, 10 * 1000);
	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EINTR);
	EXPECT_GE(hits, 1);
}

/* With SA_RESTART the read goes on after the handler, until the timer. */
TEST(blocking_read_restarts)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = spec(0, 200 * MS, 0, 0);
	uint64_t n = 0;
	ASSERT_GE(fd, 0);
	hits = 0;
	catch_alarm(SA_RESTART);
	alarm_in(1000, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	EXPECT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_EQ(n, 1);
	EXPECT_EQ(hits, 1);
}

/* Descriptions are shared: a read through a dup takes the count. */
TEST(dup_shares_count)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = spec(0, MS, 0, 0);
	uint64_t n = 0;
	ASSERT_GE(fd, 0);
	int d = dup(fd);
	ASSERT_GE(d, 0);
	ASSERT_OK(timerfd_settime(d, 0, &its, NULL));
	set_nonblock(d, 0);
	EXPECT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_EQ(n, 1);
	set_nonblock(d, 1);
	EXPECT_ERRNO(read(d, &n, sizeof(n)), EAGAIN);
}

/* TFD_IOC_SET_TICKS (kernels with CONFIG_CHECKPOINT_RESTORE) replaces the
 * count; other requests are ENOTTY. */
TEST(ioctl_set_ticks)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	uint64_t n = 7, zero = 0;
	int avail;
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(ioctl(fd, FIONREAD, &avail), ENOTTY);
	if (ioctl(fd, TFD_IOC_SET_TICKS, &n) != 0) {
		if (errno == ENOTTY)
			SKIP("kernel without CONFIG_CHECKPOINT_RESTORE");
		ASSERT_OK(-1);
	}
	struct pollfd p = {fd, POLLIN, 0};
	EXPECT_EQ(poll(&p, 1, 0), 1);
	n = 0;
	EXPECT_EQ(read(fd, &n, sizeof(n)), 8);
	EXPECT_EQ(n, 7);
	EXPECT_ERRNO(ioctl(fd, TFD_IOC_SET_TICKS, &zero), EINVAL);
	EXPECT_ERRNO(ioctl(fd, TFD_IOC_SET_TICKS, NULL), EFAULT);
	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
}

TEST(proc_fd_link_and_stat)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	char path[64], link[64];
	struct stat st;
	ASSERT_GE(fd, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t len = readlink(path, link, sizeof(link) - 1);
	ASSERT_GT(len, 0);
	link[len] = 0;
	EXPECT_STREQ(link, "anon_inode:[timerfd]");
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_mode, 0600);
	EXPECT_EQ(st.st_nlink, 1);
}

/* A forked child shares the timer: its read takes the parent's count. */
TEST(fork_shares_timer)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = spec(0, 5 * MS, 0, 0), got;
	ASSERT_GE(fd, 0);
	ASSERT_OK(timerfd_settime(fd, 0, &its, NULL));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint64_t n = 0;
		if (read(fd, &n, sizeof(n)) != 8 || n != 1)
			_exit(1);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
	ASSERT_OK(timerfd_gettime(fd, &got));
	EXPECT_EQ(ns(&got.it_value), 0);
	set_nonblock(fd, 1);
	uint64_t n;
	EXPECT_ERRNO(read(fd, &n, sizeof(n)), EAGAIN);
}
