/* file.c: open flags, read/write families, seeking, sizes, copies, memfd, xattrs. */
#define AREA "file"
#include "../harness.h"

#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/xattr.h>

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

static off_t size_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	return st.st_size;
}

static void *unmapped_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, 4096);
	return p;
}

TEST(creat_applies_mode_and_umask)
{
	struct stat st;
	umask(022);
	int fd = open(h_path("f"), O_CREAT | O_WRONLY, 0666);
	ASSERT_GE(fd, 0);
	ASSERT_OK(fstat(fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0644);
	EXPECT_EQ(st.st_size, 0);
	EXPECT_EQ(st.st_uid, 0);
}

TEST(excl_on_existing_eexist)
{
	close(mkfile("f", "x"));
	EXPECT_ERRNO(open(h_path("f"), O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST);
	int fd = open(h_path("g"), O_CREAT | O_EXCL | O_RDWR, 0600);
	EXPECT_GE(fd, 0);
}

TEST(open_missing_enoent)
{
	EXPECT_ERRNO(open(h_path("nope"), O_RDONLY), ENOENT);
	EXPECT_ERRNO(open(h_path("nodir/f"), O_CREAT | O_RDWR, 0600), ENOENT);
}

TEST(trunc_empties_file)
{
	close(mkfile("f", "hello"));
	int fd = open(h_path("f"), O_RDWR | O_TRUNC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(size_of(fd), 0);
}

TEST(append_writes_at_end)
{
	char buf[32] = {0};
	close(mkfile("f", "abc"));
	int fd = open(h_path("f"), O_RDWR | O_APPEND);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_SET), 0);
	EXPECT_EQ(write(fd, "de", 2), 2);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 5);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 5);
	EXPECT_STREQ(buf, "abcde");
}

TEST(pwrite_with_o_append_appends)
{
	char buf[32] = {0};
	close(mkfile("f", "abc"));
	int fd = open(h_path("f"), O_RDWR | O_APPEND);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(pwrite(fd, "Z", 1, 0), 1);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 4);
	EXPECT_STREQ(buf, "abcZ");
}

TEST(o_directory_on_file_enotdir)
{
	close(mkfile("f", ""));
	EXPECT_ERRNO(open(h_path("f"), O_RDONLY | O_DIRECTORY), ENOTDIR);
}

TEST(write_open_directory_eisdir)
{
	EXPECT_ERRNO(open("/tmp", O_WRONLY), EISDIR);
	EXPECT_ERRNO(open("/tmp", O_RDWR), EISDIR);
	EXPECT_ERRNO(open("/tmp", O_RDONLY | O_CREAT, 0600), EISDIR);
}

TEST(read_directory_eisdir)
{
	char b[8];
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(read(fd, b, sizeof(b)), EISDIR);
}

TEST(wrong_access_mode_ebadf)
{
	char b[4];
	close(mkfile("f", "data"));
	int ro = open(h_path("f"), O_RDONLY);
	int wo = open(h_path("f"), O_WRONLY);
	ASSERT_GE(ro, 0);
	ASSERT_GE(wo, 0);
	EXPECT_ERRNO(write(ro, "x", 1), EBADF);
	EXPECT_ERRNO(read(wo, b, 1), EBADF);
	EXPECT_ERRNO(pwrite(ro, "x", 1, 0), EBADF);
}

TEST(bad_fd_ebadf)
{
	char b[4];
	EXPECT_ERRNO(read(-1, b, 1), EBADF);
	EXPECT_ERRNO(write(0x3fff, b, 1), EBADF);
	int fd = mkfile("f", "");
	close(fd);
	EXPECT_ERRNO(read(fd, b, 1), EBADF);
}

TEST(bad_buffer_efault)
{
	int fd = mkfile("f", "some data");
	void *bad = unmapped_page();
	EXPECT_ERRNO(pread(fd, bad, 4, 0), EFAULT);
	EXPECT_ERRNO(write(fd, bad, 4), EFAULT);
	EXPECT_ERRNO(open((char *)bad, O_RDONLY), EFAULT);
}

TEST(tmpfile_requires_write_access)
{
	EXPECT_ERRNO(open("/tmp", O_TMPFILE | O_RDONLY, 0600), EINVAL);
}

TEST(tmpfile_unnamed_then_linked)
{
	struct stat st;
	char path[64];
	h_path("x"); /* create the case's directory */
	int fd = open(h_path(""), O_TMPFILE | O_RDWR, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_nlink, 0);
	EXPECT_EQ(write(fd, "tmp", 3), 3);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ASSERT_OK(linkat(AT_FDCWD, path, AT_FDCWD, h_path("named"),
			 AT_SYMLINK_FOLLOW));
	ASSERT_OK(stat(h_path("named"), &st));
	EXPECT_EQ(st.st_size, 3);
	EXPECT_EQ(st.st_nlink, 1);
}

TEST(read_write_advance_offset)
{
	char buf[16] = {0};
	int fd = mkfile("f", "");
	EXPECT_EQ(write(fd, "hello world", 11), 11);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 11);
	EXPECT_EQ(lseek(fd, 6, SEEK_SET), 6);
	EXPECT_EQ(read(fd, buf, 3), 3);
	EXPECT_STREQ(buf, "wor");
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 9);
	EXPECT_EQ(read(fd, buf, 16), 2);
	EXPECT_EQ(read(fd, buf, 16), 0);
	EXPECT_EQ(write(fd, buf, 0), 0);
}

TEST(pread_pwrite_keep_offset)
{
	char buf[8] = {0};
	int fd = mkfile("f", "0123456789");
	ASSERT_EQ(lseek(fd, 2, SEEK_SET), 2);
	EXPECT_EQ(pread(fd, buf, 3, 5), 3);
	EXPECT_STREQ(buf, "567");
	EXPECT_EQ(pwrite(fd, "ab", 2, 8), 2);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 2);
	EXPECT_EQ(pread(fd, buf, 8, 100), 0);
	EXPECT_ERRNO(pread(fd, buf, 1, -1), EINVAL);
	EXPECT_ERRNO(pwrite(fd, buf, 1, -5), EINVAL);
}

TEST(pwrite_past_end_leaves_hole)
{
	char buf[8];
	int fd = mkfile("f", "ab");
	EXPECT_EQ(pwrite(fd, "z", 1, 6), 1);
	EXPECT_EQ(size_of(fd), 7);
	EXPECT_EQ(pread(fd, buf, 8, 0), 7);
	EXPECT_MEMEQ(buf, "ab\0\0\0\0z", 7);
}

TEST(readv_writev_scatter_gather)
{
	char a[3], b[5];
	struct iovec w[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
	struct iovec r[2] = {{a, 3}, {b, 5}};
	int fd = mkfile("f", "");
	EXPECT_EQ(writev(fd, w, 3), 8);
	ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
	EXPECT_EQ(readv(fd, r, 2), 8);
	EXPECT_MEMEQ(a, "abc", 3);
	EXPECT_MEMEQ(b, "defgh", 5);
}

TEST(writev_bad_iovcnt_einval)
{
	struct iovec v = {"x", 1};
	int fd = mkfile("f", "");
	EXPECT_ERRNO(syscall(SYS_writev, fd, &v, -1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_writev, fd, &v, 1025), EINVAL);
	EXPECT_EQ(writev(fd, &v, 0), 0);
}

TEST(readv_short_file)
{
	char a[4] = {0}, b[4] = {0};
	struct iovec r[2] = {{a, 4}, {b, 4}};
	int fd = mkfile("f", "12345");
	lseek(fd, 0, SEEK_SET);
	EXPECT_EQ(readv(fd, r, 2), 5);
	EXPECT_MEMEQ(a, "1234", 4);
	EXPECT_EQ(b[0], '5');
}

TEST(preadv_pwritev_offsets)
{
	char a[2], b[2];
	struct iovec w[2] = {{"XY", 2}, {"ZW", 2}};
	struct iovec r[2] = {{a, 2}, {b, 2}};
	int fd = mkfile("f", "0123456789");
	EXPECT_EQ(pwritev(fd, w, 2, 3), 4);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 10);
	EXPECT_EQ(preadv(fd, r, 2, 2), 4);
	EXPECT_MEMEQ(a, "2X", 2);
	EXPECT_MEMEQ(b, "YZ", 2);
}

TEST(preadv2_current_offset_and_flags)
{
	char a[3] = {0};
	struct iovec r = {a, 2};
	int fd = mkfile("f", "abcdef");
	lseek(fd, 1, SEEK_SET);
	/* Offset -1 means the file offset, which then advances. */
	EXPECT_EQ(preadv2(fd, &r, 1, -1, 0), 2);
	EXPECT_STREQ(a, "bc");
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 3);
	EXPECT_EQ(preadv2(fd, &r, 1, 0, RWF_HIPRI), 2);
	EXPECT_ERRNO(preadv2(fd, &r, 1, 0, 0x40000000), EOPNOTSUPP);
}

TEST(pwritev2_rwf_append)
{
	char buf[16] = {0};
	struct iovec w = {"++", 2};
	int fd = mkfile("f", "base");
	EXPECT_EQ(pwritev2(fd, &w, 1, 0, RWF_APPEND), 2);
	EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 6);
	EXPECT_STREQ(buf, "base++");
}

TEST(lseek_whence_variants)
{
	int fd = mkfile("f", "0123456789");
	EXPECT_EQ(lseek(fd, 3, SEEK_SET), 3);
	EXPECT_EQ(lseek(fd, 2, SEEK_CUR), 5);
	EXPECT_EQ(lseek(fd, -1, SEEK_CUR), 4);
	EXPECT_EQ(lseek(fd, 0, SEEK_END), 10);
	EXPECT_EQ(lseek(fd, -3, SEEK_END), 7);
	EXPECT_EQ(lseek(fd, 100, SEEK_END), 110);
	EXPECT_EQ(size_of(fd), 10);
}

TEST(lseek_errors)
{
	int fd = mkfile("f", "0123");
	int p[2];
	EXPECT_ERRNO(lseek(fd, -1, SEEK_SET), EINVAL);
	EXPECT_ERRNO(lseek(fd, -100, SEEK_END), EINVAL);
	EXPECT_ERRNO(lseek(fd, 0, 17), EINVAL);
	EXPECT_ERRNO(lseek(0x3fff, 0, SEEK_SET), EBADF);
	ASSERT_OK(pipe(p));
	EXPECT_ERRNO(lseek(p[0], 0, SEEK_CUR), ESPIPE);
}

TEST(lseek_data_and_hole)
{
	char blk[4096];
	memset(blk, 'd', sizeof(blk));
	int fd = mkfile("f", "");
	ASSERT_EQ(pwrite(fd, blk, sizeof(blk), 0), 4096);
	ASSERT_EQ(pwrite(fd, blk, sizeof(blk), 1 << 20), 4096);
	EXPECT_EQ(lseek(fd, 0, SEEK_DATA), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_HOLE), 4096);
	EXPECT_EQ(lseek(fd, 8192, SEEK_DATA), 1 << 20);
	EXPECT_EQ(lseek(fd, (1 << 20) + 10, SEEK_HOLE), (1 << 20) + 4096);
	EXPECT_ERRNO(lseek(fd, (1 << 20) + 4096, SEEK_DATA), ENXIO);
	EXPECT_ERRNO(lseek(fd, 1 << 24, SEEK_HOLE), ENXIO);
}

TEST(ftruncate_grow_and_shrink)
{
	char buf[8];
	int fd = mkfile("f", "abcdef");
	ASSERT_OK(ftruncate(fd, 3));
	EXPECT_EQ(size_of(fd), 3);
	ASSERT_OK(ftruncate(fd, 8));
	EXPECT_EQ(size_of(fd), 8);
	EXPECT_EQ(pread(fd, buf, 8, 0), 8);
	EXPECT_MEMEQ(buf, "abc\0\0\0\0\0", 8);
	/* The offset is not changed by truncation. */
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 6);
}

TEST(ftruncate_errors)
{
	int fd = mkfile("f", "abc");
	int ro = open(h_path("f"), O_RDONLY);
	ASSERT_GE(ro, 0);
	EXPECT_ERRNO(ftruncate(fd, -1), EINVAL);
	EXPECT_ERRNO(ftruncate(ro, 0), EINVAL);
	EXPECT_ERRNO(ftruncate(0x3fff, 0), EBADF);
	int d = open("/tmp", O_RDONLY | O_DIRECTORY);
	EXPECT_ERRNO(ftruncate(d, 0), EINVAL);
}

TEST(truncate_by_path)
{
	struct stat st;
	close(mkfile("f", "abcdef"));
	ASSERT_OK(truncate(h_path("f"), 2));
	ASSERT_OK(stat(h_path("f"), &st));
	EXPECT_EQ(st.st_size, 2);
	EXPECT_ERRNO(truncate(h_path("f"), -1), EINVAL);
	EXPECT_ERRNO(truncate(h_path("none"), 0), ENOENT);
	EXPECT_ERRNO(truncate("/tmp", 0), EISDIR);
}

TEST(rlimit_fsize_efbig)
{
	struct rlimit old, r;
	int fd = mkfile("f", "");
	ASSERT_OK(getrlimit(RLIMIT_FSIZE, &old));
	signal(SIGXFSZ, SIG_IGN);
	r.rlim_cur = 10;
	r.rlim_max = old.rlim_max;
	ASSERT_OK(setrlimit(RLIMIT_FSIZE, &r));
	EXPECT_EQ(write(fd, "0123456789abc", 13), 10);
	EXPECT_ERRNO(write(fd, "x", 1), EFBIG);
	setrlimit(RLIMIT_FSIZE, &old);
}

TEST(fallocate_modes)
{
	char buf[4];
	int fd = mkfile("f", "");
	ASSERT_OK(fallocate(fd, 0, 0, 8192));
	EXPECT_EQ(size_of(fd), 8192);
	ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192));
	EXPECT_EQ(size_of(fd), 8192);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 0), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, -1, 10), EINVAL);
	/* PUNCH_HOLE must come with KEEP_SIZE. */
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	ASSERT_EQ(pwrite(fd, "full", 4, 0), 4);
	ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			    4096));
	EXPECT_EQ(pread(fd, buf, 4, 0), 4);
	EXPECT_MEMEQ(buf, "\0\0\0\0", 4);
	EXPECT_EQ(size_of(fd), 8192);
}

TEST(fallocate_readonly_ebadf)
{
	close(mkfile("f", "x"));
	int ro = open(h_path("f"), O_RDONLY);
	ASSERT_GE(ro, 0);
	EXPECT_ERRNO(fallocate(ro, 0, 0, 100), EBADF);
}

TEST(fsync_fdatasync_sync)
{
	int fd = mkfile("f", "data");
	EXPECT_OK(fsync(fd));
	EXPECT_OK(fdatasync(fd));
	EXPECT_OK(syncfs(fd));
	EXPECT_OK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
	EXPECT_ERRNO(fsync(0x3fff), EBADF);
	EXPECT_ERRNO(sync_file_range(fd, 0, 0, 0x100), EINVAL);
	sync();
}

TEST(posix_fadvise_and_readahead)
{
	int fd = mkfile("f", "data");
	EXPECT_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL), 0);
	EXPECT_EQ(posix_fadvise(fd, 0, 0, 99), EINVAL);
	EXPECT_OK(readahead(fd, 0, 4096));
	int p[2];
	ASSERT_OK(pipe(p));
	EXPECT_EQ(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL), ESPIPE);
}

TEST(sendfile_file_to_file)
{
	char buf[16] = {0};
	int in = mkfile("in", "0123456789");
	int out = mkfile("out", "");
	off_t off = 2;
	EXPECT_EQ(sendfile(out, in, &off, 5), 5);
	EXPECT_EQ(off, 7);
	/* With an explicit offset, the input's file offset is untouched. */
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 10);
	EXPECT_EQ(pread(out, buf, 16, 0), 5);
	EXPECT_STREQ(buf, "23456");
	lseek(in, 8, SEEK_SET);
	EXPECT_EQ(sendfile(out, in, NULL, 100), 2);
	EXPECT_EQ(lseek(in, 0, SEEK_CUR), 10);
	EXPECT_EQ(sendfile(out, in, NULL, 100), 0);
}

TEST(sendfile_errors)
{
	int in = mkfile("in", "abc");
	int ro = open(h_path("in"), O_RDONLY);
	off_t off = -1;
	EXPECT_ERRNO(sendfile(ro, in, NULL, 1), EBADF);
	EXPECT_ERRNO(sendfile(in, 0x3fff, NULL, 1), EBADF);
	EXPECT_ERRNO(sendfile(in, ro, &off, 1), EINVAL);
}

TEST(splice_through_pipe)
{
	char buf[16] = {0};
	int p[2];
	int in = mkfile("in", "splice-me");
	int out = mkfile("out", "");
	loff_t off = 0;
	ASSERT_OK(pipe(p));
	EXPECT_EQ(splice(in, &off, p[1], NULL, 9, 0), 9);
	EXPECT_EQ(off, 9);
	EXPECT_EQ(splice(p[0], NULL, out, NULL, 9, 0), 9);
	EXPECT_EQ(pread(out, buf, 16, 0), 9);
	EXPECT_STREQ(buf, "splice-me");
	/* Neither end a pipe. */
	EXPECT_ERRNO(splice(in, NULL, out, NULL, 1, 0), EINVAL);
	/* An offset for the pipe end is illegal. */
	EXPECT_ERRNO(splice(in, NULL, p[1], &off, 1, 0), ESPIPE);
}

TEST(copy_file_range_copies)
{
	char buf[16] = {0};
	int in = mkfile("in", "abcdefgh");
	int out = mkfile("out", "");
	loff_t ino = 2, outo = 1;
	EXPECT_EQ(copy_file_range(in, &ino, out, &outo, 4, 0), 4);
	EXPECT_EQ(ino, 6);
	EXPECT_EQ(outo, 5);
	EXPECT_EQ(pread(out, buf, 16, 0), 5);
	EXPECT_MEMEQ(buf, "\0cdef", 5);
	EXPECT_ERRNO(copy_file_range(in, &ino, out, &outo, 4, 1), EINVAL);
	ino = 100;
	EXPECT_EQ(copy_file_range(in, &ino, out, &outo, 4, 0), 0);
}

TEST(memfd_basic_io)
{
	char buf[8] = {0}, link[64], want[64], path[64];
	int fd = memfd_create("palisade", MFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	EXPECT_EQ(size_of(fd), 0);
	EXPECT_EQ(write(fd, "memfd", 5), 5);
	EXPECT_EQ(pread(fd, buf, 8, 0), 5);
	EXPECT_STREQ(buf, "memfd");
	ASSERT_OK(ftruncate(fd, 4096));
	EXPECT_EQ(size_of(fd), 4096);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	ASSERT_GT(n, 0);
	link[n] = 0;
	snprintf(want, sizeof(want), "/memfd:palisade (deleted)");
	EXPECT_STREQ(link, want);
}

TEST(memfd_mmap_shared)
{
	int fd = memfd_create("m", 0);
	ASSERT_GE(fd, 0);
	ASSERT_OK(ftruncate(fd, 4096));
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	char *q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_TRUE(q != MAP_FAILED);
	strcpy(p, "twice");
	EXPECT_STREQ(q, "twice");
	munmap(p, 4096);
	munmap(q, 4096);
}

TEST(memfd_seals)
{
	int fd = memfd_create("s", MFD_ALLOW_SEALING);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(fcntl(fd, F_GET_SEALS), 0);
	ASSERT_EQ(write(fd, "abc", 3), 3);
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK));
	EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_WRITE | F_SEAL_SHRINK);
	EXPECT_ERRNO(write(fd, "x", 1), EPERM);
	EXPECT_ERRNO(ftruncate(fd, 1), EPERM);
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
	EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), EPERM);
}

TEST(memfd_without_sealing_is_sealed)
{
	int fd = memfd_create("n", 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
	EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
	EXPECT_ERRNO(memfd_create("bad", 0x1000), EINVAL);
	int f = mkfile("f", "");
	EXPECT_ERRNO(fcntl(f, F_GET_SEALS), EINVAL);
}

TEST(xattr_set_get_list_remove)
{
	char buf[64] = {0};
	close(mkfile("f", ""));
	const char *p = h_path("f");
	if (setxattr(p, "user.pal", "v1", 2, 0) != 0 &&
	    (errno == ENOTSUP || errno == EOPNOTSUPP))
		SKIP("user xattrs not supported on /tmp");
	EXPECT_EQ(getxattr(p, "user.pal", buf, sizeof(buf)), 2);
	EXPECT_STREQ(buf, "v1");
	EXPECT_EQ(getxattr(p, "user.pal", NULL, 0), 2);
	ssize_t n = listxattr(p, buf, sizeof(buf));
	EXPECT_GE(n, 9);
	EXPECT_TRUE(memmem(buf, n, "user.pal\0", 9) != NULL);
	ASSERT_OK(removexattr(p, "user.pal"));
	EXPECT_ERRNO(getxattr(p, "user.pal", buf, sizeof(buf)), ENODATA);
	EXPECT_ERRNO(removexattr(p, "user.pal"), ENODATA);
}

TEST(xattr_create_replace_range)
{
	char small[1];
	int fd = mkfile("f", "");
	if (fsetxattr(fd, "user.a", "123", 3, 0) != 0 &&
	    (errno == ENOTSUP || errno == EOPNOTSUPP))
		SKIP("user xattrs not supported on /tmp");
	EXPECT_ERRNO(fsetxattr(fd, "user.a", "x", 1, XATTR_CREATE), EEXIST);
	EXPECT_ERRNO(fsetxattr(fd, "user.b", "x", 1, XATTR_REPLACE), ENODATA);
	EXPECT_OK(fsetxattr(fd, "user.a", "xy", 2, XATTR_REPLACE));
	EXPECT_ERRNO(fgetxattr(fd, "user.a", small, sizeof(small)), ERANGE);
	EXPECT_ERRNO(fsetxattr(fd, "user.a", "x", 1, 0x10), EINVAL);
	EXPECT_ERRNO(fsetxattr(fd, "nonamespace", "x", 1, 0), EOPNOTSUPP);
}

TEST(o_path_fd_limits)
{
	struct stat st;
	char b[4];
	close(mkfile("f", "abc"));
	int fd = open(h_path("f"), O_PATH);
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(read(fd, b, 1), EBADF);
	EXPECT_ERRNO(write(fd, "x", 1), EBADF);
	EXPECT_OK(fstat(fd, &st));
	EXPECT_EQ(st.st_size, 3);
	EXPECT_EQ(fcntl(fd, F_GETFL) & O_PATH, O_PATH);
}
