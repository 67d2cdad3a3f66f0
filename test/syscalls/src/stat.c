/* stat.c: stat family, statx, timestamps, modes, owners, statfs, /proc files. */
#define AREA "stat"
#include "../harness.h"

#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>

static int mkfile(const char *name, size_t len)
{
	int fd = open(h_path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		h_fail(1, __FILE__, __LINE__, "open: %s", strerror(errno));
	char buf[512];
	memset(buf, 'x', sizeof(buf));
	while (len > 0) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		if (write(fd, buf, n) != (ssize_t)n)
			h_fail(1, __FILE__, __LINE__, "write");
		len -= n;
	}
	return fd;
}

static char *slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	size_t got = 0;
	ssize_t n;
	if (fd < 0)
		return NULL;
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return buf;
}

TEST(stat_regular_file_fields)
{
	struct stat st;
	int fd = mkfile("f", 5000);
	ASSERT_OK(fsync(fd));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0644);
	EXPECT_EQ(st.st_size, 5000);
	EXPECT_EQ(st.st_nlink, 1);
	EXPECT_EQ(st.st_uid, 0);
	EXPECT_EQ(st.st_gid, 0);
	EXPECT_GT(st.st_blksize, 0);
	EXPECT_GE(st.st_blocks * 512, 5000);
	EXPECT_GT(st.st_ino, 0);
}

TEST(fstat_matches_stat)
{
	struct stat a, b;
	int fd = mkfile("f", 10);
	ASSERT_OK(stat(h_path("f"), &a));
	ASSERT_OK(fstat(fd, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_dev, b.st_dev);
	EXPECT_EQ(a.st_size, b.st_size);
	EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
}

TEST(lstat_symlink_fields)
{
	struct stat st;
	ASSERT_OK(symlink("twelve-chars", h_path("l")));
	ASSERT_OK(lstat(h_path("l"), &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	EXPECT_EQ(st.st_mode & 0777, 0777);
	EXPECT_EQ(st.st_size, 12);
}

TEST(directory_fields)
{
	struct stat st;
	ASSERT_OK(mkdir(h_path("d"), 0755));
	ASSERT_OK(stat(h_path("d"), &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(st.st_nlink, 2);
	EXPECT_GT(st.st_size, 0);
}

TEST(dev_null_is_char_device)
{
	struct stat st;
	ASSERT_OK(stat("/dev/null", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(major(st.st_rdev), 1);
	EXPECT_EQ(minor(st.st_rdev), 3);
}

TEST(inode_stable_across_opens_and_rename)
{
	struct stat a, b, c;
	int fd = mkfile("f", 1);
	ASSERT_OK(fstat(fd, &a));
	int fd2 = open(h_path("f"), O_RDONLY);
	ASSERT_OK(fstat(fd2, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	ASSERT_OK(rename(h_path("f"), h_path("g")));
	ASSERT_OK(stat(h_path("g"), &c));
	EXPECT_EQ(a.st_ino, c.st_ino);
	EXPECT_EQ(a.st_dev, c.st_dev);
}

TEST(unlinked_open_file_nlink_zero)
{
	struct stat st;
	int fd = mkfile("f", 3);
	ASSERT_OK(unlink(h_path("f")));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_nlink, 0);
	EXPECT_EQ(st.st_size, 3);
}

TEST(sparse_file_has_no_blocks)
{
	struct stat st;
	int fd = mkfile("f", 0);
	ASSERT_OK(ftruncate(fd, 1 << 20));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_size, 1 << 20);
	EXPECT_EQ(st.st_blocks, 0);
}

TEST(stat_errors)
{
	struct stat st;
	EXPECT_ERRNO(stat(h_path("missing"), &st), ENOENT);
	EXPECT_ERRNO(fstat(0x3fff, &st), EBADF);
	EXPECT_ERRNO(syscall(SYS_newfstatat, AT_FDCWD, "/", (void *)1, 0), EFAULT);
	EXPECT_ERRNO(syscall(SYS_fstat, 0, (void *)1), EFAULT);
	EXPECT_ERRNO(syscall(SYS_newfstatat, AT_FDCWD, NULL, &st, 0), EFAULT);
}

TEST(statx_basic_fields)
{
	struct statx sx;
	struct stat st;
	mkfile("f", 1234);
	ASSERT_OK(stat(h_path("f"), &st));
	memset(&sx, 0xff, sizeof(sx));
	ASSERT_OK(statx(AT_FDCWD, h_path("f"), 0, STATX_BASIC_STATS, &sx));
	EXPECT_EQ(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
	EXPECT_EQ(sx.stx_size, 1234);
	EXPECT_EQ(sx.stx_mode, st.st_mode);
	EXPECT_EQ(sx.stx_ino, st.st_ino);
	EXPECT_EQ(sx.stx_nlink, 1);
	EXPECT_EQ(sx.stx_uid, 0);
	EXPECT_EQ(sx.stx_blocks, st.st_blocks);
	EXPECT_EQ(makedev(sx.stx_dev_major, sx.stx_dev_minor), st.st_dev);
	EXPECT_EQ(sx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
	EXPECT_EQ(sx.stx_mtime.tv_nsec, st.st_mtim.tv_nsec);
	if (sx.stx_mask & STATX_BTIME)
		EXPECT_LE(sx.stx_btime.tv_sec, sx.stx_mtime.tv_sec);
}

TEST(statx_empty_path_and_nofollow)
{
	struct statx sx;
	int fd = mkfile("f", 7);
	ASSERT_OK(statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx));
	EXPECT_EQ(sx.stx_size, 7);
	ASSERT_OK(symlink("f", h_path("l")));
	ASSERT_OK(statx(AT_FDCWD, h_path("l"), AT_SYMLINK_NOFOLLOW, STATX_TYPE,
			&sx));
	EXPECT_TRUE(S_ISLNK(sx.stx_mode));
	ASSERT_OK(statx(AT_FDCWD, h_path("l"), 0, STATX_TYPE, &sx));
	EXPECT_TRUE(S_ISREG(sx.stx_mode));
}

TEST(statx_errors)
{
	struct statx sx;
	EXPECT_ERRNO(statx(AT_FDCWD, "/", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC,
			   STATX_BASIC_STATS, &sx),
		     EINVAL);
	EXPECT_ERRNO(statx(AT_FDCWD, "/", 0, 0x80000000U, &sx), EINVAL);
	EXPECT_ERRNO(statx(AT_FDCWD, "/", 0x1, STATX_BASIC_STATS, &sx), EINVAL);
	EXPECT_ERRNO(statx(AT_FDCWD, h_path("none"), 0, STATX_BASIC_STATS, &sx),
		     ENOENT);
	EXPECT_ERRNO(statx(AT_FDCWD, "/", 0, STATX_BASIC_STATS, (void *)1),
		     EFAULT);
}

TEST(utimensat_sets_exact_times)
{
	struct stat st;
	struct timespec ts[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
	mkfile("f", 1);
	ASSERT_OK(utimensat(AT_FDCWD, h_path("f"), ts, 0));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
	EXPECT_EQ(st.st_atim.tv_nsec, 123456789);
	EXPECT_EQ(st.st_mtim.tv_sec, 1100000000);
	EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);
}

TEST(utimensat_utime_now_and_omit)
{
	struct stat st;
	struct timespec old[2] = {{1000, 0}, {2000, 0}};
	struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	time_t before = time(NULL);
	mkfile("f", 1);
	ASSERT_OK(utimensat(AT_FDCWD, h_path("f"), old, 0));
	ASSERT_OK(utimensat(AT_FDCWD, h_path("f"), ts, 0));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_atim.tv_sec, 1000);
	EXPECT_GE(st.st_mtim.tv_sec, before - 1);
	EXPECT_LE(st.st_mtim.tv_sec, time(NULL) + 1); /* time() is coarse */
	/* Both omitted: nothing changes. */
	struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	ASSERT_OK(utimensat(AT_FDCWD, h_path("f"), omit, 0));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_atim.tv_sec, 1000);
}

TEST(utimensat_null_sets_now)
{
	struct stat st;
	struct timespec old[2] = {{1000, 0}, {2000, 0}};
	time_t before = time(NULL);
	int fd = mkfile("f", 1);
	ASSERT_OK(futimens(fd, old));
	ASSERT_OK(futimens(fd, NULL));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_GE(st.st_atim.tv_sec, before - 1);
	EXPECT_GE(st.st_mtim.tv_sec, before - 1);
}

TEST(utimensat_errors)
{
	struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	mkfile("f", 1);
	EXPECT_ERRNO(utimensat(AT_FDCWD, h_path("f"), bad, 0), EINVAL);
	struct timespec ok[2] = {{0, 0}, {0, 0}};
	EXPECT_ERRNO(utimensat(AT_FDCWD, h_path("f"), ok, 0x1), EINVAL);
	EXPECT_ERRNO(utimensat(AT_FDCWD, h_path("missing"), ok, 0), ENOENT);
	EXPECT_ERRNO(futimens(0x3fff, ok), EBADF);
}

TEST(utimensat_symlink_nofollow)
{
	struct stat l, t;
	struct timespec ts[2] = {{3000, 0}, {4000, 0}};
	mkfile("f", 1);
	ASSERT_OK(symlink("f", h_path("l")));
	ASSERT_OK(utimensat(AT_FDCWD, h_path("l"), ts, AT_SYMLINK_NOFOLLOW));
	ASSERT_OK(lstat(h_path("l"), &l));
	ASSERT_OK(stat(h_path("f"), &t));
	EXPECT_EQ(l.st_mtim.tv_sec, 4000);
	EXPECT_NE(t.st_mtim.tv_sec, 4000);
}

TEST(write_updates_mtime_and_ctime)
{
	struct stat st;
	struct timespec old[2] = {{1000, 0}, {1000, 0}};
	time_t before = time(NULL);
	int fd = mkfile("f", 1);
	ASSERT_OK(futimens(fd, old));
	ASSERT_EQ(write(fd, "more", 4), 4);
	ASSERT_OK(fstat(fd, &st));
	EXPECT_GE(st.st_mtim.tv_sec, before - 1);
	EXPECT_GE(st.st_ctim.tv_sec, before - 1);
	EXPECT_EQ(st.st_atim.tv_sec, 1000);
}

TEST(chmod_updates_ctime_only)
{
	struct stat st;
	struct timespec old[2] = {{1000, 0}, {1000, 0}};
	time_t before = time(NULL);
	int fd = mkfile("f", 1);
	ASSERT_OK(futimens(fd, old));
	ASSERT_OK(fchmod(fd, 0600));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_mtim.tv_sec, 1000);
	EXPECT_GE(st.st_ctim.tv_sec, before - 1);
}

TEST(chmod_family)
{
	struct stat st;
	int fd = mkfile("f", 1);
	ASSERT_OK(chmod(h_path("f"), 04751));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_mode & 07777, 04751);
	ASSERT_OK(fchmod(fd, 0640));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_mode & 07777, 0640);
	int dfd = open(h_path(""), O_RDONLY | O_DIRECTORY);
	ASSERT_OK(fchmodat(dfd, "f", 01777, 0));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_mode & 07777, 01777);
	/* Only permission bits change; the type stays. */
	EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(chmod_errors)
{
	ASSERT_OK(symlink("x", h_path("l")));
	EXPECT_ERRNO(chmod(h_path("missing"), 0600), ENOENT);
	EXPECT_ERRNO(fchmod(0x3fff, 0600), EBADF);
	EXPECT_ERRNO(fchmodat(AT_FDCWD, h_path("l"), 0600, AT_SYMLINK_NOFOLLOW),
		     EOPNOTSUPP);
	EXPECT_ERRNO(fchmodat(AT_FDCWD, h_path("l"), 0600, 0x1), EINVAL);
}

TEST(chown_as_root)
{
	struct stat st;
	int fd = mkfile("f", 1);
	ASSERT_OK(chown(h_path("f"), 1000, 2000));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_uid, 1000);
	EXPECT_EQ(st.st_gid, 2000);
	ASSERT_OK(fchown(fd, -1, 3000));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_uid, 1000);
	EXPECT_EQ(st.st_gid, 3000);
	EXPECT_ERRNO(fchown(0x3fff, 0, 0), EBADF);
}

TEST(lchown_changes_link_itself)
{
	struct stat l, t;
	mkfile("f", 1);
	ASSERT_OK(symlink("f", h_path("l")));
	ASSERT_OK(lchown(h_path("l"), 1234, 1234));
	ASSERT_OK(lstat(h_path("l"), &l));
	ASSERT_OK(stat(h_path("f"), &t));
	EXPECT_EQ(l.st_uid, 1234);
	EXPECT_EQ(t.st_uid, 0);
	ASSERT_OK(fchownat(AT_FDCWD, h_path("l"), 55, 55, 0));
	ASSERT_OK(stat(h_path("f"), &t));
	EXPECT_EQ(t.st_uid, 55);
}

TEST(chown_clears_setuid)
{
	struct stat st;
	mkfile("f", 1);
	ASSERT_OK(chmod(h_path("f"), 06755));
	ASSERT_OK(chown(h_path("f"), 1000, 1000));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_mode & 07777, 0755);
}

TEST(chown_by_non_owner_eperm)
{
	mkfile("f", 1);
	h_path("x");
	ASSERT_OK(chmod(h_path(""), 0755));
	const char *p = h_path("f");
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(1);
		if (chown(p, 65534, 65534) != -1 || errno != EPERM)
			_exit(2);
		if (chmod(p, 0777) != -1 || errno != EPERM)
			_exit(3);
		_exit(0);
	}
	EXPECT_EQ(h_wait(pid), 0);
}

TEST(statfs_tmp)
{
	struct statfs a, b;
	ASSERT_OK(statfs("/tmp", &a));
	EXPECT_GT(a.f_bsize, 0);
	EXPECT_GT(a.f_blocks, 0);
	EXPECT_LE(a.f_bfree, a.f_blocks);
	EXPECT_LE(a.f_bavail, a.f_bfree);
	EXPECT_EQ(a.f_namelen, 255);
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	ASSERT_OK(fstatfs(fd, &b));
	EXPECT_EQ(a.f_type, b.f_type);
	EXPECT_EQ(a.f_blocks, b.f_blocks);
	EXPECT_ERRNO(statfs(h_path("missing"), &a), ENOENT);
	EXPECT_ERRNO(fstatfs(0x3fff, &a), EBADF);
}

TEST(statfs_proc_magic)
{
	struct statfs s;
	ASSERT_OK(statfs("/proc", &s));
	EXPECT_EQ(s.f_type, 0x9fa0); /* PROC_SUPER_MAGIC */
}

TEST(proc_self_maps_format)
{
	static char buf[65536];
	ASSERT_TRUE(slurp("/proc/self/maps", buf, sizeof(buf)) != NULL);
	int lines = 0, stack = 0, ok = 1;
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
		unsigned long s, e, off, ino;
		unsigned maj, min;
		char perms[8];
		int n = sscanf(l, "%lx-%lx %7s %lx %x:%x %lu", &s, &e, perms,
			       &off, &maj, &min, &ino);
		if (n != 7 || s >= e || strlen(perms) != 4 ||
		    !strchr("r-", perms[0]) || !strchr("w-", perms[1]) ||
		    !strchr("x-", perms[2]) || !strchr("ps", perms[3])) {
			ok = 0;
			h_fail(0, __FILE__, __LINE__, "bad maps line: %s", l);
			break;
		}
		if (strstr(l, "[stack]"))
			stack = 1;
		lines++;
	}
	EXPECT_TRUE(ok);
	EXPECT_GE(lines, 3);
	EXPECT_TRUE(stack);
}

TEST(proc_self_stat_and_status)
{
	char buf[4096], want[64];
	ASSERT_TRUE(slurp("/proc/self/stat", buf, sizeof(buf)) != NULL);
	int pid = 0;
	char state = 0;
	char *rp = strrchr(buf, ')');
	ASSERT_TRUE(rp != NULL);
	EXPECT_EQ(sscanf(buf, "%d", &pid), 1);
	EXPECT_EQ(pid, getpid());
	EXPECT_EQ(sscanf(rp + 2, "%c", &state), 1);
	EXPECT_EQ(state, 'R');
	ASSERT_TRUE(slurp("/proc/self/status", buf, sizeof(buf)) != NULL);
	snprintf(want, sizeof(want), "\nPid:\t%d\n", getpid());
	EXPECT_TRUE(strstr(buf, want) != NULL);
	snprintf(want, sizeof(want), "\nPPid:\t%d\n", getppid());
	EXPECT_TRUE(strstr(buf, want) != NULL);
}

TEST(proc_self_is_own_pid)
{
	char buf[32], want[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
	ASSERT_GT(n, 0);
	buf[n] = 0;
	snprintf(want, sizeof(want), "%d", getpid());
	EXPECT_STREQ(buf, want);
}

TEST(proc_mapped_file_in_maps)
{
	static char buf[65536];
	char want[PATH_MAX];
	int fd = mkfile("mapped", 4096);
	void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_TRUE(realpath(h_path("mapped"), want) != NULL);
	ASSERT_TRUE(slurp("/proc/self/maps", buf, sizeof(buf)) != NULL);
	char *l = strstr(buf, want);
	EXPECT_TRUE(l != NULL);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%lx-%lx r--s 00000000 ",
		 (unsigned long)p, (unsigned long)p + 4096);
	EXPECT_TRUE(strstr(buf, prefix) != NULL);
	munmap(p, 4096);
}
