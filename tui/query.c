/* tui/query.c: reading the model — segments, steps between events, time per
 * state, cells at a zoom level, names. */
#include "tui/model_int.h"

#include <stdio.h>
#include <string.h>

uint64_t tg_tui_model_start(const struct tg_tui_model *m) { return m->start; }
uint64_t tg_tui_model_end(const struct tg_tui_model *m) { return m->now; }
uint64_t tg_tui_model_events(const struct tg_tui_model *m) { return m->events; }
size_t tg_tui_model_nthreads(const struct tg_tui_model *m) { return m->nthr; }
size_t tg_tui_model_nobjects(const struct tg_tui_model *m) { return m->nobj; }
size_t tg_tui_model_nlocks(const struct tg_tui_model *m) { return m->nlk; }
size_t tg_tui_model_nfindings(const struct tg_tui_model *m) { return m->nfind; }

const struct tg_tui_thread *tg_tui_model_thread(const struct tg_tui_model *m, size_t lane)
{
    return lane < m->nthr ? &m->thr[lane]->pub : NULL;
}

uint32_t tg_tui_model_thread_lane(const struct tg_tui_model *m, uint32_t thread_index)
{
    return thread_index < m->nlane_of ? m->lane_of[thread_index] : TG_TUI_NONE;
}

const struct tg_tui_object *tg_tui_model_object(const struct tg_tui_model *m, uint32_t id)
{
    return id < m->nobj ? &m->obj[id]->pub : NULL;
}

uint32_t tg_tui_model_lock_object(const struct tg_tui_model *m, size_t lock)
{
    return lock < m->nlk ? m->lk[lock]->obj : TG_TUI_NONE;
}

const struct tg_tui_finding *tg_tui_model_finding(const struct tg_tui_model *m, size_t i)
{
    return i < m->nfind ? &m->find[i] : NULL;
}

size_t tg_tui_model_memory(const struct tg_tui_model *m)
{
    size_t sum = sizeof *m + m->capthr * sizeof *m->thr + m->nlane_of * sizeof *m->lane_of
                 + m->capobj * sizeof *m->obj + m->nobj * sizeof(struct tg_obj)
                 + m->hcap * sizeof *m->hash + m->caplk * sizeof *m->lk
                 + m->capfind * sizeof *m->find;
    for (size_t i = 0; i < m->nthr; i++) {
        const struct tg_thr *t = m->thr[i];
        sum += sizeof *t + tg_series_memory(&t->ser)
               + t->marks.cap * 13 + t->capheld * sizeof *t->held;
    }
    for (size_t i = 0; i < m->nlk; i++) {
        const struct tg_lk *l = m->lk[i];
        sum += sizeof *l + tg_series_memory(&l->ser)
               + l->marks.cap * 13;
    }
    return sum;
}

/* ---- thread lanes ---- */

void tg_tui_model_seg(const struct tg_tui_model *m, size_t lane, size_t i, struct tg_tui_seg *out)
{
    const struct tg_thr *t = m->thr[lane];
    const struct tg_segpay *p = tg_thr_pay(t, i);

    *out = (struct tg_tui_seg){
        .ts = tg_series_ts(&t->ser, i), .state = t->ser.st[i], .result = (uint8_t)tg_pay_result(p),
        .kind = (uint16_t)tg_pay_kind(p), .timed = tg_pay_timed(p), .shown = tg_pay_shown(p),
        .obj = tg_pay_obj(p), .stack = p->stack,
    };
}

size_t tg_tui_model_seg_at(const struct tg_tui_model *m, size_t lane, uint64_t t)
{
    return tg_series_at(&m->thr[lane]->ser, t);
}

uint64_t tg_tui_model_seg_end(const struct tg_tui_model *m, size_t lane, size_t i)
{
    const struct tg_series *s = &m->thr[lane]->ser;
    return i + 1 < s->n ? tg_series_ts(s, i + 1) : m->now;
}

void tg_tui_model_thread_time(const struct tg_tui_model *m, size_t lane, uint64_t t0,
                              uint64_t t1, uint64_t out[TG_TUI_ST_COUNT])
{
    memset(out, 0, TG_TUI_ST_COUNT * sizeof *out);
    tg_series_time(&m->thr[lane]->ser, t0, t1, m->now, out);
}

size_t tg_tui_model_thread_step(const struct tg_tui_model *m, size_t lane, uint64_t t, int dir)
{
    const struct tg_thr *th = m->thr[lane];
    const struct tg_series *s = &th->ser;

    if (dir > 0) {
        for (size_t i = tg_series_first_from(s, t == UINT64_MAX ? t : t + 1); i < s->n; i++)
            if (tg_pay_kind(tg_thr_pay(th, i)) != TG_EV_NONE)
                return i;
        return SIZE_MAX;
    }
    if (t == 0)
        return SIZE_MAX;
    for (size_t i = tg_series_at(s, t - 1); i != SIZE_MAX; i--)
        if (tg_pay_kind(tg_thr_pay(th, i)) != TG_EV_NONE)
            return i;
    return SIZE_MAX;
}

/* ---- lock lanes ---- */

size_t tg_tui_model_lock_nsegs(const struct tg_tui_model *m, size_t lock)
{
    return m->lk[lock]->ser.n;
}

void tg_tui_model_lockseg(const struct tg_tui_model *m, size_t lock, size_t i,
                          struct tg_tui_lockseg *out)
{
    const struct tg_lk *l = m->lk[lock];
    struct tg_lockpay p = tg_lk_pay(l, i);

    *out = (struct tg_tui_lockseg){
        .ts = tg_series_ts(&l->ser, i), .state = l->ser.st[i], .owner = tg_lp_owner(p),
        .actor = tg_lp_actor(p), .waiters = (uint16_t)tg_lp_waiters(p),
        .holders = (uint16_t)tg_lp_holders(p),
    };
}

size_t tg_tui_model_lockseg_at(const struct tg_tui_model *m, size_t lock, uint64_t t)
{
    return tg_series_at(&m->lk[lock]->ser, t);
}

size_t tg_tui_model_lock_step(const struct tg_tui_model *m, size_t lock, uint64_t t, int dir)
{
    const struct tg_series *s = &m->lk[lock]->ser;

    if (dir > 0) {
        size_t i = tg_series_first_from(s, t == UINT64_MAX ? t : t + 1);
        return i < s->n ? i : SIZE_MAX;
    }
    return t == 0 ? SIZE_MAX : tg_series_at(s, t - 1);
}

void tg_tui_model_lock_time(const struct tg_tui_model *m, size_t lock, uint64_t t0,
                            uint64_t t1, uint64_t out[TG_TUI_LK_COUNT])
{
    memset(out, 0, TG_TUI_LK_COUNT * sizeof *out);
    tg_series_time(&m->lk[lock]->ser, t0, t1, m->now, out);
}

/* ---- cells ---- */

/* Ties between states go to the more telling one. */
static const uint8_t thread_rank[TG_TUI_ST_COUNT] = {
    [TG_TUI_ST_NONE] = 0, [TG_TUI_ST_EXITED] = 1, [TG_TUI_ST_RUN] = 2, [TG_TUI_ST_SLEEP] = 3,
    [TG_TUI_ST_HOLD] = 4, [TG_TUI_ST_WAIT_JOIN] = 5, [TG_TUI_ST_WAIT_BARRIER] = 6,
    [TG_TUI_ST_WAIT_COND] = 7, [TG_TUI_ST_WAIT_SEM] = 8, [TG_TUI_ST_WAIT_LOCK] = 9,
};
static const uint8_t lock_rank[TG_TUI_LK_COUNT] = {
    [TG_TUI_LK_NONE] = 0, [TG_TUI_LK_FREE] = 1, [TG_TUI_LK_SHARED] = 2, [TG_TUI_LK_HELD] = 3,
    [TG_TUI_LK_CONTENDED] = 4,
};

static unsigned dominant(const uint64_t *dur, const uint8_t *rank, unsigned n)
{
    unsigned best = 0;
    for (unsigned k = 1; k < n; k++)
        if (dur[k] > dur[best] || (dur[k] == dur[best] && rank[k] > rank[best]))
            best = k;
    return best;
}

/* A segment of STATE inside [a, b): the one covering a if it is, else the
 * first one after a within a short scan, else the one at the middle. */
static size_t representative(const struct tg_series *s, uint64_t a, uint64_t b, unsigned state,
                             size_t hint)
{
    size_t i = tg_series_at_from(s, a, hint);
    if (i == SIZE_MAX)
        i = 0;
    for (size_t k = i, lim = i + 16; k < s->n && k < lim && tg_series_ts(s, k) < b; k++)
        if (s->st[k] == state)
            return k;
    size_t mid = tg_series_at_from(s, a + (b - a) / 2, i);
    return mid != SIZE_MAX && s->st[mid] == state ? mid : SIZE_MAX;
}

typedef void (*fill_fn)(const struct tg_tui_model *m, size_t lane, size_t seg,
                        struct tg_tui_cell *c);
typedef void (*tag_fill_fn)(uint64_t tag, struct tg_tui_cell *c);

/* A slice spanning at least this many whole blocks of segments (512
 * segments) is binned from the block sums (tg_series_time_coarse): its two
 * partial blocks, counted pro rata to their time inside it, are then at
 * most a fifth of it, and pro rata is close on lanes this busy. Narrower
 * slices are exact. */
#define COARSE_MIN_BLOCKS 8u

struct lane_kind {
    const uint8_t *rank;
    unsigned nstates;
    fill_fn fill;
    tag_fill_fn fill_tag;
};

static void bin(const struct tg_tui_model *m, size_t lane, const struct tg_series *s,
                const struct tg_marks *mk, const struct lane_kind *k,
                uint64_t t0, uint64_t step, struct tg_tui_cell *cells, size_t n)
{
    uint64_t end = m->now;
    uint64_t dur[TG_SERIES_MAXSTATES];
    size_t hint = SIZE_MAX, blk = SIZE_MAX;

    if (step == 0)
        step = 1;
    for (size_t c = 0; c < n; c++) {
        uint64_t a = t0 + c * step, b = a + step;
        struct tg_tui_cell *cell = &cells[c];
        *cell = (struct tg_tui_cell){ .obj = TG_TUI_NONE, .seg = SIZE_MAX };
        if (a > end || (a == end && s->n > 0 && a > s->last) || s->n == 0)
            continue;
        uint64_t bb = b > end ? end : b;
        if (bb <= a)
            bb = a + 1;     /* the last instant of the trace still shows */
        memset(dur, 0, sizeof dur);
        size_t from = hint, blk_end = SIZE_MAX;
        bool coarse = tg_series_time_coarse(s, a, bb, end < bb ? bb : end, COARSE_MIN_BLOCKS,
                                            dur, &blk, &blk_end);
        if (coarse)
            hint = blk_end << TG_SERIES_SHIFT;      /* a segment at or before bb */
        else
            tg_series_time_hint(s, a, bb, end < bb ? bb : end, dur, &hint);
        unsigned d = dominant(dur, k->rank, k->nstates);
        cell->state = (uint8_t)d;
        for (unsigned j = 1; j < k->nstates; j++)
            if (j != d && dur[j] > 0 && (cell->minor == 0 || k->rank[j] > k->rank[cell->minor]))
                cell->minor = (uint8_t)j;
        cell->mark = (uint8_t)tg_marks_in(mk, a, b);
        if (d == 0)
            continue;
        if (coarse) {
            uint64_t tag;
            cell->seg = tg_series_tagged(s, blk, blk_end, d, &tag);
            if (cell->seg != SIZE_MAX)
                k->fill_tag(tag, cell);
            blk = blk_end;
        } else {
            cell->seg = representative(s, a, bb, d, from);
            if (cell->seg != SIZE_MAX)
                k->fill(m, lane, cell->seg, cell);
        }
    }
}

static void fill_thread(const struct tg_tui_model *m, size_t lane, size_t seg,
                        struct tg_tui_cell *c)
{
    c->obj = tg_pay_shown(tg_thr_pay(m->thr[lane], seg));
}

static void fill_thread_tag(uint64_t tag, struct tg_tui_cell *c)
{
    c->obj = (uint32_t)tag;
}

static void fill_lock_pay(struct tg_lockpay p, struct tg_tui_cell *c)
{
    c->obj = tg_lp_owner(p);
    c->count = (uint16_t)tg_lp_waiters(p);
    c->holders = (uint16_t)tg_lp_holders(p);
}

static void fill_lock(const struct tg_tui_model *m, size_t lane, size_t seg,
                      struct tg_tui_cell *c)
{
    fill_lock_pay(tg_lk_pay(m->lk[lane], seg), c);
}

static void fill_lock_tag(uint64_t tag, struct tg_tui_cell *c)
{
    fill_lock_pay((struct tg_lockpay){ tag }, c);
}

static const struct lane_kind thread_lanes = {
    thread_rank, TG_TUI_ST_COUNT, fill_thread, fill_thread_tag,
};
static const struct lane_kind lock_lanes = {
    lock_rank, TG_TUI_LK_COUNT, fill_lock, fill_lock_tag,
};

void tg_tui_model_bin_thread(const struct tg_tui_model *m, size_t lane, uint64_t t0,
                             uint64_t step, struct tg_tui_cell *cells, size_t n)
{
    const struct tg_thr *t = m->thr[lane];
    bin(m, lane, &t->ser, &t->marks, &thread_lanes, t0, step, cells, n);
}

void tg_tui_model_bin_lock(const struct tg_tui_model *m, size_t lock, uint64_t t0,
                           uint64_t step, struct tg_tui_cell *cells, size_t n)
{
    const struct tg_lk *l = m->lk[lock];
    bin(m, lock, &l->ser, &l->marks, &lock_lanes, t0, step, cells, n);
}

/* ---- names ---- */

const char *tg_tui_state_name(unsigned state)
{
    static const char *const names[TG_TUI_ST_COUNT] = {
        "not running", "running", "holding", "waiting for lock", "condition wait",
        "semaphore wait", "barrier wait", "joining", "sleeping", "exited",
    };
    return state < TG_TUI_ST_COUNT ? names[state] : "?";
}

const char *tg_tui_objkind_name(unsigned kind)
{
    static const char *const names[TG_TUI_OBJ_COUNT] = {
        "mutex", "rwlock", "spinlock", "semaphore", "condition", "barrier", "thread", "once",
        "variable",
    };
    return kind < TG_TUI_OBJ_COUNT ? names[kind] : "object";
}

const char *tg_tui_finding_kind_name(unsigned kind)
{
    static const char *const names[] = { "deadlock", "lock-order", "race", "misuse" };
    return kind < sizeof names / sizeof names[0] ? names[kind] : "finding";
}

const char *tg_tui_format_time(uint64_t ns, uint64_t step, bool utf8, char *buf, size_t len)
{
    static const struct { uint64_t ns; const char *utf8, *ascii; } units[] = {
        { 1000000000ull, "s", "s" }, { 1000000ull, "ms", "ms" }, { 1000ull, "µs", "us" },
        { 1ull, "ns", "ns" },
    };
    size_t u = 0;

    if (step == 0)
        step = 1;
    /* the unit of the larger of the value and the step, so a ruler keeps one unit */
    uint64_t scale = ns > step ? ns : step;
    while (u + 1 < sizeof units / sizeof units[0] && scale < units[u].ns)
        u++;
    uint64_t unit = units[u].ns;
    int decimals = 0;
    for (uint64_t q = unit; q > step && decimals < 9 && q > 1; q /= 10)
        decimals++;
    uint64_t whole = ns / unit, frac = ns % unit;
    if (decimals == 0) {
        snprintf(buf, len, "%llu%s", (unsigned long long)(whole + (frac * 2 >= unit)),
                 utf8 ? units[u].utf8 : units[u].ascii);
        return buf;
    }
    uint64_t div = 1;
    for (uint64_t q = unit; q > 1; q /= 10)
        div *= 10;
    for (int k = 0; k < decimals; k++)
        div /= 10;
    /* unit / 10^decimals per printed digit; round half up */
    uint64_t digits = div ? (frac + div / 2) / div : frac;
    uint64_t pow10 = 1;
    for (int k = 0; k < decimals; k++)
        pow10 *= 10;
    if (digits >= pow10) {
        whole++;
        digits -= pow10;
    }
    /* drop trailing zeros so 1.50s reads 1.5s */
    while (decimals > 0 && digits % 10 == 0) {
        digits /= 10;
        decimals--;
    }
    if (decimals == 0)
        snprintf(buf, len, "%llu%s", (unsigned long long)whole, utf8 ? units[u].utf8 : units[u].ascii);
    else
        snprintf(buf, len, "%llu.%0*llu%s", (unsigned long long)whole, decimals,
                 (unsigned long long)digits, utf8 ? units[u].utf8 : units[u].ascii);
    return buf;
}
