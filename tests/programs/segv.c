/* Touch an unmapped address: the kernel must kill this program with SIGSEGV (status 139
 * through a shell) and carry on. */
#include <stdio.h>

int main(void)
{
    printf("before the fault\n");
    fflush(stdout);
    volatile int *p = (int *)0x10;
    *p = 1;
    printf("after the fault\n");
    return 0;
}
