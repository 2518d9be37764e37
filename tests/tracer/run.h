/* tests/tracer/: running the tracee under libtangle.so (LD_PRELOAD and
 * TANGLE_TRACE in the child's environment only, never in the test's) and
 * reading back its trace with the reader API. */
#ifndef TG_TEST_TRACER_RUN_H
#define TG_TEST_TRACER_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "trace/trace.h"

struct run {
    int status;                 /* waitpid status */
    char *out, *err;            /* NUL-terminated captured stdout, stderr */
    size_t out_len, err_len;
};

/* A fresh path for a trace, in a directory of its own under /tmp, and its
 * removal (file and directory). */
char *tr_trace_path(const char *name);
void tr_remove(char *trace);

/* Runs TRACEE with ARGV[] (NULL-terminated, without argv[0]); traced into
 * TRACE unless TRACE is NULL; EXTRA_ENV are more NAME=VALUE strings. */
int tr_run(const char *trace, const char *const argv[], const char *const extra_env[],
           struct run *r);
void tr_run_free(struct run *r);

/* Starts TRACEE traced, returning its pid and a pipe from its stdout. */
pid_t tr_spawn(const char *trace, const char *const argv[], int *out_fd);

struct events {
    struct tg_trace *t;
    struct tg_ev *v;
    char **str;                 /* v[i].str copied (THREAD_NAME), or NULL */
    size_t n;
    int end;                    /* what tg_trace_next returned last (0 = clean end) */
};

/* Reads every event of a finished (or killed) trace; keeps it open for the
 * lookups (threads, processes, stacks). Returns 0 or a tg_trace_err. */
int tr_load(const char *trace, struct events *e);
void tr_events_free(struct events *e);

/* Index of the first event at or after FROM with KIND (and OBJ, unless
 * ANY_OBJ), or -1. */
#define ANY_OBJ UINT64_MAX
long tr_find(const struct events *e, size_t from, unsigned kind, uint64_t obj);
size_t tr_count(const struct events *e, unsigned kind, uint64_t obj);
/* The value after "KEY " in the captured stdout, parsed as a number (hex
 * with 0x, pointers printed with %p), or 0 if absent. */
uint64_t tr_value(const struct run *r, const char *key);
/* The N numbers after "KEY " (the same parsing); returns how many. */
size_t tr_values(const struct run *r, const char *key, uint64_t *out, size_t n);

/* In a Criterion test: runs the tracee traced with the given arguments,
 * asserts it exited with EXIT, and loads the whole trace into `e`; `r`
 * holds its output and `trace` the path. */
#define TRACED_RUN(EXIT, ...) \
    const char *argv_[] = { __VA_ARGS__, NULL }; \
    struct run r; \
    struct events e; \
    char *trace = tr_trace_path("t.trace"); \
    cr_assert_eq(tr_run(trace, argv_, NULL, &r), 0); \
    cr_assert(WIFEXITED(r.status), "tracee exited normally; stderr: %s", r.err); \
    cr_assert_eq(WEXITSTATUS(r.status), (EXIT), "exit status; stderr: %s", r.err); \
    cr_assert_eq(tr_load(trace, &e), 0, "trace opens"); \
    cr_assert_eq(e.end, 0, "trace reads to its end")

#define TRACED_DONE() \
    do { tr_events_free(&e); tr_run_free(&r); tr_remove(trace); } while (0)

#endif
