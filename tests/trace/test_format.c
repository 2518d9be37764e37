/* The format's mechanics: TIME records when dt overflows 32 bits, chunk
 * roll-over with payload records at the boundary, LOST records when the
 * file cannot grow, the meta stream, and records never published. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* Counts the records of each kind in the thread chunks, straight from the
 * file, and checks each thread's chunks are in sequence. */
static void raw_kinds(const char *path, uint64_t counts[TG_EV_COUNT], uint32_t *thread_chunks)
{
    size_t size;
    const uint8_t *m = map_file(path, PROT_READ, &size);
    const struct tg_file_header *h = (const void *)m;
    memset(counts, 0, TG_EV_COUNT * sizeof counts[0]);
    *thread_chunks = 0;
    uint32_t seq[256] = {0};
    for (uint32_t i = 0; i < h->chunks_used; i++) {
        const struct tg_chunk_header *c = (const void *)(m + TG_HEADER_SIZE + (size_t)i * TG_CHUNK_SIZE);
        cr_assert_eq(c->magic, TG_CHUNK_MAGIC);
        if (c->owner == TG_META_STREAM)
            continue;
        cr_assert_lt(c->owner, 256);
        cr_assert_eq(c->seq, seq[c->owner]++, "chunks of a thread are in sequence");
        cr_assert_eq(c->closed, 1);
        (*thread_chunks)++;
        const uint8_t *p = (const uint8_t *)(c + 1), *end = p + c->used;
        while (p < end) {
            if (p[0] >= TG_SHORT_TAG) {      /* short records and padding */
                p += p[0] >= TG_TINY_TAG ? 2 : 4;
                continue;
            }
            const struct tg_record *r = (const void *)p;
            cr_assert(r->kind > 0 && r->kind < TG_EV_COUNT);
            counts[r->kind]++;
            unsigned slots = r->kind == TG_EV_THREAD_NAME ? r->arg : r->kind == TG_EV_MUTEX_ACQ ? 0 : 1;
            p += 16 * (1 + slots);
        }
    }
    munmap((void *)m, size);
}

Test(format, time_rebase_and_backward_ticks)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    open_mono(&w, path);
    struct tg_stream s;
    tg_stream_init(&s, &w, w.first_thread);
    uint64_t base = tg_tick(w.clock);
    const uint64_t ticks[] = {
        base, base + 5000000000ull, base + 5000000010ull,
        base + 5000000010ull + (1ull << 32) + 7, base + 20000000000ull,
        base + 19000000000ull,    /* goes back: clamped to the stream's time */
        base + 20000000005ull,
    };
    const size_t n = sizeof ticks / sizeof ticks[0];
    for (size_t i = 0; i < n; i++)
        tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, seq_obj(0, (uint32_t)i), 0, ticks[i]);
    tg_stream_close(&s);
    tg_writer_finish(&w, 0);

    uint64_t counts[TG_EV_COUNT];
    uint32_t chunks;
    raw_kinds(path, counts, &chunks);
    cr_assert_eq(counts[TG_EV_TIME], 3, "one TIME per 32-bit overflow, got %lu", counts[TG_EV_TIME]);

    struct ev_list l;
    cr_assert_eq(read_all(path, &l, NULL), 0);
    cr_assert_eq(l.end, 0);
    cr_assert_eq(l.n, n, "TIME records are consumed, not returned");
    uint64_t t0 = l.ev[0].ts;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(l.ev[i].obj, seq_obj(0, (uint32_t)i));
        uint64_t want = i == 5 ? ticks[4] - ticks[0] : ticks[i] - ticks[0];
        cr_assert_eq(l.ev[i].ts - t0, want, "event %zu at +%lu ns, expected +%lu",
                     i, l.ev[i].ts - t0, want);
    }
    ev_list_free(&l);
}

Test(format, tsc_rebase_keeps_order)
{
#if defined(__x86_64__)
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    setenv("TANGLE_CLOCK", "tsc", 1);
    static struct tg_writer w;
    cr_assert_eq(tg_writer_open(&w, path, "format", "format"), 0);
    cr_assert_eq(w.clock, TG_CLOCK_TSC);
    struct tg_stream s;
    tg_stream_init(&s, &w, w.first_thread);
    uint64_t base = tg_tick(w.clock);
    for (uint32_t i = 0; i < 10; i++)
        tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, seq_obj(0, i), 0, base + i * 3000000000ull);
    tg_stream_close(&s);
    tg_writer_finish(&w, 0);
    struct ev_list l;
    cr_assert_eq(read_all(path, &l, NULL), 0);
    cr_assert_eq(l.n, 10);
    for (uint32_t i = 1; i < 10; i++) {
        cr_assert_eq(l.ev[i].obj, seq_obj(0, i));
        cr_assert_gt(l.ev[i].ts, l.ev[i - 1].ts, "3e9 ticks apart are distinct times");
    }
    ev_list_free(&l);
#endif
}

Test(format, chunk_rollover_with_payloads)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    open_mono(&w, path);
    struct tg_stream s;
    tg_stream_init(&s, &w, w.first_thread);
    const uint32_t n = 3 * 4096 + 777;
    uint64_t tick = tg_tick(w.clock);
    for (uint32_t i = 0; i < n; i++) {
        tick += 3;
        if (i % 7 == 3) {
            char name[40];
            memset(name, 'a' + i % 26, sizeof name);
            name[i % 39 + 1] = '\0';
            tg_stream_emit_var(&s, TG_EV_THREAD_NAME, seq_obj(0, i), 0, tick, name, sizeof name);
        } else if (i % 3 == 0) {
            tg_stream_emit1(&s, TG_EV_SEM_INIT, 0, seq_obj(0, i), 0, tick, i, ~(uint64_t)i);
        } else {
            tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, seq_obj(0, i), 0, tick);
        }
    }
    tg_stream_close(&s);
    tg_writer_finish(&w, 0);

    uint64_t counts[TG_EV_COUNT];
    uint32_t chunks;
    raw_kinds(path, counts, &chunks);
    cr_assert_geq(chunks, 4);

    struct ev_list l;
    cr_assert_eq(read_all(path, &l, NULL), 0);
    cr_assert_eq(l.end, 0);
    cr_assert_eq(l.n, n);
    for (uint32_t i = 0; i < n; i++) {
        const struct tg_ev *e = &l.ev[i];
        cr_assert_eq(e->obj, seq_obj(0, i), "event %u in order", i);
        if (i % 7 == 3) {
            cr_assert_eq(e->kind, TG_EV_THREAD_NAME);
            cr_assert_eq(strlen(e->str), i % 39 + 1);
            cr_assert_eq(e->str[0], 'a' + i % 26);
        } else if (i % 3 == 0) {
            cr_assert_eq(e->kind, TG_EV_SEM_INIT);
            cr_assert_eq(e->p0, i);
            cr_assert_eq(e->p1, ~(uint64_t)i);
        } else {
            cr_assert_eq(e->kind, TG_EV_MUTEX_ACQ);
        }
        if (i)
            cr_assert_eq(e->ts - l.ev[i - 1].ts, 3);
    }
    ev_list_free(&l);
}

/* The file cannot grow (RLIMIT_FSIZE, in a child so the limit stays
 * there): records are counted, then reported in one LOST record once the
 * file can grow again. */
Test(format, lost_records_when_the_file_cannot_grow)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    const uint32_t n1 = 48 * 4096, n2 = 100;    /* n1: more than the first 2 MiB */
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        static struct tg_writer w;
        setenv("TANGLE_CLOCK", "monotonic", 1);
        if (tg_writer_open(&w, path, "lost", "lost") < 0)
            _exit(10);
        struct rlimit lim;
        getrlimit(RLIMIT_FSIZE, &lim);
        struct rlimit cut = { (rlim_t)file_size(path), lim.rlim_max };
        if (setrlimit(RLIMIT_FSIZE, &cut) < 0)
            _exit(11);
        struct tg_stream s;
        tg_stream_init(&s, &w, w.first_thread);
        uint64_t tick = tg_tick(w.clock);
        for (uint32_t i = 0; i < n1; i++)
            tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, seq_obj(0, i), 0, ++tick);
        if (s.lost == 0)
            _exit(12);
        setrlimit(RLIMIT_FSIZE, &lim);
        tick += 1ull << 27;       /* past the retry interval */
        for (uint32_t i = 0; i < n2; i++)
            tg_stream_emit(&s, TG_EV_MUTEX_REL, 0, seq_obj(1, i), 0, ++tick);
        tg_stream_close(&s);
        tg_writer_finish(&w, 0);
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);

    struct ev_list l;
    struct tg_trace *t;
    cr_assert_eq(read_all(path, &l, &t), 0);
    cr_assert_eq(l.end, 0);
    size_t i = 0;
    while (i < l.n && l.ev[i].kind == TG_EV_MUTEX_ACQ) {
        cr_assert_eq(l.ev[i].obj, seq_obj(0, (uint32_t)i));
        i++;
    }
    uint32_t kept = (uint32_t)i;
    cr_assert_lt(kept, n1);
    cr_assert_lt(i, l.n);
    cr_assert_eq(l.ev[i].kind, TG_EV_LOST);
    cr_assert_eq(l.ev[i].p0, n1 - kept, "LOST counts every dropped record");
    i++;
    for (uint32_t j = 0; j < n2; j++, i++) {
        cr_assert_lt(i, l.n);
        cr_assert_eq(l.ev[i].obj, seq_obj(1, j));
    }
    cr_assert_eq(i, l.n);
    struct tg_trace_summary sum;
    tg_trace_summary(t, &sum);
    cr_assert_eq(sum.lost, n1 - kept);
    tg_trace_close(t);
    ev_list_free(&l);
}

Test(format, meta_stream_stacks_across_chunks)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    open_mono(&w, path);
    enum { NSTACKS = 3000 };
    uint64_t frames[64];
    for (uint32_t i = 0; i < NSTACKS; i++) {
        uint32_t n = 1 + i % 64;
        for (uint32_t k = 0; k < n; k++)
            frames[k] = 0x400000 + i * 0x100 + k;
        cr_assert_eq(tg_writer_stack(&w, frames, n), i + 1, "stack ids count from 1");
    }
    struct { struct tg_meta h; uint64_t x; } future = { { .type = 99, .size = 16 }, 42 };
    cr_assert_eq(tg_writer_meta(&w, &future.h), 0);
    struct tg_meta bad = { .type = TG_META_CALIB, .size = 4 };
    cr_assert_eq(tg_writer_meta(&w, &bad), -EINVAL);
    cr_assert_eq(tg_writer_modules(&w), 0, "a rescan records nothing twice");
    struct tg_stream s;
    tg_stream_init(&s, &w, w.first_thread);
    tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, 1, NSTACKS, tg_tick(w.clock));
    tg_stream_close(&s);
    tg_writer_finish(&w, 0);

    struct tg_trace *t;
    char err[200];
    cr_assert_eq(tg_trace_open(path, 0, &t, err, sizeof err), 0, "%s", err);
    struct tg_trace_summary sum;
    tg_trace_summary(t, &sum);
    cr_assert_eq(sum.stacks, NSTACKS);
    cr_assert_geq(sum.chunks, 1 + (NSTACKS * (24 + 32 * 8)) / TG_CHUNK_SIZE);
    for (uint32_t i = 0; i < NSTACKS; i++) {
        const uint64_t *f;
        uint32_t n;
        cr_assert(tg_trace_stack(t, i + 1, &f, &n));
        cr_assert_eq(n, 1 + i % 64);
        cr_assert_eq(f[0], 0x400000 + i * 0x100);
        cr_assert_eq(f[n - 1], 0x400000 + i * 0x100 + n - 1);
    }
    const uint64_t *f;
    uint32_t n;
    cr_assert(!tg_trace_stack(t, 0, &f, &n));
    cr_assert(!tg_trace_stack(t, NSTACKS + 1, &f, &n));

    const struct tg_module_info *mods;
    size_t nmods = tg_trace_modules(t, 0, &mods);
    cr_assert_gt(nmods, 2);
    for (size_t i = 0; i < nmods; i++)
        for (size_t j = i + 1; j < nmods; j++)
            cr_assert(mods[i].base != mods[j].base || strcmp(mods[i].path, mods[j].path) != 0,
                      "module %s recorded once", mods[i].path);
    struct tg_ev ev;
    cr_assert_eq(tg_trace_next(t, &ev), 1);
    cr_assert_eq(ev.stack, NSTACKS);
    cr_assert_eq(tg_trace_next(t, &ev), 0);
    tg_trace_close(t);
}

/* A writer that dies between writing a record and publishing it: only
 * `used` is trusted, whatever lies past it. */
Test(format, unpublished_records_are_not_read)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    open_mono(&w, path);
    struct tg_stream s;
    tg_stream_init(&s, &w, w.first_thread);
    uint64_t tick = tg_tick(w.clock);
    for (uint32_t i = 0; i < 10; i++)
        tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, seq_obj(0, i), 0, tick + i);
    struct tg_record *r = tg_stream_reserve(&s, 1, tick + 20);
    cr_assert_not_null(r);
    tg_record_fill(r, TG_EV_SEM_INIT, 0, 99, 0);   /* no commit: "killed" here */
    memset(s.pos, 0xa5, 64);                       /* garbage past it */

    struct ev_list l;
    cr_assert_eq(read_all(path, &l, NULL), 0);
    cr_assert_eq(l.end, 0);
    cr_assert_eq(l.n, 10);
    cr_assert_eq(l.ev[9].obj, seq_obj(0, 9));
    ev_list_free(&l);
}

Test(format, join_and_reinitialise)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    cr_assert_eq(ftruncate(fd, 8192), 0);   /* zeroes: a creator that died early */
    close(fd);
    static struct tg_writer w1, w2, w3;
    cr_assert_eq(tg_writer_open(&w1, path, "first", "first"), 0);
    cr_assert_eq(w1.process, 0);
    /* the same pid opening again: an exec'd image joining its own trace */
    cr_assert_eq(tg_writer_open(&w2, path, "second", "second --x"), 0);
    cr_assert_eq(w2.process, 1);
    cr_assert_neq(w2.first_thread, w1.first_thread);
    tg_writer_add_features(&w2, TG_FEAT_RACES);
    tg_writer_finish(&w2, 0);

    struct tg_trace *t;
    char err[200];
    cr_assert_eq(tg_trace_open(path, 0, &t, err, sizeof err), 0, "%s", err);
    const struct tg_process_info *p = tg_trace_process(t, 1);
    cr_assert_not_null(p);
    cr_assert(p->exec);
    cr_assert_eq(p->parent, 0);
    cr_assert_str_eq(p->cmdline, "second --x");
    struct tg_trace_summary sum;
    tg_trace_summary(t, &sum);
    cr_assert_str_eq(sum.program, "first");
    cr_assert(sum.features & TG_FEAT_RACES);
    cr_assert(sum.finished);
    tg_trace_close(t);

    char other[PATH_MAX + 8];
    snprintf(other, sizeof other, "%s.txt", path);
    fd = open(other, O_WRONLY | O_CREAT, 0644);
    cr_assert_eq(write(fd, "not a trace, just text that is long enough\n", 43), 43);
    close(fd);
    cr_assert_eq(tg_writer_open(&w3, other, "x", "x"), -EPROTO, "a writer never appends to a foreign file");
    cr_assert_eq(tg_writer_open(&w3, "/nonexistent/dir/t.trace", "x", "x"), -ENOENT);
}

/* Many streams, records interleaved at random with equal ticks here and
 * there: the merge returns them sorted by (time, thread), each stream in
 * its own order. */
Test(format, merge_order_many_streams)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    open_mono(&w, path);
    enum { K = 37, N = 60000 };
    static struct tg_stream s[K];
    for (uint32_t k = 0; k < K; k++)
        tg_stream_init(&s[k], &w, k == 0 ? w.first_thread : tg_writer_new_thread(&w));
    uint32_t next[K] = {0};
    uint64_t tick = tg_tick(w.clock);
    srand(7);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t k = (uint32_t)rand() % (i < N / 2 ? K : 3);   /* then a few streams only */
        tick += (uint64_t)(rand() % 3);                           /* ties */
        tg_stream_emit(&s[k], TG_EV_MUTEX_ACQ, 0, seq_obj(k, next[k]++), 0, tick);
    }
    for (uint32_t k = 0; k < K; k++)
        tg_stream_close(&s[k]);
    tg_writer_finish(&w, 0);

    struct ev_list l;
    cr_assert_eq(read_all(path, &l, NULL), 0);
    cr_assert_eq(l.n, N);
    uint32_t got[K] = {0};
    for (size_t i = 0; i < l.n; i++) {
        const struct tg_ev *e = &l.ev[i];
        if (i) {
            const struct tg_ev *p = &l.ev[i - 1];
            cr_assert(p->ts < e->ts || (p->ts == e->ts && p->thread < e->thread)
                      || (p->ts == e->ts && p->thread == e->thread),
                      "event %zu out of (time, thread) order", i);
        }
        uint32_t k = (uint32_t)(e->obj >> 32) & 0xfff;
        cr_assert_eq(e->obj, seq_obj(k, got[k]));
        got[k]++;
    }
    ev_list_free(&l);
}

/* Short-lived threads: a closed chunk gives back the pages past its
 * records, so each costs a page of disk rather than a 64 KiB chunk: when
 * it closes where the kernel maps the trace in small pages, at the latest
 * when the trace is finished (docs/trace-format.md). */
Test(format, closed_chunks_give_back_their_unused_pages)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    open_mono(&w, path);
    enum { THREADS = 64 };
    for (uint32_t k = 0; k < THREADS; k++) {
        struct tg_stream s;
        tg_stream_init(&s, &w, tg_writer_new_thread(&w));
        for (uint32_t i = 0; i < 5; i++)
            tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, seq_obj(k, i), 0, tg_tick(w.clock));
        tg_stream_close(&s);
    }
    tg_writer_finish(&w, 0);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_geq((uint64_t)st.st_size, (uint64_t)THREADS * TG_CHUNK_SIZE);
    uint64_t disk = (uint64_t)st.st_blocks * 512;
    /* the growth slack is trimmed, the chunks' tails are holes */
    cr_assert_lt(disk, (uint64_t)st.st_size / 4, "%lu bytes on disk for a %lu-byte file",
                 disk, (uint64_t)st.st_size);
    struct ev_list l;
    cr_assert_eq(read_all(path, &l, NULL), 0);
    cr_assert_eq(l.end, 0);
    cr_assert_eq(l.n, THREADS * 5);
    ev_list_free(&l);
}
