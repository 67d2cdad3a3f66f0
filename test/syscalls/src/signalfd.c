/* signalfd.c: signalfd/signalfd4: reading pending signals, masks, poll. */
#define AREA "signalfd"
#include "../harness.h"

#include <poll.h>
#include <sys/signalfd.h>

/* block blocks sig and returns the old mask through old. */
static void block(int sig, sigset_t *old)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, old);
}

TEST(reads_pending_signal_with_sender)
{
	sigset_t old, m;
	block(SIGUSR1, &old);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	int fd = signalfd(-1, &m, SFD_CLOEXEC);
	ASSERT_OK(fd);
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	ASSERT_OK(kill(getpid(), SIGUSR1));
	struct signalfd_siginfo si;
	ASSERT_EQ(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
	EXPECT_EQ(si.ssi_signo, SIGUSR1);
	EXPECT_EQ(si.ssi_code, SI_USER);
	EXPECT_EQ(si.ssi_pid, (uint32_t)getpid());
	EXPECT_EQ(si.ssi_uid, getuid());
	/* Taken: no longer pending. */
	sigset_t p;
	sigpending(&p);
	EXPECT_FALSE(sigismember(&p, SIGUSR1));
	close(fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

TEST(nonblocking_read_without_signal_eagain)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	int fd = signalfd(-1, &m, SFD_NONBLOCK);
	ASSERT_OK(fd);
	struct signalfd_siginfo si;
	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EAGAIN);
	close(fd);
}

TEST(short_buffer_einval)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	int fd = signalfd(-1, &m, SFD_NONBLOCK);
	ASSERT_OK(fd);
	char b[64];
	EXPECT_ERRNO(read(fd, b, sizeof(b)), EINVAL);
	close(fd);
}

TEST(bad_arguments)
{
	sigset_t m;
	sigemptyset(&m);
	EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &m, 4, 0), EINVAL);
	EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &m, 8, 0x10), EINVAL);
	EXPECT_ERRNO(syscall(SYS_signalfd4, -1, NULL, 8, 0), EFAULT);
	int nfd = open("/dev/null", O_RDONLY);
	ASSERT_OK(nfd);
	EXPECT_ERRNO(syscall(SYS_signalfd4, nfd, &m, 8, 0), EINVAL);
	close(nfd);
	EXPECT_ERRNO(syscall(SYS_signalfd4, 1000, &m, 8, 0), EBADF);
}

TEST(queued_value_and_several_per_read)
{
	sigset_t old, m;
	block(SIGRTMIN + 2, &old);
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN + 2);
	int fd = signalfd(-1, &m, SFD_NONBLOCK);
	ASSERT_OK(fd);
	union sigval v1 = {.sival_int = 11}, v2 = {.sival_int = 22};
	ASSERT_OK(sigqueue(getpid(), SIGRTMIN + 2, v1));
	ASSERT_OK(sigqueue(getpid(), SIGRTMIN + 2, v2));
	struct signalfd_siginfo si[3];
	ASSERT_EQ(read(fd, si, sizeof(si)), (ssize_t)(2 * sizeof(si[0])));
	EXPECT_EQ(si[0].ssi_code, SI_QUEUE);
	EXPECT_EQ(si[0].ssi_int, 11);
	EXPECT_EQ(si[1].ssi_int, 22);
	close(fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

TEST(poll_readable_when_pending_and_mask_update)
{
	sigset_t old, m;
	block(SIGUSR1, &old);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	int fd = signalfd(-1, &m, SFD_NONBLOCK);
	ASSERT_OK(fd);
	ASSERT_OK(kill(getpid(), SIGUSR1));
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	/* SIGUSR1 is pending but not in the mask. */
	EXPECT_EQ(poll(&pfd, 1, 0), 0);
	sigaddset(&m, SIGUSR1);
	EXPECT_EQ(signalfd(fd, &m, 0), fd);
	EXPECT_EQ(poll(&pfd, 1, 0), 1);
	EXPECT_EQ(pfd.revents, POLLIN);
	struct signalfd_siginfo si;
	EXPECT_EQ(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
	EXPECT_EQ(si.ssi_signo, SIGUSR1);
	EXPECT_EQ(poll(&pfd, 1, 0), 0);
	close(fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

TEST(blocking_read_woken_by_child_sigchld)
{
	sigset_t old, m;
	block(SIGCHLD, &old);
	sigemptyset(&m);
	sigaddset(&m, SIGCHLD);
	int fd = signalfd(-1, &m, 0);
	ASSERT_OK(fd);
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(7);
	struct signalfd_siginfo si;
	ASSERT_EQ(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
	EXPECT_EQ(si.ssi_signo, SIGCHLD);
	EXPECT_EQ(si.ssi_code, CLD_EXITED);
	EXPECT_EQ(si.ssi_pid, (uint32_t)pid);
	EXPECT_EQ(si.ssi_status, 7);
	EXPECT_EQ(h_wait(pid), 7);
	close(fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

TEST(sigkill_and_sigstop_never_in_mask)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGKILL);
	sigaddset(&m, SIGSTOP);
	int fd = signalfd(-1, &m, SFD_NONBLOCK);
	ASSERT_OK(fd);
	struct signalfd_siginfo si;
	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EAGAIN);
	close(fd);
}
