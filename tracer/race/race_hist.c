/* tracer/race/: what each slot did lately, so that a race report can say
 * where the *earlier* access was made, with its stack and the locks its
 * thread held — the cell itself only keeps (slot, epoch, bytes).
 *
 * A slot's history is a ring of 2^16 16-byte records: accesses that were
 * stored in the shadow (an access repeated within an epoch is not), function
 * entries and exits, lock and unlock, epoch changes. The ring is cut into 16
 * segments; starting a segment snapshots the thread's stack, locks and epoch,
 * so any segment can be replayed on its own. Only the slot's owner writes;
 * a reporting thread reads, and checks afterwards that the segment it
 * replayed was not overwritten meanwhile.
 */
#include <string.h>

#include "tracer/race/race.h"

#define HIST_N    (1u << HIST_SHIFT)
#define SEG_N     (1u << HIST_SEG_SHIFT)
#define LOW48     ((1ull << 48) - 1)

static struct race_hist *hists[TG_HB_MAX_SLOTS];

struct race_hist *race_hist_for_slot(uint32_t slot)
{
    struct race_hist *h = __atomic_load_n(&hists[slot], __ATOMIC_ACQUIRE);
    if (h != NULL)
        return h;
    h = tg_hb_alloc(sizeof *h);          /* its own NORESERVE mapping */
    if (h == NULL)
        return NULL;
    struct race_hist *none = NULL;
    if (!__atomic_compare_exchange_n(&hists[slot], &none, h, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        tg_hb_free(h, sizeof *h);
        return none;
    }
    return h;
}

void race_hist_put_slow(struct race_thread *t, uint64_t a, uint64_t b)
{
    struct race_hist *h = t->hist;
    uint64_t pos = h->pos;
    if ((pos & (SEG_N - 1)) == 0) {
        struct race_hist_seg *s = &h->seg[(pos >> HIST_SEG_SHIFT) & (HIST_SEGS - 1)];
        s->epoch = t->hb.epoch;
        s->depth = t->depth;
        uint32_t n = t->depth < HIST_SNAP_FRAMES ? t->depth : HIST_SNAP_FRAMES;
        memcpy(s->frames, t->stack, n * sizeof s->frames[0]);
        s->nheld = t->nheld;
        memcpy(s->held, t->held, t->nheld * sizeof s->held[0]);
    }
    struct race_hist_ev *e = &h->ev[pos & (HIST_N - 1)];
    e->a = a;
    e->b = b;
    __atomic_store_n(&h->pos, pos + 1, __ATOMIC_RELEASE);
}

/* The replay state of one segment. */
struct replay {
    uint64_t epoch;
    uint32_t depth;
    uint64_t frames[RACE_STACK_MAX];
    uint32_t nheld;
    struct race_held held[RACE_LOCKS_MAX];
};

static void replay_lock(struct replay *r, uint64_t addr, bool read)
{
    for (uint32_t i = 0; i < r->nheld; i++)
        if (r->held[i].addr == addr) {
            r->held[i].count++;
            return;
        }
    if (r->nheld < RACE_LOCKS_MAX)
        r->held[r->nheld++] = (struct race_held){ .addr = addr, .count = 1, .read = read };
}

static void replay_unlock(struct replay *r, uint64_t addr)
{
    for (uint32_t i = 0; i < r->nheld; i++)
        if (r->held[i].addr == addr) {
            if (--r->held[i].count == 0)
                r->held[i] = r->held[--r->nheld];
            return;
        }
}

static void capture(const struct replay *r, uint64_t pc, struct race_prev *out)
{
    out->found = true;
    out->pc = pc;
    out->nframes = 0;
    out->frames[out->nframes++] = pc;
    uint32_t d = r->depth < RACE_STACK_MAX ? r->depth : RACE_STACK_MAX;
    while (d > 0 && out->nframes < RACE_REPORT_FRAMES) {
        uint64_t f = r->frames[--d];
        if (f - race_g.self_lo >= race_g.self_hi - race_g.self_lo)
            out->frames[out->nframes++] = f;
    }
    out->nheld = r->nheld;
    memcpy(out->held, r->held, r->nheld * sizeof r->held[0]);
}

static bool overlaps(uint64_t addr, uint64_t size, uintptr_t granule, unsigned mask)
{
    unsigned off = tg_hb_cell_offset(mask), len = (unsigned)__builtin_popcount(mask);
    uint64_t lo = granule + off, hi = lo + len;
    return addr < hi && addr + size > lo;
}

/* Replays the segment starting at ring position START (up to END); true if
 * the access was found (the last match of the segment is kept). */
static bool replay_segment(const struct race_hist *h, uint64_t start, uint64_t end,
                           uintptr_t granule, tg_hb_cell cell, struct race_prev *out)
{
    static RACE_TLS struct replay r;     /* 2 KiB: not on a deep user stack */
    const struct race_hist_seg *s = &h->seg[(start >> HIST_SEG_SHIFT) & (HIST_SEGS - 1)];
    r.epoch = s->epoch;
    r.depth = s->depth;
    uint32_t n = s->depth < HIST_SNAP_FRAMES ? s->depth : HIST_SNAP_FRAMES;
    memcpy(r.frames, s->frames, n * sizeof r.frames[0]);
    r.nheld = s->nheld < RACE_LOCKS_MAX ? s->nheld : RACE_LOCKS_MAX;
    memcpy(r.held, s->held, r.nheld * sizeof r.held[0]);

    uint64_t want_epoch = tg_hb_cell_epoch(cell);
    unsigned want_flags = (tg_hb_cell_write(cell) ? RACE_WRITE : 0)
                        | (tg_hb_cell_atomic(cell) ? RACE_ATOMIC : 0);
    unsigned mask = tg_hb_cell_mask(cell);
    bool found = false;
    for (uint64_t p = start; p < end; p++) {
        const struct race_hist_ev *e = &h->ev[p & (HIST_N - 1)];
        uint64_t a = e->a, b = e->b;
        switch (a >> 60) {
        case HIST_ACCESS:
            if (r.epoch == want_epoch && ((a >> 56) & 3u) == want_flags
                && overlaps(a & LOW48, (a >> 48) & 0xff, granule, mask)) {
                capture(&r, b, out);
                found = true;
            }
            break;
        case HIST_RANGE:
            if (p + 1 < end) {
                uint64_t len = h->ev[(p + 1) & (HIST_N - 1)].a & ((1ull << 60) - 1);
                if (r.epoch == want_epoch && ((a >> 56) & 3u) == want_flags
                    && overlaps(a & LOW48, len, granule, mask)) {
                    capture(&r, b, out);
                    found = true;
                }
                p++;
            }
            break;
        case HIST_FUNC_ENTRY:
            if (r.depth < RACE_STACK_MAX)
                r.frames[r.depth] = b;
            r.depth++;
            break;
        case HIST_FUNC_EXIT:
            if (r.depth > 0)
                r.depth--;
            break;
        case HIST_EPOCH:
            r.epoch = a & ((1ull << 60) - 1);
            break;
        case HIST_LOCK:
            replay_lock(&r, a & LOW48, (a >> 59) & 1);
            break;
        case HIST_UNLOCK:
            replay_unlock(&r, a & LOW48);
            break;
        default:
            break;
        }
    }
    return found;
}

void race_hist_find(uint32_t slot, uintptr_t granule, tg_hb_cell cell, struct race_prev *out)
{
    memset(out, 0, sizeof *out);
    const struct race_hist *h = __atomic_load_n(&hists[slot], __ATOMIC_ACQUIRE);
    if (h == NULL)
        return;
    uint64_t pos = __atomic_load_n(&h->pos, __ATOMIC_ACQUIRE);
    /* the oldest segment may be being overwritten right now: skip it */
    uint64_t oldest = pos > HIST_N - SEG_N ? pos - (HIST_N - SEG_N) : 0;
    oldest = (oldest + SEG_N - 1) & ~(uint64_t)(SEG_N - 1);
    uint64_t want_epoch = tg_hb_cell_epoch(cell);
    if (pos == 0)
        return;
    for (uint64_t start = (pos - 1) & ~(uint64_t)(SEG_N - 1);; start -= SEG_N) {
        if (start < oldest)
            break;
        uint64_t end = start + SEG_N < pos ? start + SEG_N : pos;
        const struct race_hist_seg *s = &h->seg[(start >> HIST_SEG_SHIFT) & (HIST_SEGS - 1)];
        uint64_t seg_epoch = __atomic_load_n(&s->epoch, __ATOMIC_RELAXED);
        if (seg_epoch <= want_epoch && replay_segment(h, start, end, granule, cell, out)) {
            uint64_t now = __atomic_load_n(&h->pos, __ATOMIC_ACQUIRE);
            if (now > start + HIST_N - SEG_N)
                memset(out, 0, sizeof *out);   /* overwritten while we read it */
            return;
        }
        if (seg_epoch < want_epoch || start == 0)
            break;                          /* the access is not older than this */
    }
}
