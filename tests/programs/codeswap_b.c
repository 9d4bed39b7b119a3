/* Program B of the stale-code test: prints "B: 2222" (see codeswap.h). */
#define CODESWAP_NAME "B"
#define CODESWAP_VALUE 2222
#include "codeswap.h"
