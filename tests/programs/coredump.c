/* Core dumps: a child with two threads dies of SIGSEGV with RLIMIT_CORE unlimited in its own
 * directory; the parent reads the "core" it left as gdb would: the ELF header, the notes
 * (PRSTATUS per thread with the signal, ids and registers, PRPSINFO, SIGINFO, AUXV, FILE,
 * PRFPREG with a vector register the child set) and the memory (a global, a heap buffer, a
 * page never touched). Then: RLIMIT_CORE 0 (no core, no flag), a signal whose default is not
 * to dump (no core), abort(). Prints facts, never addresses. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NT_ARM_TLS
#define NT_ARM_TLS 0x401
#endif

volatile uint64_t marker = 0x1122334455667788ull;
static char *heap;
static char *untouched;
static pid_t parent_pid;
static volatile uintptr_t bad_address = 16;   /* the fault's address, out of the compiler's sight */

__attribute__((noinline)) static void crash_here(void)
{
    __asm__ volatile("fmov d7, %0" ::"r"(0x4045000000000000ull) : "d7");   /* 42.0 in v7 */
    *(volatile int *)bad_address = 1;
}

static void *sleeper(void *arg)
{
    (void)arg;
    pause();
    return NULL;
}

static void child(void)
{
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &unlimited);
    strcpy(heap, "heap contents survive");
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    usleep(50000);
    crash_here();
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case NT_PRSTATUS: return "PRSTATUS";
    case NT_PRFPREG: return "PRFPREG";
    case NT_PRPSINFO: return "PRPSINFO";
    case NT_AUXV: return "AUXV";
    case NT_SIGINFO: return "SIGINFO";
    case NT_FILE: return "FILE";
    case NT_ARM_TLS: return "ARM_TLS";
    default: return NULL;
    }
}

static int read_core(const char *path, pid_t pid, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    struct stat st;
    fstat(fd, &st);
    printf("  core: regular %d mode %o owner root %d\n", S_ISREG(st.st_mode), st.st_mode & 07777, st.st_uid == 0);
    *len = st.st_size;
    *out = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    (void)pid;
    return 0;
}

static void check_core(pid_t pid)
{
    char *c;
    size_t len;
    if (read_core("/tmp/coredir/core", pid, &c, &len) < 0) {
        printf("  no core: %s\n", strerrorname_np(errno));
        return;
    }
    Elf64_Ehdr *eh = (Elf64_Ehdr *)c;
    printf("  elf: magic %d class %d data %d type %d machine %d phentsize %d first phdr note %d\n",
           !memcmp(eh->e_ident, ELFMAG, SELFMAG), eh->e_ident[EI_CLASS], eh->e_ident[EI_DATA], eh->e_type,
           eh->e_machine, eh->e_phentsize, ((Elf64_Phdr *)(c + eh->e_phoff))->p_type == PT_NOTE);
    Elf64_Phdr *ph = (Elf64_Phdr *)(c + eh->e_phoff);
    int prstatus = 0, seen[8] = {0};
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_NOTE) {
            char *p = c + ph[i].p_offset, *end = p + ph[i].p_filesz;
            while (p < end) {
                Elf64_Nhdr *n = (Elf64_Nhdr *)p;
                char *name = p + sizeof *n;
                char *desc = name + ((n->n_namesz + 3) & ~3u);
                const char *tn = type_name(n->n_type);
                if (n->n_type == NT_PRSTATUS) {
                    prstatus++;
                    struct elf_prstatus *s = (struct elf_prstatus *)desc;
                    uintptr_t pc = s->pr_reg[32];
                    printf("  PRSTATUS %d (%s, %u bytes): cursig %d signo %d pid %s ppid parent %d fpvalid %d",
                           prstatus, name, n->n_descsz, s->pr_cursig, s->pr_info.si_signo,
                           s->pr_pid == pid ? "crasher" : s->pr_pid > pid ? "thread" : "?",
                           s->pr_ppid == parent_pid, s->pr_fpvalid);
                    if (prstatus == 1)
                        printf(" pc in crash_here %d", pc >= (uintptr_t)crash_here && pc < (uintptr_t)crash_here + 64);
                    printf("\n");
                } else if (n->n_type == NT_PRPSINFO) {
                    struct elf_prpsinfo *s = (struct elf_prpsinfo *)desc;
                    printf("  PRPSINFO (%u bytes): sname %c fname %s psargs \"%s\" pid ok %d\n", n->n_descsz,
                           s->pr_sname, s->pr_fname, s->pr_psargs, s->pr_pid == pid);
                } else if (n->n_type == NT_SIGINFO) {
                    siginfo_t *si = (siginfo_t *)desc;
                    printf("  SIGINFO (%u bytes): signo %d code %d addr %p\n", n->n_descsz, si->si_signo,
                           si->si_code, si->si_addr);
                } else if (n->n_type == NT_AUXV) {
                    Elf64_auxv_t *a = (Elf64_auxv_t *)desc;
                    int pagesz = 0, entry = 0;
                    for (; a->a_type != AT_NULL; a++) {
                        pagesz |= a->a_type == AT_PAGESZ && a->a_un.a_val == 4096;
                        entry |= a->a_type == AT_ENTRY && a->a_un.a_val == getauxval(AT_ENTRY);
                    }
                    printf("  AUXV: pagesz %d entry same %d ends with AT_NULL\n", pagesz, entry);
                } else if (n->n_type == NT_FILE) {
                    uint64_t count = ((uint64_t *)desc)[0];
                    char *names = desc + 16 + count * 24;
                    int exe = 0;
                    for (uint64_t k = 0; k < count; k++, names += strlen(names) + 1)
                        exe |= !strcmp(names, "/tests/coredump");
                    printf("  FILE: page size %lu, maps the program %d\n", (unsigned long)((uint64_t *)desc)[1], exe);
                } else if (n->n_type == NT_PRFPREG && prstatus == 1) {
                    double d;
                    memcpy(&d, desc + 7 * 16, 8);
                    printf("  PRFPREG (%u bytes): v7 %g\n", n->n_descsz, d);
                } else if (n->n_type == NT_ARM_TLS && prstatus == 1) {
                    printf("  ARM_TLS (%s): tp set %d\n", name, *(uint64_t *)desc != 0);
                }
                for (int k = 0; tn && k < 8; k++)
                    if (!seen[k]) {
                        seen[k] = n->n_type;
                        break;
                    } else if ((unsigned)seen[k] == n->n_type)
                        break;
                p = desc + ((n->n_descsz + 3) & ~3u);
            }
        }
    }
    printf("  note kinds:");
    for (int k = 0; k < 8 && seen[k]; k++)
        printf(" %s", type_name(seen[k]));
    printf("\n");
    /* memory: what the child's globals and heap held */
    int found_marker = 0, found_heap = 0, untouched_zero = -1;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        uintptr_t lo = ph[i].p_vaddr, hi = lo + ph[i].p_filesz;
        if ((uintptr_t)&marker >= lo && (uintptr_t)&marker + 8 <= hi)
            found_marker = *(uint64_t *)(c + ph[i].p_offset + ((uintptr_t)&marker - lo)) == 0x1122334455667788ull;
        if ((uintptr_t)heap >= lo && (uintptr_t)heap + 32 <= hi)
            found_heap = !strcmp(c + ph[i].p_offset + ((uintptr_t)heap - lo), "heap contents survive");
        if ((uintptr_t)untouched >= lo && (uintptr_t)untouched < hi) {
            untouched_zero = 1;
            for (int k = 0; k < 4096; k++)
                untouched_zero &= c[ph[i].p_offset + ((uintptr_t)untouched - lo) + k] == 0;
        }
    }
    printf("  memory: global %d heap %d untouched page zeros %d\n", found_marker, found_heap, untouched_zero);
    munmap(c, len);
}

static void run(const char *what, void (*body)(void), int check)
{
    unlink("/tmp/coredir/core");
    pid_t pid = fork();
    if (pid == 0) {
        chdir("/tmp/coredir");
        body();
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("%s: signaled %d sig %s core %d\n", what, WIFSIGNALED(st), sigabbrev_np(WTERMSIG(st)),
           WCOREDUMP(st) ? 1 : 0);
    if (check)
        check_core(pid);
    else
        printf("  core file: %s\n", access("/tmp/coredir/core", F_OK) == 0 ? "yes" : strerrorname_np(errno));
}

static void no_limit_crash(void)
{
    struct rlimit zero = {0, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &zero);
    *(volatile int *)bad_address = 1;
}

static void term_signal(void)
{
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &unlimited);
    kill(getpid(), SIGTERM);
}

static void aborts(void)
{
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &unlimited);
    abort();
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    setvbuf(stdout, NULL, _IONBF, 0);
    parent_pid = getpid();
    mkdir("/tmp/coredir", 0755);
    umask(022);
    heap = malloc(100000);              /* here, so that the parent knows where to look */
    untouched = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    run("segv", child, 1);
    run("segv, RLIMIT_CORE 0", no_limit_crash, 0);
    run("SIGTERM", term_signal, 0);
    run("abort", aborts, 0);
    unlink("/tmp/coredir/core");
    rmdir("/tmp/coredir");
    return 0;
}
