/* tests/tui: tg_tui_feed hands over the events tg_trace_next gives, in the
 * same order, with their names still readable after the reader moved on;
 * its tap sees every batch and the end once; it stops early cleanly. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/writer.h"
#include "tui/tui.h"

#define THREADS 3
#define PER_THREAD 7000         /* several batches of the feed */

static char path[64];

/* THREADS threads taking locks, each renaming itself every 100 events (a
 * THREAD_NAME event whose string the reader only keeps until its next call). */
static void write_trace(void)
{
    struct tg_writer w;
    snprintf(path, sizeof path, "/tmp/tangle-test-feed-%d.trace", (int)getpid());
    unlink(path);
    setenv("TANGLE_CLOCK", "monotonic", 1);
    cr_assert_eq(tg_writer_open(&w, path, "test_feed", "test_feed"), 0);
    uint64_t base = w.hdr->tick0;
    for (int t = 0; t < THREADS; t++) {
        struct tg_stream s;
        uint32_t idx = t == 0 ? w.first_thread : tg_writer_new_thread(&w);
        uint64_t ts = (uint64_t)t * 7, lock = 0x5000 + (uint64_t)(t % 2) * 0x40;
        tg_stream_init(&s, &w, idx);
        tg_stream_emit1(&s, TG_EV_THREAD_START, 0, 0x7f0000000000ull + (uint64_t)t * 0x1000, 0,
                        base + ts, (uint64_t)(100 + t) | (uint64_t)(t ? 0 : TG_NO_THREAD) << 32, 0);
        for (int i = 1; i < PER_THREAD; i++) {
            ts += 10;
            if (i % 100 == 0) {
                char name[32];
                snprintf(name, sizeof name, "worker-%d-%d", t, i);
                tg_stream_emit_var(&s, TG_EV_THREAD_NAME, 0, 0, base + ts, name, strlen(name) + 1);
            } else {
                unsigned kind = i % 2 ? TG_EV_MUTEX_ACQ : TG_EV_MUTEX_REL;
                tg_stream_emit(&s, kind, 0, lock, 0, base + ts);
            }
        }
        tg_stream_close(&s);
    }
    tg_writer_finish(&w, 0);
}

/* What an event is, names included. */
struct seen {
    uint64_t ts, obj;
    uint32_t thread;
    uint16_t kind;
    char str[32];
};

static void describe(const struct tg_ev *ev, struct seen *s)
{
    *s = (struct seen){ .ts = ev->ts, .obj = ev->obj, .thread = ev->thread, .kind = ev->kind };
    if (ev->str != NULL)
        snprintf(s->str, sizeof s->str, "%s", ev->str);
}

static struct seen *read_direct(size_t *n)
{
    struct tg_trace *t;
    struct tg_ev ev;
    size_t cap = THREADS * PER_THREAD + 16;
    struct seen *v = calloc(cap, sizeof *v);

    cr_assert_eq(tg_trace_open(path, 0, &t, NULL, 0), 0);
    *n = 0;
    while (tg_trace_next(t, &ev) > 0 && *n < cap)
        describe(&ev, &v[(*n)++]);
    tg_trace_close(t);
    return v;
}

struct tap {
    size_t events, ends, after_end;
};

static void count_tap(void *ctx, const struct tg_ev *ev, size_t n)
{
    struct tap *tp = ctx;
    if (tp->ends > 0)
        tp->after_end++;
    if (ev == NULL)
        tp->ends++;
    tp->events += n;
}

static void cleanup(void)
{
    unlink(path);
}

TestSuite(feed, .init = write_trace, .fini = cleanup);

Test(feed, same_events_in_the_same_order_names_kept)
{
    size_t n;
    struct seen *want = read_direct(&n), got;
    struct tg_trace *t;
    struct tg_tui_feed *f;
    struct tap tp = { 0 };
    const struct tg_ev *ev;
    long k;
    size_t i = 0, names = 0;

    cr_assert_gt(n, 4096, "the trace should span several batches (%zu events)", n);
    cr_assert_eq(tg_trace_open(path, 0, &t, NULL, 0), 0);
    cr_assert_eq(tg_tui_feed_start(&f, t, count_tap, &tp), 0);
    while ((k = tg_tui_feed_next(f, &ev, 1000)) >= 0) {
        for (long j = 0; j < k; j++, i++) {
            cr_assert_lt(i, n, "more events than the reader gives");
            describe(&ev[j], &got);
            cr_assert_eq(got.ts, want[i].ts, "event %zu", i);
            cr_assert_eq(got.kind, want[i].kind, "event %zu", i);
            cr_assert_eq(got.thread, want[i].thread, "event %zu", i);
            cr_assert_eq(got.obj, want[i].obj, "event %zu", i);
            cr_assert_str_eq(got.str, want[i].str, "event %zu", i);
            names += got.str[0] != 0;
        }
    }
    cr_assert_eq(i, n);
    cr_assert_eq(names, (size_t)THREADS * ((PER_THREAD - 1) / 100));
    cr_assert_eq(tg_tui_feed_error(f), 0);
    cr_assert_eq(tg_tui_feed_next(f, &ev, 0), -1, "the end stays the end");
    tg_tui_feed_stop(f);
    cr_assert_eq(tp.events, n, "the tap saw every event");
    cr_assert_eq(tp.ends, 1);
    cr_assert_eq(tp.after_end, 0);
    tg_trace_close(t);
    free(want);
}

Test(feed, stops_before_the_end)
{
    struct tg_trace *t;
    struct tg_tui_feed *f;
    struct tap tp = { 0 };
    const struct tg_ev *ev;

    cr_assert_eq(tg_trace_open(path, 0, &t, NULL, 0), 0);
    cr_assert_eq(tg_tui_feed_start(&f, t, count_tap, &tp), 0);
    cr_assert_gt(tg_tui_feed_next(f, &ev, 5000), 0);
    tg_tui_feed_stop(f);            /* the reader may be waiting for a free slot */
    cr_assert_eq(tp.ends, 0, "a stopped feed does not tell the tap it ended");
    /* the trace is the caller's again */
    struct tg_ev e;
    size_t rest = 0;
    while (tg_trace_next(t, &e) > 0)
        rest++;
    cr_assert_eq(tp.events + rest, (size_t)THREADS * PER_THREAD);
    tg_trace_close(t);
}
