/* tangle-cc: `tangle cc` under one path, for build systems that want a
 * single word in CC (`CC=tangle-cc make`, `CC=tangle-cc meson setup b`).
 * Runs the `tangle` next to it (installed side by side), or the build
 * tree's ../../cli/tangle, or the first on PATH. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char exe[PATH_MAX], path[PATH_MAX + 32];
    const char *tangle = "tangle";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(path, sizeof path, "%s/tangle", exe);
            if (access(path, X_OK) == 0) {
                tangle = path;
            } else {
                snprintf(path, sizeof path, "%s/../../cli/tangle", exe);
                if (access(path, X_OK) == 0)
                    tangle = path;
            }
        }
    }
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (args == NULL)
        return 125;
    args[0] = (char *)tangle;
    args[1] = (char *)"cc";
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    execvp(tangle, args);
    fprintf(stderr, "tangle-cc: cannot run %s: %s\n", tangle, strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
