/* Follow mode: records are returned in time order while they are being
 * written — a record waits until every silent stream has published past
 * it, or until it is older than the grace period — each exactly once, and
 * the trace is done once its root process finished and all was read. */
#include <criterion/criterion.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static struct tg_writer w;
static struct tg_stream a, b;
static struct tg_trace *t;

static void setup_two_streams(char *path, size_t len)
{
    tmp_trace_path(path, len);
    setenv("TANGLE_CLOCK", "monotonic", 1);
    cr_assert_eq(tg_writer_open(&w, path, "follow", "follow"), 0);
    tg_stream_init(&a, &w, w.first_thread);
    tg_stream_init(&b, &w, tg_writer_new_thread(&w));
}

static void open_follow(const char *path)
{
    char err[200];
    cr_assert_eq(tg_trace_open(path, TG_OPEN_FOLLOW, &t, err, sizeof err), 0, "%s", err);
}

/* The next event's object, or 0 if none is available now. */
static uint64_t next_obj(void)
{
    struct tg_ev ev;
    int rc = tg_trace_next(t, &ev);
    cr_assert_geq(rc, 0, "%s", tg_trace_error(t) ? tg_trace_error(t) : "");
    return rc == 1 ? ev.obj : 0;
}

/* Ticks an hour ahead never pass the grace period: only the frontier
 * rule can release them, so the order here is exact and timing-free. */
Test(follow, silent_stream_holds_back_later_records)
{
    char path[PATH_MAX];
    setup_two_streams(path, sizeof path);
    uint64_t T = tg_tick(w.clock) + 3600ull * 1000000000ull;
    tg_stream_emit(&a, TG_EV_MUTEX_ACQ, 0, 10, 0, T + 10);
    tg_stream_emit(&a, TG_EV_MUTEX_ACQ, 0, 30, 0, T + 30);
    tg_stream_emit(&b, TG_EV_MUTEX_ACQ, 0, 20, 0, T + 20);
    tg_stream_emit(&b, TG_EV_MUTEX_ACQ, 0, 40, 0, T + 40);
    open_follow(path);
    cr_assert_eq(next_obj(), 10);
    cr_assert_eq(next_obj(), 20);
    cr_assert_eq(next_obj(), 30);
    cr_assert_eq(next_obj(), 0, "a may still publish something before T+40");
    cr_assert_eq(next_obj(), 0);
    tg_stream_emit(&a, TG_EV_MUTEX_ACQ, 0, 50, 0, T + 50);
    cr_assert_eq(next_obj(), 40);
    cr_assert_eq(next_obj(), 0, "now b may publish before T+50");
    tg_stream_emit(&b, TG_EV_MUTEX_ACQ, 0, 60, 0, T + 60);
    cr_assert_eq(next_obj(), 50);
    cr_assert_eq(next_obj(), 0);
    tg_stream_emit(&a, TG_EV_THREAD_EXIT, 0, 70, 0, T + 70);
    tg_stream_close(&a);
    cr_assert_eq(next_obj(), 60);
    cr_assert_eq(next_obj(), 0);
    tg_stream_emit(&b, TG_EV_MUTEX_ACQ, 0, 80, 0, T + 80);
    cr_assert_eq(next_obj(), 70);
    cr_assert_eq(next_obj(), 80, "a ended: it holds nothing back");
    cr_assert_eq(next_obj(), 0);
    cr_assert(!tg_trace_done(t));
    tg_stream_close(&b);
    tg_writer_finish(&w, 0);
    cr_assert(tg_trace_done(t));
    cr_assert_eq(next_obj(), 0);
    tg_trace_close(t);
}

/* A stream looked at again and again with nothing new (a blocked thread):
 * the reader stops copying its chunk header and loads it through the
 * mapping (merge.c, PREADS_PER_CHUNK); what it publishes later still comes,
 * in order, in this chunk and in the next. */
Test(follow, quiet_stream_looked_at_many_times)
{
    char path[PATH_MAX];
    setup_two_streams(path, sizeof path);
    uint64_t T = tg_tick(w.clock) + 3600ull * 1000000000ull;
    tg_stream_emit(&a, TG_EV_MUTEX_ACQ, 0, 10, 0, T + 10);
    tg_stream_emit(&b, TG_EV_MUTEX_ACQ, 0, 20, 0, T + 20);
    open_follow(path);
    cr_assert_eq(next_obj(), 10);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(next_obj(), 0, "a may still publish something before T+20");
    tg_stream_emit(&a, TG_EV_MUTEX_ACQ, 0, 30, 0, T + 30);
    cr_assert_eq(next_obj(), 20);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(next_obj(), 0);
    /* enough records to take a into its next chunk */
    uint64_t n = TG_CHUNK_PAYLOAD / 16 + 10;
    for (uint64_t k = 0; k < n; k++)
        tg_stream_emit(&a, TG_EV_MUTEX_ACQ, 0, 1000 + k, 0, T + 40 + k);
    tg_stream_emit(&b, TG_EV_MUTEX_ACQ, 0, 2000000, 0, T + 40 + n);
    cr_assert_eq(next_obj(), 30);
    for (uint64_t k = 0; k < n; k++)
        cr_assert_eq(next_obj(), 1000 + k, "record %lu of a", (unsigned long)k);
    cr_assert_eq(next_obj(), 0, "b's last record waits for a");
    tg_stream_emit(&a, TG_EV_THREAD_EXIT, 0, 3000000, 0, T + 50 + n);
    cr_assert_eq(next_obj(), 2000000);
    cr_assert_eq(next_obj(), 0, "a's end waits for b");
    tg_stream_close(&a);
    tg_stream_close(&b);
    tg_writer_finish(&w, 0);
    cr_assert_eq(next_obj(), 3000000);
    cr_assert(tg_trace_done(t));
    tg_trace_close(t);
}

Test(follow, grace_period_releases_old_records)
{
    char path[PATH_MAX];
    setup_two_streams(path, sizeof path);
    uint64_t P = tg_tick(w.clock) - 10ull * 1000000000ull;
    tg_stream_emit(&a, TG_EV_MUTEX_REQ, 0, 1, 0, P + 10);   /* then blocks */
    tg_stream_emit(&b, TG_EV_MUTEX_ACQ, 0, 2, 0, P + 20);
    tg_stream_emit(&b, TG_EV_MUTEX_REL, 0, 3, 0, P + 30);
    open_follow(path);
    cr_assert_eq(next_obj(), 1);
    cr_assert_eq(next_obj(), 2, "older than the grace period: a cannot hold it back");
    cr_assert_eq(next_obj(), 3);
    uint64_t F = tg_tick(w.clock) + 3600ull * 1000000000ull;
    tg_stream_emit(&b, TG_EV_MUTEX_ACQ, 0, 4, 0, F);
    cr_assert_eq(next_obj(), 0, "but a may still publish before this one");
    uint64_t now = tg_trace_now(t);
    cr_assert_gt(now, 0, "now is the writer's clock, past the trace's origin");
    cr_assert_lt(now, 3600ull * 1000000000ull);
    tg_trace_close(t);
}

/* ---- writer threads with real clocks ---- */

#define WRITERS 3
#define PER     100000

struct writer_arg {
    uint32_t index;
    int k;
};

static void *writer_main(void *p)
{
    struct writer_arg *wa = p;
    struct tg_stream s;
    tg_stream_init(&s, &w, wa->index);
    emit_thread_start(&s, 0, 0, 0, tg_tick(w.clock));
    for (uint32_t i = 0; i < PER; i++) {
        uint32_t stack = 0;
        if (i % 4096 == 0) {
            uint64_t frames[2] = { (uint64_t)wa->k, i };
            stack = tg_writer_stack(&w, frames, 2);
        }
        tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, seq_obj((uint32_t)wa->k, i), stack, tg_tick(w.clock));
        if (i % 500 == 0)
            sched_yield();        /* let the reader catch up now and then */
    }
    tg_stream_emit(&s, TG_EV_THREAD_EXIT, 0, 0, 0, tg_tick(w.clock));
    tg_stream_close(&s);
    return NULL;
}

static int go[2];

static void *coordinator(void *unused)
{
    (void)unused;
    char c;
    cr_assert_eq(read(go[0], &c, 1), 1);
    pthread_t th[WRITERS];
    struct writer_arg args[WRITERS];
    for (int k = 0; k < WRITERS; k++) {
        args[k] = (struct writer_arg){ tg_writer_new_thread(&w), k };
        pthread_create(&th[k], NULL, writer_main, &args[k]);
    }
    for (int k = 0; k < WRITERS; k++)
        pthread_join(th[k], NULL);
    tg_writer_finish(&w, 0);
    return NULL;
}

Test(follow, live_writers_every_event_once_in_order)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    unsetenv("TANGLE_CLOCK");
    cr_assert_eq(tg_writer_open(&w, path, "live", "live"), 0);
    cr_assert_eq(pipe(go), 0);
    pthread_t coord;
    pthread_create(&coord, NULL, coordinator, NULL);
    open_follow(path);
    cr_assert(!tg_trace_done(t), "not done while the root runs");
    cr_assert_eq(write(go[1], "g", 1), 1);

    uint32_t next[WRITERS] = {0};
    uint64_t last_ts = 0, events = 0, waits = 0;
    time_t start = time(NULL);
    for (;;) {
        struct tg_ev ev;
        int rc = tg_trace_next(t, &ev);
        cr_assert_geq(rc, 0, "%s", tg_trace_error(t) ? tg_trace_error(t) : "");
        if (rc == 0) {
            if (tg_trace_done(t))
                break;
            cr_assert_lt(time(NULL) - start, 60, "follow stalled after %lu events", events);
            waits++;
            struct timespec nap = { 0, 200000 };
            nanosleep(&nap, NULL);
            continue;
        }
        events++;
        cr_assert_geq(ev.ts, last_ts);
        last_ts = ev.ts;
        cr_assert_leq(ev.ts, tg_trace_now(t));
        if (ev.stack) {
            const uint64_t *f;
            uint32_t n;
            cr_assert(tg_trace_stack(t, ev.stack, &f, &n), "stack %u known with its event", ev.stack);
            cr_assert_eq(f[1], next[f[0]]);
        }
        if (ev.kind != TG_EV_MUTEX_ACQ)
            continue;
        uint32_t k = (uint32_t)(ev.obj >> 32) & 0xfff;
        cr_assert_lt(k, WRITERS);
        cr_assert_eq(ev.obj, seq_obj(k, next[k]), "writer %u: event %u once, in order", k, next[k]);
        next[k]++;
    }
    pthread_join(coord, NULL);
    cr_log_info("%lu events, %lu waits for more", events, waits);
    for (int k = 0; k < WRITERS; k++)
        cr_assert_eq(next[k], PER);
    cr_assert_eq(events, WRITERS * (PER + 2));
    struct tg_ev ev;
    cr_assert_eq(tg_trace_next(t, &ev), 0);
    cr_assert(tg_trace_done(t));
    tg_trace_close(t);
}

Test(follow, empty_until_a_writer_initialises)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    FILE *f = fopen(path, "w");
    fclose(f);
    char err[200];
    cr_assert_eq(tg_trace_open(path, TG_OPEN_FOLLOW, &t, err, sizeof err), TG_TRACE_EEMPTY);
    cr_assert_eq(tg_writer_open(&w, path, "late", "late"), 0);
    open_follow(path);
    cr_assert_eq(next_obj(), 0);
    tg_trace_close(t);
}

/* A thread created whose stream has not appeared yet (its first chunk is
 * claimed after it read the clock): its parent's later records wait for
 * it instead of going out once the 50 ms grace period has passed. The
 * records are 100 ms old: past the grace, within the child's 1 s. */
Test(follow, a_created_thread_not_seen_yet_holds_back_later_records)
{
    char path[PATH_MAX];
    setup_two_streams(path, sizeof path);
    uint64_t T = tg_tick(w.clock) - 100ull * 1000000;    /* 100 ms ago */
    uint32_t child = tg_writer_new_thread(&w);
    tg_stream_emit1(&a, TG_EV_THREAD_CREATE, 0, 0x7000, 0, T + 10, child, 0);
    tg_stream_emit(&a, TG_EV_MUTEX_ACQ, 0, 30, 0, T + 30);
    tg_stream_emit(&a, TG_EV_MUTEX_ACQ, 0, 50, 0, T + 50);
    open_follow(path);
    cr_assert_eq(next_obj(), 0x7000);
    cr_assert_eq(next_obj(), 0, "the child may still publish records before T+30");
    struct tg_stream c;
    tg_stream_init(&c, &w, child);
    emit_thread_start(&c, w.first_thread, 0x1234, 0, T + 20);
    tg_stream_emit(&c, TG_EV_MUTEX_ACQ, 0, 40, 0, T + 40);
    uint64_t got[4] = { next_obj(), next_obj(), next_obj(), next_obj() };
    cr_assert_eq(got[0], (uint64_t)pthread_self(), "the child's THREAD_START first");
    cr_assert_eq(got[1], 30, "then the parent's record, got %lu", got[1]);
    cr_assert_eq(got[2], 40);
    cr_assert_eq(got[3], 50);
    tg_stream_close(&c);
    tg_trace_close(t);
}
