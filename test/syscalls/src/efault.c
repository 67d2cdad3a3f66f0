/*
 * efault.c: bad user pointers. Every pointer argument of the syscalls the
 * Sentry implements (and a few it does not yet) is given three kinds of
 * bad pointer in turn:
 *
 *   NULL      where the call does not give NULL a meaning of its own;
 *   unmapped  a page that was mapped and then unmapped;
 *   kernel    0xffff800000000000, the first kernel-half address, which
 *             fails the kernel's access_ok() range check up front.
 *
 * Almost everywhere the answer is EFAULT. Where Linux answers otherwise
 * (a NULL with a meaning, a pointer only used lazily, a check that comes
 * before the copy, a side effect that happens before a failed copy-out)
 * the case asserts what Linux does and says why. The "partial" cases pin
 * down how much of a transfer that runs into unmapped memory counts.
 *
 * The calls under test go through syscall(2): glibc wrappers may touch a
 * pointer in user space (converting a struct, or using the vDSO) and
 * crash. Plain wrappers are used only for setup and checks, and for
 * readv/writev, which pass their arguments straight through.
 */
#define AREA "efault"
#include "../harness.h"

#include <linux/capability.h>
#include <linux/futex.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <asm/prctl.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#define PAGE 4096

enum { BAD_NULL, BAD_UNMAPPED, BAD_KERNEL, NBAD };

static const char *const bad_names[NBAD] = {"NULL", "unmapped", "kernel"};

static void *unmapped_addr;

/*
 * bad_ptr returns a bad pointer of kind k. The unmapped page is asked for
 * far from where mmap places mappings by default (the hint is free in a
 * fresh process), so a later mapping does not land on it.
 */
static void *bad_ptr(int k)
{
	switch (k) {
	case BAD_UNMAPPED:
		if (unmapped_addr == NULL) {
			void *p = mmap((void *)0x100000000000UL, PAGE, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				h_fail(1, __FILE__, __LINE__, "mmap: %s",
				       strerror(errno));
			munmap(p, PAGE);
			unmapped_addr = p;
		}
		return unmapped_addr;
	case BAD_KERNEL:
		return (void *)0xffff800000000000UL;
	default:
		return NULL;
	}
}

/*
 * CHECK_ONE(k, B, call, want, werr): with B the bad pointer of kind k, call
 * must return want, and when want is -1, set errno to werr. (Each public
 * macro stringifies call itself, before SYS_* names are expanded.)
 */
#define CHECK_ONE(k, B, call, want, werr) \
	CHECK_ONE_S(k, B, call, #call, want, werr)
#define CHECK_ONE_S(k, B, call, text, want, werr)                              \
	do {                                                                   \
		int ck_ = (k);                                                 \
		void *B = bad_ptr(ck_);                                        \
		(void)B;                                                       \
		long want_ = (long)(want);                                     \
		errno = 0;                                                     \
		long r_ = (long)(call);                                        \
		int e_ = errno;                                                \
		if (r_ != want_ || (want_ == -1 && e_ != (werr)))              \
			h_fail(0, __FILE__, __LINE__,                          \
			       "%s with %s %s: want %ld/%s, got %ld/%s",       \
			       text, #B, bad_names[ck_], want_,                \
			       want_ == -1 ? strerrorname_np(werr) : "-", r_,  \
			       r_ == -1 ? (strerrorname_np(e_) ?: "0") : "-"); \
	} while (0)

/* CHECK_BAD runs CHECK_ONE for the kinds from..to. */
#define CHECK_BAD(from, to, B, call, want, werr) \
	CHECK_BAD_S(from, to, B, call, #call, want, werr)
#define CHECK_BAD_S(from, to, B, call, text, want, werr) \
	for (int cb_ = (from); cb_ <= (to); cb_++)       \
	CHECK_ONE_S(cb_, B, call, text, want, werr)

/* FAULTS: every kind of bad pointer gives EFAULT. */
#define FAULTS(B, call) \
	CHECK_BAD_S(BAD_NULL, BAD_KERNEL, B, call, #call, -1, EFAULT)

/* FAULTS_NONNULL: NULL has a meaning here; the other two give EFAULT. */
#define FAULTS_NONNULL(B, call) \
	CHECK_BAD_S(BAD_UNMAPPED, BAD_KERNEL, B, call, #call, -1, EFAULT)

/*
 * An edge buffer: the last n bytes of a mapped read-write page whose next
 * page is unmapped.
 */
struct edge {
	char *base;
	char *p;
};

static struct edge edge_buffer(size_t n)
{
	struct edge e;
	e.base = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e.base == MAP_FAILED)
		h_fail(1, __FILE__, __LINE__, "mmap: %s", strerror(errno));
	if (munmap(e.base + PAGE, PAGE) != 0)
		h_fail(1, __FILE__, __LINE__, "munmap: %s", strerror(errno));
	e.p = e.base + PAGE - n;
	return e;
}

static void edge_release(struct edge e)
{
	munmap(e.base, PAGE);
}

static int make_file(const char *name, const char *data)
{
	int fd = open(h_path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	size_t n = strlen(data);

	if (fd < 0)
		h_fail(1, __FILE__, __LINE__, "open: %s", strerror(errno));
	if (write(fd, data, n) != (ssize_t)n)
		h_fail(1, __FILE__, __LINE__, "write: %s", strerror(errno));
	if (lseek(fd, 0, SEEK_SET) != 0)
		h_fail(1, __FILE__, __LINE__, "lseek: %s", strerror(errno));
	return fd;
}

static off_t size_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	return st.st_size;
}

/* pipe_empty reports whether a non-blocking pipe read end holds nothing. */
static int pipe_empty(int rfd)
{
	char c;

	return read(rfd, &c, 1) == -1 && errno == EAGAIN;
}

/* lowest_free_fd returns the descriptor the next open would get. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* ---- read and write ---- */

TEST(read_bad_buffer)
{
	int fd = make_file("f", "0123456789abcdef");
	FAULTS(B, syscall(SYS_read, fd, B, 16));
	/* Nothing was read: the offset did not move. */
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);

	int p[2];
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	ASSERT_EQ(write(p[1], "hello", 5), 5);
	FAULTS(B, syscall(SYS_read, p[0], B, 5));
	/* A failed copy-out leaves the data in the pipe. */
	char buf[8] = {0};
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 5);
	EXPECT_MEMEQ(buf, "hello", 5);
}

TEST(read_dev_zero_bad_buffer)
{
	int fd = open("/dev/zero", O_RDONLY);
	ASSERT_OK(fd);
	FAULTS(B, syscall(SYS_read, fd, B, 64));
	/* Zeroing stops at the hole; the bytes before it count. */
	struct edge e = edge_buffer(100);
	memset(e.p, 'x', 100);
	EXPECT_EQ(read(fd, e.p, 300), 100);
	EXPECT_EQ(e.p[0], 0);
	EXPECT_EQ(e.p[99], 0);
	edge_release(e);
}

TEST(dev_null_does_not_touch_buffer)
{
	/*
	 * /dev/null reads give end-of-file and writes are swallowed without
	 * copying, so NULL and unmapped buffers go unnoticed. The kernel
	 * half still fails the range check made before every read and write.
	 */
	int fd = open("/dev/null", O_RDWR);
	ASSERT_OK(fd);
	CHECK_BAD(BAD_NULL, BAD_UNMAPPED, B, syscall(SYS_read, fd, B, 16), 0, 0);
	CHECK_BAD(BAD_NULL, BAD_UNMAPPED, B, syscall(SYS_write, fd, B, 16), 16,
		  0);
	CHECK_ONE(BAD_KERNEL, B, syscall(SYS_read, fd, B, 16), -1, EFAULT);
	CHECK_ONE(BAD_KERNEL, B, syscall(SYS_write, fd, B, 16), -1, EFAULT);
}

TEST(zero_length_io_range_checked)
{
	/*
	 * A zero-length transfer copies nothing, so NULL and unmapped
	 * buffers succeed; the range check still refuses the kernel half.
	 */
	int fd = make_file("f", "data");
	CHECK_BAD(BAD_NULL, BAD_UNMAPPED, B, syscall(SYS_read, fd, B, 0), 0, 0);
	CHECK_BAD(BAD_NULL, BAD_UNMAPPED, B, syscall(SYS_write, fd, B, 0), 0, 0);
	CHECK_ONE(BAD_KERNEL, B, syscall(SYS_read, fd, B, 0), -1, EFAULT);
	CHECK_ONE(BAD_KERNEL, B, syscall(SYS_write, fd, B, 0), -1, EFAULT);
	EXPECT_EQ(size_of(fd), 4);
}

TEST(write_bad_buffer)
{
	int fd = make_file("f", "");
	FAULTS(B, syscall(SYS_write, fd, B, 16));
	EXPECT_EQ(size_of(fd), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);

	int p[2];
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	FAULTS(B, syscall(SYS_write, p[1], B, 16));
	EXPECT_TRUE(pipe_empty(p[0]));
}

TEST(pread64_pwrite64_bad_buffer)
{
	int fd = make_file("f", "0123456789abcdef");
	FAULTS(B, syscall(SYS_pread64, fd, B, 8, 4));
	FAULTS(B, syscall(SYS_pwrite64, fd, B, 8, 4));
	EXPECT_EQ(size_of(fd), 16);
	char buf[4];
	EXPECT_EQ(pread(fd, buf, 4, 4), 4);
	EXPECT_MEMEQ(buf, "4567", 4);
}

TEST(readv_writev_bad_iovec_array)
{
	int fd = make_file("f", "0123456789abcdef");
	FAULTS(B, syscall(SYS_readv, fd, B, 1));
	FAULTS(B, syscall(SYS_writev, fd, B, 1));
	FAULTS(B, syscall(SYS_preadv, fd, B, 1, 0, 0));
	FAULTS(B, syscall(SYS_pwritev, fd, B, 1, 0, 0));
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
	EXPECT_EQ(size_of(fd), 16);
}

TEST(readv_writev_iovec_to_bad_memory)
{
	int fd = make_file("f", "0123456789abcdef");
	int p[2];
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	ASSERT_EQ(write(p[1], "pipe", 4), 4);
	for (int k = BAD_NULL; k < NBAD; k++) {
		struct iovec iov = {bad_ptr(k), 8};
		CHECK_ONE(k, iov_base, syscall(SYS_readv, fd, &iov, 1), -1,
			  EFAULT);
		CHECK_ONE(k, iov_base, syscall(SYS_writev, fd, &iov, 1), -1,
			  EFAULT);
		CHECK_ONE(k, iov_base, syscall(SYS_preadv, fd, &iov, 1, 0, 0), -1,
			  EFAULT);
		CHECK_ONE(k, iov_base, syscall(SYS_pwritev, fd, &iov, 1, 0, 0), -1,
			  EFAULT);
		CHECK_ONE(k, iov_base, syscall(SYS_readv, p[0], &iov, 1), -1,
			  EFAULT);
		CHECK_ONE(k, iov_base, syscall(SYS_writev, p[1], &iov, 1), -1,
			  EFAULT);
	}
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
	EXPECT_EQ(size_of(fd), 16);
	char buf[8];
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 4);
}

TEST(preadv2_pwritev2_bad_iovecs)
{
	int fd = make_file("f", "0123456789abcdef");
	FAULTS(B, syscall(SYS_preadv2, fd, B, 1, 0, 0, 0));
	FAULTS(B, syscall(SYS_pwritev2, fd, B, 1, 0, 0, 0));
	for (int k = BAD_NULL; k < NBAD; k++) {
		struct iovec iov = {bad_ptr(k), 8};
		CHECK_ONE(k, iov_base, syscall(SYS_preadv2, fd, &iov, 1, 0, 0, 0),
			  -1, EFAULT);
		/* Offset -1: at (and moving) the file position. */
		CHECK_ONE(k, iov_base,
			  syscall(SYS_pwritev2, fd, &iov, 1, -1L, -1L, 0), -1,
			  EFAULT);
	}
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
	EXPECT_EQ(size_of(fd), 16);
}

TEST(sendfile_copy_file_range_bad_offset)
{
	int in = make_file("in", "0123456789abcdef");
	int out = open(h_path("out"), O_RDWR | O_CREAT, 0644);
	ASSERT_OK(out);
	/* A NULL offset means "use and move the file position". */
	FAULTS_NONNULL(B, syscall(SYS_sendfile, out, in, B, 4));
	FAULTS_NONNULL(B, syscall(SYS_copy_file_range, in, B, out, NULL, 4, 0));
	FAULTS_NONNULL(B, syscall(SYS_copy_file_range, in, NULL, out, B, 4, 0));
	EXPECT_EQ(size_of(out), 0);
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 0);
}

/* ---- partial transfers ---- */

TEST(read_regular_file_into_partly_unmapped_buffer)
{
	char data[201];
	for (int i = 0; i < 200; i++)
		data[i] = 'a' + i % 26;
	data[200] = 0;
	int fd = make_file("f", data);
	struct edge e = edge_buffer(100);
	/* The bytes before the hole are copied and counted. */
	EXPECT_EQ(read(fd, e.p, 200), 100);
	EXPECT_MEMEQ(e.p, data, 100);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 100);
	EXPECT_EQ(pread(fd, e.p, 200, 50), 100);
	EXPECT_MEMEQ(e.p, data + 50, 100);
	edge_release(e);
}

TEST(read_pipe_into_partly_unmapped_buffer)
{
	/*
	 * One write of a page and a bit fills two pipe buffers. A read
	 * whose buffer ends after one page takes the whole first pipe
	 * buffer, counts it, and stops at the fault; the rest stays.
	 */
	static char data[PAGE + 100];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = 'a' + i % 26;
	int p[2];
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	ASSERT_EQ(write(p[1], data, sizeof(data)), sizeof(data));
	struct edge e = edge_buffer(PAGE);
	EXPECT_EQ(read(p[0], e.p, sizeof(data)), PAGE);
	EXPECT_MEMEQ(e.p, data, PAGE);
	char rest[200];
	EXPECT_EQ(read(p[0], rest, sizeof(rest)), 100);
	EXPECT_MEMEQ(rest, data + PAGE, 100);
	edge_release(e);
}

TEST(read_pipe_fault_inside_one_pipe_buffer)
{
	/*
	 * Linux copies a pipe buffer's data as a unit: when the copy of
	 * one buffer comes up short and nothing was read before it, the
	 * read is EFAULT and the buffer stays whole in the pipe (even
	 * though its first bytes reached user memory).
	 */
	char data[200];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = 'A' + i % 26;
	int p[2];
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	ASSERT_EQ(write(p[1], data, sizeof(data)), sizeof(data));
	struct edge e = edge_buffer(100);
	EXPECT_ERRNO(read(p[0], e.p, sizeof(data)), EFAULT);
	char back[300];
	EXPECT_EQ(read(p[0], back, sizeof(back)), 200);
	EXPECT_MEMEQ(back, data, 200);
	edge_release(e);
}

TEST(write_regular_file_from_partly_unmapped_buffer)
{
	int fd = make_file("f", "");
	struct edge e = edge_buffer(100);
	memset(e.p, 'w', 100);
	/* The bytes before the hole are written and counted. */
	EXPECT_EQ(write(fd, e.p, 200), 100);
	EXPECT_EQ(size_of(fd), 100);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 100);
	EXPECT_EQ(pwrite(fd, e.p, 200, 1000), 100);
	EXPECT_EQ(size_of(fd), 1100);
	edge_release(e);
}

TEST(write_pipe_from_partly_unmapped_buffer)
{
	/*
	 * A pipe write that faults part-way through the page it is filling
	 * is EFAULT when nothing was written before, and the partial page
	 * is not made readable.
	 */
	int p[2];
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	struct edge e = edge_buffer(100);
	memset(e.p, 'w', 100);
	EXPECT_ERRNO(write(p[1], e.p, 200), EFAULT);
	EXPECT_TRUE(pipe_empty(p[0]));
	edge_release(e);
}

TEST(readv_writev_second_iovec_bad_regular_file)
{
	int fd = make_file("f", "0123456789abcdefghij");
	for (int k = BAD_NULL; k <= BAD_UNMAPPED; k++) {
		/*
		 * NULL and unmapped memory only fault on the copy: the first
		 * iovec is filled and counted.
		 */
		char a[10] = {0};
		struct iovec iov[2] = {{a, 10}, {bad_ptr(k), 10}};
		ASSERT_EQ(pwrite(fd, "0123456789", 10, 0), 10);
		ASSERT_OK(lseek(fd, 0, SEEK_SET));
		CHECK_ONE(k, iov1_base, syscall(SYS_readv, fd, iov, 2), 10, 0);
		EXPECT_MEMEQ(a, "0123456789", 10);
		EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 10);
		memcpy(a, "ABCDEFGHIJ", 10);
		ASSERT_OK(lseek(fd, 0, SEEK_SET));
		CHECK_ONE(k, iov1_base, syscall(SYS_writev, fd, iov, 2), 10, 0);
		EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 10);
		EXPECT_EQ(size_of(fd), 20);
		CHECK_ONE(k, iov1_base, syscall(SYS_preadv, fd, iov, 2, 5, 0), 10,
			  0);
		EXPECT_MEMEQ(a, "FGHIJabcde", 10);
	}
	/*
	 * A kernel address in any iovec fails the range check made on the
	 * whole array before any data moves.
	 */
	char a[10];
	struct iovec iov[2] = {{a, 10}, {bad_ptr(BAD_KERNEL), 10}};
	ASSERT_OK(lseek(fd, 0, SEEK_SET));
	EXPECT_ERRNO(readv(fd, iov, 2), EFAULT);
	EXPECT_ERRNO(writev(fd, iov, 2), EFAULT);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
}

TEST(readv_second_iovec_bad_pipe)
{
	/* Two pipe buffers (a page, then 10 bytes): the first is read. */
	static char data[PAGE + 10];
	memset(data, 'p', sizeof(data));
	int p[2];
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	ASSERT_EQ(write(p[1], data, sizeof(data)), sizeof(data));
	static char a[PAGE];
	struct iovec iov[2] = {{a, PAGE}, {bad_ptr(BAD_UNMAPPED), 10}};
	EXPECT_EQ(readv(p[0], iov, 2), PAGE);
	char rest[20];
	EXPECT_EQ(read(p[0], rest, sizeof(rest)), 10);
}

TEST(writev_second_iovec_bad_pipe)
{
	/* As a plain write, a fault inside the page being filled: EFAULT. */
	int p[2];
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	char a[10];
	memset(a, 'x', sizeof(a));
	struct iovec iov[2] = {{a, 10}, {bad_ptr(BAD_UNMAPPED), 10}};
	EXPECT_ERRNO(writev(p[1], iov, 2), EFAULT);
	EXPECT_TRUE(pipe_empty(p[0]));
}

/* ---- paths ---- */

TEST(open_openat_creat_bad_path)
{
	FAULTS(B, syscall(SYS_open, B, O_RDONLY));
	FAULTS(B, syscall(SYS_open, B, O_RDWR | O_CREAT, 0644));
	FAULTS(B, syscall(SYS_openat, AT_FDCWD, B, O_RDONLY));
	int dfd = open(h_path(""), O_RDONLY | O_DIRECTORY);
	ASSERT_OK(dfd);
	FAULTS(B, syscall(SYS_openat, dfd, B, O_RDONLY));
	FAULTS(B, syscall(SYS_creat, B, 0644));
}

TEST(openat2_bad_path_and_how)
{
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY;
	FAULTS(B, syscall(SYS_openat2, AT_FDCWD, B, &how, sizeof(how)));
	FAULTS(B, syscall(SYS_openat2, AT_FDCWD, "/", B, sizeof(how)));
}

TEST(stat_lstat_bad_pointers)
{
	struct stat st;
	FAULTS(B, syscall(SYS_stat, B, &st));
	FAULTS(B, syscall(SYS_stat, "/", B));
	FAULTS(B, syscall(SYS_lstat, B, &st));
	FAULTS(B, syscall(SYS_lstat, "/", B));
}

TEST(fstat_bad_buffer)
{
	int fd = open("/", O_RDONLY);
	ASSERT_OK(fd);
	FAULTS(B, syscall(SYS_fstat, fd, B));
}

TEST(newfstatat_bad_pointers)
{
	struct stat st;
	FAULTS(B, syscall(SYS_newfstatat, AT_FDCWD, B, &st, 0));
	FAULTS(B, syscall(SYS_newfstatat, AT_FDCWD, "/", B, 0));
	FAULTS(B, syscall(SYS_newfstatat, AT_FDCWD, "/", B, AT_SYMLINK_NOFOLLOW));
}

TEST(statx_bad_pointers)
{
	struct statx stx;
	FAULTS(B, syscall(SYS_statx, AT_FDCWD, B, 0, STATX_BASIC_STATS, &stx));
	FAULTS(B, syscall(SYS_statx, AT_FDCWD, "/", 0, STATX_BASIC_STATS, B));
}

/*
 * add_names adds the names of the r bytes of entries at b to seen (n
 * names so far) and returns the new count, or -1 when a name repeats.
 */
static int add_names(char seen[][256], int n, const char *b, long r)
{
	for (long off = 0; off < r;) {
		const struct dirent64 *d = (const struct dirent64 *)(b + off);
		for (int i = 0; i < n; i++)
			if (!strcmp(seen[i], d->d_name))
				return -1;
		if (n == 64)
			return -1;
		snprintf(seen[n++], 256, "%s", d->d_name);
		off += d->d_reclen;
	}
	return n;
}

/* read_rest reads directory fd to its end, adding names to seen. */
static int read_rest(int fd, char seen[][256], int n)
{
	static char buf[4096];
	long r = 0;

	while (n >= 0 && (r = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		n = add_names(seen, n, buf, r);
	return r < 0 ? -1 : n;
}

TEST(getdents64_bad_buffer)
{
	ASSERT_OK(mkdir(h_path("d"), 0755));
	int fd = open(h_path("d"), O_RDONLY | O_DIRECTORY);
	ASSERT_OK(fd);
	for (int k = BAD_NULL; k < NBAD; k++) {
		static char seen[64][256];
		ASSERT_OK(lseek(fd, 0, SEEK_SET));
		CHECK_ONE(k, B, syscall(SYS_getdents64, fd, B, 4096), -1, EFAULT);
		/* Nothing was consumed: "." and ".." are still to come. */
		EXPECT_EQ(read_rest(fd, seen, 0), 2);
	}
}

TEST(getdents64_partly_unmapped_buffer)
{
	/*
	 * Entries that fit before the hole are returned and counted; the
	 * one that faulted comes first in the next call, so none is lost
	 * or repeated.
	 */
	ASSERT_OK(mkdir(h_path("d"), 0755));
	for (int i = 0; i < 20; i++) {
		char name[32];
		snprintf(name, sizeof(name), "d/entry-with-a-longish-name-%02d", i);
		h_write_file(h_path(name), "");
	}
	int fd = open(h_path("d"), O_RDONLY | O_DIRECTORY);
	ASSERT_OK(fd);
	struct edge e = edge_buffer(200);
	long r = syscall(SYS_getdents64, fd, e.p, 4096);
	ASSERT_GT(r, 0);
	EXPECT_LE(r, 200);
	static char seen[64][256];
	int n = add_names(seen, 0, e.p, r);
	EXPECT_GT(n, 0);
	EXPECT_EQ(read_rest(fd, seen, n), 22);
	edge_release(e);
}

TEST(getcwd_bad_buffer)
{
	/* glibc allocates for NULL; the system call itself copies to it. */
	FAULTS(B, syscall(SYS_getcwd, B, 4096));
}

TEST(chdir_bad_path)
{
	char before[PATH_MAX], after[PATH_MAX];
	ASSERT_TRUE(getcwd(before, sizeof(before)) != NULL);
	FAULTS(B, syscall(SYS_chdir, B));
	ASSERT_TRUE(getcwd(after, sizeof(after)) != NULL);
	EXPECT_STREQ(after, before);
}

TEST(mkdir_rmdir_bad_path)
{
	FAULTS(B, syscall(SYS_mkdir, B, 0755));
	FAULTS(B, syscall(SYS_mkdirat, AT_FDCWD, B, 0755));
	FAULTS(B, syscall(SYS_rmdir, B));
	FAULTS(B, syscall(SYS_unlinkat, AT_FDCWD, B, AT_REMOVEDIR));
}

TEST(unlink_bad_path)
{
	FAULTS(B, syscall(SYS_unlink, B));
	FAULTS(B, syscall(SYS_unlinkat, AT_FDCWD, B, 0));
}

TEST(rename_family_bad_paths)
{
	const char *a = h_path("a");
	const char *b = h_path("b");
	h_write_file(a, "x");
	FAULTS(B, syscall(SYS_rename, B, b));
	FAULTS(B, syscall(SYS_rename, a, B));
	FAULTS(B, syscall(SYS_renameat, AT_FDCWD, B, AT_FDCWD, b));
	FAULTS(B, syscall(SYS_renameat, AT_FDCWD, a, AT_FDCWD, B));
	FAULTS(B, syscall(SYS_renameat2, AT_FDCWD, B, AT_FDCWD, b, 0));
	FAULTS(B, syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, B, 0));
	EXPECT_OK(access(a, F_OK));
	EXPECT_ERRNO(access(b, F_OK), ENOENT);
}

TEST(symlink_family_bad_paths)
{
	const char *l = h_path("l");
	FAULTS(B, syscall(SYS_symlink, B, l));
	FAULTS(B, syscall(SYS_symlink, "target", B));
	FAULTS(B, syscall(SYS_symlinkat, B, AT_FDCWD, l));
	FAULTS(B, syscall(SYS_symlinkat, "target", AT_FDCWD, B));
	EXPECT_ERRNO(lstat(l, &(struct stat){0}), ENOENT);
}

TEST(link_family_bad_paths)
{
	const char *a = h_path("a");
	const char *b = h_path("b");
	h_write_file(a, "x");
	FAULTS(B, syscall(SYS_link, B, b));
	FAULTS(B, syscall(SYS_link, a, B));
	FAULTS(B, syscall(SYS_linkat, AT_FDCWD, B, AT_FDCWD, b, 0));
	FAULTS(B, syscall(SYS_linkat, AT_FDCWD, a, AT_FDCWD, B, 0));
	EXPECT_ERRNO(access(b, F_OK), ENOENT);
}

TEST(readlink_family_bad_pointers)
{
	const char *l = h_path("l");
	char buf[64];
	ASSERT_OK(symlink("target", l));
	FAULTS(B, syscall(SYS_readlink, B, buf, sizeof(buf)));
	FAULTS(B, syscall(SYS_readlink, l, B, sizeof(buf)));
	FAULTS(B, syscall(SYS_readlinkat, AT_FDCWD, B, buf, sizeof(buf)));
	FAULTS(B, syscall(SYS_readlinkat, AT_FDCWD, l, B, sizeof(buf)));
}

TEST(access_family_bad_path)
{
	FAULTS(B, syscall(SYS_access, B, F_OK));
	FAULTS(B, syscall(SYS_faccessat, AT_FDCWD, B, R_OK));
	FAULTS(B, syscall(SYS_faccessat2, AT_FDCWD, B, R_OK, 0));
	FAULTS(B, syscall(SYS_faccessat2, AT_FDCWD, B, R_OK, AT_EACCESS));
}

TEST(chmod_family_bad_path)
{
	FAULTS(B, syscall(SYS_chmod, B, 0644));
	FAULTS(B, syscall(SYS_fchmodat, AT_FDCWD, B, 0644));
	FAULTS(B, syscall(SYS_fchmodat2, AT_FDCWD, B, 0644, 0));
}

TEST(chown_family_bad_path)
{
	FAULTS(B, syscall(SYS_chown, B, -1, -1));
	FAULTS(B, syscall(SYS_lchown, B, -1, -1));
	FAULTS(B, syscall(SYS_fchownat, AT_FDCWD, B, -1, -1, 0));
	FAULTS(B, syscall(SYS_fchownat, AT_FDCWD, B, -1, -1, AT_SYMLINK_NOFOLLOW));
}

TEST(utimensat_bad_pointers)
{
	const char *f = h_path("f");
	h_write_file(f, "x");
	/*
	 * A NULL path means "the file dirfd refers to" (a Linux extension),
	 * but with AT_FDCWD there is no such file: EFAULT like any bad path.
	 */
	FAULTS(B, syscall(SYS_utimensat, AT_FDCWD, B, NULL, 0));
	/* NULL times means "now". */
	FAULTS_NONNULL(B, syscall(SYS_utimensat, AT_FDCWD, f, B, 0));
	int fd = open(f, O_RDONLY);
	ASSERT_OK(fd);
	FAULTS_NONNULL(B, syscall(SYS_utimensat, fd, NULL, B, 0));
}

TEST(utimes_utime_futimesat_bad_pointers)
{
	const char *f = h_path("f");
	h_write_file(f, "x");
	FAULTS(B, syscall(SYS_utimes, B, NULL));
	FAULTS_NONNULL(B, syscall(SYS_utimes, f, B));
	FAULTS(B, syscall(SYS_utime, B, NULL));
	FAULTS_NONNULL(B, syscall(SYS_utime, f, B));
	FAULTS(B, syscall(SYS_futimesat, AT_FDCWD, B, NULL));
	FAULTS_NONNULL(B, syscall(SYS_futimesat, AT_FDCWD, f, B));
}

TEST(truncate_bad_path)
{
	FAULTS(B, syscall(SYS_truncate, B, 0));
}

TEST(statfs_fstatfs_bad_pointers)
{
	char buf[256];
	FAULTS(B, syscall(SYS_statfs, B, buf));
	FAULTS(B, syscall(SYS_statfs, "/", B));
	int fd = open("/", O_RDONLY);
	ASSERT_OK(fd);
	FAULTS(B, syscall(SYS_fstatfs, fd, B));
}

/* ---- exec ---- */

/*
 * exec_status runs execve in a child: the child's exit status is the
 * errno when execve fails, 0 when it ran the program (/bin/true).
 */
static int exec_status(const char *path, char *const argv[],
		       char *const envp[])
{
	pid_t pid = h_fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		long r = syscall(SYS_execve, path, argv, envp);
		_exit(r == -1 ? errno & 0x7f : 126);
	}
	return h_wait(pid);
}

static int execveat_status(int dfd, const char *path, char *const argv[],
			   char *const envp[], int flags)
{
	pid_t pid = h_fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		long r = syscall(SYS_execveat, dfd, path, argv, envp, flags);
		_exit(r == -1 ? errno & 0x7f : 126);
	}
	return h_wait(pid);
}

TEST(execve_bad_pointers)
{
	char *argv[] = {"true", NULL};
	char *envp[] = {"A=1", NULL};
	if (access("/bin/true", X_OK) != 0)
		SKIP("/bin/true not found");
	/* The helper itself works. */
	ASSERT_EQ(exec_status("/bin/true", argv, envp), 0);
	CHECK_BAD(BAD_NULL, BAD_KERNEL, B, exec_status(B, argv, envp), EFAULT, 0);
	/* A NULL argv or envp is taken as empty (argv gets ""). */
	CHECK_BAD(BAD_UNMAPPED, BAD_KERNEL, B,
		  exec_status("/bin/true", B, envp), EFAULT, 0);
	CHECK_BAD(BAD_UNMAPPED, BAD_KERNEL, B,
		  exec_status("/bin/true", argv, B), EFAULT, 0);
	/* A NULL element ends the array, so only the others are bad. */
	for (int k = BAD_UNMAPPED; k <= BAD_KERNEL; k++) {
		char *bad_argv[] = {"true", bad_ptr(k), NULL};
		char *bad_envp[] = {"A=1", bad_ptr(k), NULL};
		CHECK_ONE(k, argv1, exec_status("/bin/true", bad_argv, envp), EFAULT,
			  0);
		CHECK_ONE(k, envp1, exec_status("/bin/true", argv, bad_envp), EFAULT,
			  0);
	}
	CHECK_BAD(BAD_NULL, BAD_KERNEL, B,
		  execveat_status(AT_FDCWD, B, argv, envp, 0), EFAULT, 0);
}

TEST(execve_null_argv_and_envp_run_the_program)
{
	char *argv[] = {"true", NULL};
	if (access("/bin/true", X_OK) != 0)
		SKIP("/bin/true not found");
	EXPECT_EQ(exec_status("/bin/true", NULL, NULL), 0);
	EXPECT_EQ(exec_status("/bin/true", argv, NULL), 0);
}

/* ---- pipes, misc ---- */

TEST(pipe_pipe2_bad_array)
{
	int lo = lowest_free_fd();
	ASSERT_GE(lo, 0);
	FAULTS(B, syscall(SYS_pipe, B));
	FAULTS(B, syscall(SYS_pipe2, B, 0));
	FAULTS(B, syscall(SYS_pipe2, B, O_CLOEXEC | O_NONBLOCK));
	/* The descriptors made before the failed copy-out are gone again. */
	EXPECT_EQ(lowest_free_fd(), lo);
}

TEST(uname_bad_buffer)
{
	FAULTS(B, syscall(SYS_uname, B));
}

TEST(gettimeofday_bad_pointers)
{
	struct timeval tv;
	/* Either argument may be NULL. */
	EXPECT_OK(syscall(SYS_gettimeofday, NULL, NULL));
	FAULTS_NONNULL(B, syscall(SYS_gettimeofday, B, NULL));
	FAULTS_NONNULL(B, syscall(SYS_gettimeofday, NULL, B));
	FAULTS_NONNULL(B, syscall(SYS_gettimeofday, &tv, B));
}

TEST(clock_gettime_getres_bad_pointers)
{
	FAULTS(B, syscall(SYS_clock_gettime, CLOCK_REALTIME, B));
	FAULTS(B, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, B));
	FAULTS(B, syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, B));
	/* clock_getres takes NULL to mean "only check the clock id". */
	EXPECT_OK(syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL));
	FAULTS_NONNULL(B, syscall(SYS_clock_getres, CLOCK_MONOTONIC, B));
	FAULTS_NONNULL(B, syscall(SYS_clock_getres, CLOCK_THREAD_CPUTIME_ID, B));
}

TEST(clock_settime_bad_pointer)
{
	/*
	 * The new time is copied in before the caller's privilege is
	 * looked at (we run as root: a good pointer would set
	 * the clock, so only bad ones are passed).
	 */
	FAULTS(B, syscall(SYS_clock_settime, CLOCK_REALTIME, B));
	/* A clock that cannot be set is refused before the copy. */
	CHECK_BAD(BAD_NULL, BAD_KERNEL, B,
		  syscall(SYS_clock_settime, CLOCK_MONOTONIC, B), -1, EINVAL);
}

TEST(time_bad_pointer)
{
	/* time(NULL) only returns the time. */
	EXPECT_GT(syscall(SYS_time, NULL), 1500000000);
	FAULTS_NONNULL(B, syscall(SYS_time, B));
}

TEST(nanosleep_bad_request)
{
	FAULTS(B, syscall(SYS_nanosleep, B, NULL));
	FAULTS(B, syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, B, NULL));
	FAULTS(B, syscall(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, B,
			  NULL));
}

TEST(nanosleep_bad_remainder_unused_when_not_interrupted)
{
	/* The remainder is only written when a signal cuts the sleep short. */
	struct timespec ts = {0, 1000};
	CHECK_BAD(BAD_NULL, BAD_KERNEL, B, syscall(SYS_nanosleep, &ts, B), 0, 0);
	CHECK_BAD(BAD_NULL, BAD_KERNEL, B,
		  syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, B), 0, 0);
}

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
	(void)sig;
	signals_seen++;
}

TEST(nanosleep_interrupted_bad_remainder)
{
	/*
	 * Interrupted, the call writes the remainder; when that copy fails
	 * the result is EFAULT rather than EINTR.
	 */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	struct timespec ts = {30, 0};
	struct itimerval it = {{0, 0}, {0, 20000}};
	for (int k = BAD_UNMAPPED; k <= BAD_KERNEL; k++) {
		signals_seen = 0;
		ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
		CHECK_ONE(k, B, syscall(SYS_nanosleep, &ts, B), -1, EFAULT);
		EXPECT_EQ(signals_seen, 1);
		signals_seen = 0;
		ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
		CHECK_ONE(k, B,
			  syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, B),
			  -1, EFAULT);
		EXPECT_EQ(signals_seen, 1);
	}
}

TEST(getrandom_bad_buffer)
{
	FAULTS(B, syscall(SYS_getrandom, B, 16, 0));
	FAULTS(B, syscall(SYS_getrandom, B, 16, GRND_NONBLOCK));
	FAULTS(B, syscall(SYS_getrandom, B, 4096, 0));
}

TEST(rlimit_bad_pointers)
{
	struct rlimit cur;
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &cur));
	FAULTS(B, syscall(SYS_getrlimit, RLIMIT_NOFILE, B));
	FAULTS(B, syscall(SYS_setrlimit, RLIMIT_NOFILE, B));
	/* prlimit64 takes NULL for "do not set" and "do not report". */
	EXPECT_OK(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, NULL));
	FAULTS_NONNULL(B, syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, B, NULL));
	FAULTS_NONNULL(B, syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, B));
	struct rlimit now;
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &now));
	EXPECT_EQ(now.rlim_cur, cur.rlim_cur);
	EXPECT_EQ(now.rlim_max, cur.rlim_max);
}

TEST(getrusage_times_sysinfo_bad_buffer)
{
	FAULTS(B, syscall(SYS_getrusage, RUSAGE_SELF, B));
	FAULTS(B, syscall(SYS_getrusage, RUSAGE_CHILDREN, B));
	FAULTS(B, syscall(SYS_getrusage, RUSAGE_THREAD, B));
	/* times(NULL) only returns the clock ticks. */
	EXPECT_NE(syscall(SYS_times, NULL), -1);
	FAULTS_NONNULL(B, syscall(SYS_times, B));
	FAULTS(B, syscall(SYS_sysinfo, B));
}

TEST(groups_bad_pointers)
{
	/* In a child, so the test process keeps its groups. */
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		gid_t g = 0;
		if (syscall(SYS_setgroups, 1, &g) != 0)
			_exit(50);
		FAULTS(B, syscall(SYS_getgroups, 4, B));
		FAULTS(B, syscall(SYS_setgroups, 1, B));
		/* A size of 0 asks for the count and copies nothing. */
		CHECK_BAD(BAD_NULL, BAD_KERNEL, B, syscall(SYS_getgroups, 0, B),
			  1, 0);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(getresuid_getresgid_bad_pointers)
{
	unsigned int a, b;
	FAULTS(B, syscall(SYS_getresuid, B, &a, &b));
	FAULTS(B, syscall(SYS_getresuid, &a, B, &b));
	FAULTS(B, syscall(SYS_getresuid, &a, &b, B));
	FAULTS(B, syscall(SYS_getresgid, B, &a, &b));
	FAULTS(B, syscall(SYS_getresgid, &a, B, &b));
	FAULTS(B, syscall(SYS_getresgid, &a, &b, B));
}

TEST(capget_capset_bad_pointers)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	FAULTS(B, syscall(SYS_capget, B, data));
	/* With a good header, a NULL data pointer is a version probe. */
	EXPECT_OK(syscall(SYS_capget, &hdr, NULL));
	FAULTS_NONNULL(B, syscall(SYS_capget, &hdr, B));
	ASSERT_OK(syscall(SYS_capget, &hdr, data));
	FAULTS(B, syscall(SYS_capset, B, data));
	FAULTS(B, syscall(SYS_capset, &hdr, B));
}

/* ---- signals ---- */

/* The kernel's struct sigaction on x86-64 (rt_sigaction). */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

TEST(rt_sigaction_bad_pointers)
{
	struct ksigaction old;
	/* NULL act only reads; NULL oldact only writes. */
	FAULTS_NONNULL(B, syscall(SYS_rt_sigaction, SIGUSR1, B, NULL, 8));
	FAULTS_NONNULL(B, syscall(SYS_rt_sigaction, SIGUSR1, NULL, B, 8));
	ASSERT_OK(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 8));
	EXPECT_TRUE(old.handler == SIG_DFL);
}

TEST(rt_sigaction_bad_oldact_still_sets_action)
{
	/*
	 * The new action is installed before the old one is copied out, so
	 * a bad oldact gives EFAULT with the change made.
	 */
	for (int k = BAD_UNMAPPED; k <= BAD_KERNEL; k++) {
		struct ksigaction act = {SIG_IGN, 0, NULL, 0}, old;
		struct ksigaction dfl = {SIG_DFL, 0, NULL, 0};
		ASSERT_OK(syscall(SYS_rt_sigaction, SIGUSR2, &dfl, NULL, 8));
		CHECK_ONE(k, B, syscall(SYS_rt_sigaction, SIGUSR2, &act, B, 8),
			  -1, EFAULT);
		ASSERT_OK(syscall(SYS_rt_sigaction, SIGUSR2, NULL, &old, 8));
		EXPECT_TRUE(old.handler == SIG_IGN);
	}
}

TEST(rt_sigprocmask_bad_pointers)
{
	sigset_t before, after;
	ASSERT_OK(sigprocmask(SIG_SETMASK, NULL, &before));
	FAULTS_NONNULL(B, syscall(SYS_rt_sigprocmask, SIG_BLOCK, B, NULL, 8));
	FAULTS_NONNULL(B, syscall(SYS_rt_sigprocmask, SIG_SETMASK, B, NULL, 8));
	FAULTS_NONNULL(B, syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, B, 8));
	ASSERT_OK(sigprocmask(SIG_SETMASK, NULL, &after));
	EXPECT_MEMEQ(&before, &after, 8);
}

TEST(rt_sigpending_sigsuspend_bad_pointers)
{
	FAULTS(B, syscall(SYS_rt_sigpending, B, 8));
	FAULTS(B, syscall(SYS_rt_sigsuspend, B, 8));
}

TEST(rt_sigtimedwait_bad_pointers)
{
	sigset_t set;
	struct timespec zero = {0, 0};
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &set, NULL));
	FAULTS(B, syscall(SYS_rt_sigtimedwait, B, NULL, &zero, 8));
	/* A NULL timeout waits for ever. */
	FAULTS_NONNULL(B, syscall(SYS_rt_sigtimedwait, &set, NULL, B, 8));
	/* With nothing to report, info is never written. */
	CHECK_BAD(BAD_NULL, BAD_KERNEL, B,
		  syscall(SYS_rt_sigtimedwait, &set, B, &zero, 8), -1, EAGAIN);
}

TEST(rt_sigtimedwait_bad_info_consumes_signal)
{
	/*
	 * The signal is dequeued before siginfo is copied out: EFAULT, and
	 * the signal is gone. (A handler is installed so the signal is
	 * queued in any case, even where the process is a namespace init.)
	 */
	sigset_t set, pend;
	struct timespec zero = {0, 0};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &set, NULL));
	for (int k = BAD_UNMAPPED; k <= BAD_KERNEL; k++) {
		ASSERT_OK(kill(getpid(), SIGUSR1));
		ASSERT_OK(sigpending(&pend));
		ASSERT_TRUE(sigismember(&pend, SIGUSR1));
		CHECK_ONE(k, B, syscall(SYS_rt_sigtimedwait, &set, B, &zero, 8),
			  -1, EFAULT);
		ASSERT_OK(sigpending(&pend));
		EXPECT_FALSE(sigismember(&pend, SIGUSR1));
	}
}

TEST(rt_sigqueueinfo_bad_info)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &set, NULL));
	FAULTS(B, syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, B));
	FAULTS(B, syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid),
			  SIGUSR1, B));
	sigset_t pend;
	ASSERT_OK(sigpending(&pend));
	EXPECT_FALSE(sigismember(&pend, SIGUSR1));
}

TEST(sigaltstack_bad_pointers)
{
	/* NULL ss only reads; NULL old_ss only sets. */
	FAULTS_NONNULL(B, syscall(SYS_sigaltstack, B, NULL));
	FAULTS_NONNULL(B, syscall(SYS_sigaltstack, NULL, B));
	stack_t ss;
	ASSERT_OK(sigaltstack(NULL, &ss));
	EXPECT_TRUE(ss.ss_flags & SS_DISABLE);
}

/* ---- processes ---- */

static pid_t exited_child(void)
{
	pid_t pid = h_fork();

	if (pid == 0)
		_exit(7);
	return pid;
}

TEST(wait4_bad_status_reaps_child)
{
	/*
	 * The child is reaped before its status is copied out: EFAULT, and
	 * the child is gone.
	 */
	for (int k = BAD_UNMAPPED; k <= BAD_KERNEL; k++) {
		pid_t pid = exited_child();
		ASSERT_GT(pid, 0);
		CHECK_ONE(k, B, syscall(SYS_wait4, pid, B, 0, NULL), -1, EFAULT);
		EXPECT_ERRNO(waitpid(pid, NULL, WNOHANG), ECHILD);
	}
}

TEST(wait4_bad_rusage_reaps_child)
{
	for (int k = BAD_UNMAPPED; k <= BAD_KERNEL; k++) {
		int st;
		pid_t pid = exited_child();
		ASSERT_GT(pid, 0);
		CHECK_ONE(k, B, syscall(SYS_wait4, pid, &st, 0, B), -1, EFAULT);
		EXPECT_ERRNO(waitpid(pid, NULL, WNOHANG), ECHILD);
	}
}

TEST(waitid_bad_infop_reaps_child)
{
	for (int k = BAD_UNMAPPED; k <= BAD_KERNEL; k++) {
		pid_t pid = exited_child();
		ASSERT_GT(pid, 0);
		CHECK_ONE(k, B, syscall(SYS_waitid, P_PID, pid, B, WEXITED, NULL),
			  -1, EFAULT);
		EXPECT_ERRNO(waitpid(pid, NULL, WNOHANG), ECHILD);
	}
	/* A bad rusage too. */
	for (int k = BAD_UNMAPPED; k <= BAD_KERNEL; k++) {
		siginfo_t si;
		pid_t pid = exited_child();
		ASSERT_GT(pid, 0);
		CHECK_ONE(k, B, syscall(SYS_waitid, P_PID, pid, &si, WEXITED, B),
			  -1, EFAULT);
		EXPECT_ERRNO(waitpid(pid, NULL, WNOHANG), ECHILD);
	}
}

TEST(clone3_bad_args)
{
	int lo = lowest_free_fd();
	FAULTS(B, syscall(SYS_clone3, B, 64));
	FAULTS(B, syscall(SYS_clone3, B, sizeof(struct clone_args)));
	/* No child was made. */
	EXPECT_ERRNO(waitpid(-1, NULL, WNOHANG), ECHILD);
	EXPECT_EQ(lowest_free_fd(), lo);
}

TEST(clone_bad_settid_pointers_ignored)
{
	/*
	 * CLONE_PARENT_SETTID and CLONE_CHILD_SETTID store the new tid
	 * where told and ignore a failed store: the child is made.
	 */
	for (int k = BAD_NULL; k < NBAD; k++) {
		void *B = bad_ptr(k);
		long pid = syscall(SYS_clone, SIGCHLD | CLONE_PARENT_SETTID, 0,
				   B, NULL, 0);
		if (pid == 0)
			_exit(3);
		if (pid < 0) {
			h_fail(0, __FILE__, __LINE__,
			       "clone CLONE_PARENT_SETTID with %s: %s",
			       bad_names[k], strerrorname_np(errno));
			continue;
		}
		EXPECT_EQ(h_wait(pid), 3);
		pid = syscall(SYS_clone, SIGCHLD | CLONE_CHILD_SETTID, 0, NULL,
			      B, 0);
		if (pid == 0)
			_exit(4);
		if (pid < 0) {
			h_fail(0, __FILE__, __LINE__,
			       "clone CLONE_CHILD_SETTID with %s: %s",
			       bad_names[k], strerrorname_np(errno));
			continue;
		}
		EXPECT_EQ(h_wait(pid), 4);
	}
}

TEST(set_tid_address_bad_pointer_accepted)
{
	/*
	 * The address is only stored (and written at exit, where a fault
	 * is ignored). In a child, so the test keeps its own.
	 */
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		CHECK_BAD(BAD_NULL, BAD_KERNEL, B, syscall(SYS_set_tid_address, B),
			  getpid(), 0);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

/* ---- futex, robust lists ---- */

TEST(futex_wait_bad_pointers)
{
	struct timespec ts = {0, 1000000};
	FAULTS(B, syscall(SYS_futex, B, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0));
	FAULTS(B, syscall(SYS_futex, B, FUTEX_WAIT, 0, &ts, NULL, 0));
	FAULTS(B, syscall(SYS_futex, B, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL,
			  FUTEX_BITSET_MATCH_ANY));
	/* A NULL timeout waits for ever; a bad one faults before the wait. */
	static int word;
	FAULTS_NONNULL(B, syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, B,
				  NULL, 0));
	FAULTS_NONNULL(B, syscall(SYS_futex, &word, FUTEX_WAIT, 0, B, NULL, 0));
}

TEST(futex_wake_bad_pointers)
{
	/*
	 * A private futex is keyed by its address alone: waking one at an
	 * unmapped address (or NULL) finds no waiters and reads nothing.
	 * Only the kernel half fails the range check.
	 */
	CHECK_BAD(BAD_NULL, BAD_UNMAPPED, B,
		  syscall(SYS_futex, B, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0,
		  0);
	CHECK_ONE(BAD_KERNEL, B,
		  syscall(SYS_futex, B, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), -1,
		  EFAULT);
	/* A shared futex is keyed by the page behind it, which must exist. */
	FAULTS(B, syscall(SYS_futex, B, FUTEX_WAKE, 1, NULL, NULL, 0));
}

TEST(robust_list_bad_pointers)
{
	void *head;
	size_t len;
	ASSERT_OK(syscall(SYS_get_robust_list, 0, &head, &len));
	/* set_robust_list only records the pointer; it is read at exit. */
	CHECK_BAD(BAD_NULL, BAD_KERNEL, B,
		  syscall(SYS_set_robust_list, B, len), 0, 0);
	ASSERT_OK(syscall(SYS_set_robust_list, head, len));
	FAULTS(B, syscall(SYS_get_robust_list, 0, B, &len));
	FAULTS(B, syscall(SYS_get_robust_list, 0, &head, B));
	void *now;
	ASSERT_OK(syscall(SYS_get_robust_list, 0, &now, &len));
	EXPECT_TRUE(now == head);
}

/* ---- polling ---- */

TEST(poll_ppoll_bad_pointers)
{
	int p[2];
	ASSERT_OK(pipe(p));
	struct pollfd pfd = {p[0], POLLIN, 0};
	struct timespec zero = {0, 0};
	FAULTS(B, syscall(SYS_poll, B, 1, 0));
	FAULTS(B, syscall(SYS_ppoll, B, 1, &zero, NULL, 8));
	/* A NULL timeout or sigmask means none. */
	FAULTS_NONNULL(B, syscall(SYS_ppoll, &pfd, 1, B, NULL, 8));
	FAULTS_NONNULL(B, syscall(SYS_ppoll, &pfd, 1, &zero, B, 8));
}

TEST(select_bad_pointers)
{
	int p[2];
	ASSERT_OK(pipe(p));
	fd_set r;
	struct timeval zero = {0, 0};
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	/* A NULL set or timeout means none. */
	FAULTS_NONNULL(B, syscall(SYS_select, p[0] + 1, B, NULL, NULL, &zero));
	FAULTS_NONNULL(B, syscall(SYS_select, p[0] + 1, NULL, B, NULL, &zero));
	FAULTS_NONNULL(B, syscall(SYS_select, p[0] + 1, NULL, NULL, B, &zero));
	FAULTS_NONNULL(B, syscall(SYS_select, p[0] + 1, &r, NULL, NULL, B));
}

TEST(pselect6_bad_pointers)
{
	int p[2];
	ASSERT_OK(pipe(p));
	fd_set r;
	struct timespec zero = {0, 0};
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	/* NULL sets, timeout and sigmask argument all mean "none". */
	FAULTS_NONNULL(B, syscall(SYS_pselect6, p[0] + 1, B, NULL, NULL, &zero,
				  NULL));
	FAULTS_NONNULL(B, syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, B,
				  NULL));
	FAULTS_NONNULL(B, syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &zero,
				  B));
	/* The sigmask argument is a {pointer, size} pair; a bad pointer in it. */
	for (int k = BAD_UNMAPPED; k <= BAD_KERNEL; k++) {
		struct {
			void *ss;
			size_t len;
		} arg = {bad_ptr(k), 8};
		FD_ZERO(&r);
		FD_SET(p[0], &r);
		CHECK_ONE(k, sigmask_ss, syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL,
					&zero, &arg),
			  -1, EFAULT);
	}
}

TEST(epoll_wait_bad_events)
{
	int p[2];
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(0);
	ASSERT_OK(ep);
	struct epoll_event ev = {EPOLLIN, {.u64 = 1}};
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	FAULTS(B, syscall(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, p[0], B));
	int other = dup(p[0]);
	ASSERT_OK(other);
	FAULTS(B, syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, other, B));
	/* The failed add registered nothing. */
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, other, NULL), ENOENT);
	close(other);
	/*
	 * Nothing ready: only the range check runs, so NULL and unmapped
	 * memory pass and the wait returns 0.
	 */
	CHECK_BAD(BAD_NULL, BAD_UNMAPPED, B,
		  syscall(SYS_epoll_wait, ep, B, 4, 0), 0, 0);
	CHECK_ONE(BAD_KERNEL, B, syscall(SYS_epoll_wait, ep, B, 4, 0), -1,
		  EFAULT);
	/* With an event to copy out: EFAULT, and the event stays ready. */
	ASSERT_EQ(write(p[1], "x", 1), 1);
	FAULTS(B, syscall(SYS_epoll_wait, ep, B, 4, 0));
	FAULTS(B, syscall(SYS_epoll_pwait, ep, B, 4, 0, NULL, 8));
	struct epoll_event out[4];
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 1);
}

/* ---- scheduling ---- */

TEST(sched_affinity_bad_mask)
{
	FAULTS(B, syscall(SYS_sched_getaffinity, 0, 128, B));
	FAULTS(B, syscall(SYS_sched_setaffinity, 0, 128, B));
}

TEST(getcpu_bad_pointers)
{
	/* Both pointers may be NULL. */
	unsigned int cpu, node;
	EXPECT_OK(syscall(SYS_getcpu, NULL, NULL, NULL));
	FAULTS_NONNULL(B, syscall(SYS_getcpu, B, &node, NULL));
	FAULTS_NONNULL(B, syscall(SYS_getcpu, &cpu, B, NULL));
}

TEST(sched_param_bad_pointers)
{
	/* The param calls check for NULL first: EINVAL. */
	CHECK_ONE(BAD_NULL, B, syscall(SYS_sched_getparam, 0, B), -1, EINVAL);
	CHECK_ONE(BAD_NULL, B, syscall(SYS_sched_setparam, 0, B), -1, EINVAL);
	CHECK_ONE(BAD_NULL, B, syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, B),
		  -1, EINVAL);
	FAULTS_NONNULL(B, syscall(SYS_sched_getparam, 0, B));
	FAULTS_NONNULL(B, syscall(SYS_sched_setparam, 0, B));
	FAULTS_NONNULL(B, syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, B));
	FAULTS(B, syscall(SYS_sched_rr_get_interval, 0, B));
}

/* ---- xattrs ---- */

TEST(xattr_bad_path)
{
	char buf[64];
	FAULTS(B, syscall(SYS_getxattr, B, "user.a", buf, sizeof(buf)));
	FAULTS(B, syscall(SYS_lgetxattr, B, "user.a", buf, sizeof(buf)));
	FAULTS(B, syscall(SYS_listxattr, B, buf, sizeof(buf)));
	FAULTS(B, syscall(SYS_llistxattr, B, buf, sizeof(buf)));
	FAULTS(B, syscall(SYS_setxattr, B, "user.a", "v", 1, 0));
	FAULTS(B, syscall(SYS_lsetxattr, B, "user.a", "v", 1, 0));
	FAULTS(B, syscall(SYS_removexattr, B, "user.a"));
	FAULTS(B, syscall(SYS_lremovexattr, B, "user.a"));
}

TEST(xattr_bad_name)
{
	const char *f = h_path("f");
	char buf[64];
	h_write_file(f, "x");
	int fd = open(f, O_RDWR);
	ASSERT_OK(fd);
	FAULTS(B, syscall(SYS_getxattr, f, B, buf, sizeof(buf)));
	FAULTS(B, syscall(SYS_lgetxattr, f, B, buf, sizeof(buf)));
	FAULTS(B, syscall(SYS_fgetxattr, fd, B, buf, sizeof(buf)));
	FAULTS(B, syscall(SYS_setxattr, f, B, "v", 1, 0));
	FAULTS(B, syscall(SYS_lsetxattr, f, B, "v", 1, 0));
	FAULTS(B, syscall(SYS_fsetxattr, fd, B, "v", 1, 0));
	FAULTS(B, syscall(SYS_removexattr, f, B));
	FAULTS(B, syscall(SYS_lremovexattr, f, B));
	FAULTS(B, syscall(SYS_fremovexattr, fd, B));
}

TEST(xattr_missing_attribute_bad_value_not_touched)
{
	/* No such attribute: ENODATA before anything is copied out. */
	const char *f = h_path("f");
	h_write_file(f, "x");
	int fd = open(f, O_RDONLY);
	ASSERT_OK(fd);
	CHECK_BAD(BAD_NULL, BAD_KERNEL, B,
		  syscall(SYS_getxattr, f, "user.none", B, 64), -1, ENODATA);
	CHECK_BAD(BAD_NULL, BAD_KERNEL, B,
		  syscall(SYS_fgetxattr, fd, "user.none", B, 64), -1, ENODATA);
}

TEST(xattr_bad_value_buffer)
{
	const char *f = h_path("f");
	h_write_file(f, "x");
	int fd = open(f, O_RDWR);
	ASSERT_OK(fd);
	if (syscall(SYS_fsetxattr, fd, "user.a", "value", 5, 0) != 0) {
		if (errno == EOPNOTSUPP)
			SKIP("user xattrs not supported on /tmp");
		h_fail(1, __FILE__, __LINE__, "fsetxattr user.a: %s",
		       strerrorname_np(errno) ?: "0");
	}
	ASSERT_OK(syscall(SYS_fgetxattr, fd, "user.a", NULL, 0));
	FAULTS(B, syscall(SYS_getxattr, f, "user.a", B, 64));
	FAULTS(B, syscall(SYS_lgetxattr, f, "user.a", B, 64));
	FAULTS(B, syscall(SYS_fgetxattr, fd, "user.a", B, 64));
	FAULTS(B, syscall(SYS_listxattr, f, B, 256));
	FAULTS(B, syscall(SYS_llistxattr, f, B, 256));
	FAULTS(B, syscall(SYS_flistxattr, fd, B, 256));
	FAULTS(B, syscall(SYS_setxattr, f, "user.b", B, 4, 0));
	FAULTS(B, syscall(SYS_lsetxattr, f, "user.b", B, 4, 0));
	FAULTS(B, syscall(SYS_fsetxattr, fd, "user.b", B, 4, 0));
	EXPECT_ERRNO(syscall(SYS_fgetxattr, fd, "user.b", NULL, 0), ENODATA);
	char v[8];
	EXPECT_EQ(syscall(SYS_fgetxattr, fd, "user.a", v, sizeof(v)), 5);
}

/* ---- timers ---- */

TEST(itimer_bad_pointers)
{
	struct itimerval zero;
	memset(&zero, 0, sizeof(zero));
	FAULTS(B, syscall(SYS_getitimer, ITIMER_REAL, B));
	FAULTS(B, syscall(SYS_getitimer, ITIMER_PROF, B));
	/* NULL old_value means "do not report". */
	FAULTS_NONNULL(B, syscall(SYS_setitimer, ITIMER_REAL, B, NULL));
	FAULTS_NONNULL(B, syscall(SYS_setitimer, ITIMER_REAL, &zero, B));
}

TEST(posix_timer_bad_pointers)
{
	struct sigevent sev;
	int id = -1;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_NONE;
	/* A NULL sigevent asks for the default (SIGALRM to the process). */
	FAULTS_NONNULL(B, syscall(SYS_timer_create, CLOCK_MONOTONIC, B, &id));
	FAULTS(B, syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, B));
	ASSERT_OK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id));
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	/* A missing new value is EINVAL before any copy. */
	CHECK_ONE(BAD_NULL, B, syscall(SYS_timer_settime, id, 0, B, NULL), -1,
		  EINVAL);
	FAULTS_NONNULL(B, syscall(SYS_timer_settime, id, 0, B, NULL));
	FAULTS_NONNULL(B, syscall(SYS_timer_settime, id, 0, &its, B));
	FAULTS(B, syscall(SYS_timer_gettime, id, B));
	EXPECT_OK(syscall(SYS_timer_delete, id));
}

/* ---- process attributes, memory, descriptors ---- */

TEST(arch_prctl_get_bad_pointer)
{
	FAULTS(B, syscall(SYS_arch_prctl, ARCH_GET_FS, B));
	FAULTS(B, syscall(SYS_arch_prctl, ARCH_GET_GS, B));
}

TEST(prctl_bad_pointers)
{
	char before[16] = {0}, after[16] = {0};
	ASSERT_OK(prctl(PR_GET_NAME, before));
	FAULTS(B, syscall(SYS_prctl, PR_GET_NAME, B, 0, 0, 0));
	FAULTS(B, syscall(SYS_prctl, PR_SET_NAME, B, 0, 0, 0));
	ASSERT_OK(prctl(PR_GET_NAME, after));
	EXPECT_STREQ(after, before);
	/* The getters that store through an int pointer. */
	FAULTS(B, syscall(SYS_prctl, PR_GET_PDEATHSIG, B, 0, 0, 0));
	FAULTS(B, syscall(SYS_prctl, PR_GET_CHILD_SUBREAPER, B, 0, 0, 0));
}

TEST(mincore_bad_vector)
{
	char *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	FAULTS(B, syscall(SYS_mincore, p, PAGE, B));
	munmap(p, PAGE);
}

TEST(ioctl_bad_argument)
{
	int p[2];
	ASSERT_OK(pipe(p));
	FAULTS(B, syscall(SYS_ioctl, p[0], FIONREAD, B));
	FAULTS(B, syscall(SYS_ioctl, p[0], FIONBIO, B));
	EXPECT_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
}

TEST(fcntl_lock_bad_pointer)
{
	int fd = make_file("f", "data");
	FAULTS(B, syscall(SYS_fcntl, fd, F_GETLK, B));
	FAULTS(B, syscall(SYS_fcntl, fd, F_SETLK, B));
	FAULTS(B, syscall(SYS_fcntl, fd, F_SETLKW, B));
	FAULTS(B, syscall(SYS_fcntl, fd, F_OFD_GETLK, B));
	FAULTS(B, syscall(SYS_fcntl, fd, F_OFD_SETLK, B));
}

TEST(fcntl_owner_ex_bad_pointer)
{
	int fd = make_file("f", "data");
	FAULTS(B, syscall(SYS_fcntl, fd, F_GETOWN_EX, B));
	FAULTS(B, syscall(SYS_fcntl, fd, F_SETOWN_EX, B));
	EXPECT_EQ(fcntl(fd, F_GETOWN), 0);
}

TEST(mknod_bad_path)
{
	FAULTS(B, syscall(SYS_mknod, B, S_IFIFO | 0600, 0));
	FAULTS(B, syscall(SYS_mknodat, AT_FDCWD, B, S_IFIFO | 0600, 0));
}

TEST(timerfd_bad_pointers)
{
	int fd = syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 0);
	if (fd < 0)
		h_fail(1, __FILE__, __LINE__, "timerfd_create: %s",
		       strerrorname_np(errno) ?: "0");
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	FAULTS(B, syscall(SYS_timerfd_settime, fd, 0, B, NULL));
	/* NULL old_value means "do not report". */
	FAULTS_NONNULL(B, syscall(SYS_timerfd_settime, fd, 0, &its, B));
	FAULTS(B, syscall(SYS_timerfd_gettime, fd, B));
}

TEST(signalfd_bad_mask)
{
	int lo = lowest_free_fd();
	FAULTS(B, syscall(SYS_signalfd4, -1, B, 8, 0));
	FAULTS(B, syscall(SYS_signalfd, -1, B, 8));
	EXPECT_EQ(lowest_free_fd(), lo);
}

TEST(memfd_create_bad_name)
{
	FAULTS(B, syscall(SYS_memfd_create, B, 0));
}
