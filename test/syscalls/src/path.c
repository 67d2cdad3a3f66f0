/* path.c: path resolution: dirfds, symlinks, limits, openat2, access, chroot. */
#define AREA "path"
#include "../harness.h"

#include <linux/openat2.h>

static long openat2(int dirfd, const char *path, uint64_t flags,
		    uint64_t mode, uint64_t resolve)
{
	struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
	return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static int dirfd_of(const char *name)
{
	int fd = open(h_path(name), O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		h_fail(1, __FILE__, __LINE__, "open dir: %s", strerror(errno));
	return fd;
}

/* as_nobody runs fn in a child with uid/gid 65534; returns its status. */
static int as_nobody(int (*fn)(void))
{
	pid_t pid = h_fork();
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(90);
		_exit(fn());
	}
	return h_wait(pid);
}

TEST(openat_relative_to_dirfd)
{
	ASSERT_OK(mkdir(h_path("d"), 0700));
	h_write_file(h_path("d/f"), "x");
	int dfd = dirfd_of("d");
	int fd = openat(dfd, "f", O_RDONLY);
	EXPECT_GE(fd, 0);
	EXPECT_ERRNO(openat(dfd, "missing", O_RDONLY), ENOENT);
}

TEST(openat_absolute_ignores_dirfd)
{
	h_write_file(h_path("f"), "x");
	EXPECT_GE(openat(0x3fff, h_path("f"), O_RDONLY), 0);
}

TEST(openat_at_fdcwd_uses_cwd)
{
	h_write_file(h_path("f"), "x");
	ASSERT_OK(chdir(h_path("")));
	EXPECT_GE(openat(AT_FDCWD, "f", O_RDONLY), 0);
	EXPECT_GE(openat(AT_FDCWD, "./f", O_RDONLY), 0);
}

TEST(openat_bad_dirfd)
{
	h_write_file(h_path("f"), "x");
	int f = open(h_path("f"), O_RDONLY);
	ASSERT_GE(f, 0);
	EXPECT_ERRNO(openat(0x3fff, "f", O_RDONLY), EBADF);
	EXPECT_ERRNO(openat(f, "x", O_RDONLY), ENOTDIR);
}

TEST(openat_with_o_path_dirfd)
{
	ASSERT_OK(mkdir(h_path("d"), 0700));
	h_write_file(h_path("d/f"), "x");
	int dfd = open(h_path("d"), O_PATH | O_DIRECTORY);
	ASSERT_GE(dfd, 0);
	EXPECT_GE(openat(dfd, "f", O_RDONLY), 0);
}

TEST(o_nofollow_on_final_symlink_eloop)
{
	h_write_file(h_path("t"), "x");
	ASSERT_OK(symlink("t", h_path("l")));
	EXPECT_ERRNO(open(h_path("l"), O_RDONLY | O_NOFOLLOW), ELOOP);
	EXPECT_GE(open(h_path("l"), O_RDONLY), 0);
}

TEST(o_nofollow_follows_earlier_components)
{
	ASSERT_OK(mkdir(h_path("d"), 0700));
	h_write_file(h_path("d/f"), "x");
	ASSERT_OK(symlink("d", h_path("ld")));
	EXPECT_GE(open(h_path("ld/f"), O_RDONLY | O_NOFOLLOW), 0);
}

TEST(o_path_nofollow_opens_link_itself)
{
	struct stat st;
	ASSERT_OK(symlink("target", h_path("l")));
	int fd = open(h_path("l"), O_PATH | O_NOFOLLOW);
	ASSERT_GE(fd, 0);
	ASSERT_OK(fstatat(fd, "", &st, AT_EMPTY_PATH));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	char buf[16] = {0};
	EXPECT_EQ(readlinkat(fd, "", buf, sizeof(buf)), 6);
	EXPECT_STREQ(buf, "target");
}

TEST(fstatat_symlink_nofollow)
{
	struct stat st;
	h_write_file(h_path("t"), "abc");
	ASSERT_OK(symlink("t", h_path("l")));
	int dfd = dirfd_of("");
	ASSERT_OK(fstatat(dfd, "l", &st, 0));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(st.st_size, 3);
	ASSERT_OK(fstatat(dfd, "l", &st, AT_SYMLINK_NOFOLLOW));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	EXPECT_ERRNO(fstatat(dfd, "l", &st, 0x1), EINVAL);
}

TEST(at_empty_path)
{
	struct stat st;
	h_write_file(h_path("f"), "abcd");
	int fd = open(h_path("f"), O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_OK(fstatat(fd, "", &st, AT_EMPTY_PATH));
	EXPECT_EQ(st.st_size, 4);
	EXPECT_ERRNO(fstatat(fd, "", &st, 0), ENOENT);
	EXPECT_ERRNO(open("", O_RDONLY), ENOENT);
}

TEST(symlink_loop_eloop)
{
	ASSERT_OK(symlink("b", h_path("a")));
	ASSERT_OK(symlink("a", h_path("b")));
	ASSERT_OK(symlink("self", h_path("self")));
	EXPECT_ERRNO(open(h_path("a"), O_RDONLY), ELOOP);
	EXPECT_ERRNO(open(h_path("self"), O_RDONLY), ELOOP);
	struct stat st;
	EXPECT_ERRNO(stat(h_path("a/x"), &st), ELOOP);
	EXPECT_OK(lstat(h_path("a"), &st));
}

TEST(symlink_chain_limit_is_40)
{
	char name[16], target[16];
	h_write_file(h_path("l0"), "end");
	for (int i = 1; i <= 41; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		snprintf(target, sizeof(target), "l%d", i - 1);
		ASSERT_OK(symlink(target, h_path(name)));
	}
	EXPECT_GE(open(h_path("l40"), O_RDONLY), 0);
	EXPECT_ERRNO(open(h_path("l41"), O_RDONLY), ELOOP);
}

TEST(name_too_long)
{
	char comp[300], *full;
	memset(comp, 'n', 256);
	comp[256] = 0;
	EXPECT_ERRNO(open(h_path(comp), O_RDONLY | O_CREAT, 0600), ENAMETOOLONG);
	comp[255] = 0;
	EXPECT_GE(open(h_path(comp), O_RDONLY | O_CREAT, 0600), 0);
	full = malloc(PATH_MAX + 10);
	ASSERT_TRUE(full != NULL);
	memset(full, 0, PATH_MAX + 10);
	for (int i = 0; i < PATH_MAX + 2; i += 2)
		memcpy(full + i, "./", 2);
	EXPECT_ERRNO(open(full, O_RDONLY), ENAMETOOLONG);
	free(full);
}

TEST(trailing_slash_rules)
{
	struct stat st;
	h_write_file(h_path("f"), "");
	ASSERT_OK(mkdir(h_path("d"), 0700));
	EXPECT_ERRNO(open(h_path("f/"), O_RDONLY), ENOTDIR);
	EXPECT_ERRNO(stat(h_path("f/"), &st), ENOTDIR);
	EXPECT_OK(stat(h_path("d/"), &st));
	EXPECT_ERRNO(open(h_path("new/"), O_CREAT | O_RDWR, 0600), EISDIR);
	EXPECT_OK(mkdir(h_path("d2/"), 0700));
	EXPECT_OK(rmdir(h_path("d2/")));
	EXPECT_ERRNO(unlink(h_path("f/")), ENOTDIR);
}

TEST(dotdot_at_root_stays_at_root)
{
	struct stat a, b;
	ASSERT_OK(stat("/", &a));
	ASSERT_OK(stat("/..", &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_dev, b.st_dev);
	ASSERT_OK(stat("/../../..", &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	ASSERT_OK(stat("/tmp", &a));
	ASSERT_OK(stat("/../tmp/../../tmp", &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST(dot_and_dotdot_components)
{
	struct stat a, b;
	ASSERT_OK(mkdir(h_path("d"), 0700));
	ASSERT_OK(mkdir(h_path("d/sub"), 0700));
	h_write_file(h_path("d/sub/f"), "");
	ASSERT_OK(stat(h_path("d/sub/f"), &a));
	ASSERT_OK(stat(h_path("d/./sub/../sub/./f"), &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	ASSERT_OK(stat(h_path("d//sub///f"), &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST(dotdot_through_symlink_is_physical)
{
	struct stat a, b;
	ASSERT_OK(mkdir(h_path("x"), 0700));
	ASSERT_OK(mkdir(h_path("x/y"), 0700));
	h_write_file(h_path("x/marker"), "");
	ASSERT_OK(symlink("x/y", h_path("ly")));
	/* ly/.. is x (the link target's parent), not the case dir. */
	ASSERT_OK(stat(h_path("ly/../marker"), &a));
	ASSERT_OK(stat(h_path("x/marker"), &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST(file_as_directory_enotdir)
{
	struct stat st;
	h_write_file(h_path("f"), "");
	EXPECT_ERRNO(stat(h_path("f/x"), &st), ENOTDIR);
	EXPECT_ERRNO(open(h_path("f/x"), O_CREAT | O_RDWR, 0600), ENOTDIR);
	EXPECT_ERRNO(stat(h_path("f/."), &st), ENOTDIR);
}

TEST(creat_excl_on_symlink_eexist)
{
	ASSERT_OK(symlink("nowhere", h_path("l")));
	EXPECT_ERRNO(open(h_path("l"), O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST);
	struct stat st;
	EXPECT_ERRNO(stat(h_path("nowhere"), &st), ENOENT);
}

TEST(creat_with_directory_flag_einval)
{
	EXPECT_ERRNO(open(h_path("nd"), O_CREAT | O_DIRECTORY | O_RDONLY, 0700),
		     EINVAL);
}

TEST(proc_fd_link_names_path)
{
	char want[PATH_MAX], link[PATH_MAX], p[64];
	h_write_file(h_path("f"), "");
	ASSERT_TRUE(realpath(h_path("f"), want) != NULL);
	int fd = open(h_path("f"), O_RDONLY);
	ASSERT_GE(fd, 0);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, link, sizeof(link) - 1);
	ASSERT_GT(n, 0);
	link[n] = 0;
	EXPECT_STREQ(link, want);
	ASSERT_OK(rename(h_path("f"), h_path("g")));
	n = readlink(p, link, sizeof(link) - 1);
	ASSERT_GT(n, 0);
	link[n] = 0;
	ASSERT_TRUE(realpath(h_path("g"), want) != NULL);
	EXPECT_STREQ(link, want);
}

TEST(openat2_resolve_beneath)
{
	ASSERT_OK(mkdir(h_path("root"), 0700));
	ASSERT_OK(mkdir(h_path("root/sub"), 0700));
	h_write_file(h_path("root/sub/in"), "");
	h_write_file(h_path("out"), "");
	ASSERT_OK(symlink("../out", h_path("root/esc")));
	ASSERT_OK(symlink("sub/in", h_path("root/ok")));
	int dfd = dirfd_of("root");
	EXPECT_GE(openat2(dfd, "sub/in", O_RDONLY, 0, RESOLVE_BENEATH), 0);
	EXPECT_GE(openat2(dfd, "sub/../sub/in", O_RDONLY, 0, RESOLVE_BENEATH), 0);
	EXPECT_GE(openat2(dfd, "ok", O_RDONLY, 0, RESOLVE_BENEATH), 0);
	EXPECT_ERRNO(openat2(dfd, "../out", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERRNO(openat2(dfd, "esc", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
	EXPECT_ERRNO(openat2(dfd, h_path("out"), O_RDONLY, 0, RESOLVE_BENEATH),
		     EXDEV);
}

TEST(openat2_resolve_no_symlinks)
{
	ASSERT_OK(mkdir(h_path("d"), 0700));
	h_write_file(h_path("d/f"), "");
	ASSERT_OK(symlink("d", h_path("ld")));
	ASSERT_OK(symlink("f", h_path("d/lf")));
	int dfd = dirfd_of("");
	EXPECT_GE(openat2(dfd, "d/f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), 0);
	EXPECT_ERRNO(openat2(dfd, "ld/f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
	EXPECT_ERRNO(openat2(dfd, "d/lf", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
	/* O_PATH|O_NOFOLLOW still opens the link itself. */
	EXPECT_GE(openat2(dfd, "d/lf", O_PATH | O_NOFOLLOW, 0,
			  RESOLVE_NO_SYMLINKS),
		  0);
}

TEST(openat2_resolve_in_root)
{
	struct stat a, b;
	ASSERT_OK(mkdir(h_path("root"), 0700));
	h_write_file(h_path("root/f"), "");
	ASSERT_OK(symlink("/f", h_path("root/abs")));
	int dfd = dirfd_of("root");
	ASSERT_OK(stat(h_path("root/f"), &a));
	long fd = openat2(dfd, "/f", O_RDONLY, 0, RESOLVE_IN_ROOT);
	ASSERT_GE(fd, 0);
	ASSERT_OK(fstat(fd, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	fd = openat2(dfd, "../../../f", O_RDONLY, 0, RESOLVE_IN_ROOT);
	ASSERT_GE(fd, 0);
	ASSERT_OK(fstat(fd, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	fd = openat2(dfd, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT);
	ASSERT_GE(fd, 0);
	ASSERT_OK(fstat(fd, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST(openat2_no_magiclinks)
{
	char p[64];
	h_write_file(h_path("f"), "");
	int f = open(h_path("f"), O_RDONLY);
	ASSERT_GE(f, 0);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", f);
	EXPECT_GE(openat2(AT_FDCWD, p, O_RDONLY, 0, 0), 0);
	EXPECT_ERRNO(openat2(AT_FDCWD, p, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS),
		     ELOOP);
}

TEST(openat2_bad_arguments)
{
	struct open_how how = {.flags = O_RDONLY};
	char big[sizeof(how) + 8];
	EXPECT_ERRNO(syscall(SYS_openat2, AT_FDCWD, "/tmp", &how, 8), EINVAL);
	how.resolve = 1ULL << 40;
	EXPECT_ERRNO(syscall(SYS_openat2, AT_FDCWD, "/tmp", &how, sizeof(how)),
		     EINVAL);
	how.resolve = 0;
	how.mode = 0600; /* mode without O_CREAT */
	EXPECT_ERRNO(syscall(SYS_openat2, AT_FDCWD, "/tmp", &how, sizeof(how)),
		     EINVAL);
	how.mode = 0;
	how.flags = 1ULL << 40; /* unknown open flag */
	EXPECT_ERRNO(syscall(SYS_openat2, AT_FDCWD, "/tmp", &how, sizeof(how)),
		     EINVAL);
	how.flags = O_RDONLY;
	memset(big, 0, sizeof(big));
	memcpy(big, &how, sizeof(how));
	EXPECT_GE(syscall(SYS_openat2, AT_FDCWD, "/tmp", big, sizeof(big)), 0);
	big[sizeof(how) + 3] = 1;
	EXPECT_ERRNO(syscall(SYS_openat2, AT_FDCWD, "/tmp", big, sizeof(big)),
		     E2BIG);
}

TEST(faccessat_as_root)
{
	h_write_file(h_path("f"), "");
	ASSERT_OK(chmod(h_path("f"), 0));
	EXPECT_OK(access(h_path("f"), F_OK));
	/* Root may read and write anything, but executes only if some x bit. */
	EXPECT_OK(access(h_path("f"), R_OK | W_OK));
	EXPECT_ERRNO(access(h_path("f"), X_OK), EACCES);
	ASSERT_OK(chmod(h_path("f"), 0100));
	EXPECT_OK(access(h_path("f"), X_OK));
	EXPECT_ERRNO(access(h_path("missing"), F_OK), ENOENT);
	EXPECT_ERRNO(access(h_path("f"), 0x10), EINVAL);
}

TEST(faccessat2_flags)
{
	ASSERT_OK(symlink("nowhere", h_path("l")));
	EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, h_path("l"), F_OK, 0),
		     ENOENT);
	EXPECT_OK(syscall(SYS_faccessat2, AT_FDCWD, h_path("l"), F_OK,
			  AT_SYMLINK_NOFOLLOW));
	EXPECT_OK(syscall(SYS_faccessat2, AT_FDCWD, h_path("l"), F_OK,
			  AT_EACCESS | AT_SYMLINK_NOFOLLOW));
	EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, h_path("l"), F_OK, 0x1),
		     EINVAL);
	int dfd = dirfd_of("");
	EXPECT_OK(syscall(SYS_faccessat2, dfd, "", F_OK, AT_EMPTY_PATH));
}

static const char *perm_dir, *perm_file, *perm_ro;

static int nobody_checks(void)
{
	struct stat st;
	if (open(perm_file, O_RDONLY) != -1 || errno != EACCES)
		return 1;
	if (open(perm_ro, O_WRONLY) != -1 || errno != EACCES)
		return 2;
	if (open(perm_ro, O_RDONLY) < 0)
		return 3;
	if (access(perm_ro, W_OK) != -1 || errno != EACCES)
		return 4;
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/inner", perm_dir);
	if (stat(p, &st) != -1 || errno != EACCES)
		return 5;
	if (mkdir(p, 0700) != -1 || errno != EACCES)
		return 6;
	return 0;
}

TEST(permissions_enforced_for_nobody)
{
	/* The case directory itself must be searchable by nobody. */
	h_path("x");
	ASSERT_OK(chmod(h_path(""), 0755));
	ASSERT_OK(mkdir(h_path("priv"), 0700));
	h_write_file(h_path("priv/inner"), "");
	h_write_file(h_path("secret"), "s");
	ASSERT_OK(chmod(h_path("secret"), 0600));
	h_write_file(h_path("ro"), "r");
	ASSERT_OK(chmod(h_path("ro"), 0444));
	perm_dir = h_path("priv");
	perm_file = h_path("secret");
	perm_ro = h_path("ro");
	EXPECT_EQ(as_nobody(nobody_checks), 0);
}

static const char *chroot_dir;

static int chroot_checks(void)
{
	struct stat a, b;
	if (chroot(chroot_dir) != 0)
		return 1;
	if (chdir("/") != 0)
		return 2;
	if (open("/inside", O_RDONLY) < 0)
		return 3;
	if (open("/../../inside", O_RDONLY) < 0)
		return 4;
	if (stat("/", &a) != 0 || stat("/..", &b) != 0 || a.st_ino != b.st_ino)
		return 5;
	char cwd[64];
	if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0)
		return 6;
	return 0;
}

TEST(chroot_in_child)
{
	ASSERT_OK(mkdir(h_path("root"), 0755));
	h_write_file(h_path("root/inside"), "");
	chroot_dir = h_path("root");
	pid_t pid = h_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(chroot_checks());
	EXPECT_EQ(h_wait(pid), 0);
}

static int chroot_as_nobody(void)
{
	return chroot("/tmp") == -1 && errno == EPERM ? 0 : 1;
}

TEST(chroot_errors)
{
	h_write_file(h_path("f"), "");
	EXPECT_ERRNO(chroot(h_path("f")), ENOTDIR);
	EXPECT_ERRNO(chroot(h_path("missing")), ENOENT);
	EXPECT_EQ(as_nobody(chroot_as_nobody), 0);
}
