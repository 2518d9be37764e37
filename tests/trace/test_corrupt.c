/* Corruption: a foreign file, a newer version, an unknown feature, a chunk
 * with garbage `used`, bad records, random damage. Each gives an error
 * (open, or next after the events before the damage), never a crash. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

/* events in the trace write_trace makes */
#define EVENTS (2 * 6000 + 2 * 4000 + 2 * 20 + 1)

static char full[PATH_MAX], bad[PATH_MAX + 8];
static uint8_t *image, *copy;
static size_t image_size;

static void write_trace(void)
{
    tmp_trace_path(full, sizeof full);
    snprintf(bad, sizeof bad, "%s.bad", full);
    static struct tg_writer w;
    cr_assert_eq(tg_writer_open(&w, full, "bad", "bad"), 0);
    struct tg_stream s[2];
    tg_stream_init(&s[0], &w, w.first_thread);
    tg_stream_init(&s[1], &w, tg_writer_new_thread(&w));
    uint64_t frames[4] = { 1, 2, 3, 4 };
    uint32_t stack = tg_writer_stack(&w, frames, 4);
    uint64_t tick = tg_tick(w.clock);
    for (uint32_t i = 0; i < 6000; i++)
        for (uint32_t k = 0; k < 2; k++)
            tg_stream_emit(&s[k], TG_EV_MUTEX_ACQ, 0, seq_obj(k, i), stack, tick += 10);
    /* then a loop: short records, and payload records between them
     * (padding), so damage hits every kind of record */
    for (uint32_t i = 0; i < 2000; i++)
        for (uint32_t k = 0; k < 2; k++) {
            tg_stream_emit(&s[k], TG_EV_MUTEX_ACQ, 0, 0x601040 + k * 64, stack, tick += 10);
            tg_stream_emit(&s[k], TG_EV_MUTEX_REL, 0, 0x601040 + k * 64, stack, tick += 10);
            if (i % 100 == 0)
                tg_stream_emit1(&s[k], TG_EV_SLEEP_BEGIN, 0, 0, stack, tick += 10, i, 0);
        }
    tg_stream_emit_var(&s[0], TG_EV_THREAD_NAME, 0, 0, tick += 10, "name", 5);
    tg_stream_close(&s[0]);
    tg_stream_close(&s[1]);
    tg_writer_finish(&w, 0);
    image_size = file_size(full);
    image = malloc(image_size);
    copy = malloc(image_size);
    int fd = open(full, O_RDONLY);
    cr_assert_eq(read(fd, image, image_size), (ssize_t)image_size);
    close(fd);
    memcpy(copy, image, image_size);
}

static struct tg_file_header *hdr(void) { return (void *)copy; }

static struct tg_chunk_header *chunk(uint32_t i)
{
    return (void *)(copy + TG_HEADER_SIZE + (size_t)i * TG_CHUNK_SIZE);
}

static uint32_t first_chunk_of(uint32_t owner)
{
    for (uint32_t i = 0; i < hdr()->chunks_used; i++)
        if (chunk(i)->owner == owner)
            return i;
    cr_assert_fail("no chunk of owner %u", owner);
    return 0;
}

/* Writes the patched copy, opens it, reads it to the end; restores copy. */
static int try_copy(size_t len, char *err, size_t errlen, size_t *events)
{
    int fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, copy, len), (ssize_t)len);
    close(fd);
    memcpy(copy, image, image_size);
    struct tg_trace *t;
    err[0] = '\0';
    *events = 0;
    int rc = tg_trace_open(bad, 0, &t, err, errlen);
    if (rc < 0)
        return rc;
    struct tg_ev ev;
    while ((rc = tg_trace_next(t, &ev)) == 1)
        (*events)++;
    if (rc < 0) {
        cr_assert_eq(tg_trace_next(t, &ev), rc, "errors stick");
        snprintf(err, errlen, "%s", tg_trace_error(t) ? tg_trace_error(t) : "");
    }
    tg_trace_close(t);
    return rc;
}

static int try(char *err, size_t errlen, size_t *events)
{
    return try_copy(image_size, err, errlen, events);
}

#define EXPECT(want, what)                                                         \
    do {                                                                           \
        char err_[200];                                                            \
        size_t n_;                                                                 \
        int rc_ = try(err_, sizeof err_, &n_);                                     \
        cr_assert_eq(rc_, want, "%s: got %d (%s)", what, rc_, err_);               \
        cr_assert_neq(err_[0], '\0', "%s: explained", what);                       \
    } while (0)

Test(corrupt, header)
{
    write_trace();
    copy[0] = 'X';
    EXPECT(TG_TRACE_ENOTTRACE, "bad magic");

    hdr()->version = TG_VERSION + 1;
    hdr()->min_read_version = TG_VERSION + 1;
    char err[200];
    size_t n;
    cr_assert_eq(try(err, sizeof err, &n), TG_TRACE_EVERSION);
    cr_assert_not_null(strstr(err, "newer"), "%s", err);

    hdr()->version = TG_VERSION + 5;   /* newer, but readable by us */
    cr_assert_eq(try(err, sizeof err, &n), 0, "%s", err);
    cr_assert_eq(n, EVENTS);

    hdr()->features |= 1u << 20;
    EXPECT(TG_TRACE_EFEATURE, "unknown feature");
    hdr()->header_size = 8192;
    EXPECT(TG_TRACE_ECORRUPT, "header size");
    hdr()->chunk_size = 4096;
    EXPECT(TG_TRACE_ECORRUPT, "chunk size");
    hdr()->clock = 7;
    EXPECT(TG_TRACE_ECORRUPT, "clock");
    hdr()->next_thread = 0;
    EXPECT(TG_TRACE_ECORRUPT, "owners never allocated");
    hdr()->chunks_used = 1000000000;
    EXPECT(TG_TRACE_ETRUNCATED, "more chunks than the file holds");
}

Test(corrupt, foreign_files)
{
    write_trace();
    memset(copy, 'x', image_size);
    EXPECT(TG_TRACE_ENOTTRACE, "text");
    struct tg_trace *t;
    char err[200];
    cr_assert_eq(tg_trace_open("/nonexistent/trace", 0, &t, err, sizeof err), TG_TRACE_EIO);
    cr_assert_not_null(strstr(err, "No such file"), "%s", err);
    cr_assert_eq(tg_trace_open("/tmp", 0, &t, err, sizeof err), TG_TRACE_EIO);
}

Test(corrupt, chunk_headers)
{
    write_trace();
    uint32_t c0 = first_chunk_of(0);
    chunk(c0)->used = 0xdeadbeef;
    EXPECT(TG_TRACE_ECORRUPT, "garbage used");
    chunk(c0)->used = 17;
    EXPECT(TG_TRACE_ECORRUPT, "used not a whole record");
    chunk(c0)->magic = 0;
    EXPECT(TG_TRACE_ECORRUPT, "chunk magic");
    chunk(c0)->owner = 5000000;
    EXPECT(TG_TRACE_ECORRUPT, "owner");
    chunk(c0)->seq = 3;
    EXPECT(TG_TRACE_ECORRUPT, "sequence");
    chunk(first_chunk_of(TG_META_STREAM))->used = 12;
    EXPECT(TG_TRACE_ECORRUPT, "meta used");
}

Test(corrupt, records_after_good_events)
{
    write_trace();
    uint32_t c0 = first_chunk_of(0);
    struct tg_record *r = (void *)(chunk(c0) + 1);
    r[50].kind = 200;
    char err[200];
    size_t n;
    cr_assert_eq(try(err, sizeof err, &n), TG_TRACE_ECORRUPT);
    cr_assert_geq(n, 50, "the events before the damage stand");
    cr_assert_lt(n, EVENTS);
    cr_assert_not_null(strstr(err, "chunk"), "%s", err);

    r[chunk(c0)->used / 16 - 1].kind = TG_EV_THREAD_NAME;   /* payload past used */
    r[chunk(c0)->used / 16 - 1].arg = 3;
    cr_assert_eq(try(err, sizeof err, &n), TG_TRACE_ECORRUPT, "%s", err);

    r[10].kind = TG_EV_NONE;
    cr_assert_eq(try(err, sizeof err, &n), TG_TRACE_ECORRUPT, "%s", err);

    struct tg_meta *m = (void *)(chunk(first_chunk_of(TG_META_STREAM)) + 1);
    m->size = 3;
    EXPECT(TG_TRACE_ECORRUPT, "meta record size");
    m->size = 0x7ffffff8;
    EXPECT(TG_TRACE_ECORRUPT, "meta record size past used");
}

Test(corrupt, random_damage_never_crashes)
{
    write_trace();
    srand(12345);
    const uint32_t nchunks = hdr()->chunks_used;   /* copy's header gets damaged below */
    const uint32_t used_end = TG_HEADER_SIZE + nchunks * TG_CHUNK_SIZE;
    for (int round = 0; round < 400; round++) {
        int flips = 1 + rand() % 8;
        for (int k = 0; k < flips; k++) {
            size_t off;
            switch (rand() % 3) {
            case 0:  off = (size_t)rand() % 512; break;              /* header fields */
            case 1:  off = TG_HEADER_SIZE + (size_t)(rand() % nchunks) * TG_CHUNK_SIZE
                           + (size_t)rand() % 64; break;              /* chunk headers */
            default: off = (size_t)rand() % used_end; break;          /* anywhere */
            }
            copy[off] ^= (uint8_t)(1 + rand() % 255);
        }
        size_t len = rand() % 4 == 0 ? (size_t)rand() % image_size : image_size;
        char err[200];
        size_t n;
        int rc = try_copy(len, err, sizeof err, &n);
        cr_assert(rc <= 0 && rc >= TG_TRACE_EEMPTY, "round %d: %d", round, rc);
        cr_assert_leq(n, EVENTS + 64, "round %d: %zu events from %d", round, n, EVENTS);
    }
}
