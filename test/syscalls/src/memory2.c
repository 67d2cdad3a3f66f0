/*
 * memory2.c: fork and memory (copy-on-write, shared anonymous memory),
 * mremap, madvise, mincore, msync, mlock, MAP_NORESERVE/POPULATE/GROWSDOWN,
 * /dev/zero mappings.
 */
#define AREA "memory2"
#include "../harness.h"

#include <sys/mman.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

static long pg;

__attribute__((constructor(101))) static void init_pg(void)
{
	pg = sysconf(_SC_PAGESIZE);
}

static sigjmp_buf fault_jmp;
static volatile int fault_sig;

static void fault_handler(int sig)
{
	fault_sig = sig;
	siglongjmp(fault_jmp, 1);
}

/* probe touches ADDR (writing when WRITE) and returns the signal raised, or 0. */
static int probe(void *addr, int write)
{
	struct sigaction sa, o1, o2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fault_handler;
	sa.sa_flags = SA_NODEFER;
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

static char *map(size_t len, int prot, int flags)
{
	char *p = mmap(NULL, len, prot, flags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		h_fail(1, __FILE__, __LINE__, "mmap: %s", strerror(errno));
	return p;
}

/* Pipe pairs for stepping a parent and a child in lock step. */
static int to_child[2], to_parent[2];

static void sync_init(void)
{
	if (pipe(to_child) || pipe(to_parent))
		h_fail(1, __FILE__, __LINE__, "pipe: %s", strerror(errno));
}

static void tell(int fd)
{
	if (write(fd, "x", 1) != 1)
		h_fail(1, __FILE__, __LINE__, "sync write: %s", strerror(errno));
}

static void await(int fd)
{
	char c;
	if (read(fd, &c, 1) != 1)
		h_fail(1, __FILE__, __LINE__, "sync read: %s", strerror(errno));
}

TEST(fork_cow_isolated_both_directions)
{
	char *p = map(4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	strcpy(p, "orig");
	strcpy(p + 3 * pg, "far");
	sync_init();
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		await(to_child[0]); /* the parent has written */
		EXPECT_STREQ(p, "orig");
		strcpy(p + 3 * pg, "kid");
		p[pg] = 'k'; /* first touch after fork */
		tell(to_parent[1]);
		await(to_child[0]);
		EXPECT_STREQ(p + 3 * pg, "kid");
		_exit(0);
	}
	strcpy(p, "PARENT");
	tell(to_child[1]);
	await(to_parent[0]);
	EXPECT_STREQ(p + 3 * pg, "far");
	EXPECT_EQ(p[pg], 0);
	strcpy(p + 3 * pg, "par");
	tell(to_child[1]);
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_STREQ(p, "PARENT");
	munmap(p, 4 * pg);
}

TEST(fork_cow_kernel_write_into_shared_page)
{
	/* read(2) into a copy-on-write page must not reach the other side. */
	char *p = map(pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	int fds[2];
	strcpy(p, "before");
	ASSERT_OK(pipe(fds));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (read(fds[0], p, 6) != 6)
			_exit(2);
		_exit(memcmp(p, "child!", 6) == 0 ? 0 : 3);
	}
	EXPECT_EQ(write(fds[1], "child!", 6), 6);
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_STREQ(p, "before");
	/* And in the parent: the child is gone, the page is ours again. */
	EXPECT_EQ(write(fds[1], "parent", 6), 6);
	EXPECT_EQ(read(fds[0], p, 6), 6);
	EXPECT_EQ(memcmp(p, "parent", 6), 0);
	close(fds[0]);
	close(fds[1]);
	munmap(p, pg);
}

TEST(fork_cow_readonly_then_mprotect)
{
	char *p = map(pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	p[0] = 'a';
	ASSERT_OK(mprotect(p, pg, PROT_READ));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (mprotect(p, pg, PROT_READ | PROT_WRITE))
			_exit(2);
		p[0] = 'b';
		_exit(p[0] == 'b' ? 0 : 3);
	}
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_EQ(p[0], 'a');
	munmap(p, pg);
}

TEST(fork_shared_anon_first_touch_after_fork)
{
	char *p = map(4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED);
	sync_init();
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		strcpy(p + 2 * pg, "child page");
		tell(to_parent[1]);
		await(to_child[0]);
		EXPECT_STREQ(p + 3 * pg, "parent page");
		_exit(0);
	}
	await(to_parent[0]);
	EXPECT_STREQ(p + 2 * pg, "child page");
	strcpy(p + 3 * pg, "parent page");
	tell(to_child[1]);
	EXPECT_EQ(h_wait(pid), 0);
	munmap(p, 4 * pg);
}

TEST(fork_shared_dev_zero_visible)
{
	int fd = open("/dev/zero", O_RDWR);
	ASSERT_GE(fd, 0);
	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_EQ(p[100], 0);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		strcpy(p, "zero shared");
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_STREQ(p, "zero shared");
	munmap(p, pg);
}

TEST(dev_zero_private_is_anonymous)
{
	int fd = open("/dev/zero", O_RDONLY);
	ASSERT_GE(fd, 0);
	char *a = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char *b = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	ASSERT_TRUE(a != MAP_FAILED && b != MAP_FAILED);
	a[0] = 'x';
	EXPECT_EQ(b[0], 0);
	EXPECT_EQ(a[2 * pg - 1], 0);
	munmap(a, 2 * pg);
	munmap(b, 2 * pg);
}

TEST(madvise_wipeonfork_child_sees_zero)
{
	char *p = map(pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	strcpy(p, "secret");
	ASSERT_OK(madvise(p, pg, MADV_WIPEONFORK));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(p[0] == 0 ? 0 : 1);
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_STREQ(p, "secret");
	/* Only private anonymous memory may be wiped. */
	char *s = map(pg, PROT_READ | PROT_WRITE, MAP_SHARED);
	EXPECT_ERRNO(madvise(s, pg, MADV_WIPEONFORK), EINVAL);
	munmap(s, pg);
	munmap(p, pg);
}

TEST(madvise_dontneed_in_child_leaves_parent)
{
	char *p = map(pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	strcpy(p, "keep");
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (madvise(p, pg, MADV_DONTNEED))
			_exit(2);
		_exit(p[0] == 0 ? 0 : 1);
	}
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_STREQ(p, "keep");
	munmap(p, pg);
}

TEST(noreserve_100g_mapping)
{
	size_t len = (size_t)100 << 30;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	p[0] = 1;
	p[len / 2] = 2;
	p[len - 1] = 3;
	EXPECT_EQ(p[len / 2], 2);
	EXPECT_EQ(p[len / 2 + 1], 0);
	unsigned char vec[4];
	ASSERT_OK(mincore(p + len / 2 + 16 * pg, 4 * pg, vec));
	EXPECT_EQ(vec[3] & 1, 0);
	EXPECT_OK(munmap(p, len));
}

TEST(mremap_grow_in_place_and_move_keep_pages)
{
	char *r = map(16 * pg, PROT_NONE, MAP_PRIVATE);
	ASSERT_OK(munmap(r + 2 * pg, 14 * pg));
	char *p = mremap(r, 2 * pg, 2 * pg, 0);
	ASSERT_TRUE(p == r);
	ASSERT_OK(mprotect(p, 2 * pg, PROT_READ | PROT_WRITE));
	memset(p, 'g', 2 * pg);
	char *q = mremap(p, 2 * pg, 6 * pg, 0); /* room after it */
	ASSERT_TRUE(q == p);
	EXPECT_EQ(q[2 * pg - 1], 'g');
	EXPECT_EQ(q[6 * pg - 1], 0);
	/* Now block growth and force a move. */
	char *b = mmap(q + 6 * pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_TRUE(b == q + 6 * pg);
	char *m = mremap(q, 6 * pg, 64 * pg, MREMAP_MAYMOVE);
	ASSERT_TRUE(m != MAP_FAILED);
	EXPECT_TRUE(m != q);
	EXPECT_EQ(m[0], 'g');
	EXPECT_EQ(m[2 * pg - 1], 'g');
	EXPECT_EQ(m[64 * pg - 1], 0);
	EXPECT_EQ(probe(q, 0), SIGSEGV);
	munmap(m, 64 * pg);
	munmap(b, pg);
}

TEST(mremap_dontunmap_leaves_empty_source)
{
	char *p = map(2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	memset(p, 'd', 2 * pg);
	/* Through syscall: glibc passes the fifth argument only with MREMAP_FIXED. */
	char *q = (char *)syscall(SYS_mremap, p, 2 * pg, 2 * pg,
				  MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
	ASSERT_TRUE(q != MAP_FAILED);
	EXPECT_TRUE(q != p);
	EXPECT_EQ(q[0], 'd');
	EXPECT_EQ(q[2 * pg - 1], 'd');
	EXPECT_EQ(probe(p, 0), 0);
	EXPECT_EQ(p[0], 0);
	/* DONTUNMAP cannot resize. */
	EXPECT_ERRNO(syscall(SYS_mremap, q, 2 * pg, 3 * pg,
			     MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0), EINVAL);
	/* Even a hint must be page aligned. */
	EXPECT_ERRNO(syscall(SYS_mremap, q, 2 * pg, 2 * pg,
			     MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 1), EINVAL);
	munmap(p, 2 * pg);
	munmap(q, 2 * pg);
}

TEST(mremap_shared_duplicate_aliases)
{
	char *p = map(pg, PROT_READ | PROT_WRITE, MAP_SHARED);
	char *q = mremap(p, 0, pg, MREMAP_MAYMOVE);
	ASSERT_TRUE(q != MAP_FAILED);
	EXPECT_TRUE(q != p);
	strcpy(q, "alias");
	EXPECT_STREQ(p, "alias");
	munmap(q, pg);
	munmap(p, pg);
	/* A private mapping cannot be duplicated. */
	char *r = map(pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	EXPECT_ERRNO(mremap(r, 0, pg, MREMAP_MAYMOVE), EINVAL);
	munmap(r, pg);
}

TEST(mremap_errors)
{
	char *p = map(2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	ASSERT_OK(munmap(p + pg, pg));
	/* Old range crossing the end of the mapping. */
	EXPECT_ERRNO(mremap(p, 2 * pg, 4 * pg, MREMAP_MAYMOVE), EFAULT);
	/* Unmapped old address. */
	EXPECT_ERRNO(mremap(p + pg, pg, 2 * pg, MREMAP_MAYMOVE), EFAULT);
	/* Overlapping MREMAP_FIXED target. */
	EXPECT_ERRNO(mremap(p, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, p), EINVAL);
	EXPECT_ERRNO(mremap(p, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, p + 1), EINVAL);
	munmap(p, pg);
}

TEST(madvise_free_and_hints)
{
	char *p = map(5 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	ASSERT_OK(munmap(p + 4 * pg, pg)); /* a hole after it */
	memset(p, 1, 4 * pg);
	EXPECT_OK(madvise(p, 4 * pg, MADV_NORMAL));
	EXPECT_OK(madvise(p, 4 * pg, MADV_RANDOM));
	EXPECT_OK(madvise(p, 4 * pg, MADV_SEQUENTIAL));
	EXPECT_OK(madvise(p, 4 * pg, MADV_WILLNEED));
	EXPECT_OK(madvise(p, 4 * pg, MADV_DODUMP));
	EXPECT_OK(madvise(p, pg, MADV_FREE));
	/* After MADV_FREE the page holds either the old data or zeroes. */
	EXPECT_TRUE(p[0] == 0 || p[0] == 1);
	EXPECT_EQ(p[pg], 1);
	char *s = map(pg, PROT_READ | PROT_WRITE, MAP_SHARED);
	EXPECT_ERRNO(madvise(s, pg, MADV_FREE), EINVAL);
	munmap(s, pg);
	EXPECT_ERRNO(madvise(p, 5 * pg, MADV_WILLNEED), ENOMEM);
	EXPECT_OK(madvise(p, 0, MADV_DONTNEED));
	munmap(p, 4 * pg);
}

TEST(madvise_dontneed_then_mincore)
{
	unsigned char vec[3];
	char *p = map(3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	memset(p, 7, 3 * pg);
	ASSERT_OK(mincore(p, 3 * pg, vec));
	EXPECT_EQ(vec[0] & 1, 1);
	EXPECT_EQ(vec[2] & 1, 1);
	ASSERT_OK(madvise(p + pg, pg, MADV_DONTNEED));
	ASSERT_OK(mincore(p, 3 * pg, vec));
	EXPECT_EQ(vec[0] & 1, 1);
	EXPECT_EQ(vec[1] & 1, 0);
	EXPECT_EQ(vec[2] & 1, 1);
	EXPECT_EQ(p[pg], 0);
	EXPECT_EQ(p[2 * pg], 7);
	munmap(p, 3 * pg);
}

TEST(mincore_errors)
{
	unsigned char vec[3];
	char *p = map(3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	ASSERT_OK(munmap(p + 2 * pg, pg)); /* a hole after it */
	EXPECT_ERRNO(mincore(p, 2 * pg, (unsigned char *)8), EFAULT);
	EXPECT_OK(mincore(p, 0, vec));
	/* A partial page counts as a page. */
	EXPECT_OK(mincore(p, pg + 1, vec));
	EXPECT_ERRNO(mincore(p, 3 * pg, vec), ENOMEM);
	EXPECT_ERRNO(mincore((void *)-4096L, pg, vec), ENOMEM);
	munmap(p, 2 * pg);
}

TEST(mlock2_and_mlockall)
{
	char *p = map(4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	unsigned char vec[4];
	EXPECT_ERRNO(syscall(SYS_mlock2, p, pg, 0x10), EINVAL);
	EXPECT_OK(syscall(SYS_mlock2, p, pg, MLOCK_ONFAULT));
	EXPECT_OK(syscall(SYS_mlock2, p + pg, pg, 0));
	/* Plain mlock faults the pages in. */
	ASSERT_OK(mincore(p, 4 * pg, vec));
	EXPECT_EQ(vec[1] & 1, 1);
	EXPECT_OK(munlock(p, 4 * pg));
	/* DONTNEED refuses locked memory. */
	EXPECT_OK(mlock(p + 3 * pg, pg));
	EXPECT_ERRNO(madvise(p + 3 * pg, pg, MADV_DONTNEED), EINVAL);
	EXPECT_OK(munlock(p + 3 * pg, pg));
	EXPECT_OK(madvise(p + 3 * pg, pg, MADV_DONTNEED));
	EXPECT_ERRNO(mlockall(MCL_ONFAULT), EINVAL);
	EXPECT_OK(mlockall(MCL_FUTURE));
	EXPECT_OK(munlockall());
	munmap(p, 4 * pg);
}

TEST(msync_anonymous_and_holes)
{
	char *p = map(2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	EXPECT_OK(msync(p, 2 * pg, MS_SYNC));
	EXPECT_OK(msync(p, 2 * pg, MS_ASYNC | MS_INVALIDATE));
	EXPECT_OK(msync(p, 0, MS_SYNC));
	ASSERT_OK(munmap(p + pg, pg));
	EXPECT_ERRNO(msync(p, 2 * pg, MS_SYNC), ENOMEM);
	munmap(p, pg);
}

TEST(map_populate_shared_and_locked)
{
	unsigned char vec[3];
	char *p = map(3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE);
	ASSERT_OK(mincore(p, 3 * pg, vec));
	EXPECT_EQ(vec[0] & vec[1] & vec[2] & 1, 1);
	munmap(p, 3 * pg);
	p = map(3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_LOCKED);
	ASSERT_OK(mincore(p, 3 * pg, vec));
	EXPECT_EQ(vec[0] & vec[1] & vec[2] & 1, 1);
	munmap(p, 3 * pg);
}

TEST(growsdown_guard_gap)
{
	size_t hole = 64 << 20;
	char *r = map(hole, PROT_NONE, MAP_PRIVATE);
	ASSERT_OK(munmap(r, hole));
	char *top = r + hole - pg;
	char *s = mmap(top, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
	ASSERT_TRUE(s == top);
	/* An accessible mapping 16 pages below blocks growth... */
	char *g = mmap(top - 17 * pg, pg, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_TRUE(g == top - 17 * pg);
	EXPECT_EQ(probe(top - 8, 1), SIGSEGV);
	/* ...an inaccessible one does not. */
	ASSERT_OK(mprotect(g, pg, PROT_NONE));
	EXPECT_EQ(probe(top - 8, 1), 0);
	EXPECT_EQ(probe(top - 4 * pg, 1), 0);
	munmap(r, hole);
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

TEST(shared_file_msync_and_munmap_write_back)
{
	char buf[8] = {0};
	int fd = file_of("f", 2 * pg);
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	EXPECT_EQ(p[1], 'b');
	memcpy(p + 10, "msync", 5);
	ASSERT_OK(msync(p, 2 * pg, MS_SYNC));
	EXPECT_EQ(pread(fd, buf, 5, 10), 5);
	EXPECT_STREQ(buf, "msync");
	memcpy(p + pg + 20, "unmap", 5);
	ASSERT_OK(munmap(p, 2 * pg));
	EXPECT_EQ(pread(fd, buf, 5, pg + 20), 5);
	EXPECT_STREQ(buf, "unmap");
	/* Untouched bytes are unchanged. */
	EXPECT_EQ(pread(fd, buf, 1, pg + 19), 1);
	EXPECT_EQ(buf[0], 'a' + (pg + 19) % 26);
}

TEST(shared_file_mappings_alias)
{
	int fd = file_of("f", pg);
	int fd2 = open(h_path("f"), O_RDWR);
	ASSERT_GE(fd2, 0);
	char *a = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *b = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd2, 0);
	ASSERT_TRUE(a != MAP_FAILED && b != MAP_FAILED);
	EXPECT_EQ(b[0], 'a');
	a[0] = 'Q';
	EXPECT_EQ(b[0], 'Q');
	munmap(a, pg);
	munmap(b, pg);
	close(fd2);
}

TEST(shared_file_child_writes_reach_parent_and_file)
{
	char c = 0;
	int fd = file_of("f", pg);
	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		p[100] = '#';
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_EQ(p[100], '#');
	ASSERT_OK(msync(p, pg, MS_SYNC));
	EXPECT_EQ(pread(fd, &c, 1, 100), 1);
	EXPECT_EQ(c, '#');
	munmap(p, pg);
}

TEST(shared_file_never_grows_file)
{
	struct stat st;
	int fd = file_of("f", 10);
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	p[5] = 'X';
	p[pg - 1] = 'Y'; /* past EOF, inside the last page */
	EXPECT_EQ(probe(p + pg, 1), SIGBUS);
	ASSERT_OK(msync(p, pg, MS_SYNC));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_size, 10);
	munmap(p, 2 * pg);
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_size, 10);
}

TEST(shared_file_mprotect_write_needs_writable_fd)
{
	close(file_of("f", pg));
	int ro = open(h_path("f"), O_RDONLY);
	int rw = open(h_path("f"), O_RDWR);
	ASSERT_GE(ro, 0);
	ASSERT_GE(rw, 0);
	char *a = mmap(NULL, pg, PROT_READ, MAP_SHARED, ro, 0);
	char *b = mmap(NULL, pg, PROT_READ, MAP_SHARED, rw, 0);
	ASSERT_TRUE(a != MAP_FAILED && b != MAP_FAILED);
	EXPECT_ERRNO(mprotect(a, pg, PROT_READ | PROT_WRITE), EACCES);
	EXPECT_OK(mprotect(b, pg, PROT_READ | PROT_WRITE));
	b[0] = 'w';
	EXPECT_EQ(a[0], 'w');
	munmap(a, pg);
	munmap(b, pg);
	close(ro);
	close(rw);
}
