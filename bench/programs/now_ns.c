/* now_ns: print CLOCK_MONOTONIC in nanoseconds (busybox date lacks %N). */
#include "bench.h"

int main(void)
{
    printf("%lld\n", now_ns());
    return 0;
}
