/* fd.c: descriptor tables, dup, fcntl, close_range, locks, ioctl, eventfd, polling. */
#define AREA "fd"
#include "../harness.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/*
 * Re-executed as "prog --fd-helper A B": exit status bit 0 is set when fd A
 * is open, bit 1 when fd B is open.
 */
__attribute__((constructor)) static void fd_helper(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--fd-helper") == 0) {
		int a = atoi(argv[2]), b = atoi(argv[3]);
		_exit((fcntl(a, F_GETFD) != -1) | (fcntl(b, F_GETFD) != -1) << 1);
	}
}

static int mkfile(const char *name)
{
	int fd = open(h_path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		h_fail(1, __FILE__, __LINE__, "open: %s", strerror(errno));
	return fd;
}

static struct flock lk(short type, off_t start, off_t len)
{
	struct flock f;
	memset(&f, 0, sizeof(f));
	f.l_type = type;
	f.l_whence = SEEK_SET;
	f.l_start = start;
	f.l_len = len;
	return f;
}

/*
 * in_child runs fn(fd) in a forked child and returns its exit status; fn
 * returns the value the child exits with.
 */
static int in_child(int (*fn)(int), int fd)
{
	pid_t pid = h_fork();
	if (pid == 0)
		_exit(fn(fd));
	return h_wait(pid);
}

TEST(open_returns_lowest_free)
{
	int a = mkfile("f");
	int b = open(h_path("f"), O_RDONLY);
	ASSERT_GE(b, 0);
	EXPECT_EQ(b, a + 1);
	close(a);
	int c = open(h_path("f"), O_RDONLY);
	EXPECT_EQ(c, a);
}

TEST(dup_shares_description)
{
	int a = mkfile("f");
	ASSERT_EQ(write(a, "hello", 5), 5);
	int b = dup(a);
	ASSERT_GT(b, a);
	EXPECT_EQ(lseek(b, 0, SEEK_CUR), 5);
	lseek(a, 1, SEEK_SET);
	EXPECT_EQ(lseek(b, 0, SEEK_CUR), 1);
	ASSERT_OK(fcntl(a, F_SETFL, O_APPEND));
	EXPECT_TRUE(fcntl(b, F_GETFL) & O_APPEND);
}

TEST(dup_clears_cloexec)
{
	int a = open("/tmp", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(a, 0);
	EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
	int b = dup(a);
	EXPECT_EQ(fcntl(b, F_GETFD), 0);
	EXPECT_ERRNO(dup(0x3fff), EBADF);
}

TEST(dup2_replaces_target)
{
	int a = mkfile("a");
	int b = mkfile("b");
	struct stat sa, sb;
	ASSERT_EQ(dup2(a, b), b);
	ASSERT_OK(fstat(a, &sa));
	ASSERT_OK(fstat(b, &sb));
	EXPECT_EQ(sa.st_ino, sb.st_ino);
	EXPECT_EQ(dup2(a, 200), 200);
	EXPECT_OK(fcntl(200, F_GETFD));
}

TEST(dup2_same_fd)
{
	int a = mkfile("a");
	EXPECT_EQ(dup2(a, a), a);
	EXPECT_ERRNO(dup2(0x3ff0, 0x3ff0), EBADF);
	EXPECT_ERRNO(dup2(0x3ff0, a), EBADF);
	EXPECT_OK(fcntl(a, F_GETFD)); /* not closed by the failed call */
}

TEST(dup2_beyond_rlimit_ebadf)
{
	struct rlimit r;
	int a = mkfile("a");
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &r));
	EXPECT_ERRNO(dup2(a, (int)r.rlim_cur), EBADF);
	EXPECT_ERRNO(dup2(a, -1), EBADF);
}

TEST(dup3_flags)
{
	int a = mkfile("a");
	EXPECT_EQ(dup3(a, 100, O_CLOEXEC), 100);
	EXPECT_EQ(fcntl(100, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(dup3(a, 101, 0), 101);
	EXPECT_EQ(fcntl(101, F_GETFD), 0);
	EXPECT_ERRNO(dup3(a, a, 0), EINVAL);
	EXPECT_ERRNO(dup3(a, 102, O_NONBLOCK), EINVAL);
}

TEST(fcntl_dupfd_minimum)
{
	int a = mkfile("a");
	int b = fcntl(a, F_DUPFD, 50);
	EXPECT_GE(b, 50);
	EXPECT_EQ(fcntl(b, F_GETFD), 0);
	int c = fcntl(a, F_DUPFD, 50);
	EXPECT_EQ(c, b + 1);
	int d = fcntl(a, F_DUPFD_CLOEXEC, 60);
	EXPECT_GE(d, 60);
	EXPECT_EQ(fcntl(d, F_GETFD), FD_CLOEXEC);
	EXPECT_ERRNO(fcntl(a, F_DUPFD, -1), EINVAL);
	EXPECT_ERRNO(fcntl(a, F_DUPFD, 1 << 30), EINVAL);
}

TEST(fcntl_getfd_setfd)
{
	int a = mkfile("a");
	EXPECT_EQ(fcntl(a, F_GETFD), 0);
	ASSERT_OK(fcntl(a, F_SETFD, FD_CLOEXEC));
	EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
	ASSERT_OK(fcntl(a, F_SETFD, 0));
	EXPECT_EQ(fcntl(a, F_GETFD), 0);
}

TEST(fcntl_getfl_setfl)
{
	mkfile("f");
	int ro = open(h_path("f"), O_RDONLY);
	int rw = open(h_path("f"), O_RDWR | O_APPEND);
	ASSERT_GE(ro, 0);
	EXPECT_EQ(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY);
	EXPECT_EQ(fcntl(rw, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR | O_APPEND);
	/* The access mode cannot be changed; status flags can. */
	ASSERT_OK(fcntl(ro, F_SETFL, O_RDWR | O_NONBLOCK));
	EXPECT_EQ(fcntl(ro, F_GETFL) & (O_ACCMODE | O_NONBLOCK),
		  O_RDONLY | O_NONBLOCK);
	ASSERT_OK(fcntl(rw, F_SETFL, 0));
	EXPECT_EQ(fcntl(rw, F_GETFL) & O_APPEND, 0);
}

TEST(fcntl_errors)
{
	int a = mkfile("a");
	EXPECT_ERRNO(fcntl(a, 9999), EINVAL);
	EXPECT_ERRNO(fcntl(0x3fff, F_GETFD), EBADF);
	EXPECT_ERRNO(fcntl(-1, F_GETFL), EBADF);
}

TEST(fcntl_owner_roundtrip)
{
	int a = mkfile("a");
	EXPECT_EQ(fcntl(a, F_GETOWN), 0);
	ASSERT_OK(fcntl(a, F_SETOWN, getpid()));
	EXPECT_EQ(fcntl(a, F_GETOWN), getpid());
}

TEST(cloexec_closed_across_exec)
{
	int keep = mkfile("a");
	int gone = open(h_path("a"), O_RDONLY | O_CLOEXEC);
	ASSERT_GE(gone, 0);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char a[16], b[16];
		snprintf(a, sizeof(a), "%d", keep);
		snprintf(b, sizeof(b), "%d", gone);
		char *argv[] = {"fd", "--fd-helper", a, b, NULL};
		execv("/proc/self/exe", argv);
		_exit(99);
	}
	/* bit 0: keep is open; bit 1 clear: gone was closed. */
	EXPECT_EQ(h_wait(pid), 1);
}

TEST(close_twice_ebadf)
{
	int a = mkfile("a");
	EXPECT_OK(close(a));
	EXPECT_ERRNO(close(a), EBADF);
	EXPECT_ERRNO(close(-1), EBADF);
}

TEST(close_range_closes)
{
	int a = mkfile("a");
	for (int fd = 300; fd < 310; fd++)
		ASSERT_EQ(dup2(a, fd), fd);
	ASSERT_OK(syscall(SYS_close_range, 302, 305, 0));
	EXPECT_OK(fcntl(301, F_GETFD));
	EXPECT_ERRNO(fcntl(302, F_GETFD), EBADF);
	EXPECT_ERRNO(fcntl(305, F_GETFD), EBADF);
	EXPECT_OK(fcntl(306, F_GETFD));
	/* A range past the end is fine. */
	EXPECT_OK(syscall(SYS_close_range, 308, ~0U, 0));
	EXPECT_ERRNO(fcntl(309, F_GETFD), EBADF);
}

TEST(close_range_cloexec_and_errors)
{
	int a = mkfile("a");
	ASSERT_EQ(dup2(a, 320), 320);
	ASSERT_EQ(dup2(a, 321), 321);
	ASSERT_OK(syscall(SYS_close_range, 320, 321, CLOSE_RANGE_CLOEXEC));
	EXPECT_EQ(fcntl(320, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(321, F_GETFD), FD_CLOEXEC);
	EXPECT_ERRNO(syscall(SYS_close_range, 10, 5, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_close_range, 320, 321, 0x80), EINVAL);
}

TEST(fork_shares_offset_not_table)
{
	int a = mkfile("a");
	ASSERT_EQ(write(a, "0123456789", 10), 10);
	lseek(a, 0, SEEK_SET);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		lseek(a, 7, SEEK_SET);
		close(a);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
	EXPECT_EQ(lseek(a, 0, SEEK_CUR), 7);
	EXPECT_OK(fcntl(a, F_GETFD));
}

static int child_getlk(int fd)
{
	struct flock f = lk(F_WRLCK, 0, 10);
	if (fcntl(fd, F_GETLK, &f) != 0)
		return 1;
	if (f.l_type != F_WRLCK || f.l_pid != getppid() || f.l_start != 0 ||
	    f.l_len != 10)
		return 2;
	f = lk(F_WRLCK, 0, 10);
	if (fcntl(fd, F_SETLK, &f) != -1 || (errno != EAGAIN && errno != EACCES))
		return 3;
	/* Bytes outside the locked range are free. */
	f = lk(F_WRLCK, 10, 10);
	if (fcntl(fd, F_SETLK, &f) != 0)
		return 4;
	return 0;
}

TEST(posix_lock_conflicts_with_child)
{
	int fd = mkfile("f");
	struct flock f = lk(F_WRLCK, 0, 10);
	ASSERT_OK(fcntl(fd, F_SETLK, &f));
	/* Our own lock never conflicts with us. */
	f = lk(F_WRLCK, 0, 10);
	ASSERT_OK(fcntl(fd, F_GETLK, &f));
	EXPECT_EQ(f.l_type, F_UNLCK);
	EXPECT_EQ(in_child(child_getlk, fd), 0);
}

static int child_try_write_lock(int fd)
{
	struct flock f = lk(F_WRLCK, 0, 0);
	return fcntl(fd, F_SETLK, &f) == 0 ? 0 : 1;
}

static int child_try_read_lock(int fd)
{
	struct flock f = lk(F_RDLCK, 0, 0);
	return fcntl(fd, F_SETLK, &f) == 0 ? 0 : 1;
}

TEST(posix_read_locks_shared)
{
	int fd = mkfile("f");
	struct flock f = lk(F_RDLCK, 0, 0);
	ASSERT_OK(fcntl(fd, F_SETLK, &f));
	EXPECT_EQ(in_child(child_try_read_lock, fd), 0);
	EXPECT_EQ(in_child(child_try_write_lock, fd), 1);
	f = lk(F_UNLCK, 0, 0);
	ASSERT_OK(fcntl(fd, F_SETLK, &f));
	EXPECT_EQ(in_child(child_try_write_lock, fd), 0);
}

TEST(posix_lock_dropped_on_any_close)
{
	int fd = mkfile("f");
	struct flock f = lk(F_WRLCK, 0, 0);
	ASSERT_OK(fcntl(fd, F_SETLK, &f));
	EXPECT_EQ(in_child(child_try_write_lock, fd), 1);
	int other = open(h_path("f"), O_RDONLY);
	ASSERT_GE(other, 0);
	close(other);
	EXPECT_EQ(in_child(child_try_write_lock, fd), 0);
}

TEST(posix_lock_errors)
{
	mkfile("f");
	int ro = open(h_path("f"), O_RDONLY);
	struct flock f = lk(F_WRLCK, 0, 0);
	ASSERT_GE(ro, 0);
	EXPECT_ERRNO(fcntl(ro, F_SETLK, &f), EBADF);
	f = lk(42, 0, 0);
	EXPECT_ERRNO(fcntl(ro, F_SETLK, &f), EINVAL);
	f = lk(F_RDLCK, -5, 1);
	EXPECT_ERRNO(fcntl(ro, F_SETLK, &f), EINVAL);
	EXPECT_ERRNO(fcntl(ro, F_SETLK, (void *)1), EFAULT);
}

TEST(ofd_locks_conflict_between_descriptions)
{
	int a = mkfile("f");
	int b = open(h_path("f"), O_RDWR);
	ASSERT_GE(b, 0);
	struct flock f = lk(F_WRLCK, 0, 100);
	ASSERT_OK(fcntl(a, F_OFD_SETLK, &f));
	f = lk(F_WRLCK, 50, 10);
	EXPECT_ERRNO(fcntl(b, F_OFD_SETLK, &f), EAGAIN);
	f = lk(F_RDLCK, 0, 1);
	ASSERT_OK(fcntl(b, F_OFD_GETLK, &f));
	EXPECT_EQ(f.l_type, F_WRLCK);
	EXPECT_EQ(f.l_pid, -1);
	/* l_pid must be zero when setting. */
	f = lk(F_RDLCK, 200, 1);
	f.l_pid = 1;
	EXPECT_ERRNO(fcntl(b, F_OFD_SETLK, &f), EINVAL);
	close(a);
	f = lk(F_WRLCK, 50, 10);
	EXPECT_OK(fcntl(b, F_OFD_SETLK, &f));
}

TEST(flock_exclusive_and_shared)
{
	int a = mkfile("f");
	int b = open(h_path("f"), O_RDONLY);
	ASSERT_GE(b, 0);
	int a2 = dup(a);
	ASSERT_OK(flock(a, LOCK_EX));
	EXPECT_ERRNO(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	/* A duplicate shares the lock: re-locking is a conversion. */
	EXPECT_OK(flock(a2, LOCK_EX | LOCK_NB));
	ASSERT_OK(flock(a, LOCK_SH));
	EXPECT_OK(flock(b, LOCK_SH | LOCK_NB));
	EXPECT_ERRNO(flock(a, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	ASSERT_OK(flock(b, LOCK_UN));
	EXPECT_OK(flock(a, LOCK_EX | LOCK_NB));
	EXPECT_ERRNO(flock(a, 0), EINVAL);
	EXPECT_ERRNO(flock(0x3fff, LOCK_EX), EBADF);
}

TEST(rlimit_nofile_emfile)
{
	struct rlimit old, r;
	int fd, last = -1;
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
	r.rlim_cur = 64;
	r.rlim_max = old.rlim_max;
	ASSERT_OK(setrlimit(RLIMIT_NOFILE, &r));
	for (int i = 0; i < 100; i++) {
		fd = open("/tmp", O_RDONLY);
		if (fd < 0)
			break;
		last = fd;
	}
	int err = errno;
	setrlimit(RLIMIT_NOFILE, &old);
	EXPECT_EQ(fd, -1);
	EXPECT_EQ(err, EMFILE);
	EXPECT_EQ(last, 63);
}

TEST(ioctl_fionread_and_fioclex)
{
	int p[2], n = -1;
	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "hello", 5), 5);
	ASSERT_OK(ioctl(p[0], FIONREAD, &n));
	EXPECT_EQ(n, 5);
	ASSERT_OK(ioctl(p[0], FIOCLEX));
	EXPECT_EQ(fcntl(p[0], F_GETFD), FD_CLOEXEC);
	ASSERT_OK(ioctl(p[0], FIONCLEX));
	EXPECT_EQ(fcntl(p[0], F_GETFD), 0);
}

TEST(ioctl_fionbio_sets_nonblock)
{
	int p[2], on = 1;
	char c;
	ASSERT_OK(pipe(p));
	ASSERT_OK(ioctl(p[0], FIONBIO, &on));
	EXPECT_TRUE(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	EXPECT_ERRNO(read(p[0], &c, 1), EAGAIN);
}

TEST(ioctl_tcgets_on_file_enotty)
{
	struct termios t;
	int fd = mkfile("f");
	EXPECT_ERRNO(ioctl(fd, TCGETS, &t), ENOTTY);
	EXPECT_ERRNO(ioctl(0x3fff, TCGETS, &t), EBADF);
	EXPECT_FALSE(isatty(fd));
}

TEST(eventfd_counter)
{
	uint64_t v = 0;
	int fd = eventfd(3, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	v = 4;
	EXPECT_EQ(write(fd, &v, 8), 8);
	EXPECT_EQ(read(fd, &v, 8), 8);
	EXPECT_EQ(v, 7);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
	char small[4];
	EXPECT_ERRNO(read(fd, small, 4), EINVAL);
	v = ~0ULL;
	EXPECT_ERRNO(write(fd, &v, 8), EINVAL);
}

TEST(eventfd_semaphore)
{
	uint64_t v;
	int fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(read(fd, &v, 8), 8);
	EXPECT_EQ(v, 1);
	EXPECT_EQ(read(fd, &v, 8), 8);
	EXPECT_EQ(v, 1);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
	EXPECT_ERRNO(eventfd(0, 0x2), EINVAL);
}

TEST(signalfd_reads_pending_signal)
{
	sigset_t s;
	struct signalfd_siginfo si;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	int fd = signalfd(-1, &s, SFD_NONBLOCK);
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EAGAIN);
	kill(getpid(), SIGUSR1);
	EXPECT_EQ(read(fd, &si, sizeof(si)), sizeof(si));
	EXPECT_EQ(si.ssi_signo, SIGUSR1);
	EXPECT_EQ(si.ssi_code, SI_USER);
	EXPECT_EQ(si.ssi_pid, getpid());
}

TEST(epoll_pipe_readiness)
{
	int p[2];
	struct epoll_event ev, out[4];
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	ev.events = EPOLLIN;
	ev.data.u64 = 0x1122334455667788ULL;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_EQ(epoll_wait(ep, out, 4, 1000), 1);
	EXPECT_EQ(out[0].events, EPOLLIN);
	EXPECT_EQ(out[0].data.u64, 0x1122334455667788ULL);
	close(p[1]);
	ASSERT_EQ(epoll_wait(ep, out, 4, 1000), 1);
	EXPECT_EQ(out[0].events, EPOLLIN | EPOLLHUP);
}

TEST(epoll_ctl_errors)
{
	int p[2];
	struct epoll_event ev = {.events = EPOLLIN};
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], &ev), ENOENT);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	int f = mkfile("f");
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev), EPERM);
	EXPECT_ERRNO(epoll_ctl(f, EPOLL_CTL_ADD, p[0], &ev), EINVAL);
	EXPECT_ERRNO(epoll_create1(0x1), EINVAL);
	EXPECT_ERRNO(epoll_create(0), EINVAL);
	EXPECT_ERRNO(epoll_wait(ep, &ev, 0, 0), EINVAL);
}

TEST(poll_pipe_states)
{
	int p[2];
	struct pollfd fds[3];
	ASSERT_OK(pipe(p));
	fds[0] = (struct pollfd){.fd = p[0], .events = POLLIN};
	fds[1] = (struct pollfd){.fd = p[1], .events = POLLOUT};
	fds[2] = (struct pollfd){.fd = 0x3fff, .events = POLLIN};
	EXPECT_EQ(poll(fds, 3, 0), 2);
	EXPECT_EQ(fds[0].revents, 0);
	EXPECT_EQ(fds[1].revents, POLLOUT);
	EXPECT_EQ(fds[2].revents, POLLNVAL);
	close(p[1]);
	fds[0].revents = 0;
	EXPECT_EQ(poll(fds, 1, 1000), 1);
	EXPECT_EQ(fds[0].revents, POLLHUP);
	/* A negative fd is ignored. */
	fds[0].fd = -1;
	EXPECT_EQ(poll(fds, 1, 0), 0);
	EXPECT_EQ(fds[0].revents, 0);
}

TEST(select_readable_and_timeout)
{
	int p[2];
	fd_set r;
	struct timeval tv = {0, 10000};
	ASSERT_OK(pipe(p));
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	EXPECT_EQ(select(p[0] + 1, &r, NULL, NULL, &tv), 0);
	EXPECT_FALSE(FD_ISSET(p[0], &r));
	ASSERT_EQ(write(p[1], "x", 1), 1);
	FD_SET(p[0], &r);
	tv = (struct timeval){1, 0};
	EXPECT_EQ(select(p[0] + 1, &r, NULL, NULL, &tv), 1);
	EXPECT_TRUE(FD_ISSET(p[0], &r));
	EXPECT_ERRNO(select(-1, NULL, NULL, NULL, &tv), EINVAL);
	/* A closed fd inside the table is EBADF. */
	ASSERT_EQ(dup2(p[0], 40), 40);
	close(40);
	FD_ZERO(&r);
	FD_SET(40, &r);
	tv = (struct timeval){0, 0};
	EXPECT_ERRNO(select(41, &r, NULL, NULL, &tv), EBADF);
}

TEST(setfd_keeps_only_cloexec_bit)
{
	int a = mkfile("a");
	ASSERT_OK(fcntl(a, F_SETFD, 0xff));
	EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
}

TEST(getlk_unlock_type_einval)
{
	int fd = mkfile("f");
	struct flock f = lk(F_UNLCK, 0, 0);
	EXPECT_ERRNO(fcntl(fd, F_GETLK, &f), EINVAL);
}

static int child_probe_split(int fd)
{
	struct flock f = lk(F_WRLCK, 40, 20);
	if (fcntl(fd, F_SETLK, &f) != 0)
		return 1;
	f = lk(F_WRLCK, 0, 40);
	if (fcntl(fd, F_SETLK, &f) != -1)
		return 2;
	f = lk(F_WRLCK, 60, 40);
	if (fcntl(fd, F_SETLK, &f) != -1)
		return 3;
	f = lk(F_WRLCK, 100, 1);
	if (fcntl(fd, F_SETLK, &f) != 0)
		return 4;
	/* F_GETLK reports the conflicting piece with its own range. */
	f = lk(F_RDLCK, 70, 5);
	if (fcntl(fd, F_GETLK, &f) != 0 || f.l_type != F_WRLCK ||
	    f.l_start != 60 || f.l_len != 40)
		return 5;
	return 0;
}

TEST(posix_unlock_middle_splits_lock)
{
	int fd = mkfile("f");
	struct flock f = lk(F_WRLCK, 0, 100);
	ASSERT_OK(fcntl(fd, F_SETLK, &f));
	f = lk(F_UNLCK, 40, 20);
	ASSERT_OK(fcntl(fd, F_SETLK, &f));
	EXPECT_EQ(in_child(child_probe_split, fd), 0);
}

static int child_setlkw(int fd)
{
	struct flock f = lk(F_WRLCK, 0, 0);
	if (fcntl(fd, F_SETLKW, &f) != 0)
		return 1;
	return 0;
}

TEST(posix_setlkw_waits_for_release)
{
	int fd = mkfile("f");
	struct flock f = lk(F_WRLCK, 0, 0);
	struct timespec ts = {0, 20 * 1000 * 1000};
	ASSERT_OK(fcntl(fd, F_SETLK, &f));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(child_setlkw(fd));
	nanosleep(&ts, NULL);
	/* The child cannot have the lock yet. */
	EXPECT_EQ(waitpid(pid, NULL, WNOHANG), 0);
	f = lk(F_UNLCK, 0, 0);
	ASSERT_OK(fcntl(fd, F_SETLK, &f));
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(epoll_edge_triggered)
{
	int p[2];
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET}, out;
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ASSERT_EQ(write(p[1], "ab", 2), 2);
	EXPECT_EQ(epoll_wait(ep, &out, 1, 1000), 1);
	/* No new data: no new edge, even though data is still there. */
	EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
	ASSERT_EQ(write(p[1], "c", 1), 1);
	EXPECT_EQ(epoll_wait(ep, &out, 1, 1000), 1);
}

TEST(epoll_oneshot_needs_rearm)
{
	int p[2];
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT}, out;
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ASSERT_EQ(write(p[1], "a", 1), 1);
	EXPECT_EQ(epoll_wait(ep, &out, 1, 1000), 1);
	ASSERT_EQ(write(p[1], "b", 1), 1);
	EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 1);
}

TEST(poll_errors_and_timeout)
{
	struct pollfd pf = {.fd = 0x3fff, .events = POLLIN};
	struct rlimit r;
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &r));
	EXPECT_ERRNO(syscall(SYS_poll, (void *)1, 1, 0), EFAULT);
	EXPECT_ERRNO(syscall(SYS_poll, &pf, (unsigned long)r.rlim_cur + 1, 0),
		     EINVAL);
	int p[2];
	ASSERT_OK(pipe(p));
	pf.fd = p[0];
	EXPECT_EQ(poll(&pf, 1, 10), 0);
	struct timespec bad = {0, 1000000000};
	EXPECT_ERRNO(ppoll(&pf, 1, &bad, NULL), EINVAL);
}
