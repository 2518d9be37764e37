/* tests/tracer/: see run.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

char *tr_trace_path(const char *name)
{
    char tmpl[] = "/tmp/tangle-tracer-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (dir == NULL)
        return NULL;
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    return path;
}

void tr_remove(char *trace)
{
    if (trace == NULL)
        return;
    unlink(trace);
    char *slash = strrchr(trace, '/');
    if (slash) {
        *slash = '\0';
        rmdir(trace);
    }
    free(trace);
}

/* The child's environment: ours without anything tangle reads, plus
 * LD_PRELOAD and TANGLE_TRACE for a traced run, plus EXTRA. */
static char **child_env(const char *trace, const char *const extra[])
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    size_t nextra = 0;
    while (extra && extra[nextra])
        nextra++;
    char **env = calloc(n + nextra + 3, sizeof *env);
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 && strncmp(environ[i], "TANGLE_", 7) != 0)
            env[k++] = environ[i];
    if (trace) {
        static char preload[4200], tr[4200];
        snprintf(preload, sizeof preload, "LD_PRELOAD=%s", LIBTANGLE);
        snprintf(tr, sizeof tr, "TANGLE_TRACE=%s", trace);
        env[k++] = preload;
        env[k++] = tr;
    }
    for (size_t i = 0; i < nextra; i++)
        env[k++] = (char *)extra[i];
    env[k] = NULL;
    return env;
}

static char **child_argv(const char *const argv[])
{
    size_t n = 0;
    while (argv[n])
        n++;
    char **a = calloc(n + 2, sizeof *a);
    a[0] = (char *)TRACEE;
    for (size_t i = 0; i < n; i++)
        a[i + 1] = (char *)argv[i];
    return a;
}

static pid_t start(const char *trace, const char *const argv[], const char *const extra[],
                   int *out_fd, int *err_fd)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        return -1;
    char **env = child_env(trace, extra);
    char **args = child_argv(argv);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* a test that times out is killed: its tracee must not go on
         * writing (a fork storm left behind once grew its trace to 64 GiB) */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(126);
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        execve(TRACEE, args, env);
        _exit(127);
    }
    free(env);
    free(args);
    close(out[1]);
    close(err[1]);
    *out_fd = out[0];
    if (err_fd)
        *err_fd = err[0];
    else
        close(err[0]);
    return pid;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    *buf = realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

int tr_run(const char *trace, const char *const argv[], const char *const extra_env[],
           struct run *r)
{
    memset(r, 0, sizeof *r);
    r->out = calloc(1, 1);
    r->err = calloc(1, 1);
    int out_fd, err_fd;
    pid_t pid = start(trace, argv, extra_env, &out_fd, &err_fd);
    if (pid < 0)
        return -1;
    struct pollfd p[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
    int open_fds = 2;
    char buf[4096];
    while (open_fds > 0) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            } else if (i == 0) {
                append(&r->out, &r->out_len, buf, (size_t)n);
            } else {
                append(&r->err, &r->err_len, buf, (size_t)n);
            }
        }
    }
    while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

void tr_run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

pid_t tr_spawn(const char *trace, const char *const argv[], int *out_fd)
{
    return start(trace, argv, NULL, out_fd, NULL);
}

int tr_load(const char *trace, struct events *e)
{
    memset(e, 0, sizeof *e);
    char err[256];
    int rc = tg_trace_open(trace, 0, &e->t, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "tr_load: %s\n", err);
        return rc;
    }
    size_t cap = 0;
    struct tg_ev ev;
    while ((rc = tg_trace_next(e->t, &ev)) == 1) {
        if (e->n == cap) {
            cap = cap ? cap * 2 : 1024;
            e->v = realloc(e->v, cap * sizeof *e->v);
            e->str = realloc(e->str, cap * sizeof *e->str);
        }
        e->str[e->n] = ev.str ? strdup(ev.str) : NULL;
        ev.str = e->str[e->n];
        ev.data = NULL;
        e->v[e->n++] = ev;
    }
    e->end = rc;
    return 0;
}

void tr_events_free(struct events *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->str[i]);
    free(e->str);
    free(e->v);
    if (e->t)
        tg_trace_close(e->t);
    memset(e, 0, sizeof *e);
}

long tr_find(const struct events *e, size_t from, unsigned kind, uint64_t obj)
{
    for (size_t i = from; i < e->n; i++)
        if (e->v[i].kind == kind && (obj == ANY_OBJ || e->v[i].obj == obj))
            return (long)i;
    return -1;
}

size_t tr_count(const struct events *e, unsigned kind, uint64_t obj)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        if (e->v[i].kind == kind && (obj == ANY_OBJ || e->v[i].obj == obj))
            n++;
    return n;
}

size_t tr_values(const struct run *r, const char *key, uint64_t *out, size_t n)
{
    size_t klen = strlen(key);
    for (const char *line = r->out; line && *line; ) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            const char *p = line + klen;
            size_t k = 0;
            while (k < n) {
                char *end;
                unsigned long long v = strtoull(p, &end, 0);
                if (end == p)
                    break;
                out[k++] = v;
                p = end;
            }
            return k;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return 0;
}

uint64_t tr_value(const struct run *r, const char *key)
{
    uint64_t v = 0;
    return tr_values(r, key, &v, 1) == 1 ? v : 0;
}
