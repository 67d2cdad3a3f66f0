/* memory.c: mmap, munmap, mprotect, mremap, madvise, mincore, brk, locks. */
#define AREA "memory"
#include "../harness.h"

#include <sys/mman.h>
#include <sys/resource.h>

static long pg;
static sigjmp_buf fault_jmp;
static volatile int fault_sig, fault_code;
static void *volatile fault_addr;

__attribute__((constructor(101))) static void init_pg(void)
{
	pg = sysconf(_SC_PAGESIZE);
}

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_sig = sig;
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	siglongjmp(fault_jmp, 1);
}

/*
 * probe touches ADDR (writing when WRITE) and returns the signal it raised,
 * or 0. The fault's si_code and si_addr are left in fault_code/fault_addr.
 */
static int probe(void *addr, int write)
{
	struct sigaction sa, o1, o2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, &o1);
	sigaction(SIGBUS, &sa, &o2);
	fault_sig = 0;
	if (sigsetjmp(fault_jmp, 1) == 0) {
		if (write)
			*(volatile char *)addr = 1;
		else
			(void)*(volatile char *)addr;
	}
	sigaction(SIGSEGV, &o1, NULL);
	sigaction(SIGBUS, &o2, NULL);
	return fault_sig;
}

static char *anon(size_t len, int prot)
{
	char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		h_fail(1, __FILE__, __LINE__, "mmap: %s", strerror(errno));
	return p;
}

/* file_of makes a file of LEN bytes, byte i = 'a' + i % 26. */
static int file_of(const char *name, size_t len)
{
	int fd = open(h_path(name), O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		h_fail(1, __FILE__, __LINE__, "open: %s", strerror(errno));
	char *b = malloc(len);
	for (size_t i = 0; i < len; i++)
		b[i] = 'a' + i % 26;
	if (write(fd, b, len) != (ssize_t)len)
		h_fail(1, __FILE__, __LINE__, "write: %s", strerror(errno));
	free(b);
	return fd;
}

TEST(mmap_anonymous_is_zeroed_and_writable)
{
	char *p = anon(3 * pg, PROT_READ | PROT_WRITE);
	EXPECT_EQ((uintptr_t)p % pg, 0);
	for (long i = 0; i < 3 * pg; i += 512)
		EXPECT_EQ(p[i], 0);
	memset(p, 0x5a, 3 * pg);
	EXPECT_EQ(p[3 * pg - 1], 0x5a);
	EXPECT_OK(munmap(p, 3 * pg));
}

TEST(mmap_zero_length_einval)
{
	EXPECT_ERRNO(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		     EINVAL);
}

TEST(mmap_needs_private_or_shared)
{
	EXPECT_ERRNO(mmap(NULL, pg, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
	EXPECT_ERRNO(mmap(NULL, pg, PROT_READ,
			  MAP_ANONYMOUS | MAP_PRIVATE | MAP_SHARED, -1, 0),
		     EINVAL);
}

TEST(mmap_unaligned_offset_einval)
{
	int fd = file_of("f", 2 * pg);
	EXPECT_ERRNO(mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, 1), EINVAL);
}

TEST(mmap_bad_fd_ebadf)
{
	EXPECT_ERRNO(mmap(NULL, pg, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);
	EXPECT_ERRNO(mmap(NULL, pg, PROT_READ, MAP_PRIVATE, 999, 0), EBADF);
}

TEST(mmap_directory_enodev)
{
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, 0), ENODEV);
}

TEST(mmap_huge_length_enomem)
{
	EXPECT_ERRNO(mmap(NULL, 1UL << 60, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		     ENOMEM);
}

TEST(mmap_fixed_replaces_mapping)
{
	char *p = anon(2 * pg, PROT_READ | PROT_WRITE);
	memset(p, 7, 2 * pg);
	char *q = mmap(p + pg, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_TRUE(q == p + pg);
	EXPECT_EQ(p[0], 7);
	EXPECT_EQ(q[0], 0);
	munmap(p, 2 * pg);
}

TEST(mmap_fixed_noreplace_eexist)
{
	char *p = anon(2 * pg, PROT_READ);
	EXPECT_ERRNO(mmap(p + pg, pg, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
			  0),
		     EEXIST);
	munmap(p + pg, pg);
	char *q = mmap(p + pg, pg, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT_TRUE(q == p + pg);
	munmap(p, 2 * pg);
}

TEST(mmap_fixed_unaligned_einval)
{
	char *p = anon(2 * pg, PROT_READ);
	EXPECT_ERRNO(mmap(p + 1, pg, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		     EINVAL);
	munmap(p, 2 * pg);
}

TEST(munmap_then_access_faults)
{
	char *p = anon(pg, PROT_READ | PROT_WRITE);
	p[0] = 1;
	ASSERT_OK(munmap(p, pg));
	EXPECT_EQ(probe(p, 0), SIGSEGV);
	EXPECT_EQ(fault_code, SEGV_MAPERR);
	EXPECT_TRUE(fault_addr == p);
}

TEST(munmap_bad_args_einval)
{
	char *p = anon(pg, PROT_READ);
	EXPECT_ERRNO(munmap(p + 1, pg), EINVAL);
	EXPECT_ERRNO(munmap(p, 0), EINVAL);
	munmap(p, pg);
	/* Unmapping a hole is fine. */
	EXPECT_OK(munmap(p, pg));
}

TEST(munmap_middle_splits_mapping)
{
	char *p = anon(3 * pg, PROT_READ | PROT_WRITE);
	ASSERT_OK(munmap(p + pg, pg));
	EXPECT_EQ(probe(p, 1), 0);
	EXPECT_EQ(probe(p + 2 * pg, 1), 0);
	EXPECT_EQ(probe(p + pg, 0), SIGSEGV);
	munmap(p, 3 * pg);
}

TEST(mprotect_readonly_write_faults)
{
	char *p = anon(pg, PROT_READ | PROT_WRITE);
	p[0] = 3;
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	EXPECT_EQ(probe(p + 5, 0), 0);
	EXPECT_EQ(probe(p + 5, 1), SIGSEGV);
	EXPECT_EQ(fault_code, SEGV_ACCERR);
	EXPECT_TRUE(fault_addr == p + 5);
	ASSERT_OK(mprotect(p, pg, PROT_READ | PROT_WRITE));
	EXPECT_EQ(probe(p + 5, 1), 0);
	EXPECT_EQ(p[0], 3);
	munmap(p, pg);
}

TEST(mprotect_none_read_faults)
{
	char *p = anon(pg, PROT_READ | PROT_WRITE);
	ASSERT_OK(mprotect(p, pg, PROT_NONE));
	EXPECT_EQ(probe(p, 0), SIGSEGV);
	EXPECT_EQ(fault_code, SEGV_ACCERR);
	munmap(p, pg);
}

TEST(mprotect_errors)
{
	char *p = anon(pg, PROT_READ);
	EXPECT_ERRNO(mprotect(p + 1, pg, PROT_READ), EINVAL);
	EXPECT_ERRNO(mprotect(p, pg, 0x1000), EINVAL);
	munmap(p, pg);
	EXPECT_ERRNO(mprotect(p, pg, PROT_READ), ENOMEM);
}

TEST(mprotect_part_of_mapping)
{
	char *p = anon(3 * pg, PROT_READ | PROT_WRITE);
	ASSERT_OK(mprotect(p + pg, pg, PROT_READ));
	EXPECT_EQ(probe(p, 1), 0);
	EXPECT_EQ(probe(p + pg, 1), SIGSEGV);
	EXPECT_EQ(probe(p + 2 * pg, 1), 0);
	munmap(p, 3 * pg);
}

TEST(mremap_grow_preserves_content)
{
	char *p = anon(pg, PROT_READ | PROT_WRITE);
	memset(p, 9, pg);
	char *q = mremap(p, pg, 4 * pg, MREMAP_MAYMOVE);
	ASSERT_TRUE(q != MAP_FAILED);
	EXPECT_EQ(q[0], 9);
	EXPECT_EQ(q[pg - 1], 9);
	EXPECT_EQ(q[pg], 0);
	EXPECT_EQ(probe(q + 4 * pg - 1, 1), 0);
	munmap(q, 4 * pg);
}

TEST(mremap_shrink_unmaps_tail)
{
	char *p = anon(4 * pg, PROT_READ | PROT_WRITE);
	p[0] = 1;
	char *q = mremap(p, 4 * pg, pg, 0);
	ASSERT_TRUE(q == p);
	EXPECT_EQ(q[0], 1);
	EXPECT_EQ(probe(p + 2 * pg, 0), SIGSEGV);
	munmap(p, pg);
}

TEST(mremap_fixed_moves)
{
	char *p = anon(pg, PROT_READ | PROT_WRITE);
	char *dst = anon(2 * pg, PROT_NONE);
	unsigned char vec;
	strcpy(p, "moved");
	char *q = mremap(p, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst + pg);
	ASSERT_TRUE(q == dst + pg);
	EXPECT_STREQ(q, "moved");
	EXPECT_ERRNO(mincore(p, pg, &vec), ENOMEM);
	munmap(dst, 2 * pg);
}

TEST(mremap_grow_in_place_blocked_enomem)
{
	char *p = anon(2 * pg, PROT_READ | PROT_WRITE);
	ASSERT_OK(mprotect(p + pg, pg, PROT_READ)); /* a different VMA next */
	EXPECT_ERRNO(mremap(p, pg, 2 * pg, 0), ENOMEM);
	munmap(p, 2 * pg);
}

TEST(mremap_bad_args_einval)
{
	char *p = anon(pg, PROT_READ);
	EXPECT_ERRNO(mremap(p, pg, 2 * pg, 0x80), EINVAL);
	EXPECT_ERRNO(mremap(p + 1, pg, 2 * pg, MREMAP_MAYMOVE), EINVAL);
	EXPECT_ERRNO(mremap(p, pg, 0, MREMAP_MAYMOVE), EINVAL);
	/* MREMAP_FIXED requires MREMAP_MAYMOVE. */
	EXPECT_ERRNO(mremap(p, pg, pg, MREMAP_FIXED, p + 16 * pg), EINVAL);
	munmap(p, pg);
}

TEST(madvise_dontneed_zeroes_private_anon)
{
	char *p = anon(2 * pg, PROT_READ | PROT_WRITE);
	memset(p, 0x11, 2 * pg);
	ASSERT_OK(madvise(p, pg, MADV_DONTNEED));
	EXPECT_EQ(p[0], 0);
	EXPECT_EQ(p[pg - 1], 0);
	EXPECT_EQ(p[pg], 0x11);
	munmap(p, 2 * pg);
}

TEST(madvise_dontneed_keeps_shared_anon)
{
	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	memset(p, 0x22, pg);
	ASSERT_OK(madvise(p, pg, MADV_DONTNEED));
	EXPECT_EQ(p[0], 0x22);
	munmap(p, pg);
}

TEST(madvise_dontneed_private_file_rereads)
{
	int fd = file_of("f", pg);
	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	p[0] = 'Z';
	ASSERT_OK(madvise(p, pg, MADV_DONTNEED));
	EXPECT_EQ(p[0], 'a');
	munmap(p, pg);
}

TEST(madvise_errors)
{
	char *p = anon(pg, PROT_READ);
	EXPECT_ERRNO(madvise(p, pg, 12345), EINVAL);
	EXPECT_ERRNO(madvise(p + 1, pg, MADV_NORMAL), EINVAL);
	munmap(p, pg);
	EXPECT_ERRNO(madvise(p, pg, MADV_NORMAL), ENOMEM);
}

TEST(madvise_dontfork_hides_from_child)
{
	char *p = anon(pg, PROT_READ | PROT_WRITE);
	ASSERT_OK(madvise(p, pg, MADV_DONTFORK));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		(void)*(volatile char *)p;
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 1000 + SIGSEGV);
	munmap(p, pg);
}

TEST(mincore_reports_resident)
{
	unsigned char vec[2] = {0xff, 0xff};
	char *p = anon(2 * pg, PROT_READ | PROT_WRITE);
	p[0] = 1;
	ASSERT_OK(mincore(p, 2 * pg, vec));
	EXPECT_EQ(vec[0] & 1, 1);
	EXPECT_EQ(vec[1] & 1, 0);
	EXPECT_ERRNO(mincore(p + 1, pg, vec), EINVAL);
	munmap(p, 2 * pg);
	EXPECT_ERRNO(mincore(p, pg, vec), ENOMEM);
}

TEST(msync_flags)
{
	int fd = file_of("f", pg);
	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_OK(msync(p, pg, MS_SYNC));
	EXPECT_OK(msync(p, pg, MS_ASYNC));
	EXPECT_OK(msync(p, pg, MS_INVALIDATE));
	EXPECT_ERRNO(msync(p, pg, MS_SYNC | MS_ASYNC), EINVAL);
	EXPECT_ERRNO(msync(p + 1, pg, MS_SYNC), EINVAL);
	EXPECT_ERRNO(msync(p, pg, 0x100), EINVAL);
	munmap(p, pg);
	EXPECT_ERRNO(msync(p, pg, MS_SYNC), ENOMEM);
}

TEST(brk_grow_and_shrink)
{
	char *cur = (char *)syscall(SYS_brk, 0);
	ASSERT_TRUE(cur != NULL);
	char *want = cur + 4 * pg;
	char *got = (char *)syscall(SYS_brk, want);
	ASSERT_TRUE(got == want);
	/* The new heap is zeroed and writable up to the break. */
	EXPECT_EQ(probe(want - 1, 1), 0);
	EXPECT_EQ(want[-2], 0);
	got = (char *)syscall(SYS_brk, cur);
	EXPECT_TRUE(got == cur);
	EXPECT_TRUE((char *)syscall(SYS_brk, 0) == cur);
}

TEST(brk_below_start_unchanged)
{
	char *cur = (char *)syscall(SYS_brk, 0);
	char *got = (char *)syscall(SYS_brk, (void *)4096);
	EXPECT_TRUE(got == cur);
}

TEST(sbrk_increments)
{
	void *a = sbrk(0);
	ASSERT_TRUE(a != (void *)-1);
	void *b = sbrk(pg);
	EXPECT_TRUE(a == b);
	EXPECT_TRUE((char *)sbrk(0) == (char *)a + pg);
	sbrk(-pg);
	EXPECT_TRUE(sbrk(0) == a);
}

TEST(map_growsdown_extends_on_fault)
{
	/* Reserve a big hole so the stack guard gap is satisfied. */
	size_t hole = 64 << 20;
	char *r = anon(hole, PROT_NONE);
	ASSERT_OK(munmap(r, hole));
	char *top = r + hole - pg;
	char *p = mmap(top, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN,
		       -1, 0);
	ASSERT_TRUE(p == top);
	EXPECT_EQ(probe(p - 100, 1), 0);
	unsigned char vec;
	EXPECT_OK(mincore(p - pg, pg, &vec));
	munmap(p - 16 * pg, 17 * pg);
}

TEST(file_mapping_reads_content)
{
	int fd = file_of("f", 3 * pg);
	char *p = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, pg);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_EQ(p[0], 'a' + pg % 26);
	EXPECT_EQ(p[1], 'a' + (pg + 1) % 26);
	munmap(p, pg);
}

TEST(file_mapping_tail_zero_filled)
{
	int fd = file_of("f", 10);
	char *p = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_EQ(p[9], 'j');
	EXPECT_EQ(p[10], 0);
	EXPECT_EQ(p[pg - 1], 0);
	munmap(p, pg);
}

TEST(file_mapping_past_eof_sigbus)
{
	int fd = file_of("f", 10);
	char *p = mmap(NULL, 2 * pg, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_EQ(probe(p + pg, 0), SIGBUS);
	EXPECT_EQ(fault_code, BUS_ADRERR);
	munmap(p, 2 * pg);
}

TEST(shared_file_mapping_write_visible_to_read)
{
	char buf[8] = {0};
	int fd = file_of("f", pg);
	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	memcpy(p + 100, "shared", 6);
	EXPECT_EQ(pread(fd, buf, 6, 100), 6);
	EXPECT_STREQ(buf, "shared");
	/* And file writes show in the mapping. */
	EXPECT_EQ(pwrite(fd, "XY", 2, 0), 2);
	EXPECT_EQ(p[0], 'X');
	munmap(p, pg);
}

TEST(private_file_mapping_write_not_in_file)
{
	char c = 0;
	int fd = file_of("f", pg);
	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	p[0] = 'Q';
	EXPECT_EQ(pread(fd, &c, 1, 0), 1);
	EXPECT_EQ(c, 'a');
	munmap(p, pg);
}

TEST(mmap_readonly_fd_shared_write_eacces)
{
	close(file_of("f", pg));
	int ro = open(h_path("f"), O_RDONLY);
	ASSERT_GE(ro, 0);
	EXPECT_ERRNO(mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0),
		     EACCES);
	/* A private writable mapping of a read-only fd is fine. */
	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	EXPECT_TRUE(p != MAP_FAILED);
	munmap(p, pg);
}

TEST(mmap_writeonly_fd_eacces)
{
	close(file_of("f", pg));
	int wo = open(h_path("f"), O_WRONLY);
	ASSERT_GE(wo, 0);
	EXPECT_ERRNO(mmap(NULL, pg, PROT_READ, MAP_SHARED, wo, 0), EACCES);
}

TEST(fork_private_memory_copy_on_write)
{
	char *p = anon(pg, PROT_READ | PROT_WRITE);
	p[0] = 'P';
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (p[0] != 'P')
			_exit(1);
		p[0] = 'C';
		_exit(p[0] == 'C' ? 0 : 2);
	}
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_EQ(p[0], 'P');
	munmap(p, pg);
}

TEST(fork_shared_anon_visible)
{
	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		strcpy(p, "from child");
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_STREQ(p, "from child");
	munmap(p, pg);
}

static long vmlck_kb(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *l = strstr(buf, "VmLck:");
	return l ? strtol(l + 6, NULL, 10) : -1;
}

TEST(mlock_accounted_in_status)
{
	char *p = anon(4 * pg, PROT_READ | PROT_WRITE);
	long before = vmlck_kb();
	ASSERT_GE(before, 0);
	ASSERT_OK(mlock(p, 4 * pg));
	EXPECT_EQ(vmlck_kb(), before + 4 * pg / 1024);
	ASSERT_OK(munlock(p, 4 * pg));
	EXPECT_EQ(vmlck_kb(), before);
	munmap(p, 4 * pg);
}

TEST(mlock_unmapped_enomem)
{
	char *p = anon(pg, PROT_READ);
	munmap(p, pg);
	EXPECT_ERRNO(mlock(p, pg), ENOMEM);
}

TEST(mlockall_bad_flags_einval)
{
	EXPECT_ERRNO(mlockall(0), EINVAL);
	EXPECT_ERRNO(mlockall(0x100), EINVAL);
}

TEST(proc_self_maps_shows_mapping)
{
	char *p = anon(pg, PROT_READ);
	char want[64], buf[65536];
	snprintf(want, sizeof(want), "%lx-%lx r--p 00000000 00:00 0",
		 (unsigned long)p, (unsigned long)(p + pg));
	int fd = open("/proc/self/maps", O_RDONLY);
	ASSERT_GE(fd, 0);
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	EXPECT_TRUE(strstr(buf, want) != NULL);
	munmap(p, pg);
}

TEST(mmap_populate_and_noreserve)
{
	unsigned char vec[2];
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_OK(mincore(p, 2 * pg, vec));
	EXPECT_EQ(vec[0] & 1, 1);
	EXPECT_EQ(vec[1] & 1, 1);
	munmap(p, 2 * pg);
	p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	p[0] = 1;
	munmap(p, 2 * pg);
}

TEST(rlimit_as_bounds_mmap_brk_mremap)
{
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct rlimit r = {256 << 20, 256 << 20};
		if (setrlimit(RLIMIT_AS, &r) != 0)
			_exit(1);
		void *p = mmap(0, 512 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED || errno != ENOMEM)
			_exit(2);
		void *q = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q == MAP_FAILED)
			_exit(3);
		if (mremap(q, 1 << 20, 512 << 20, MREMAP_MAYMOVE) != MAP_FAILED || errno != ENOMEM)
			_exit(4);
		void *b = sbrk(0);
		if (sbrk(400 << 20) != (void *)-1 || errno != ENOMEM || sbrk(0) != b)
			_exit(5);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}
