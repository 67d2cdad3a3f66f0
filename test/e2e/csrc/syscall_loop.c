/* Makes many system calls of several kinds and checks their answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(void) {
	pid_t pid = getpid();
	for (int i = 0; i < 1000; i++) {
		if (getpid() != pid) {
			printf("getpid changed\n");
			return 1;
		}
	}
	if (syscall(SYS_gettid) != pid) {
		printf("gettid %ld != pid %d\n", syscall(SYS_gettid), pid);
		return 1;
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 100; i++)
		clock_gettime(CLOCK_MONOTONIC, &b);
	if (b.tv_sec < a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec < a.tv_nsec)) {
		printf("monotonic clock went backwards\n");
		return 1;
	}
	unsigned char buf[64];
	memset(buf, 0, sizeof buf);
	if (getrandom(buf, sizeof buf, 0) != sizeof buf) {
		printf("getrandom failed\n");
		return 1;
	}
	int zeros = 0;
	for (size_t i = 0; i < sizeof buf; i++)
		zeros += buf[i] == 0;
	if (zeros > 16) {
		printf("getrandom returned %d zero bytes of 64\n", zeros);
		return 1;
	}
	struct utsname u;
	if (uname(&u) != 0 || strcmp(u.sysname, "Linux") != 0 || strcmp(u.machine, "x86_64") != 0) {
		printf("uname failed\n");
		return 1;
	}
	size_t sz = 8 << 20;
	char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("mmap failed\n");
		return 1;
	}
	for (size_t i = 0; i < sz; i += 4096)
		p[i] = (char)i;
	for (size_t i = 0; i < sz; i += 4096)
		if (p[i] != (char)i) {
			printf("memory mismatch at %zu\n", i);
			return 1;
		}
	if (munmap(p, sz) != 0) {
		printf("munmap failed\n");
		return 1;
	}
	char *small = malloc(100);
	strcpy(small, "heap ok");
	printf("%s; pid %d; %s %s\n", small, pid, u.sysname, u.machine);
	free(small);
	if (syscall(99999) != -1) {
		printf("unknown syscall succeeded\n");
		return 1;
	}
	printf("done\n");
	return 0;
}
