/* tui/series.h (internal): a lane's timeline as parallel arrays — start
 * time and state of each segment — with per-block prefix sums of the time
 * spent in each state, so the time per state over any span costs a binary
 * search and at most two partial blocks, whatever the span's length.
 *
 * Segment i covers [ts(i), ts(i+1)); the last one runs to the lane's end.
 * Time before the first segment counts as state 0.
 *
 * Times take 4 bytes a segment: each block of 64 segments keeps its first
 * time, each segment its distance from it; the rare segment more than 4.29 s
 * after its block's start (a lane idle that long) keeps its full time aside.
 */
#ifndef TG_TUI_SERIES_H
#define TG_TUI_SERIES_H

#include <stddef.h>
#include <stdint.h>

#define TG_SERIES_BLOCK 64u
#define TG_SERIES_SHIFT 6u
#define TG_SERIES_MAXSTATES 10u
#define TG_SERIES_WIDE UINT32_MAX

struct tg_series_wide {
    size_t i;
    uint64_t ts;
};

struct tg_series {
    uint32_t *dt;               /* ts(i) - base[i / BLOCK], or TG_SERIES_WIDE */
    uint8_t *st;
    uint64_t *base;             /* first time of each block */
    size_t n, capdt, capst, capbase;
    struct tg_series_wide *wide;
    size_t nwide, capwide;
    uint64_t last;              /* ts(n - 1) */
    uint64_t *cum;              /* cum[b * nstates + s]: time in s over segments [0, b*BLOCK) */
    size_t ncum, capcum;        /* cum[0..ncum) are valid */
    unsigned nstates;
};

uint64_t tg_series_wide_ts(const struct tg_series *s, size_t i);

/* The start time of segment I (< n). */
static inline uint64_t tg_series_ts(const struct tg_series *s, size_t i)
{
    uint32_t d = s->dt[i];
    return d != TG_SERIES_WIDE ? s->base[i >> TG_SERIES_SHIFT] + d : tg_series_wide_ts(s, i);
}

void tg_series_init(struct tg_series *s, unsigned nstates);
void tg_series_free(struct tg_series *s);
/* Appends a segment; TS is clamped to the previous one. Returns its index,
 * or SIZE_MAX on allocation failure. */
size_t tg_series_push(struct tg_series *s, uint64_t ts, unsigned state);
/* Rewrites the state of segment I. Queries stay right (they fall back to
 * summing segments); call tg_series_reseal after a batch to make them fast
 * again. */
int tg_series_set_state(struct tg_series *s, size_t i, unsigned state);
int tg_series_reseal(struct tg_series *s);
/* Index of the last segment starting at or before T; SIZE_MAX if none. */
size_t tg_series_at(const struct tg_series *s, uint64_t t);
/* Index of the first segment starting at or after T (n if none). */
size_t tg_series_first_from(const struct tg_series *s, uint64_t t);
/* Adds the time spent in each state over [a, b) to DUR (nstates entries),
 * for a lane that ends at END (time after END counts as state 0). */
void tg_series_time(const struct tg_series *s, uint64_t a, uint64_t b, uint64_t end,
                    uint64_t *dur);
/* The same, for consecutive spans: HINT (SIZE_MAX at first) carries the
 * segment where the previous span ended, so the next search gallops from
 * there instead of starting over. */
void tg_series_time_hint(const struct tg_series *s, uint64_t a, uint64_t b, uint64_t end,
                         uint64_t *dur, size_t *hint);
/* tg_series_at, galloping forward from HINT (an index at or before T's). */
size_t tg_series_at_from(const struct tg_series *s, uint64_t t, size_t hint);
size_t tg_series_memory(const struct tg_series *s);
/* Gives back the room reserved for growth. */
void tg_series_shrink(struct tg_series *s);

#endif
