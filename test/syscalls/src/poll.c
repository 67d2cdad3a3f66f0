/* poll.c: poll, ppoll, select, pselect6, eventfd and epoll readiness. */
#define AREA "poll"
#include "../harness.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>

static volatile int poll_sigs;

static void on_sig(int sig)
{
	(void)sig;
	poll_sigs++;
}

static void handle(int sig, int flags)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_sig;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	poll_sigs = 0;
}

/* pester forks a child that sends SIG to the caller every few ms until
 * the case ends (the harness kills it). */
static void pester(int sig)
{
	pid_t parent = getpid();
	pid_t c = h_fork();
	if (c == 0) {
		for (;;) {
			usleep(5000);
			kill(parent, sig);
		}
	}
}

/* write_later forks a child that writes one byte to fd after a pause. */
static void write_later(int fd)
{
	pid_t c = h_fork();
	if (c == 0) {
		usleep(20000);
		if (write(fd, "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
}

TEST(poll_pipe_readiness)
{
	int p[2];
	ASSERT_OK(pipe(p));
	struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
	EXPECT_EQ(poll(fds, 2, 0), 1);
	EXPECT_EQ(fds[0].revents, 0);
	EXPECT_EQ(fds[1].revents, POLLOUT);
	ASSERT_EQ(write(p[1], "a", 1), 1);
	fds[0].revents = fds[1].revents = 0x7fff;
	EXPECT_EQ(poll(fds, 2, 0), 2);
	EXPECT_EQ(fds[0].revents, POLLIN);
	EXPECT_EQ(fds[1].revents, POLLOUT);
	fds[0].events = POLLIN | POLLRDNORM;
	EXPECT_EQ(poll(fds, 1, 0), 1);
	EXPECT_EQ(fds[0].revents, POLLIN | POLLRDNORM);
}

TEST(poll_hup_and_err_always_reported)
{
	int p[2], q[2];
	ASSERT_OK(pipe(p));
	ASSERT_OK(pipe(q));
	close(p[1]);
	close(q[0]);
	struct pollfd fds[2] = {{p[0], 0, 0}, {q[1], 0, 0}};
	EXPECT_EQ(poll(fds, 2, 0), 2);
	EXPECT_EQ(fds[0].revents, POLLHUP);
	EXPECT_EQ(fds[1].revents, POLLERR);
	fds[1].events = POLLOUT;
	EXPECT_EQ(poll(fds + 1, 1, 0), 1);
	EXPECT_EQ(fds[1].revents, POLLOUT | POLLERR);
}

TEST(poll_nval_and_negative_fd)
{
	struct pollfd fds[3] = {{900, POLLIN, 0}, {-1, POLLIN, 0x55}, {-5, POLLIN, 0}};
	EXPECT_EQ(poll(fds, 3, 0), 1);
	EXPECT_EQ(fds[0].revents, POLLNVAL);
	EXPECT_EQ(fds[1].revents, 0);
	EXPECT_EQ(fds[2].revents, 0);
}

TEST(poll_regular_file_always_ready)
{
	int fd = open(h_path("f"), O_CREAT | O_RDWR, 0600);
	ASSERT_GE(fd, 0);
	struct pollfd pfd = {fd, POLLIN | POLLOUT | POLLPRI, 0};
	EXPECT_EQ(poll(&pfd, 1, -1), 1);
	EXPECT_EQ(pfd.revents, POLLIN | POLLOUT);
	int n = open("/dev/null", O_RDONLY);
	ASSERT_GE(n, 0);
	pfd.fd = n;
	pfd.events = POLLIN;
	EXPECT_EQ(poll(&pfd, 1, -1), 1);
	EXPECT_EQ(pfd.revents, POLLIN);
}

TEST(poll_nfds_limit_and_efault)
{
	struct rlimit rl;
	ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_ERRNO(poll(NULL, rl.rlim_cur + 1, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_poll, (void *)8, 1, 0), EFAULT);
	EXPECT_EQ(poll(NULL, 0, 0), 0);
}

TEST(poll_timeout_expires)
{
	int p[2];
	ASSERT_OK(pipe(p));
	struct pollfd pfd = {p[0], POLLIN, 0x7fff};
	EXPECT_EQ(poll(&pfd, 1, 30), 0);
	EXPECT_EQ(pfd.revents, 0);
	EXPECT_EQ(poll(NULL, 0, 10), 0);
}

TEST(poll_blocks_until_write)
{
	int p[2];
	ASSERT_OK(pipe(p));
	write_later(p[1]);
	struct pollfd pfd = {p[0], POLLIN, 0};
	EXPECT_EQ(poll(&pfd, 1, -1), 1);
	EXPECT_EQ(pfd.revents, POLLIN);
}

TEST(poll_interrupted_eintr_even_with_sa_restart)
{
	int p[2];
	ASSERT_OK(pipe(p));
	handle(SIGUSR1, SA_RESTART);
	pester(SIGUSR1);
	struct pollfd pfd = {p[0], POLLIN, 0};
	EXPECT_ERRNO(poll(&pfd, 1, -1), EINTR);
	EXPECT_GE(poll_sigs, 1);
}

/* stop_cont_child forks a child that stops and continues the caller a few
 * times and exits (leaving it running). */
static pid_t stop_cont_child(void)
{
	pid_t parent = getpid();
	pid_t c = h_fork();
	if (c == 0) {
		for (int i = 0; i < 5; i++) {
			usleep(3000);
			kill(parent, SIGSTOP);
			usleep(3000);
			kill(parent, SIGCONT);
		}
		_exit(0);
	}
	return c;
}

TEST(poll_restarted_after_stop)
{
	int p[2];
	ASSERT_OK(pipe(p));
	pid_t c = stop_cont_child();
	struct pollfd pfd = {p[0], POLLIN, 0};
	/* No handler runs: the call is restarted, never EINTR. */
	EXPECT_EQ(poll(&pfd, 1, 60), 0);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timeval tv = {0, 60000};
	EXPECT_EQ(select(p[0] + 1, &r, NULL, NULL, &tv), 0);
	EXPECT_EQ(h_wait(c), 0);
}

TEST(ppoll_timeout_written_back)
{
	int p[2];
	ASSERT_OK(pipe(p));
	struct pollfd pfd = {p[0], POLLIN, 0};
	struct timespec ts = {0, 20000000};
	EXPECT_EQ(syscall(SYS_ppoll, &pfd, 1, &ts, NULL, 8), 0);
	EXPECT_EQ(ts.tv_sec, 0);
	EXPECT_EQ(ts.tv_nsec, 0);
	ASSERT_EQ(write(p[1], "a", 1), 1);
	ts.tv_sec = 100;
	ts.tv_nsec = 0;
	EXPECT_EQ(syscall(SYS_ppoll, &pfd, 1, &ts, NULL, 8), 1);
	EXPECT_LT(ts.tv_sec, 100);
	EXPECT_GE(ts.tv_sec, 0);
	EXPECT_LT(ts.tv_nsec, 1000000000);
}

TEST(ppoll_invalid_args)
{
	struct pollfd pfd = {0, 0, 0};
	struct timespec bad = {0, 1000000000};
	sigset_t set;
	sigemptyset(&set);
	EXPECT_ERRNO(syscall(SYS_ppoll, &pfd, 1, &bad, NULL, 8), EINVAL);
	bad.tv_sec = -1;
	bad.tv_nsec = 0;
	EXPECT_ERRNO(syscall(SYS_ppoll, &pfd, 1, &bad, NULL, 8), EINVAL);
	struct timespec zero = {0, 0};
	EXPECT_ERRNO(syscall(SYS_ppoll, &pfd, 1, &zero, &set, 4), EINVAL);
	EXPECT_ERRNO(syscall(SYS_ppoll, &pfd, 1, (void *)8, NULL, 8), EFAULT);
}

TEST(ppoll_sigmask_unblocks_pending_signal)
{
	int p[2];
	sigset_t block, empty, cur;
	ASSERT_OK(pipe(p));
	handle(SIGUSR1, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &block, NULL));
	ASSERT_OK(kill(getpid(), SIGUSR1));
	EXPECT_EQ(poll_sigs, 0);
	struct pollfd pfd = {p[0], POLLIN, 0};
	EXPECT_ERRNO(ppoll(&pfd, 1, NULL, &empty), EINTR);
	EXPECT_EQ(poll_sigs, 1);
	ASSERT_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
	EXPECT_TRUE(sigismember(&cur, SIGUSR1));
}

TEST(ppoll_ready_keeps_signal_pending)
{
	int p[2];
	sigset_t block, empty, cur;
	ASSERT_OK(pipe(p));
	ASSERT_EQ(write(p[1], "a", 1), 1);
	handle(SIGUSR1, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &block, NULL));
	ASSERT_OK(kill(getpid(), SIGUSR1));
	struct pollfd pfd = {p[0], POLLIN, 0};
	/* Ready at once: Linux returns the count, the mask is restored
	 * and the signal stays pending. */
	EXPECT_EQ(ppoll(&pfd, 1, NULL, &empty), 1);
	EXPECT_EQ(poll_sigs, 0);
	ASSERT_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
	EXPECT_TRUE(sigismember(&cur, SIGUSR1));
	ASSERT_OK(sigpending(&cur));
	EXPECT_TRUE(sigismember(&cur, SIGUSR1));
}

TEST(select_basic)
{
	int p[2];
	fd_set r, w;
	struct timeval tv = {0, 0};
	ASSERT_OK(pipe(p));
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	int n = (p[0] > p[1] ? p[0] : p[1]) + 1;
	EXPECT_EQ(select(n, &r, &w, NULL, &tv), 1);
	EXPECT_FALSE(FD_ISSET(p[0], &r));
	EXPECT_TRUE(FD_ISSET(p[1], &w));
	ASSERT_EQ(write(p[1], "a", 1), 1);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	EXPECT_EQ(select(n, &r, &w, NULL, &tv), 2);
	EXPECT_TRUE(FD_ISSET(p[0], &r));
	EXPECT_TRUE(FD_ISSET(p[1], &w));
	/* One fd in two sets counts twice. */
	fd_set r2, w2;
	FD_ZERO(&r2);
	FD_ZERO(&w2);
	int f = open(h_path("f"), O_CREAT | O_RDWR, 0600);
	ASSERT_GE(f, 0);
	FD_SET(f, &r2);
	FD_SET(f, &w2);
	EXPECT_EQ(select(f + 1, &r2, &w2, NULL, &tv), 2);
}

TEST(select_hup_is_readable_and_exceptions)
{
	int p[2];
	fd_set r, e;
	struct timeval tv = {0, 0};
	ASSERT_OK(pipe(p));
	close(p[1]);
	FD_ZERO(&r);
	FD_ZERO(&e);
	FD_SET(p[0], &r);
	FD_SET(p[0], &e);
	EXPECT_EQ(select(p[0] + 1, &r, NULL, &e, &tv), 1);
	EXPECT_TRUE(FD_ISSET(p[0], &r));
	EXPECT_FALSE(FD_ISSET(p[0], &e));
}

TEST(select_errors)
{
	fd_set r;
	struct timeval tv = {0, 0};
	int closed = dup(0);
	ASSERT_GE(closed, 0);
	close(closed);
	FD_ZERO(&r);
	FD_SET(closed, &r);
	EXPECT_ERRNO(select(closed + 1, &r, NULL, NULL, &tv), EBADF);
	/* nfds is capped at the fd table's size (64 fds while no fd is
	 * above 63): bits past it are not looked at. */
	FD_ZERO(&r);
	FD_SET(900, &r);
	EXPECT_EQ(select(901, &r, NULL, NULL, &tv), 0);
	FD_SET(closed, &r);
	EXPECT_ERRNO(select(-1, NULL, NULL, NULL, &tv), EINVAL);
	struct timeval bad = {0, -1};
	EXPECT_ERRNO(syscall(SYS_select, 0, NULL, NULL, NULL, &bad), EINVAL);
	bad.tv_sec = -1;
	bad.tv_usec = 0;
	EXPECT_ERRNO(syscall(SYS_select, 0, NULL, NULL, NULL, &bad), EINVAL);
	EXPECT_ERRNO(syscall(SYS_select, 1, (fd_set *)8, NULL, NULL, &tv), EFAULT);
	EXPECT_ERRNO(syscall(SYS_select, 1, NULL, NULL, NULL, (void *)8), EFAULT);
	/* Bits at or above nfds are not looked at. */
	EXPECT_EQ(select(0, &r, NULL, NULL, &tv), 0);
}

TEST(select_usec_carries_over)
{
	int p[2];
	fd_set w;
	ASSERT_OK(pipe(p));
	FD_ZERO(&w);
	FD_SET(p[1], &w);
	struct timeval tv = {0, 1500000};
	EXPECT_EQ(select(p[1] + 1, NULL, &w, NULL, &tv), 1);
	EXPECT_LE(tv.tv_sec, 1);
	EXPECT_LT(tv.tv_usec, 1000000);
}

TEST(select_timeout_written_back)
{
	int p[2];
	fd_set r;
	ASSERT_OK(pipe(p));
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timeval tv = {0, 20000};
	EXPECT_EQ(select(p[0] + 1, &r, NULL, NULL, &tv), 0);
	EXPECT_EQ(tv.tv_sec, 0);
	EXPECT_EQ(tv.tv_usec, 0);
	EXPECT_FALSE(FD_ISSET(p[0], &r));
}

TEST(select_blocks_until_write)
{
	int p[2];
	fd_set r;
	ASSERT_OK(pipe(p));
	write_later(p[1]);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	EXPECT_EQ(select(p[0] + 1, &r, NULL, NULL, NULL), 1);
	EXPECT_TRUE(FD_ISSET(p[0], &r));
}

TEST(select_interrupted)
{
	int p[2];
	fd_set r;
	ASSERT_OK(pipe(p));
	handle(SIGUSR1, 0);
	pester(SIGUSR1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	EXPECT_ERRNO(select(p[0] + 1, &r, NULL, NULL, NULL), EINTR);
	EXPECT_GE(poll_sigs, 1);
}

TEST(pselect6_sigmask)
{
	int p[2];
	fd_set r;
	sigset_t block, empty, cur;
	ASSERT_OK(pipe(p));
	handle(SIGUSR2, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigemptyset(&empty);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &block, NULL));
	ASSERT_OK(kill(getpid(), SIGUSR2));
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	EXPECT_ERRNO(pselect(p[0] + 1, &r, NULL, NULL, NULL, &empty), EINTR);
	EXPECT_EQ(poll_sigs, 1);
	ASSERT_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
	EXPECT_TRUE(sigismember(&cur, SIGUSR2));
	/* A wrong sigset size is EINVAL. */
	struct {
		sigset_t *ss;
		size_t len;
	} arg = {&empty, 4};
	struct timespec ts = {0, 0};
	EXPECT_ERRNO(syscall(SYS_pselect6, 0, NULL, NULL, NULL, &ts, &arg), EINVAL);
	arg.len = 8;
	EXPECT_EQ(syscall(SYS_pselect6, 0, NULL, NULL, NULL, &ts, &arg), 0);
	struct timespec bad = {0, 1000000000};
	EXPECT_ERRNO(syscall(SYS_pselect6, 0, NULL, NULL, NULL, &bad, NULL), EINVAL);
}

static uint64_t efd_read(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, 8) != 8)
		return (uint64_t)-1;
	return v;
}

TEST(eventfd_counter)
{
	int fd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
	uint64_t v = 4;
	EXPECT_EQ(write(fd, &v, 8), 8);
	EXPECT_EQ(efd_read(fd), 7);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
	char small[4];
	EXPECT_ERRNO(read(fd, small, 4), EINVAL);
	EXPECT_ERRNO(write(fd, small, 4), EINVAL);
	v = ~0ULL;
	EXPECT_ERRNO(write(fd, &v, 8), EINVAL);
	v = ~0ULL - 1;
	EXPECT_EQ(write(fd, &v, 8), 8);
	v = 1;
	EXPECT_ERRNO(write(fd, &v, 8), EAGAIN);
	EXPECT_ERRNO(eventfd(0, 0x4), EINVAL);
	char link[64] = {0};
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	EXPECT_GT(readlink(path, link, sizeof(link) - 1), 0);
	EXPECT_STREQ(link, "anon_inode:[eventfd]");
}

TEST(eventfd_semaphore)
{
	int fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(efd_read(fd), 1);
	EXPECT_EQ(efd_read(fd), 1);
	uint64_t v;
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
}

TEST(eventfd_poll_and_blocking_read)
{
	int fd = eventfd(0, 0);
	ASSERT_GE(fd, 0);
	struct pollfd pfd = {fd, POLLIN | POLLOUT, 0};
	EXPECT_EQ(poll(&pfd, 1, 0), 1);
	EXPECT_EQ(pfd.revents, POLLOUT);
	pid_t c = h_fork();
	if (c == 0) {
		uint64_t one = 1;
		usleep(20000);
		_exit(write(fd, &one, 8) == 8 ? 0 : 1);
	}
	EXPECT_EQ(efd_read(fd), 1);
	EXPECT_EQ(h_wait(c), 0);
}

TEST(epoll_create_args)
{
	EXPECT_ERRNO(epoll_create(0), EINVAL);
	EXPECT_ERRNO(epoll_create(-1), EINVAL);
	EXPECT_ERRNO(epoll_create1(1), EINVAL);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	EXPECT_EQ(fcntl(ep, F_GETFD), FD_CLOEXEC);
	int ep2 = epoll_create(1);
	ASSERT_GE(ep2, 0);
	EXPECT_EQ(fcntl(ep2, F_GETFD), 0);
	char link[64] = {0};
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ep);
	EXPECT_GT(readlink(path, link, sizeof(link) - 1), 0);
	EXPECT_STREQ(link, "anon_inode:[eventpoll]");
}

TEST(epoll_level_triggered)
{
	int p[2];
	struct epoll_event ev = {0}, out[4];
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ev.events = EPOLLIN;
	ev.data.u64 = 0x1122334455667788ULL;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 0);
	ASSERT_EQ(write(p[1], "ab", 2), 2);
	for (int i = 0; i < 2; i++) {
		memset(out, 0, sizeof(out));
		EXPECT_EQ(epoll_wait(ep, out, 4, 0), 1);
		EXPECT_EQ(out[0].events, EPOLLIN);
		EXPECT_EQ(out[0].data.u64, 0x1122334455667788ULL);
	}
	char buf[2];
	ASSERT_EQ(read(p[0], buf, 2), 2);
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 0);
	EXPECT_EQ(epoll_wait(ep, out, 4, 20), 0);
}

TEST(epoll_edge_triggered)
{
	int p[2];
	struct epoll_event ev = {0}, out[4];
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ev.events = EPOLLIN | EPOLLET;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ASSERT_EQ(write(p[1], "a", 1), 1);
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 1);
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 0);
	ASSERT_EQ(write(p[1], "b", 1), 1);
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 1);
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 0);
}

TEST(epoll_oneshot_and_mod)
{
	int p[2];
	struct epoll_event ev = {0}, out[4];
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.u32 = 5;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ASSERT_EQ(write(p[1], "a", 1), 1);
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 1);
	EXPECT_EQ(out[0].data.u32, 5);
	ASSERT_EQ(write(p[1], "b", 1), 1);
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 0);
	ev.events = EPOLLIN;
	ev.data.u32 = 6;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 1);
	EXPECT_EQ(out[0].data.u32, 6);
	ev.events = EPOLLOUT;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 0);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT);
}

TEST(epoll_ctl_errors)
{
	int p[2];
	struct epoll_event ev = {0};
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ev.events = EPOLLIN;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, 900, &ev), EBADF);
	EXPECT_ERRNO(epoll_ctl(900, EPOLL_CTL_ADD, p[0], &ev), EBADF);
	EXPECT_ERRNO(epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev), EINVAL);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	EXPECT_ERRNO(epoll_ctl(ep, 99, p[1], &ev), EINVAL);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], (void *)8), EFAULT);
	int f = open(h_path("f"), O_CREAT | O_RDWR, 0600);
	ASSERT_GE(f, 0);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev), EPERM);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev), EINVAL);
	ev.events = EPOLLOUT | EPOLLEXCLUSIVE;
	EXPECT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
	ev.events = EPOLLOUT;
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), EINVAL);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), EINVAL);
}

TEST(epoll_wait_errors)
{
	struct epoll_event out[2];
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	EXPECT_ERRNO(epoll_wait(ep, out, 0, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_epoll_wait, ep, out, -1, 0), EINVAL);
	EXPECT_ERRNO(epoll_wait(900, out, 1, 0), EBADF);
	int p[2];
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(epoll_wait(p[0], out, 1, 0), EINVAL);
	sigset_t set;
	sigemptyset(&set);
	EXPECT_ERRNO(syscall(SYS_epoll_pwait, ep, out, 1, 0, &set, 4), EINVAL);
}

TEST(epoll_hup_err_reported_unasked)
{
	int p[2], q[2];
	struct epoll_event ev = {0}, out[4];
	ASSERT_OK(pipe(p));
	ASSERT_OK(pipe(q));
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ev.events = 0;
	ev.data.fd = p[0];
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ev.data.fd = q[1];
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, q[1], &ev));
	EXPECT_EQ(epoll_wait(ep, out, 4, 0), 0);
	close(p[1]);
	close(q[0]);
	int n = epoll_wait(ep, out, 4, 0);
	EXPECT_EQ(n, 2);
	for (int i = 0; i < n; i++) {
		if (out[i].data.fd == p[0])
			EXPECT_EQ(out[i].events, EPOLLHUP);
		else
			EXPECT_EQ(out[i].events, EPOLLERR);
	}
}

TEST(epoll_maxevents_round_robin)
{
	int p[3][2];
	struct epoll_event ev = {0}, out[3];
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	for (int i = 0; i < 3; i++) {
		ASSERT_OK(pipe(p[i]));
		ev.events = EPOLLOUT;
		ev.data.u32 = i;
		ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[i][1], &ev));
	}
	int seen[3] = {0};
	for (int round = 0; round < 3; round++) {
		EXPECT_EQ(epoll_wait(ep, out, 1, 0), 1);
		if (out[0].data.u32 < 3)
			seen[out[0].data.u32]++;
	}
	EXPECT_EQ(seen[0], 1);
	EXPECT_EQ(seen[1], 1);
	EXPECT_EQ(seen[2], 1);
	EXPECT_EQ(epoll_wait(ep, out, 3, 0), 3);
}

TEST(epoll_item_follows_description_not_fd)
{
	int p[2];
	struct epoll_event ev = {0}, out[2];
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ev.events = EPOLLIN;
	ev.data.u32 = 9;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	int d = dup(p[0]);
	ASSERT_GE(d, 0);
	close(p[0]);
	ASSERT_EQ(write(p[1], "a", 1), 1);
	EXPECT_EQ(epoll_wait(ep, out, 2, 0), 1);
	EXPECT_EQ(out[0].data.u32, 9);
	/* The fd it was added with is closed: DEL fails with EBADF. */
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), EBADF);
	close(d);
	EXPECT_EQ(epoll_wait(ep, out, 2, 0), 0);
}

TEST(epoll_blocking_wait)
{
	int p[2];
	struct epoll_event ev = {0}, out[2];
	ASSERT_OK(pipe(p));
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ev.events = EPOLLIN;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	write_later(p[1]);
	EXPECT_EQ(epoll_wait(ep, out, 2, -1), 1);
	EXPECT_EQ(out[0].events, EPOLLIN);
}

TEST(epoll_wait_interrupted_eintr)
{
	struct epoll_event out[2];
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	handle(SIGUSR1, SA_RESTART);
	pester(SIGUSR1);
	EXPECT_ERRNO(epoll_wait(ep, out, 2, -1), EINTR);
	EXPECT_GE(poll_sigs, 1);
}

TEST(epoll_pwait_sigmask)
{
	struct epoll_event out[2];
	sigset_t block, empty, cur;
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	handle(SIGUSR2, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigemptyset(&empty);
	ASSERT_OK(sigprocmask(SIG_BLOCK, &block, NULL));
	ASSERT_OK(kill(getpid(), SIGUSR2));
	EXPECT_ERRNO(epoll_pwait(ep, out, 2, -1, &empty), EINTR);
	EXPECT_EQ(poll_sigs, 1);
	ASSERT_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
	EXPECT_TRUE(sigismember(&cur, SIGUSR2));
}

TEST(epoll_nested_and_loops)
{
	int p[2];
	struct epoll_event ev = {0}, out[2];
	ASSERT_OK(pipe(p));
	int inner = epoll_create1(0), outer = epoll_create1(0);
	ASSERT_GE(inner, 0);
	ASSERT_GE(outer, 0);
	ev.events = EPOLLIN;
	ASSERT_OK(epoll_ctl(inner, EPOLL_CTL_ADD, p[0], &ev));
	ev.data.u32 = 3;
	ASSERT_OK(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev));
	EXPECT_ERRNO(epoll_ctl(inner, EPOLL_CTL_ADD, outer, &ev), ELOOP);
	EXPECT_EQ(epoll_wait(outer, out, 2, 0), 0);
	struct pollfd pfd = {inner, POLLIN, 0};
	EXPECT_EQ(poll(&pfd, 1, 0), 0);
	ASSERT_EQ(write(p[1], "a", 1), 1);
	EXPECT_EQ(epoll_wait(outer, out, 2, 0), 1);
	EXPECT_EQ(out[0].data.u32, 3);
	EXPECT_EQ(out[0].events, EPOLLIN);
	EXPECT_EQ(poll(&pfd, 1, 0), 1);
	EXPECT_EQ(pfd.revents, POLLIN);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	int third = epoll_create1(0);
	ASSERT_GE(third, 0);
	EXPECT_ERRNO(epoll_ctl(third, EPOLL_CTL_ADD, inner, &ev), EINVAL);
}

TEST(epoll_eventfd)
{
	struct epoll_event ev = {0}, out[2];
	int fd = eventfd(0, EFD_NONBLOCK);
	ASSERT_GE(fd, 0);
	int ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ev.events = EPOLLIN | EPOLLET;
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	EXPECT_EQ(epoll_wait(ep, out, 2, 0), 0);
	uint64_t v = 1;
	ASSERT_EQ(write(fd, &v, 8), 8);
	EXPECT_EQ(epoll_wait(ep, out, 2, 0), 1);
	EXPECT_EQ(out[0].events, EPOLLIN);
	EXPECT_EQ(epoll_wait(ep, out, 2, 0), 0);
	ASSERT_EQ(write(fd, &v, 8), 8);
	EXPECT_EQ(epoll_wait(ep, out, 2, 0), 1);
}

TEST(epoll_nesting_depth_limit)
{
	struct epoll_event ev = {0};
	int e[6], f[6];
	ev.events = EPOLLIN;
	for (int i = 0; i < 6; i++) {
		e[i] = epoll_create1(0);
		f[i] = epoll_create1(0);
		ASSERT_GE(e[i], 0);
		ASSERT_GE(f[i], 0);
	}
	/* Built bottom-up: e0 in e1 in ... in e4 is the deepest chain. */
	for (int i = 1; i < 5; i++)
		EXPECT_OK(epoll_ctl(e[i], EPOLL_CTL_ADD, e[i - 1], &ev));
	EXPECT_ERRNO(epoll_ctl(e[5], EPOLL_CTL_ADD, e[4], &ev), ELOOP);
	/* Built top-down: the depth above counts too. */
	for (int i = 5; i > 2; i--)
		EXPECT_OK(epoll_ctl(f[i], EPOLL_CTL_ADD, f[i - 1], &ev));
	EXPECT_OK(epoll_ctl(f[2], EPOLL_CTL_ADD, f[1], &ev));
	EXPECT_ERRNO(epoll_ctl(f[1], EPOLL_CTL_ADD, f[0], &ev), ELOOP);
}
