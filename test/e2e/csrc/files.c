/* Reads, writes and lists files through the sandbox's root (the Gofer's
 * tree under a tmpfs overlay), printing what it sees. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: files HOSTFILE NEWFILE\n");
		return 2;
	}
	char buf[256];
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		printf("open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	buf[n < 0 ? 0 : n] = 0;
	struct stat st;
	fstat(fd, &st);
	close(fd);
	printf("read: %s", buf);
	printf("size: %lld\n", (long long)st.st_size);

	fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0640);
	if (fd < 0) {
		printf("create %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	write(fd, "written inside\n", 15);
	close(fd);
	fd = open(argv[2], O_RDONLY);
	n = read(fd, buf, sizeof buf - 1);
	buf[n < 0 ? 0 : n] = 0;
	close(fd);
	stat(argv[2], &st);
	printf("new file: %s", buf);
	printf("mode: %o\n", st.st_mode & 07777);

	if (open("/nonexistent/x", O_RDONLY) < 0)
		printf("missing: %s\n", strerror(errno));
	if (mkdir(argv[1], 0755) < 0)
		printf("mkdir over a file: %s\n", strerror(errno));

	DIR *d = opendir("/dev");
	int null_seen = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		null_seen |= strcmp(e->d_name, "null") == 0;
	if (d)
		closedir(d);
	printf("/dev/null listed: %d\n", null_seen);
	fd = open("/dev/null", O_WRONLY);
	printf("write /dev/null: %zd\n", write(fd, "x", 1));
	close(fd);
	if (getcwd(buf, sizeof buf))
		printf("cwd: %s\n", buf);
	return 0;
}
