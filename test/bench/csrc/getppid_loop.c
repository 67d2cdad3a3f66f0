/* getppid_loop: N getppid syscalls, then exit_group(0). No libc, so that the
 * same binary runs unchanged under runsc and under the minimal C tracer
 * (which serves only getppid and exit_group). N is the first argument. */
#include <asm/unistd.h>

static long sys1(long nr, long a) {
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a) : "rcx", "r11", "memory");
	return ret;
}

static long parse(const char *s) {
	long n = 0;
	while (*s >= '0' && *s <= '9')
		n = n * 10 + (*s++ - '0');
	return n;
}

long start_c(long *sp) {
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	long n = argc > 1 ? parse(argv[1]) : 1000;
	for (long i = 0; i < n; i++)
		sys1(__NR_getppid, 0);
	sys1(__NR_exit_group, 0);
	return 0;
}

__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start_c\n\thlt\n");
