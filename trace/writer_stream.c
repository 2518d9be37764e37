/* trace/: a thread's stream, slow path. The fast path (writer.h) lands here
 * when the chunk is full, the time since the base no longer fits a full
 * record's 32-bit dt, or the stream has no chunk yet. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "trace/internal.h"
#include "trace/writer.h"

/* Lost records: after a failed claim, retry when the count doubles (at
 * least every RETRY_MAX records) or RETRY_TICKS after the failure, so a
 * full disk costs a lock and a system call only now and then. */
#define RETRY_MAX   65536u
#define RETRY_TICKS (1ull << 26)

void tg_stream_init(struct tg_stream *s, struct tg_writer *w, uint32_t thread)
{
    memset(s, 0, sizeof *s);
    s->w = w;
    s->owner = thread;
}

/* The stream's first chunk, or the next one. The previous chunk is closed
 * only after its successor is published, so a reader that sees `closed`
 * finds the successor. */
static int claim(struct tg_stream *s, uint64_t tick)
{
    struct tg_writer *w = s->w;
    struct tg_chunk_header *next;
    int rc = tg_writer_lock(w);
    if (rc < 0)
        return rc;
    rc = tg_writer_claim_locked(w, s->owner, s->seq, tick, &next);
    tg_writer_unlock(w);
    if (rc < 0)
        return rc;
    /* Fault the chunk's pages in now, in one call: cheaper than sixteen
     * page faults later on the fast path. Best effort (Linux >= 5.14).
     * Not when a helper has done it already: even a madvise with nothing
     * left to do costs a system call and a page-table walk. */
    uint64_t idx = (uint64_t)((const uint8_t *)next - (const uint8_t *)w->hdr
                              - TG_HEADER_SIZE) / TG_CHUNK_SIZE;
    if (idx >= __atomic_load_n(&w->populated, __ATOMIC_ACQUIRE))
        madvise(next, TG_CHUNK_SIZE, MADV_POPULATE_WRITE);
    if (s->chunk)
        __atomic_store_n(&s->chunk->closed, 1, __ATOMIC_RELEASE);
    s->chunk = next;
    s->pos = (uint8_t *)(next + 1);
    s->end = s->pos + TG_CHUNK_PAYLOAD;
    s->tick_base = tick;
    s->last_tick = tick;
    /* a chunk reads on its own: its first repeat is a full record again */
    memset(s->dict, 0, sizeof s->dict);
    memset(s->mru, 0, sizeof s->mru);
    s->seq++;
    return 0;
}

/* Starts a full record at the next offset aligned for it. */
static struct tg_record *aligned_record(struct tg_stream *s, unsigned nslots)
{
    size_t pad = tg_record_pad(s->pos, nslots);
    memset(s->pos, TG_PAD_TAG, pad);
    s->pos += pad;
    return (struct tg_record *)s->pos;
}

/* A bookkeeping record with one slot: TIME (not an event: the stream's
 * last event stays what it was) or LOST (an event). */
static void put(struct tg_stream *s, unsigned kind, uint64_t tick, uint64_t a, uint64_t b)
{
    struct tg_record *r = aligned_record(s, 1);
    r->dt = (uint32_t)(tick - s->tick_base);
    tg_record_fill(r, kind, 0, 0, 0);
    struct tg_slot p = { a, b };
    memcpy(r + 1, &p, sizeof p);
    s->pos += 2 * sizeof *r;
    if (kind != TG_EV_TIME)
        s->last_tick = tick;
}

struct tg_record *tg_stream_reserve_slow(struct tg_stream *s, unsigned nslots,
                                         uint64_t tick)
{
    if (s->w == NULL || s->w->hdr == NULL || nslots > 255) {
        s->lost++;
        return NULL;
    }
    if (s->chunk && tick < s->tick_base)
        tick = s->tick_base;     /* a stream's times never go back */
    bool rebase = s->chunk && tick - s->tick_base > UINT32_MAX;
    /* the record, a TIME and a LOST record first if due, and up to 6 bytes
     * of padding before each */
    size_t need = (size_t)(1 + nslots) * sizeof(struct tg_record) + 6
                  + (rebase ? 38 : 0) + (s->lost ? 38 : 0);

    if (s->pos == NULL || (size_t)(s->end - s->pos) < need) {
        if (s->lost && s->lost < s->retry_at && tick - s->fail_tick < RETRY_TICKS) {
            s->lost++;
            return NULL;
        }
        if (claim(s, tick) < 0) {
            s->lost++;
            s->retry_at = s->lost + (s->lost < RETRY_MAX ? s->lost : RETRY_MAX);
            s->fail_tick = tick;
            if (s->pos)
                s->end = s->pos;  /* everything through here until space returns */
            return NULL;
        }
        rebase = false;
    }
    if (rebase) {
        uint64_t ns = s->w->clock == TG_CLOCK_TSC ? tg_mono_ns() : tick;
        put(s, TG_EV_TIME, s->tick_base, tick, ns);
        s->tick_base = tick;
        if (s->w->clock == TG_CLOCK_TSC)
            tg_writer_calib(s->w);   /* a long quiet spell: calibrate too */
    }
    if (s->lost) {
        put(s, TG_EV_LOST, tick, s->lost, 0);
        s->lost = 0;
        s->retry_at = 0;
    }
    struct tg_record *r = aligned_record(s, nslots);
    r->dt = (uint32_t)(tick - s->tick_base);
    s->last_tick = tick;
    s->pos = (uint8_t *)r + (size_t)(1 + nslots) * sizeof *r;
    return r;
}

void tg_stream_close(struct tg_stream *s)
{
    if (s->chunk) {
        tg_stream_commit(s);
        __atomic_store_n(&s->chunk->closed, 1, __ATOMIC_RELEASE);
        tg_writer_release_tail(s->w, s->chunk);
    }
    s->chunk = NULL;
    s->pos = s->end = NULL;
}

void tg_stream_emit_var(struct tg_stream *s, unsigned kind, uint64_t obj,
                        uint32_t stack, uint64_t tick, const void *data, size_t len)
{
    if (len > TG_MAX_VAR_SLOTS * sizeof(struct tg_slot))
        len = TG_MAX_VAR_SLOTS * sizeof(struct tg_slot);
    unsigned slots = (unsigned)((len + sizeof(struct tg_slot) - 1) / sizeof(struct tg_slot));
    struct tg_record *r = tg_stream_reserve(s, slots, tick);
    if (r == NULL)
        return;
    tg_record_fill(r, kind, slots, obj, stack);
    uint8_t *payload = (uint8_t *)(r + 1);
    if (len)
        memcpy(payload, data, len);
    memset(payload + len, 0, slots * sizeof(struct tg_slot) - len);
    tg_stream_commit(s);
}
