/* bench/lock_pair: what libtangle.so costs on the hottest path, an
 * uncontended pthread_mutex_lock + pthread_mutex_unlock pair, and what its
 * stack ids cost (cache hit, table hit, miss).
 *
 * One run measures both sides: the bench measures the bare pair itself,
 * then runs itself again as a child with LD_PRELOAD=libtangle.so and
 * TANGLE_TRACE set in the child's environment only, rounds alternating, and
 * prints the medians side by side with their ratio. A second thread stays
 * alive (blocked) in both, so glibc takes its multi-threaded paths. Times
 * are the measuring thread's CPU time, so a busy machine (other processes
 * on the same cores) stretches neither side.
 *
 *   lock_pair [--lib PATH] [--pairs N] [--rounds R]
 */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <x86intrin.h>

#ifndef LIBTANGLE_PATH
#define LIBTANGLE_PATH "libtangle.so"
#endif

#define PATHS_LEVELS 10
#define PATHS (1u << PATHS_LEVELS)      /* distinct call stacks */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int sleeper_pipe[2];

/* The measuring thread's CPU time (user + system, so page faults count):
 * unlike wall time it does not grow when other processes share the
 * machine's cores. */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *sleeper(void *arg)
{
    char c;
    while (read(sleeper_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    return arg;
}

static __attribute__((noinline)) double pairs(long n)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&lock);
        pthread_mutex_unlock(&lock);
    }
    return (now_ns() - t0) / (double)n;
}

/* The floor of a tracer on this machine: the same pair plus what every
 * traced pair must do at least (a timestamp and a 16-byte record per call,
 * a frame-pointer walk for the stack key), into a buffer that is reused and
 * so always mapped and cached: the trace's cost minus its fresh pages. */
struct floor_rec { uint64_t a, b; };
static struct floor_rec floor_ring[4096];

static __attribute__((noinline)) uint64_t floor_key(void)
{
    const uintptr_t *fp = __builtin_frame_address(0);
    uint64_t h = 0;
    for (int i = 0; i < 4 && fp; i++) {
        h = (h ^ fp[1]) * 0xff51afd7ed558ccdull;
        fp = (const uintptr_t *)fp[0];
    }
    return h;
}

static __attribute__((noinline)) double floor_pairs(long n)
{
    unsigned k = 0;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pthread_mutex_trylock(&lock);
        struct floor_rec *r = &floor_ring[k++ & 4095];
        r->a = __rdtsc();
        r->b = floor_key();
        r = &floor_ring[k++ & 4095];
        r->a = __rdtsc();
        r->b = floor_key();
        pthread_mutex_unlock(&lock);
    }
    return (now_ns() - t0) / (double)n;
}

/* PATHS distinct call stacks, PATHS_LEVELS frames deep: level i goes
 * through one of two functions depending on bit i of the path number. */
static __attribute__((noinline)) void bottom(unsigned path)
{
    (void)path;
    pthread_mutex_lock(&lock);
    pthread_mutex_unlock(&lock);
    __asm__ volatile("" ::: "memory");
}

#define LEVEL(i, next) \
    static __attribute__((noinline)) void level##i##_a(unsigned p); \
    static __attribute__((noinline)) void level##i##_b(unsigned p); \
    static void level##i(unsigned p) { if (p & (1u << i)) level##i##_a(p); else level##i##_b(p); } \
    static __attribute__((noinline)) void level##i##_a(unsigned p) { next(p); __asm__ volatile("" ::: "memory"); } \
    static __attribute__((noinline)) void level##i##_b(unsigned p) { next(p); __asm__ volatile("" ::: "memory"); }
LEVEL(9, bottom)
LEVEL(8, level9)
LEVEL(7, level8)
LEVEL(6, level7)
LEVEL(5, level6)
LEVEL(4, level5)
LEVEL(3, level4)
LEVEL(2, level3)
LEVEL(1, level2)
LEVEL(0, level1)

/* ns per pair walking the given paths once each. Not inlined, and called
 * from one place: its return address is part of every stack. */
static __attribute__((noinline)) double walk(unsigned first, unsigned count)
{
    double t0 = now_ns();
    for (unsigned p = first; p < first + count; p++)
        level0(p);
    return (now_ns() - t0) / count;
}

/* ns per pair repeating one path (per-thread cache hits when traced) */
static double walk_same(unsigned path, unsigned count)
{
    double t0 = now_ns();
    for (unsigned i = 0; i < count; i++)
        level0(path);
    return (now_ns() - t0) / count;
}

struct figures {
    double pair;        /* plain loop */
    double floor;       /* floor_pairs (meaningful in the bare child) */
    double miss;        /* first visit of a call stack */
    double table;       /* second visit, after the per-thread cache was thrashed */
    double cached;      /* the same stack again and again */
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* One measurement round, in a fresh process (bare or traced). */
static struct figures measure(long n)
{
    struct figures f;
    pairs(n / 2);                        /* warm up: the trace file grows, the
                                            prefault helper gets ahead */
    f.pair = pairs(n);
    f.floor = floor_pairs(n);
    double pass[6];
    for (int i = 0; i < 6; i++)          /* one call site for walk() */
        pass[i] = walk(0, PATHS);
    f.miss = pass[0];                    /* a fresh process: all new stacks */
    f.table = pass[5] < pass[4] ? pass[5] : pass[4];  /* 1024 stacks > 256-entry cache */
    f.cached = walk_same(7, PATHS * 4);
    return f;
}

static int run_child(const char *self, const char *lib, const char *trace, long n,
                     const char *prefault, const char *depth, struct figures *out)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        char nbuf[32];
        snprintf(nbuf, sizeof nbuf, "%ld", n);
        setenv("LD_PRELOAD", lib, 1);
        setenv("TANGLE_TRACE", trace, 1);
        setenv("TANGLE_PREFAULT", prefault, 1);
        if (depth != NULL)
            setenv("TANGLE_STACK_DEPTH", depth, 1);
        execl(self, self, "--child", nbuf, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[256] = "";
    size_t got = 0;
    ssize_t k;
    while (got < sizeof buf - 1 && (k = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)k;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    unlink(trace);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return sscanf(buf, "%lf %lf %lf %lf %lf", &out->pair, &out->miss, &out->table,
                  &out->cached, &out->floor) == 5 ? 0 : -1;
}

static double unwind_cost(int n)
{
    void *frames[64];
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        unw_backtrace(frames, 64);
    return (now_ns() - t0) / n;
}

static double backtrace_cost(int n)
{
    void *frames[64];
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        backtrace(frames, 64);
    return (now_ns() - t0) / n;
}

int main(int argc, char **argv)
{
    const char *lib = LIBTANGLE_PATH;
    long n = 200000;
    int rounds = 9;
    bool child = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--child") == 0 && i + 1 < argc) {
            child = true;
            n = atol(argv[++i]);
        } else if (strcmp(argv[i], "--lib") == 0 && i + 1 < argc) {
            lib = argv[++i];
        } else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc) {
            n = atol(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: lock_pair [--lib PATH] [--pairs N] [--rounds R]\n");
            return 2;
        }
    }
    if (n < 1000 || rounds < 1) {
        fprintf(stderr, "lock_pair: --pairs must be >= 1000 and --rounds >= 1\n");
        return 2;
    }

    pthread_t th;
    if (pipe(sleeper_pipe) < 0 || pthread_create(&th, NULL, sleeper, NULL) != 0) {
        fprintf(stderr, "lock_pair: cannot start the second thread\n");
        return 1;
    }

    if (child) {
        struct figures f = measure(n);
        printf("%.3f %.3f %.3f %.3f %.3f\n", f.pair, f.miss, f.table, f.cached, f.floor);
        return 0;
    }

    if (access(lib, R_OK) != 0) {
        fprintf(stderr, "lock_pair: cannot read %s (--lib PATH)\n", lib);
        return 1;
    }
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return 1;
    self[len] = '\0';
    char trace[64];
    snprintf(trace, sizeof trace, "/tmp/lock_pair-%d.trace", (int)getpid());

    double bare[4][64], traced[4][64], nohelper[64], nostack[64], floor_ns[64];
    if (rounds > 64)
        rounds = 64;
    for (int r = 0; r < rounds; r++) {
        /* the bare side in a fresh process too, so both see cold paths */
        struct figures b, t, u, d;
        if (run_child(self, "", trace, n, "1", NULL, &b) < 0
            || run_child(self, lib, trace, n, "1", NULL, &t) < 0
            || run_child(self, lib, trace, n, "0", NULL, &u) < 0
            || run_child(self, lib, trace, n, "1", "0", &d) < 0) {
            fprintf(stderr, "lock_pair: a measuring child failed\n");
            return 1;
        }
        bare[0][r] = b.pair, bare[1][r] = b.miss, bare[2][r] = b.table, bare[3][r] = b.cached;
        traced[0][r] = t.pair, traced[1][r] = t.miss, traced[2][r] = t.table, traced[3][r] = t.cached;
        nohelper[r] = u.pair;
        nostack[r] = d.pair;
        floor_ns[r] = b.floor;
    }
    double bp = median(bare[0], rounds), tp = median(traced[0], rounds);
    double up = median(nohelper, rounds), fl = median(floor_ns, rounds);
    double dp = median(nostack, rounds);
    double bm = median(bare[1], rounds), tm = median(traced[1], rounds);
    double bt = median(bare[2], rounds), ttab = median(traced[2], rounds);
    double bc = median(bare[3], rounds), tc = median(traced[3], rounds);

    printf("lock_pair: uncontended pthread_mutex_lock+unlock, 2 threads alive, "
           "%ld pairs x %d rounds (medians)\n", n, rounds);
    printf("  bare pair             %7.1f ns\n", bp);
    printf("  traced pair           %7.1f ns   (2 events, timestamps, stack ids)\n", tp);
    printf("  ratio                 %7.2fx   (goal <= 2.5x)\n", tp / bp);
    printf("  traced, no prefault   %7.1f ns   = %.2fx (TANGLE_PREFAULT=0: the hooks touch new trace pages)\n",
           up, up / bp);
    printf("  traced, no stacks     %7.1f ns   = %.2fx (TANGLE_STACK_DEPTH=0: no frame walk, one stack id)\n",
           dp, dp / bp);
    printf("  floor                 %7.1f ns   = %.2fx (pair + 2 timestamps, 2 records into a\n"
           "                                   reused buffer, 2 frame walks: no tracer can do less)\n",
           fl, fl / bp);
    printf("stack ids: traced minus bare per pair (2 events, 2 stack ids), "
           "%u distinct %d-frame call stacks:\n", PATHS, PATHS_LEVELS + 4);
    printf("  same stack again (thread cache hit)    %7.1f ns\n", tc - bc);
    printf("  cache evicted (process table hit)      %7.1f ns\n", ttab - bt);
    printf("  new stacks (libunwind + STACK record)  %7.1f ns   = %.0f ns per new stack id\n",
           tm - bm, (tm - bm) / 2);
    printf("for scale, one capture here: libunwind unw_backtrace %.1f ns, glibc backtrace %.1f ns\n",
           unwind_cost(20000), backtrace_cost(2000));
    return 0;
}
