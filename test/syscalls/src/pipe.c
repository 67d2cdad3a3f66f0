/* pipe.c: pipes and FIFOs: flags, EOF, EPIPE, capacity, atomicity, tee, packets. */
#define AREA "pipe"
#include "../harness.h"

#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

static volatile int pipe_sigs;

static void on_sigpipe(int sig)
{
	(void)sig;
	pipe_sigs++;
}

TEST(roundtrip)
{
	int p[2];
	char buf[16] = {0};
	ASSERT_OK(pipe(p));
	EXPECT_EQ(write(p[1], "hello", 5), 5);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 5);
	EXPECT_STREQ(buf, "hello");
}

TEST(pipe_fds_are_lowest_free)
{
	int p[2];
	int a = open("/dev/null", O_RDONLY);
	ASSERT_GE(a, 0);
	close(a);
	ASSERT_OK(pipe(p));
	EXPECT_EQ(p[0], a);
	EXPECT_EQ(p[1], a + 1);
}

TEST(pipe2_flags)
{
	int p[2];
	ASSERT_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
	EXPECT_EQ(fcntl(p[0], F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(p[1], F_GETFD), FD_CLOEXEC);
	EXPECT_TRUE(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	EXPECT_EQ(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY);
	EXPECT_ERRNO(pipe2(p, O_APPEND), EINVAL);
	EXPECT_ERRNO(pipe2(p, 0x1), EINVAL);
}

TEST(pipe_bad_pointer_efault)
{
	EXPECT_ERRNO(syscall(SYS_pipe2, (void *)1, 0), EFAULT);
}

TEST(wrong_end_ebadf)
{
	int p[2];
	char c;
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(write(p[0], "x", 1), EBADF);
	EXPECT_ERRNO(read(p[1], &c, 1), EBADF);
}

TEST(nonblocking_empty_read_eagain)
{
	int p[2];
	char c;
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	EXPECT_ERRNO(read(p[0], &c, 1), EAGAIN);
}

TEST(eof_after_writer_closes)
{
	int p[2];
	char buf[8];
	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "ab", 2), 2);
	close(p[1]);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 2);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 0);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 0);
}

TEST(eof_needs_all_writers_closed)
{
	int p[2];
	char c;
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	int w2 = dup(p[1]);
	close(p[1]);
	EXPECT_ERRNO(read(p[0], &c, 1), EAGAIN);
	close(w2);
	EXPECT_EQ(read(p[0], &c, 1), 0);
}

TEST(short_read_returns_available)
{
	int p[2];
	char buf[100];
	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "abc", 3), 3);
	EXPECT_EQ(read(p[0], buf, 1), 1);
	EXPECT_EQ(buf[0], 'a');
	EXPECT_EQ(read(p[0], buf, 100), 2);
	EXPECT_EQ(buf[1], 'c');
}

TEST(epipe_when_sigpipe_ignored)
{
	int p[2];
	signal(SIGPIPE, SIG_IGN);
	ASSERT_OK(pipe(p));
	close(p[0]);
	EXPECT_ERRNO(write(p[1], "x", 1), EPIPE);
}

TEST(sigpipe_handler_and_epipe)
{
	int p[2];
	pipe_sigs = 0;
	signal(SIGPIPE, on_sigpipe);
	ASSERT_OK(pipe(p));
	close(p[0]);
	EXPECT_ERRNO(write(p[1], "x", 1), EPIPE);
	EXPECT_EQ(pipe_sigs, 1);
}

TEST(sigpipe_default_kills)
{
	int p[2];
	ASSERT_OK(pipe(p));
	close(p[0]);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		write(p[1], "x", 1);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 1000 + SIGPIPE);
}

TEST(default_capacity_64k)
{
	int p[2];
	ASSERT_OK(pipe(p));
	EXPECT_EQ(fcntl(p[0], F_GETPIPE_SZ), 65536);
	EXPECT_EQ(fcntl(p[1], F_GETPIPE_SZ), 65536);
}

TEST(fill_nonblocking_to_capacity)
{
	int p[2];
	char buf[4096];
	long total = 0;
	ssize_t n;
	memset(buf, 'x', sizeof(buf));
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	while ((n = write(p[1], buf, sizeof(buf))) > 0)
		total += n;
	EXPECT_EQ(n, -1);
	EXPECT_EQ(errno, EAGAIN);
	EXPECT_EQ(total, 65536);
	int avail = 0;
	ASSERT_OK(ioctl(p[0], FIONREAD, &avail));
	EXPECT_EQ(avail, 65536);
}

TEST(set_pipe_size_rounds_up)
{
	int p[2];
	ASSERT_OK(pipe(p));
	EXPECT_EQ(fcntl(p[0], F_SETPIPE_SZ, 5000), 8192);
	EXPECT_EQ(fcntl(p[1], F_GETPIPE_SZ), 8192);
	EXPECT_EQ(fcntl(p[0], F_SETPIPE_SZ, 1), 4096);
	EXPECT_EQ(fcntl(p[0], F_SETPIPE_SZ, 65536 * 2), 131072);
	EXPECT_ERRNO(fcntl(p[0], F_SETPIPE_SZ, -1), EINVAL);
}

TEST(set_pipe_size_below_content_ebusy)
{
	int p[2];
	char buf[8192];
	memset(buf, 1, sizeof(buf));
	ASSERT_OK(pipe(p));
	/* Three pages in use cannot fit a one-page pipe. */
	ASSERT_EQ(write(p[1], buf, 8192), 8192);
	ASSERT_EQ(write(p[1], buf, 100), 100);
	EXPECT_ERRNO(fcntl(p[0], F_SETPIPE_SZ, 4096), EBUSY);
	EXPECT_EQ(fcntl(p[0], F_GETPIPE_SZ), 65536);
}

TEST(pipe_size_on_file_ebadf)
{
	int fd = open("/dev/null", O_RDONLY);
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(fcntl(fd, F_GETPIPE_SZ), EBADF);
}

TEST(small_writes_are_atomic)
{
	int p[2];
	static char big[65536 - 100];
	char buf[200];
	memset(buf, 'a', sizeof(buf));
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	ASSERT_EQ(write(p[1], big, sizeof(big)), sizeof(big));
	/* 200 bytes <= PIPE_BUF do not fit: nothing is written. */
	EXPECT_ERRNO(write(p[1], buf, 200), EAGAIN);
	EXPECT_EQ(write(p[1], buf, 100), 100);
	int avail = 0;
	ASSERT_OK(ioctl(p[0], FIONREAD, &avail));
	EXPECT_EQ(avail, 65536);
	EXPECT_EQ(PIPE_BUF, 4096);
}

struct drain {
	int fd;
	long total;
};

static void *drain_thread(void *arg)
{
	struct drain *d = arg;
	char buf[8192];
	ssize_t n;
	while ((n = read(d->fd, buf, sizeof(buf))) > 0)
		d->total += n;
	return NULL;
}

TEST(blocking_write_larger_than_capacity)
{
	int p[2];
	size_t len = 512 * 1024;
	char *big = malloc(len);
	pthread_t t;
	struct drain d;
	ASSERT_TRUE(big != NULL);
	memset(big, 'z', len);
	ASSERT_OK(pipe(p));
	d.fd = p[0];
	d.total = 0;
	ASSERT_EQ(pthread_create(&t, NULL, drain_thread, &d), 0);
	EXPECT_EQ(write(p[1], big, len), (ssize_t)len);
	close(p[1]);
	pthread_join(t, NULL);
	EXPECT_EQ(d.total, (long)len);
	free(big);
}

static void *late_writer(void *arg)
{
	int fd = *(int *)arg;
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	write(fd, "late", 4);
	return NULL;
}

TEST(blocked_reader_woken_by_write)
{
	int p[2];
	char buf[8] = {0};
	pthread_t t;
	ASSERT_OK(pipe(p));
	ASSERT_EQ(pthread_create(&t, NULL, late_writer, &p[1]), 0);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "late");
	pthread_join(t, NULL);
}

TEST(fork_child_writes_parent_reads)
{
	int p[2];
	char buf[32] = {0};
	size_t got = 0;
	ssize_t n;
	ASSERT_OK(pipe(p));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(p[0]);
		write(p[1], "from-", 5);
		write(p[1], "child", 5);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	EXPECT_EQ(n, 0);
	EXPECT_STREQ(buf, "from-child");
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(tee_copies_without_consuming)
{
	int a[2], b[2];
	char buf[16] = {0};
	ASSERT_OK(pipe(a));
	ASSERT_OK(pipe(b));
	ASSERT_EQ(write(a[1], "teedata", 7), 7);
	EXPECT_EQ(tee(a[0], b[1], 100, 0), 7);
	EXPECT_EQ(read(b[0], buf, sizeof(buf)), 7);
	EXPECT_STREQ(buf, "teedata");
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(read(a[0], buf, sizeof(buf)), 7);
	EXPECT_STREQ(buf, "teedata");
}

TEST(tee_errors)
{
	int a[2], b[2];
	ASSERT_OK(pipe(a));
	ASSERT_OK(pipe(b));
	int fd = open("/dev/null", O_RDWR);
	EXPECT_ERRNO(tee(a[0], a[1], 10, 0), EINVAL);
	EXPECT_ERRNO(tee(fd, b[1], 10, 0), EINVAL);
	EXPECT_ERRNO(tee(a[1], b[1], 10, 0), EBADF);
	/* Nothing to copy, nonblocking: EAGAIN. */
	EXPECT_ERRNO(tee(a[0], b[1], 10, SPLICE_F_NONBLOCK), EAGAIN);
}

TEST(splice_pipe_to_pipe)
{
	int a[2], b[2];
	char buf[8] = {0};
	ASSERT_OK(pipe(a));
	ASSERT_OK(pipe(b));
	ASSERT_EQ(write(a[1], "move", 4), 4);
	EXPECT_EQ(splice(a[0], NULL, b[1], NULL, 2, 0), 2);
	EXPECT_EQ(read(b[0], buf, sizeof(buf)), 2);
	EXPECT_STREQ(buf, "mo");
	EXPECT_EQ(read(a[0], buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "ve", 2);
}

TEST(packet_mode_keeps_boundaries)
{
	int p[2];
	char buf[64];
	ASSERT_OK(pipe2(p, O_DIRECT));
	EXPECT_TRUE(fcntl(p[1], F_GETFL) & O_DIRECT);
	ASSERT_EQ(write(p[1], "one", 3), 3);
	ASSERT_EQ(write(p[1], "three", 5), 5);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 3);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 5);
	/* A short read of a packet discards the rest of it. */
	ASSERT_EQ(write(p[1], "abcdef", 6), 6);
	ASSERT_EQ(write(p[1], "gh", 2), 2);
	EXPECT_EQ(read(p[0], buf, 2), 2);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 2);
	EXPECT_MEMEQ(buf, "gh", 2);
}

TEST(fstat_and_proc_link)
{
	int p[2];
	struct stat st;
	char path[64], link[64], want[64];
	ASSERT_OK(pipe(p));
	ASSERT_OK(fstat(p[0], &st));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	EXPECT_EQ(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	ASSERT_GT(n, 0);
	link[n] = 0;
	snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)st.st_ino);
	EXPECT_STREQ(link, want);
	struct stat st1;
	ASSERT_OK(fstat(p[1], &st1));
	EXPECT_EQ(st1.st_ino, st.st_ino);
}

TEST(poll_full_pipe_not_writable)
{
	int p[2];
	static char big[65536];
	struct pollfd pf = {.events = POLLOUT};
	ASSERT_OK(pipe2(p, O_NONBLOCK));
	pf.fd = p[1];
	EXPECT_EQ(poll(&pf, 1, 0), 1);
	EXPECT_EQ(pf.revents, POLLOUT);
	ASSERT_EQ(write(p[1], big, sizeof(big)), sizeof(big));
	EXPECT_EQ(poll(&pf, 1, 0), 0);
	close(p[0]);
	EXPECT_EQ(poll(&pf, 1, 0), 1);
	EXPECT_EQ(pf.revents, POLLERR); /* still full, no reader */
}

TEST(fifo_reader_writer)
{
	char buf[8] = {0};
	ASSERT_OK(mkfifo(h_path("f"), 0600));
	int r = open(h_path("f"), O_RDONLY | O_NONBLOCK);
	ASSERT_GE(r, 0);
	int w = open(h_path("f"), O_WRONLY);
	ASSERT_GE(w, 0);
	EXPECT_EQ(write(w, "fifo", 4), 4);
	EXPECT_EQ(read(r, buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "fifo");
	close(w);
	EXPECT_EQ(read(r, buf, sizeof(buf)), 0);
	/* O_RDWR on a FIFO never blocks on Linux. */
	int rw = open(h_path("f"), O_RDWR);
	EXPECT_GE(rw, 0);
}

TEST(vmsplice_user_pages)
{
	int p[2];
	char buf[16] = {0};
	char src[] = "vmspliced";
	struct iovec iov = {src, 9};
	ASSERT_OK(pipe(p));
	EXPECT_EQ(vmsplice(p[1], &iov, 1, 0), 9);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 9);
	EXPECT_STREQ(buf, "vmspliced");
	EXPECT_ERRNO(vmsplice(p[1], &iov, 1, 0x100), EINVAL);
}
