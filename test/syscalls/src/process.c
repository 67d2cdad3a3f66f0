/* process.c: process identity, fork/wait, sessions, prctl, limits, exec. */
#define AREA "process"
#include "../harness.h"

#include <linux/futex.h>
#include <sched.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <grp.h>
#include <sys/personality.h>

#define NO_SUCH_PID 0x3ffffff0

/*
 * When re-executed with --exec-helper, the program reports through its exit
 * status instead of running cases: 40 + argc.
 */
__attribute__((constructor)) static void exec_helper(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--exec-helper") == 0)
		_exit(40 + argc);
}

TEST(getpid_matches_raw_syscall)
{
	EXPECT_EQ(getpid(), syscall(SYS_getpid));
	EXPECT_GT(getpid(), 0);
}

TEST(gettid_of_main_thread_is_pid)
{
	EXPECT_EQ(syscall(SYS_gettid), getpid());
}

TEST(getppid_in_child_is_parent)
{
	pid_t me = getpid();
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(getppid() == me ? 0 : 1);
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(fork_child_has_new_pid)
{
	int p[2];
	pid_t cpid = 0;
	ASSERT_OK(pipe(p));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		pid_t me = getpid();
		write(p[1], &me, sizeof(me));
		_exit(0);
	}
	close(p[1]);
	EXPECT_EQ(read(p[0], &cpid, sizeof(cpid)), sizeof(cpid));
	EXPECT_EQ(cpid, pid);
	EXPECT_NE(cpid, getpid());
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(wait4_exit_status)
{
	int st = 0;
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(42);
	EXPECT_EQ(wait4(pid, &st, 0, NULL), pid);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 42);
}

TEST(exit_status_truncated_to_8_bits)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(256 + 7);
	EXPECT_EQ(h_wait(pid), 7);
}

TEST(wait4_signaled_status)
{
	int st = 0;
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		signal(SIGUSR1, SIG_DFL);
		kill(getpid(), SIGUSR1);
		_exit(0);
	}
	EXPECT_EQ(wait4(pid, &st, 0, NULL), pid);
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(WTERMSIG(st), SIGUSR1);
}

TEST(wait4_fills_rusage)
{
	struct rusage ru;
	int st;
	memset(&ru, 0xff, sizeof(ru));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(0);
	EXPECT_EQ(wait4(pid, &st, 0, &ru), pid);
	EXPECT_GE(ru.ru_utime.tv_sec, 0);
	EXPECT_GE(ru.ru_utime.tv_usec, 0);
	EXPECT_LT(ru.ru_utime.tv_usec, 1000000);
	EXPECT_GE(ru.ru_stime.tv_usec, 0);
}

TEST(waitpid_nohang_on_running_child)
{
	int p[2];
	char c;
	ASSERT_OK(pipe(p));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(p[1]);
		read(p[0], &c, 1);
		_exit(5);
	}
	close(p[0]);
	EXPECT_EQ(waitpid(pid, NULL, WNOHANG), 0);
	close(p[1]);
	EXPECT_EQ(h_wait(pid), 5);
}

TEST(waitid_exited_siginfo)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(9);
	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED));
	EXPECT_EQ(si.si_signo, SIGCHLD);
	EXPECT_EQ(si.si_code, CLD_EXITED);
	EXPECT_EQ(si.si_pid, pid);
	EXPECT_EQ(si.si_status, 9);
	EXPECT_EQ(si.si_uid, getuid());
}

TEST(waitid_killed_siginfo)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	ASSERT_OK(kill(pid, SIGKILL));
	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED));
	EXPECT_EQ(si.si_code, CLD_KILLED);
	EXPECT_EQ(si.si_status, SIGKILL);
	EXPECT_EQ(si.si_pid, pid);
}

TEST(waitid_nohang_nothing_ready)
{
	int p[2];
	siginfo_t si;
	ASSERT_OK(pipe(p));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char c;
		close(p[1]);
		read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	memset(&si, 0x55, sizeof(si));
	si.si_pid = 1234;
	EXPECT_EQ(waitid(P_PID, pid, &si, WEXITED | WNOHANG), 0);
	EXPECT_EQ(si.si_pid, 0);
	close(p[1]);
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(waitid_requires_state_option)
{
	siginfo_t si;
	EXPECT_ERRNO(waitid(P_ALL, 0, &si, 0), EINVAL);
	EXPECT_ERRNO(waitid(P_ALL, 0, &si, WNOHANG), EINVAL);
}

TEST(waitid_bad_idtype)
{
	siginfo_t si;
	EXPECT_ERRNO(waitid((idtype_t)42, 0, &si, WEXITED), EINVAL);
}

TEST(wait_without_children_is_echild)
{
	EXPECT_ERRNO(waitpid(-1, NULL, WNOHANG), ECHILD);
	EXPECT_ERRNO(waitpid(NO_SUCH_PID, NULL, 0), ECHILD);
}

TEST(waitid_wnowait_leaves_zombie)
{
	siginfo_t si;
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(3);
	memset(&si, 0, sizeof(si));
	ASSERT_OK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	EXPECT_EQ(si.si_pid, pid);
	EXPECT_EQ(si.si_status, 3);
	/* Still waitable. */
	EXPECT_EQ(h_wait(pid), 3);
}

TEST(waitpid_stopped_and_continued)
{
	int st = 0, p[2];
	char c;
	ASSERT_OK(pipe(p));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(p[1]);
		raise(SIGSTOP);
		/* Stay alive until the parent has seen the continue event. */
		read(p[0], &c, 1);
		_exit(11);
	}
	close(p[0]);
	ASSERT_EQ(waitpid(pid, &st, WUNTRACED), pid);
	EXPECT_TRUE(WIFSTOPPED(st));
	EXPECT_EQ(WSTOPSIG(st), SIGSTOP);
	ASSERT_OK(kill(pid, SIGCONT));
	ASSERT_EQ(waitpid(pid, &st, WCONTINUED), pid);
	EXPECT_TRUE(WIFCONTINUED(st));
	close(p[1]);
	EXPECT_EQ(h_wait(pid), 11);
}

TEST(wait_any_child_with_minus_one)
{
	int st = 0;
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(1);
	EXPECT_EQ(waitpid(-1, &st, 0), pid);
	EXPECT_EQ(WEXITSTATUS(st), 1);
}

TEST(vfork_runs_child_first)
{
	volatile int shared = 0;
	pid_t pid = vfork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		shared = 1;
		_exit(4);
	}
	EXPECT_EQ(shared, 1);
	EXPECT_EQ(h_wait(pid), 4);
}

TEST(setpgid_new_group_in_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setpgid(0, 0) != 0)
			_exit(1);
		if (getpgid(0) != getpid() || getpgrp() != getpid())
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(setpgid_from_parent)
{
	int p[2];
	char c;
	ASSERT_OK(pipe(p));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(p[1]);
		read(p[0], &c, 1);
		_exit(getpgrp() == getpid() ? 0 : 1);
	}
	close(p[0]);
	EXPECT_OK(setpgid(pid, pid));
	EXPECT_EQ(getpgid(pid), pid);
	close(p[1]);
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(setpgid_negative_is_einval)
{
	EXPECT_ERRNO(setpgid(0, -1), EINVAL);
}

TEST(getpgid_no_such_process)
{
	EXPECT_ERRNO(getpgid(NO_SUCH_PID), ESRCH);
	EXPECT_ERRNO(getsid(NO_SUCH_PID), ESRCH);
}

TEST(setsid_in_child_creates_session)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		pid_t s = setsid();
		if (s != getpid())
			_exit(1);
		if (getsid(0) != getpid() || getpgrp() != getpid())
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(setsid_as_group_leader_is_eperm)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setpgid(0, 0) != 0)
			_exit(1);
		_exit(setsid() == -1 && errno == EPERM ? 0 : 2);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(getsid_zero_is_self)
{
	EXPECT_EQ(getsid(0), getsid(getpid()));
	/* 0 when the session leader is outside our PID namespace (containers). */
	EXPECT_GE(getsid(0), 0);
}

TEST(prctl_set_get_name)
{
	char old[32] = {0}, buf[32] = {0};
	ASSERT_OK(prctl(PR_GET_NAME, old));
	ASSERT_OK(prctl(PR_SET_NAME, "palisade-t"));
	ASSERT_OK(prctl(PR_GET_NAME, buf));
	EXPECT_STREQ(buf, "palisade-t");
	prctl(PR_SET_NAME, old);
}

TEST(prctl_name_truncated_to_15)
{
	char old[32] = {0}, buf[32];
	ASSERT_OK(prctl(PR_GET_NAME, old));
	ASSERT_OK(prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz"));
	memset(buf, 'X', sizeof(buf));
	ASSERT_OK(prctl(PR_GET_NAME, buf));
	EXPECT_STREQ(buf, "abcdefghijklmno");
	prctl(PR_SET_NAME, old);
}

TEST(prctl_name_visible_in_proc_comm)
{
	char old[32] = {0}, buf[64] = {0};
	ASSERT_OK(prctl(PR_GET_NAME, old));
	ASSERT_OK(prctl(PR_SET_NAME, "commcheck"));
	int fd = open("/proc/self/comm", O_RDONLY);
	EXPECT_GE(fd, 0);
	if (fd >= 0) {
		EXPECT_EQ(read(fd, buf, sizeof(buf) - 1), 10);
		EXPECT_STREQ(buf, "commcheck\n");
	}
	prctl(PR_SET_NAME, old);
}

TEST(prctl_pdeathsig_roundtrip)
{
	int sig = -1;
	ASSERT_OK(prctl(PR_SET_PDEATHSIG, SIGUSR1));
	ASSERT_OK(prctl(PR_GET_PDEATHSIG, &sig));
	EXPECT_EQ(sig, SIGUSR1);
	ASSERT_OK(prctl(PR_SET_PDEATHSIG, 0));
	ASSERT_OK(prctl(PR_GET_PDEATHSIG, &sig));
	EXPECT_EQ(sig, 0);
	EXPECT_ERRNO(prctl(PR_SET_PDEATHSIG, 99), EINVAL);
}

TEST(prctl_no_new_privs_sticky)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(1);
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			_exit(2);
		if (prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) != -1 || errno != EINVAL)
			_exit(3);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(prctl_dumpable_roundtrip)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_DUMPABLE, 0) != 0 || prctl(PR_GET_DUMPABLE) != 0)
			_exit(1);
		if (prctl(PR_SET_DUMPABLE, 1) != 0 || prctl(PR_GET_DUMPABLE) != 1)
			_exit(2);
		if (prctl(PR_SET_DUMPABLE, 5) != -1 || errno != EINVAL)
			_exit(3);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(prctl_unknown_option_einval)
{
	EXPECT_ERRNO(prctl(0x7fff1234, 0, 0, 0, 0), EINVAL);
}

TEST(rlimit_set_and_get_roundtrip)
{
	struct rlimit old, r;
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
	r.rlim_cur = 100;
	r.rlim_max = old.rlim_max;
	ASSERT_OK(setrlimit(RLIMIT_NOFILE, &r));
	memset(&r, 0, sizeof(r));
	EXPECT_OK(getrlimit(RLIMIT_NOFILE, &r));
	EXPECT_EQ(r.rlim_cur, 100);
	EXPECT_EQ(r.rlim_max, old.rlim_max);
	EXPECT_OK(setrlimit(RLIMIT_NOFILE, &old));
}

TEST(rlimit_soft_above_hard_einval)
{
	struct rlimit r = {.rlim_cur = 200, .rlim_max = 100};
	EXPECT_ERRNO(setrlimit(RLIMIT_CORE, &r), EINVAL);
}

TEST(rlimit_invalid_resource_einval)
{
	struct rlimit r;
	EXPECT_ERRNO(getrlimit((__rlimit_resource_t)999, &r), EINVAL);
}

TEST(rlimit_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)1), EFAULT);
}

TEST(prlimit_matches_getrlimit)
{
	struct rlimit a, b;
	ASSERT_OK(getrlimit(RLIMIT_STACK, &a));
	ASSERT_OK(prlimit(0, RLIMIT_STACK, NULL, &b));
	EXPECT_EQ(a.rlim_cur, b.rlim_cur);
	EXPECT_EQ(a.rlim_max, b.rlim_max);
	ASSERT_OK(prlimit(getpid(), RLIMIT_STACK, NULL, &b));
	EXPECT_EQ(a.rlim_cur, b.rlim_cur);
}

TEST(prlimit_set_returns_old)
{
	struct rlimit old, nw, prev;
	ASSERT_OK(getrlimit(RLIMIT_CORE, &old));
	nw.rlim_cur = 0;
	nw.rlim_max = old.rlim_max;
	ASSERT_OK(prlimit(0, RLIMIT_CORE, &nw, &prev));
	EXPECT_EQ(prev.rlim_cur, old.rlim_cur);
	EXPECT_OK(prlimit(0, RLIMIT_CORE, &old, NULL));
}

TEST(prlimit_no_such_process)
{
	struct rlimit r;
	EXPECT_ERRNO(prlimit(NO_SUCH_PID, RLIMIT_CORE, NULL, &r), ESRCH);
}

TEST(getrusage_self_sane)
{
	struct rusage ru;
	ASSERT_OK(getrusage(RUSAGE_SELF, &ru));
	EXPECT_GT(ru.ru_maxrss, 0);
	EXPECT_GE(ru.ru_utime.tv_sec, 0);
	EXPECT_LT(ru.ru_utime.tv_usec, 1000000);
	EXPECT_LT(ru.ru_stime.tv_usec, 1000000);
	ASSERT_OK(getrusage(RUSAGE_THREAD, &ru));
	ASSERT_OK(getrusage(RUSAGE_CHILDREN, &ru));
}

TEST(getrusage_invalid_who_einval)
{
	struct rusage ru;
	EXPECT_ERRNO(getrusage(42, &ru), EINVAL);
}

TEST(times_returns_clock_ticks)
{
	struct tms t;
	clock_t a = times(&t);
	EXPECT_NE(a, (clock_t)-1);
	EXPECT_GE(t.tms_utime, 0);
	EXPECT_GE(t.tms_stime, 0);
	clock_t b = times(NULL);
	EXPECT_GE(b, a);
	EXPECT_EQ(sysconf(_SC_CLK_TCK), 100);
}

TEST(sched_yield_succeeds)
{
	EXPECT_EQ(sched_yield(), 0);
}

TEST(sched_getaffinity_has_cpus)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	EXPECT_GE(CPU_COUNT(&set), 1);
	/* The raw syscall returns the size of the kernel's mask in bytes. */
	long n = syscall(SYS_sched_getaffinity, 0, sizeof(set), &set);
	EXPECT_GT(n, 0);
	EXPECT_EQ(n % 8, 0);
}

TEST(sched_getaffinity_small_buffer_einval)
{
	unsigned char b[1];
	EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 1, b), EINVAL);
}

TEST(getcpu_in_affinity_mask)
{
	unsigned cpu = 9999, node = 9999;
	cpu_set_t set;
	ASSERT_OK(sched_getaffinity(0, sizeof(set), &set));
	ASSERT_OK(syscall(SYS_getcpu, &cpu, &node, NULL));
	EXPECT_LT(cpu, CPU_SETSIZE);
	EXPECT_TRUE(CPU_ISSET(cpu, &set));
	EXPECT_LT(node, 1024);
}

TEST(sched_policy_is_other)
{
	struct sched_param sp = {.sched_priority = 7};
	EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
	ASSERT_OK(sched_getparam(0, &sp));
	EXPECT_EQ(sp.sched_priority, 0);
	EXPECT_EQ(sched_get_priority_max(SCHED_FIFO), 99);
	EXPECT_EQ(sched_get_priority_min(SCHED_FIFO), 1);
	EXPECT_EQ(sched_get_priority_max(SCHED_OTHER), 0);
	EXPECT_ERRNO(sched_get_priority_max(77), EINVAL);
}

TEST(setpriority_roundtrip_in_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setpriority(PRIO_PROCESS, 0, 5) != 0)
			_exit(1);
		errno = 0;
		if (getpriority(PRIO_PROCESS, 0) != 5 || errno)
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_ERRNO(getpriority(99, 0), EINVAL);
}

TEST(uname_fields)
{
	struct utsname u;
	ASSERT_OK(uname(&u));
	EXPECT_STREQ(u.sysname, "Linux");
	EXPECT_STREQ(u.machine, "x86_64");
	EXPECT_GT(strlen(u.release), 0);
	EXPECT_GT(strlen(u.version), 0);
	EXPECT_TRUE(u.release[0] >= '2' && u.release[0] <= '9');
	EXPECT_ERRNO(syscall(SYS_uname, (void *)1), EFAULT);
}

TEST(sysinfo_sane)
{
	struct sysinfo si;
	ASSERT_OK(sysinfo(&si));
	EXPECT_GT(si.totalram, 0);
	EXPECT_LE(si.freeram, si.totalram);
	EXPECT_GE(si.mem_unit, 1);
	EXPECT_GE(si.procs, 1);
	EXPECT_GE(si.uptime, 0);
}

TEST(umask_returns_previous)
{
	mode_t old = umask(027);
	EXPECT_EQ(umask(old), 027);
	EXPECT_EQ(umask(old), old);
}

TEST(umask_applies_to_create)
{
	struct stat st;
	umask(077);
	int fd = open(h_path("f"), O_CREAT | O_WRONLY, 0666);
	ASSERT_GE(fd, 0);
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_mode & 0777, 0600);
	ASSERT_OK(mkdir(h_path("d"), 0777));
	ASSERT_OK(stat(h_path("d"), &st));
	EXPECT_EQ(st.st_mode & 0777, 0700);
}

TEST(execve_self_with_args)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char *argv[] = {"x", "--exec-helper", "a", "b", NULL};
		char *envp[] = {NULL};
		execve("/proc/self/exe", argv, envp);
		_exit(1);
	}
	EXPECT_EQ(h_wait(pid), 44);
}

TEST(execve_missing_file_enoent)
{
	char *argv[] = {"x", NULL};
	EXPECT_ERRNO(execve(h_path("nope"), argv, NULL), ENOENT);
}

TEST(execve_directory_eacces)
{
	char *argv[] = {"x", NULL};
	EXPECT_ERRNO(execve("/tmp", argv, NULL), EACCES);
}

TEST(execve_non_executable_eacces)
{
	char *argv[] = {"x", NULL};
	h_write_file(h_path("f"), "#!/bin/sh\nexit 0\n");
	ASSERT_OK(chmod(h_path("f"), 0644));
	EXPECT_ERRNO(execve(h_path("f"), argv, NULL), EACCES);
}

TEST(execve_garbage_enoexec)
{
	char *argv[] = {"x", NULL};
	h_write_file(h_path("f"), "this is not an executable\n");
	ASSERT_OK(chmod(h_path("f"), 0755));
	EXPECT_ERRNO(execve(h_path("f"), argv, NULL), ENOEXEC);
}

static volatile pid_t clone_tid_seen;

static int clone_thread_fn(void *arg)
{
	(void)arg;
	clone_tid_seen = syscall(SYS_gettid);
	return 0;
}

TEST(clone_thread_child_cleartid)
{
	size_t sz = 64 * 1024;
	char *stack = malloc(sz);
	volatile pid_t ptid = 0, ctid = -1;
	ASSERT_TRUE(stack != NULL);
	clone_tid_seen = 0;
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
		    CLONE_THREAD | CLONE_SYSVSEM | CLONE_PARENT_SETTID |
		    CLONE_CHILD_CLEARTID;
	int tid = clone(clone_thread_fn, stack + sz, flags, NULL, &ptid, NULL,
			&ctid);
	ASSERT_GT(tid, 0);
	EXPECT_EQ(ptid, tid);
	/* Wait for the kernel to clear ctid and wake us at thread exit. */
	for (;;) {
		pid_t v = ctid;
		if (v == 0)
			break;
		syscall(SYS_futex, &ctid, FUTEX_WAIT, v, NULL, NULL, 0);
	}
	EXPECT_EQ(clone_tid_seen, tid);
	EXPECT_NE(tid, getpid());
	free(stack);
}

static void *tid_thread(void *arg)
{
	pid_t *out = arg;
	out[0] = syscall(SYS_gettid);
	out[1] = getpid();
	return NULL;
}

TEST(thread_has_own_tid_same_pid)
{
	pthread_t t;
	pid_t ids[2] = {0, 0};
	ASSERT_EQ(pthread_create(&t, NULL, tid_thread, ids), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	EXPECT_EQ(ids[1], getpid());
	EXPECT_NE(ids[0], getpid());
	EXPECT_GT(ids[0], 0);
}

TEST(kill_signal_zero_probes)
{
	EXPECT_OK(kill(getpid(), 0));
	EXPECT_ERRNO(kill(NO_SUCH_PID, 0), ESRCH);
}

TEST(root_credentials)
{
	uid_t r, e, s;
	EXPECT_EQ(getuid(), 0);
	EXPECT_EQ(geteuid(), 0);
	EXPECT_EQ(getgid(), 0);
	ASSERT_OK(getresuid(&r, &e, &s));
	EXPECT_EQ(r, 0);
	EXPECT_EQ(e, 0);
	EXPECT_EQ(s, 0);
}

TEST(setuid_drop_is_permanent)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uid_t r, e, s;
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(1);
		if (getuid() != 65534 || geteuid() != 65534)
			_exit(2);
		if (getresuid(&r, &e, &s) != 0 || s != 65534)
			_exit(3);
		if (setuid(0) != -1 || errno != EPERM)
			_exit(4);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(setresuid_keeps_saved_uid)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uid_t r, e, s;
		if (setresuid(1000, 1000, 0) != 0)
			_exit(1);
		if (getresuid(&r, &e, &s) != 0 || r != 1000 || e != 1000 || s != 0)
			_exit(2);
		/* The saved uid allows getting root back. */
		if (setresuid(-1, 0, -1) != 0 || geteuid() != 0)
			_exit(3);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(setgroups_getgroups_in_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		gid_t set[3] = {7, 8, 9}, got[8];
		if (setgroups(3, set) != 0)
			_exit(1);
		if (getgroups(0, NULL) != 3 || getgroups(8, got) != 3)
			_exit(2);
		if (got[0] != 7 || got[2] != 9)
			_exit(3);
		if (getgroups(1, got) != -1 || errno != EINVAL)
			_exit(4);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(personality_query)
{
	int p = personality(0xffffffff);
	EXPECT_NE(p, -1);
	EXPECT_EQ(personality(0xffffffff), p);
}
