/* Short records (format version 2): a record that repeats one its chunk
 * remembers is 2 or 4 bytes. Checked here: what is read back is exactly what was
 * written, whatever mix of repeats, new records, payload records (padding),
 * long gaps (a full record again), TIME rebases and chunk roll-overs (the
 * dictionary starts empty in each chunk); how small a loop's trace is; and
 * that a damaged short record is an error, not a wrong event. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

/* payload slots of each kind, from the table (trace/internal.h is not public) */
static const uint8_t slots_of[TG_EV_COUNT] = {
#define X(name, slots, doc) [TG_EV_##name] = slots,
#include "trace/events.def"
#undef X
};

struct want {
    unsigned kind, arg;
    uint64_t obj, tick, p0;
    uint32_t stack;
};

/* Record kinds in one thread's chunks, straight from the file. */
struct raw_counts { uint64_t tiny, shorts, fulls, pads, bytes; uint32_t chunks; };

static struct raw_counts raw_count(const char *path)
{
    struct raw_counts rc = {0};
    size_t size;
    const uint8_t *m = map_file(path, PROT_READ, &size);
    const struct tg_file_header *h = (const void *)m;
    for (uint32_t i = 0; i < h->chunks_used; i++) {
        const struct tg_chunk_header *c = (const void *)(m + TG_HEADER_SIZE + (size_t)i * TG_CHUNK_SIZE);
        if (c->owner == TG_META_STREAM)
            continue;
        rc.chunks++;
        rc.bytes += c->used;
        const uint8_t *p = (const uint8_t *)(c + 1), *end = p + c->used;
        bool first = true;
        while (p < end) {
            if (p[0] == TG_PAD_TAG) {
                cr_assert_eq(p[1], TG_PAD_TAG, "padding comes in 2-byte units");
                rc.pads++;
                p += 2;
                continue;
            }
            if (p[0] >= TG_SHORT_TAG) {
                cr_assert(!first, "a chunk never starts with a short record");
                bool tiny = p[0] >= TG_TINY_TAG;
                rc.tiny += tiny;
                rc.shorts++;
                p += tiny ? 2 : 4;
                first = false;
                continue;
            }
            cr_assert_eq(((uintptr_t)p - (uintptr_t)(c + 1)) % 4, 0, "full records are 4-aligned");
            const struct tg_record *r = (const void *)p;
            unsigned slots = slots_of[r->kind] == TG_SLOTS_VAR ? r->arg : slots_of[r->kind];
            if (slots)
                cr_assert_eq(((uintptr_t)p - (uintptr_t)(c + 1)) % 8, 0, "payload records are 8-aligned");
            if (r->kind != TG_EV_TIME)
                rc.fulls++;
            first = false;
            p += 16 * (1 + slots);
        }
    }
    munmap((void *)m, size);
    return rc;
}

/* A new trace at PATH (PATH_MAX bytes) with one stream, S, on W. */
static void new_trace(char *path, struct tg_writer *w, struct tg_stream *s)
{
    tmp_trace_path(path, PATH_MAX);
    open_mono(w, path);
    tg_stream_init(s, w, w->first_thread);
}

static uint64_t rnd = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rnd ^= rnd << 13;
    rnd ^= rnd >> 7;
    rnd ^= rnd << 17;
    return rnd;
}

Test(short_records, mixed_stream_reads_back_exactly)
{
    char path[PATH_MAX];
    static struct tg_writer w;
    struct tg_stream s;
    new_trace(path, &w, &s);
    uint64_t frames[2][3] = { { 1, 2, 3 }, { 4, 5, 6 } };
    uint32_t stacks[2] = { tg_writer_stack(&w, frames[0], 3), tg_writer_stack(&w, frames[1], 3) };
    enum { N = 200000 };
    static struct want want[N];
    uint64_t tick = tg_tick(w.clock);
    for (size_t i = 0; i < N; i++) {
        uint64_t r = next_rand();
        /* mostly small steps, now and then past the 24-bit short dt or the
         * 32-bit full dt (a TIME rebase) */
        tick += (r & 0xff) == 0 ? (1ull << 24) + (r >> 40) : (r & 0xfff) == 1 ? 5000000000ull : (r >> 8) % 300;
        struct want *e = &want[i];
        *e = (struct want){ .tick = tick };
        unsigned pick = (unsigned)(r >> 20) % 100;
        if (pick < 90) {                /* a loop over 6 call sites */
            unsigned site = (unsigned)(r >> 28) % 6;
            e->kind = site & 1 ? TG_EV_MUTEX_REL : TG_EV_MUTEX_ACQ;
            e->arg = site & 2 ? TG_ARG(TG_MUTEX_RECURSIVE, 0, 0, 0) : 0;
            e->obj = 0x7f0000001000ull + (site / 2) * 64;
            e->stack = stacks[site & 1];
            tg_stream_emit(&s, e->kind, e->arg, e->obj, e->stack, tick);
        } else if (pick < 96) {         /* something new each time */
            e->kind = TG_EV_MUTEX_TRY;
            e->obj = seq_obj(0, (uint32_t)i);
            e->stack = stacks[0];
            tg_stream_emit(&s, e->kind, 0, e->obj, e->stack, tick);
        } else {                        /* a payload record, after a short one or not */
            e->kind = TG_EV_SLEEP_BEGIN;
            e->obj = 0;
            e->p0 = i;
            tg_stream_emit1(&s, e->kind, 0, 0, 0, tick, i, 0);
        }
    }
    tg_stream_close(&s);
    tg_writer_finish(&w, 0);

    struct raw_counts rc = raw_count(path);
    cr_assert_gt(rc.chunks, 1, "the stream rolls over into new chunks");
    cr_assert_gt(rc.shorts, N / 2, "repeats are short records: %lu of %d", rc.shorts, N);
    cr_assert_gt(rc.tiny, 0, "repeats less than 256 ticks apart are 2 bytes");
    cr_assert_gt(rc.shorts - rc.tiny, 0, "repeats further apart are 4 bytes");
    cr_assert_gt(rc.pads, 0, "some full records needed padding");
    cr_assert_eq(rc.shorts + rc.fulls, N, "every event is one record");

    struct ev_list l;
    cr_assert_eq(read_all(path, &l, NULL), 0);
    cr_assert_eq(l.end, 0);
    cr_assert_eq(l.n, (size_t)N);
    for (size_t i = 0; i < N; i++) {
        const struct tg_ev *ev = &l.ev[i];
        const struct want *e = &want[i];
        cr_assert_eq(ev->kind, e->kind, "event %zu kind", i);
        cr_assert_eq(ev->arg, e->arg, "event %zu arg", i);
        cr_assert_eq(ev->obj, e->obj, "event %zu obj", i);
        cr_assert_eq(ev->stack, e->stack, "event %zu stack %u, expected %u", i, ev->stack, e->stack);
        cr_assert_eq(ev->p0, e->p0, "event %zu payload", i);
        cr_assert_eq(ev->ts - l.ev[0].ts, e->tick - want[0].tick, "event %zu time", i);
    }
    ev_list_free(&l);
}

/* The loop of a lock-heavy program: a lock+unlock pair at one site costs 4
 * bytes once its two records are remembered. (These two records fall in
 * the same dictionary set: a direct-mapped dictionary would make every
 * one of them a full record.) */
Test(short_records, a_repeated_pair_is_four_bytes)
{
    char path[PATH_MAX];
    static struct tg_writer w;
    struct tg_stream s;
    new_trace(path, &w, &s);
    uint64_t tick = tg_tick(w.clock);
    enum { PAIRS = 100000 };
    for (int i = 0; i < PAIRS; i++) {
        tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, 0x601040, 7, tick += 20);
        tg_stream_emit(&s, TG_EV_MUTEX_REL, 0, 0x601040, 8, tick += 15);
    }
    tg_stream_close(&s);
    tg_writer_finish(&w, 0);
    struct raw_counts rc = raw_count(path);
    double per_pair = (double)rc.bytes / PAIRS;
    cr_assert_lt(per_pair, 4.1, "%.2f bytes per pair", per_pair);
    cr_assert_eq(rc.fulls, 2u * rc.chunks, "one full record per site and chunk");
    struct ev_list l;
    cr_assert_eq(read_all(path, &l, NULL), 0);
    cr_assert_eq(l.n, 2u * PAIRS);
    for (size_t i = 0; i < l.n; i++)
        cr_assert_eq(l.ev[i].stack, i % 2 ? 8u : 7u);
    ev_list_free(&l);
}

/* Damage to the fifth short record: a slot nothing was remembered in, or
 * a first byte no record has, stops the read with an error after the good
 * events. */
static void damaged(uint8_t tag, const char *expect)
{
    char path[PATH_MAX], bad[PATH_MAX + 8];
    static struct tg_writer w;
    struct tg_stream s;
    new_trace(path, &w, &s);
    snprintf(bad, sizeof bad, "%s.bad", path);
    uint64_t tick = tg_tick(w.clock);
    for (int i = 0; i < 40; i++)
        tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, 0x601040, 7, tick += 20);
    tg_stream_close(&s);
    tg_writer_finish(&w, 0);
    size_t size = file_size(path);
    copy_file(path, bad, size);
    uint8_t *m = map_file(bad, PROT_READ | PROT_WRITE, &size);
    const struct tg_file_header *h = (const void *)m;
    uint8_t *rec = NULL;
    for (uint32_t i = 0; i < h->chunks_used && rec == NULL; i++) {
        struct tg_chunk_header *c = (void *)(m + TG_HEADER_SIZE + (size_t)i * TG_CHUNK_SIZE);
        if (c->owner != TG_META_STREAM)
            rec = (uint8_t *)(c + 1) + 16 + 4 * 2;   /* after 4 two-byte ones */
    }
    cr_assert_not_null(rec);
    cr_assert_geq(rec[0], TG_SHORT_TAG);
    rec[0] = tag;
    munmap(m, size);
    struct ev_list l;
    struct tg_trace *t = NULL;
    cr_assert_eq(read_all(bad, &l, &t), 0);
    cr_assert_eq(l.n, 5, "the events before the damage are read (%zu)", l.n);
    cr_assert_eq(l.end, TG_TRACE_ECORRUPT);
    cr_assert(strstr(tg_trace_error(t), expect), "error: %s", tg_trace_error(t));
    tg_trace_close(t);
    ev_list_free(&l);
}

Test(short_records, damaged_short_records_are_errors)
{
    damaged(TG_TINY_TAG | 33, "never remembered");
    damaged(0, "no known kind");
}

/* Threads taking turns in bursts of short records, as in a lock loop under
 * contention: the merge hands a burst out as a run (trace/merge.c) and
 * must stop it exactly where another stream's record comes first, also at
 * equal ticks (the lower thread first), over chunk roll-overs. Every event
 * comes back once, each stream in its order, all in (tick, thread) order. */
Test(short_records, bursts_of_three_threads_merge_in_order)
{
    char path[PATH_MAX];
    static struct tg_writer w;
    enum { T = 3, N = 300000 };
    static struct tg_stream s[T];
    tmp_trace_path(path, sizeof path);
    open_mono(&w, path);
    uint32_t thread[T];
    for (unsigned k = 0; k < T; k++) {
        thread[k] = k == 0 ? w.first_thread : tg_writer_new_thread(&w);
        tg_stream_init(&s[k], &w, thread[k]);
    }
    static struct want want[T][N];
    size_t n[T] = { 0 };
    uint64_t tick = tg_tick(w.clock), clock[T];
    for (unsigned k = 0; k < T; k++)
        clock[k] = tick;
    size_t total = 0;
    while (total < (size_t)T * N - 1000) {
        uint64_t r = next_rand();
        unsigned k = (unsigned)(r % T);
        /* a burst: 1 to 400 records, ticks 0-3 apart (many ties across
         * threads), starting at or a little after the others' clock */
        size_t len = 1 + (r >> 8) % 400;
        uint64_t at = tick - (r >> 20) % 3;
        if (at < clock[k])
            at = clock[k];
        for (size_t i = 0; i < len && n[k] < N; i++, total++) {
            struct want *e = &want[k][n[k]++];
            unsigned site = (unsigned)(next_rand() >> 33) % 4;
            *e = (struct want){ .kind = site & 1 ? TG_EV_MUTEX_REL : TG_EV_MUTEX_ACQ,
                                .obj = 0x7f0000002000ull + (site / 2) * 64, .tick = at };
            tg_stream_emit(&s[k], e->kind, 0, e->obj, 0, at);
            clock[k] = at;
            at += next_rand() % 4;
        }
        if (at > tick)
            tick = at;
    }
    for (unsigned k = 0; k < T; k++)
        tg_stream_close(&s[k]);
    tg_writer_finish(&w, 0);
    cr_assert_gt(raw_count(path).tiny, total / 2, "the bursts are short records");

    struct ev_list l;
    cr_assert_eq(read_all(path, &l, NULL), 0);
    cr_assert_eq(l.end, 0);
    cr_assert_eq(l.n, total);
    size_t got[T] = { 0 };
    uint64_t tick0 = 0;           /* monotonic clock: ticks are ns from it */
    for (size_t i = 0; i < l.n; i++) {
        const struct tg_ev *ev = &l.ev[i];
        unsigned k = 0;
        while (k < T && thread[k] != ev->thread)
            k++;
        cr_assert_lt(k, T, "event %zu: thread %u", i, ev->thread);
        if (i == 0)
            tick0 = want[k][0].tick - ev->ts;
        cr_assert_lt(got[k], n[k]);
        const struct want *e = &want[k][got[k]++];
        cr_assert_eq(ev->kind, e->kind, "event %zu kind", i);
        cr_assert_eq(ev->obj, e->obj, "event %zu obj", i);
        cr_assert_eq(ev->ts + tick0, e->tick, "event %zu time", i);
        if (i > 0) {
            const struct tg_ev *p = &l.ev[i - 1];
            cr_assert(p->ts < ev->ts || (p->ts == ev->ts && p->thread <= ev->thread),
                      "event %zu (thread %u at %lu) after thread %u at %lu", i, ev->thread,
                      (unsigned long)ev->ts, p->thread, (unsigned long)p->ts);
        }
    }
    ev_list_free(&l);
}
