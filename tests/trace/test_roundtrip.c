/* Round trip: threads write events with payloads, names and stacks through
 * the writer; the reader returns them merged in time order, decoded, with
 * the thread, process, module and stack tables filled in. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NTHREADS 4
#define NEVENTS  20000          /* spans several chunks per thread */

struct worker {
    struct tg_writer *w;
    uint32_t index, parent, create_stack;
    pthread_t self;
};

static void *worker_main(void *arg);

static void body_event(struct tg_stream *s, uint32_t ti, uint32_t j, uint32_t stack)
{
    uint64_t tick = tg_tick(s->w->clock);
    switch (j % 4) {
    case 0:
        tg_stream_emit(s, TG_EV_MUTEX_ACQ, TG_ARG(TG_MUTEX_RECURSIVE, 0, 0, TG_OK),
                       seq_obj(ti, j), stack, tick);
        break;
    case 1:
        tg_stream_emit(s, TG_EV_MUTEX_REL, TG_ARG(TG_MUTEX_RECURSIVE, 0, 0, TG_OK),
                       seq_obj(ti, j), stack, tick);
        break;
    case 2:
        tg_stream_emit1(s, TG_EV_COND_WAIT, TG_ARG(0, 0, 1, 0), seq_obj(ti, j), stack, tick,
                        j, ti);
        break;
    default:
        tg_stream_emit(s, TG_EV_MUTEX_TRY, TG_ARG(TG_MUTEX_ERRORCHECK, 1, 0, TG_BUSY),
                       seq_obj(ti, j), 0, tick);
        break;
    }
}

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    struct tg_stream s;
    tg_stream_init(&s, wk->w, wk->index);
    emit_thread_start(&s, wk->parent, (uint64_t)(uintptr_t)worker_main, wk->create_stack,
                      tg_tick(wk->w->clock));
    char name[16];
    snprintf(name, sizeof name, "worker-%u", wk->index);
    tg_stream_emit_var(&s, TG_EV_THREAD_NAME, (uint64_t)pthread_self(), 0,
                       tg_tick(wk->w->clock), name, strlen(name) + 1);
    uint64_t frames[3] = { 0x401000 + wk->index, 0x402000, 0x403000 };
    uint32_t stack = tg_writer_stack(wk->w, frames, 3);
    for (uint32_t j = 0; j < NEVENTS; j++)
        body_event(&s, wk->index, j, stack);
    tg_stream_emit(&s, TG_EV_THREAD_EXIT, 0, 0, 0, tg_tick(wk->w->clock));
    tg_stream_close(&s);
    return NULL;
}

static void write_trace(const char *path)
{
    static struct tg_writer w;
    cr_assert_eq(tg_writer_open(&w, path, "roundtrip", "roundtrip -x 1"), 0);
    struct tg_stream s;
    tg_stream_init(&s, &w, w.first_thread);
    emit_thread_start(&s, TG_NO_THREAD, 0, 0, tg_tick(w.clock));

    struct worker wk[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        uint64_t site[2] = { 0x500000 + (uint64_t)i, 0x500100 };
        wk[i] = (struct worker){ .w = &w, .index = tg_writer_new_thread(&w),
                                 .parent = w.first_thread,
                                 .create_stack = tg_writer_stack(&w, site, 2) };
        cr_assert_neq(wk[i].create_stack, 0);
        cr_assert_eq(pthread_create(&wk[i].self, NULL, worker_main, &wk[i]), 0);
        tg_stream_emit1(&s, TG_EV_THREAD_CREATE, TG_ARG(0, 0, 0, TG_OK),
                        (uint64_t)wk[i].self, wk[i].create_stack, tg_tick(w.clock),
                        wk[i].index, 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        cr_assert_eq(pthread_join(wk[i].self, NULL), 0);
        tg_stream_emit(&s, TG_EV_JOIN_DONE, 0, (uint64_t)wk[i].self, 0, tg_tick(w.clock));
    }
    tg_stream_emit1(&s, TG_EV_PROCESS_EXIT, 0, 0, 0, tg_tick(w.clock), 7 << 8, TG_EXIT_NORMAL);
    tg_stream_close(&s);
    tg_writer_finish(&w, 7 << 8);
}

Test(roundtrip, threads_payloads_names_stacks_modules)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    write_trace(path);

    struct ev_list l;
    struct tg_trace *t;
    cr_assert_eq(read_all(path, &l, &t), 0);
    cr_assert_eq(l.end, 0, "trace ends cleanly, got %d (%s)", l.end,
                 tg_trace_error(t) ? tg_trace_error(t) : "");
    size_t expect = 1 + 2 * NTHREADS + 1 + NTHREADS * (2 + NEVENTS + 1);
    cr_assert_eq(l.n, expect, "events: %zu, expected %zu", l.n, expect);

    uint32_t next[64] = {0};   /* next body event per thread */
    uint32_t main_thread = l.ev[0].thread;
    for (size_t i = 0; i < l.n; i++) {
        const struct tg_ev *e = &l.ev[i];
        if (i)
            cr_assert_geq(e->ts, l.ev[i - 1].ts, "time order at %zu", i);
        cr_assert_eq(e->process, 0);
        cr_assert_lt(e->thread, 64);
        if (e->thread == main_thread || (e->obj >> 44) != 1)
            continue;
        uint32_t j = next[e->thread]++;
        cr_assert_eq(e->obj, seq_obj(e->thread, j), "thread %u event %u", e->thread, j);
        switch (j % 4) {
        case 0:
            cr_assert_eq(e->kind, TG_EV_MUTEX_ACQ);
            cr_assert_eq(e->mtype, TG_MUTEX_RECURSIVE);
            cr_assert_eq(e->result, TG_OK);
            cr_assert(!e->timed && !e->pshared);
            cr_assert_neq(e->stack, 0);
            break;
        case 1:
            cr_assert_eq(e->kind, TG_EV_MUTEX_REL);
            break;
        case 2:
            cr_assert_eq(e->kind, TG_EV_COND_WAIT);
            cr_assert(e->timed);
            cr_assert_eq(e->p0, j);
            cr_assert_eq(e->p1, e->thread);
            break;
        default:
            cr_assert_eq(e->kind, TG_EV_MUTEX_TRY);
            cr_assert_eq(e->mtype, TG_MUTEX_ERRORCHECK);
            cr_assert_eq(e->result, TG_BUSY);
            cr_assert(e->pshared);
            cr_assert_eq(e->stack, 0);
            break;
        }
    }
    int workers = 0;
    for (uint32_t i = 0; i < 64; i++) {
        if (next[i] == 0)
            continue;
        workers++;
        cr_assert_eq(next[i], NEVENTS, "thread %u: %u body events", i, next[i]);
        const struct tg_thread_info *ti = tg_trace_thread(t, i);
        cr_assert_not_null(ti);
        char name[16];
        snprintf(name, sizeof name, "worker-%u", i);
        cr_assert_str_eq(ti->name, name);
        cr_assert_eq(ti->parent, main_thread);
        cr_assert_eq(ti->start_routine, (uint64_t)(uintptr_t)worker_main);
        cr_assert_neq(ti->end_ts, 0);
        cr_assert_eq(tg_trace_thread_by_pthread(t, 0, ti->pthread), ti);
        const uint64_t *frames;
        uint32_t n;
        cr_assert(tg_trace_stack(t, ti->create_stack, &frames, &n));
        cr_assert_eq(n, 2);
        cr_assert_eq(frames[1], 0x500100);
    }
    cr_assert_eq(workers, NTHREADS);

    const struct tg_process_info *p = tg_trace_process(t, 0);
    cr_assert_not_null(p);
    cr_assert_eq(p->pid, (uint32_t)getpid());
    cr_assert_eq(p->parent, TG_NO_THREAD);
    cr_assert_str_eq(p->cmdline, "roundtrip -x 1");
    cr_assert(p->exited);
    cr_assert_eq(p->exit_status, 7 << 8);
    char exe[PATH_MAX] = {0};
    cr_assert_gt(readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
    cr_assert_str_eq(p->path, exe);

    const struct tg_module_info *mods;
    size_t nmods = tg_trace_modules(t, 0, &mods);
    bool main_seen = false, libc_seen = false;
    for (size_t i = 0; i < nmods; i++) {
        cr_assert_eq(mods[i].path[0], '/', "module path %s is absolute", mods[i].path);
        cr_assert_leq(mods[i].lo, mods[i].hi);
        main_seen |= strcmp(mods[i].path, exe) == 0
                     && mods[i].lo <= (uint64_t)(uintptr_t)worker_main
                     && (uint64_t)(uintptr_t)worker_main < mods[i].hi;
        libc_seen |= strstr(mods[i].path, "libc.so") != NULL;
    }
    cr_assert(main_seen, "the test program's module covers its code");
    cr_assert(libc_seen);

    struct tg_trace_summary sum;
    tg_trace_summary(t, &sum);
    cr_assert(sum.finished);
    cr_assert_eq(sum.exit_status, 7 << 8);
    cr_assert_eq(sum.root_pid, (uint32_t)getpid());
    cr_assert_str_eq(sum.program, "roundtrip");
    cr_assert_eq(sum.events, expect);
    cr_assert_eq(sum.threads, NTHREADS + 1);
    cr_assert_eq(sum.processes, 1);
    cr_assert_geq(sum.stacks, 2 * NTHREADS);
    cr_assert_eq(sum.lost, 0);
    cr_assert(!sum.truncated);
    cr_assert_geq(tg_trace_now(t), l.ev[l.n - 1].ts);
    tg_trace_close(t);
    ev_list_free(&l);
}

Test(roundtrip, names)
{
    cr_assert_str_eq(tg_event_name(TG_EV_MUTEX_ACQ), "MUTEX_ACQ");
    cr_assert_str_eq(tg_event_name(TG_EV_SYNC_RELEASE), "SYNC_RELEASE");
    cr_assert_str_eq(tg_event_name(250), "UNKNOWN");
    cr_assert_str_eq(tg_result_name(TG_BUSY), "EBUSY");
    cr_assert_str_eq(tg_result_name(TG_TIMEDOUT), "ETIMEDOUT");
    cr_assert_str_eq(tg_trace_strerror(TG_TRACE_ETRUNCATED), "truncated");
    cr_assert_str_eq(tg_trace_strerror(TG_TRACE_EVERSION), "written by a newer tangle");
}

/* pthread_t values come back after a join: a lookup names the thread that
 * holds the value at the point the events have been read to. */
Test(roundtrip, pthread_values_reused_after_join)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    cr_assert_eq(tg_writer_open(&w, path, "reuse", "reuse"), 0);
    struct tg_stream m, a, b;
    tg_stream_init(&m, &w, w.first_thread);
    tg_stream_init(&a, &w, tg_writer_new_thread(&w));
    tg_stream_init(&b, &w, tg_writer_new_thread(&w));
    const uint64_t X = 0x7f00deadb000ull;
    uint64_t tick = tg_tick(w.clock);
    tg_stream_emit1(&m, TG_EV_THREAD_START, 0, 0x7f0000000100ull, 0, tick += 10,
                    1 | (uint64_t)TG_NO_THREAD << 32, 0);
    tg_stream_emit1(&a, TG_EV_THREAD_START, 0, X, 0, tick += 10, 2 | (uint64_t)w.first_thread << 32, 0x1111);
    tg_stream_emit_var(&a, TG_EV_THREAD_NAME, X, 0, tick += 10, "first", 6);
    tg_stream_emit(&a, TG_EV_THREAD_EXIT, 0, 0, 0, tick += 10);
    tg_stream_emit(&m, TG_EV_JOIN_DONE, 0, X, 0, tick += 10);
    tg_stream_emit1(&b, TG_EV_THREAD_START, 0, X, 0, tick += 10, 3 | (uint64_t)w.first_thread << 32, 0x2222);
    tg_stream_emit_var(&b, TG_EV_THREAD_NAME, X, 0, tick += 10, "second-with-a-long-name!", 25);
    tg_stream_close(&m);
    tg_stream_close(&a);
    tg_stream_close(&b);
    tg_writer_finish(&w, 0);

    struct tg_trace *t;
    cr_assert_eq(tg_trace_open(path, 0, &t, NULL, 0), 0);
    struct tg_ev ev;
    const struct tg_thread_info *seen_at_join = NULL;
    while (tg_trace_next(t, &ev) == 1) {
        if (ev.kind == TG_EV_JOIN_DONE)
            seen_at_join = tg_trace_thread_by_pthread(t, 0, ev.obj);
        if (ev.kind == TG_EV_THREAD_NAME)
            cr_assert_str_eq(ev.str, ev.thread == a.owner ? "first" : "second-with-a-long-name!");
    }
    cr_assert_not_null(seen_at_join);
    cr_assert_eq(seen_at_join->index, a.owner, "at the join, X is the first thread");
    cr_assert_str_eq(seen_at_join->name, "first");
    cr_assert_neq(seen_at_join->end_ts, 0);
    const struct tg_thread_info *now = tg_trace_thread_by_pthread(t, 0, X);
    cr_assert_eq(now->index, b.owner, "after the second start, X is the second thread");
    cr_assert_eq(now->os_tid, 3);
    cr_assert_eq(now->start_routine, 0x2222);
    cr_assert_str_eq(now->name, "second-with-a-long-name!");
    cr_assert_eq(now->end_ts, 0);
    cr_assert_null(tg_trace_thread_by_pthread(t, 1, X), "pthread_t values are per process");
    cr_assert_null(tg_trace_thread_by_pthread(t, 0, X + 8));
    tg_trace_close(t);
}

/* More streams than the reader gives 32 KiB windows (it reads each stream
 * through a window of its own, a page each past 256 streams), records
 * interleaved one by one, with payloads as large as a record can be (one
 * record fills a small window): every event comes back once, in order,
 * its payload whole. */
#define MANY 300
#define PER_STREAM 40
Test(roundtrip, many_streams_largest_payloads)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    cr_assert_eq(tg_writer_open(&w, path, "many", "many"), 0);
    static struct tg_stream s[MANY];
    static uint8_t big[254 * 16];     /* the writer's cap */
    uint64_t tick = tg_tick(w.clock);
    tg_stream_init(&s[0], &w, w.first_thread);
    for (uint32_t i = 1; i < MANY; i++)
        tg_stream_init(&s[i], &w, tg_writer_new_thread(&w));
    for (uint32_t i = 0; i < MANY; i++)
        emit_thread_start(&s[i], i ? w.first_thread : TG_NO_THREAD, 0, 0, ++tick);
    for (uint32_t j = 0; j < PER_STREAM; j++)
        for (uint32_t i = 0; i < MANY; i++) {
            if (j % 10 == 5) {
                memset(big, (int)(i + j), sizeof big);
                tg_stream_emit_var(&s[i], TG_EV_RACE, seq_obj(i, j), 0, ++tick, big, sizeof big);
            } else {
                tg_stream_emit(&s[i], TG_EV_MUTEX_ACQ, TG_ARG(0, 0, 0, TG_OK), seq_obj(i, j),
                               0, ++tick);
            }
        }
    for (uint32_t i = 0; i < MANY; i++) {
        tg_stream_emit(&s[i], TG_EV_THREAD_EXIT, 0, 0, 0, ++tick);
        tg_stream_close(&s[i]);
    }
    tg_writer_finish(&w, 0);

    struct tg_trace *t;
    char err[256];
    cr_assert_eq(tg_trace_open(path, 0, &t, err, sizeof err), 0, "%s", err);
    uint32_t next[MANY] = { 0 };
    uint64_t last_ts = 0;
    size_t n = 0, races = 0;
    struct tg_ev ev;
    int r;
    while ((r = tg_trace_next(t, &ev)) > 0) {
        n++;
        cr_assert_geq(ev.ts, last_ts);
        last_ts = ev.ts;
        if (ev.kind != TG_EV_MUTEX_ACQ && ev.kind != TG_EV_RACE)
            continue;
        uint32_t i = ev.thread, j = next[i]++;
        cr_assert_lt(i, MANY);
        cr_assert_eq(ev.obj, seq_obj(i, j), "stream %u event %u out of order", i, j);
        if (ev.kind == TG_EV_RACE) {
            races++;
            cr_assert_eq(ev.len, sizeof big);
            const uint8_t *d = ev.data;
            for (size_t k = 0; k < sizeof big; k++)
                cr_assert_eq(d[k], (uint8_t)(i + j), "stream %u payload byte %zu", i, k);
        }
    }
    cr_assert_eq(r, 0);
    cr_assert_eq(n, (size_t)MANY * (PER_STREAM + 2));
    cr_assert_eq(races, (size_t)MANY * (PER_STREAM / 10));
    for (uint32_t i = 0; i < MANY; i++)
        cr_assert_eq(next[i], PER_STREAM);
    tg_trace_close(t);
    unlink(path);
}

/* The creator names its child before the child's THREAD_START (the usual
 * time order when main renames a thread it just created): the name waits
 * for the child. Meanwhile X, a reused pthread_t, still names its previous
 * holder for a join read in between. */
Test(roundtrip, thread_named_before_it_starts)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    cr_assert_eq(tg_writer_open(&w, path, "early", "early"), 0);
    struct tg_stream m, a, b, c;
    tg_stream_init(&m, &w, w.first_thread);
    tg_stream_init(&a, &w, tg_writer_new_thread(&w));
    tg_stream_init(&c, &w, tg_writer_new_thread(&w));
    tg_stream_init(&b, &w, tg_writer_new_thread(&w));
    const uint64_t X = 0x7f00deadb000ull, MAIN = 0x7f0000000100ull, C = 0x7f00cccc0000ull;
    uint64_t tick = tg_tick(w.clock);
    tg_stream_emit1(&m, TG_EV_THREAD_START, 0, MAIN, 0, tick += 10,
                    1 | (uint64_t)TG_NO_THREAD << 32, 0);
    tg_stream_emit1(&a, TG_EV_THREAD_START, 0, X, 0, tick += 10, 2 | (uint64_t)m.owner << 32, 0x1111);
    tg_stream_emit1(&c, TG_EV_THREAD_START, 0, C, 0, tick += 10, 4 | (uint64_t)m.owner << 32, 0x3333);
    tg_stream_emit(&a, TG_EV_THREAD_EXIT, 0, 0, 0, tick += 10);
    tg_stream_emit1(&m, TG_EV_THREAD_CREATE, 0, X, 0, tick += 10, b.owner, 0x2222);
    tg_stream_emit(&c, TG_EV_JOIN_DONE, 0, X, 0, tick += 10);
    tg_stream_emit_var(&m, TG_EV_THREAD_NAME, X, 0, tick += 10, "renamed-by-main", 16);
    tg_stream_emit1(&b, TG_EV_THREAD_START, 0, X, 0, tick += 10, 3 | (uint64_t)m.owner << 32, 0x2222);
    tg_stream_close(&m);
    tg_stream_close(&a);
    tg_stream_close(&b);
    tg_stream_close(&c);
    tg_writer_finish(&w, 0);

    struct tg_trace *t;
    cr_assert_eq(tg_trace_open(path, 0, &t, NULL, 0), 0);
    struct tg_ev ev;
    const struct tg_thread_info *seen_at_join = NULL;
    bool named = false;
    while (tg_trace_next(t, &ev) == 1) {
        if (ev.kind == TG_EV_JOIN_DONE)
            seen_at_join = tg_trace_thread_by_pthread(t, 0, ev.obj);
        if (ev.kind == TG_EV_THREAD_NAME) {
            cr_assert_null(tg_trace_thread(t, b.owner), "named before it started");
            named = true;
        }
    }
    cr_assert(named);
    cr_assert_not_null(seen_at_join);
    cr_expect_eq(seen_at_join->index, a.owner, "a join read after the create is of the old holder");
    const struct tg_thread_info *child = tg_trace_thread(t, b.owner);
    cr_assert_not_null(child);
    cr_expect_str_eq(child->name, "renamed-by-main");
    cr_expect_eq(tg_trace_thread_by_pthread(t, 0, X), child);
    cr_expect_null(tg_trace_thread(t, m.owner)->name, "the caller keeps its own name");
    cr_expect_null(tg_trace_thread(t, a.owner)->name, "the previous holder is not renamed");
    tg_trace_close(t);
}

/* EXEC_FAIL voids the PROCESS_EXIT (exec) before it: the process and its
 * threads live on (a thread that had ended stays ended) until the real
 * exit. */
Test(roundtrip, failed_exec_voids_its_exit)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    cr_assert_eq(tg_writer_open(&w, path, "execfail", "execfail"), 0);
    struct tg_stream m, a, b;
    tg_stream_init(&m, &w, w.first_thread);
    tg_stream_init(&a, &w, tg_writer_new_thread(&w));
    tg_stream_init(&b, &w, tg_writer_new_thread(&w));
    uint64_t tick = tg_tick(w.clock);
    tg_stream_emit1(&m, TG_EV_THREAD_START, 0, 0x7f0000000100ull, 0, tick += 10,
                    1 | (uint64_t)TG_NO_THREAD << 32, 0);
    tg_stream_emit1(&a, TG_EV_THREAD_START, 0, 0x7f00aaaa0000ull, 0, tick += 10,
                    2 | (uint64_t)m.owner << 32, 0x1111);
    tg_stream_emit1(&b, TG_EV_THREAD_START, 0, 0x7f00bbbb0000ull, 0, tick += 10,
                    3 | (uint64_t)m.owner << 32, 0x2222);
    tg_stream_emit(&b, TG_EV_THREAD_EXIT, 0, 0, 0, tick += 10);
    tg_stream_emit1(&m, TG_EV_PROCESS_EXIT, 0, 0, 0, tick += 10, 0, TG_EXIT_EXEC);
    tg_stream_emit1(&m, TG_EV_EXEC_FAIL, 0, 0, 0, tick += 10, ENOENT, 0);
    tg_stream_emit(&a, TG_EV_MUTEX_ACQ, 0, 0x5000, 0, tick += 10);
    tg_stream_emit1(&m, TG_EV_PROCESS_EXIT, 0, 0, 0, tick += 10, 4 << 8, TG_EXIT_NORMAL);
    tg_writer_add_features(&w, TG_FEAT_EXEC_FAIL);
    tg_stream_close(&m);
    tg_stream_close(&a);
    tg_stream_close(&b);
    tg_writer_finish(&w, 4 << 8);

    struct tg_trace *t;
    cr_assert_eq(tg_trace_open(path, 0, &t, NULL, 0), 0);
    struct tg_ev ev;
    uint64_t b_end = 0, exit_ts = 0;
    bool failed = false;
    int r;
    while ((r = tg_trace_next(t, &ev)) == 1) {
        const struct tg_process_info *p = tg_trace_process(t, 0);
        if (ev.kind == TG_EV_THREAD_EXIT)
            b_end = ev.ts;
        if (ev.kind == TG_EV_PROCESS_EXIT && ev.p1 == TG_EXIT_EXEC) {
            cr_expect(p->exited, "an exec's exit ends the process until voided");
            cr_expect_neq(tg_trace_thread(t, a.owner)->end_ts, 0);
        }
        if (ev.kind == TG_EV_EXEC_FAIL) {
            failed = true;
            cr_expect_eq(ev.p0, ENOENT);
            cr_expect_not(p->exited, "the exec failed: the process goes on");
            cr_expect_eq(tg_trace_thread(t, m.owner)->end_ts, 0);
            cr_expect_eq(tg_trace_thread(t, a.owner)->end_ts, 0);
            cr_expect_eq(tg_trace_thread(t, b.owner)->end_ts, b_end, "ended before: stays ended");
        }
        if (ev.kind == TG_EV_PROCESS_EXIT && ev.p1 == TG_EXIT_NORMAL)
            exit_ts = ev.ts;
    }
    cr_assert_eq(r, 0);
    cr_assert(failed);
    const struct tg_process_info *p = tg_trace_process(t, 0);
    cr_expect(p->exited);
    cr_expect_eq(p->exit_status, 4 << 8);
    cr_expect_eq(tg_trace_thread(t, a.owner)->end_ts, exit_ts);
    cr_expect_eq(tg_trace_thread(t, m.owner)->end_ts, exit_ts);
    tg_trace_close(t);
}
