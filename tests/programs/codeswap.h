/* Shared body of codeswap_a.c and codeswap_b.c.
 *
 * Both programs are built from this same code, so they have the same layout: hot()
 * sits alone on its own page at the same virtual address in both, and only the
 * immediate it returns differs. Running A then B (so B's code reuses frames that held
 * A's code) checks that the kernel never lets QEMU's TCG execute a stale translation
 * of A's code in place of B's: B must print its own value.
 * `codeswap_a /tests/codeswap_b` execs B after A is done, so both run in one boot. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline, aligned(4096), section(".text.codeswap")))
int hot(int x)
{
    return x * 0 + CODESWAP_VALUE;
}

int main(int argc, char **argv)
{
    int (*volatile fn)(int) = hot;   /* volatile: keep the call, no constant folding */
    int v = 0;
    int same = 1;
    for (int i = 0; i < 100000; i++) {
        int r = fn(i);
        if (i > 0 && r != v)
            same = 0;
        v = r;
    }
    printf("%s: %d\n", CODESWAP_NAME, v);
    if (!same)
        printf("%s: hot() changed its answer while running\n", CODESWAP_NAME);
    if (!(v == CODESWAP_VALUE && same))
        return 1;
    if (argc > 1) {
        fflush(stdout);
        execv(argv[1], argv + 1);
        perror("execv");
        return 2;
    }
    return 0;
}
