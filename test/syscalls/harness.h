/*
 * harness.h: a tiny test harness for the syscall conformance suite.
 *
 * Each area program defines AREA and includes this header once:
 *
 *     #define AREA "file"
 *     #include "harness.h"
 *
 *     TEST(open_creat) {
 *         int fd = open(h_path("f"), O_CREAT | O_RDWR, 0600);
 *         ASSERT_OK(fd);
 *         EXPECT_EQ(write(fd, "x", 1), 1);
 *         close(fd);
 *     }
 *
 * Cases run in-process, in the order they appear in the source, and print
 * exactly one line each: "PASS area.name", "FAIL area.name: file:line: msg"
 * or (rarely, when the host lacks a feature) "SKIP area.name: reason".
 * Arguments: none runs everything, "--list" prints case names, and any other
 * arguments name the cases to run (with or without the "area." prefix).
 * The exit status is 0 when every case run passed or skipped, 1 otherwise.
 *
 * EXPECT_* records a failure and continues; ASSERT_* records it and ends the
 * case (with longjmp, so a case must not rely on code after a failed ASSERT
 * for cleanup). After every case the harness restores what a case might
 * have left behind: it kills and reaps children started with h_fork(),
 * closes file descriptors that were not open at start-up, restores signal
 * dispositions, the signal mask, the working directory and the umask (022
 * for every case), and removes the case's temporary directory (h_path()).
 *
 * In a child made by fork (any process other than the test process) a
 * failing check prints its message to stderr and calls _exit(100), so the
 * parent sees it through h_wait(). Checks in other threads only record a
 * failure; they never end the case.
 */
#ifndef PALISADE_SYSCALLS_HARNESS_H
#define PALISADE_SYSCALLS_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AREA
#error "define AREA before including harness.h"
#endif

#define H_MAX_CASES 256
#define H_MAX_FDS 1024
#define H_MAX_CHILDREN 64

struct h_case {
	const char *name;
	void (*fn)(void);
	int line;
};

static struct h_case h_cases[H_MAX_CASES];
static int h_ncases;

static pid_t h_main_pid;
static jmp_buf h_jmp;
static volatile int h_failed;
static volatile int h_skipped;
static char h_msg[512];
static char h_tmpdir[64];
static pid_t h_children[H_MAX_CHILDREN];
static int h_nchildren;

static void h_register(const char *name, void (*fn)(void), int line)
{
	if (h_ncases == H_MAX_CASES) {
		fprintf(stderr, "harness: too many cases\n");
		abort();
	}
	h_cases[h_ncases].name = name;
	h_cases[h_ncases].fn = fn;
	h_cases[h_ncases].line = line;
	h_ncases++;
}

/* TEST(name) declares a case and registers it before main runs. */
#define TEST(name)                                                        \
	static void h_test_##name(void);                                  \
	__attribute__((constructor)) static void h_reg_##name(void)       \
	{                                                                 \
		h_register(#name, h_test_##name, __LINE__);               \
	}                                                                 \
	static void h_test_##name(void)

/* h_fail records a failure; fatal ones end the case. */
__attribute__((format(printf, 4, 5))) static void
h_fail(int fatal, const char *file, int line, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (getpid() != h_main_pid) {
		/* A forked child: report and end the child. */
		dprintf(2, "child %d: %s:%d: %s\n", (int)getpid(), file, line, buf);
		_exit(100);
	}
	if (!h_failed)
		snprintf(h_msg, sizeof(h_msg), "%s:%d: %s", file, line, buf);
	h_failed = 1;
	errno = saved;
	if (fatal && syscall(SYS_gettid) == h_main_pid)
		longjmp(h_jmp, 1);
}

/* SKIP ends the case and reports it as skipped (host lacks a feature). */
#define SKIP(...)                                                         \
	do {                                                              \
		snprintf(h_msg, sizeof(h_msg), __VA_ARGS__);              \
		h_skipped = 1;                                            \
		longjmp(h_jmp, 1);                                        \
	} while (0)

#define H_ISFLT(x) _Generic((x), float: 1, double: 1, long double: 1, default: 0)

/* Integers compare as long long, floating point values as long double. */
#define H_CMP(fatal, a, op, b)                                            \
	do {                                                              \
		__auto_type h_a0 = (a);                                   \
		__auto_type h_b0 = (b);                                   \
		int h_e0 = errno;                                         \
		if (H_ISFLT(h_a0) || H_ISFLT(h_b0)) {                     \
			long double h_a = h_a0, h_b = h_b0;               \
			if (!(h_a op h_b))                                \
				h_fail(fatal, __FILE__, __LINE__,         \
				       "%s %s %s: got %Lg vs %Lg", #a,    \
				       #op, #b, h_a, h_b);                \
		} else {                                                  \
			long long h_a = (long long)h_a0;                  \
			long long h_b = (long long)h_b0;                  \
			if (!(h_a op h_b))                                \
				h_fail(fatal, __FILE__, __LINE__,         \
				       "%s %s %s: got %lld vs %lld "      \
				       "(errno %s)",                      \
				       #a, #op, #b, h_a, h_b,             \
				       strerrorname_np(h_e0) ?: "0");     \
		}                                                         \
	} while (0)

#define EXPECT_EQ(a, b) H_CMP(0, a, ==, b)
#define EXPECT_NE(a, b) H_CMP(0, a, !=, b)
#define EXPECT_LT(a, b) H_CMP(0, a, <, b)
#define EXPECT_LE(a, b) H_CMP(0, a, <=, b)
#define EXPECT_GT(a, b) H_CMP(0, a, >, b)
#define EXPECT_GE(a, b) H_CMP(0, a, >=, b)
#define ASSERT_EQ(a, b) H_CMP(1, a, ==, b)
#define ASSERT_NE(a, b) H_CMP(1, a, !=, b)
#define ASSERT_LT(a, b) H_CMP(1, a, <, b)
#define ASSERT_LE(a, b) H_CMP(1, a, <=, b)
#define ASSERT_GT(a, b) H_CMP(1, a, >, b)
#define ASSERT_GE(a, b) H_CMP(1, a, >=, b)

#define H_TRUE(fatal, c)                                                  \
	do {                                                              \
		if (!(c))                                                 \
			h_fail(fatal, __FILE__, __LINE__,                 \
			       "expected %s (errno %s)", #c,              \
			       strerrorname_np(errno) ?: "0");            \
	} while (0)
#define EXPECT_TRUE(c) H_TRUE(0, c)
#define EXPECT_FALSE(c) H_TRUE(0, !(c))
#define ASSERT_TRUE(c) H_TRUE(1, c)
#define ASSERT_FALSE(c) H_TRUE(1, !(c))

#define H_STREQ(fatal, a, b)                                              \
	do {                                                              \
		const char *h_sa = (a), *h_sb = (b);                      \
		if (h_sa == NULL || h_sb == NULL || strcmp(h_sa, h_sb))   \
			h_fail(fatal, __FILE__, __LINE__,                 \
			       "%s == %s: got \"%s\" vs \"%s\"", #a, #b,  \
			       h_sa ?: "(null)", h_sb ?: "(null)");       \
	} while (0)
#define EXPECT_STREQ(a, b) H_STREQ(0, a, b)
#define ASSERT_STREQ(a, b) H_STREQ(1, a, b)

#define EXPECT_MEMEQ(a, b, n)                                             \
	do {                                                              \
		if (memcmp((a), (b), (n)))                                \
			h_fail(0, __FILE__, __LINE__,                     \
			       "memory %s differs from %s", #a, #b);      \
	} while (0)

/* *_OK(call): the call must not return -1. Evaluates to nothing. */
#define H_OK(fatal, call)                                                 \
	do {                                                              \
		errno = 0;                                                \
		long h_r = (long)(call);                                  \
		if (h_r == -1)                                            \
			h_fail(fatal, __FILE__, __LINE__,                 \
			       "%s failed: %s", #call,                    \
			       strerrorname_np(errno) ?: "0");            \
	} while (0)
#define EXPECT_OK(call) H_OK(0, call)
#define ASSERT_OK(call) H_OK(1, call)

/* *_ERRNO(call, E): the call must return -1 with errno E. */
#define H_ERRNO(fatal, call, e)                                           \
	do {                                                              \
		errno = 0;                                                \
		long h_r = (long)(call);                                  \
		int h_e = errno;                                          \
		if (h_r != -1 || h_e != (e))                              \
			h_fail(fatal, __FILE__, __LINE__,                 \
			       "%s: want -1/%s, got %ld/%s", #call,       \
			       strerrorname_np(e), h_r,                   \
			       strerrorname_np(h_e) ?: "0");              \
	} while (0)
#define EXPECT_ERRNO(call, e) H_ERRNO(0, call, e)
#define ASSERT_ERRNO(call, e) H_ERRNO(1, call, e)

/*
 * h_path returns NAME inside the case's temporary directory (created on
 * first use under /tmp, removed after the case). Results rotate through
 * eight buffers, so a few may be used in one expression.
 */
__attribute__((unused)) static const char *h_path(const char *name)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b;

	if (h_tmpdir[0] == 0) {
		strcpy(h_tmpdir, "/tmp/palisade-syscalls-XXXXXX");
		if (mkdtemp(h_tmpdir) == NULL) {
			h_tmpdir[0] = 0;
			h_fail(1, __FILE__, __LINE__, "mkdtemp: %s",
			       strerror(errno));
		}
	}
	b = bufs[next++ % 8];
	snprintf(b, PATH_MAX, "%s/%s", h_tmpdir, name);
	return b;
}

/* h_fork forks; the parent remembers the child so it is always reaped. */
__attribute__((unused)) static pid_t h_fork(void)
{
	pid_t pid = fork();

	if (pid > 0 && h_nchildren < H_MAX_CHILDREN)
		h_children[h_nchildren++] = pid;
	return pid;
}

/* h_wait waits for PID: its exit code, or 1000+signal if it was killed. */
__attribute__((unused)) static int h_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return -2;
}

/* h_write_file creates PATH holding the string DATA. */
__attribute__((unused)) static void h_write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t n = strlen(data);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		h_fail(1, __FILE__, __LINE__, "writing %s: %s", path,
		       strerror(errno));
	close(fd);
}

static unsigned char h_fds_at_start[H_MAX_FDS];
static struct sigaction h_actions[65];
static sigset_t h_mask;
static int h_cwd_fd = -1;
static mode_t h_umask;

static int h_rm(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	if (flag == FTW_DP)
		return rmdir(p);
	return unlink(p);
}

static void h_save_state(void)
{
	for (int fd = 0; fd < H_MAX_FDS; fd++)
		h_fds_at_start[fd] = fcntl(fd, F_GETFD) != -1;
	for (int s = 1; s < 65; s++)
		sigaction(s, NULL, &h_actions[s]);
	sigprocmask(SIG_SETMASK, NULL, &h_mask);
	/* Every case starts with umask 022, whatever the caller's was. */
	h_umask = 022;
	umask(h_umask);
	h_cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h_cwd_fd >= 0 && h_cwd_fd < H_MAX_FDS)
		h_fds_at_start[h_cwd_fd] = 1;
}

/* h_cleanup undoes what a case may have left behind. */
static void h_cleanup(void)
{
	struct itimerval zero = {0};

	alarm(0);
	setitimer(ITIMER_REAL, &zero, NULL);
	setitimer(ITIMER_VIRTUAL, &zero, NULL);
	setitimer(ITIMER_PROF, &zero, NULL);
	for (int i = 0; i < h_nchildren; i++) {
		pid_t p = h_children[i];
		if (waitpid(p, NULL, WNOHANG | __WALL) == 0) {
			kill(p, SIGKILL);
			waitpid(p, NULL, __WALL);
		}
	}
	h_nchildren = 0;
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
	{
		int top = 2; /* highest fd open at start-up */
		for (int fd = 3; fd < H_MAX_FDS; fd++)
			if (h_fds_at_start[fd])
				top = fd;
		for (int fd = 3; fd < top; fd++)
			if (!h_fds_at_start[fd])
				close(fd);
		if (syscall(SYS_close_range, top + 1, ~0U, 0) != 0)
			for (int fd = top + 1; fd < H_MAX_FDS; fd++)
				close(fd);
	}
	for (int s = 1; s < 65; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &h_actions[s], NULL);
	/* Drop signals a case left pending while blocked. */
	{
		sigset_t all, pend;
		struct timespec zt = {0, 0};
		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		while (sigpending(&pend) == 0 && !sigisemptyset(&pend) &&
		       sigtimedwait(&all, NULL, &zt) > 0)
			;
	}
	sigprocmask(SIG_SETMASK, &h_mask, NULL);
	if (h_cwd_fd >= 0)
		fchdir(h_cwd_fd);
	umask(h_umask);
	if (h_tmpdir[0]) {
		nftw(h_tmpdir, h_rm, 16, FTW_DEPTH | FTW_PHYS);
		h_tmpdir[0] = 0;
	}
}

static int h_selected(const char *name, int argc, char **argv)
{
	char full[256];

	if (argc < 2)
		return 1;
	snprintf(full, sizeof(full), "%s.%s", AREA, name);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name) || !strcmp(argv[i], full))
			return 1;
	return 0;
}

static int h_by_line(const void *a, const void *b)
{
	return ((const struct h_case *)a)->line -
	       ((const struct h_case *)b)->line;
}

static void h_out(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(1, buf, n) < 0)
		_exit(2);
}

int main(int argc, char **argv)
{
	int bad = 0, found = 0;

	qsort(h_cases, h_ncases, sizeof(h_cases[0]), h_by_line);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (int i = 0; i < h_ncases; i++)
			h_out("%s.%s", AREA, h_cases[i].name);
		return 0;
	}
	h_main_pid = getpid();
	setvbuf(stdout, NULL, _IONBF, 0);
	h_save_state();
	for (int i = 0; i < h_ncases; i++) {
		if (!h_selected(h_cases[i].name, argc, argv))
			continue;
		found++;
		h_failed = 0;
		h_skipped = 0;
		h_msg[0] = 0;
		errno = 0;
		if (setjmp(h_jmp) == 0)
			h_cases[i].fn();
		h_cleanup();
		if (h_failed) {
			bad = 1;
			h_out("FAIL %s.%s: %s", AREA, h_cases[i].name, h_msg);
		} else if (h_skipped) {
			h_out("SKIP %s.%s: %s", AREA, h_cases[i].name, h_msg);
		} else {
			h_out("PASS %s.%s", AREA, h_cases[i].name);
		}
	}
	if (argc > 1 && found != argc - 1) {
		dprintf(2, "harness: %d of %d named cases not found\n",
			argc - 1 - found, argc - 1);
		bad = 1;
	}
	return bad;
}

#endif
