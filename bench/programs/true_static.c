/* true_static: the smallest static program; exit(0) with no libc at all.
 * Built with -nostdlib -static. */
void _start(void)
{
    register long x0 __asm__("x0") = 0;
    register long x8 __asm__("x8") = 93;        /* __NR_exit */
    __asm__ volatile("svc #0" : : "r"(x0), "r"(x8));
    for (;;)
        ;
}
