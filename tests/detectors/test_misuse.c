/* Misuse rules, one sequence each, and the results that are not misuse. */
#include "gen.h"

#define LA 0x601000ull
#define LB 0x602000ull
#define CV 0x605000ull
#define SEM 0x606000ull
#define BAR 0x607000ull

TestSuite(misuse, .init = gen_setup, .fini = gen_teardown);

static const struct tg_finding *only_misuse(unsigned rule)
{
    const struct tg_finding *f = only(TG_FIND_MISUSE);
    cr_assert_eq(f->sub, rule, "rule %s, expected %s", tg_finding_sub_name(f->kind, f->sub),
                 tg_finding_sub_name(TG_FIND_MISUSE, rule));
    cr_assert_eq(f->steps[0].role, TG_ROLE_CALL);
    return f;
}

Test(misuse, unlock_of_a_mutex_nobody_holds)
{
    start(0);
    unlock(0, LA);
    const struct tg_finding *f = only_misuse(TG_MISUSE_UNLOCK_NOT_HELD);
    cr_assert_eq(f->steps[0].thread, 0);
    cr_assert_eq(f->steps[0].stack, 55);
    cr_assert_eq(step_obj(f, 0), LA);
    cr_assert_eq(f->objs[0].kind, TG_OBJ_MUTEX);
}

Test(misuse, double_unlock)
{
    start(0);
    lock(0, LA);
    unlock(0, LA);
    unlock(0, LA);
    only_misuse(TG_MISUSE_UNLOCK_NOT_HELD);
}

Test(misuse, errorcheck_unlock_not_owned_is_one_finding)
{
    start(0);
    unlock_r(0, LA, TG_PERM);       /* EPERM: said once, as the rule it breaks */
    only_misuse(TG_MISUSE_UNLOCK_NOT_HELD);
}

Test(misuse, unlock_of_a_mutex_another_thread_holds)
{
    start(0);
    spawn(1);
    lock(1, LA);
    unlock(0, LA);
    const struct tg_finding *f = only_misuse(TG_MISUSE_UNLOCK_OTHER);
    cr_assert_eq(f->nsteps, 2);
    cr_assert_eq(f->steps[1].role, TG_ROLE_OWNER);
    cr_assert_eq(f->steps[1].thread, 1);
    cr_assert_eq(f->steps[1].held.stack, LA & 0xffff, "where the owner took it");
    /* the plain mutex is now unlocked: the owner's own unlock comes too late */
    unlock(1, LA);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_UNLOCK_NOT_HELD), 1);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, -1), 2);
}

Test(misuse, rwlock_unlock_by_a_non_reader)
{
    start(0);
    spawn(1);
    rdlock(1, LA);
    rwunlock(0, LA);
    only_misuse(TG_MISUSE_UNLOCK_OTHER);
}

Test(misuse, destroy_of_a_locked_mutex)
{
    start(0);
    spawn(1);
    lock(1, LA);
    EV(.kind = TG_EV_MUTEX_DESTROY, .thread = 0, .obj = LA, .result = TG_BUSY, .stack = 3);
    const struct tg_finding *f = only_misuse(TG_MISUSE_DESTROY_LOCKED);
    cr_assert_eq(f->steps[0].result, TG_BUSY);
    cr_assert_eq(f->steps[1].role, TG_ROLE_OWNER);
    cr_assert_eq(f->steps[1].thread, 1);
}

Test(misuse, destroy_busy_with_no_known_holder_is_still_destroy_locked)
{
    start(0);
    EV(.kind = TG_EV_MUTEX_DESTROY, .thread = 0, .obj = LA, .result = TG_BUSY);
    only_misuse(TG_MISUSE_DESTROY_LOCKED);
}

Test(misuse, destroy_of_a_rwlock_with_a_waiter)
{
    start(0);
    spawn(1);
    spawn(2);
    wrlock(1, LA);
    EV(.kind = TG_EV_WR_REQ, .thread = 2, .obj = LA);
    rwunlock(1, LA);
    EV(.kind = TG_EV_RW_DESTROY, .thread = 1, .obj = LA);
    const struct tg_finding *f = only_misuse(TG_MISUSE_DESTROY_WAITERS);
    cr_assert_eq(f->steps[1].role, TG_ROLE_OWNER);
    cr_assert_eq(f->steps[1].thread, 2);
    cr_assert_eq(f->steps[1].wait, TG_WAIT_LOCK);
}

Test(misuse, destroy_of_a_condition_with_a_waiter)
{
    start(0);
    spawn(1);
    lock(1, LA);
    cwait(1, CV, LA, false);
    EV(.kind = TG_EV_COND_DESTROY, .thread = 0, .obj = CV);
    only_misuse(TG_MISUSE_DESTROY_WAITERS);
}

Test(misuse, destroy_of_a_condition_right_after_broadcast_is_fine)
{
    /* POSIX: a condition may be destroyed once all its waiters are woken */
    start(0);
    spawn(1);
    lock(1, LA);
    cwait(1, CV, LA, false);
    cbroadcast(0, CV);
    EV(.kind = TG_EV_COND_DESTROY, .thread = 0, .obj = CV);
    cwoke(1, CV, LA, TG_OK);
    unlock(1, LA);
    assert_clean();
}

Test(misuse, destroy_of_a_semaphore_with_a_waiter)
{
    start(0);
    spawn(1);
    sinit(0, SEM, 0);
    sreq(1, SEM);
    EV(.kind = TG_EV_SEM_DESTROY, .thread = 0, .obj = SEM);
    only_misuse(TG_MISUSE_DESTROY_WAITERS);
}

Test(misuse, destroy_of_a_barrier_with_a_waiter)
{
    start(0);
    spawn(1);
    EV(.kind = TG_EV_BARRIER_INIT, .thread = 0, .obj = BAR, .p0 = 2);
    EV(.kind = TG_EV_BARRIER_WAIT, .thread = 1, .obj = BAR);
    EV(.kind = TG_EV_BARRIER_DESTROY, .thread = 0, .obj = BAR, .result = TG_BUSY);
    only_misuse(TG_MISUSE_DESTROY_WAITERS);
}

Test(misuse, thread_exits_holding_locks)
{
    start(0);
    spawn(1);
    lock(1, LA);
    rdlock(1, LB);
    EV(.kind = TG_EV_THREAD_EXIT, .thread = 1, .stack = 66);
    const struct tg_finding *f = only_misuse(TG_MISUSE_EXIT_HOLDING);
    cr_assert_eq(f->steps[0].event, TG_EV_THREAD_EXIT);
    cr_assert_eq(f->steps[0].nothers, 2);
    /* its locks are free again: main can take them without any finding */
    lock(0, LA);
    unlock(0, LA);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, -1), 1);
}

Test(misuse, many_threads_exiting_the_same_way_is_one_finding)
{
    start(0);
    for (uint32_t t = 1; t <= 50; t++) {
        spawn(t);
        lock_s(t, 0x100000 + t * 64, 7);
        texit(t);
    }
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_EXIT_HOLDING), 50,
                 "different locks: different findings");
    gen_teardown();
    gen_setup();
    start(0);
    for (uint32_t t = 1; t <= 50; t++) {
        spawn(t);
        lock_s(t, LA, 7);
        texit(t);
    }
    const struct tg_finding *f = only_misuse(TG_MISUSE_EXIT_HOLDING);
    cr_assert_eq(f->count, 50);
}

Test(misuse, process_exit_while_holding_is_fine)
{
    start(0);
    lock(0, LA);
    pexit();
    assert_clean();
}

Test(misuse, what_threads_do_after_the_process_exit_is_not_misuse)
{
    /* main returns while a detached worker holds the queue's mutex; the
     * worker runs on while exit() tears the process down, and its records
     * come after PROCESS_EXIT (joinable_queue under load) */
    start(0);
    spawn(1);
    lock(1, LA);
    pexit();
    cwait(1, CV, LA, true);
    unlock(1, LA);
    unlock(1, LB);
    assert_clean();
}

Test(misuse, condition_wait_without_holding_the_mutex)
{
    start(0);
    spawn(1);
    cwait(1, CV, LA, true);
    const struct tg_finding *f = only_misuse(TG_MISUSE_COND_NOT_HELD);
    cr_assert_eq(step_obj(f, 0), CV);
    cr_assert_eq(step_held(f, 0), LA);
    cr_assert_eq(f->steps[0].held.mode, TG_MODE_NONE);
}

Test(misuse, failed_condition_wait_does_not_take_the_mutex)
{
    /* pthread_cond_wait on an errorcheck mutex not held returns EPERM at
     * once: the mutex is still not held, so destroying it is fine */
    start(0);
    minit(0, LA, TG_MUTEX_ERRORCHECK);
    cwait(0, CV, LA, false);
    cwoke(0, CV, LA, TG_PERM);
    EV(.kind = TG_EV_MUTEX_DESTROY, .thread = 0, .obj = LA);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_COND_NOT_HELD), 1);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_ERROR_RETURN), 1);
    const struct tg_finding *const *fs;
    cr_assert_eq(findings(&fs), 2, "no destroy-locked");
}

Test(misuse, condition_wait_with_a_bad_deadline_keeps_the_mutex)
{
    /* EINVAL from pthread_cond_timedwait: the mutex was never released, so
     * the unlock after it is an unlock of a held mutex */
    start(0);
    spawn(1);
    lock(0, LA);
    cwait(0, CV, LA, true);
    cwoke(0, CV, LA, TG_INVAL);
    unlock(0, LA);
    lock(1, LA);
    unlock(1, LA);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_ERROR_RETURN), 1);
    const struct tg_finding *const *fs;
    cr_assert_eq(findings(&fs), 1, "no unlock-not-held");
}

Test(misuse, late_release_after_a_reordered_acquisition_is_not_misuse)
{
    /* read live under load, T2's acquisition can arrive before T1's release
     * (which happened first): T1's release is then late, not a misuse */
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LA);
    lock(2, LA);
    unlock(1, LA);
    unlock(2, LA);
    lock(1, LB);
    lock(2, LB);
    unlock(2, LB);
    unlock(1, LB);
    assert_clean();
}

Test(misuse, displaced_thread_unlocking_twice_is_still_misuse)
{
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LA);
    lock(2, LA);
    unlock(1, LA);          /* the late release */
    unlock(2, LA);
    unlock(1, LA);          /* one more: nobody holds it */
    only_misuse(TG_MISUSE_UNLOCK_NOT_HELD);
}

Test(misuse, two_mutexes_on_one_condition)
{
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LA);
    cwait(1, CV, LA, false);
    lock(2, LB);
    cwait(2, CV, LB, false);
    const struct tg_finding *f = only_misuse(TG_MISUSE_COND_TWO_MUTEXES);
    cr_assert_eq(step_held(f, 0), LB);
    cr_assert_eq(f->steps[1].thread, 1);
    cr_assert_eq(step_held(f, 1), LA);
}

Test(misuse, two_mutexes_one_after_the_other_is_fine)
{
    start(0);
    spawn(1);
    lock(1, LA);
    cwait(1, CV, LA, true);
    cwoke(1, CV, LA, TG_TIMEDOUT);
    unlock(1, LA);
    lock(1, LB);
    cwait(1, CV, LB, true);
    cwoke(1, CV, LB, TG_TIMEDOUT);
    unlock(1, LB);
    assert_clean();
}

Test(misuse, timed_relock_of_a_normal_mutex)
{
    start(0);
    lock(0, LA);
    req_s(0, LA, 12, true);
    mfail(0, LA, TG_TIMEDOUT, true);
    const struct tg_finding *f = only_misuse(TG_MISUSE_RELOCK_TIMED);
    cr_assert_eq(f->steps[0].stack, 12);
    cr_assert_eq(f->steps[0].held.stack, LA & 0xffff);
}

Test(misuse, error_codes_returned)
{
    start(0);
    spawn(1);
    EV(.kind = TG_EV_MUTEX_INIT, .thread = 0, .obj = LA, .result = TG_INVAL, .stack = 1);
    EV(.kind = TG_EV_JOIN_DONE, .thread = 0, .obj = PTH(1), .result = TG_DEADLK, .stack = 2);
    EV(.kind = TG_EV_DETACH, .thread = 0, .obj = PTH(1), .result = TG_INVAL, .stack = 3);
    EV(.kind = TG_EV_SEM_POST, .thread = 0, .obj = SEM, .result = TG_RESULT_OTHER, .stack = 4);
    EV(.kind = TG_EV_RD_TRY, .thread = 0, .obj = LB, .result = TG_AGAIN, .stack = 5);
    EV(.kind = TG_EV_THREAD_CREATE, .thread = 0, .obj = 0, .result = TG_AGAIN, .stack = 6);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_ERROR_RETURN), 6);
    const struct tg_finding *const *fs;
    size_t n = findings(&fs);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(fs[i]->steps[0].stack, i + 1, "in time order");
}

Test(misuse, expected_results_are_not_misuse)
{
    start(0);
    spawn(1);
    lock(1, LA);
    trylock(0, LA, TG_BUSY);
    EV(.kind = TG_EV_WR_TRY, .thread = 0, .obj = LB, .result = TG_BUSY);
    EV(.kind = TG_EV_SEM_TRY, .thread = 0, .obj = SEM, .result = TG_AGAIN);
    req_s(0, LA, 1, true);
    mfail(0, LA, TG_TIMEDOUT, true);
    sreq(0, SEM);
    EV(.kind = TG_EV_SEM_FAIL, .thread = 0, .obj = SEM, .result = TG_INTR);
    lock(0, LB);
    cwait(0, CV, LB, true);
    cwoke(0, CV, LB, TG_TIMEDOUT);
    unlock(0, LB);
    EV(.kind = TG_EV_BARRIER_INIT, .thread = 0, .obj = BAR, .p0 = 1);
    EV(.kind = TG_EV_BARRIER_WAIT, .thread = 0, .obj = BAR);
    EV(.kind = TG_EV_BARRIER_DONE, .thread = 0, .obj = BAR, .result = TG_SERIAL);
    EV(.kind = TG_EV_JOIN_DONE, .thread = 0, .obj = PTH(1), .result = TG_BUSY);   /* tryjoin */
    assert_clean();
}

Test(misuse, same_misuse_a_thousand_times_is_one_finding)
{
    start(0);
    for (int i = 0; i < 1000; i++)
        unlock(0, LA);
    const struct tg_finding *f = only_misuse(TG_MISUSE_UNLOCK_NOT_HELD);
    cr_assert_eq(f->count, 1000);
}

Test(misuse, fork_child_releases_what_the_parent_held)
{
    /* pthread_atfork style: the parent holds A across fork, both unlock */
    start(0);
    lock(0, LA);
    EV(.kind = TG_EV_FORK, .thread = 0, .p0 = 4242, .p1 = 1);
    unlock(0, LA);
    PROC = 1;
    start(1);               /* (the tracer names the forking thread as its parent) */
    unlock(1, LA);
    EV(.kind = TG_EV_PROCESS_EXIT, .thread = 1);
    PROC = 0;
    assert_clean();
}

Test(misuse, process_shared_lock_released_in_another_process)
{
    start(0);
    PROC = 1;
    start_main(1);
    EV(.kind = TG_EV_MUTEX_REL, .thread = 1, .obj = LA, .pshared = true);
    assert_clean();
}

Test(misuse, lost_events_silence_hold_rules)
{
    start(0);
    EV(.kind = TG_EV_LOST, .thread = 0, .p0 = 10);
    unlock(0, LA);
    assert_clean();
    struct tg_analysis_counters c;
    tg_analysis_counters(A, &c);
    cr_assert_eq(c.lost, 10);
}
