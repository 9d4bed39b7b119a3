/* Print the initial process state the kernel built: argc, argv, envp and auxv entries. */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

int main(int argc, char **argv, char **envp)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    if (argv[argc] != NULL)
        printf("argv[argc] is not NULL\n");
    int n = 0;
    for (char **e = envp; *e; e++, n++)
        printf("envp[%d]=%s\n", n, *e);
    printf("envc=%d\n", n);

    const char *execfn = (const char *)getauxval(AT_EXECFN);
    const char *platform = (const char *)getauxval(AT_PLATFORM);
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_HWCAP!=0: %s\n", getauxval(AT_HWCAP) ? "yes" : "no");
    printf("AT_RANDOM!=0: %s\n", getauxval(AT_RANDOM) ? "yes" : "no");
    printf("AT_EXECFN=%s\n", execfn ? execfn : "(none)");
    printf("AT_PLATFORM=%s\n", platform ? platform : "(none)");
    printf("AT_UID=%lu\n", getauxval(AT_UID));
    printf("AT_EGID=%lu\n", getauxval(AT_EGID));
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    printf("AT_PHNUM=%lu\n", getauxval(AT_PHNUM));
    return 0;
}
