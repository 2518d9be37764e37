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
 *
 * A segment's time offset and what the caller keeps with it (its payload)
 * share one record, so appending a segment writes one array, not two: a
 * model of dozens of lanes built at once is limited by its parallel write
 * streams. States stay apart (one byte each: the wide queries scan them).
 *
 * Wide zooms read blocks, not segments: a slice spanning many blocks takes
 * its time per state from the prefix sums of the blocks it covers, the two
 * blocks at its ends counted pro rata, and its representative segment from
 * a per-block table (the first segment of each state in the block and the
 * caller's tag for it, e.g. the lock a thread holds). A frame of a whole
 * trace then reads a few small arrays per lane instead of a page or more of
 * segments per cell (tg_series_time_coarse, tg_series_tagged).
 */
#ifndef TG_TUI_SERIES_H
#define TG_TUI_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TG_SERIES_BLOCK 64u
#define TG_SERIES_SHIFT 6u
#define TG_SERIES_MAXSTATES 10u
#define TG_SERIES_WIDE UINT32_MAX

struct tg_series_wide {
    size_t i;
    uint64_t ts;
};

struct tg_series {
    /* record i: 4 bytes ts(i) - base[i / BLOCK] (or TG_SERIES_WIDE), then
     * the caller's payload (recsize - 4 bytes) */
    unsigned char *rec;
    uint8_t *st;
    uint64_t *base;             /* first time of each block */
    size_t n, caprec, capst, capbase;
    unsigned recsize;
    struct tg_series_wide *wide;
    size_t nwide, capwide;
    uint64_t last;              /* ts(n - 1) */
    /* One row of `stride` words per block b, so that a wide slice reads a
     * row at each end and nothing else:
     *   words [0, nstates): time in each state over segments [0, b*BLOCK)
     *     (valid for b < ncum);
     *   then nstates tags of tag_bytes (4 or 8) each: the caller's tag of
     *     the first segment of each state in the block, and after them one
     *     byte per state: that segment's offset in the block,
     *     TG_SERIES_UNTAGGED if none (valid for b < ntag). */
    uint64_t *rows;
    size_t caprows, ncum, ntag;
    unsigned nstates, stride, tag_bytes;
};

#define TG_SERIES_UNTAGGED 0xffu

/* The caller's tag of segment I (what a slice shows besides its state). */
typedef uint64_t (*tg_series_tag_fn)(const void *ctx, size_t i);

uint64_t tg_series_wide_ts(const struct tg_series *s, size_t i);

static inline const uint64_t *tg_series_cum(const struct tg_series *s, size_t b)
{
    return s->rows + b * s->stride;
}

/* Segment I's payload (recsize - 4 bytes, 4-byte aligned). */
static inline void *tg_series_payload(const struct tg_series *s, size_t i)
{
    return s->rec + i * s->recsize + 4;
}

/* The start time of segment I (< n). */
static inline uint64_t tg_series_ts(const struct tg_series *s, size_t i)
{
    uint32_t d;
    memcpy(&d, s->rec + i * s->recsize, sizeof d);
    return d != TG_SERIES_WIDE ? s->base[i >> TG_SERIES_SHIFT] + d : tg_series_wide_ts(s, i);
}

/* TAG_BYTES: 4 if the caller's tags fit 32 bits, else 8. RECSIZE: bytes per
 * segment record, a multiple of 4: 4 for the time, the rest the payload. */
void tg_series_init(struct tg_series *s, unsigned nstates, unsigned tag_bytes, unsigned recsize);
void tg_series_free(struct tg_series *s);
/* Appends a segment; TS is clamped to the previous one. Returns its index,
 * or SIZE_MAX on allocation failure. Its payload is the caller's to fill. */
size_t tg_series_push(struct tg_series *s, uint64_t ts, unsigned state);
/* Rewrites the state of segment I. Queries stay right (they fall back to
 * summing segments); call tg_series_reseal after a batch to make them fast
 * again. */
int tg_series_set_state(struct tg_series *s, size_t i, unsigned state);
int tg_series_reseal(struct tg_series *s);
/* Tags every whole block not tagged yet. Call after the tags of the
 * segments pushed are final. */
int tg_series_seal_tags(struct tg_series *s, tg_series_tag_fn fn, const void *ctx);
static inline int tg_series_tag_due(const struct tg_series *s)
{
    return s->n >= (s->ntag + 1) * TG_SERIES_BLOCK;
}
/* The tag of segment I changed: its block is tagged again at the next
 * tg_series_seal_tags. */
void tg_series_untag(struct tg_series *s, size_t i);
/* Wide zooms: adds the time in each state over [a, b) to DUR from block
 * sums, the blocks at the ends counted pro rata to the part of their time
 * inside the span — if at least MINBLOCKS whole blocks lie inside it. The
 * lane's last segments, not in a sealed block yet, are summed exactly (for
 * a lane that ends at END, as tg_series_time). Returns false, DUR
 * untouched, otherwise. *BLK is a hint (SIZE_MAX at first, then the last
 * call's *BLK_END); *BLK and *BLK_END get the first and last blocks used. */
bool tg_series_time_coarse(const struct tg_series *s, uint64_t a, uint64_t b, uint64_t end,
                           unsigned minblocks, uint64_t *dur, size_t *blk, size_t *blk_end);
/* The first segment in STATE within tagged blocks FROM..TO, and its tag;
 * SIZE_MAX if none. */
size_t tg_series_tagged(const struct tg_series *s, size_t from, size_t to, unsigned state,
                        uint64_t *tag);
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
