/* dir.c: mkdir/rmdir, getdents64, rename, cwd, links, symlinks, mknod. */
#define AREA "dir"
#include "../harness.h"

#include <sys/sysmacros.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * list reads directory FD with getdents64 (buffer size BUFSZ) and writes
 * "name:type " for each entry into out, sorted by name. It returns the
 * number of entries, or -1.
 */
static int list(int fd, size_t bufsz, char *out, size_t outsz)
{
	char buf[4096], names[64][80];
	int n = 0;
	long r;
	if (bufsz > sizeof(buf))
		bufsz = sizeof(buf);
	while ((r = syscall(SYS_getdents64, fd, buf, bufsz)) > 0) {
		for (long off = 0; off < r;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			if (n < 64)
				snprintf(names[n++], 80, "%s:%d", d->d_name,
					 d->d_type);
			off += d->d_reclen;
		}
	}
	if (r < 0)
		return -1;
	qsort(names, n, 80, (int (*)(const void *, const void *))strcmp);
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		strncat(out, names[i], outsz - strlen(out) - 2);
		strcat(out, " ");
	}
	return n;
}

static int exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

TEST(mkdir_creates_directory)
{
	struct stat st;
	umask(0);
	ASSERT_OK(mkdir(h_path("d"), 0751));
	ASSERT_OK(stat(h_path("d"), &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0751);
	EXPECT_EQ(st.st_nlink, 2);
}

TEST(mkdir_existing_eexist)
{
	ASSERT_OK(mkdir(h_path("d"), 0700));
	EXPECT_ERRNO(mkdir(h_path("d"), 0700), EEXIST);
	h_write_file(h_path("f"), "");
	EXPECT_ERRNO(mkdir(h_path("f"), 0700), EEXIST);
	EXPECT_ERRNO(mkdir("/", 0700), EEXIST);
}

TEST(mkdir_missing_parent_enoent)
{
	EXPECT_ERRNO(mkdir(h_path("a/b"), 0700), ENOENT);
	EXPECT_ERRNO(mkdir("", 0700), ENOENT);
}

TEST(mkdir_under_file_enotdir)
{
	h_write_file(h_path("f"), "");
	EXPECT_ERRNO(mkdir(h_path("f/sub"), 0700), ENOTDIR);
}

TEST(subdir_increments_parent_nlink)
{
	struct stat st;
	ASSERT_OK(mkdir(h_path("p"), 0700));
	ASSERT_OK(mkdir(h_path("p/c1"), 0700));
	ASSERT_OK(mkdir(h_path("p/c2"), 0700));
	h_write_file(h_path("p/file"), "");
	ASSERT_OK(stat(h_path("p"), &st));
	EXPECT_EQ(st.st_nlink, 4);
	ASSERT_OK(rmdir(h_path("p/c1")));
	ASSERT_OK(stat(h_path("p"), &st));
	EXPECT_EQ(st.st_nlink, 3);
}

TEST(rmdir_removes_empty_directory)
{
	ASSERT_OK(mkdir(h_path("d"), 0700));
	ASSERT_OK(rmdir(h_path("d")));
	EXPECT_FALSE(exists(h_path("d")));
	EXPECT_ERRNO(rmdir(h_path("d")), ENOENT);
}

TEST(rmdir_nonempty_enotempty)
{
	ASSERT_OK(mkdir(h_path("d"), 0700));
	h_write_file(h_path("d/f"), "");
	EXPECT_ERRNO(rmdir(h_path("d")), ENOTEMPTY);
}

TEST(rmdir_file_enotdir)
{
	h_write_file(h_path("f"), "");
	EXPECT_ERRNO(rmdir(h_path("f")), ENOTDIR);
}

TEST(rmdir_dot_and_dotdot)
{
	ASSERT_OK(mkdir(h_path("d"), 0700));
	EXPECT_ERRNO(rmdir(h_path("d/.")), EINVAL);
	EXPECT_ERRNO(rmdir(h_path("d/..")), ENOTEMPTY);
}

TEST(unlink_directory_eisdir)
{
	ASSERT_OK(mkdir(h_path("d"), 0700));
	EXPECT_ERRNO(unlink(h_path("d")), EISDIR);
	EXPECT_ERRNO(unlink(h_path("missing")), ENOENT);
}

TEST(unlinkat_flags)
{
	int dfd;
	ASSERT_OK(mkdir(h_path("d"), 0700));
	h_write_file(h_path("f"), "");
	dfd = open(h_path(""), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(dfd, 0);
	EXPECT_ERRNO(unlinkat(dfd, "f", AT_REMOVEDIR), ENOTDIR);
	EXPECT_ERRNO(unlinkat(dfd, "f", 0x1), EINVAL);
	EXPECT_OK(unlinkat(dfd, "d", AT_REMOVEDIR));
	EXPECT_OK(unlinkat(dfd, "f", 0));
	EXPECT_FALSE(exists(h_path("d")));
	EXPECT_FALSE(exists(h_path("f")));
}

TEST(getdents64_lists_entries_with_types)
{
	char out[1024];
	ASSERT_OK(mkdir(h_path("d"), 0700));
	h_write_file(h_path("d/file"), "");
	ASSERT_OK(mkdir(h_path("d/sub"), 0700));
	ASSERT_OK(symlink("file", h_path("d/link")));
	ASSERT_OK(mkfifo(h_path("d/fifo"), 0600));
	int fd = open(h_path("d"), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(list(fd, 4096, out, sizeof(out)), 6);
	char want[256];
	snprintf(want, sizeof(want), "..:%d .:%d fifo:%d file:%d link:%d sub:%d ",
		 DT_DIR, DT_DIR, DT_FIFO, DT_REG, DT_LNK, DT_DIR);
	EXPECT_STREQ(out, want);
}

TEST(getdents64_small_buffers_resume)
{
	char out[4096], name[16];
	ASSERT_OK(mkdir(h_path("d"), 0700));
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "d/e%02d", i);
		h_write_file(h_path(name), "");
	}
	int fd = open(h_path("d"), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(fd, 0);
	/* Room for about two entries per call. */
	EXPECT_EQ(list(fd, 64, out, sizeof(out)), 22);
	EXPECT_TRUE(strstr(out, "e00:") && strstr(out, "e19:"));
	/* At the end it returns 0; rewinding lists everything again. */
	char buf[256];
	EXPECT_EQ(syscall(SYS_getdents64, fd, buf, sizeof(buf)), 0);
	ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
	EXPECT_EQ(list(fd, 4096, out, sizeof(out)), 22);
}

TEST(getdents64_errors)
{
	char buf[256];
	ASSERT_OK(mkdir(h_path("d"), 0700));
	int fd = open(h_path("d"), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(syscall(SYS_getdents64, fd, buf, 1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_getdents64, fd, (void *)1, sizeof(buf)), EFAULT);
	h_write_file(h_path("f"), "");
	int f = open(h_path("f"), O_RDONLY);
	EXPECT_ERRNO(syscall(SYS_getdents64, f, buf, sizeof(buf)), ENOTDIR);
	EXPECT_ERRNO(syscall(SYS_getdents64, 0x3fff, buf, sizeof(buf)), EBADF);
}

TEST(getdents64_sees_unlink_after_rewind)
{
	char out[1024];
	ASSERT_OK(mkdir(h_path("d"), 0700));
	h_write_file(h_path("d/a"), "");
	h_write_file(h_path("d/b"), "");
	int fd = open(h_path("d"), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(list(fd, 4096, out, sizeof(out)), 4);
	ASSERT_OK(unlink(h_path("d/a")));
	lseek(fd, 0, SEEK_SET);
	EXPECT_EQ(list(fd, 4096, out, sizeof(out)), 3);
	EXPECT_TRUE(strstr(out, "a:") == NULL);
}

TEST(getdents64_inode_matches_stat)
{
	struct stat st;
	char buf[1024];
	ASSERT_OK(mkdir(h_path("d"), 0700));
	h_write_file(h_path("d/x"), "");
	ASSERT_OK(stat(h_path("d/x"), &st));
	int fd = open(h_path("d"), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(fd, 0);
	long r = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	int found = 0;
	for (long off = 0; off < r;) {
		struct linux_dirent64 *d = (void *)(buf + off);
		if (!strcmp(d->d_name, "x")) {
			found = 1;
			EXPECT_EQ(d->d_ino, st.st_ino);
		}
		EXPECT_EQ(d->d_reclen % 8, 0);
		off += d->d_reclen;
	}
	EXPECT_TRUE(found);
}

TEST(rename_file_replaces_target)
{
	char buf[8] = {0};
	h_write_file(h_path("a"), "AAA");
	h_write_file(h_path("b"), "B");
	ASSERT_OK(rename(h_path("a"), h_path("b")));
	EXPECT_FALSE(exists(h_path("a")));
	int fd = open(h_path("b"), O_RDONLY);
	EXPECT_EQ(read(fd, buf, 8), 3);
	EXPECT_STREQ(buf, "AAA");
}

TEST(rename_keeps_inode)
{
	struct stat a, b;
	h_write_file(h_path("a"), "");
	ASSERT_OK(mkdir(h_path("d"), 0700));
	ASSERT_OK(stat(h_path("a"), &a));
	ASSERT_OK(rename(h_path("a"), h_path("d/moved")));
	ASSERT_OK(stat(h_path("d/moved"), &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST(rename_directory_rules)
{
	ASSERT_OK(mkdir(h_path("d1"), 0700));
	ASSERT_OK(mkdir(h_path("d2"), 0700));
	ASSERT_OK(mkdir(h_path("full"), 0700));
	h_write_file(h_path("full/x"), "");
	h_write_file(h_path("f"), "");
	EXPECT_ERRNO(rename(h_path("d1"), h_path("full")), ENOTEMPTY);
	EXPECT_ERRNO(rename(h_path("d1"), h_path("f")), ENOTDIR);
	EXPECT_ERRNO(rename(h_path("f"), h_path("d1")), EISDIR);
	EXPECT_ERRNO(rename(h_path("d1"), h_path("d1/sub")), EINVAL);
	EXPECT_OK(rename(h_path("d1"), h_path("d2")));
	EXPECT_FALSE(exists(h_path("d1")));
}

TEST(rename_errors)
{
	h_write_file(h_path("f"), "");
	EXPECT_ERRNO(rename(h_path("missing"), h_path("x")), ENOENT);
	EXPECT_ERRNO(rename(h_path("f"), h_path("nodir/x")), ENOENT);
	EXPECT_ERRNO(rename(h_path("f"), h_path("f/x")), ENOTDIR);
	EXPECT_ERRNO(rename(h_path("."), h_path("y")), EBUSY);
}

TEST(rename_to_hardlink_is_noop)
{
	h_write_file(h_path("a"), "");
	ASSERT_OK(link(h_path("a"), h_path("b")));
	EXPECT_OK(rename(h_path("a"), h_path("b")));
	EXPECT_TRUE(exists(h_path("a")));
	EXPECT_TRUE(exists(h_path("b")));
}

TEST(renameat2_noreplace)
{
	h_write_file(h_path("a"), "");
	h_write_file(h_path("b"), "");
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("b"),
			       RENAME_NOREPLACE),
		     EEXIST);
	EXPECT_OK(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("c"),
			    RENAME_NOREPLACE));
	EXPECT_TRUE(exists(h_path("c")));
}

TEST(renameat2_exchange)
{
	char buf[8] = {0};
	h_write_file(h_path("a"), "A");
	ASSERT_OK(mkdir(h_path("b"), 0700));
	ASSERT_OK(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("b"),
			    RENAME_EXCHANGE));
	struct stat st;
	ASSERT_OK(stat(h_path("a"), &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	int fd = open(h_path("b"), O_RDONLY);
	EXPECT_EQ(read(fd, buf, 8), 1);
	EXPECT_STREQ(buf, "A");
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("zz"),
			       RENAME_EXCHANGE),
		     ENOENT);
}

TEST(renameat2_bad_flags_einval)
{
	h_write_file(h_path("a"), "");
	h_write_file(h_path("b"), "");
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("b"),
			       RENAME_NOREPLACE | RENAME_EXCHANGE),
		     EINVAL);
	EXPECT_ERRNO(renameat2(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("b"),
			       0x100),
		     EINVAL);
}

TEST(chdir_and_getcwd)
{
	char want[PATH_MAX], cwd[PATH_MAX];
	ASSERT_OK(mkdir(h_path("d"), 0700));
	ASSERT_TRUE(realpath(h_path("d"), want) != NULL);
	ASSERT_OK(chdir(h_path("d")));
	ASSERT_TRUE(getcwd(cwd, sizeof(cwd)) != NULL);
	EXPECT_STREQ(cwd, want);
	/* The raw syscall returns the length including the NUL. */
	EXPECT_EQ(syscall(SYS_getcwd, cwd, sizeof(cwd)), strlen(want) + 1);
	h_write_file("rel", "");
	EXPECT_TRUE(exists(h_path("d/rel")));
	ASSERT_OK(chdir(".."));
	EXPECT_TRUE(exists("d/rel"));
}

TEST(chdir_errors)
{
	h_write_file(h_path("f"), "");
	EXPECT_ERRNO(chdir(h_path("f")), ENOTDIR);
	EXPECT_ERRNO(chdir(h_path("missing")), ENOENT);
	EXPECT_ERRNO(chdir(""), ENOENT);
}

TEST(fchdir_to_fd)
{
	char want[PATH_MAX], cwd[PATH_MAX];
	ASSERT_OK(mkdir(h_path("d"), 0700));
	ASSERT_TRUE(realpath(h_path("d"), want) != NULL);
	int fd = open(h_path("d"), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(fd, 0);
	ASSERT_OK(fchdir(fd));
	ASSERT_TRUE(getcwd(cwd, sizeof(cwd)) != NULL);
	EXPECT_STREQ(cwd, want);
	h_write_file(h_path("f"), "");
	int f = open(h_path("f"), O_RDONLY);
	EXPECT_ERRNO(fchdir(f), ENOTDIR);
	EXPECT_ERRNO(fchdir(0x3fff), EBADF);
}

TEST(getcwd_small_buffer_erange)
{
	char buf[2];
	EXPECT_ERRNO(syscall(SYS_getcwd, buf, sizeof(buf)), ERANGE);
	EXPECT_ERRNO(syscall(SYS_getcwd, (void *)1, 4096), EFAULT);
}

TEST(removed_cwd)
{
	char buf[PATH_MAX];
	ASSERT_OK(mkdir(h_path("d"), 0700));
	ASSERT_OK(chdir(h_path("d")));
	ASSERT_OK(rmdir(h_path("d")));
	EXPECT_ERRNO(syscall(SYS_getcwd, buf, sizeof(buf)), ENOENT);
	EXPECT_ERRNO(open("new", O_CREAT | O_RDWR, 0600), ENOENT);
	EXPECT_ERRNO(mkdir("sub", 0700), ENOENT);
}

TEST(hard_link_shares_inode)
{
	struct stat a, b;
	h_write_file(h_path("a"), "data");
	ASSERT_OK(link(h_path("a"), h_path("b")));
	ASSERT_OK(stat(h_path("a"), &a));
	ASSERT_OK(stat(h_path("b"), &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_nlink, 2);
	ASSERT_OK(unlink(h_path("a")));
	ASSERT_OK(stat(h_path("b"), &b));
	EXPECT_EQ(b.st_nlink, 1);
	EXPECT_EQ(b.st_size, 4);
}

TEST(link_errors)
{
	h_write_file(h_path("a"), "");
	h_write_file(h_path("b"), "");
	ASSERT_OK(mkdir(h_path("d"), 0700));
	EXPECT_ERRNO(link(h_path("a"), h_path("b")), EEXIST);
	EXPECT_ERRNO(link(h_path("d"), h_path("dl")), EPERM);
	EXPECT_ERRNO(link(h_path("missing"), h_path("c")), ENOENT);
	EXPECT_ERRNO(linkat(AT_FDCWD, h_path("a"), AT_FDCWD, h_path("c"), 0x1),
		     EINVAL);
}

TEST(linkat_symlink_follow)
{
	struct stat st;
	h_write_file(h_path("t"), "");
	ASSERT_OK(symlink(h_path("t"), h_path("s")));
	ASSERT_OK(linkat(AT_FDCWD, h_path("s"), AT_FDCWD, h_path("nofollow"), 0));
	ASSERT_OK(lstat(h_path("nofollow"), &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	ASSERT_OK(linkat(AT_FDCWD, h_path("s"), AT_FDCWD, h_path("follow"),
			 AT_SYMLINK_FOLLOW));
	ASSERT_OK(lstat(h_path("follow"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(symlink_and_readlink)
{
	char buf[64];
	ASSERT_OK(symlink("some/target", h_path("l")));
	memset(buf, 'X', sizeof(buf));
	EXPECT_EQ(readlink(h_path("l"), buf, sizeof(buf)), 11);
	EXPECT_MEMEQ(buf, "some/targetX", 12); /* no NUL added */
	EXPECT_EQ(readlink(h_path("l"), buf, 4), 4);
	EXPECT_MEMEQ(buf, "some", 4);
	EXPECT_ERRNO(readlink(h_path("l"), buf, 0), EINVAL);
}

TEST(readlink_not_a_symlink_einval)
{
	char buf[16];
	h_write_file(h_path("f"), "");
	EXPECT_ERRNO(readlink(h_path("f"), buf, sizeof(buf)), EINVAL);
	EXPECT_ERRNO(readlink(h_path("missing"), buf, sizeof(buf)), ENOENT);
}

TEST(dangling_symlink)
{
	struct stat st;
	ASSERT_OK(symlink("nowhere", h_path("l")));
	EXPECT_ERRNO(stat(h_path("l"), &st), ENOENT);
	EXPECT_OK(lstat(h_path("l"), &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	EXPECT_EQ(st.st_size, 7);
	EXPECT_ERRNO(symlink("x", h_path("l")), EEXIST);
	EXPECT_ERRNO(symlink("", h_path("empty")), ENOENT);
	/* Creating through a dangling symlink creates its target. */
	int fd = open(h_path("l"), O_CREAT | O_WRONLY, 0600);
	EXPECT_GE(fd, 0);
	EXPECT_TRUE(exists(h_path("nowhere")));
}

TEST(mkdirat_with_dirfd)
{
	ASSERT_OK(mkdir(h_path("base"), 0700));
	int dfd = open(h_path("base"), O_RDONLY | O_DIRECTORY);
	ASSERT_GE(dfd, 0);
	ASSERT_OK(mkdirat(dfd, "child", 0700));
	EXPECT_TRUE(exists(h_path("base/child")));
	EXPECT_ERRNO(mkdirat(0x3fff, "x", 0700), EBADF);
	h_write_file(h_path("f"), "");
	int f = open(h_path("f"), O_RDONLY);
	EXPECT_ERRNO(mkdirat(f, "x", 0700), ENOTDIR);
}

TEST(mknod_fifo_and_devices)
{
	struct stat st;
	ASSERT_OK(mknod(h_path("fifo"), S_IFIFO | 0600, 0));
	ASSERT_OK(stat(h_path("fifo"), &st));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	ASSERT_OK(mknod(h_path("null"), S_IFCHR | 0666, makedev(1, 3)));
	ASSERT_OK(stat(h_path("null"), &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(major(st.st_rdev), 1);
	EXPECT_EQ(minor(st.st_rdev), 3);
	ASSERT_OK(mknod(h_path("reg"), S_IFREG | 0600, 0));
	ASSERT_OK(stat(h_path("reg"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_ERRNO(mknod(h_path("dir"), S_IFDIR | 0700, 0), EPERM);
	EXPECT_ERRNO(mknod(h_path("bad"), 0170000 | 0600, 0), EINVAL);
	EXPECT_ERRNO(mknod(h_path("fifo"), S_IFIFO | 0600, 0), EEXIST);
}

TEST(mkfifo_open_nonblocking)
{
	ASSERT_OK(mkfifo(h_path("p"), 0600));
	/* A reader opens at once; a writer without reader gets ENXIO. */
	EXPECT_ERRNO(open(h_path("p"), O_WRONLY | O_NONBLOCK), ENXIO);
	int r = open(h_path("p"), O_RDONLY | O_NONBLOCK);
	ASSERT_GE(r, 0);
	int w = open(h_path("p"), O_WRONLY | O_NONBLOCK);
	ASSERT_GE(w, 0);
	EXPECT_EQ(write(w, "hi", 2), 2);
	char buf[4];
	EXPECT_EQ(read(r, buf, 4), 2);
}
