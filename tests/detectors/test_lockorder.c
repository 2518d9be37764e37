/* Lock-order (potential deadlock) rules, one synthetic sequence each. */
#include "gen.h"

#define LA 0x601000ull
#define LB 0x602000ull
#define LC 0x603000ull
#define LG 0x604000ull

TestSuite(lockorder, .init = gen_setup, .fini = gen_teardown);

static void ab(uint32_t t) { lock(t, LA); lock(t, LB); unlock(t, LB); unlock(t, LA); }
static void ba(uint32_t t) { lock(t, LB); lock(t, LA); unlock(t, LA); unlock(t, LB); }

Test(lockorder, edges_recorded_after_the_process_exit_count)
{
    /* read live, a busy thread's records can come after main's exit: the
     * lock graph still learns from them (misuse is what it does not) */
    start(0);
    spawn(1);
    spawn(2);
    ab(1);
    pexit();
    ba(2);
    tg_analysis_finish(A);
    only(TG_FIND_LOCK_ORDER);
}

Test(lockorder, abba_two_threads)
{
    start(0);
    spawn(1);
    spawn(2);
    ab(1);
    ba(2);
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    cr_assert_eq(f->nsteps, 2);
    cr_assert_eq(f->nthreads, 2);
    /* steps[i] holds objs[i] and requests objs[i+1] */
    for (uint32_t i = 0; i < 2; i++) {
        cr_assert_eq(f->steps[i].role, TG_ROLE_EDGE);
        cr_assert_eq(f->steps[i].held.obj, i);
        cr_assert_eq(f->steps[i].obj, (i + 1) % 2);
        cr_assert_eq(f->steps[i].nothers, 0);
    }
    uint64_t a0 = step_held(f, 0), a1 = step_held(f, 1);
    cr_assert((a0 == LA && a1 == LB) || (a0 == LB && a1 == LA));
    /* the thread that holds A requests B, with both code locations */
    uint32_t ia = a0 == LA ? 0 : 1;
    cr_assert_eq(f->steps[ia].thread, 1);
    cr_assert_eq(f->steps[ia].held.stack, LA & 0xffff);
    cr_assert_eq(f->steps[ia].stack, LB & 0xffff);
    cr_assert_eq(f->steps[1 - ia].thread, 2);
    cr_assert_eq(f->objs[0].kind, TG_OBJ_MUTEX);
    cr_assert_eq(f->objs[0].site_stack, f->objs[0].addr & 0xffff, "first-use site");
    cr_assert_not(f->objs[0].site_is_init);
}

Test(lockorder, single_thread_cycle_is_not_reported)
{
    start(0);
    spawn(1);
    ab(1);
    ba(1);
    assert_clean();
}

Test(lockorder, single_thread_cycle_then_second_thread)
{
    start(0);
    spawn(1);
    spawn(2);
    ab(1);
    ba(1);
    assert_clean();
    ab(2);          /* thread 2's A->B can run against thread 1's B->A */
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    cr_assert_eq(f->nthreads, 2);
}

Test(lockorder, gate_lock_protects_the_inversion)
{
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LG); ab(1); unlock(1, LG);
    lock(2, LG); ba(2); unlock(2, LG);
    assert_clean();
}

Test(lockorder, gate_lock_on_one_side_only_is_no_gate)
{
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LG); ab(1); unlock(1, LG);
    ba(2);
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    /* the other lock held is shown on its edge */
    uint32_t with_gate = f->steps[0].nothers ? 0 : 1;
    cr_assert_eq(f->steps[with_gate].nothers, 1);
    cr_assert_eq(f->objs[f->steps[with_gate].others[0].obj].addr, LG);
    cr_assert_eq(f->steps[1 - with_gate].nothers, 0);
}

Test(lockorder, gate_read_held_by_both_is_no_gate)
{
    start(0);
    spawn(1);
    spawn(2);
    rdlock(1, LG); ab(1); rwunlock(1, LG);
    rdlock(2, LG); ba(2); rwunlock(2, LG);
    cr_assert_eq(count_kind(TG_FIND_LOCK_ORDER, -1), 1, "two readers of G can both be inside");
}

Test(lockorder, gate_write_held_by_one_excludes_readers)
{
    start(0);
    spawn(1);
    spawn(2);
    wrlock(1, LG); ab(1); rwunlock(1, LG);
    rdlock(2, LG); ba(2); rwunlock(2, LG);
    assert_clean();
}

Test(lockorder, trylock_adds_no_edge)
{
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LA); trylock(1, LB, TG_OK); unlock(1, LB); unlock(1, LA);
    ba(2);
    assert_clean();
    /* a failed trylock (EBUSY) is an expected outcome, not misuse */
    lock(1, LA); trylock(1, LB, TG_BUSY); unlock(1, LA);
    assert_clean();
}

Test(lockorder, trylock_held_lock_is_a_source_of_edges)
{
    start(0);
    spawn(1);
    spawn(2);
    trylock(1, LA, TG_OK); lock(1, LB); unlock(1, LB); unlock(1, LA);
    ba(2);
    only(TG_FIND_LOCK_ORDER);
}

Test(lockorder, timed_lock_adds_an_edge_even_when_it_times_out)
{
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LA);
    req_s(1, LB, 5, true);
    mfail(1, LB, TG_TIMEDOUT, true);
    unlock(1, LA);
    ba(2);
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    uint32_t ia = step_held(f, 0) == LA ? 0 : 1;
    cr_assert_eq(f->steps[ia].stack, 5, "the timed request's stack");
    cr_assert_eq(f->steps[ia].event, TG_EV_MUTEX_REQ);
}

Test(lockorder, contended_acquisition_edge_comes_from_the_request)
{
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LA);
    req_s(1, LB, 9, false);
    EV(.kind = TG_EV_MUTEX_ACQ, .thread = 1, .obj = LB, .stack = 10);
    unlock(1, LB);
    unlock(1, LA);
    ba(2);
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    uint32_t ia = step_held(f, 0) == LA ? 0 : 1;
    cr_assert_eq(f->steps[ia].stack, 9);
}

Test(lockorder, recursive_reacquire_adds_no_edge)
{
    /* noodle_fork_rlock: one recursive mutex R taken around A and again inside */
    start(0);
    spawn(1);
    spawn(2);
    for (uint32_t t = 1; t <= 2; t++) {
        lock_type(t, LC, TG_MUTEX_RECURSIVE);
        lock(t, LA);
        lock_type(t, LC, TG_MUTEX_RECURSIVE);
        unlock(t, LC);
        unlock(t, LA);
        unlock(t, LC);
    }
    assert_clean();
}

Test(lockorder, rwlock_read_read_does_not_block)
{
    start(0);
    spawn(1);
    spawn(2);
    rdlock(1, LA); rdlock(1, LB); rwunlock(1, LB); rwunlock(1, LA);
    rdlock(2, LB); rdlock(2, LA); rwunlock(2, LA); rwunlock(2, LB);
    assert_clean();
    /* read then read against read then write: the write waits for a
     * reader that can always proceed */
    rdlock(2, LB); wrlock(2, LA); rwunlock(2, LA); rwunlock(2, LB);
    assert_clean();
}

Test(lockorder, rwlock_write_then_read_inversion_is_reported)
{
    start(0);
    spawn(1);
    spawn(2);
    wrlock(1, LA); rdlock(1, LB); rwunlock(1, LB); rwunlock(1, LA);
    wrlock(2, LB); rdlock(2, LA); rwunlock(2, LA); rwunlock(2, LB);
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    for (uint32_t i = 0; i < 2; i++) {
        cr_assert_eq(f->steps[i].held.mode, TG_MODE_WRITE);
        cr_assert_eq(f->steps[i].mode, TG_MODE_READ);
        cr_assert_eq(f->objs[i].kind, TG_OBJ_RWLOCK);
    }
}

Test(lockorder, rwlock_read_held_write_requested_both_ways)
{
    start(0);
    spawn(1);
    spawn(2);
    rdlock(1, LA); wrlock(1, LB); rwunlock(1, LB); rwunlock(1, LA);
    rdlock(2, LB); wrlock(2, LA); rwunlock(2, LA); rwunlock(2, LB);
    only(TG_FIND_LOCK_ORDER);
}

Test(lockorder, mutex_spinlock_and_rwlock_all_take_part)
{
    start(0);
    spawn(1);
    spawn(2);
    spawn(3);
    lock(1, LA); EV(.kind = TG_EV_SPIN_ACQ, .thread = 1, .obj = LB, .stack = 3);
    EV(.kind = TG_EV_SPIN_REL, .thread = 1, .obj = LB); unlock(1, LA);
    EV(.kind = TG_EV_SPIN_ACQ, .thread = 2, .obj = LB, .stack = 4); wrlock(2, LC);
    rwunlock(2, LC); EV(.kind = TG_EV_SPIN_REL, .thread = 2, .obj = LB);
    wrlock(3, LC); lock(3, LA); unlock(3, LA); rwunlock(3, LC);
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    cr_assert_eq(f->nsteps, 3);
    bool kinds[TG_OBJ_KIND_COUNT] = { 0 };
    for (uint32_t i = 0; i < 3; i++)
        kinds[f->objs[i].kind] = true;
    cr_assert(kinds[TG_OBJ_MUTEX] && kinds[TG_OBJ_SPIN] && kinds[TG_OBJ_RWLOCK]);
}

Test(lockorder, three_cycle_in_order)
{
    start(0);
    spawn(1);
    spawn(2);
    spawn(3);
    lock(1, LA); lock(1, LB); unlock(1, LB); unlock(1, LA);
    lock(2, LB); lock(2, LC); unlock(2, LC); unlock(2, LB);
    assert_clean();
    lock(3, LC); lock(3, LA); unlock(3, LA); unlock(3, LC);
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    cr_assert_eq(f->nsteps, 3);
    cr_assert_eq(f->nthreads, 3);
    for (uint32_t i = 0; i < 3; i++) {
        /* the edge out of each lock is the next step's source */
        cr_assert_eq(f->steps[i].obj, f->steps[(i + 1) % 3].held.obj);
        uint64_t h = step_held(f, i), r = step_obj(f, i);
        cr_assert((h == LA && r == LB) || (h == LB && r == LC) || (h == LC && r == LA));
    }
}

Test(lockorder, shortest_cycle_is_shown)
{
    /* A->B, B->C, C->A and also B->A: closing with B->A gives the 2-cycle */
    start(0);
    for (uint32_t t = 1; t <= 4; t++)
        spawn(t);
    lock(1, LA); lock(1, LB); unlock(1, LB); unlock(1, LA);
    lock(2, LB); lock(2, LC); unlock(2, LC); unlock(2, LB);
    lock(3, LC); lock(3, LG); unlock(3, LG); unlock(3, LC);   /* unrelated edge */
    lock(4, LB); lock(4, LA); unlock(4, LA); unlock(4, LB);
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    cr_assert_eq(f->nsteps, 2);
}

Test(lockorder, same_inversion_a_thousand_times_is_one_finding)
{
    start(0);
    spawn(1);
    spawn(2);
    for (int i = 0; i < 1000; i++) {
        ab(1);
        ba(2);
    }
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    cr_assert_eq(f->count, 1);
    /* and by a thousand different pairs of threads, same code */
    for (uint32_t t = 3; t < 2003; t += 2) {
        spawn(t);
        spawn(t + 1);
        ab(t);
        ba(t + 1);
        texit(t);
        texit(t + 1);
    }
    only(TG_FIND_LOCK_ORDER);
}

Test(lockorder, destroyed_and_reinitialised_lock_is_a_new_lock)
{
    start(0);
    spawn(1);
    spawn(2);
    minit(0, LB, TG_MUTEX_NORMAL);
    ab(1);
    EV(.kind = TG_EV_MUTEX_DESTROY, .thread = 0, .obj = LB);
    minit(0, LB, TG_MUTEX_NORMAL);
    ba(2);
    assert_clean();
}

Test(lockorder, locks_of_different_processes_are_different)
{
    start(0);
    spawn(1);
    ab(1);
    PROC = 1;
    start(2);
    ba(2);
    assert_clean();
}

Test(lockorder, ten_thousand_lock_cycle)
{
    /* hand-over-hand along 10,000 locks, then one edge back */
    enum { N = 10000 };
    start(0);
    spawn(1);
    spawn(2);
    lock(1, 0x100000);
    for (uint64_t i = 1; i < N; i++) {
        lock(1, 0x100000 + i * 64);
        unlock(1, 0x100000 + (i - 1) * 64);
    }
    unlock(1, 0x100000 + (N - 1) * 64);
    assert_clean();
    lock(2, 0x100000 + (N - 1) * 64);
    lock(2, 0x100000);
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    cr_assert_eq(f->nsteps, N);
    cr_assert_eq(f->nthreads, 2);
}

Test(lockorder, ten_thousand_locks_under_one_lock_is_clean)
{
    enum { N = 10000 };
    start(0);
    spawn(1);
    spawn(2);
    for (uint32_t t = 1; t <= 2; t++)
        for (uint64_t i = 0; i < N; i++) {
            lock(t, LG);
            lock(t, 0x100000 + i * 64);
            unlock(t, 0x100000 + i * 64);
            unlock(t, LG);
        }
    assert_clean();
    struct tg_analysis_counters c;
    tg_analysis_counters(A, &c);
    cr_assert_eq(c.edges, N);
}

Test(lockorder, dining_philosophers_five_cycle)
{
    start(0);
    for (uint32_t t = 1; t <= 5; t++)
        spawn(t);
    for (uint32_t t = 1; t <= 5; t++) {
        uint64_t left = 0x700000 + t * 64, right = 0x700000 + (t % 5 + 1) * 64;
        lock(t, left);
        lock(t, right);
        unlock(t, right);
        unlock(t, left);
    }
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    cr_assert_eq(f->nsteps, 5);
}

Test(lockorder, longer_valid_cycle_when_shortest_is_single_thread)
{
    /* thread 1: A->B and B->A (a single-thread 2-cycle); thread 2: B->C,
     * thread 3: C->A. The closing edge C->A's shortest cycle C->A->B->C is
     * valid; the B->A edge alone never is. */
    start(0);
    for (uint32_t t = 1; t <= 3; t++)
        spawn(t);
    ab(1);
    ba(1);
    lock(2, LB); lock(2, LC); unlock(2, LC); unlock(2, LB);
    lock(3, LC); lock(3, LA); unlock(3, LA); unlock(3, LC);
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    cr_assert_eq(f->nsteps, 3);
}

Test(lockorder, enumeration_finds_a_valid_cycle_behind_a_gated_one)
{
    /* threads 1 and 2 take A->B and B->A only under gate G; thread 3 takes
     * B->C and thread 4 C->A without. The shortest cycle through the last
     * edge (B->A... no: A->B->A) is gated; A->B->C->A is not. */
    start(0);
    for (uint32_t t = 1; t <= 4; t++)
        spawn(t);
    lock(3, LB); lock(3, LC); unlock(3, LC); unlock(3, LB);
    lock(4, LC); lock(4, LA); unlock(4, LA); unlock(4, LC);
    lock(2, LG); ba(2); unlock(2, LG);
    assert_clean();
    lock(1, LG); ab(1); unlock(1, LG);    /* closes A->B->A (gated) and A->B->C->A */
    const struct tg_finding *f = only(TG_FIND_LOCK_ORDER);
    cr_assert_eq(f->nsteps, 3);
}
