/* Starting PROGRAM under the tracer: finding libtangle.so, building the
 * child's environment (the tracer is preloaded into PROGRAM only, never into
 * tangle), and fork + exec, whose exec errors come back synchronously (a
 * close-on-exec pipe) so 126/127 are decided before anything runs.
 *
 * PROGRAM dies with tangle (PR_SET_PDEATHSIG, SIGKILL): a tangle killed by a
 * signal it cannot catch or does not forward (SIGKILL from a CI runner's
 * timeout, the OOM killer) would otherwise leave PROGRAM running with no
 * one reading its trace. Only PROGRAM itself: the processes it starts keep
 * their own lives, as under a shell. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
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

/* The child between fork and exec: only async-signal-safe calls. Writes
 * the exec's errno to FD and exits if it fails. */
static void child(const struct tg_launch *l, char **env, pid_t parent, int fd)
{
    sigset_t none;
    sigemptyset(&none);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)            /* tangle died before the prctl */
        _exit(127);
    int err = 0;
    if (l->stdout_fd >= 0 && dup2(l->stdout_fd, STDOUT_FILENO) < 0)
        err = errno;
    if (!err && l->stderr_fd >= 0 && dup2(l->stderr_fd, STDERR_FILENO) < 0)
        err = errno;
    if (!err) {
        /* tangle blocks nothing the program should see; dispositions tangle
         * set (its forwarding handlers) are reset by exec, ignored ones are
         * inherited as from any shell */
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvpe(l->argv[0], l->argv, env);
        err = errno;
    }
    ssize_t w = write(fd, &err, sizeof err);
    (void)w;
    _exit(127);
}

pid_t tg_launch_spawn(const struct tg_launch *l)
{
    char *owned[4] = { NULL };
    char **env = child_environ(l, owned);
    int fds[2] = { -1, -1 };
    pid_t pid = -1;
    int err = 0;

    if (!env || !owned[0] || !owned[1] || (l->watch && !owned[2]))
        err = ENOMEM;
    else if (pipe2(fds, O_CLOEXEC) != 0)
        err = errno;
    else {
        pid_t parent = getpid();
        pid = fork();
        if (pid == 0)
            child(l, env, parent, fds[1]);
        if (pid < 0)
            err = errno;
    }
    int exec_err = 0;
    if (fds[1] >= 0)
        close(fds[1]);
    if (pid > 0) {
        /* EOF: the exec happened (the pipe closed with it) */
        ssize_t n;
        while ((n = read(fds[0], &exec_err, sizeof exec_err)) < 0 && errno == EINTR)
            ;
        if (n != (ssize_t)sizeof exec_err)
            exec_err = 0;
        else
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
    }
    if (fds[0] >= 0)
        close(fds[0]);
    for (int i = 0; i < 4; i++)
        free(owned[i]);
    free(env);
    if (err) {
        errno = err;
        return -TG_STATUS_FAILED;
    }
    if (exec_err) {
        errno = exec_err;
        /* env(1)'s convention: not found is 127, any other exec failure 126 */
        return exec_err == ENOENT ? -TG_STATUS_NOT_FOUND : -TG_STATUS_CANNOT_EXEC;
    }
    return pid;
}
