/*
 * sched.c: scheduling and system information: sched_yield, CPU affinity,
 * getcpu, scheduling policies and parameters, nice values
 * (getpriority/setpriority) and sysinfo.
 *
 * Cases that change the test process's own scheduling restore it before
 * they end; those that need to be unprivileged run in a forked child.
 */
#define AREA "sched"
#include "../harness.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <time.h>

/* A PID above pid_max's ceiling (4194304): never in use. */
#define NO_SUCH_PID 0x3ffffff0

/* park_child forks a child that waits until the case ends. */
static pid_t park_child(void)
{
	pid_t pid = h_fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

TEST(sched_yield_returns_zero)
{
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(syscall(SYS_sched_yield), 0);
}

TEST(getaffinity_size_rules)
{
	unsigned char b[128];
	long n;

	EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 0, b), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 12, b), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 7, b), EINVAL);
	n = syscall(SYS_sched_getaffinity, 0, sizeof(b), b);
	ASSERT_GT(n, 0);
	EXPECT_EQ(n % 8, 0);
	EXPECT_LE(n, (long)sizeof(b));
	/* A size equal to the kernel's returns the same. */
	EXPECT_EQ(syscall(SYS_sched_getaffinity, 0, n, b), n);
	EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, n, (void *)1), EFAULT);
	EXPECT_ERRNO(syscall(SYS_sched_getaffinity, -1, n, b), ESRCH);
}

TEST(getaffinity_by_pid_matches_self)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	EXPECT_GE(CPU_COUNT(&set), 1);
	cpu_set_t self;
	ASSERT_OK(sched_getaffinity(getpid(), sizeof(self), &self));
	EXPECT_TRUE(CPU_EQUAL(&set, &self));
}

TEST(setaffinity_roundtrip_and_getcpu)
{
	cpu_set_t orig, one, got;
	int first = -1;
	unsigned cpu = 9999, node = 9999;

	ASSERT_OK(sched_getaffinity(0, sizeof(orig), &orig));
	for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
		if (CPU_ISSET(i, &orig))
			first = i;
	ASSERT_GE(first, 0);
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	ASSERT_OK(sched_setaffinity(0, sizeof(one), &one));
	int g = sched_getaffinity(0, sizeof(got), &got);
	long c = syscall(SYS_getcpu, &cpu, &node, NULL);
	ASSERT_OK(sched_setaffinity(0, sizeof(orig), &orig));
	ASSERT_OK(g);
	EXPECT_TRUE(CPU_EQUAL(&got, &one));
	EXPECT_EQ(c, 0);
	EXPECT_EQ(cpu, (unsigned)first);
	EXPECT_LT(node, 1024);
	ASSERT_OK(sched_getaffinity(0, sizeof(got), &got));
	EXPECT_TRUE(CPU_EQUAL(&got, &orig));
}

TEST(setaffinity_errors)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	EXPECT_ERRNO(sched_setaffinity(0, sizeof(set), &set), EINVAL);
	/* Only CPUs that do not exist: empty once masked. */
	CPU_SET(CPU_SETSIZE - 1, &set);
	EXPECT_ERRNO(sched_setaffinity(0, sizeof(set), &set), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_setaffinity, 0, 0, &set), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_setaffinity, 0, 8, (void *)1), EFAULT);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	EXPECT_ERRNO(syscall(SYS_sched_setaffinity, -1, sizeof(set), &set), ESRCH);
}

TEST(setaffinity_short_mask_zero_extended)
{
	cpu_set_t orig, got;
	unsigned char one = 1; /* CPU 0 only, in one byte */

	ASSERT_OK(sched_getaffinity(0, sizeof(orig), &orig));
	if (!CPU_ISSET(0, &orig))
		SKIP("CPU 0 not in the affinity mask");
	ASSERT_OK(syscall(SYS_sched_setaffinity, 0, 1, &one));
	int g = sched_getaffinity(0, sizeof(got), &got);
	ASSERT_OK(sched_setaffinity(0, sizeof(orig), &orig));
	ASSERT_OK(g);
	EXPECT_EQ(CPU_COUNT(&got), 1);
	EXPECT_TRUE(CPU_ISSET(0, &got));
}

TEST(getcpu_arguments)
{
	unsigned cpu = 9999, node = 9999;
	cpu_set_t set;
	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	ASSERT_OK(syscall(SYS_getcpu, &cpu, NULL, NULL));
	EXPECT_TRUE(CPU_ISSET(cpu, &set));
	ASSERT_OK(syscall(SYS_getcpu, NULL, &node, NULL));
	EXPECT_LT(node, 1024);
	EXPECT_OK(syscall(SYS_getcpu, NULL, NULL, NULL));
	EXPECT_ERRNO(syscall(SYS_getcpu, (void *)1, NULL, NULL), EFAULT);
	EXPECT_ERRNO(syscall(SYS_getcpu, NULL, (void *)1, NULL), EFAULT);
}

TEST(scheduler_defaults)
{
	struct sched_param sp = {.sched_priority = 7};
	EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
	EXPECT_EQ(sched_getscheduler(getpid()), SCHED_OTHER);
	ASSERT_OK(sched_getparam(0, &sp));
	EXPECT_EQ(sp.sched_priority, 0);
	EXPECT_ERRNO(sched_getscheduler(-1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_getparam, 0, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_getparam, -1, &sp), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_getparam, 0, (void *)1), EFAULT);
}

TEST(setscheduler_batch_idle_roundtrip)
{
	struct sched_param sp = {.sched_priority = 0};
	ASSERT_OK(sched_setscheduler(0, SCHED_BATCH, &sp));
	int b = sched_getscheduler(0);
	ASSERT_OK(sched_setscheduler(0, SCHED_IDLE, &sp));
	int i = sched_getscheduler(0);
	/* sched_setparam keeps the policy. */
	int p = sched_setparam(0, &sp);
	int i2 = sched_getscheduler(0);
	ASSERT_OK(sched_setscheduler(0, SCHED_OTHER, &sp));
	EXPECT_EQ(b, SCHED_BATCH);
	EXPECT_EQ(i, SCHED_IDLE);
	EXPECT_EQ(p, 0);
	EXPECT_EQ(i2, SCHED_IDLE);
	EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
}

TEST(setscheduler_invalid)
{
	struct sched_param sp = {.sched_priority = 5};
	EXPECT_ERRNO(sched_setscheduler(0, SCHED_OTHER, &sp), EINVAL);
	EXPECT_ERRNO(sched_setscheduler(0, SCHED_BATCH, &sp), EINVAL);
	sp.sched_priority = 0;
	EXPECT_ERRNO(sched_setscheduler(0, SCHED_FIFO, &sp), EINVAL);
	EXPECT_ERRNO(sched_setscheduler(0, SCHED_RR, &sp), EINVAL);
	sp.sched_priority = 100;
	EXPECT_ERRNO(sched_setscheduler(0, SCHED_FIFO, &sp), EINVAL);
	sp.sched_priority = -1;
	EXPECT_ERRNO(sched_setscheduler(0, SCHED_FIFO, &sp), EINVAL);
	sp.sched_priority = 0;
	EXPECT_ERRNO(sched_setscheduler(0, 77, &sp), EINVAL);
	EXPECT_ERRNO(sched_setscheduler(0, -1, &sp), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_setscheduler, -1, SCHED_OTHER, &sp), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, (void *)1), EFAULT);
	sp.sched_priority = 1;
	EXPECT_ERRNO(sched_setparam(0, &sp), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_setparam, 0, NULL), EINVAL);
	EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
}

TEST(reset_on_fork_flag_roundtrip)
{
	struct sched_param sp = {.sched_priority = 0};
	ASSERT_OK(sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp));
	int got = sched_getscheduler(0);
	/* sched_setparam keeps the flag. */
	int p = sched_setparam(0, &sp);
	int got2 = sched_getscheduler(0);
	ASSERT_OK(sched_setscheduler(0, SCHED_OTHER, &sp));
	EXPECT_EQ(got, SCHED_OTHER | SCHED_RESET_ON_FORK);
	EXPECT_EQ(p, 0);
	EXPECT_EQ(got2, SCHED_OTHER | SCHED_RESET_ON_FORK);
	EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
}

TEST(priority_ranges)
{
	EXPECT_EQ(sched_get_priority_max(SCHED_FIFO), 99);
	EXPECT_EQ(sched_get_priority_min(SCHED_FIFO), 1);
	EXPECT_EQ(sched_get_priority_max(SCHED_RR), 99);
	EXPECT_EQ(sched_get_priority_min(SCHED_RR), 1);
	EXPECT_EQ(sched_get_priority_max(SCHED_OTHER), 0);
	EXPECT_EQ(sched_get_priority_min(SCHED_OTHER), 0);
	EXPECT_EQ(sched_get_priority_max(SCHED_BATCH), 0);
	EXPECT_EQ(sched_get_priority_min(SCHED_IDLE), 0);
	EXPECT_ERRNO(sched_get_priority_max(-1), EINVAL);
	EXPECT_ERRNO(sched_get_priority_min(77), EINVAL);
	EXPECT_ERRNO(sched_get_priority_max(4), EINVAL);
}

TEST(rr_get_interval)
{
	struct timespec ts = {-1, -1};
	ASSERT_OK(sched_rr_get_interval(0, &ts));
	EXPECT_GE(ts.tv_sec, 0);
	EXPECT_GE(ts.tv_nsec, 0);
	EXPECT_LT(ts.tv_nsec, 1000000000);
	EXPECT_ERRNO(sched_rr_get_interval(-1, &ts), EINVAL);
	EXPECT_ERRNO(syscall(SYS_sched_rr_get_interval, 0, (void *)1), EFAULT);
}

TEST(nice_roundtrip)
{
	/* The raw call returns 20 - nice. */
	EXPECT_EQ(syscall(SYS_getpriority, PRIO_PROCESS, 0), 20);
	ASSERT_OK(setpriority(PRIO_PROCESS, 0, 5));
	errno = 0;
	int n1 = getpriority(PRIO_PROCESS, 0);
	long raw = syscall(SYS_getpriority, PRIO_PROCESS, 0);
	/* Out-of-range values are clamped. */
	int s2 = setpriority(PRIO_PROCESS, 0, 100);
	int n2 = getpriority(PRIO_PROCESS, 0);
	int s3 = setpriority(PRIO_PROCESS, getpid(), -100);
	int n3 = getpriority(PRIO_PROCESS, 0);
	ASSERT_OK(setpriority(PRIO_PROCESS, 0, 0));
	EXPECT_EQ(n1, 5);
	EXPECT_EQ(raw, 15);
	EXPECT_EQ(s2, 0);
	EXPECT_EQ(n2, 19);
	EXPECT_EQ(s3, 0);
	EXPECT_EQ(n3, -20);
	errno = 0;
	EXPECT_EQ(getpriority(PRIO_PROCESS, 0), 0);
	EXPECT_EQ(errno, 0);
}

TEST(priority_errors)
{
	EXPECT_ERRNO(getpriority(99, 0), EINVAL);
	EXPECT_ERRNO(getpriority(-1, 0), EINVAL);
	EXPECT_ERRNO(setpriority(3, 0, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_getpriority, PRIO_PROCESS, -5), ESRCH);
	EXPECT_ERRNO(syscall(SYS_setpriority, PRIO_PROCESS, -5, 0), ESRCH);
}

TEST(other_task_by_pid)
{
	pid_t pid = park_child();
	ASSERT_GT(pid, 0);
	cpu_set_t mine, theirs;
	ASSERT_OK(sched_getaffinity(0, sizeof(mine), &mine));
	ASSERT_OK(sched_getaffinity(pid, sizeof(theirs), &theirs));
	EXPECT_TRUE(CPU_EQUAL(&mine, &theirs));
	EXPECT_EQ(sched_getscheduler(pid), SCHED_OTHER);
	struct sched_param sp = {.sched_priority = 0};
	ASSERT_OK(sched_setscheduler(pid, SCHED_BATCH, &sp));
	EXPECT_EQ(sched_getscheduler(pid), SCHED_BATCH);
	EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
	ASSERT_OK(setpriority(PRIO_PROCESS, pid, 7));
	errno = 0;
	EXPECT_EQ(getpriority(PRIO_PROCESS, pid), 7);
	EXPECT_EQ(getpriority(PRIO_PROCESS, 0), 0);
	EXPECT_ERRNO(sched_getscheduler(NO_SUCH_PID), ESRCH);
	EXPECT_ERRNO(sched_getaffinity(NO_SUCH_PID, sizeof(mine), &mine), ESRCH);
	EXPECT_ERRNO(getpriority(PRIO_PROCESS, NO_SUCH_PID), ESRCH);
	EXPECT_ERRNO(setpriority(PRIO_PROCESS, NO_SUCH_PID, 0), ESRCH);
}

TEST(priority_of_process_group_and_user_in_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* A process group and a user of its own. */
		ASSERT_OK(setpgid(0, 0));
		ASSERT_OK(setpriority(PRIO_PGRP, 0, 7));
		errno = 0;
		ASSERT_EQ(getpriority(PRIO_PROCESS, 0), 7);
		ASSERT_EQ(getpriority(PRIO_PGRP, 0), 7);
		ASSERT_EQ(getpriority(PRIO_PGRP, getpid()), 7);
		ASSERT_OK(syscall(SYS_setresuid, 54321, 54321, 54321));
		ASSERT_OK(setpriority(PRIO_USER, 0, 9));
		ASSERT_EQ(getpriority(PRIO_PROCESS, 0), 9);
		ASSERT_EQ(getpriority(PRIO_USER, 54321), 9);
		/* Lowering needs privilege: every target refuses. */
		ASSERT_ERRNO(setpriority(PRIO_USER, 54321, 3), EACCES);
		ASSERT_ERRNO(getpriority(PRIO_USER, 54329), ESRCH);
		ASSERT_ERRNO(getpriority(PRIO_PGRP, NO_SUCH_PID), ESRCH);
		ASSERT_ERRNO(setpriority(PRIO_PGRP, NO_SUCH_PID, 1), ESRCH);
		/* Another user's process: EPERM. */
		ASSERT_ERRNO(setpriority(PRIO_PROCESS, getppid(), 19), EPERM);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(unprivileged_nice_and_policy_in_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct rlimit rl = {0, 0};
		struct sched_param sp = {.sched_priority = 0};
		ASSERT_OK(setrlimit(RLIMIT_NICE, &rl));
		ASSERT_OK(syscall(SYS_setgid, 65534));
		ASSERT_OK(syscall(SYS_setuid, 65534));
		/* Raising the nice value is allowed, lowering it is not. */
		ASSERT_OK(setpriority(PRIO_PROCESS, 0, 5));
		ASSERT_ERRNO(setpriority(PRIO_PROCESS, 0, 4), EACCES);
		errno = 0;
		ASSERT_EQ(getpriority(PRIO_PROCESS, 0), 5);
		/* Real-time policies need privilege (RLIMIT_RTPRIO is 0). */
		struct rlimit rt = {0, 0};
		ASSERT_OK(setrlimit(RLIMIT_RTPRIO, &rt));
		sp.sched_priority = 1;
		ASSERT_ERRNO(sched_setscheduler(0, SCHED_FIFO, &sp), EPERM);
		sp.sched_priority = 0;
		/* SCHED_IDLE is a one-way trip without privilege. */
		ASSERT_OK(sched_setscheduler(0, SCHED_BATCH, &sp));
		ASSERT_OK(sched_setscheduler(0, SCHED_OTHER, &sp));
		ASSERT_OK(sched_setscheduler(0, SCHED_IDLE, &sp));
		ASSERT_ERRNO(sched_setscheduler(0, SCHED_OTHER, &sp), EPERM);
		ASSERT_EQ(sched_getscheduler(0), SCHED_IDLE);
		/* The reset-on-fork flag cannot be cleared. */
		ASSERT_OK(sched_setscheduler(0, SCHED_IDLE | SCHED_RESET_ON_FORK, &sp));
		ASSERT_ERRNO(sched_setscheduler(0, SCHED_IDLE, &sp), EPERM);
		/* Own affinity may still change. */
		cpu_set_t set;
		ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
		ASSERT_OK(sched_setaffinity(0, sizeof(set), &set));
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(sysinfo_fields)
{
	struct sysinfo si;
	struct timespec a, b;

	ASSERT_OK(syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &a));
	ASSERT_OK(sysinfo(&si));
	ASSERT_OK(syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &b));
	/* Uptime is boot time in seconds, rounded up. */
	EXPECT_GE(si.uptime, a.tv_sec);
	EXPECT_LE(si.uptime, b.tv_sec + 1);
	EXPECT_EQ(si.mem_unit, 1);
	EXPECT_GT(si.totalram, 16UL << 20);
	EXPECT_GT(si.freeram, 0);
	EXPECT_LE(si.freeram, si.totalram);
	EXPECT_LE(si.freeswap, si.totalswap);
	EXPECT_GE(si.procs, 1);
	EXPECT_ERRNO(syscall(SYS_sysinfo, (void *)1), EFAULT);
}

TEST(sysinfo_total_is_stable)
{
	struct sysinfo a, b;
	ASSERT_OK(sysinfo(&a));
	ASSERT_OK(sysinfo(&b));
	EXPECT_EQ(a.totalram, b.totalram);
	EXPECT_GE(b.uptime, a.uptime);
}
