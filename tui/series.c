/* tui/series.c: segment arrays with block prefix sums (see series.h). */
#include "tui/series.h"
#include "tui/vec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tg_series_init(struct tg_series *s, unsigned nstates, unsigned tag_bytes, unsigned recsize)
{
    memset(s, 0, sizeof *s);
    s->recsize = recsize < 4 ? 4 : (recsize + 3) & ~3u;
    s->nstates = nstates;
    s->tag_bytes = tag_bytes == 4 ? 4 : 8;
    s->stride = nstates + (nstates * (s->tag_bytes + 1) + 7) / 8;
}

/* Makes room for the row of block B. */
static int rows_grow(struct tg_series *s, size_t b)
{
    return tg_vec_grow((void **)&s->rows, &s->caprows, (b + 1) * s->stride, sizeof *s->rows);
}

static uint64_t *cum_row(struct tg_series *s, size_t b)
{
    return s->rows + b * s->stride;
}

static unsigned char *tag_row(const struct tg_series *s, size_t b)
{
    return (unsigned char *)(s->rows + b * s->stride + s->nstates);
}

static uint8_t *off_row(const struct tg_series *s, size_t b)
{
    return tag_row(s, b) + s->nstates * s->tag_bytes;
}

static void tag_set(const struct tg_series *s, unsigned char *row, unsigned k, uint64_t v)
{
    if (s->tag_bytes == 4) {
        uint32_t v32 = (uint32_t)v;
        memcpy(row + 4 * k, &v32, 4);
    } else {
        memcpy(row + 8 * k, &v, 8);
    }
}

static uint64_t tag_get(const struct tg_series *s, const unsigned char *row, unsigned k)
{
    if (s->tag_bytes == 4) {
        uint32_t v32;
        memcpy(&v32, row + 4 * k, 4);
        return v32;
    }
    uint64_t v;
    memcpy(&v, row + 8 * k, 8);
    return v;
}

void tg_series_free(struct tg_series *s)
{
    tg_vec_free(s->rec, s->caprec, s->recsize);
    tg_vec_free(s->st, s->capst, sizeof *s->st);
    tg_vec_free(s->base, s->capbase, sizeof *s->base);
    tg_vec_free(s->rows, s->caprows, sizeof *s->rows);
    free(s->wide);
    memset(s, 0, sizeof *s);
}

void tg_series_shrink(struct tg_series *s)
{
    tg_vec_shrink((void **)&s->rec, &s->caprec, s->n, s->recsize);
    tg_vec_shrink((void **)&s->st, &s->capst, s->n, sizeof *s->st);
    tg_vec_shrink((void **)&s->base, &s->capbase, (s->n + TG_SERIES_BLOCK - 1) / TG_SERIES_BLOCK,
                  sizeof *s->base);
    size_t nrows = s->ncum > s->ntag ? s->ncum : s->ntag;
    tg_vec_shrink((void **)&s->rows, &s->caprows, nrows * s->stride, sizeof *s->rows);
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

/* Brings the rows' sums up to date: row b needs every segment below b*BLOCK closed,
 * i.e. segment b*BLOCK must exist. */
static int series_seal(struct tg_series *s)
{
    unsigned ns = s->nstates;

    if (s->ncum == 0) {
        if (rows_grow(s, 0) < 0)
            return -ENOMEM;
        memset(cum_row(s, 0), 0, ns * sizeof(uint64_t));
        s->ncum = 1;
    }
    while (s->ncum * TG_SERIES_BLOCK < s->n) {
        size_t b = s->ncum;
        if (rows_grow(s, b) < 0)
            return -ENOMEM;
        uint64_t *prev = cum_row(s, b - 1), *cur = cum_row(s, b);
        for (unsigned k = 0; k < ns; k++)      /* a few words: no call to memcpy */
            cur[k] = prev[k];
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

    if (tg_vec_grow((void **)&s->rec, &s->caprec, i + 1, s->recsize) < 0
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
    uint32_t d32 = (uint32_t)d;
    memcpy(s->rec + i * s->recsize, &d32, sizeof d32);
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
    tg_series_untag(s, i);
    return 0;
}

void tg_series_untag(struct tg_series *s, size_t i)
{
    if (s->ntag > i / TG_SERIES_BLOCK)
        s->ntag = i / TG_SERIES_BLOCK;
}

int tg_series_seal_tags(struct tg_series *s, tg_series_tag_fn fn, const void *ctx)
{
    const unsigned ns = s->nstates;

    while (tg_series_tag_due(s)) {
        size_t b = s->ntag;
        if (rows_grow(s, b) < 0)
            return -ENOMEM;
        uint8_t *off = off_row(s, b);
        unsigned char *tag = tag_row(s, b);
        for (unsigned k = 0; k < ns; k++)      /* a tag is read only where off is set */
            off[k] = TG_SERIES_UNTAGGED;
        const uint8_t *st = s->st + b * TG_SERIES_BLOCK;
        for (unsigned k = 0; k < TG_SERIES_BLOCK; k++) {
            if (off[st[k]] != TG_SERIES_UNTAGGED)
                continue;
            off[st[k]] = (uint8_t)k;
            tag_set(s, tag, st[k], fn(ctx, b * TG_SERIES_BLOCK + k));
        }
        s->ntag = b + 1;
    }
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

/* The last block whose first time is <= T, galloping forward from block
 * HINT when it starts at or before T. */
static size_t block_le_from(const struct tg_series *s, uint64_t t, size_t hint)
{
    size_t nb = (s->n + TG_SERIES_BLOCK - 1) >> TG_SERIES_SHIFT;
    if (hint >= nb || s->base[hint] > t)
        return block_le(s, t);
    size_t lo = hint, step = 1;
    while (lo + step < nb && s->base[lo + step] <= t) {
        lo += step;
        step *= 2;
    }
    size_t hi = lo + step < nb ? lo + step : nb;    /* base[hi] > t, or hi == nb */
    while (lo + 1 < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->base[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Adds the part of block B's time per state that falls in [a, b). */
static void block_part(const struct tg_series *s, size_t blk, uint64_t a, uint64_t b,
                       uint64_t *dur)
{
    const unsigned ns = s->nstates;
    uint64_t lo = s->base[blk], hi = s->base[blk + 1];
    uint64_t from = a > lo ? a : lo, to = b < hi ? b : hi;
    if (to <= from || hi <= lo)
        return;
    const uint64_t *c0 = tg_series_cum(s, blk), *c1 = tg_series_cum(s, blk + 1);
    for (unsigned k = 0; k < ns; k++) {
        uint64_t d = c1[k] - c0[k];
        if (d != 0)
            dur[k] += (uint64_t)((unsigned __int128)d * (to - from) / (hi - lo));
    }
}

bool tg_series_time_coarse(const struct tg_series *s, uint64_t a, uint64_t b, uint64_t end,
                           unsigned minblocks, uint64_t *dur, size_t *blk, size_t *blk_end)
{
    /* blocks usable: summed (cum[b + 1] valid) and tagged */
    size_t usable = s->ncum > 0 ? s->ncum - 1 : 0;
    if (s->ntag < usable)
        usable = s->ntag;
    if (b <= a || usable < (size_t)minblocks + 2)
        return false;
    /* [lo, hi): the part the usable blocks cover */
    uint64_t lo = a < s->base[0] ? s->base[0] : a, hi = b < s->base[usable] ? b : s->base[usable];
    if (hi <= lo)
        return false;
    size_t ba = block_le_from(s, lo, *blk), bb = block_le_from(s, hi - 1, ba);
    if (bb - ba < (size_t)minblocks + 1)
        return false;
    const unsigned ns = s->nstates;
    const uint64_t *c0 = tg_series_cum(s, ba + 1), *c1 = tg_series_cum(s, bb);
    for (unsigned k = 0; k < ns; k++)
        dur[k] += c1[k] - c0[k];
    block_part(s, ba, lo, hi, dur);
    block_part(s, bb, lo, hi, dur);
    dur[0] += lo - a;                   /* before the lane's first segment */
    if (b > hi) {                       /* the lane's last segments, exactly */
        size_t hint = usable << TG_SERIES_SHIFT;
        tg_series_time_hint(s, hi, b, end, dur, &hint);
    }
    *blk = ba;
    *blk_end = bb;
    return true;
}

size_t tg_series_tagged(const struct tg_series *s, size_t from, size_t to, unsigned state,
                        uint64_t *tag)
{
    const unsigned ns = s->nstates;
    for (size_t b = from; b <= to && b < s->ntag && state < ns; b++) {
        uint8_t off = off_row(s, b)[state];
        if (off != TG_SERIES_UNTAGGED) {
            *tag = tag_get(s, tag_row(s, b), state);
            return b * TG_SERIES_BLOCK + off;
        }
    }
    return SIZE_MAX;
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
    const uint64_t *hi = tg_series_cum(s, to), *lo = tg_series_cum(s, from);
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
    return s->caprec * s->recsize + s->capst * sizeof *s->st + s->capbase * sizeof *s->base
           + s->caprows * sizeof *s->rows + s->capwide * sizeof *s->wide;
}
