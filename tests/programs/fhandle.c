/* name_to_handle_at and open_by_handle_at (CONFIG_FHANDLE) on a tmpfs of its own and on the
 * kernel's filesystems: handle sizes and types, the EOVERFLOW protocol (handle_bytes set to the
 * size needed), the mount id against /proc/self/mountinfo, reopening by handle (read, write,
 * O_PATH, directories, symlinks), stale handles (unlink and recreate, a changed generation,
 * another mount), EPERM without CAP_DAC_READ_SEARCH, EOPNOTSUPP where a filesystem has no
 * handles, and the errno order of both calls. Handle bytes are random (generations): only
 * sizes, types and comparisons are printed. Run as root; leaves nothing behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR_ "/tmp/fhandle.d"
#define MAXH 128

struct fh {
    unsigned int handle_bytes;
    int handle_type;
    unsigned char f_handle[MAXH];
};

static const char *err(long r)
{
    return r < 0 ? strerrorname_np(errno) : "ok";
}

static long n2h(int dfd, const char *path, struct fh *h, int *mnt, int flags)
{
    return syscall(SYS_name_to_handle_at, dfd, path, h, mnt, flags);
}

static long obh(int mfd, struct fh *h, int flags)
{
    return syscall(SYS_open_by_handle_at, mfd, h, flags);
}

/* A full handle of path; prints its size and type under `what`. */
static int get(const char *what, int dfd, const char *path, struct fh *h, int *mnt, int flags)
{
    memset(h, 0, sizeof *h);
    h->handle_bytes = MAXH;
    long r = n2h(dfd, path, h, mnt, flags);
    if (r < 0)
        printf("%s: %s\n", what, err(r));
    else
        printf("%s: type %d, %u bytes\n", what, h->handle_type, h->handle_bytes);
    return r;
}

static int mountinfo_id(const char *mountpoint)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024];
    int found = -1;
    while (f && fgets(line, sizeof line, f)) {
        int id, parent;
        char mp[512];
        if (sscanf(line, "%d %d %*s %*s %511s", &id, &parent, mp) == 3 && !strcmp(mp, mountpoint))
            found = id;
    }
    if (f)
        fclose(f);
    return found;
}

static void read_back(const char *what, int mfd, struct fh *h, int flags)
{
    int fd = obh(mfd, h, flags);
    if (fd < 0) {
        printf("%s: %s\n", what, err(fd));
        return;
    }
    char buf[64] = "";
    struct stat st;
    fstat(fd, &st);
    long n = (flags & O_PATH) ? -2 : read(fd, buf, sizeof buf - 1);
    if (n >= 0)
        buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    printf("%s: opened, %s, read %s%s%s\n", what, S_ISDIR(st.st_mode) ? "directory" : S_ISLNK(st.st_mode) ? "symlink"
           : "file", n == -2 ? "(O_PATH)" : n < 0 ? strerrorname_np(errno) : "\"", n >= 0 ? buf : "",
           n >= 0 ? "\"" : "");
    close(fd);
}

static void overflow(const char *what, const char *path, unsigned int room)
{
    struct fh h = {.handle_bytes = room, .handle_type = 77};
    int mnt = -1;
    long r = n2h(AT_FDCWD, path, &h, &mnt, 0);
    printf("%s (room %u): %s, handle_bytes %u, type %d, mount id %s\n", what, room, err(r), h.handle_bytes,
           h.handle_type, mnt == mountinfo_id(DIR_) ? "set" : "not set");
}

static void drop_dac_read_search(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    syscall(SYS_capget, &hdr, data);
    data[0].effective &= ~(1u << CAP_DAC_READ_SEARCH);
    if (syscall(SYS_capset, &hdr, data))
        perror("capset");
}

/* On an ext4 filesystem mounted at `dir`: the default export_encode_fh handle (type 1, the
 * inode number and i_generation in 8 bytes), ext4_nfs_get_inode's stale cases. */
static int ext4(const char *dir)
{
    struct fh h, hf, h2;
    int mnt = -1;
    char path[256], sub[256];
    snprintf(path, sizeof path, "%s/fh.txt", dir);
    snprintf(sub, sizeof sub, "%s/fh.d", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd, "ext4 data\n", 10);
    close(fd);
    mkdir(sub, 0755);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    get("ext4 file", AT_FDCWD, path, &hf, &mnt, 0);
    struct stat st;
    stat(path, &st);
    unsigned int ino;
    memcpy(&ino, hf.f_handle, 4);
    printf("inode number in the first word: %s\n", ino == (unsigned int)st.st_ino ? "yes" : "no");
    printf("mount id equals mountinfo's: %s\n", mnt == mountinfo_id(dir) ? "yes" : "no");
    get("ext4 directory", AT_FDCWD, sub, &h, &mnt, 0);
    get("ext4 root", AT_FDCWD, dir, &h, &mnt, 0);
    memcpy(&ino, h.f_handle, 4);
    printf("root's inode number: %u\n", ino);
    read_back("ext4 root reopened", dirfd, &h, O_RDONLY | O_DIRECTORY);
    h2.handle_bytes = 4;
    printf("room 4: %s, handle_bytes %u\n", err(n2h(AT_FDCWD, path, &h2, &mnt, 0)), h2.handle_bytes);
    read_back("ext4 file reopened", dirfd, &hf, O_RDONLY);
    h2 = hf;
    memset(h2.f_handle + 4, 0, 4);
    read_back("generation 0 (any)", dirfd, &h2, O_RDONLY);
    h2 = hf;
    h2.f_handle[4] ^= 1;
    printf("generation changed: %s\n", err(obh(dirfd, &h2, O_RDONLY)));
    h2 = hf;
    h2.handle_type = 3;
    printf("handle type 3: %s\n", err(obh(dirfd, &h2, O_RDONLY)));
    h2 = hf;
    h2.handle_type = 2;
    read_back("handle type 2 (with parent)", dirfd, &h2, O_RDONLY);
    unsigned int inos[] = {0, 1, 7, 8, 10, 0x7fffffff};
    for (unsigned i = 0; i < sizeof inos / sizeof *inos; i++) {
        h2 = hf;
        memcpy(h2.f_handle, &inos[i], 4);
        memset(h2.f_handle + 4, 0, 4);
        printf("inode %u: %s\n", inos[i], err(obh(dirfd, &h2, O_RDONLY)));
    }
    h2 = hf;
    ino = (unsigned int)st.st_ino + 50;
    memcpy(h2.f_handle, &ino, 4);
    printf("a free inode: %s\n", err(obh(dirfd, &h2, O_RDONLY)));
    fd = open(path, O_RDONLY);
    unlink(path);
    read_back("unlinked, still open", dirfd, &hf, O_RDONLY);
    close(fd);
    printf("unlinked and closed: %s\n", err(obh(dirfd, &hf, O_RDONLY)));
    fd = open(path, O_CREAT | O_RDWR, 0644);
    close(fd);
    get("recreated", AT_FDCWD, path, &h, &mnt, 0);
    printf("old handle: %s\n", err(obh(dirfd, &hf, O_RDONLY)));
    unlink(path);
    rmdir(sub);
    close(dirfd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "ext4"))
        return ext4(argv[2]);
    /* moss-py only (it has no /dev/loopN): mount(2) with its "loop" option, as BusyBox's
     * mount -o loop does on Linux */
    if (argc == 4 && !strcmp(argv[1], "mountloop"))
        return mount(argv[2], argv[3], "ext4", 0, "loop") ? perror("mount"), 1 : 0;
    struct fh h, h2, hf;
    int mnt = -1;

    mkdir(DIR_, 0755);
    if (mount("fhtmp", DIR_, "tmpfs", 0, "size=1m")) {
        perror("mount");
        return 1;
    }
    int fd = open(DIR_ "/f", O_CREAT | O_RDWR, 0644);
    write(fd, "hello\n", 6);
    close(fd);
    mkdir(DIR_ "/d", 0755);
    symlink("f", DIR_ "/link");
    int dirfd = open(DIR_, O_RDONLY | O_DIRECTORY);
    int pathfd = open(DIR_, O_PATH);

    /* sizes and types */
    get("tmpfs file", AT_FDCWD, DIR_ "/f", &hf, &mnt, 0);
    struct stat st;
    stat(DIR_ "/f", &st);
    unsigned int ino;
    memcpy(&ino, hf.f_handle + 4, 4);
    printf("inode number in the handle's second word: %s\n", ino == (unsigned int)st.st_ino ? "yes" : "no");
    printf("mount id equals mountinfo's: %s\n", mnt == mountinfo_id(DIR_) ? "yes" : "no");
    get("tmpfs directory", AT_FDCWD, DIR_ "/d", &h, &mnt, 0);
    get("tmpfs mount root", AT_FDCWD, DIR_, &h, &mnt, 0);
    get("tmpfs symlink", AT_FDCWD, DIR_ "/link", &h, &mnt, 0);
    get("symlink followed", AT_FDCWD, DIR_ "/link", &h2, &mnt, AT_SYMLINK_FOLLOW);
    printf("followed handle equals the file's: %s\n", !memcmp(&h2, &hf, 8 + hf.handle_bytes) ? "yes" : "no");
    get("relative to dirfd", dirfd, "f", &h2, &mnt, 0);
    printf("same handle: %s\n", !memcmp(&h2, &hf, 8 + hf.handle_bytes) ? "yes" : "no");
    fd = open(DIR_ "/f", O_RDONLY);
    get("AT_EMPTY_PATH on the file", fd, "", &h2, &mnt, AT_EMPTY_PATH);
    printf("same handle: %s\n", !memcmp(&h2, &hf, 8 + hf.handle_bytes) ? "yes" : "no");
    get("AT_EMPTY_PATH on an O_PATH dirfd", pathfd, "", &h2, &mnt, AT_EMPTY_PATH);
    get("empty path without AT_EMPTY_PATH", fd, "", &h2, &mnt, 0);
    close(fd);
    get("/dev/null", AT_FDCWD, "/dev/null", &h, &mnt, 0);
    get("/proc/self/status", AT_FDCWD, "/proc/self/status", &h, &mnt, 0);
    get("/proc", AT_FDCWD, "/proc", &h, &mnt, 0);
    get("/ (the rootfs)", AT_FDCWD, "/", &h, &mnt, 0);
    get("/sys", AT_FDCWD, "/sys", &h, &mnt, 0);
    get("/proc/self/ns/mnt followed", AT_FDCWD, "/proc/self/ns/mnt", &h, &mnt, AT_SYMLINK_FOLLOW);
    get("/proc/self/exe not followed", AT_FDCWD, "/proc/self/exe", &h, &mnt, 0);
    int mfd = memfd_create("fh", 0);
    get("a memfd (AT_EMPTY_PATH)", mfd, "", &h, &mnt, AT_EMPTY_PATH);
    close(mfd);
    int pfd[2];
    pipe(pfd);
    get("a pipe (AT_EMPTY_PATH)", pfd[0], "", &h, &mnt, AT_EMPTY_PATH);
    get("a missing file", AT_FDCWD, DIR_ "/nothing", &h, &mnt, 0);

    /* the EOVERFLOW protocol */
    overflow("size probe", DIR_ "/f", 0);
    overflow("too small", DIR_ "/f", 11);
    overflow("exact", DIR_ "/f", 12);

    /* name_to_handle_at's checks in order */
    h.handle_bytes = MAXH;
    printf("flag AT_HANDLE_FID (6.5): %s\n", err(n2h(AT_FDCWD, DIR_ "/f", &h, &mnt, 0x200)));
    printf("flag AT_SYMLINK_NOFOLLOW: %s\n", err(n2h(AT_FDCWD, DIR_ "/f", &h, &mnt, 0x100)));
    printf("bad flag and missing file: %s\n", err(n2h(AT_FDCWD, DIR_ "/nothing", &h, &mnt, 0x1)));
    printf("missing file, NULL handle: %s\n", err(n2h(AT_FDCWD, DIR_ "/nothing", NULL, &mnt, 0)));
    printf("procfs, NULL handle: %s\n", err(n2h(AT_FDCWD, "/proc/self/status", NULL, &mnt, 0)));
    printf("NULL handle: %s\n", err(n2h(AT_FDCWD, DIR_ "/f", NULL, &mnt, 0)));
    h.handle_bytes = 129;
    printf("handle_bytes 129, NULL mount id: %s\n", err(n2h(AT_FDCWD, DIR_ "/f", &h, NULL, 0)));
    h.handle_bytes = MAXH;
    printf("NULL mount id: %s\n", err(n2h(AT_FDCWD, DIR_ "/f", &h, NULL, 0)));
    h.handle_bytes = 0;
    printf("size probe, NULL mount id: %s\n", err(n2h(AT_FDCWD, DIR_ "/f", &h, NULL, 0)));
    printf("NULL path with AT_EMPTY_PATH: %s\n", err(n2h(dirfd, NULL, &h, &mnt, AT_EMPTY_PATH)));
    printf("bad dirfd: %s\n", err(n2h(99, "f", &h, &mnt, 0)));

    /* reopening */
    read_back("open on the mount", dirfd, &hf, O_RDONLY);
    read_back("open with cwd elsewhere (AT_FDCWD)", AT_FDCWD, &hf, O_RDONLY);
    read_back("O_PATH", dirfd, &hf, O_PATH);
    int root = open("/proc", O_RDONLY | O_DIRECTORY);
    read_back("mount fd on procfs", root, &hf, O_RDONLY);
    close(root);
    read_back("mount fd O_PATH", pathfd, &hf, O_RDONLY);
    read_back("mount fd a pipe", pfd[0], &hf, O_RDONLY);
    read_back("mount fd 99", 99, &hf, O_RDONLY);
    chdir(DIR_);
    read_back("AT_FDCWD with cwd on the mount", AT_FDCWD, &hf, O_RDONLY);
    chdir("/");
    fd = obh(dirfd, &hf, O_RDWR | O_APPEND | O_CLOEXEC);
    printf("O_RDWR|O_CLOEXEC: %s, cloexec %s, write %s\n", err(fd), fcntl(fd, F_GETFD) == FD_CLOEXEC ? "yes" : "no",
           write(fd, "again\n", 6) == 6 ? "ok" : strerrorname_np(errno));
    close(fd);
    read_back("read after the write", dirfd, &hf, O_RDONLY);
    get("directory", AT_FDCWD, DIR_ "/d", &h, &mnt, 0);
    read_back("directory O_RDONLY", dirfd, &h, O_RDONLY | O_DIRECTORY);
    printf("directory O_RDWR: %s\n", err(obh(dirfd, &h, O_RDWR)));
    printf("file O_DIRECTORY: %s\n", err(obh(dirfd, &hf, O_RDONLY | O_DIRECTORY)));
    get("symlink", AT_FDCWD, DIR_ "/link", &h, &mnt, 0);
    read_back("symlink O_RDONLY", dirfd, &h, O_RDONLY);
    read_back("symlink O_PATH", dirfd, &h, O_PATH);

    /* open_by_handle_at's checks */
    h2 = hf;
    h2.handle_bytes = 0;
    printf("handle_bytes 0: %s\n", err(obh(dirfd, &h2, O_RDONLY)));
    h2.handle_bytes = 129;
    printf("handle_bytes 129: %s\n", err(obh(dirfd, &h2, O_RDONLY)));
    printf("handle_bytes 129, bad mount fd: %s\n", err(obh(99, &h2, O_RDONLY)));
    printf("NULL handle: %s\n", err(obh(dirfd, NULL, O_RDONLY)));
    h2 = hf;
    h2.handle_bytes = 8;
    printf("handle cut to 8 bytes: %s\n", err(obh(dirfd, &h2, O_RDONLY)));
    h2 = hf;
    h2.handle_type = 2;
    read_back("another handle type", dirfd, &h2, O_RDONLY);
    h2 = hf;
    h2.f_handle[0] ^= 1;
    printf("generation changed: %s\n", err(obh(dirfd, &h2, O_RDONLY)));
    h2 = hf;
    h2.f_handle[4] ^= 0x40;
    printf("inode number changed: %s\n", err(obh(dirfd, &h2, O_RDONLY)));

    /* without CAP_DAC_READ_SEARCH */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        drop_dac_read_search();
        printf("without CAP_DAC_READ_SEARCH: name_to_handle_at %s",
               err(n2h(AT_FDCWD, DIR_ "/f", &h2, &mnt, 0)));
        printf(", open_by_handle_at %s", err(obh(dirfd, &hf, O_RDONLY)));
        printf(", with a NULL handle %s\n", err(obh(dirfd, NULL, O_RDONLY)));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    /* stale handles */
    fd = open(DIR_ "/f", O_RDONLY);
    unlink(DIR_ "/f");
    read_back("unlinked, still open", dirfd, &hf, O_RDONLY);
    close(fd);
    printf("unlinked and closed: %s\n", err(obh(dirfd, &hf, O_RDONLY)));
    fd = open(DIR_ "/f", O_CREAT | O_RDWR, 0644);
    close(fd);
    printf("recreated under the same name: %s\n", err(obh(dirfd, &hf, O_RDONLY)));
    get("the new file", AT_FDCWD, DIR_ "/f", &h, &mnt, 0);
    printf("new handle differs: %s\n", memcmp(&h, &hf, 8 + hf.handle_bytes) ? "yes" : "no");
    get("directory again", AT_FDCWD, DIR_ "/d", &h, &mnt, 0);
    rmdir(DIR_ "/d");
    printf("removed directory: %s\n", err(obh(dirfd, &h, O_RDONLY)));

    close(dirfd);
    close(pathfd);
    unlink(DIR_ "/f");
    unlink(DIR_ "/link");
    if (umount(DIR_))
        perror("umount");
    rmdir(DIR_);
    return 0;
}
