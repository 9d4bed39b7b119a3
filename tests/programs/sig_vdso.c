/* The vDSO: AT_SYSINFO_EHDR points at an ELF shared object that exports
 * __kernel_rt_sigreturn@LINUX_2.6.39 (mov x8, #139; svc #0). glibc installs handlers
 * without SA_RESTORER, so a handler returns there; with SA_RESTORER (as musl does) it
 * returns to the restorer given. Compared with Linux booted in QEMU: qemu-aarch64 7.2 maps
 * no vDSO. */
#define _GNU_SOURCE
#include <elf.h>
#include <execinfo.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile uintptr_t ret_addr;
static volatile int handled;
static void *trace[32];
static volatile int depth;

static void handler(int sig)
{
    (void)sig;
    handled++;
    ret_addr = (uintptr_t)__builtin_return_address(0);
    if (handled == 1)
        depth = backtrace(trace, 32);
}

__attribute__((noinline)) static void trigger(void)
{
    raise(SIGUSR1);
    __asm__ volatile("" ::: "memory");      /* keep the return address inside trigger */
}

extern void my_restorer(void);
__asm__(".globl my_restorer\n my_restorer:\n mov x8, #139\n svc #0\n");

struct k_sigaction { void (*handler)(int); unsigned long flags; void (*restorer)(void); uint64_t mask; };

int main(void)
{
    uintptr_t base = getauxval(AT_SYSINFO_EHDR);
    printf("AT_SYSINFO_EHDR present: %d\n", base != 0);
    if (!base)
        return 1;
    const ElfW(Ehdr) *eh = (const void *)base;
    printf("ELF magic %d, ET_DYN %d, EM_AARCH64 %d\n", memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0,
           eh->e_type == ET_DYN, eh->e_machine == EM_AARCH64);
    const ElfW(Phdr) *ph = (const void *)(base + eh->e_phoff);
    uintptr_t bias = base;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD)
            bias = base - ph[i].p_vaddr;
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const void *)(base + ph[i].p_offset);
    }
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const uint32_t *hash = NULL;
    const uint16_t *versym = NULL;
    const ElfW(Verdef) *verdef = NULL;
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_SYMTAB) symtab = (const void *)(bias + dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_STRTAB) strtab = (const void *)(bias + dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_HASH) hash = (const void *)(bias + dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_VERSYM) versym = (const void *)(bias + dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_VERDEF) verdef = (const void *)(bias + dyn->d_un.d_ptr);
    }
    printf("dynamic: symtab %d strtab %d hash %d versym %d verdef %d\n", !!symtab, !!strtab, !!hash, !!versym,
           !!verdef);
    uintptr_t tramp = 0;
    const char *version = "?";
    for (uint32_t i = 0; hash && i < hash[1]; i++) {
        if (strcmp(strtab + symtab[i].st_name, "__kernel_rt_sigreturn") != 0)
            continue;
        tramp = bias + symtab[i].st_value;
        const ElfW(Verdef) *vd = verdef;
        while (vd) {
            if (vd->vd_ndx == (versym[i] & 0x7fff))
                version = strtab + ((const ElfW(Verdaux) *)((const char *)vd + vd->vd_aux))->vda_name;
            vd = vd->vd_next ? (const void *)((const char *)vd + vd->vd_next) : NULL;
        }
    }
    printf("__kernel_rt_sigreturn found %d, version %s\n", tramp != 0, version);
    const uint32_t *insn = (const void *)tramp;
    printf("code: mov x8, #139 %d; svc #0 %d\n", insn[0] == 0xd2801168, insn[1] == 0xd4000001);

    signal(SIGUSR1, handler);
    struct k_sigaction k;
    syscall(SYS_rt_sigaction, SIGUSR1, NULL, &k, 8);
    printf("glibc's sigaction: SA_RESTORER %d\n", !!(k.flags & 0x04000000));
    trigger();
    printf("handler returned through the vDSO trampoline: %d (ran %d)\n", ret_addr == tramp, handled);
    int through = 0;
    for (int i = 0; i + 1 < depth; i++)
        if ((uintptr_t)trace[i] >= tramp - 4 && (uintptr_t)trace[i] <= tramp + 8)
            through = 1;
    printf("backtrace() from the handler unwinds through the trampoline into the interrupted code: %d\n",
           through);

    k.handler = handler;
    k.flags = 0x04000000;                   /* SA_RESTORER */
    k.restorer = my_restorer;
    k.mask = 0;
    syscall(SYS_rt_sigaction, SIGUSR1, &k, NULL, 8);
    raise(SIGUSR1);
    printf("with SA_RESTORER: returned through our restorer %d (ran %d)\n", ret_addr == (uintptr_t)my_restorer,
           handled);
    return 0;
}
