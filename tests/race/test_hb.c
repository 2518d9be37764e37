/* Unit tests of hb/: vector clocks, slots, sync objects and the shadow
 * check, driven by hand (no threads): "thread" A and B are two hb thread
 * states, and each test orders their accesses by one synchronisation or
 * by none. */
#include <criterion/criterion.h>
#include <string.h>

#include "hb/hb.h"

static struct tg_hb_slots *slots;
static struct tg_hb_syncs *syncs;
static struct tg_hb_shadow shadow;
static struct tg_hb_thread A, B;
static int var[4];                   /* "application memory": only its address is used */

static void setup(void)
{
    slots = tg_hb_slots_new();
    syncs = tg_hb_syncs_new();
    cr_assert_not_null(slots);
    cr_assert_not_null(syncs);
    cr_assert_eq(tg_hb_shadow_init(&shadow), 0);
    cr_assert_eq(tg_hb_thread_start(&A, slots, NULL), 0);
    /* B is created by A: it starts knowing A's past */
    cr_assert_eq(tg_hb_thread_start(&B, slots, &A.clock), 0);
    tg_hb_tick(&A);
}

static void teardown(void)
{
    tg_hb_thread_free(&A);
    tg_hb_thread_free(&B);
    tg_hb_shadow_fini(&shadow);
    tg_hb_syncs_free(syncs);
    tg_hb_slots_free(slots);
}

TestSuite(hb, .init = setup, .fini = teardown);

/* One access; true if it raced. */
static bool access_(struct tg_hb_thread *t, const void *p, unsigned size, bool write, bool atomic)
{
    uintptr_t a = (uintptr_t)p;
    tg_hb_cell *cells = tg_hb_shadow_cells(&shadow, a);
    cr_assert_not_null(cells);
    struct tg_hb_result res;
    tg_hb_cell cur = tg_hb_cell_make(t->slot, t->epoch, tg_hb_mask(a & 7, size), write, atomic);
    return tg_hb_access(cells, cur, &t->clock, &res);
}
#define WRITE(t, p) access_(&(t), (p), sizeof *(p), true, false)
#define READ(t, p)  access_(&(t), (p), sizeof *(p), false, false)

Test(hb, vector_clock_join_and_order)
{
    struct tg_hb_vc a = { 0 }, b = { 0 };
    cr_assert_eq(tg_hb_vc_set(&a, 3, 7), 0);
    cr_assert_eq(tg_hb_vc_set(&b, 1, 2), 0);
    cr_assert_not(tg_hb_vc_leq(&a, &b));
    cr_assert_eq(tg_hb_vc_join(&b, &a), 0);
    cr_assert(tg_hb_vc_leq(&a, &b));
    cr_assert_eq(tg_hb_vc_get(&b, 3), 7);
    cr_assert_eq(tg_hb_vc_get(&b, 1), 2);
    cr_assert_eq(tg_hb_vc_get(&b, 100), 0);
    cr_assert_eq(tg_hb_vc_copy(&b, &a), 0);
    cr_assert_eq(tg_hb_vc_get(&b, 1), 0);
    tg_hb_vc_free(&a);
    tg_hb_vc_free(&b);
}

Test(hb, unordered_write_read_races)
{
    cr_assert_not(WRITE(A, &var[0]));
    cr_assert(READ(B, &var[0]));
}

Test(hb, creation_orders_the_parent_past)
{
    struct tg_hb_thread C;
    cr_assert_not(WRITE(A, &var[0]));
    tg_hb_tick(&A);                          /* A "creates" C here */
    cr_assert_eq(tg_hb_thread_start(&C, slots, &A.clock), 0);
    cr_assert_not(READ(C, &var[0]));
    cr_assert(READ(B, &var[0]));             /* B was created before the write */
    tg_hb_thread_free(&C);
}

Test(hb, mutex_release_acquire_orders)
{
    struct tg_hb_sync *m = tg_hb_sync_get(syncs, 0x1000, true);
    cr_assert_not(WRITE(A, &var[0]));
    tg_hb_release(&A, m);
    tg_hb_acquire_all(&B, m);
    cr_assert_not(READ(B, &var[0]));
    cr_assert_not(WRITE(B, &var[0]));
    cr_assert(READ(A, &var[0]));             /* A never acquired B's write */
}

Test(hb, acquire_before_release_orders_nothing)
{
    struct tg_hb_sync *m = tg_hb_sync_get(syncs, 0x1000, true);
    tg_hb_acquire_all(&B, m);
    cr_assert_not(WRITE(A, &var[0]));
    tg_hb_release(&A, m);
    cr_assert(READ(B, &var[0]));
}

Test(hb, epoch_after_release_is_new)
{
    struct tg_hb_sync *m = tg_hb_sync_get(syncs, 0x1000, true);
    tg_hb_release(&A, m);
    cr_assert_not(WRITE(A, &var[0]));        /* after the release: not published */
    tg_hb_acquire_all(&B, m);
    cr_assert(READ(B, &var[0]));
}

Test(hb, readers_do_not_order_each_other)
{
    /* rwlock: read-unlock publishes into read_clock, read-lock does not take it */
    struct tg_hb_sync *rw = tg_hb_sync_get(syncs, 0x2000, true);
    tg_hb_acquire(&A, rw);
    cr_assert_not(WRITE(A, &var[0]));        /* a write under a read lock */
    tg_hb_release_read(&A, rw);
    tg_hb_acquire(&B, rw);
    cr_assert(WRITE(B, &var[0]));
}

Test(hb, writer_orders_after_readers)
{
    struct tg_hb_sync *rw = tg_hb_sync_get(syncs, 0x2000, true);
    tg_hb_acquire(&A, rw);
    cr_assert_not(READ(A, &var[0]));
    tg_hb_release_read(&A, rw);
    tg_hb_acquire_all(&B, rw);               /* write lock: after every reader */
    cr_assert_not(WRITE(B, &var[0]));
}

Test(hb, release_store_replaces)
{
    struct tg_hb_sync *o = tg_hb_sync_get(syncs, 0x3000, true);
    struct tg_hb_thread C;
    cr_assert_eq(tg_hb_thread_start(&C, slots, NULL), 0);
    cr_assert_not(WRITE(A, &var[0]));
    tg_hb_release(&A, o);
    tg_hb_release_store(&C, o);              /* a new release sequence: A's is gone */
    tg_hb_acquire(&B, o);
    cr_assert(READ(B, &var[0]));
    tg_hb_thread_free(&C);
}

Test(hb, read_read_and_atomic_atomic_do_not_race)
{
    cr_assert_not(READ(A, &var[0]));
    cr_assert_not(READ(B, &var[0]));
    cr_assert_not(access_(&A, &var[1], 4, true, true));
    cr_assert_not(access_(&B, &var[1], 4, true, true));
    cr_assert(access_(&B, &var[1], 4, false, false));   /* plain vs atomic does */
}

Test(hb, disjoint_bytes_do_not_race)
{
    char *bytes = (char *)&var[0];
    cr_assert_not(access_(&A, bytes, 1, true, false));
    cr_assert_not(access_(&B, bytes + 1, 1, true, false));
    cr_assert(access_(&B, bytes, 2, false, false));
}

Test(hb, same_thread_never_races)
{
    for (int i = 0; i < 10; i++) {
        cr_assert_not(WRITE(A, &var[0]));
        cr_assert_not(READ(A, &var[0]));
        tg_hb_tick(&A);
    }
}

Test(hb, reset_forgets)
{
    cr_assert_not(WRITE(A, &var[0]));
    tg_hb_shadow_reset(&shadow, (uintptr_t)&var[0], sizeof var);
    cr_assert_not(WRITE(B, &var[0]));
}

Test(hb, many_readers_then_a_writer)
{
    /* more concurrent readers than cells: the writer still meets a race */
    struct tg_hb_thread r[6];
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(tg_hb_thread_start(&r[i], slots, NULL), 0);
        cr_assert_not(READ(r[i], &var[2]));
    }
    cr_assert(WRITE(B, &var[2]));
    for (int i = 0; i < 6; i++)
        tg_hb_thread_free(&r[i]);
}

Test(hb, slot_reuse_needs_order)
{
    struct tg_hb_thread C, D, E;
    cr_assert_eq(tg_hb_thread_start(&C, slots, &A.clock), 0);
    uint32_t slot = C.slot;
    tg_hb_tick(&C);
    struct tg_hb_sync *exit_obj = tg_hb_sync_get(syncs, 0x4000, true);
    tg_hb_thread_end(&C, slots, exit_obj);
    /* B never joined C: C's slot must not be given to B's child */
    cr_assert_eq(tg_hb_thread_start(&D, slots, &B.clock), 0);
    cr_assert_neq(D.slot, slot);
    /* A joins C: now A's child may take it, and continues its epochs */
    tg_hb_acquire(&A, exit_obj);
    cr_assert_eq(tg_hb_thread_start(&E, slots, &A.clock), 0);
    cr_assert_eq(E.slot, slot);
    cr_assert_gt(E.epoch, C.epoch);
    tg_hb_thread_free(&C);
    tg_hb_thread_free(&D);
    tg_hb_thread_free(&E);
}

Test(hb, sync_objects_by_address)
{
    struct tg_hb_sync *a = tg_hb_sync_get(syncs, 0x5000, true);
    cr_assert_eq(tg_hb_sync_get(syncs, 0x5000, false), a);
    cr_assert_null(tg_hb_sync_get(syncs, 0x5008, false));
    cr_assert_eq(tg_hb_syncs_count(syncs), 1);
    tg_hb_sync_remove(syncs, 0x5000);
    cr_assert_null(tg_hb_sync_get(syncs, 0x5000, false));
}
