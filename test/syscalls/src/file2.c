/* file2.c: attribute changes, flushing, statfs, mknod, in-kernel copies,
 * memfd seals, locks and the rarer fcntl commands. */
#define AREA "file2"
#include "../harness.h"

#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <utime.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#ifndef ST_VALID
#define ST_VALID 0x20
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static int mkfile(const char *name, const char *data)
{
	int fd = open(h_path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		h_fail(1, __FILE__, __LINE__, "open: %s", strerror(errno));
	size_t n = strlen(data);
	if (write(fd, data, n) != (ssize_t)n)
		h_fail(1, __FILE__, __LINE__, "write: %s", strerror(errno));
	return fd;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static off_t size_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	return st.st_size;
}

/* ---- chmod and chown ---- */

TEST(fchmodat2_symlink_nofollow_eopnotsupp)
{
	close(mkfile("f", "x"));
	ASSERT_OK(symlink(h_path("f"), h_path("l")));
	long r = syscall(SYS_fchmodat2, AT_FDCWD, h_path("l"), 0600, AT_SYMLINK_NOFOLLOW);
	if (r == -1 && errno == ENOSYS)
		SKIP("no fchmodat2 on this kernel");
	EXPECT_EQ(r, -1);
	EXPECT_EQ(errno, EOPNOTSUPP);
	/* The target is untouched; NOFOLLOW on a regular file works. */
	EXPECT_EQ(mode_of(h_path("f")), 0644);
	EXPECT_OK(syscall(SYS_fchmodat2, AT_FDCWD, h_path("f"), 0600, AT_SYMLINK_NOFOLLOW));
	EXPECT_EQ(mode_of(h_path("f")), 0600);
	/* Following the link changes the target. */
	EXPECT_OK(syscall(SYS_fchmodat2, AT_FDCWD, h_path("l"), 0640, 0));
	EXPECT_EQ(mode_of(h_path("f")), 0640);
	EXPECT_ERRNO(syscall(SYS_fchmodat2, AT_FDCWD, h_path("f"), 0600, 0x1), EINVAL);
}

TEST(fchmodat2_empty_path_on_o_path_fd)
{
	close(mkfile("f", "x"));
	int fd = open(h_path("f"), O_PATH);
	ASSERT_GE(fd, 0);
	long r = syscall(SYS_fchmodat2, fd, "", 0604, AT_EMPTY_PATH);
	if (r == -1 && errno == ENOSYS)
		SKIP("no fchmodat2 on this kernel");
	EXPECT_EQ(r, 0);
	EXPECT_EQ(mode_of(h_path("f")), 0604);
	/* Without AT_EMPTY_PATH an empty path is ENOENT. */
	EXPECT_ERRNO(syscall(SYS_fchmodat2, fd, "", 0600, 0), ENOENT);
	/* fchmod on an O_PATH descriptor is EBADF. */
	EXPECT_ERRNO(fchmod(fd, 0600), EBADF);
}

TEST(chmod_keeps_type_and_takes_special_bits)
{
	close(mkfile("f", "x"));
	ASSERT_OK(chmod(h_path("f"), 0177777));
	struct stat st;
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 07777);
	ASSERT_OK(mkdir(h_path("d"), 0700));
	EXPECT_OK(fchmodat(AT_FDCWD, h_path("d"), 01755, 0));
	EXPECT_EQ(mode_of(h_path("d")), 01755);
	EXPECT_ERRNO(chmod(h_path("missing"), 0600), ENOENT);
	EXPECT_ERRNO(chmod(h_path("f/x"), 0600), ENOTDIR);
}

TEST(fchownat_flags_and_unchanged_ids)
{
	struct stat st;
	int fd = mkfile("f", "x");
	ASSERT_OK(symlink(h_path("f"), h_path("l")));
	/* -1 leaves an ID alone. */
	ASSERT_OK(fchownat(AT_FDCWD, h_path("f"), 12, -1, 0));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_uid, 12);
	EXPECT_EQ(st.st_gid, 0);
	ASSERT_OK(fchown(fd, -1, 34));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_uid, 12);
	EXPECT_EQ(st.st_gid, 34);
	/* AT_SYMLINK_NOFOLLOW changes the link only. */
	ASSERT_OK(fchownat(AT_FDCWD, h_path("l"), 56, 78, AT_SYMLINK_NOFOLLOW));
	ASSERT_OK(lstat(h_path("l"), &st));
	EXPECT_EQ(st.st_uid, 56);
	EXPECT_EQ(st.st_gid, 78);
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_uid, 12);
	/* AT_EMPTY_PATH changes the file behind the descriptor. */
	ASSERT_OK(fchownat(fd, "", 0, 0, AT_EMPTY_PATH));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_uid, 0);
	EXPECT_EQ(st.st_gid, 0);
	EXPECT_ERRNO(fchownat(fd, "", 0, 0, 0), ENOENT);
	EXPECT_ERRNO(fchownat(AT_FDCWD, h_path("f"), 0, 0, 0x1), EINVAL);
	EXPECT_ERRNO(fchown(-1, 0, 0), EBADF);
	int p = open(h_path("f"), O_PATH);
	ASSERT_GE(p, 0);
	EXPECT_ERRNO(fchown(p, 0, 0), EBADF);
}

TEST(chown_group_clears_setgid_only_when_group_exec)
{
	struct stat st;
	close(mkfile("f", "x"));
	ASSERT_OK(chmod(h_path("f"), 06755));
	ASSERT_OK(chown(h_path("f"), -1, 5));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_mode & 07777, 0755);
	ASSERT_OK(chmod(h_path("f"), 06745));
	ASSERT_OK(chown(h_path("f"), 3, -1));
	ASSERT_OK(stat(h_path("f"), &st));
	/* Without group execute, S_ISGID is mandatory locking: kept. */
	EXPECT_EQ(st.st_mode & 07777, 02745);
}

/* ---- times ---- */

TEST(utime_and_utimes)
{
	struct stat st;
	close(mkfile("f", "x"));
	struct utimbuf ub = {.actime = 1000, .modtime = 2000};
	ASSERT_OK(utime(h_path("f"), &ub));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_atim.tv_sec, 1000);
	EXPECT_EQ(st.st_atim.tv_nsec, 0);
	EXPECT_EQ(st.st_mtim.tv_sec, 2000);
	struct timeval tv[2] = {{3000, 5}, {4000, 999999}};
	ASSERT_OK(utimes(h_path("f"), tv));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_atim.tv_sec, 3000);
	EXPECT_EQ(st.st_atim.tv_nsec, 5000);
	EXPECT_EQ(st.st_mtim.tv_sec, 4000);
	EXPECT_EQ(st.st_mtim.tv_nsec, 999999000);
	tv[1].tv_usec = 1000000;
	EXPECT_ERRNO(utimes(h_path("f"), tv), EINVAL);
	tv[1].tv_usec = -1;
	EXPECT_ERRNO(utimes(h_path("f"), tv), EINVAL);
	/* NULL: now. */
	time_t before = time(NULL);
	ASSERT_OK(utime(h_path("f"), NULL));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_GE(st.st_mtim.tv_sec, before);
	EXPECT_ERRNO(utime(h_path("missing"), &ub), ENOENT);
}

TEST(futimesat_relative_to_dirfd)
{
	struct stat st;
	ASSERT_OK(mkdir(h_path("d"), 0755));
	h_write_file(h_path("d/f"), "x");
	int dfd = open(h_path("d"), O_DIRECTORY | O_RDONLY);
	ASSERT_GE(dfd, 0);
	struct timeval tv[2] = {{111, 0}, {222, 0}};
	ASSERT_OK(syscall(SYS_futimesat, dfd, "f", tv));
	ASSERT_OK(stat(h_path("d/f"), &st));
	EXPECT_EQ(st.st_atim.tv_sec, 111);
	EXPECT_EQ(st.st_mtim.tv_sec, 222);
	/* A NULL path changes dirfd itself. */
	ASSERT_OK(syscall(SYS_futimesat, dfd, NULL, tv));
	ASSERT_OK(stat(h_path("d"), &st));
	EXPECT_EQ(st.st_mtim.tv_sec, 222);
}

TEST(utimensat_null_path_uses_fd)
{
	struct stat st;
	int fd = mkfile("f", "x");
	struct timespec ts[2] = {{10, 1}, {20, 2}};
	/* futimens: utimensat(fd, NULL, ...). */
	ASSERT_OK(syscall(SYS_utimensat, fd, NULL, ts, 0));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_atim.tv_sec, 10);
	EXPECT_EQ(st.st_atim.tv_nsec, 1);
	EXPECT_EQ(st.st_mtim.tv_sec, 20);
	EXPECT_EQ(st.st_mtim.tv_nsec, 2);
	/* Flags are not allowed with a NULL path. */
	EXPECT_ERRNO(syscall(SYS_utimensat, fd, NULL, ts, AT_SYMLINK_NOFOLLOW), EINVAL);
	/* AT_FDCWD with a NULL path is a bad pointer. */
	EXPECT_ERRNO(syscall(SYS_utimensat, AT_FDCWD, NULL, ts, 0), EFAULT);
	EXPECT_ERRNO(syscall(SYS_utimensat, 999, NULL, ts, 0), EBADF);
	/* An O_PATH descriptor needs AT_EMPTY_PATH. */
	int p = open(h_path("f"), O_PATH);
	ASSERT_GE(p, 0);
	EXPECT_ERRNO(syscall(SYS_utimensat, p, NULL, ts, 0), EBADF);
	ts[0].tv_sec = 30;
	EXPECT_OK(syscall(SYS_utimensat, p, "", ts, AT_EMPTY_PATH));
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_atim.tv_sec, 30);
}

TEST(utimensat_check_order)
{
	struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	/* Both omitted: success without looking at the path. */
	EXPECT_OK(utimensat(AT_FDCWD, h_path("missing"), omit, 0));
	/* The path is resolved before the times are checked. */
	EXPECT_ERRNO(utimensat(AT_FDCWD, h_path("missing"), bad, 0), ENOENT);
	close(mkfile("f", "x"));
	EXPECT_ERRNO(utimensat(AT_FDCWD, h_path("f"), bad, 0), EINVAL);
	EXPECT_ERRNO(utimensat(AT_FDCWD, h_path("f"), NULL, 0x1), EINVAL);
}

TEST(utimensat_one_time_now_other_kept)
{
	struct stat st;
	close(mkfile("f", "x"));
	struct timespec ts[2] = {{500, 0}, {600, 0}};
	ASSERT_OK(utimensat(AT_FDCWD, h_path("f"), ts, 0));
	time_t before = time(NULL);
	struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	ASSERT_OK(utimensat(AT_FDCWD, h_path("f"), now_omit, 0));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_GE(st.st_atim.tv_sec, before);
	EXPECT_EQ(st.st_mtim.tv_sec, 600);
}

/* ---- truncate, fallocate ---- */

TEST(truncate_errors)
{
	ASSERT_OK(mkdir(h_path("d"), 0755));
	EXPECT_ERRNO(truncate(h_path("d"), 0), EISDIR);
	close(mkfile("f", "hello"));
	EXPECT_ERRNO(truncate(h_path("f"), -1), EINVAL);
	EXPECT_ERRNO(truncate(h_path("missing"), 0), ENOENT);
	ASSERT_OK(mkfifo(h_path("p"), 0600));
	EXPECT_ERRNO(truncate(h_path("p"), 0), EINVAL);
	ASSERT_OK(symlink(h_path("f"), h_path("l")));
	/* truncate follows symlinks. */
	ASSERT_OK(truncate(h_path("l"), 2));
	struct stat st;
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_size, 2);
}

TEST(fallocate_argument_errors)
{
	int fd = mkfile("f", "0123456789");
	EXPECT_ERRNO(fallocate(fd, 0, 0, 0), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, -1, 10), EINVAL);
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP);
	EXPECT_ERRNO(fallocate(fd, 0x10000, 0, 10), EOPNOTSUPP);
	int p[2];
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(fallocate(p[1], 0, 0, 10), ESPIPE);
	EXPECT_ERRNO(fallocate(p[0], 0, 0, 10), EBADF);
	int d = open(h_path(""), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(d, 0);
	EXPECT_ERRNO(fallocate(d, 0, 0, 10), EBADF);
	EXPECT_ERRNO(fallocate(-1, 0, 0, 10), EBADF);
	/* KEEP_SIZE past the end leaves the size alone. */
	ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 16));
	EXPECT_EQ(size_of(fd), 10);
	ASSERT_OK(fallocate(fd, 0, 5, 20));
	EXPECT_EQ(size_of(fd), 25);
}

TEST(punch_hole_zeroes_and_keeps_size)
{
	char buf[8192];
	memset(buf, 'a', sizeof(buf));
	int fd = open(h_path("f"), O_RDWR | O_CREAT, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
	EXPECT_EQ(size_of(fd), 8192);
	char c = 'x';
	ASSERT_EQ(pread(fd, &c, 1, 100), 1);
	EXPECT_EQ(c, 0);
	ASSERT_EQ(pread(fd, &c, 1, 5000), 1);
	EXPECT_EQ(c, 'a');
}

/* ---- flushing ---- */

TEST(fsync_on_pipe_einval)
{
	int p[2];
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(fsync(p[0]), EINVAL);
	EXPECT_ERRNO(fdatasync(p[1]), EINVAL);
	int fd = mkfile("f", "x");
	EXPECT_OK(fdatasync(fd));
	EXPECT_ERRNO(fdatasync(-1), EBADF);
	int o = open(h_path("f"), O_PATH);
	ASSERT_GE(o, 0);
	EXPECT_ERRNO(fsync(o), EBADF);
}

TEST(syncfs_and_sync_file_range)
{
	int fd = mkfile("f", "data");
	EXPECT_OK(syncfs(fd));
	EXPECT_ERRNO(syncfs(-1), EBADF);
	EXPECT_OK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER));
	EXPECT_OK(sync_file_range(fd, 0, 4, 0));
	EXPECT_ERRNO(sync_file_range(fd, 0, 0, 0x8), EINVAL);
	EXPECT_ERRNO(sync_file_range(fd, -1, 0, 0), EINVAL);
	EXPECT_ERRNO(sync_file_range(fd, 0, -1, 0), EINVAL);
	int p[2];
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(sync_file_range(p[0], 0, 0, SYNC_FILE_RANGE_WRITE), ESPIPE);
	sync();
}

TEST(fadvise_and_readahead_errors)
{
	int fd = mkfile("f", "data");
	EXPECT_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	EXPECT_EQ(posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL), EINVAL);
	EXPECT_EQ(posix_fadvise(-1, 0, 0, POSIX_FADV_NORMAL), EBADF);
	int o = open(h_path("f"), O_PATH);
	ASSERT_GE(o, 0);
	EXPECT_EQ(posix_fadvise(o, 0, 0, POSIX_FADV_NORMAL), EBADF);
	int w = open(h_path("f"), O_WRONLY);
	ASSERT_GE(w, 0);
	EXPECT_ERRNO(readahead(w, 0, 10), EBADF);
	int p[2];
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(readahead(p[0], 0, 10), EINVAL);
	int d = open(h_path(""), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(d, 0);
	EXPECT_ERRNO(readahead(d, 0, 10), EINVAL);
	EXPECT_OK(readahead(fd, 1 << 20, 10));
}

/* ---- statfs ---- */

TEST(statfs_fields_and_fstatfs_o_path)
{
	struct statfs a, b;
	close(mkfile("f", "x"));
	ASSERT_OK(statfs(h_path("f"), &a));
	EXPECT_TRUE(a.f_flags & ST_VALID);
	EXPECT_GT(a.f_bsize, 0);
	EXPECT_GT(a.f_frsize, 0);
	EXPECT_EQ(a.f_namelen, 255);
	int o = open(h_path("f"), O_PATH);
	ASSERT_GE(o, 0);
	ASSERT_OK(fstatfs(o, &b));
	EXPECT_EQ(a.f_type, b.f_type);
	EXPECT_EQ(a.f_bsize, b.f_bsize);
	EXPECT_ERRNO(statfs(h_path("missing"), &a), ENOENT);
	EXPECT_ERRNO(fstatfs(-1, &a), EBADF);
	EXPECT_ERRNO(statfs(h_path("f"), (struct statfs *)8), EFAULT);
	/* statfs follows symlinks: a dangling one is ENOENT. */
	ASSERT_OK(symlink(h_path("nowhere"), h_path("l")));
	EXPECT_ERRNO(statfs(h_path("l"), &a), ENOENT);
}

/* ---- mknod ---- */

TEST(mknodat_types_and_umask)
{
	struct stat st;
	int d = open(h_path(""), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(d, 0);
	umask(027);
	ASSERT_OK(mknodat(d, "p", S_IFIFO | 0666, 0));
	ASSERT_OK(fstatat(d, "p", &st, 0));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0640);
	ASSERT_OK(mknodat(d, "r", 0644, 0));
	ASSERT_OK(fstatat(d, "r", &st, 0));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0640);
	ASSERT_OK(mknodat(d, "s", S_IFSOCK | 0600, 0));
	ASSERT_OK(fstatat(d, "s", &st, 0));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_ERRNO(mknodat(d, "p", S_IFIFO | 0600, 0), EEXIST);
	EXPECT_ERRNO(mknodat(d, "p", S_IFCHR | 0600, makedev(1, 3)), EEXIST);
	EXPECT_ERRNO(mknodat(d, "x/y", S_IFIFO | 0600, 0), ENOENT);
	EXPECT_ERRNO(mknodat(d, "r/y", S_IFIFO | 0600, 0), ENOTDIR);
	/* The type is checked before the path. */
	EXPECT_ERRNO(mknodat(d, "x/y", S_IFDIR | 0600, 0), EPERM);
	EXPECT_ERRNO(mknodat(d, "x/y", 0150000 | 0600, 0), EINVAL);
	/* mknod does not follow a final symlink. */
	ASSERT_OK(symlinkat("nowhere", d, "l"));
	EXPECT_ERRNO(mknodat(d, "l", S_IFIFO | 0600, 0), EEXIST);
}

/* ---- splice, sendfile, copy_file_range ---- */

TEST(splice_argument_errors)
{
	int p[2], q[2];
	ASSERT_OK(pipe(p));
	ASSERT_OK(pipe(q));
	int f = mkfile("f", "data");
	int g = mkfile("g", "");
	loff_t off = 0;
	/* Zero length succeeds before anything is checked. */
	EXPECT_EQ(splice(-1, NULL, -1, NULL, 0, 0), 0);
	EXPECT_ERRNO(splice(f, NULL, g, NULL, 4, 0), EINVAL);
	EXPECT_ERRNO(splice(p[0], &off, g, NULL, 4, 0), ESPIPE);
	EXPECT_ERRNO(splice(f, NULL, p[1], &off, 4, 0), ESPIPE);
	EXPECT_ERRNO(splice(p[0], NULL, p[1], NULL, 4, 0), EINVAL);
	EXPECT_ERRNO(splice(p[1], NULL, q[1], NULL, 4, 0), EBADF);
	EXPECT_ERRNO(splice(f, NULL, p[1], NULL, 4, 0x100), EINVAL);
	EXPECT_ERRNO(splice(-1, NULL, p[1], NULL, 4, 0), EBADF);
	int a = open(h_path("g"), O_WRONLY | O_APPEND);
	ASSERT_GE(a, 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	EXPECT_ERRNO(splice(p[0], NULL, a, NULL, 1, 0), EINVAL);
	/* Between two pipes any offset pointer is ESPIPE. */
	ASSERT_EQ(write(q[1], "y", 1), 1);
	off = 0;
	EXPECT_ERRNO(splice(q[0], NULL, p[1], &off, 1, 0), ESPIPE);
}

TEST(splice_file_to_pipe_offsets)
{
	int p[2];
	char buf[16] = {0};
	ASSERT_OK(pipe(p));
	int f = mkfile("f", "0123456789");
	ASSERT_OK(lseek(f, 2, SEEK_SET));
	loff_t off = 5;
	/* With an offset pointer: the pointer moves, the file offset does not. */
	EXPECT_EQ(splice(f, &off, p[1], NULL, 3, 0), 3);
	EXPECT_EQ(off, 8);
	EXPECT_EQ(lseek(f, 0, SEEK_CUR), 2);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 3);
	EXPECT_STREQ(buf, "567");
	/* Without: the file offset moves. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(splice(f, NULL, p[1], NULL, 4, 0), 4);
	EXPECT_EQ(lseek(f, 0, SEEK_CUR), 6);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "2345");
	/* At end of file: 0. */
	off = 10;
	EXPECT_EQ(splice(f, &off, p[1], NULL, 4, 0), 0);
}

TEST(splice_pipe_to_file_offsets)
{
	int p[2];
	char buf[16] = {0};
	ASSERT_OK(pipe(p));
	int f = mkfile("f", "..........");
	ASSERT_EQ(write(p[1], "abcdef", 6), 6);
	loff_t off = 4;
	EXPECT_EQ(splice(p[0], NULL, f, &off, 3, 0), 3);
	EXPECT_EQ(off, 7);
	EXPECT_EQ(lseek(f, 0, SEEK_CUR), 10);
	ASSERT_OK(lseek(f, 0, SEEK_SET));
	EXPECT_EQ(splice(p[0], NULL, f, NULL, 100, 0), 3);
	EXPECT_EQ(lseek(f, 0, SEEK_CUR), 3);
	EXPECT_EQ(pread(f, buf, sizeof(buf), 0), 10);
	EXPECT_STREQ(buf, "def.abc...");
}

TEST(splice_nonblock_empty_pipe)
{
	int p[2];
	ASSERT_OK(pipe(p));
	int f = mkfile("f", "");
	EXPECT_ERRNO(splice(p[0], NULL, f, NULL, 4, SPLICE_F_NONBLOCK), EAGAIN);
	close(p[1]);
	/* No writer left: end of file. */
	EXPECT_EQ(splice(p[0], NULL, f, NULL, 4, SPLICE_F_NONBLOCK), 0);
	EXPECT_EQ(splice(p[0], NULL, f, NULL, 4, 0), 0);
}

TEST(splice_pipe_to_pipe_nonblock_full)
{
	int p[2], q[2];
	ASSERT_OK(pipe(p));
	ASSERT_OK(pipe2(q, O_NONBLOCK));
	static char big[65536];
	ASSERT_EQ(write(q[1], big, sizeof(big)), (ssize_t)sizeof(big));
	ASSERT_EQ(write(p[1], "z", 1), 1);
	/* The destination is full and non-blocking. */
	EXPECT_ERRNO(splice(p[0], NULL, q[1], NULL, 1, 0), EAGAIN);
}

TEST(sendfile_offsets_and_pipe)
{
	int p[2];
	char buf[16] = {0};
	ASSERT_OK(pipe(p));
	int f = mkfile("f", "abcdefgh");
	ASSERT_OK(lseek(f, 1, SEEK_SET));
	off_t off = 4;
	EXPECT_EQ(sendfile(p[1], f, &off, 100), 4);
	EXPECT_EQ(off, 8);
	EXPECT_EQ(lseek(f, 0, SEEK_CUR), 1);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 4);
	EXPECT_STREQ(buf, "efgh");
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(sendfile(p[1], f, NULL, 3), 3);
	EXPECT_EQ(lseek(f, 0, SEEK_CUR), 4);
	EXPECT_EQ(read(p[0], buf, sizeof(buf)), 3);
	EXPECT_STREQ(buf, "bcd");
	off = 100;
	EXPECT_EQ(sendfile(p[1], f, &off, 3), 0);
	EXPECT_EQ(sendfile(p[1], f, NULL, 0), 0);
	off = -1;
	EXPECT_ERRNO(sendfile(p[1], f, &off, 3), EINVAL);
	/* The source must be seekable for an offset pointer. */
	int q[2];
	ASSERT_OK(pipe(q));
	off = 0;
	EXPECT_ERRNO(sendfile(p[1], q[0], &off, 3), ESPIPE);
	int w = open(h_path("f"), O_WRONLY);
	ASSERT_GE(w, 0);
	EXPECT_ERRNO(sendfile(p[1], w, NULL, 3), EBADF);
	EXPECT_ERRNO(sendfile(q[0], f, NULL, 3), EBADF);
}

TEST(sendfile_file_to_file_append_einval)
{
	int f = mkfile("f", "abc");
	int a = open(h_path("g"), O_WRONLY | O_CREAT | O_APPEND, 0600);
	ASSERT_GE(a, 0);
	off_t off = 0;
	EXPECT_ERRNO(sendfile(a, f, &off, 3), EINVAL);
	int g = open(h_path("g"), O_WRONLY);
	ASSERT_GE(g, 0);
	ASSERT_OK(lseek(g, 2, SEEK_SET));
	EXPECT_EQ(sendfile(g, f, &off, 3), 3);
	EXPECT_EQ(lseek(g, 0, SEEK_CUR), 5);
	struct stat st;
	ASSERT_OK(fstat(g, &st));
	EXPECT_EQ(st.st_size, 5);
}

TEST(copy_file_range_offsets_and_errors)
{
	char buf[16] = {0};
	int in = mkfile("in", "0123456789");
	int out = mkfile("out", "");
	loff_t ioff = 2, ooff = 1;
	EXPECT_EQ(copy_file_range(in, &ioff, out, &ooff, 4, 0), 4);
	EXPECT_EQ(ioff, 6);
	EXPECT_EQ(ooff, 5);
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 10);
	EXPECT_EQ(pread(out, buf, sizeof(buf), 0), 5);
	EXPECT_MEMEQ(buf, "\0" "2345", 5);
	/* Past the end of the source: what there is, then 0. */
	ioff = 8;
	EXPECT_EQ(copy_file_range(in, &ioff, out, NULL, 100, 0), 2);
	EXPECT_EQ(lseek(out, 0, SEEK_CUR), 2);
	EXPECT_EQ(copy_file_range(in, &ioff, out, NULL, 100, 0), 0);
	EXPECT_ERRNO(copy_file_range(in, NULL, out, NULL, 1, 1), EINVAL);
	/* Overlapping ranges of one file. */
	ioff = 0, ooff = 2;
	int rw = open(h_path("in"), O_RDWR);
	ASSERT_GE(rw, 0);
	EXPECT_ERRNO(copy_file_range(rw, &ioff, rw, &ooff, 4, 0), EINVAL);
	ooff = 4;
	EXPECT_EQ(copy_file_range(rw, &ioff, rw, &ooff, 4, 0), 4);
	int d = open(h_path(""), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(d, 0);
	EXPECT_ERRNO(copy_file_range(d, NULL, out, NULL, 4, 0), EISDIR);
	int p[2];
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(copy_file_range(in, NULL, p[1], NULL, 4, 0), EINVAL);
	int a = open(h_path("out"), O_WRONLY | O_APPEND);
	ASSERT_GE(a, 0);
	EXPECT_ERRNO(copy_file_range(in, NULL, a, NULL, 4, 0), EBADF);
	ioff = -1;
	EXPECT_ERRNO(copy_file_range(in, &ioff, out, NULL, 4, 0), EOVERFLOW);
	ioff = 0, ooff = -1;
	EXPECT_ERRNO(copy_file_range(in, &ioff, out, &ooff, 4, 0), EOVERFLOW);
	/* Reading far past the end copies nothing. */
	ioff = 0x7ffffffffffffff0LL;
	EXPECT_EQ(copy_file_range(in, &ioff, out, NULL, 100, 0), 0);
}

TEST(vmsplice_both_directions)
{
	int p[2];
	char a[] = "abc", b[] = "defg";
	struct iovec in[2] = {{a, 3}, {b, 4}};
	ASSERT_OK(pipe(p));
	EXPECT_EQ(vmsplice(p[1], in, 2, 0), 7);
	char x[2] = {0}, y[8] = {0};
	struct iovec out[2] = {{x, 2}, {y, 8}};
	/* From the read end, the pipe's data goes to user memory. */
	EXPECT_EQ(vmsplice(p[0], out, 2, 0), 7);
	EXPECT_MEMEQ(x, "ab", 2);
	EXPECT_STREQ(y, "cdefg");
	EXPECT_ERRNO(vmsplice(p[0], out, 2, SPLICE_F_NONBLOCK), EAGAIN);
	int f = mkfile("f", "x");
	EXPECT_ERRNO(vmsplice(f, in, 2, 0), EBADF);
	EXPECT_EQ(vmsplice(f, in, 0, 0), 0);
	EXPECT_ERRNO(vmsplice(p[1], in, 2, 0x100), EINVAL);
	EXPECT_ERRNO(vmsplice(-1, in, 2, 0), EBADF);
	/* A full pipe with SPLICE_F_NONBLOCK: EAGAIN. */
	static char big[65536];
	int q[2];
	ASSERT_OK(pipe2(q, O_NONBLOCK));
	ASSERT_EQ(write(q[1], big, sizeof(big)), (ssize_t)sizeof(big));
	EXPECT_ERRNO(vmsplice(q[1], in, 2, SPLICE_F_NONBLOCK), EAGAIN);
}

/* ---- memfd ---- */

TEST(memfd_name_mode_and_errors)
{
	char link[64], want[300];
	char name[300];
	struct stat st;
	int fd = memfd_create("hello", MFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, want, sizeof(want) - 1);
	ASSERT_GT(n, 0);
	want[n] = 0;
	EXPECT_STREQ(want, "/memfd:hello (deleted)");
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	ASSERT_OK(fstat(fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	/* A memfd was never linked anywhere. */
	EXPECT_EQ(st.st_nlink, 0);
	EXPECT_EQ(st.st_size, 0);
	struct statfs sf;
	ASSERT_OK(fstatfs(fd, &sf));
	EXPECT_EQ(sf.f_type, TMPFS_MAGIC);
	memset(name, 'n', 249);
	name[249] = 0;
	int ok = memfd_create(name, 0);
	EXPECT_GE(ok, 0);
	name[249] = 'n';
	name[250] = 0;
	EXPECT_ERRNO(memfd_create(name, 0), EINVAL);
	EXPECT_ERRNO(memfd_create("x", 0x1000), EINVAL);
	EXPECT_ERRNO(memfd_create((const char *)8, 0), EFAULT);
	/* Reopening through /proc gives the same file. */
	ASSERT_EQ(write(fd, "abc", 3), 3);
	int again = open(link, O_RDONLY);
	ASSERT_GE(again, 0);
	char buf[4] = {0};
	EXPECT_EQ(read(again, buf, 3), 3);
	EXPECT_STREQ(buf, "abc");
}

TEST(memfd_grow_shrink_write_seals)
{
	int fd = memfd_create("s", MFD_ALLOW_SEALING);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, "0123456789", 10), 10);
	EXPECT_EQ(fcntl(fd, F_GET_SEALS), 0);
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
	EXPECT_ERRNO(ftruncate(fd, 5), EPERM);
	EXPECT_OK(ftruncate(fd, 12));
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
	EXPECT_ERRNO(ftruncate(fd, 20), EPERM);
	EXPECT_ERRNO(pwrite(fd, "xy", 2, 11), EPERM);
	EXPECT_EQ(pwrite(fd, "xy", 2, 10), 2);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 100), EPERM);
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 100), EPERM);
	EXPECT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 12));
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_ERRNO(pwrite(fd, "z", 1, 0), EPERM);
	EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, 0x1000), EINVAL);
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
	EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
	char buf[16] = {0};
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 12);
	EXPECT_MEMEQ(buf, "0123456789xy", 12);
}

TEST(seals_need_memfd_and_write_access)
{
	int f = mkfile("f", "x");
	EXPECT_ERRNO(fcntl(f, F_GET_SEALS), EINVAL);
	EXPECT_ERRNO(fcntl(f, F_ADD_SEALS, F_SEAL_GROW), EINVAL);
	int fd = memfd_create("w", MFD_ALLOW_SEALING);
	ASSERT_GE(fd, 0);
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	int ro = open(link, O_RDONLY);
	ASSERT_GE(ro, 0);
	EXPECT_ERRNO(fcntl(ro, F_ADD_SEALS, F_SEAL_GROW), EPERM);
	EXPECT_EQ(fcntl(ro, F_GET_SEALS), 0);
}

TEST(memfd_noexec_seal)
{
	struct stat st;
	int fd = memfd_create("ne", MFD_NOEXEC_SEAL);
	if (fd < 0 && errno == EINVAL)
		SKIP("no MFD_NOEXEC_SEAL on this kernel");
	ASSERT_GE(fd, 0);
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_mode & 0777, 0666);
	EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_EXEC);
	/* The execute bits are sealed; the others are not. */
	EXPECT_ERRNO(fchmod(fd, 0766), EPERM);
	EXPECT_OK(fchmod(fd, 0644));
	EXPECT_ERRNO(memfd_create("x", MFD_NOEXEC_SEAL | MFD_EXEC), EINVAL);
}

/* ---- locks ---- */

static struct flock lk(short type, short whence, off_t start, off_t len)
{
	struct flock f;
	memset(&f, 0, sizeof(f));
	f.l_type = type;
	f.l_whence = whence;
	f.l_start = start;
	f.l_len = len;
	return f;
}

TEST(flock_errors_and_pipes)
{
	int f = mkfile("f", "x");
	EXPECT_ERRNO(flock(f, 0), EINVAL);
	EXPECT_ERRNO(flock(f, LOCK_SH | LOCK_EX), EINVAL);
	/* The operation is checked before the descriptor. */
	EXPECT_ERRNO(flock(-1, 0), EINVAL);
	EXPECT_ERRNO(flock(-1, LOCK_SH), EBADF);
	int o = open(h_path("f"), O_PATH);
	ASSERT_GE(o, 0);
	EXPECT_ERRNO(flock(o, LOCK_SH), EBADF);
	/* Unlocking with nothing locked succeeds; locks work on pipes. */
	EXPECT_OK(flock(f, LOCK_UN));
	int p[2];
	ASSERT_OK(pipe(p));
	EXPECT_OK(flock(p[0], LOCK_EX | LOCK_NB));
	/* A read-only descriptor may take an exclusive flock. */
	int r = open(h_path("f"), O_RDONLY);
	ASSERT_GE(r, 0);
	EXPECT_OK(flock(r, LOCK_EX | LOCK_NB));
	EXPECT_ERRNO(flock(f, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	close(r);
	/* Closing the only descriptor released it. */
	EXPECT_OK(flock(f, LOCK_SH | LOCK_NB));
}

TEST(ofd_getlk_reports_minus_one_pid)
{
	int a = mkfile("f", "0123456789");
	int b = open(h_path("f"), O_RDWR);
	ASSERT_GE(b, 0);
	struct flock f = lk(F_WRLCK, SEEK_SET, 2, 3);
	ASSERT_OK(fcntl(a, F_OFD_SETLK, &f));
	f = lk(F_RDLCK, SEEK_SET, 0, 0);
	ASSERT_OK(fcntl(b, F_OFD_GETLK, &f));
	EXPECT_EQ(f.l_type, F_WRLCK);
	EXPECT_EQ(f.l_whence, SEEK_SET);
	EXPECT_EQ(f.l_start, 2);
	EXPECT_EQ(f.l_len, 3);
	EXPECT_EQ(f.l_pid, -1);
	/* A POSIX lock of the same process conflicts with the OFD lock. */
	f = lk(F_WRLCK, SEEK_SET, 0, 0);
	ASSERT_OK(fcntl(b, F_GETLK, &f));
	EXPECT_EQ(f.l_type, F_WRLCK);
	EXPECT_EQ(f.l_pid, -1);
	f = lk(F_WRLCK, SEEK_SET, 0, 0);
	EXPECT_ERRNO(fcntl(b, F_SETLK, &f), EAGAIN);
	/* OFD requests must have l_pid 0. */
	f = lk(F_RDLCK, SEEK_SET, 0, 0);
	f.l_pid = 1;
	EXPECT_ERRNO(fcntl(b, F_OFD_SETLK, &f), EINVAL);
	/* Closing another descriptor of the file keeps an OFD lock. */
	int c = open(h_path("f"), O_RDONLY);
	ASSERT_GE(c, 0);
	close(c);
	f = lk(F_WRLCK, SEEK_SET, 0, 0);
	EXPECT_ERRNO(fcntl(b, F_OFD_SETLK, &f), EAGAIN);
	close(a);
	EXPECT_OK(fcntl(b, F_OFD_SETLK, &f));
}

TEST(getlk_whence_end_and_cur)
{
	int fd = mkfile("f", "0123456789");
	ASSERT_OK(lseek(fd, 4, SEEK_SET));
	struct flock f = lk(F_WRLCK, SEEK_CUR, 1, 2);
	ASSERT_OK(fcntl(fd, F_OFD_SETLK, &f));
	f = lk(F_RDLCK, SEEK_END, -10, 0);
	int b = open(h_path("f"), O_RDONLY);
	ASSERT_GE(b, 0);
	ASSERT_OK(fcntl(b, F_OFD_GETLK, &f));
	EXPECT_EQ(f.l_type, F_WRLCK);
	EXPECT_EQ(f.l_whence, SEEK_SET);
	EXPECT_EQ(f.l_start, 5);
	EXPECT_EQ(f.l_len, 2);
	/* No conflict: l_type becomes F_UNLCK, the rest is left as given. */
	f = lk(F_RDLCK, SEEK_END, -2, 1);
	ASSERT_OK(fcntl(b, F_OFD_GETLK, &f));
	EXPECT_EQ(f.l_type, F_UNLCK);
	EXPECT_EQ(f.l_whence, SEEK_END);
	EXPECT_EQ(f.l_start, -2);
	/* Before the start of the file. */
	f = lk(F_RDLCK, SEEK_END, -11, 1);
	EXPECT_ERRNO(fcntl(b, F_OFD_GETLK, &f), EINVAL);
	f = lk(F_RDLCK, 7, 0, 1);
	EXPECT_ERRNO(fcntl(b, F_OFD_GETLK, &f), EINVAL);
	f = lk(F_RDLCK, SEEK_SET, 5, -6);
	EXPECT_ERRNO(fcntl(b, F_OFD_GETLK, &f), EINVAL);
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST(setlkw_interrupted_eintr)
{
	int fd = mkfile("f", "x");
	int sync_pipe[2];
	ASSERT_OK(pipe(sync_pipe));
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct flock cf = lk(F_WRLCK, SEEK_SET, 0, 0);
		if (fcntl(fd, F_SETLK, &cf) != 0)
			_exit(1);
		if (write(sync_pipe[1], "k", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	char c;
	ASSERT_EQ(read(sync_pipe[0], &c, 1), 1);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	struct itimerval it = {{0, 0}, {0, 50000}};
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	struct flock f = lk(F_WRLCK, SEEK_SET, 0, 0);
	EXPECT_ERRNO(fcntl(fd, F_SETLKW, &f), EINTR);
	/* flock waits are interrupted too. */
	int g = mkfile("g", "y");
	int g2 = open(h_path("g"), O_RDONLY);
	ASSERT_GE(g2, 0);
	ASSERT_OK(flock(g2, LOCK_EX));
	ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_ERRNO(flock(g, LOCK_SH), EINTR);
	kill(pid, SIGKILL);
	EXPECT_EQ(h_wait(pid), 1000 + SIGKILL);
}

/* ---- fcntl odds and ends, close_range ---- */

TEST(fcntl_owner_ex_and_process_groups)
{
	int fd = mkfile("f", "x");
	struct f_owner_ex ex = {.type = F_OWNER_TID, .pid = getpid()};
	ASSERT_OK(fcntl(fd, F_SETOWN_EX, &ex));
	memset(&ex, 0, sizeof(ex));
	ASSERT_OK(fcntl(fd, F_GETOWN_EX, &ex));
	EXPECT_EQ(ex.type, F_OWNER_TID);
	EXPECT_EQ(ex.pid, getpid());
	ASSERT_OK(fcntl(fd, F_SETOWN, -getpgrp()));
	EXPECT_EQ(fcntl(fd, F_GETOWN), -getpgrp());
	ASSERT_OK(fcntl(fd, F_GETOWN_EX, &ex));
	EXPECT_EQ(ex.type, F_OWNER_PGRP);
	EXPECT_EQ(ex.pid, getpgrp());
	ex.type = 7;
	EXPECT_ERRNO(fcntl(fd, F_SETOWN_EX, &ex), EINVAL);
	EXPECT_ERRNO(fcntl(fd, F_SETOWN, 4000000), ESRCH);
	/* dup'd descriptors share the owner; 0 clears it. */
	int d = dup(fd);
	ASSERT_OK(fcntl(fd, F_SETOWN, getpid()));
	EXPECT_EQ(fcntl(d, F_GETOWN), getpid());
	ASSERT_OK(fcntl(d, F_SETOWN, 0));
	EXPECT_EQ(fcntl(fd, F_GETOWN), 0);
}

TEST(fcntl_on_o_path_and_leases)
{
	int f = mkfile("f", "x");
	EXPECT_EQ(fcntl(f, F_GETLEASE), F_UNLCK);
	int o = open(h_path("f"), O_PATH);
	ASSERT_GE(o, 0);
	EXPECT_EQ(fcntl(o, F_GETFL) & O_PATH, O_PATH);
	EXPECT_ERRNO(fcntl(o, F_SETFL, O_NONBLOCK), EBADF);
	struct flock lkr = lk(F_RDLCK, SEEK_SET, 0, 0);
	EXPECT_ERRNO(fcntl(o, F_GETLK, &lkr), EBADF);
	EXPECT_ERRNO(fcntl(o, F_GETPIPE_SZ), EBADF);
	int d = fcntl(o, F_DUPFD_CLOEXEC, 0);
	EXPECT_GE(d, 0);
	EXPECT_EQ(fcntl(d, F_GETFD), FD_CLOEXEC);
}

TEST(close_range_unshare_and_errors)
{
	int a = mkfile("a", "x");
	int b = dup(a);
	ASSERT_OK(close_range(b, b, CLOSE_RANGE_UNSHARE));
	EXPECT_ERRNO(fcntl(b, F_GETFD), EBADF);
	EXPECT_OK(fcntl(a, F_GETFD));
	EXPECT_ERRNO(close_range(5, 4, 0), EINVAL);
	EXPECT_ERRNO(close_range(0, ~0U, 0x8), EINVAL);
	/* A range past every open fd is fine. */
	EXPECT_OK(close_range(1000, ~0U, 0));
	ASSERT_OK(close_range(a, a, CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE));
	EXPECT_EQ(fcntl(a, F_GETFD), FD_CLOEXEC);
}
