/* Program A of the stale-code test: prints "A: 1111" (see codeswap.h). */
#define CODESWAP_NAME "A"
#define CODESWAP_VALUE 1111
#include "codeswap.h"
