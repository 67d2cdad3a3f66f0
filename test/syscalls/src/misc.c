/*
 * misc.c: small syscalls with no better home: getrandom, arch_prctl,
 * set_tid_address, unknown syscall numbers, raw identity and memory calls.
 * Most cases here use only the smallest part of the ABI, so they are the
 * first a young sandbox can pass.
 */
#define AREA "misc"
#include "../harness.h"

#include <asm/prctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>

static int all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

TEST(getrandom_fills_buffer)
{
	unsigned char a[64], b[64];
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	EXPECT_EQ(syscall(SYS_getrandom, a, sizeof(a), 0), 64);
	EXPECT_EQ(syscall(SYS_getrandom, b, sizeof(b), 0), 64);
	EXPECT_FALSE(all_zero(a, sizeof(a)));
	EXPECT_TRUE(memcmp(a, b, sizeof(a)) != 0);
}

TEST(getrandom_flags)
{
	unsigned char a[16];
	EXPECT_EQ(syscall(SYS_getrandom, a, sizeof(a), GRND_NONBLOCK), 16);
	EXPECT_GT(syscall(SYS_getrandom, a, sizeof(a), GRND_RANDOM), 0);
	EXPECT_ERRNO(syscall(SYS_getrandom, a, sizeof(a), 0x100), EINVAL);
	EXPECT_EQ(syscall(SYS_getrandom, a, 0, 0), 0);
}

TEST(getrandom_bad_buffer_efault)
{
	EXPECT_ERRNO(syscall(SYS_getrandom, (void *)1, 16, 0), EFAULT);
}

TEST(arch_prctl_get_fs_is_tls)
{
	unsigned long fs = 0, self = 0;
	ASSERT_OK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
	/* glibc keeps the thread pointer at %fs:0. */
	__asm__ volatile("mov %%fs:0, %0" : "=r"(self));
	EXPECT_NE(fs, 0);
	EXPECT_EQ(fs, self);
}

TEST(arch_prctl_gs_roundtrip)
{
	unsigned long old = 0, got = 0;
	static unsigned long area[4];
	ASSERT_OK(syscall(SYS_arch_prctl, ARCH_GET_GS, &old));
	ASSERT_OK(syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)area));
	ASSERT_OK(syscall(SYS_arch_prctl, ARCH_GET_GS, &got));
	EXPECT_EQ(got, (unsigned long)area);
	EXPECT_OK(syscall(SYS_arch_prctl, ARCH_SET_GS, old));
}

TEST(arch_prctl_errors)
{
	unsigned long v;
	EXPECT_ERRNO(syscall(SYS_arch_prctl, 0x9999, &v), EINVAL);
	EXPECT_ERRNO(syscall(SYS_arch_prctl, ARCH_GET_FS, (void *)1), EFAULT);
	/* A non-canonical base is refused. */
	EXPECT_ERRNO(syscall(SYS_arch_prctl, ARCH_SET_GS, 0x8000000000000000UL),
		     EPERM);
}

TEST(set_tid_address_returns_tid)
{
	static int word;
	EXPECT_EQ(syscall(SYS_set_tid_address, &word), syscall(SYS_gettid));
}

TEST(unknown_syscall_enosys)
{
	EXPECT_ERRNO(syscall(1000), ENOSYS);
	EXPECT_ERRNO(syscall(-1L), ENOSYS);
	EXPECT_ERRNO(syscall(100000), ENOSYS);
}

TEST(identity_raw_syscalls)
{
	long pid = syscall(SYS_getpid);
	EXPECT_GT(pid, 0);
	EXPECT_EQ(syscall(SYS_gettid), pid);
	long ppid = syscall(SYS_getppid);
	EXPECT_GE(ppid, 0);
	EXPECT_NE(ppid, pid);
}

TEST(uname_raw_syscall)
{
	struct utsname u;
	memset(&u, 0, sizeof(u));
	ASSERT_OK(syscall(SYS_uname, &u));
	EXPECT_STREQ(u.sysname, "Linux");
	EXPECT_STREQ(u.machine, "x86_64");
	EXPECT_GT(strlen(u.nodename), 0);
	EXPECT_LT(strlen(u.release), sizeof(u.release));
}

TEST(clock_gettime_raw_realtime)
{
	struct timespec ts;
	ASSERT_OK(syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts));
	EXPECT_GT(ts.tv_sec, 1500000000);
	EXPECT_LT(ts.tv_nsec, 1000000000);
	ASSERT_OK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));
	EXPECT_GE(ts.tv_sec, 0);
}

TEST(write_zero_bytes)
{
	EXPECT_EQ(syscall(SYS_write, 1, "", 0), 0);
	EXPECT_ERRNO(syscall(SYS_write, 0x3fff, "x", 1), EBADF);
	EXPECT_ERRNO(syscall(SYS_write, -1, "x", 1), EBADF);
}

TEST(raw_mmap_mprotect_munmap)
{
	char *p = (char *)syscall(SYS_mmap, NULL, 8192, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_EQ((unsigned long)p % 4096, 0);
	EXPECT_EQ(p[100], 0);
	p[100] = 5;
	EXPECT_OK(syscall(SYS_mprotect, p, 4096, PROT_READ));
	EXPECT_EQ(p[100], 5);
	EXPECT_OK(syscall(SYS_munmap, p, 8192));
	EXPECT_ERRNO(syscall(SYS_mprotect, p, 4096, PROT_READ), ENOMEM);
}

TEST(raw_mmap_errors)
{
	EXPECT_ERRNO(syscall(SYS_mmap, NULL, 0, PROT_READ,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		     EINVAL);
	EXPECT_ERRNO(syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1,
			     0),
		     EINVAL);
	EXPECT_ERRNO(syscall(SYS_munmap, (void *)1, 4096), EINVAL);
}

TEST(brk_raw_query)
{
	long cur = syscall(SYS_brk, 0);
	EXPECT_GT(cur, 0);
	EXPECT_EQ(syscall(SYS_brk, 0), cur);
}

TEST(exit_group_in_child_status)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		syscall(SYS_exit_group, 23);
	EXPECT_EQ(h_wait(pid), 23);
}
