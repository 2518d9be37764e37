/* tests for util/u64map: insert, find, growth, the zero key. */
#include <criterion/criterion.h>

#include "util/u64map.h"

Test(u64map, empty_map_finds_nothing)
{
    struct tg_u64map m = {0};
    cr_assert_null(tg_u64map_find(&m, 1));
    cr_assert_null(tg_u64map_find(&m, 0));
    cr_assert_eq(tg_u64map_len(&m), 0);
}

Test(u64map, slot_inserts_zero_once_and_keeps_values)
{
    struct tg_u64map m = {0};
    uint64_t *v = tg_u64map_slot(&m, 0x55d0c0a04040);
    cr_assert_not_null(v);
    cr_assert_eq(*v, 0);
    *v = 7;
    cr_assert_eq(*tg_u64map_slot(&m, 0x55d0c0a04040), 7);
    cr_assert_eq(*tg_u64map_find(&m, 0x55d0c0a04040), 7);
    cr_assert_eq(tg_u64map_len(&m), 1);
    tg_u64map_free(&m);
    cr_assert_null(tg_u64map_find(&m, 0x55d0c0a04040));
}

Test(u64map, zero_and_all_ones_are_keys_like_any_other)
{
    struct tg_u64map m = {0};
    *tg_u64map_slot(&m, 0) = 3;
    *tg_u64map_slot(&m, UINT64_MAX) = 4;
    cr_assert_eq(*tg_u64map_find(&m, 0), 3);
    cr_assert_eq(*tg_u64map_find(&m, UINT64_MAX), 4);
    cr_assert_eq(tg_u64map_len(&m), 2);
    tg_u64map_free(&m);
}

/* keys that share their low bits (aligned addresses) must survive growth */
Test(u64map, growth_keeps_every_key)
{
    struct tg_u64map m = {0};
    enum { N = 100000 };
    for (uint64_t i = 1; i <= N; i++)
        *tg_u64map_slot(&m, i << 12) = i * 3;
    cr_assert_eq(tg_u64map_len(&m), N);
    cr_assert_geq(m.cap * 3, m.len * 4, "more than 3/4 full");
    for (uint64_t i = 1; i <= N; i++) {
        uint64_t *v = tg_u64map_find(&m, i << 12);
        cr_assert_not_null(v, "key %#llx lost", (unsigned long long)(i << 12));
        cr_assert_eq(*v, i * 3);
    }
    cr_assert_null(tg_u64map_find(&m, (uint64_t)(N + 1) << 12));
    tg_u64map_free(&m);
}
