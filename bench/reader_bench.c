/* bench/reader_bench: the trace module's throughput, side by side in one run.
 *
 *   reader_bench [THREADS [EVENTS_PER_THREAD [DIR]]]     (default 16 1000000 /tmp)
 *
 * 1. Writer fast path: ns per tg_stream_emit (clock read included, chunk
 *    claims and page faults amortised) next to the same loop without the
 *    emit, and the ratio.
 * 2. A trace of THREADS streams x EVENTS records with a realistic mix of
 *    kinds (lock pairs, some contended, condition waits and sleeps with
 *    payloads, names, a few hundred stacks): bytes per event on disk.
 * Times are the measuring thread's CPU time, so a busy machine blurs them
 * less; each figure is the best of three rounds.
 *
 * 3. The reader's k-way merge over it, events per second: once with the
 *    streams interleaved record by record (every record changes the heap's
 *    top: the worst case), once written by real threads (the usual case).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trace/trace.h"
#include "trace/writer.h"

/* The calling thread's CPU time (user + kernel, page faults included):
 * other work on a shared machine does not inflate it the way it inflates
 * wall-clock time. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "reader_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(1);
}

static void open_writer(struct tg_writer *w, const char *path)
{
    unlink(path);
    int rc = tg_writer_open(w, path, "reader_bench", "reader_bench");
    if (rc < 0)
        die(path, rc);
}

/* ---- 1. the writer's fast path ---- */

static volatile uint64_t sink;

static double bare_loop(uint32_t clock, uint64_t n)
{
    uint64_t acc = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t tick = tg_tick(clock);
        acc += tick ^ (0x7f0000001000ull + (i & 255) * 64);
        __asm__ volatile("" : "+r"(acc));
    }
    double dt = now_s() - t0;
    sink = acc;
    return dt * 1e9 / (double)n;
}

/* Instructions only: the same stores into one 64 KiB buffer kept in cache,
 * bare and through tg_stream_emit (its chunk rewound when full, which only
 * a bench may do). */
static double hot_store_loop(uint64_t n)
{
    static struct tg_record ring[TG_CHUNK_PAYLOAD / sizeof(struct tg_record)];
    const uint64_t len = sizeof ring / sizeof ring[0];
    uint64_t tick = 0, j = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        tick += 20;
        if (j == len)
            j = 0;
        tg_record_fill(&ring[j], TG_EV_MUTEX_ACQ, 0, 0x7f0000001000ull + (i & 255) * 64, 0);
        ring[j++].dt = (uint32_t)tick;
        __asm__ volatile("" ::: "memory");
    }
    return (now_s() - t0) * 1e9 / (double)n;
}

static double hot_emit_loop(const char *path, uint64_t n)
{
    static struct tg_writer w;
    open_writer(&w, path);
    struct tg_stream s;
    tg_stream_init(&s, &w, w.first_thread);
    uint64_t tick = tg_tick(w.clock);
    tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, 0, 0, tick);
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        tick += 20;
        if (s.end - s.pos < (ptrdiff_t)sizeof(struct tg_record))
            s.pos = (uint8_t *)(s.chunk + 1);
        tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, 0x7f0000001000ull + (i & 255) * 64, 0, tick);
    }
    double dt = now_s() - t0;
    tg_stream_close(&s);
    tg_writer_finish(&w, 0);
    unlink(path);
    return dt * 1e9 / (double)n;
}

/* The same 16-byte records stored into an ordinary, faulted-in buffer of
 * the same size: what any logger pays for the memory traffic. */
static double store_loop(uint64_t n)
{
    struct tg_record *buf = malloc(n * sizeof *buf);
    if (buf == NULL)
        die("malloc", ENOMEM);
    memset(buf, 1, n * sizeof *buf);   /* not 0: malloc + memset 0 becomes calloc */
    __asm__ volatile("" : : "r"(buf) : "memory");
    uint64_t tick = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        tick += 20;
        tg_record_fill(&buf[i], TG_EV_MUTEX_ACQ, 0, 0x7f0000001000ull + (i & 255) * 64, 0);
        buf[i].dt = (uint32_t)tick;
        __asm__ volatile("" ::: "memory");
    }
    double dt = now_s() - t0;
    free(buf);
    return dt * 1e9 / (double)n;
}

/* WARM: the file is grown and its pages faulted in before the clock starts,
 * so the loop measures the fast path alone; otherwise every 4 KiB page of
 * trace costs a page fault (cheap on bare metal, dear in some VMs). */
static double emit_loop(const char *path, uint64_t n, bool read_clock, bool warm)
{
    static struct tg_writer w;
    open_writer(&w, path);
    if (warm) {
        uint64_t len = TG_HEADER_SIZE + (n * 16 / TG_CHUNK_PAYLOAD + 4) * (uint64_t)TG_CHUNK_SIZE;
        if (fallocate(w.fd, 0, 0, (off_t)len) < 0)
            die("fallocate", errno);
        madvise(w.hdr, len, MADV_POPULATE_WRITE);
    }
    struct tg_stream s;
    tg_stream_init(&s, &w, w.first_thread);
    uint64_t tick = tg_tick(w.clock);
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        if (read_clock)
            tick = tg_tick(w.clock);
        else
            tick += 20;
        tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, 0x7f0000001000ull + (i & 255) * 64, 0, tick);
    }
    double dt = now_s() - t0;
    tg_stream_close(&s);
    tg_writer_finish(&w, 0);
    unlink(path);
    return dt * 1e9 / (double)n;
}

static double best(double a, double b) { return a < b ? a : b; }

static void bench_writer(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/reader_bench_emit.trace", dir);
    const uint64_t n = 8000000;
    struct tg_writer probe;
    open_writer(&probe, path);
    uint32_t clock = probe.clock;
    double bare = 1e9, store = 1e9, warm = 1e9, warm_nc = 1e9, cold = 1e9;
    double hot_store = 1e9, hot_emit = 1e9;
    for (int round = 0; round < 3; round++) {
        hot_store = best(hot_store, hot_store_loop(n));
        hot_emit = best(hot_emit, hot_emit_loop(path, n));
        bare = best(bare, bare_loop(clock, n));
        store = best(store, store_loop(n));
        warm = best(warm, emit_loop(path, n, true, true));
        warm_nc = best(warm_nc, emit_loop(path, n, false, true));
        cold = best(cold, emit_loop(path, n, true, false));
    }
    printf("writer fast path (%s clock, %llu events, best of 3):\n",
           clock == TG_CLOCK_TSC ? "TSC" : "CLOCK_MONOTONIC", (unsigned long long)n);
    printf("  bare loop: 16-byte store, cache-hot    %6.2f ns/iter\n", hot_store);
    printf("  tg_stream_emit, cache-hot chunk        %6.2f ns/event (%.2fx: the instructions)\n",
           hot_emit, hot_emit / hot_store);
    printf("  bare loop: clock read                  %6.2f ns/iter\n", bare);
    printf("  bare loop: 16-byte store, %3llu MB      %6.2f ns/iter\n",
           (unsigned long long)(n * 16 >> 20), store);
    printf("  tg_stream_emit, %3llu MB of the file   %6.2f ns/event (%.2fx; fresh file pages)\n",
           (unsigned long long)(n * 16 >> 20), warm_nc, warm_nc / store);
    printf("  tg_stream_emit + clock read            %6.2f ns/event (%.2fx the bare clock read)\n",
           warm, warm / bare);
    printf("  the same on fresh pages of the file    %6.2f ns/event (page faults: %.2f ns/event)\n",
           cold, cold - warm);
}

/* ---- 2. a realistic trace ---- */

struct gen {
    struct tg_stream s;
    uint32_t stacks[16];
    uint64_t lock;
    int held;
};

/* One record of a lock-heavy program's mix: mostly uncontended lock pairs;
 * now and then a contended one, a condition wait or a sleep (payloads). */
static void emit_one(struct gen *g, uint64_t tick, uint32_t i)
{
    struct tg_stream *s = &g->s;
    uint32_t r = rnd();
    uint32_t stack = g->stacks[r % 16];
    if (g->held) {
        tg_stream_emit(s, TG_EV_MUTEX_REL, 0, g->lock, stack, tick);
        g->held = 0;
        return;
    }
    g->lock = 0x55550000f000ull + (r >> 8) % 64 * 64;
    switch (r % 100) {
    case 0: case 1: case 2: case 3:
        tg_stream_emit(s, TG_EV_MUTEX_REQ, 0, g->lock, stack, tick);
        break;
    case 4: case 5:
        tg_stream_emit1(s, TG_EV_COND_WAIT, 0, 0x55550000e000ull, stack, tick, g->lock, 0);
        break;
    case 6: case 7:
        tg_stream_emit1(s, TG_EV_COND_WOKE, 0, 0x55550000e000ull, stack, tick, g->lock, 0);
        break;
    case 8:
        tg_stream_emit1(s, TG_EV_SLEEP_BEGIN, 0, 0, stack, tick, 1000000, 0);
        break;
    case 9:
        if (i % 4096 == 9) {
            char name[16];
            snprintf(name, sizeof name, "worker-%u", s->owner);
            tg_stream_emit_var(s, TG_EV_THREAD_NAME, 0, 0, tick, name, strlen(name) + 1);
            break;
        }
        /* fall through */
    default:
        tg_stream_emit(s, TG_EV_MUTEX_ACQ, TG_ARG(TG_MUTEX_NORMAL, 0, 0, TG_OK), g->lock, stack, tick);
        g->held = 1;
        break;
    }
}

static void gen_stacks(struct tg_writer *w, struct gen *g)
{
    for (int k = 0; k < 16; k++) {
        uint64_t frames[12];
        for (int f = 0; f < 12; f++)
            frames[f] = 0x555555554000ull + rnd() % 0x100000;
        g->stacks[k] = tg_writer_stack(w, frames, 12);
    }
}

/* Every record goes to a random stream: the merge's worst case. */
static void write_interleaved(const char *path, uint32_t nthreads, uint64_t per)
{
    static struct tg_writer w;
    open_writer(&w, path);
    struct gen *g = calloc(nthreads, sizeof *g);
    for (uint32_t k = 0; k < nthreads; k++) {
        tg_stream_init(&g[k].s, &w, k == 0 ? w.first_thread : tg_writer_new_thread(&w));
        gen_stacks(&w, &g[k]);
    }
    uint64_t tick = tg_tick(w.clock);
    uint64_t total = per * nthreads;
    for (uint64_t i = 0; i < total; i++) {
        tick += 1 + rnd() % 64;
        emit_one(&g[rnd() % nthreads], tick, (uint32_t)i);
    }
    for (uint32_t k = 0; k < nthreads; k++)
        tg_stream_close(&g[k].s);
    tg_writer_finish(&w, 0);
    free(g);
}

struct thread_arg {
    struct tg_writer *w;
    uint32_t index;
    uint64_t per;
};

static void *writer_thread(void *p)
{
    struct thread_arg *a = p;
    struct gen g = {0};
    tg_stream_init(&g.s, a->w, a->index);
    gen_stacks(a->w, &g);
    for (uint64_t i = 0; i < a->per; i++)
        emit_one(&g, tg_tick(a->w->clock), (uint32_t)i);
    tg_stream_close(&g.s);
    return NULL;
}

static void write_threads(const char *path, uint32_t nthreads, uint64_t per)
{
    static struct tg_writer w;
    open_writer(&w, path);
    pthread_t *th = calloc(nthreads, sizeof *th);
    struct thread_arg *args = calloc(nthreads, sizeof *args);
    for (uint32_t k = 0; k < nthreads; k++) {
        args[k] = (struct thread_arg){ &w, k == 0 ? w.first_thread : tg_writer_new_thread(&w), per };
        pthread_create(&th[k], NULL, writer_thread, &args[k]);
    }
    for (uint32_t k = 0; k < nthreads; k++)
        pthread_join(th[k], NULL);
    tg_writer_finish(&w, 0);
    free(th);
    free(args);
}

/* ---- 3. the merge ---- */

static double merge_rate(const char *path, uint64_t *events_out, struct tg_trace_summary *sum)
{
    double best_rate = 0;
    for (int round = 0; round < 3; round++) {
        struct tg_trace *t;
        char err[256];
        int rc = tg_trace_open(path, 0, &t, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "reader_bench: %s: %s\n", path, err);
            exit(1);
        }
        struct tg_ev ev;
        uint64_t n = 0, acc = 0, last = 0;
        double t0 = now_s();
        while ((rc = tg_trace_next(t, &ev)) == 1) {
            n++;
            acc += ev.obj ^ ev.kind;
            if (ev.ts < last)
                abort();              /* the merge must stay ordered */
            last = ev.ts;
        }
        double dt = now_s() - t0;
        if (rc < 0) {
            fprintf(stderr, "reader_bench: %s: %s\n", path, tg_trace_error(t));
            exit(1);
        }
        sink = acc;
        tg_trace_summary(t, sum);
        tg_trace_close(t);
        *events_out = n;
        if (n / dt > best_rate)
            best_rate = (double)n / dt;
    }
    return best_rate;
}

static void bench_trace(const char *what, const char *path, uint32_t nthreads, uint64_t per,
                        double write_s)
{
    uint64_t events;
    struct tg_trace_summary sum;
    double rate = merge_rate(path, &events, &sum);
    struct stat st;
    stat(path, &st);
    printf("%s: %u streams x %llu records, written in %.2f s\n", what, nthreads,
           (unsigned long long)per, write_s);
    printf("  %llu events, file %.1f MB: %.2f bytes/event on disk (%.2f in records)\n",
           (unsigned long long)events, (double)st.st_size / 1e6,
           (double)st.st_size / (double)events, (double)sum.bytes / (double)events);
    printf("  merge: %.1f M events/s (best of 3, %u threads, %u stacks)\n", rate / 1e6,
           sum.threads, sum.stacks);
}

int main(int argc, char **argv)
{
    uint32_t nthreads = argc > 1 ? (uint32_t)atoi(argv[1]) : 16;
    uint64_t per = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
    const char *dir = argc > 3 ? argv[3] : "/tmp";
    if (nthreads == 0 || per == 0) {
        fprintf(stderr, "usage: reader_bench [THREADS [EVENTS_PER_THREAD [DIR]]]\n");
        return 2;
    }
    bench_writer(dir);

    char path[4096];
    snprintf(path, sizeof path, "%s/reader_bench.trace", dir);
    double t0 = wall_s();
    write_interleaved(path, nthreads, per);
    bench_trace("trace, records interleaved one by one (worst case for the merge)", path,
                nthreads, per, wall_s() - t0);
    t0 = wall_s();
    write_threads(path, nthreads, per);
    bench_trace("trace, written by real threads", path, nthreads, per, wall_s() - t0);
    unlink(path);
    return 0;
}
