/* bench/tui_bench: the timeline on a 10-million-event trace.
 *
 * Writes a trace with the writer API (8 threads taking 72 locks, some
 * contended, condition waits and sleeps), then measures side by side in one
 * run:
 *   - open: reading the trace alone, and reading it into the timeline model
 *     (the bar: under 2 s);
 *   - redraw: binning a screen of lanes, and whole frames (binning + ncurses
 *     drawing to /dev/null through a headless session) while panning and
 *     zooming (bar: every frame under 30 ms);
 *   - memory: the model's bytes and the process's RSS next to the trace's
 *     size (memory follows the trace, not the zoom);
 *   - open as `tangle view` does, timeline and detectors: on one thread,
 *     with the detectors on a second thread with a reader of their own (the
 *     view before), and as the view does now: the trace read once on a
 *     second thread that runs the detectors, the model built in a headless
 *     session, then the frame after the read (wall time: that is what the
 *     user waits for).
 *
 *   tui_bench [EVENTS]      (default 10000000)
 *
 * TUI_BENCH_TRACE=PATH keeps the trace there (to time `tangle view` on it);
 * TUI_BENCH_DEBUG=1 prints each binning and the parts of the first frame;
 * TUI_BENCH_OPEN_ONLY=1 stops after the open and memory figures and the open
 * as `tangle view` does now (to compare builds quickly, alternating).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>

#include "detectors/detectors.h"
#include "trace/trace.h"
#include "trace/writer.h"
#include "tui/tui.h"

#define NTHREADS 8
#define NLOCKS_PER_THREAD 8
#define US 1000ull

static long shared_lock;            /* the lock every thread fights over */
static long locks[NTHREADS][NLOCKS_PER_THREAD];
static long conds[NTHREADS];

/* CPU time of this process: the machine may be shared, and time other
 * processes take from us is not the timeline's cost. Wall time is printed
 * next to it. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread. */
static double thread_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f != NULL && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kib;
}

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* Each thread repeats: an uncontended lock of one of its own locks, a
 * contended acquisition of the shared lock now and then, a condition wait
 * or a short sleep; about 1 us between events. */
static int write_trace(const char *path, uint64_t events)
{
    struct tg_writer w;
    setenv("TANGLE_CLOCK", "monotonic", 1);
    int rc = tg_writer_open(&w, path, "tui_bench", "tui_bench");
    if (rc < 0)
        return rc;
    uint64_t base = w.hdr->tick0;
    uint64_t per = events / NTHREADS;
    for (int t = 0; t < NTHREADS; t++) {
        struct tg_stream s;
        uint32_t idx = t == 0 ? w.first_thread : tg_writer_new_thread(&w);
        tg_stream_init(&s, &w, idx);
        uint64_t ts = (uint64_t)t * 300, n = 0;
        tg_stream_emit1(&s, TG_EV_THREAD_START, 0, 0x7f0000000000ull + (uint64_t)t * 0x1000,
                        0, base + ts, (uint64_t)(1000 + t) | (uint64_t)(t ? 0 : TG_NO_THREAD) << 32, 0);
        n++;
        for (uint64_t i = 0; n + 4 <= per; i++) {
            uint64_t l = addr(&locks[t][i % NLOCKS_PER_THREAD]);
            switch (i % 16) {
            case 5:     /* the shared lock, contended */
                tg_stream_emit(&s, TG_EV_MUTEX_REQ, 0, addr(&shared_lock), 0, base + (ts += 700));
                tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, addr(&shared_lock), 0, base + (ts += 2500));
                tg_stream_emit(&s, TG_EV_MUTEX_REL, 0, addr(&shared_lock), 0, base + (ts += 900));
                n += 3;
                break;
            case 9:     /* a condition wait under its own lock */
                tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, l, 0, base + (ts += 300));
                tg_stream_emit1(&s, TG_EV_COND_WAIT, 0, addr(&conds[t]), 0, base + (ts += 200), l, 0);
                tg_stream_emit1(&s, TG_EV_COND_WOKE, 0, addr(&conds[t]), 0, base + (ts += 4000), l, 0);
                tg_stream_emit(&s, TG_EV_MUTEX_REL, 0, l, 0, base + (ts += 300));
                n += 4;
                break;
            case 13:    /* a short sleep */
                tg_stream_emit1(&s, TG_EV_SLEEP_BEGIN, 0, 0, 0, base + (ts += 400), 3000, 0);
                tg_stream_emit(&s, TG_EV_SLEEP_END, 0, 0, 0, base + (ts += 3000));
                n += 2;
                break;
            default:    /* uncontended: one ACQ record, then the unlock */
                tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, l, 0, base + (ts += 350));
                tg_stream_emit(&s, TG_EV_MUTEX_REL, 0, l, 0, base + (ts += 450));
                n += 2;
                break;
            }
        }
        tg_stream_emit(&s, TG_EV_THREAD_EXIT, 0, 0, 0, base + (ts += 1000));
        tg_stream_close(&s);
    }
    tg_writer_finish(&w, 0);
    return 0;
}

/* ---- opening as `tangle view` does: the timeline and the detectors ---- */

struct detectors {
    const char *path;
    double cpu;
    int findings;
};

static void count_finding(void *ctx, const struct tg_finding *f)
{
    (void)f;
    ((struct detectors *)ctx)->findings++;
}

/* The detectors over the whole trace with a reader of their own. */
static void *run_detectors(void *arg)
{
    struct detectors *d = arg;
    struct tg_analysis_config cfg = { .skip_watch = true, .on_finding = count_finding,
                                      .on_finding_ctx = d };
    struct tg_analysis *a;
    struct tg_trace *tr;
    struct tg_ev ev;
    double t = thread_s();
    if (tg_trace_open(d->path, 0, &tr, NULL, 0) < 0)
        return NULL;
    if (tg_analysis_new(&cfg, &a) == 0) {
        while (tg_trace_next(tr, &ev) > 0)
            tg_analysis_feed(a, &ev);
        tg_analysis_finish(a);
        tg_analysis_free(a);
    }
    tg_trace_close(tr);
    d->cpu = thread_s() - t;
    return NULL;
}

/* Reads PATH into a new model, feeding the detectors on the same thread
 * too if TOGETHER. */
static struct tg_tui_model *build(const char *path, bool together)
{
    struct tg_analysis_config cfg = { .skip_watch = true };
    struct tg_analysis *a = NULL;
    struct tg_trace *tr;
    struct tg_ev ev;
    if (tg_trace_open(path, 0, &tr, NULL, 0) < 0)
        return NULL;
    struct tg_tui_model *m = tg_tui_model_new();
    if (together && tg_analysis_new(&cfg, &a) < 0)
        a = NULL;
    while (m != NULL && tg_trace_next(tr, &ev) > 0) {
        if (a != NULL)
            tg_analysis_feed(a, &ev);
        tg_tui_model_add(m, &ev);
    }
    if (a != NULL) {
        tg_analysis_finish(a);
        tg_analysis_free(a);
    }
    if (m != NULL) {
        tg_tui_model_set_now(m, tg_trace_now(tr));
        tg_tui_model_compact(m);
    }
    tg_trace_close(tr);
    return m;
}

/* Opening as tangle view does, both ways side by side, best of 3. */
static void open_like_view(const char *path)
{
    double one_wall = 1e9, one_cpu = 1e9, two_wall = 1e9, two_main = 1e9, two_det = 1e9;
    for (int round = 0; round < 3; round++) {
        double w = wall_s(), c = thread_s();
        struct tg_tui_model *m = build(path, true);
        double cw = wall_s() - w, cc = thread_s() - c;
        tg_tui_model_free(m);
        if (cw < one_wall) {
            one_wall = cw;
            one_cpu = cc;
        }
        struct detectors d = { .path = path };
        pthread_t tid;
        w = wall_s();
        c = thread_s();
        if (pthread_create(&tid, NULL, run_detectors, &d) != 0)
            return;
        m = build(path, false);
        double main_cpu = thread_s() - c;
        pthread_join(tid, NULL);
        cw = wall_s() - w;
        tg_tui_model_free(m);
        if (cw < two_wall) {
            two_wall = cw;
            two_main = main_cpu;
            two_det = d.cpu;
        }
    }
    printf("  open as tangle view does (timeline + detectors), best of 3 by wall time:\n");
    printf("    one thread:                      wall %6.3f s  (CPU %.3f s)\n", one_wall, one_cpu);
    printf("    detectors on a second thread:    wall %6.3f s  (CPU main %.3f s, detectors %.3f s)"
           "  %.2fx\n", two_wall, two_main, two_det, one_wall / two_wall);
}

/* ---- opening as `tangle view` does now: the trace read once, on a second
 * thread (tg_tui_feed) that runs the detectors, the model built on this one
 * in a headless session; then the frame after the read and the model's
 * room given back ---- */

static void detect_batch(void *ctx, const struct tg_ev *ev, size_t n)
{
    struct tg_analysis *a = ctx;
    for (size_t i = 0; i < n; i++)
        tg_analysis_feed(a, &ev[i]);
    if (ev == NULL)
        tg_analysis_finish(a);
}

/* the figures of one open, in seconds */
enum { VO_WALL, VO_MAIN_CPU, VO_FRAME, VO_FRAME_WALL, VO_COMPACT, VO_COUNT };
struct view_open {
    double v[VO_COUNT];
};

static int open_with_feed(const char *path, FILE *null, FILE *nullin, struct view_open *r)
{
    struct tg_analysis_config cfg = { .skip_watch = true };
    struct tg_tui_live_options o = { .title = "bench", .out = null, .in = nullin,
                                     .term = "xterm-256color", .cols = 200, .rows = 60 };
    struct tg_analysis *a;
    struct tg_trace *tr;
    struct tg_tui_live *ui;
    struct tg_tui_feed *feed;
    const struct tg_ev *ev;
    long got;

    double w = wall_s(), c = thread_s();
    if (tg_trace_open(path, 0, &tr, NULL, 0) < 0)
        return -1;
    if (tg_analysis_new(&cfg, &a) < 0 || tg_tui_live_start(&ui, tr, NULL, &o, NULL, 0) < 0)
        return -1;
    if (tg_tui_feed_start(&feed, tr, detect_batch, a) < 0)
        return -1;
    double last_pump = wall_s();
    while ((got = tg_tui_feed_next(feed, &ev, 20)) >= 0) {
        for (long i = 0; i < got; i++)
            tg_tui_live_event(ui, &ev[i]);
        if (wall_s() - last_pump >= 0.02) {      /* as cli/view.c: keys every 20 ms */
            tg_tui_feed_lock(feed);
            tg_tui_live_pump(ui, 0);
            tg_tui_feed_unlock(feed);
            last_pump = wall_s();
        }
    }
    tg_tui_feed_stop(feed);
    double f = thread_s(), fw = wall_s();
    tg_tui_live_ended(ui, 0);
    tg_tui_live_pump(ui, 0);                    /* the frame the user waits for */
    r->v[VO_FRAME] = thread_s() - f;
    r->v[VO_FRAME_WALL] = wall_s() - fw;
    r->v[VO_WALL] = wall_s() - w;
    r->v[VO_MAIN_CPU] = thread_s() - c;
    f = thread_s();
    tg_tui_live_pump(ui, 0);                    /* gives the model's room back */
    r->v[VO_COMPACT] = thread_s() - f;
    tg_tui_live_stop(ui);
    tg_analysis_free(a);
    tg_trace_close(tr);
    return 0;
}

/* Three times; prints the range of each figure. */
static void open_like_view_now(const char *path)
{
    FILE *null = fopen("/dev/null", "w"), *nullin = fopen("/dev/null", "r");
    struct view_open lo, hi = { { 0 } }, r;
    for (int k = 0; k < VO_COUNT; k++)
        lo.v[k] = 1e9;
    for (int round = 0; round < 3; round++) {
        if (open_with_feed(path, null, nullin, &r) < 0) {
            fprintf(stderr, "tui_bench: cannot open %s as tangle view does\n", path);
            return;
        }
        for (int k = 0; k < VO_COUNT; k++) {
            lo.v[k] = r.v[k] < lo.v[k] ? r.v[k] : lo.v[k];
            hi.v[k] = r.v[k] > hi.v[k] ? r.v[k] : hi.v[k];
        }
    }
    printf("  open as tangle view does now (read and detectors on a second thread, the model"
           " here, headless 200x60), 3 runs:\n"
           "    until the frame after the read:  wall %.3f-%.3f s  (CPU main %.3f-%.3f s)\n"
           "    that frame: %.1f-%.1f ms CPU (%.1f-%.1f ms wall) (bar: 30 ms) %s;"
           " giving the room back after it: %.1f-%.1f ms\n",
           lo.v[VO_WALL], hi.v[VO_WALL], lo.v[VO_MAIN_CPU], hi.v[VO_MAIN_CPU],
           lo.v[VO_FRAME] * 1e3, hi.v[VO_FRAME] * 1e3, lo.v[VO_FRAME_WALL] * 1e3,
           hi.v[VO_FRAME_WALL] * 1e3, hi.v[VO_FRAME_WALL] < 0.030 ? "ok" : "TOO SLOW",
           lo.v[VO_COMPACT] * 1e3, hi.v[VO_COMPACT] * 1e3);
    fclose(null);
    fclose(nullin);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct frames {
    double t[256];
    int n;
};

static void frame(struct tg_tui_live *ui, struct frames *f, int key)
{
    double t0 = now_s();
    if (key)
        tg_tui_live_key(ui, key);
    tg_tui_live_draw(ui);
    if (f->n < 256)
        f->t[f->n++] = now_s() - t0;
}

static void report_frames(const char *what, struct frames *f)
{
    qsort(f->t, (size_t)f->n, sizeof f->t[0], cmp_double);
    printf("  %-34s %3d frames  median %6.2f ms  max %6.2f ms\n", what, f->n,
           f->t[f->n / 2] * 1e3, f->t[f->n - 1] * 1e3);
}

int main(int argc, char **argv)
{
    uint64_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000ull;
    char path[256];
    const char *tmp = getenv("TMPDIR"), *keep = getenv("TUI_BENCH_TRACE");
    snprintf(path, sizeof path, "%s/tangle-tui-bench-%d.trace", tmp && *tmp ? tmp : "/tmp",
             (int)getpid());
    if (keep != NULL && *keep)      /* keep the trace there, e.g. to time `tangle view` on it */
        snprintf(path, sizeof path, "%s", keep);

    printf("tui_bench: %llu events, %d threads; times are CPU time of this process\n",
           (unsigned long long)events, NTHREADS);
    double t = now_s();
    unlink(path);       /* the writer does not truncate: a kept trace would grow run by run */
    int rc = write_trace(path, events);
    if (rc < 0) {
        fprintf(stderr, "tui_bench: cannot write %s: %s\n", path, strerror(-rc));
        return 1;
    }
    struct stat st;
    stat(path, &st);
    printf("  trace written in %.2f s: %.1f MiB\n", now_s() - t, (double)st.st_size / 1048576.0);

    /* open: the reader alone, then the reader into the model */
    char err[256];
    struct tg_trace *tr;
    struct tg_ev ev;
    uint64_t n = 0;
    t = now_s();
    if (tg_trace_open(path, 0, &tr, err, sizeof err) < 0) {
        fprintf(stderr, "tui_bench: %s\n", err);
        return 1;
    }
    while (tg_trace_next(tr, &ev) > 0)
        n++;
    double read_only = now_s() - t;
    tg_trace_close(tr);

    /* three times each, the best kept: other work on the machine only ever
     * adds time */
    struct tg_tui_model *m = NULL;
    double open_model = 1e9, wall = 0;
    uint64_t fed = 0;
    long rss0 = 0, rss1 = 0;
    for (int round = 0; round < 3; round++) {
        if (m != NULL) {
            tg_tui_model_free(m);
            tg_trace_close(tr);
        }
        double t2 = wall_s();
        t = now_s();
        rss0 = rss_kib();
        if (tg_trace_open(path, 0, &tr, err, sizeof err) < 0)
            return 1;
        m = tg_tui_model_new();
        fed = 0;
        while (tg_trace_next(tr, &ev) > 0) {
            if (tg_tui_model_add(m, &ev) < 0) {
                fprintf(stderr, "tui_bench: out of memory\n");
                return 1;
            }
            fed++;
        }
        tg_tui_model_set_now(m, tg_trace_now(tr));
        if (now_s() - t < open_model) {
            open_model = now_s() - t;
            wall = wall_s() - t2;
        }
        rss1 = rss_kib();
        /* the reader alone again, between rounds */
        struct tg_trace *r2;
        double t3 = now_s();
        if (tg_trace_open(path, 0, &r2, err, sizeof err) == 0) {
            while (tg_trace_next(r2, &ev) > 0)
                ;
            tg_trace_close(r2);
            if (now_s() - t3 < read_only)
                read_only = now_s() - t3;
        }
    }
    if (getenv("TUI_BENCH_DEBUG")) {
        FILE *f = fopen("/proc/self/smaps_rollup", "r");
        char line[256];
        while (f != NULL && fgets(line, sizeof line, f))
            if (strstr(line, "AnonHuge") || strstr(line, "Rss"))
                fputs(line, stdout);
        if (f != NULL)
            fclose(f);
    }
    printf("  best of 3: read %llu events alone  %6.3f s  (%.1f M events/s)\n",
           (unsigned long long)n, read_only, (double)n / read_only / 1e6);
    printf("  open = read + model build          %6.3f s  (%.2fx the read alone; bar: 2 s) %s"
           "  [wall %.3f s]\n", open_model, open_model / read_only,
           open_model < 2.0 ? "ok" : "TOO SLOW", wall);
    size_t mem = tg_tui_model_memory(m);
    printf("  model while reading: %.1f MiB = %.1f bytes/event = %.2fx the trace file;"
           " RSS grew %.1f MiB (%.2fx, the mapped trace included)\n",
           (double)mem / 1048576.0, (double)mem / (double)fed, (double)mem / (double)st.st_size,
           (double)(rss1 - rss0) / 1024.0, (double)(rss1 - rss0) * 1024.0 / (double)st.st_size);
    t = now_s();
    tg_tui_model_compact(m);        /* what tangle view does once the trace is read */
    double compact = now_s() - t;
    mem = tg_tui_model_memory(m);
    long rss2 = rss_kib();
    printf("  model compacted:     %.1f MiB = %.1f bytes/event = %.2fx the trace file;"
           " RSS now %.1f MiB over the start (%.3f s)\n",
           (double)mem / 1048576.0, (double)mem / (double)fed, (double)mem / (double)st.st_size,
           (double)(rss2 - rss0) / 1024.0, compact);
    if (getenv("TUI_BENCH_OPEN_ONLY")) {
        tg_tui_model_free(m);
        tg_trace_close(tr);
        open_like_view_now(path);
        if (keep == NULL || !*keep)
            unlink(path);
        return 0;
    }

    /* the first frame, as `tangle view` draws it once the trace is read:
     * the whole trace fitted, on a cold model (nothing has read the lanes
     * since they were built) — the slowest frame a user waits for */
    FILE *null = fopen("/dev/null", "w"), *nullin = fopen("/dev/null", "r");
    struct tg_tui_live_options o = { .title = "bench", .out = null, .in = nullin,
                                     .term = "xterm-256color", .cols = 200, .rows = 60,
                                     .model = m };
    struct tg_tui_live *ui;
    if (getenv("TUI_BENCH_DEBUG")) {
        struct tg_tui_model *empty = tg_tui_model_new();
        struct tg_tui_live_options e = o;
        e.model = empty;
        double t4 = now_s();
        if (tg_tui_live_start(&ui, NULL, NULL, &e, err, sizeof err) == 0)
            tg_tui_live_stop(ui);
        printf("    an empty session: %.2f ms\n", (now_s() - t4) * 1e3);
        tg_tui_model_free(empty);
    }
    struct frames first = { .n = 1 };
    double first_wall = wall_s();
    first.t[0] = now_s();
    /* the session draws its first frame as it starts */
    if (tg_tui_live_start(&ui, tr, NULL, &o, err, sizeof err) < 0) {
        fprintf(stderr, "tui_bench: %s\n", err);
        return 1;
    }
    double t_start = now_s() - first.t[0];
    tg_tui_live_ended(ui, 0);
    double t_ended = now_s() - first.t[0] - t_start;
    tg_tui_live_draw(ui);
    first.t[0] = now_s() - first.t[0];
    if (getenv("TUI_BENCH_DEBUG"))
        printf("    start %.2f ms, ended %.2f ms, draw %.2f ms\n", t_start * 1e3, t_ended * 1e3,
               (first.t[0] - t_start - t_ended) * 1e3);
    first_wall = wall_s() - first_wall;

    /* binning alone: every lane of a 200-column screen, at several zooms */
    struct tg_tui_cell cells[200];
    uint64_t start = tg_tui_model_start(m), end = tg_tui_model_end(m);
    struct frames bins = { .n = 0 };
    for (uint64_t step = (end - start) / 200 + 1; step >= 10 && bins.n < 40; step /= 3) {
        for (int k = 0; k < 4 && bins.n < 256; k++) {
            uint64_t t0 = start + (end - start) / 5 * (uint64_t)k;
            double b = now_s();
            for (size_t lane = 0; lane < tg_tui_model_nthreads(m); lane++)
                tg_tui_model_bin_thread(m, lane, t0, step, cells, 200);
            for (size_t lock = 0; lock < tg_tui_model_nlocks(m); lock++)
                tg_tui_model_bin_lock(m, lock, t0, step, cells, 200);
            bins.t[bins.n++] = now_s() - b;
            if (getenv("TUI_BENCH_DEBUG"))
                printf("    step %llu t0 %llu: %.2f ms\n", (unsigned long long)step,
                       (unsigned long long)t0, bins.t[bins.n - 1] * 1e3);
        }
    }
    printf("  binning a screen (%zu thread + %zu lock lanes x 200 columns):\n",
           tg_tui_model_nthreads(m), tg_tui_model_nlocks(m));
    report_frames("zooms from all to 10 ns/column", &bins);

    /* whole frames: the headless session drawing to /dev/null, 200x60 */
    struct frames fit = { .n = 0 }, pan = { .n = 0 }, zin = { .n = 0 }, zout = { .n = 0 },
                  step = { .n = 0 }, locks = { .n = 0 };
    frame(ui, &fit, 0);
    frame(ui, &fit, 'z');
    for (int i = 0; i < 20; i++)
        frame(ui, &pan, 'L');
    for (int i = 0; i < 20; i++)
        frame(ui, &pan, 'H');
    for (int i = 0; i < 24; i++)
        frame(ui, &zin, '+');
    for (int i = 0; i < 20; i++)
        frame(ui, &step, i % 2 ? 'n' : 'j');
    for (int i = 0; i < 24; i++)
        frame(ui, &zout, '-');
    frame(ui, &locks, '2');
    for (int i = 0; i < 10; i++)
        frame(ui, &locks, 'L');
    printf("  frames (binning + drawing, 200x60, to /dev/null; bar: 30 ms):\n");
    report_frames("first frames, cold (start, fit, draw)", &first);
    printf("  %-34s             wall   %6.2f ms\n", "", first_wall * 1e3);
    report_frames("fit the whole trace", &fit);
    report_frames("pan half a screen (H/L)", &pan);
    report_frames("zoom in (+)", &zin);
    report_frames("next event, next lane (n, j)", &step);
    report_frames("zoom out (-)", &zout);
    report_frames("Locks view, panning", &locks);
    double worst = 0;
    struct frames *all[] = { &first, &fit, &pan, &zin, &step, &zout, &locks };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i]->t[all[i]->n - 1] > worst)
            worst = all[i]->t[all[i]->n - 1];
    printf("  slowest frame %.2f ms: %s\n", worst * 1e3, worst < 0.030 ? "ok" : "TOO SLOW");
    tg_tui_live_stop(ui);
    fclose(null);
    fclose(nullin);
    tg_tui_model_free(m);
    tg_trace_close(tr);
    open_like_view(path);
    open_like_view_now(path);
    if (keep == NULL || !*keep)
        unlink(path);
    return 0;
}
