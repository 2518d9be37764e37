/* bench/detectors_bench: how fast the deadlock detectors eat events.
 *
 *   1. steady state: a synthetic stream from 8 threads taking 64 shared
 *      locks in a consistent order (nested pairs, contended locks, trylocks,
 *      condition waits), through tg_analysis (lock graph + wait-for graph +
 *      misuse) and through tg_contention, next to a bare loop that only
 *      reads the same events;
 *   2. a 10,000-lock program: the whole analysis (feed + finish + the
 *      sorted findings) of a program whose lock graph has 10,000 locks,
 *      once with a hash-table pattern (a global lock around bucket locks,
 *      bucket pairs in order) and once with a 10,000-lock hand-over-hand
 *      chain closed by one inversion (a 10,000-edge cycle search).
 *
 *   3. with --trace FILE, a real trace (e.g. add_sub_lock 2000000 each):
 *      the reader alone (open + merge), the detectors alone on its events
 *      (as `tangle run` and `tangle report` configure them: no --watch
 *      state, and with it), and both together as `tangle report` does and
 *      as `tangle run` does (the trace opened to be followed, no --watch
 *      state). The detectors alone read their events from an array of
 *      them (80 bytes each, far bigger than the caches); reading and
 *      analysing together hand each event over hot, as the commands do, so
 *      their difference is what the detectors cost there.
 *
 * Figures are printed side by side, measured in this run as thread CPU
 * time, best of 3.
 * Usage: detectors_bench [million-events]   (default 20)
 *        detectors_bench --trace FILE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detectors/detectors.h"

/* CPU time of this thread: the machine may be busy with other work, and
 * the question is how much work the detectors do per event */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

struct stream {
    struct tg_ev *ev;
    size_t n, cap;
    uint64_t ts;
};

static void push(struct stream *s, uint16_t kind, uint32_t thread, uint64_t obj, uint64_t p0,
                 uint32_t stack, uint8_t result)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1 << 20;
        s->ev = realloc(s->ev, s->cap * sizeof *s->ev);
        if (!s->ev) {
            perror("detectors_bench");
            exit(1);
        }
    }
    s->ts += 50;
    s->ev[s->n++] = (struct tg_ev){
        .ts = s->ts, .obj = obj, .p0 = p0, .thread = thread, .stack = stack, .kind = kind,
        .result = result,
    };
}

#define NTHREADS 8
#define NLOCKS 64
#define LOCK(i) (0x600000ull + (uint64_t)(i) * 64)
#define COND 0x700000ull
#define CMUTEX 0x700100ull

static void thread_starts(struct stream *s, uint32_t n)
{
    push(s, TG_EV_THREAD_START, 0, 0x7f0000000000ull, 1000 | (uint64_t)TG_NO_THREAD << 32, 0, 0);
    for (uint32_t t = 1; t < n; t++) {
        push(s, TG_EV_THREAD_CREATE, 0, 0x7f0000000000ull + t * 0x10000, t, 1, 0);
        push(s, TG_EV_THREAD_START, t, 0x7f0000000000ull + t * 0x10000, 1000 + t, 1, 0);
    }
}

/* 8 threads, one operation at a time each (round robin), consistent order */
static void steady_stream(struct stream *s, size_t target)
{
    thread_starts(s, NTHREADS);
    uint32_t t = 0;
    while (s->n < target) {
        t = (t + 1) % NTHREADS;
        uint32_t op = rnd(100), a = rnd(NLOCKS - 1), b = a + 1 + rnd(NLOCKS - 1 - a);
        uint32_t site = 100 + a * 7 + t;
        if (op < 60) {                  /* nested pair, in order */
            push(s, TG_EV_MUTEX_ACQ, t, LOCK(a), 0, site, 0);
            push(s, TG_EV_MUTEX_ACQ, t, LOCK(b), 0, site + 1, 0);
            push(s, TG_EV_MUTEX_REL, t, LOCK(b), 0, site + 2, 0);
            push(s, TG_EV_MUTEX_REL, t, LOCK(a), 0, site + 3, 0);
        } else if (op < 80) {           /* contended */
            push(s, TG_EV_MUTEX_REQ, t, LOCK(a), 0, site, 0);
            push(s, TG_EV_MUTEX_ACQ, t, LOCK(a), 0, site, 0);
            push(s, TG_EV_MUTEX_REL, t, LOCK(a), 0, site + 3, 0);
        } else if (op < 90) {           /* trylock, sometimes busy */
            bool ok = rnd(4) != 0;
            push(s, TG_EV_MUTEX_TRY, t, LOCK(a), 0, site, ok ? TG_OK : TG_BUSY);
            if (ok)
                push(s, TG_EV_MUTEX_REL, t, LOCK(a), 0, site + 3, 0);
        } else {                        /* condition wait, woken by a signal */
            uint32_t w = (t + 1) % NTHREADS;
            push(s, TG_EV_MUTEX_ACQ, t, CMUTEX, 0, 9, 0);
            push(s, TG_EV_COND_WAIT, t, COND, CMUTEX, 10, 0);
            push(s, TG_EV_MUTEX_ACQ, w, CMUTEX, 0, 11, 0);
            push(s, TG_EV_COND_SIGNAL, w, COND, 0, 12, 0);
            push(s, TG_EV_MUTEX_REL, w, CMUTEX, 0, 13, 0);
            push(s, TG_EV_COND_WOKE, t, COND, CMUTEX, 10, 0);
            push(s, TG_EV_MUTEX_REL, t, CMUTEX, 0, 14, 0);
        }
    }
}

/* a hash table: global lock G around bucket locks; some operations take two
 * buckets in address order (a move) */
static void table_stream(struct stream *s, uint32_t nbuckets, uint32_t ops)
{
    thread_starts(s, NTHREADS);
    const uint64_t G = 0x500000;
    for (uint32_t i = 0; i < ops; i++) {
        uint32_t t = 1 + i % (NTHREADS - 1), a = rnd(nbuckets - 1);
        uint32_t b = a + 1 + rnd(nbuckets - 1 - a);
        push(s, TG_EV_MUTEX_ACQ, t, G, 0, 5, 0);
        push(s, TG_EV_MUTEX_ACQ, t, LOCK(a), 0, 6, 0);
        if (i % 4 == 0) {
            push(s, TG_EV_MUTEX_ACQ, t, LOCK(b), 0, 7, 0);
            push(s, TG_EV_MUTEX_REL, t, LOCK(b), 0, 8, 0);
        }
        push(s, TG_EV_MUTEX_REL, t, LOCK(a), 0, 8, 0);
        push(s, TG_EV_MUTEX_REL, t, G, 0, 9, 0);
        if (i % 3 == 0) {               /* bucket work outside G, in order too */
            push(s, TG_EV_MUTEX_ACQ, t, LOCK(a), 0, 16, 0);
            push(s, TG_EV_MUTEX_ACQ, t, LOCK(b), 0, 17, 0);
            push(s, TG_EV_MUTEX_REL, t, LOCK(b), 0, 18, 0);
            push(s, TG_EV_MUTEX_REL, t, LOCK(a), 0, 18, 0);
        }
    }
    push(s, TG_EV_PROCESS_EXIT, 0, 0, 0, 0, 0);
}

/* hand over hand along N locks, then one thread takes the last and the first */
static void chain_stream(struct stream *s, uint32_t n)
{
    thread_starts(s, 3);
    push(s, TG_EV_MUTEX_ACQ, 1, LOCK(0), 0, 20, 0);
    for (uint32_t i = 1; i < n; i++) {
        push(s, TG_EV_MUTEX_ACQ, 1, LOCK(i), 0, 21, 0);
        push(s, TG_EV_MUTEX_REL, 1, LOCK(i - 1), 0, 22, 0);
    }
    push(s, TG_EV_MUTEX_REL, 1, LOCK(n - 1), 0, 22, 0);
    push(s, TG_EV_MUTEX_ACQ, 2, LOCK(n - 1), 0, 23, 0);
    push(s, TG_EV_MUTEX_ACQ, 2, LOCK(0), 0, 24, 0);
    push(s, TG_EV_MUTEX_REL, 2, LOCK(0), 0, 25, 0);
    push(s, TG_EV_MUTEX_REL, 2, LOCK(n - 1), 0, 25, 0);
    push(s, TG_EV_PROCESS_EXIT, 0, 0, 0, 0, 0);
}

/* ---- the three consumers */

static volatile uint64_t sink;

static double bare(const struct stream *s)
{
    uint64_t t0 = now_ns(), acc = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct tg_ev *e = &s->ev[i];
        acc += e->obj ^ e->kind ^ e->thread ^ e->ts;
    }
    sink = acc;
    return (double)(now_ns() - t0);
}

static bool skip_races, skip_watch;

static double analysis(const struct stream *s, size_t *nfindings, struct tg_analysis_counters *c)
{
    struct tg_analysis *a;
    struct tg_analysis_config cfg = { .skip_races = skip_races, .skip_watch = skip_watch };
    if (tg_analysis_new(&cfg, &a) < 0)
        exit(1);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < s->n; i++)
        tg_analysis_feed(a, &s->ev[i]);
    tg_analysis_finish(a);
    const struct tg_finding *const *fs;
    *nfindings = tg_analysis_findings(a, &fs);
    double d = (double)(now_ns() - t0);
    if (c)
        tg_analysis_counters(a, c);
    tg_analysis_free(a);
    return d;
}

static double contention(const struct stream *s)
{
    struct tg_contention *c;
    if (tg_contention_new(&c) < 0)
        exit(1);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < s->n; i++)
        tg_contention_feed(c, &s->ev[i]);
    tg_contention_finish(c, s->ts);
    double d = (double)(now_ns() - t0);
    tg_contention_free(c);
    return d;
}

static double best3(double (*fn)(const struct stream *), const struct stream *s)
{
    double b = fn(s);
    for (int i = 0; i < 2; i++) {
        double d = fn(s);
        if (d < b)
            b = d;
    }
    return b;
}

static double best3_analysis(const struct stream *s, size_t *nf, struct tg_analysis_counters *c)
{
    double b = analysis(s, nf, c);
    for (int i = 0; i < 2; i++) {
        double d = analysis(s, nf, NULL);
        if (d < b)
            b = d;
    }
    return b;
}

static void program(const char *name, const struct stream *s)
{
    size_t nf;
    struct tg_analysis_counters c;
    double tb = best3(bare, s), ta = best3_analysis(s, &nf, &c);
    printf("  %-34s %8zu events %6u locks %6u edges  analysis %8.2f ms  bare %6.3f ms  "
           "findings %zu\n", name, s->n, c.objects, c.edges, ta / 1e6, tb / 1e6, nf);
}

/* ---- a real trace */

static const char *trace_path;
static unsigned open_flags;     /* TG_OPEN_FOLLOW: as tangle run opens it */

static struct tg_trace *open_trace(void)
{
    struct tg_trace *t;
    char why[256];
    if (tg_trace_open(trace_path, open_flags, &t, why, sizeof why) < 0) {
        fprintf(stderr, "detectors_bench: %s: %s\n", trace_path, why);
        exit(1);
    }
    return t;
}

/* open + merge, events dropped */
static double read_only(const struct stream *unused)
{
    (void)unused;
    uint64_t t0 = now_ns(), acc = 0;
    struct tg_trace *t = open_trace();
    struct tg_ev ev;
    while (tg_trace_next(t, &ev) > 0)
        acc += ev.obj;
    tg_trace_close(t);
    sink = acc;
    return (double)(now_ns() - t0);
}

/* open + merge + detectors: what `tangle report` does before it prints */
static double read_analyse(const struct stream *unused)
{
    (void)unused;
    uint64_t t0 = now_ns();
    struct tg_trace *t = open_trace();
    struct tg_trace_summary sum;
    tg_trace_summary(t, &sum);
    struct tg_analysis *a;
    /* tangle run passes --watch's state only with --watch */
    struct tg_analysis_config cfg = { .skip_watch = open_flags ||
                                                    !(sum.features & TG_FEAT_WATCH) };
    if (tg_analysis_new(&cfg, &a) < 0)
        exit(1);
    struct tg_ev ev;
    while (tg_trace_next(t, &ev) > 0)
        tg_analysis_feed(a, &ev);
    tg_analysis_finish(a);
    const struct tg_finding *const *fs;
    sink = tg_analysis_findings(a, &fs);
    tg_analysis_free(a);
    tg_trace_close(t);
    return (double)(now_ns() - t0);
}

static int trace_main(void)
{
    struct tg_trace *t = open_trace();
    struct stream s = { 0 };
    struct tg_ev ev;
    while (tg_trace_next(t, &ev) > 0) {
        if (ev.kind == TG_EV_THREAD_NAME || ev.data) {   /* pointers die with the trace */
            ev.str = NULL;
            ev.data = NULL;
            ev.len = 0;
        }
        push(&s, ev.kind, ev.thread, ev.obj, ev.p0, ev.stack, ev.result);
        struct tg_ev *e = &s.ev[s.n - 1];
        *e = ev;
    }
    tg_trace_close(t);
    double n = (double)s.n;
    size_t nf;
    double tr = best3(read_only, NULL), tb = best3(bare, &s);
    skip_watch = true;
    double ta = best3_analysis(&s, &nf, NULL);
    skip_watch = false;
    double tw = best3_analysis(&s, &nf, NULL);
    double tt = best3(read_analyse, NULL);
    open_flags = TG_OPEN_FOLLOW;
    double trf = best3(read_only, NULL), ttf = best3(read_analyse, NULL);
    open_flags = 0;
    printf("detectors_bench: %s, %zu events, thread CPU time, best of 3\n", trace_path, s.n);
    printf("  %-36s %8.1f M events/s  %6.1f ns/event\n", "reader: open + merge", n / tr * 1e3,
           tr / n);
    printf("  %-36s %8.1f M events/s  %6.1f ns/event  (%.1fx the reader)\n",
           "detectors (no --watch state)", n / ta * 1e3, ta / n, ta / tr);
    printf("  %-36s %8.1f M events/s  %6.1f ns/event  (%.1fx the reader)\n",
           "detectors with --watch state", n / tw * 1e3, tw / n, tw / tr);
    printf("  %-36s %8.1f M events/s  %6.1f ns/event  (%.2fx the reader; findings %zu; "
           "bare loop %.1f ns/event)\n", "reader + detectors (tangle report)", n / tt * 1e3,
           tt / n, tt / tr, (size_t)sink, tb / n);
    printf("  %-36s %8.1f M events/s  %6.1f ns/event\n", "reader, follow mode (tangle run)",
           n / trf * 1e3, trf / n);
    printf("  %-36s %8.1f M events/s  %6.1f ns/event  (detectors in line %.1f ns/event)\n",
           "reader + detectors, follow, no --watch", n / ttf * 1e3, ttf / n, (ttf - trf) / n);
    free(s.ev);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--trace") == 0) {
        trace_path = argv[2];
        return trace_main();
    }
    size_t millions = argc > 1 ? strtoul(argv[1], NULL, 10) : 20;
    if (millions == 0)
        millions = 1;
    struct stream s = { 0 };
    steady_stream(&s, millions * 1000000);

    size_t nf;
    struct tg_analysis_counters c;
    skip_races = true;
    double tb = best3(bare, &s), ta = best3_analysis(&s, &nf, &c), tc = best3(contention, &s);
    skip_races = false;
    size_t nfr;
    double tr = best3_analysis(&s, &nfr, NULL);
    double n = (double)s.n;
    printf("detectors_bench: %zu events, %d threads, %d locks (+ a condition), "
           "thread CPU time, best of 3\n", s.n, NTHREADS, NLOCKS);
    printf("  %-30s %8.1f M events/s  %6.1f ns/event\n", "bare loop over the events",
           n / tb * 1e3, tb / n);
    printf("  %-30s %8.1f M events/s  %6.1f ns/event  (%.1fx the bare loop; %u edges, "
           "%llu cycle checks, %zu findings)\n",
           "lock graph+wait graph+misuse", n / ta * 1e3, ta / n, ta / tb, c.edges,
           (unsigned long long)c.cycle_checks, nf);
    printf("  %-30s %8.1f M events/s  %6.1f ns/event  (%.1fx the bare loop)\n",
           "  + detectors/race (all kinds)", n / tr * 1e3, tr / n, tr / tb);
    printf("  %-30s %8.1f M events/s  %6.1f ns/event  (%.1fx the bare loop)\n",
           "contention stats", n / tc * 1e3, tc / n, tc / tb);
    free(s.ev);

    printf("a 10,000-lock program, whole analysis of every kind (feed, finish, sorted findings):\n");
    struct stream t = { 0 };
    table_stream(&t, 10000, 200000);
    program("hash table, 10,000 bucket locks", &t);
    free(t.ev);
    struct stream ch = { 0 };
    chain_stream(&ch, 10000);
    program("10,000-lock chain + inversion", &ch);
    free(ch.ev);
    return 0;
}
