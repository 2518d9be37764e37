/* tests/tui: a lane's block rows for wide zooms — the time per state read
 * from block sums against the exact sum, the first segment of each state
 * per block, and rows made stale by a rewritten segment. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tui/series.h"

#define NS 4u
#define NSEG (64u * 300u)

static struct tg_series s;

static uint64_t tag_of(const void *ctx, size_t i)
{
    (void)ctx;
    return i * 3 + 1;
}

static void setup(void)
{
    tg_series_init(&s, NS, 4, 4);
    srand(7);
    uint64_t ts = 1000;
    for (unsigned i = 0; i < NSEG; i++) {
        /* runs of one state, some long, so blocks are far from uniform */
        unsigned st = (i / (1u + (unsigned)rand() % 40)) % NS;
        cr_assert_neq(tg_series_push(&s, ts, st), SIZE_MAX);
        if (tg_series_tag_due(&s))
            cr_assert_eq(tg_series_seal_tags(&s, tag_of, NULL), 0);
        ts += 1 + (uint64_t)(rand() % (i % 97 == 0 ? 5000 : 100));
    }
}

static void teardown(void) { tg_series_free(&s); }

TestSuite(series, .init = setup, .fini = teardown);

static uint64_t block_time(size_t b)
{
    return tg_series_ts(&s, (b + 1) * 64) - tg_series_ts(&s, b * 64);
}

Test(series, wide_spans_from_block_sums_stay_within_their_end_blocks)
{
    uint64_t end = s.last + 100;
    int used = 0;
    for (int k = 0; k < 400; k++) {
        uint64_t a = (uint64_t)rand() % end, b = a + 1 + (uint64_t)rand() % (end - a);
        uint64_t got[NS] = { 0 }, want[NS] = { 0 };
        size_t blk = SIZE_MAX, blk_end = SIZE_MAX;
        if (!tg_series_time_coarse(&s, a, b, end, 8, got, &blk, &blk_end))
            continue;
        used++;
        cr_assert_geq(blk_end, blk + 9, "at least 8 whole blocks between");
        tg_series_time(&s, a, b, end, want);
        /* only the two end blocks are estimated: off by at most their time */
        uint64_t slack = block_time(blk) + block_time(blk_end) + NS;
        uint64_t sum = 0;
        for (unsigned st = 0; st < NS; st++) {
            uint64_t diff = got[st] > want[st] ? got[st] - want[st] : want[st] - got[st];
            cr_assert_leq(diff, slack, "span %d [%lu,%lu) state %u: %lu vs %lu", k,
                          (unsigned long)a, (unsigned long)b, st, (unsigned long)got[st],
                          (unsigned long)want[st]);
            sum += got[st];
        }
        cr_assert_leq(b - a - sum, 2 * NS, "the span's time is all counted (rounding aside)");
    }
    cr_assert_gt(used, 100, "most random spans are wide enough");
}

Test(series, narrow_spans_are_left_to_the_exact_sum)
{
    uint64_t got[NS] = { 0 };
    size_t blk = SIZE_MAX, blk_end;
    uint64_t a = tg_series_ts(&s, 640), b = tg_series_ts(&s, 640 + 5 * 64);
    cr_assert_not(tg_series_time_coarse(&s, a, b, s.last, 8, got, &blk, &blk_end));
    for (unsigned st = 0; st < NS; st++)
        cr_assert_eq(got[st], 0);
}

Test(series, each_block_knows_the_first_segment_of_each_state)
{
    for (size_t from = 0; from + 20 < NSEG / 64; from += 7) {
        for (unsigned st = 0; st < NS; st++) {
            uint64_t tag = 0;
            size_t i = tg_series_tagged(&s, from, from + 20, st, &tag);
            size_t want = SIZE_MAX;
            for (size_t k = from * 64; k < (from + 21) * 64; k++)
                if (s.st[k] == st) {
                    want = k;
                    break;
                }
            cr_assert_eq(i, want, "blocks %zu.. state %u", from, st);
            if (i != SIZE_MAX)
                cr_assert_eq(tag, tag_of(NULL, i));
        }
    }
}

Test(series, a_rewritten_segment_is_tagged_again)
{
    size_t i = 64 * 100 + 10;
    unsigned st = (s.st[i] + 1) % NS;
    cr_assert_eq(tg_series_set_state(&s, i, st), 0);
    cr_assert_leq(s.ntag, 100, "the block and those after it are stale");
    uint64_t end = s.last + 100, dur[NS] = { 0 };
    size_t blk = SIZE_MAX, blk_end;
    cr_assert_not(tg_series_time_coarse(&s, tg_series_ts(&s, 0), end, end, 8, dur, &blk,
                                        &blk_end) && blk_end >= 100,
                  "stale rows are not read");
    cr_assert_eq(tg_series_reseal(&s), 0);
    cr_assert_eq(tg_series_seal_tags(&s, tag_of, NULL), 0);
    uint64_t tag;
    size_t first = tg_series_tagged(&s, 100, 100, st, &tag);
    cr_assert_leq(first, i, "segment %zu is now in state %u", i, st);
}

static uint64_t wide_tag_of(const void *ctx, size_t i)
{
    (void)ctx;
    return 0xabcd000000000000ull | i;
}

Test(series, tags_of_eight_bytes_keep_every_bit)
{
    struct tg_series w;
    tg_series_init(&w, 3, 8, 4);
    for (unsigned i = 0; i < 64 * 4; i++) {
        cr_assert_neq(tg_series_push(&w, 10 * (uint64_t)i, i % 3), SIZE_MAX);
        if (tg_series_tag_due(&w))
            cr_assert_eq(tg_series_seal_tags(&w, wide_tag_of, NULL), 0);
    }
    for (unsigned st = 0; st < 3; st++) {
        uint64_t tag = 0;
        size_t i = tg_series_tagged(&w, 1, 2, st, &tag);
        cr_assert_eq(i, 64 + (st + 2) % 3, "state %u", st);   /* 64 % 3 == 1 */
        cr_assert_eq(tag, wide_tag_of(NULL, i));
    }
    tg_series_free(&w);
}

/* A segment's payload shares its record with the time: filling one never
 * touches the other, across growth into a mapping, a compaction and a
 * segment too far from its block's start to keep its time in 4 bytes. */
Test(series, payloads_and_times_share_records)
{
    struct tg_series w;
    const unsigned n = 100000;              /* 1.2 MB of records: a mapping */
    tg_series_init(&w, 3, 4, 12);
    for (unsigned i = 0; i < n; i++) {
        uint64_t ts = 10 * (uint64_t)i + (i >= n / 2 ? 5000000000ull : 0);
        size_t k = tg_series_push(&w, ts, i % 3);
        cr_assert_eq(k, i);
        uint32_t pay[2] = { 0xffffffffu, i ^ 0x5a5a5a5au };
        memcpy(tg_series_payload(&w, k), pay, sizeof pay);
    }
    cr_assert_gt(w.nwide, 0, "the jump of 5 s is kept aside");
    tg_series_shrink(&w);
    for (unsigned i = 0; i < n; i++) {
        uint64_t ts = 10 * (uint64_t)i + (i >= n / 2 ? 5000000000ull : 0);
        uint32_t pay[2];
        memcpy(pay, tg_series_payload(&w, i), sizeof pay);
        cr_assert_eq(tg_series_ts(&w, i), ts, "segment %u", i);
        cr_assert_eq(pay[0], 0xffffffffu, "segment %u", i);
        cr_assert_eq(pay[1], i ^ 0x5a5a5a5au, "segment %u", i);
        cr_assert_eq(w.st[i], i % 3);
    }
    tg_series_free(&w);
}
