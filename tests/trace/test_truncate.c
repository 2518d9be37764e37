/* Truncation at every interesting size: inside the header, inside a chunk
 * header, inside a record. Each gives a clear error, or the events before
 * the damage (in time: what every stream still has) followed by
 * TG_TRACE_ETRUNCATED. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define PER_THREAD 9000        /* three chunks of 16-byte records each */

static char full[PATH_MAX], cut[PATH_MAX + 8];
static uint8_t *image;
static size_t image_size;
static uint64_t first_tick;    /* thread K's record J has tick first_tick + 10 (2J + K + 1) */

static uint64_t tick_of(uint32_t k, uint32_t j)
{
    return first_tick + 10u * (2u * (uint64_t)j + k + 1);
}

static void write_trace(void)
{
    tmp_trace_path(full, sizeof full);
    snprintf(cut, sizeof cut, "%s.cut", full);
    static struct tg_writer w;
    cr_assert_eq(tg_writer_open(&w, full, "cut", "cut"), 0);
    struct tg_stream s[2];
    tg_stream_init(&s[0], &w, w.first_thread);
    tg_stream_init(&s[1], &w, tg_writer_new_thread(&w));
    uint64_t tick = first_tick = tg_tick(w.clock);
    for (uint32_t i = 0; i < PER_THREAD; i++)
        for (uint32_t k = 0; k < 2; k++)
            tg_stream_emit(&s[k], TG_EV_MUTEX_ACQ, 0, seq_obj(k, i), 0, tick += 10);
    tg_stream_close(&s[0]);
    tg_stream_close(&s[1]);
    tg_writer_finish(&w, 0);

    image_size = file_size(full);
    image = malloc(image_size);
    int fd = open(full, O_RDONLY);
    cr_assert_eq(read(fd, image, image_size), (ssize_t)image_size);
    close(fd);
}

static const struct tg_chunk_header *chunk(uint32_t i)
{
    return (const void *)(image + TG_HEADER_SIZE + (size_t)i * TG_CHUNK_SIZE);
}

/* Events each thread keeps when the file is cut at LEN, and whether the cut
 * removes anything published. A cut trace is read up to its damage: the
 * first chunk past the file's end was claimed after the last whole one's
 * first record, and a stream that ran out without its thread ending (here:
 * every stream, closed without THREAD_EXIT) may have lost records after
 * its last one; nobody's records after the earliest of those are kept. */
static void expected(size_t len, uint32_t keep[2], bool *lost)
{
    const struct tg_file_header *h = (const void *)image;
    keep[0] = keep[1] = 0;
    *lost = false;
    bool cut_stream[2] = { false, false };
    uint64_t damage = UINT64_MAX;
    for (uint32_t i = 0; i < h->chunks_used; i++) {
        const struct tg_chunk_header *c = chunk(i);
        size_t off = TG_HEADER_SIZE + (size_t)i * TG_CHUNK_SIZE;
        if (off + sizeof *c + c->used > len)
            *lost = true;
        if (off + sizeof *c > len && i > 0 && damage == UINT64_MAX)
            damage = chunk(i - 1)->tick_base;
        if (c->owner == TG_META_STREAM)
            continue;
        uint32_t k = c->owner & 1;   /* thread indices 0 and 1 */
        if (cut_stream[k] || off + sizeof *c > len) {
            cut_stream[k] = true;
            continue;
        }
        size_t avail = len - off - sizeof *c;
        keep[k] += (uint32_t)((avail < c->used ? avail : c->used) / 16);
        if (avail < c->used)
            cut_stream[k] = true;
    }
    if (!*lost)
        return;
    for (uint32_t k = 0; k < 2; k++)
        if (keep[k] > 0 && tick_of(k, keep[k] - 1) < damage)
            damage = tick_of(k, keep[k] - 1);
    for (uint32_t k = 0; k < 2; k++)
        while (keep[k] > 0 && tick_of(k, keep[k] - 1) > damage)
            keep[k]--;
}

static void check_cut(size_t len)
{
    copy_file(full, cut, len);
    struct tg_trace *t;
    char err[200] = "";
    int rc = tg_trace_open(cut, 0, &t, err, sizeof err);
    cr_assert_eq(rc, 0, "cut at %zu: %s", len, err);
    uint32_t keep[2], got[2] = { 0, 0 };
    bool lost;
    expected(len, keep, &lost);
    struct tg_ev ev;
    while ((rc = tg_trace_next(t, &ev)) == 1) {
        uint32_t k = ev.thread & 1;
        cr_assert_eq(ev.obj, seq_obj(k, got[k]), "cut at %zu: thread %u event %u", len, k, got[k]);
        got[k]++;
    }
    cr_assert_eq(got[0], keep[0], "cut at %zu: thread 0 keeps %u, got %u", len, keep[0], got[0]);
    cr_assert_eq(got[1], keep[1], "cut at %zu: thread 1 keeps %u, got %u", len, keep[1], got[1]);
    if (lost) {
        cr_assert_eq(rc, TG_TRACE_ETRUNCATED, "cut at %zu: %d", len, rc);
        cr_assert_not_null(tg_trace_error(t));
        cr_assert_not_null(strstr(tg_trace_error(t), "truncated"));
        cr_assert_eq(tg_trace_next(t, &ev), TG_TRACE_ETRUNCATED, "it stays an error");
        struct tg_trace_summary sum;
        tg_trace_summary(t, &sum);
        cr_assert(sum.truncated);
    } else {
        cr_assert_eq(rc, 0, "cut at %zu past the data: %d", len, rc);
    }
    tg_trace_close(t);
}

Test(truncate, inside_the_header)
{
    write_trace();
    const struct { size_t len; int err; } cases[] = {
        { 0, TG_TRACE_EEMPTY }, { 1, TG_TRACE_ETRUNCATED }, { 5, TG_TRACE_ETRUNCATED },
        { 8, TG_TRACE_ETRUNCATED }, { 100, TG_TRACE_ETRUNCATED },
        { TG_HEADER_SIZE - 1, TG_TRACE_ETRUNCATED },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        copy_file(full, cut, cases[i].len);
        struct tg_trace *t = (void *)1;
        char err[200] = "";
        int rc = tg_trace_open(cut, 0, &t, err, sizeof err);
        cr_assert_eq(rc, cases[i].err, "cut at %zu: %d (%s)", cases[i].len, rc, err);
        cr_assert_null(t);
        cr_assert_neq(err[0], '\0', "an explanation");
    }
}

Test(truncate, at_every_chunk_boundary_and_inside_records)
{
    write_trace();
    const struct tg_file_header *h = (const void *)image;
    cr_assert_geq(h->chunks_used, 7, "meta + 3 chunks per thread");
    cr_assert_eq(image_size, TG_HEADER_SIZE + (size_t)h->chunks_used * TG_CHUNK_SIZE,
                 "the root's finish gives back the space no chunk uses");
    check_cut(TG_HEADER_SIZE);
    check_cut(TG_HEADER_SIZE + 1);
    for (uint32_t i = 0; i < h->chunks_used; i++) {
        size_t off = TG_HEADER_SIZE + (size_t)i * TG_CHUNK_SIZE;
        const struct tg_chunk_header *c = chunk(i);
        const size_t at[] = { off + 32, off + 64, off + 64 + 8, off + 64 + 16 * 100 + 4,
                              off + 64 + c->used - 8, off + 64 + c->used };
        for (size_t k = 0; k < sizeof at / sizeof at[0]; k++)
            if (at[k] <= image_size)
                check_cut(at[k]);
    }
    check_cut(image_size - 1);
    check_cut(image_size);
}

Test(truncate, zero_header_is_empty)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    cr_assert_eq(ftruncate(fd, 2 * TG_HEADER_SIZE), 0);
    close(fd);
    struct tg_trace *t;
    cr_assert_eq(tg_trace_open(path, 0, &t, NULL, 0), TG_TRACE_EEMPTY);
}
