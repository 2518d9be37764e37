/* Starting PROGRAM under the tracer: finding libtangle.so, building the
 * child's environment (the tracer is preloaded into PROGRAM only, never into
 * tangle), and posix_spawn, whose exec errors come back synchronously so
 * 126/127 are decided before anything runs. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tangle_config.h"

#define TRACER_NAME "libtangle.so"

extern char **environ;

static char *existing(const char *dir, const char *rel)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
        return NULL;
    if (access(path, R_OK) != 0)
        return NULL;
    return realpath(path, NULL);
}

char *tg_launch_find_tracer(void)
{
    const char *env = getenv("TANGLE_LIB");
    char exe[PATH_MAX];
    char *found;

    /* an explicit choice is never second-guessed: if it is wrong, say so */
    if (env && *env) {
        if (access(env, R_OK) != 0)
            return NULL;
        return realpath(env, NULL);
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            /* installed side by side, or the build tree: build/cli/tangle
             * next to build/tracer/libtangle.so */
            if ((found = existing(exe, TRACER_NAME)) ||
                (found = existing(exe, "../tracer/" TRACER_NAME)))
                return found;
        }
    }
    if ((found = existing(TANGLE_LIBDIR, TRACER_NAME)))
        return found;
    errno = ENOENT;
    return NULL;
}

/* NAME=VALUE, malloc'd. */
static char *env_entry(const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *s = malloc(len);

    if (s)
        snprintf(s, len, "%s=%s", name, value);
    return s;
}

static bool env_is(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* The child's environment: tangle's own, with the tracer appended to
 * LD_PRELOAD (a library the user preloads keeps its precedence) and the
 * tracer's settings. Returns a NULL-terminated array; the entries we made
 * are listed in OWNED so they can be freed. */
static char **child_environ(const struct tg_launch *l, char *owned[4])
{
    size_t n = 0;
    const char *preload = getenv("LD_PRELOAD");

    while (environ[n])
        n++;
    char **env = calloc(n + 4, sizeof *env);
    if (!env)
        return NULL;

    if (preload && *preload) {
        size_t len = strlen(preload) + strlen(l->tracer) + 2;
        owned[0] = malloc(len);
        if (owned[0])
            snprintf(owned[0], len, "%s:%s", preload, l->tracer);
    } else {
        owned[0] = strdup(l->tracer);
    }
    char *value = owned[0];
    owned[0] = value ? env_entry("LD_PRELOAD", value) : NULL;
    free(value);
    owned[1] = env_entry("TANGLE_TRACE", l->trace_path);
    owned[2] = l->watch ? env_entry("TANGLE_WATCH", l->watch) : NULL;
    owned[3] = NULL;
    if (!owned[0] || !owned[1] || (l->watch && !owned[2]))
        return env;             /* caller sees a missing entry and fails */

    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (!env_is(environ[i], "LD_PRELOAD") && !env_is(environ[i], "TANGLE_TRACE") &&
            !env_is(environ[i], "TANGLE_WATCH"))
            env[o++] = environ[i];
    for (int i = 0; i < 3; i++)
        if (owned[i])
            env[o++] = owned[i];
    env[o] = NULL;
    return env;
}

pid_t tg_launch_spawn(const struct tg_launch *l)
{
    char *owned[4] = { NULL };
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    sigset_t none;
    pid_t pid = -1;

    char **env = child_environ(l, owned);
    if (!env || !owned[0] || !owned[1] || (l->watch && !owned[2])) {
        for (int i = 0; i < 4; i++)
            free(owned[i]);
        free(env);
        errno = ENOMEM;
        return -TG_STATUS_FAILED;
    }

    /* tangle blocks nothing the program should see; dispositions tangle
     * set (its forwarding handlers) are reset by exec, ignored ones are
     * inherited as from any shell */
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    posix_spawn_file_actions_init(&actions);
    int err = 0;
    if (l->stdout_fd >= 0)
        err = posix_spawn_file_actions_adddup2(&actions, l->stdout_fd, STDOUT_FILENO);
    if (!err && l->stderr_fd >= 0)
        err = posix_spawn_file_actions_adddup2(&actions, l->stderr_fd, STDERR_FILENO);
    int spawn_err = err ? 0 : posix_spawnp(&pid, l->argv[0], &actions, &attr, l->argv, env);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);

    for (int i = 0; i < 4; i++)
        free(owned[i]);
    free(env);
    if (err) {
        errno = err;
        return -TG_STATUS_FAILED;
    }
    if (spawn_err) {
        errno = spawn_err;
        /* env(1)'s convention: not found is 127, any other exec failure 126 */
        return spawn_err == ENOENT ? -TG_STATUS_NOT_FOUND : -TG_STATUS_CANNOT_EXEC;
    }
    return pid;
}
