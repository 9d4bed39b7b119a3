/* What a SA_SIGINFO handler finds in its ucontext and what rt_sigreturn restores:
 * x19..x28 and v0..v31 set to known values around an svc that raises the signal;
 * the handler checks uc_mcontext (regs, sp, pc relative to the svc, the fpsimd_context
 * record in __reserved), clobbers every FP/SIMD register, edits one saved register and
 * the saved v8, and after the return the new values are live. Prints no addresses. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static uint64_t expect_sp, expect_pc;
static int ok_regs, ok_sp, ok_pc, ok_fpsimd, ok_terminator, ok_mask, ok_args, fpsimd_size, x0_signo;
static int fpsimd_magic_ok;
static uint64_t x20_after, v8_after_lo, v9_after_lo;
static volatile double sink;

static uint64_t vpattern(int n) { return 0x1111111111111111ull * (uint64_t)(n % 15 + 1) + (uint64_t)n; }

static void handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    mcontext_t *mc = &uc->uc_mcontext;
    x0_signo = sig;
    ok_args = si->si_signo == sig && (void *)si < ucv && (char *)ucv - (char *)si == 128;
    ok_regs = 1;
    for (int i = 19; i <= 28; i++)
        if (mc->regs[i] != 0x1900 + (uint64_t)i)
            ok_regs = 0;
    ok_sp = mc->sp == expect_sp;
    ok_pc = mc->pc == expect_pc;
    ok_mask = sigismember(&uc->uc_sigmask, SIGUSR1) == 0;
    struct fpsimd_context *fp = (struct fpsimd_context *)mc->__reserved;
    fpsimd_magic_ok = fp->head.magic == FPSIMD_MAGIC;
    fpsimd_size = fp->head.size;
    ok_fpsimd = 1;
    for (int i = 0; i < 32; i++) {
        uint64_t lo = (uint64_t)fp->vregs[i], hi = (uint64_t)(fp->vregs[i] >> 64);
        if (lo != vpattern(i) || hi != ~vpattern(i))
            ok_fpsimd = 0;
    }
    struct _aarch64_ctx *end = (struct _aarch64_ctx *)((char *)fp + fp->head.size);
    ok_terminator = end->magic == 0 && end->size == 0;
    /* clobber FP/SIMD state the compiler will not keep for us */
    __asm__ volatile("movi v0.16b, #0xee\n movi v8.16b, #0xee\n movi v15.16b, #0xee\n"
                     "movi v16.16b, #0xee\n movi v31.16b, #0xee" ::: "v0", "v8", "v15", "v16", "v31");
    for (int i = 0; i < 100; i++)
        sink = sink * 1.5 + i;
    /* edit the context: x20 and v9's low half come back changed */
    mc->regs[20] = 0xfeedf00d;
    fp->vregs[9] = ((__uint128_t)0x5555 << 64) | 0xabcdef;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);

    static uint64_t vin[64], vout[64];
    for (int i = 0; i < 32; i++) {
        vin[2 * i] = vpattern(i);
        vin[2 * i + 1] = ~vpattern(i);
    }
    uint64_t regs_out[10];
    pid_t pid = getpid(), tid = gettid();
    register uint64_t x0 __asm__("x0") = (uint64_t)pid;
    register uint64_t x1 __asm__("x1") = (uint64_t)tid;
    register uint64_t x2 __asm__("x2") = SIGUSR1;
    register uint64_t x8 __asm__("x8") = SYS_tgkill;
    register uint64_t *vinp __asm__("x9") = vin;
    register uint64_t *voutp __asm__("x10") = vout;
    register uint64_t *rout __asm__("x11") = regs_out;
    register uint64_t *spp __asm__("x12") = &expect_sp;
    register uint64_t *pcp __asm__("x13") = &expect_pc;
    __asm__ volatile(
        "ldp q0, q1, [x9, #0]\n ldp q2, q3, [x9, #32]\n ldp q4, q5, [x9, #64]\n ldp q6, q7, [x9, #96]\n"
        "ldp q8, q9, [x9, #128]\n ldp q10, q11, [x9, #160]\n ldp q12, q13, [x9, #192]\n ldp q14, q15, [x9, #224]\n"
        "ldp q16, q17, [x9, #256]\n ldp q18, q19, [x9, #288]\n ldp q20, q21, [x9, #320]\n ldp q22, q23, [x9, #352]\n"
        "ldp q24, q25, [x9, #384]\n ldp q26, q27, [x9, #416]\n ldp q28, q29, [x9, #448]\n ldp q30, q31, [x9, #480]\n"
        "mov x19, #0x1913\n mov x20, #0x1914\n mov x21, #0x1915\n mov x22, #0x1916\n mov x23, #0x1917\n"
        "mov x24, #0x1918\n mov x25, #0x1919\n mov x26, #0x191a\n mov x27, #0x191b\n mov x28, #0x191c\n"
        "mov x14, sp\n str x14, [x12]\n adr x14, 1f\n str x14, [x13]\n"
        "svc #0\n"
        "1:\n"
        "stp q0, q1, [x10, #0]\n stp q2, q3, [x10, #32]\n stp q4, q5, [x10, #64]\n stp q6, q7, [x10, #96]\n"
        "stp q8, q9, [x10, #128]\n stp q10, q11, [x10, #160]\n stp q12, q13, [x10, #192]\n stp q14, q15, [x10, #224]\n"
        "stp q16, q17, [x10, #256]\n stp q18, q19, [x10, #288]\n stp q20, q21, [x10, #320]\n stp q22, q23, [x10, #352]\n"
        "stp q24, q25, [x10, #384]\n stp q26, q27, [x10, #416]\n stp q28, q29, [x10, #448]\n stp q30, q31, [x10, #480]\n"
        "stp x19, x20, [x11, #0]\n stp x21, x22, [x11, #16]\n stp x23, x24, [x11, #32]\n"
        "stp x25, x26, [x11, #48]\n stp x27, x28, [x11, #64]\n"
        : "+r"(x0), "+r"(x1), "+r"(x2)
        : "r"(x8), "r"(vinp), "r"(voutp), "r"(rout), "r"(spp), "r"(pcp)
        : "x14", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "memory",
          "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15",
          "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29",
          "v30", "v31");
    unsigned long svc_result = x0;
    x20_after = regs_out[1];
    v8_after_lo = vout[16];
    v9_after_lo = vout[18];

    printf("handler: x0=signo %d, info/uc arguments consistent %d\n", x0_signo == SIGUSR1, ok_args);
    printf("uc_mcontext: x19..x28 %d, sp %d, pc after svc %d, uc_sigmask without USR1 %d\n",
           ok_regs, ok_sp, ok_pc, ok_mask);
    printf("fpsimd_context: magic %d size %d, v0..v31 saved %d, terminator after it %d\n",
           fpsimd_magic_ok, fpsimd_size, ok_fpsimd, ok_terminator);
    printf("tgkill returned %lu\n", svc_result);
    int regs_ok = 1;
    for (int i = 0; i < 10; i++)
        if (i != 1 && regs_out[i] != 0x1913 + (uint64_t)i)
            regs_ok = 0;
    printf("after sigreturn: x19..x28 restored %d, x20 as edited %d\n", regs_ok, x20_after == 0xfeedf00d);
    int v_ok = 1;
    for (int i = 0; i < 32; i++)
        if (i != 9 && (vout[2 * i] != vin[2 * i] || vout[2 * i + 1] != vin[2 * i + 1]))
            v_ok = 0;
    printf("after sigreturn: v0..v31 restored despite the clobbers %d (v8 %d), v9 as edited %d\n", v_ok,
           v8_after_lo == vin[16], v9_after_lo == 0xabcdef && vout[19] == 0x5555);
    return 0;
}
