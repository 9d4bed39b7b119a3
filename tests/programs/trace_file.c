/* --trace golden lines (tests/qemu/test_trace.py): file syscalls with flags, strings,
 * buffers, struct stat and an errno, each made directly (no stdio: its fstat of stdout
 * would differ between a pipe and a console). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
    char buf[80];
    struct stat st;
    int fd = open("/tmp/trace_file.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    write(fd, "hello, trace\n", 13);
    struct iovec iov[2] = {{"abc", 3}, {"defghijklmnopqrstuvwxyz0123456789ABCDEF\n", 40}};
    writev(fd, iov, 2);
    close(fd);
    fd = open("/tmp/trace_file.txt", O_RDONLY | O_CLOEXEC);
    read(fd, buf, sizeof buf);
    fstat(fd, &st);
    lseek(fd, 6, SEEK_SET);
    pread(fd, buf, 5, 0);
    dup3(fd, 10, O_CLOEXEC);
    fcntl(10, F_GETFD);
    fcntl(10, F_GETFL);
    close(10);
    close(fd);
    open("/nonexistent/file", O_RDONLY);
    stat("/tmp/trace_file.txt", &st);
    lstat("/tmp/trace_file.txt", &st);
    stat("/dev/null", &st);
    faccessat(AT_FDCWD, "/tmp/trace_file.txt", R_OK | W_OK, 0);
    mkdir("/tmp/trace_dir", 0755);
    rmdir("/tmp/trace_dir");
    unlink("/tmp/trace_file.txt");
    void *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p, 4096, PROT_READ);
    munmap(p, 8192);
    write(1, "done\n", 5);
    return 0;
}
