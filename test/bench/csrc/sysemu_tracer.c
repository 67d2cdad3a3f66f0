/* sysemu_tracer: the ptrace floor. Runs a program under PTRACE_SYSEMU and
 * serves its system calls with the least work a tracer can do: one
 * PTRACE_GETREGS to learn the call and one PTRACE_SETREGS to return the
 * result. Only getppid, exit and exit_group are served; anything else gets
 * -ENOSYS. Usage: sysemu_tracer PROGRAM [ARGS...] */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
		return 2;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execv(argv[1], argv + 1);
		_exit(127);
	}
	int status;
	waitpid(child, &status, 0);
	ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD);
	/* Run to the exec stop with the real kernel serving execve. */
	ptrace(PTRACE_CONT, child, 0, 0);
	waitpid(child, &status, 0);
	for (;;) {
		if (ptrace(PTRACE_SYSEMU, child, 0, 0) < 0) {
			perror("PTRACE_SYSEMU");
			return 1;
		}
		if (waitpid(child, &status, __WALL) < 0) {
			perror("waitpid");
			return 1;
		}
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
		if (WIFSIGNALED(status))
			return 128 + WTERMSIG(status);
		struct user_regs_struct regs;
		ptrace(PTRACE_GETREGS, child, 0, &regs);
		switch (regs.orig_rax) {
		case SYS_getppid:
			regs.rax = 1;
			break;
		case SYS_exit:
		case SYS_exit_group:
			kill(child, SIGKILL);
			waitpid(child, &status, __WALL);
			return (int)(regs.rdi & 0xff);
		default:
			regs.rax = -ENOSYS;
		}
		ptrace(PTRACE_SETREGS, child, 0, &regs);
	}
}
