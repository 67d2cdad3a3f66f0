/*
 * identity.c: user and group IDs, supplementary groups and capabilities:
 * the set*id family with its saved and filesystem IDs, the capability
 * changes that follow user ID changes, setgroups, capget and capset.
 *
 * Cases that can undo what they change (the effective and filesystem IDs
 * while the saved ID stays 0) run in the test process with raw syscalls
 * and restore root before they end; cases that give up root for good run
 * in a forked child.
 */
#define AREA "identity"
#include "../harness.h"

#include <grp.h>
#include <pthread.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>

#define NOBODY 65534

/* caps holds one task's three capability sets as 64-bit masks. */
struct caps {
	uint64_t eff, perm, inh;
};

static int get_caps(struct caps *c)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int set_caps(const struct caps *c)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {
		{(uint32_t)c->eff, (uint32_t)c->perm, (uint32_t)c->inh},
		{(uint32_t)(c->eff >> 32), (uint32_t)(c->perm >> 32),
		 (uint32_t)(c->inh >> 32)},
	};
	return syscall(SYS_capset, &h, d);
}

#define BIT(c) ((uint64_t)1 << (c))

/* The capabilities that follow the filesystem user ID (capabilities(7)). */
#define FS_CAPS                                                            \
	(BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH) |  \
	 BIT(CAP_FOWNER) | BIT(CAP_FSETID) | BIT(CAP_LINUX_IMMUTABLE) |      \
	 BIT(CAP_MAC_OVERRIDE) | BIT(CAP_MKNOD))

static long ids(long nr, unsigned *r, unsigned *e, unsigned *s)
{
	return syscall(nr, r, e, s);
}

TEST(getresuid_getresgid_root)
{
	unsigned r = 9, e = 9, s = 9;
	ASSERT_OK(ids(SYS_getresuid, &r, &e, &s));
	EXPECT_EQ(r, 0);
	EXPECT_EQ(e, 0);
	EXPECT_EQ(s, 0);
	r = e = s = 9;
	ASSERT_OK(ids(SYS_getresgid, &r, &e, &s));
	EXPECT_EQ(r, 0);
	EXPECT_EQ(e, 0);
	EXPECT_EQ(s, 0);
}

TEST(getresuid_bad_pointer_efault)
{
	unsigned r, e;
	EXPECT_ERRNO(ids(SYS_getresuid, &r, &e, (unsigned *)1), EFAULT);
	EXPECT_ERRNO(ids(SYS_getresgid, (unsigned *)1, &r, &e), EFAULT);
}

TEST(setuid_minus_one_einval)
{
	EXPECT_ERRNO(syscall(SYS_setuid, -1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setgid, -1), EINVAL);
	EXPECT_EQ(getuid(), 0);
	EXPECT_EQ(getgid(), 0);
}

TEST(setuid_root_to_root_keeps_caps)
{
	struct caps a, b;
	ASSERT_OK(get_caps(&a));
	EXPECT_OK(syscall(SYS_setuid, 0));
	EXPECT_OK(syscall(SYS_setgid, 0));
	ASSERT_OK(get_caps(&b));
	EXPECT_EQ(b.eff, a.eff);
	EXPECT_EQ(b.perm, a.perm);
}

TEST(setfsuid_returns_previous)
{
	EXPECT_EQ(setfsuid(1000), 0);
	EXPECT_EQ(setfsuid(-1), 1000); /* -1 only queries */
	EXPECT_EQ(setfsuid(0), 1000);
	EXPECT_EQ(setfsuid(-1), 0);
	EXPECT_EQ(setfsgid(1000), 0);
	EXPECT_EQ(setfsgid(-1), 1000);
	EXPECT_EQ(setfsgid(0), 1000);
	EXPECT_EQ(setfsgid(-1), 0);
	EXPECT_EQ(geteuid(), 0);
	EXPECT_EQ(getegid(), 0);
}

TEST(setfsuid_drops_and_restores_fs_caps)
{
	struct caps a, b, c;
	ASSERT_OK(get_caps(&a));
	setfsuid(1000);
	int got = get_caps(&b);
	setfsuid(0);
	ASSERT_OK(got);
	EXPECT_EQ(b.eff, a.eff & ~FS_CAPS);
	EXPECT_EQ(b.perm, a.perm);
	ASSERT_OK(get_caps(&c));
	EXPECT_EQ(c.eff, a.eff);
}

TEST(setfsgid_keeps_caps)
{
	struct caps a, b;
	ASSERT_OK(get_caps(&a));
	setfsgid(1000);
	int got = get_caps(&b);
	setfsgid(0);
	ASSERT_OK(got);
	EXPECT_EQ(b.eff, a.eff);
}

TEST(setfsuid_governs_file_access)
{
	const char *d = h_path("d"), *p = h_path("d/secret");
	umask(0);
	ASSERT_OK(mkdir(d, 0777));
	int fd0 = open(p, O_CREAT | O_WRONLY, 0600);
	ASSERT_GE(fd0, 0);
	close(fd0);
	/* The case's directory is 0700: work relative to d. */
	int dfd = open(d, O_RDONLY | O_DIRECTORY);
	ASSERT_GE(dfd, 0);
	setfsuid(NOBODY);
	errno = 0;
	int fd = openat(dfd, "secret", O_RDONLY);
	int err = errno;
	int fd2 = openat(dfd, "new", O_CREAT | O_WRONLY, 0644);
	setfsuid(0);
	EXPECT_EQ(fd, -1);
	EXPECT_EQ(err, EACCES);
	/* A file created under another fsuid belongs to it. */
	ASSERT_GE(fd2, 0);
	struct stat st;
	ASSERT_OK(fstat(fd2, &st));
	EXPECT_EQ(st.st_uid, NOBODY);
	EXPECT_EQ(st.st_gid, 0);
	int fd3 = open(p, O_RDONLY);
	EXPECT_GE(fd3, 0);
}

TEST(setresuid_effective_roundtrip)
{
	struct caps a, b, c;
	unsigned r, e, s;
	ASSERT_OK(get_caps(&a));
	ASSERT_OK(syscall(SYS_setresuid, -1, NOBODY, -1));
	int e1 = geteuid(), fs1 = setfsuid(-1);
	int got = ids(SYS_getresuid, &r, &e, &s);
	int capsgot = get_caps(&b);
	/* The saved ID is still 0, so root comes back without privilege. */
	long back = syscall(SYS_setresuid, -1, 0, -1);
	EXPECT_EQ(back, 0);
	EXPECT_EQ(geteuid(), 0);
	EXPECT_EQ(e1, NOBODY);
	EXPECT_EQ(fs1, NOBODY);
	EXPECT_EQ(got, 0);
	EXPECT_EQ(r, 0);
	EXPECT_EQ(e, NOBODY);
	EXPECT_EQ(s, 0);
	ASSERT_OK(capsgot);
	EXPECT_EQ(b.eff, 0);
	EXPECT_EQ(b.perm, a.perm);
	ASSERT_OK(get_caps(&c));
	EXPECT_EQ(c.eff, a.perm);
}

TEST(setresuid_unprivileged_eperm_while_effective_dropped)
{
	ASSERT_OK(syscall(SYS_setresuid, -1, NOBODY, -1));
	errno = 0;
	long r1 = syscall(SYS_setresuid, -1, 1234, -1);
	int e1 = errno;
	errno = 0;
	long r2 = syscall(SYS_setuid, 1234);
	int e2 = errno;
	errno = 0;
	long r3 = syscall(SYS_setgroups, 0, NULL);
	int e3 = errno;
	ASSERT_OK(syscall(SYS_setresuid, -1, 0, -1));
	EXPECT_EQ(r1, -1);
	EXPECT_EQ(e1, EPERM);
	EXPECT_EQ(r2, -1);
	EXPECT_EQ(e2, EPERM);
	EXPECT_EQ(r3, -1);
	EXPECT_EQ(e3, EPERM);
}

TEST(setreuid_effective_sets_saved)
{
	unsigned r, e, s, r2, e2, s2;
	ASSERT_OK(syscall(SYS_setreuid, -1, NOBODY));
	int got = ids(SYS_getresuid, &r, &e, &s);
	/* Back to the real ID (0): allowed, the saved ID stays. */
	long back = syscall(SYS_setreuid, -1, 0);
	int got2 = ids(SYS_getresuid, &r2, &e2, &s2);
	ASSERT_OK(syscall(SYS_setresuid, 0, 0, 0));
	EXPECT_EQ(back, 0);
	EXPECT_EQ(got, 0);
	EXPECT_EQ(r, 0);
	EXPECT_EQ(e, NOBODY);
	EXPECT_EQ(s, NOBODY);
	EXPECT_EQ(got2, 0);
	EXPECT_EQ(e2, 0);
	EXPECT_EQ(s2, NOBODY);
}

TEST(setresgid_roundtrip_keeps_caps)
{
	struct caps a, b;
	unsigned r, e, s;
	ASSERT_OK(get_caps(&a));
	ASSERT_OK(syscall(SYS_setresgid, -1, NOBODY, -1));
	int eg = getegid(), fsg = setfsgid(-1);
	int got = ids(SYS_getresgid, &r, &e, &s);
	int capsgot = get_caps(&b);
	ASSERT_OK(syscall(SYS_setresgid, 0, 0, 0));
	EXPECT_EQ(eg, NOBODY);
	EXPECT_EQ(fsg, NOBODY);
	EXPECT_EQ(got, 0);
	EXPECT_EQ(r, 0);
	EXPECT_EQ(e, NOBODY);
	EXPECT_EQ(s, 0);
	ASSERT_OK(capsgot);
	EXPECT_EQ(b.eff, a.eff);
	EXPECT_EQ(getegid(), 0);
}

TEST(setregid_sets_saved)
{
	unsigned r, e, s;
	ASSERT_OK(syscall(SYS_setregid, 5, 6));
	int got = ids(SYS_getresgid, &r, &e, &s);
	ASSERT_OK(syscall(SYS_setresgid, 0, 0, 0));
	EXPECT_EQ(got, 0);
	EXPECT_EQ(r, 5);
	EXPECT_EQ(e, 6);
	EXPECT_EQ(s, 6);
}

TEST(setgroups_sorted_roundtrip)
{
	gid_t saved[64], in[4] = {5, 3, 1, 3}, out[8];
	int n = getgroups(64, saved);
	ASSERT_GE(n, 0);
	ASSERT_OK(setgroups(4, in));
	int m = getgroups(8, out);
	EXPECT_EQ(getgroups(0, NULL), 4);
	errno = 0;
	long small = getgroups(2, out + 4);
	int serr = errno;
	ASSERT_OK(setgroups(n, saved));
	ASSERT_EQ(m, 4);
	EXPECT_EQ(out[0], 1);
	EXPECT_EQ(out[1], 3);
	EXPECT_EQ(out[2], 3);
	EXPECT_EQ(out[3], 5);
	EXPECT_EQ(small, -1);
	EXPECT_EQ(serr, EINVAL);
	EXPECT_EQ(getgroups(0, NULL), n);
}

TEST(setgroups_limits)
{
	EXPECT_ERRNO(syscall(SYS_setgroups, 65537, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setgroups, -1, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_setgroups, 2, (void *)1), EFAULT);
	gid_t bad[2] = {1, (gid_t)-1};
	EXPECT_ERRNO(syscall(SYS_setgroups, 2, bad), EINVAL);
}

TEST(capget_version_probe)
{
	struct __user_cap_header_struct h = {0, 0};
	struct __user_cap_data_struct d[2];

	/* NULL data with an unknown version: success, preferred version. */
	EXPECT_EQ(syscall(SYS_capget, &h, NULL), 0);
	EXPECT_EQ(h.version, _LINUX_CAPABILITY_VERSION_3);
	h.version = 0x1234;
	EXPECT_ERRNO(syscall(SYS_capget, &h, d), EINVAL);
	EXPECT_EQ(h.version, _LINUX_CAPABILITY_VERSION_3);
	h.version = 0x1234;
	EXPECT_ERRNO(syscall(SYS_capset, &h, d), EINVAL);
	EXPECT_EQ(h.version, _LINUX_CAPABILITY_VERSION_3);
	h.version = _LINUX_CAPABILITY_VERSION_3;
	EXPECT_EQ(syscall(SYS_capget, &h, NULL), 0);
	EXPECT_ERRNO(syscall(SYS_capget, NULL, d), EFAULT);
}

TEST(capget_v1_v2_v3_layouts)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d1[2], d3[2], d2[2];

	memset(d1, 0xa5, sizeof(d1));
	memset(d2, 0xa5, sizeof(d2));
	memset(d3, 0xa5, sizeof(d3));
	h.version = _LINUX_CAPABILITY_VERSION_1;
	h.pid = 0;
	ASSERT_OK(syscall(SYS_capget, &h, d1));
	h.version = _LINUX_CAPABILITY_VERSION_2;
	ASSERT_OK(syscall(SYS_capget, &h, d2));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = syscall(SYS_gettid);
	ASSERT_OK(syscall(SYS_capget, &h, d3));
	EXPECT_EQ(d1[0].effective, d3[0].effective);
	EXPECT_EQ(d1[0].permitted, d3[0].permitted);
	EXPECT_EQ(d1[0].inheritable, d3[0].inheritable);
	/* Version 1 writes one struct only. */
	EXPECT_EQ(d1[1].effective, 0xa5a5a5a5);
	EXPECT_MEMEQ(d2, d3, sizeof(d2));
	/* Nothing past the last capability. */
	EXPECT_EQ(d3[1].permitted >> (CAP_LAST_CAP - 31), 0);
}

TEST(capget_bad_pid)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, -1};
	struct __user_cap_data_struct d[2];
	EXPECT_ERRNO(syscall(SYS_capget, &h, d), EINVAL);
	h.pid = 0;
	EXPECT_ERRNO(syscall(SYS_capget, &h, (void *)1), EFAULT);
}

TEST(capget_other_process)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* Drop to nobody (all capabilities go), then wait. */
		if (syscall(SYS_setresuid, NOBODY, NOBODY, NOBODY) != 0)
			_exit(1);
		for (;;)
			pause();
	}
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, pid};
	struct __user_cap_data_struct d[2];
	/* Retry until the child has dropped its capabilities. */
	for (int i = 0; i < 100000; i++) {
		memset(d, 0xff, sizeof(d));
		ASSERT_OK(syscall(SYS_capget, &h, d));
		if (d[0].permitted == 0)
			break;
		sched_yield();
	}
	EXPECT_EQ(d[0].effective, 0);
	EXPECT_EQ(d[0].permitted, 0);
	EXPECT_EQ(d[1].permitted, 0);
	h.pid = 0x3ffffff0;
	EXPECT_ERRNO(syscall(SYS_capget, &h, d), ESRCH);
}

TEST(capset_effective_roundtrip)
{
	struct caps a, b, c, want;
	ASSERT_OK(get_caps(&a));
	want = a;
	want.eff &= ~BIT(CAP_CHOWN);
	ASSERT_OK(set_caps(&want));
	int got = get_caps(&b);
	/* Permitted is untouched, so the effective bit can come back. */
	ASSERT_OK(set_caps(&a));
	EXPECT_EQ(got, 0);
	EXPECT_EQ(b.eff, a.eff & ~BIT(CAP_CHOWN));
	EXPECT_EQ(b.perm, a.perm);
	ASSERT_OK(get_caps(&c));
	EXPECT_EQ(c.eff, a.eff);
}

TEST(capset_rules)
{
	struct caps a, x;
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	ASSERT_OK(get_caps(&a));
	/* Effective must be a subset of the new permitted set. */
	x = a;
	x.perm &= ~BIT(CAP_KILL);
	x.eff |= BIT(CAP_KILL);
	EXPECT_ERRNO(set_caps(&x), EPERM);
	/* Only the caller's own sets. */
	h.pid = getpid() + 1;
	memset(d, 0, sizeof(d));
	EXPECT_ERRNO(syscall(SYS_capset, &h, d), EPERM);
	h.pid = 0;
	EXPECT_ERRNO(syscall(SYS_capset, &h, (void *)1), EFAULT);
	ASSERT_OK(get_caps(&x));
	EXPECT_EQ(x.eff, a.eff);
	EXPECT_EQ(x.perm, a.perm);
}

/* Cases below give up root for good: they run in a child. */

TEST(setuid_drops_all_caps_in_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct caps c;
		unsigned r, e, s;
		ASSERT_OK(syscall(SYS_setgid, NOBODY));
		ASSERT_OK(syscall(SYS_setuid, NOBODY));
		ASSERT_OK(ids(SYS_getresuid, &r, &e, &s));
		ASSERT_EQ(r, NOBODY);
		ASSERT_EQ(e, NOBODY);
		ASSERT_EQ(s, NOBODY);
		ASSERT_EQ(setfsuid(-1), NOBODY);
		ASSERT_OK(get_caps(&c));
		ASSERT_EQ(c.eff, 0);
		ASSERT_EQ(c.perm, 0);
		ASSERT_ERRNO(syscall(SYS_setuid, 0), EPERM);
		ASSERT_ERRNO(syscall(SYS_setresuid, -1, 0, -1), EPERM);
		ASSERT_ERRNO(syscall(SYS_setgid, 0), EPERM);
		/* setfsuid to a foreign ID is ignored, not an error. */
		ASSERT_EQ(setfsuid(0), NOBODY);
		ASSERT_EQ(setfsuid(-1), NOBODY);
		/* No privilege: setgroups is EPERM whatever the size. */
		ASSERT_ERRNO(syscall(SYS_setgroups, 0, NULL), EPERM);
		ASSERT_ERRNO(syscall(SYS_setgroups, 70000, NULL), EPERM);
		/* Permitted cannot grow again. */
		c.perm = c.eff = BIT(CAP_KILL);
		ASSERT_ERRNO(set_caps(&c), EPERM);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(keepcaps_keeps_permitted_in_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct caps a, c;
		ASSERT_OK(get_caps(&a));
		ASSERT_OK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
		ASSERT_OK(syscall(SYS_setresuid, 1000, 1000, 1000));
		ASSERT_OK(get_caps(&c));
		ASSERT_EQ(c.eff, 0);
		ASSERT_EQ(c.perm, a.perm);
		/* Permitted capabilities may be made effective again. */
		c.eff = BIT(CAP_SETUID);
		ASSERT_OK(set_caps(&c));
		ASSERT_OK(syscall(SYS_setresuid, 0, 0, 0));
		ASSERT_EQ(geteuid(), 0);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(unprivileged_setreuid_rules_in_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		unsigned r, e, s;
		ASSERT_OK(syscall(SYS_setresuid, 1000, 2000, 3000));
		/* The real ID may become the effective one, not the saved. */
		ASSERT_ERRNO(syscall(SYS_setreuid, 3000, -1), EPERM);
		ASSERT_ERRNO(syscall(SYS_setreuid, -1, 4000), EPERM);
		/* Effective to the saved ID: saved follows (not the real ID). */
		ASSERT_OK(syscall(SYS_setreuid, -1, 3000));
		ASSERT_OK(ids(SYS_getresuid, &r, &e, &s));
		ASSERT_EQ(r, 1000);
		ASSERT_EQ(e, 3000);
		ASSERT_EQ(s, 3000);
		/* Effective to the real ID: saved stays. */
		ASSERT_OK(syscall(SYS_setreuid, -1, 1000));
		ASSERT_OK(ids(SYS_getresuid, &r, &e, &s));
		ASSERT_EQ(e, 1000);
		ASSERT_EQ(s, 3000);
		/* setuid to the saved ID changes only effective and fs. */
		ASSERT_OK(syscall(SYS_setuid, 3000));
		ASSERT_OK(ids(SYS_getresuid, &r, &e, &s));
		ASSERT_EQ(r, 1000);
		ASSERT_EQ(e, 3000);
		ASSERT_EQ(s, 3000);
		ASSERT_EQ(setfsuid(-1), 3000);
		/* setresuid permutes the three IDs freely. */
		ASSERT_OK(syscall(SYS_setresuid, 3000, 1000, 3000));
		ASSERT_ERRNO(syscall(SYS_setresuid, -1, -1, 2000), EPERM);
		/* setfsuid to one of them works. */
		ASSERT_EQ(setfsuid(3000), 1000);
		ASSERT_EQ(setfsuid(-1), 3000);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(unprivileged_setregid_rules_in_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		unsigned r, e, s;
		ASSERT_OK(syscall(SYS_setresgid, 100, 200, 300));
		ASSERT_OK(syscall(SYS_setresuid, 1000, 1000, 1000));
		ASSERT_ERRNO(syscall(SYS_setregid, 300, -1), EPERM);
		ASSERT_ERRNO(syscall(SYS_setgid, 200), EPERM);
		ASSERT_OK(syscall(SYS_setgid, 300));
		ASSERT_OK(ids(SYS_getresgid, &r, &e, &s));
		ASSERT_EQ(r, 100);
		ASSERT_EQ(e, 300);
		ASSERT_EQ(s, 300);
		ASSERT_OK(syscall(SYS_setregid, 300, 100));
		ASSERT_OK(ids(SYS_getresgid, &r, &e, &s));
		ASSERT_EQ(r, 300);
		ASSERT_EQ(e, 100);
		ASSERT_EQ(s, 100);
		ASSERT_EQ(setfsgid(5), 100);
		ASSERT_EQ(setfsgid(-1), 100);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

static volatile int thread_go, thread_euid = -1;

static void *report_euid(void *arg)
{
	(void)arg;
	while (!thread_go)
		sched_yield();
	thread_euid = syscall(SYS_geteuid);
	return NULL;
}

TEST(glibc_setresuid_applies_to_all_threads_in_child)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		pthread_t th;
		ASSERT_EQ(pthread_create(&th, NULL, report_euid, NULL), 0);
		/* glibc signals every thread to make the same call. */
		ASSERT_OK(setresuid(-1, NOBODY, -1));
		thread_go = 1;
		ASSERT_EQ(pthread_join(th, NULL), 0);
		ASSERT_EQ(thread_euid, NOBODY);
		ASSERT_EQ(syscall(SYS_geteuid), NOBODY);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}
