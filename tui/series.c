/* tui/series.c: segment arrays with block prefix sums (see series.h). */
#include "tui/series.h"
#include "tui/vec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tg_series_init(struct tg_series *s, unsigned nstates)
{
    memset(s, 0, sizeof *s);
    s->nstates = nstates;
}

void tg_series_free(struct tg_series *s)
{
    tg_vec_free(s->dt, s->capdt, sizeof *s->dt);
    tg_vec_free(s->st, s->capst, sizeof *s->st);
    tg_vec_free(s->base, s->capbase, sizeof *s->base);
    tg_vec_free(s->cum, s->capcum, sizeof *s->cum);
    free(s->wide);
    memset(s, 0, sizeof *s);
}

void tg_series_shrink(struct tg_series *s)
{
    tg_vec_shrink((void **)&s->dt, &s->capdt, s->n, sizeof *s->dt);
    tg_vec_shrink((void **)&s->st, &s->capst, s->n, sizeof *s->st);
    tg_vec_shrink((void **)&s->base, &s->capbase, (s->n + TG_SERIES_BLOCK - 1) / TG_SERIES_BLOCK,
                  sizeof *s->base);
    tg_vec_shrink((void **)&s->cum, &s->capcum, s->ncum * s->nstates, sizeof *s->cum);
}

uint64_t tg_series_wide_ts(const struct tg_series *s, size_t i)
{
    size_t lo = 0, hi = s->nwide;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->wide[mid].i < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nwide && s->wide[lo].i == i ? s->wide[lo].ts : s->base[i >> TG_SERIES_SHIFT];
}

/* Brings cum[] up to date: entry b needs every segment below b*BLOCK closed,
 * i.e. segment b*BLOCK must exist. */
static int series_seal(struct tg_series *s)
{
    unsigned ns = s->nstates;

    if (s->ncum == 0) {
        if (tg_vec_grow((void **)&s->cum, &s->capcum, ns, sizeof(uint64_t)) < 0)
            return -ENOMEM;
        memset(s->cum, 0, ns * sizeof(uint64_t));
        s->ncum = 1;
    }
    while (s->ncum * TG_SERIES_BLOCK < s->n) {
        size_t b = s->ncum;
        if (tg_vec_grow((void **)&s->cum, &s->capcum, (b + 1) * ns, sizeof(uint64_t)) < 0)
            return -ENOMEM;
        uint64_t *prev = s->cum + (b - 1) * ns, *cur = s->cum + b * ns;
        memcpy(cur, prev, ns * sizeof(uint64_t));
        uint64_t t = tg_series_ts(s, (b - 1) * TG_SERIES_BLOCK);
        for (size_t i = (b - 1) * TG_SERIES_BLOCK; i < b * TG_SERIES_BLOCK; i++) {
            uint64_t next = tg_series_ts(s, i + 1);
            cur[s->st[i]] += next - t;
            t = next;
        }
        s->ncum = b + 1;
    }
    return 0;
}

size_t tg_series_push(struct tg_series *s, uint64_t ts, unsigned state)
{
    size_t i = s->n, b = i >> TG_SERIES_SHIFT;

    if (tg_vec_grow((void **)&s->dt, &s->capdt, i + 1, sizeof *s->dt) < 0
        || tg_vec_grow((void **)&s->st, &s->capst, i + 1, sizeof *s->st) < 0
        || tg_vec_grow((void **)&s->base, &s->capbase, b + 1, sizeof *s->base) < 0)
        return SIZE_MAX;
    if (i > 0 && ts < s->last)
        ts = s->last;
    if ((i & (TG_SERIES_BLOCK - 1)) == 0)
        s->base[b] = ts;
    uint64_t d = ts - s->base[b];
    if (d >= TG_SERIES_WIDE) {
        if (s->nwide == s->capwide) {
            size_t cap = s->capwide ? s->capwide * 2 : 16;
            struct tg_series_wide *w = realloc(s->wide, cap * sizeof *w);
            if (w == NULL)
                return SIZE_MAX;
            s->wide = w;
            s->capwide = cap;
        }
        s->wide[s->nwide++] = (struct tg_series_wide){ i, ts };
        d = TG_SERIES_WIDE;
    }
    s->dt[i] = (uint32_t)d;
    s->st[i] = (uint8_t)(state < s->nstates ? state : 0);
    s->last = ts;
    s->n++;
    if (s->n > s->ncum * TG_SERIES_BLOCK && series_seal(s) < 0) {
        s->n--;
        return SIZE_MAX;
    }
    return i;
}

int tg_series_set_state(struct tg_series *s, size_t i, unsigned state)
{
    if (i >= s->n)
        return -EINVAL;
    s->st[i] = (uint8_t)(state < s->nstates ? state : 0);
    /* entries that summed segment i are those above its block */
    size_t first_stale = i / TG_SERIES_BLOCK + 1;
    if (s->ncum > first_stale)
        s->ncum = first_stale;
    return 0;
}

int tg_series_reseal(struct tg_series *s)
{
    return series_seal(s);
}

/* The last block whose first time is <= T (0 if none). */
static size_t block_le(const struct tg_series *s, uint64_t t)
{
    size_t nb = (s->n + TG_SERIES_BLOCK - 1) >> TG_SERIES_SHIFT, lo = 0, hi = nb;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->base[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

/* The first index in [LO, HI) whose time is after T (HI if none). */
static size_t first_after(const struct tg_series *s, size_t lo, size_t hi, uint64_t t)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tg_series_ts(s, mid) <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t tg_series_at(const struct tg_series *s, uint64_t t)
{
    if (s->n == 0 || s->base[0] > t)
        return SIZE_MAX;
    size_t lo = block_le(s, t) << TG_SERIES_SHIFT, hi = lo + TG_SERIES_BLOCK;
    return first_after(s, lo, hi < s->n ? hi : s->n, t) - 1;
}

size_t tg_series_first_from(const struct tg_series *s, uint64_t t)
{
    if (s->n == 0 || s->base[0] >= t)
        return 0;
    /* the answer is in the last block starting before T, or starts the next */
    size_t nb = (s->n + TG_SERIES_BLOCK - 1) >> TG_SERIES_SHIFT, lo = 0, hi = nb;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->base[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t b = lo - 1;
    lo = b << TG_SERIES_SHIFT;
    hi = lo + TG_SERIES_BLOCK < s->n ? lo + TG_SERIES_BLOCK : s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tg_series_ts(s, mid) < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void sum_segments(const struct tg_series *s, size_t p, size_t q, uint64_t *dur)
{
    if (p >= q)
        return;
    uint64_t t = tg_series_ts(s, p);
    for (size_t i = p; i < q; i++) {
        uint64_t next = tg_series_ts(s, i + 1);
        dur[s->st[i]] += next - t;
        t = next;
    }
}

/* Removes the time of closed segments [p, q) from DUR. */
static void unsum_segments(const struct tg_series *s, size_t p, size_t q, uint64_t *dur)
{
    if (p >= q)
        return;
    uint64_t t = tg_series_ts(s, p);
    for (size_t i = p; i < q; i++) {
        uint64_t next = tg_series_ts(s, i + 1);
        dur[s->st[i]] -= next - t;
        t = next;
    }
}

/* Closed segments [p, q) (q <= n - 1): whole blocks from the prefix sums,
 * the ragged ends segment by segment, from whichever block edge is nearer
 * (at most half a block each). */
static void sum_closed(const struct tg_series *s, size_t p, size_t q, uint64_t *dur)
{
    const size_t B = TG_SERIES_BLOCK;
    size_t pb = p / B, qb = q / B;          /* blocks holding p and q */

    if (pb + 1 >= qb || qb >= s->ncum) {
        sum_segments(s, p, q, dur);
        return;
    }
    const unsigned ns = s->nstates;
    size_t from = p - pb * B < B / 2 ? pb : pb + 1;     /* block edge at or before p's */
    size_t to = q - qb * B <= B / 2 ? qb : qb + 1;      /* block edge at or after q's */
    if (to >= s->ncum)
        to = qb;
    const uint64_t *hi = s->cum + to * ns, *lo = s->cum + from * ns;
    for (unsigned k = 0; k < ns; k++)
        dur[k] += hi[k] - lo[k];
    if (from == pb)
        unsum_segments(s, pb * B, p, dur);
    else
        sum_segments(s, p, from * B, dur);
    if (to == qb)
        sum_segments(s, qb * B, q, dur);
    else
        unsum_segments(s, q, to * B, dur);
}

size_t tg_series_at_from(const struct tg_series *s, uint64_t t, size_t hint)
{
    if (hint == SIZE_MAX || hint >= s->n || tg_series_ts(s, hint) > t)
        return tg_series_at(s, t);
    /* gallop forward from the hint, then search the last step */
    size_t lo = hint, step = 1;
    while (lo + step < s->n && tg_series_ts(s, lo + step) <= t) {
        lo += step;
        step *= 2;
    }
    size_t hi = lo + step < s->n ? lo + step : s->n;    /* ts(hi) > t, or hi == n */
    return first_after(s, lo + 1, hi, t) - 1;
}

void tg_series_time_hint(const struct tg_series *s, uint64_t a, uint64_t b, uint64_t end,
                         uint64_t *dur, size_t *hint)
{
    if (b <= a)
        return;
    uint64_t first = s->n ? s->base[0] : 0;
    if (s->n == 0 || end <= first || a >= end) {
        dur[0] += b - a;
        return;
    }
    if (b > end) {
        dur[0] += b - end;
        b = end;
    }
    if (a < first) {
        uint64_t upto = b < first ? b : first;
        dur[0] += upto - a;
        a = upto;
        if (a >= b)
            return;
    }
    size_t i = tg_series_at_from(s, a, *hint), j = tg_series_at_from(s, b - 1, i);
    *hint = j;
    if (i == j) {
        dur[s->st[i]] += b - a;
        return;
    }
    dur[s->st[i]] += tg_series_ts(s, i + 1) - a;
    dur[s->st[j]] += b - tg_series_ts(s, j);
    sum_closed(s, i + 1, j, dur);
}

void tg_series_time(const struct tg_series *s, uint64_t a, uint64_t b, uint64_t end,
                    uint64_t *dur)
{
    size_t hint = SIZE_MAX;
    tg_series_time_hint(s, a, b, end, dur, &hint);
}

size_t tg_series_memory(const struct tg_series *s)
{
    return s->capdt * sizeof *s->dt + s->capst * sizeof *s->st + s->capbase * sizeof *s->base
           + s->capcum * sizeof(uint64_t) + s->capwide * sizeof *s->wide;
}
