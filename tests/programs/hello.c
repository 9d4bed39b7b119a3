/* The smallest check: a static binary runs and writes one line to stdout. */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    return 0;
}
