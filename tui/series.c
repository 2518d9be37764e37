/* tui/series.c: segment arrays with block prefix sums (see series.h). */
#include "tui/series.h"

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
    free(s->ts);
    free(s->st);
    free(s->cum);
    memset(s, 0, sizeof *s);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap += ncap / 2 + 16;
    void *q = realloc(*p, ncap * elem);
    if (q == NULL)
        return -ENOMEM;
    *p = q;
    *cap = ncap;
    return 0;
}

/* Brings cum[] up to date: entry b needs every segment below b*BLOCK closed,
 * i.e. segment b*BLOCK must exist. */
static int series_seal(struct tg_series *s)
{
    unsigned ns = s->nstates;

    if (s->ncum == 0) {
        size_t cap = s->capcum;
        if (grow((void **)&s->cum, &cap, ns, sizeof(uint64_t)) < 0)
            return -ENOMEM;
        s->capcum = cap;
        memset(s->cum, 0, ns * sizeof(uint64_t));
        s->ncum = 1;
    }
    while (s->ncum * TG_SERIES_BLOCK < s->n) {
        size_t b = s->ncum;
        size_t cap = s->capcum;
        if (grow((void **)&s->cum, &cap, (b + 1) * ns, sizeof(uint64_t)) < 0)
            return -ENOMEM;
        s->capcum = cap;
        uint64_t *prev = s->cum + (b - 1) * ns, *cur = s->cum + b * ns;
        memcpy(cur, prev, ns * sizeof(uint64_t));
        for (size_t i = (b - 1) * TG_SERIES_BLOCK; i < b * TG_SERIES_BLOCK; i++)
            cur[s->st[i]] += s->ts[i + 1] - s->ts[i];
        s->ncum = b + 1;
    }
    return 0;
}

size_t tg_series_push(struct tg_series *s, uint64_t ts, unsigned state)
{
    size_t cap = s->cap;

    if (grow((void **)&s->ts, &cap, s->n + 1, sizeof *s->ts) < 0)
        return SIZE_MAX;
    size_t cap2 = s->cap;
    if (grow((void **)&s->st, &cap2, s->n + 1, sizeof *s->st) < 0)
        return SIZE_MAX;
    s->cap = cap < cap2 ? cap : cap2;
    if (s->n > 0 && ts < s->ts[s->n - 1])
        ts = s->ts[s->n - 1];
    s->ts[s->n] = ts;
    s->st[s->n] = (uint8_t)(state < s->nstates ? state : 0);
    s->n++;
    if (s->n > s->ncum * TG_SERIES_BLOCK && series_seal(s) < 0) {
        s->n--;
        return SIZE_MAX;
    }
    return s->n - 1;
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

size_t tg_series_at(const struct tg_series *s, uint64_t t)
{
    size_t lo = 0, hi = s->n;       /* first index with ts > t */

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ts[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? SIZE_MAX : lo - 1;
}

size_t tg_series_first_from(const struct tg_series *s, uint64_t t)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ts[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Closed segments [p, q) (q <= n - 1). */
static void sum_closed(const struct tg_series *s, size_t p, size_t q, uint64_t *dur)
{
    size_t pb = (p + TG_SERIES_BLOCK - 1) / TG_SERIES_BLOCK, qb = q / TG_SERIES_BLOCK;

    if (pb < qb && qb < s->ncum) {
        for (size_t i = p; i < pb * TG_SERIES_BLOCK; i++)
            dur[s->st[i]] += s->ts[i + 1] - s->ts[i];
        const uint64_t *hi = s->cum + qb * s->nstates, *lo = s->cum + pb * s->nstates;
        for (unsigned k = 0; k < s->nstates; k++)
            dur[k] += hi[k] - lo[k];
        p = qb * TG_SERIES_BLOCK;
    }
    for (size_t i = p; i < q; i++)
        dur[s->st[i]] += s->ts[i + 1] - s->ts[i];
}

void tg_series_time(const struct tg_series *s, uint64_t a, uint64_t b, uint64_t end,
                    uint64_t *dur)
{
    if (b <= a)
        return;
    if (s->n == 0 || end <= s->ts[0] || a >= end) {
        dur[0] += b - a;
        return;
    }
    if (b > end) {
        dur[0] += b - end;
        b = end;
    }
    if (a < s->ts[0]) {
        uint64_t upto = b < s->ts[0] ? b : s->ts[0];
        dur[0] += upto - a;
        a = upto;
        if (a >= b)
            return;
    }
    size_t i = tg_series_at(s, a), j = tg_series_at(s, b - 1);
    if (i == j) {
        dur[s->st[i]] += b - a;
        return;
    }
    dur[s->st[i]] += s->ts[i + 1] - a;
    dur[s->st[j]] += b - s->ts[j];
    sum_closed(s, i + 1, j, dur);
}

size_t tg_series_memory(const struct tg_series *s)
{
    return s->cap * (sizeof *s->ts + sizeof *s->st) + s->capcum * sizeof(uint64_t);
}
