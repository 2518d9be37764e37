/* samples/common.h - the few helpers every sample shares.
 *
 * Argument parsing with a usage line (exit 2), millisecond sleeps, threads
 * that carry a name and start the way Python's threading.Thread does
 * (start() returns once the thread runs), a per-thread random source, and
 * a CHECK() for pthread return codes. Everything is
 * static inline so each sample stays a single translation unit.
 */
#ifndef TG_SAMPLES_COMMON_H
#define TG_SAMPLES_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* current_thread().name: set by start_thread() before the body runs. */
static _Thread_local char thread_name[16] = "MainThread";

static const char *sample_prog = "sample";
static const char *sample_usage = "";

static inline void usage_exit(void)
{
    fprintf(stderr, "usage: %s%s%s\n", sample_prog, *sample_usage ? " " : "", sample_usage);
    exit(2);
}

/* Call first in main(): remembers the usage line, rejects extra arguments
 * and makes stdout line-buffered so that a sample which hangs (and is ended
 * by the tool) still shows every line it printed. */
static inline void sample_init(int argc, char **argv, int max_args, const char *usage)
{
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;

    if (argc > 0)
        sample_prog = slash ? slash + 1 : argv[0];
    sample_usage = usage;
    if (argc - 1 > max_args)
        usage_exit();
    setvbuf(stdout, NULL, _IOLBF, 0);
}

/* argv[i] as a long in [min, max], or def when absent; bad input: usage. */
static inline long arg_long(int argc, char **argv, int i, long def, long min, long max)
{
    char *end;
    long v;

    if (i >= argc)
        return def;
    errno = 0;
    v = strtol(argv[i], &end, 10);
    if (errno != 0 || end == argv[i] || *end != '\0' || v < min || v > max)
        usage_exit();
    return v;
}

static inline void check_failed(const char *call, int err, const char *file, int line)
{
    fprintf(stderr, "%s: %s:%d: %s: %s\n", sample_prog, file, line, call, strerror(err));
    exit(1);
}

/* For calls that return 0 or an error number (the pthread_* family). */
#define CHECK(call)                                              \
    do {                                                         \
        int check_rc_ = (call);                                  \
        if (check_rc_ != 0)                                      \
            check_failed(#call, check_rc_, __FILE__, __LINE__);  \
    } while (0)

/* time.sleep(ms / 1000) */
static inline void msleep(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* Milliseconds on the monotonic clock. */
static inline long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A uniform number in [0, n) from a per-thread seed, so no thread shares
 * random state with another (random.random() * n, random.randint). */
static inline long rand_below(long n)
{
    static _Thread_local unsigned seed;

    if (n <= 1)
        return 0;
    if (seed == 0)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed ^ 0x9e3779b9u;
    return (long)(((unsigned long)rand_r(&seed) << 16 ^ (unsigned long)rand_r(&seed)) % (unsigned long)n);
}

struct named_start {
    void *(*fn)(void *);
    void *arg;
    char name[16];
    sem_t started;
};

static inline void *named_trampoline(void *p)
{
    struct named_start *s = p;
    void *(*fn)(void *) = s->fn;
    void *arg = s->arg;

    memcpy(thread_name, s->name, sizeof thread_name);
    pthread_setname_np(pthread_self(), thread_name); /* cosmetic: ignore failure */
    if (sem_post(&s->started) != 0) /* s belongs to the starter from here on */
        check_failed("sem_post", errno, __FILE__, __LINE__);
    return fn(arg);
}

/* Thread(target=fn, args=(arg,), name=...).start(). The name (at most 15
 * characters, printf format) is set by the thread itself before fn runs.
 * Like Python's start(), returns once the thread is running. */
static inline void start_thread(pthread_t *t, void *(*fn)(void *), void *arg,
                                const char *fmt, ...)
{
    struct named_start s = { .fn = fn, .arg = arg };
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s.name, sizeof s.name, fmt, ap);
    va_end(ap);
    if (sem_init(&s.started, 0, 0) != 0)
        check_failed("sem_init", errno, __FILE__, __LINE__);
    CHECK(pthread_create(t, NULL, named_trampoline, &s));
    while (sem_wait(&s.started) != 0)
        if (errno != EINTR)
            check_failed("sem_wait", errno, __FILE__, __LINE__);
    sem_destroy(&s.started);
}

static inline void join_thread(pthread_t t)
{
    CHECK(pthread_join(t, NULL));
}

#endif
