/* forkbomb: a fork bomb held in by RLIMIT_NPROC.
 *
 * The program sets RLIMIT_NPROC to 50 and drops to the nobody user (root
 * is exempt from the limit), then starts a bomb: every process forks in a
 * loop, and parent and child both go on forking, until fork fails. The
 * first failure is reported through a pipe; the original process then
 * kills the bomb's process group, reaps every process (it is pid 1 in the
 * sandbox, and a child subreaper natively, so the orphans come back to
 * it), and shows that fork works again once they are gone.
 *
 * A shared counter caps the bomb at CAP processes, so that a host or
 * sandbox that does not enforce the limit ends the run with a line saying
 * so instead of exhausting the machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIMIT 50
#define CAP 400
#define NOBODY 65534

int main(void) {
	struct rlimit rl = {LIMIT, LIMIT};
	if (setrlimit(RLIMIT_NPROC, &rl) != 0) {
		perror("setrlimit");
		return 1;
	}
	if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
		perror("dropping to nobody");
		return 1;
	}
	/* Natively the orphans must come back to us; in the sandbox we are
	 * pid 1 and get them anyway, so a failure here is not fatal. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	/* shared[0]: processes the bomb made; shared[1]: errno of the first
	 * failed fork. */
	int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	int p[2];
	if (pipe(p) != 0) {
		perror("pipe");
		return 1;
	}
	fflush(stdout);
	pid_t bomb = fork();
	if (bomb < 0) {
		perror("fork");
		return 1;
	}
	if (bomb == 0) {
		setpgid(0, 0);
		close(p[0]);
		for (;;) {
			if (__atomic_add_fetch(&shared[0], 1, __ATOMIC_SEQ_CST) > CAP) {
				write(p[1], "C", 1);
				for (;;)
					pause();
			}
			if (fork() < 0) {
				int zero = 0;
				__atomic_compare_exchange_n(&shared[1], &zero, errno, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
				write(p[1], "F", 1);
				for (;;)
					pause();
			}
			/* Parent and child alike go round again. */
		}
	}
	setpgid(bomb, bomb);
	close(p[1]);
	char why;
	while (read(p[0], &why, 1) != 1) {
		if (errno != EINTR) {
			perror("read");
			return 1;
		}
	}
	kill(-bomb, SIGKILL);
	int reaped = 0;
	for (;;) {
		pid_t r = waitpid(-1, NULL, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				break;
			perror("waitpid");
			return 1;
		}
		reaped++;
		/* A process forked while the first kill was under way is in
		 * the group too. */
		kill(-bomb, SIGKILL);
	}
	if (why == 'C')
		printf("limit not enforced: %d processes made\n", CAP);
	else
		printf("fork failed: %s\n", strerror(shared[1]));
	printf("reaped: %s\n", reaped > 0 ? "yes" : "none");
	pid_t again = fork();
	if (again < 0) {
		printf("fork after cleanup: %s\n", strerror(errno));
		return 1;
	}
	if (again == 0)
		_exit(7);
	int st;
	if (waitpid(again, &st, 0) != again) {
		perror("waitpid");
		return 1;
	}
	printf("fork after cleanup: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
