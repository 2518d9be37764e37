/* Real deadlocks: wait-for cycles, self relock, every thread blocked; the
 * settle time, live ticks against the offline end state, and false alarms. */
#include "gen.h"

#define LA 0x601000ull
#define LB 0x602000ull
#define CV 0x605000ull
#define SEM 0x606000ull
#define SETTLE TG_SETTLE_NS_DEFAULT

TestSuite(deadlock, .init = gen_setup, .fini = gen_teardown);

static void abba_hang(void)
{
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LA);
    lock(2, LB);
    req(1, LB);
    req(2, LA);
}

Test(deadlock, abba_cycle_confirmed_after_settle_on_tick)
{
    abba_hang();
    uint64_t formed = NOW;
    cr_assert_eq(tg_analysis_tick(A, formed + SETTLE - 1), 0, "not before the settle time");
    cr_assert_not(tg_analysis_deadlocked(A, 0));
    cr_assert_eq(tg_analysis_tick(A, formed + SETTLE), 1);
    cr_assert(tg_analysis_deadlocked(A, 0));
    cr_assert_eq(tg_analysis_deadlocked_any(A), 0);
    cr_assert_eq(tg_analysis_tick(A, formed + 10 * SETTLE), 0, "reported once");
    const struct tg_finding *f = only(TG_FIND_DEADLOCK);   /* the lock-order cycle is folded in */
    cr_assert_eq(f->sub, TG_DEADLOCK_CYCLE);
    cr_assert_eq(f->ts, formed);
    cr_assert_eq(f->nsteps, 2);
    for (uint32_t i = 0; i < 2; i++) {
        const struct tg_step *s = &f->steps[i];
        cr_assert_eq(s->role, TG_ROLE_WAITS);
        cr_assert_eq(s->wait, TG_WAIT_LOCK);
        /* each waits for a lock the next one holds */
        cr_assert_eq(s->other_thread, f->steps[(i + 1) % 2].thread);
        cr_assert_eq(f->steps[(i + 1) % 2].held.obj, s->obj);
        uint64_t want = step_obj(f, i);
        cr_assert_eq(want, s->thread == 1 ? LB : LA);
    }
    /* ... and in the full list, with the lock-order finding hidden */
    struct tg_analysis_counters c;
    tg_analysis_counters(A, &c);
    cr_assert_eq(c.edges, 2);
}

Test(deadlock, abba_cycle_offline_at_end_of_trace)
{
    abba_hang();
    cr_assert_eq(tg_analysis_finish(A), 0);
    const struct tg_finding *f = only(TG_FIND_DEADLOCK);
    cr_assert_eq(f->sub, TG_DEADLOCK_CYCLE);
}

/* The same events, analysed live (ticks every 100 ms of trace clock) and
 * offline, give the same findings with the same keys and times. */
static void noodle_script(bool live)
{
    start(0);
    for (uint32_t t = 1; t <= 4; t++)
        spawn(t);
    lock(1, LA); lock(1, LB); unlock(1, LB); unlock(1, LA);
    if (live)
        tg_analysis_tick(A, NOW);
    lock(2, LB); lock(2, LA); unlock(2, LA); unlock(2, LB);
    lock(3, LA);
    lock(4, LB);
    req(3, LB);
    req(4, LA);
    if (live)
        for (uint64_t now = NOW; now < NOW + 2 * SETTLE; now += 100 * MS)
            tg_analysis_tick(A, now);
    tg_analysis_finish(A);
}

Test(deadlock, live_and_offline_agree)
{
    noodle_script(true);
    const struct tg_finding *const *fs;
    size_t n = findings(&fs);
    cr_assert_eq(n, 1);
    uint64_t key = fs[0]->key, ts = fs[0]->ts;
    gen_teardown();
    gen_setup();
    noodle_script(false);
    n = findings(&fs);
    cr_assert_eq(n, 1);
    cr_assert_eq(fs[0]->key, key);
    cr_assert_eq(fs[0]->ts, ts);
}

Test(deadlock, cycle_broken_before_settle_is_not_a_deadlock)
{
    /* (a signal handler or another process could do it; the lock-order
     * finding stays) */
    abba_hang();
    EV(.kind = TG_EV_MUTEX_FAIL, .thread = 2, .obj = LA, .result = TG_INTR);
    tg_analysis_finish(A);
    cr_assert_eq(count_kind(TG_FIND_DEADLOCK, -1), 0);
    cr_assert_eq(count_kind(TG_FIND_LOCK_ORDER, -1), 1);
}

Test(deadlock, timed_waits_are_not_deadlocks)
{
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LA);
    lock(2, LB);
    req_s(1, LB, 1, true);
    req_s(2, LA, 2, true);
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    tg_analysis_finish(A);
    cr_assert_eq(count_kind(TG_FIND_DEADLOCK, -1), 0);
    cr_assert_eq(count_kind(TG_FIND_LOCK_ORDER, -1), 1, "a timed lock still orders locks");
}

Test(deadlock, three_thread_cycle)
{
    start(0);
    for (uint32_t t = 1; t <= 3; t++)
        spawn(t);
    lock(1, 0x1000);
    lock(2, 0x2000);
    lock(3, 0x3000);
    req(1, 0x2000);
    req(2, 0x3000);
    join_req(0, 1, false);
    cr_assert_eq(tg_analysis_tick(A, NOW + SETTLE), 0);
    req(3, 0x1000);
    tg_analysis_finish(A);
    const struct tg_finding *f = only(TG_FIND_DEADLOCK);
    cr_assert_eq(f->sub, TG_DEADLOCK_CYCLE, "the cycle, not 'all blocked'");
    cr_assert_eq(f->nsteps, 3);
}

Test(deadlock, self_relock_of_normal_mutex)
{
    start(0);
    lock(0, LA);
    req(0, LA);
    tg_analysis_finish(A);
    const struct tg_finding *f = only(TG_FIND_DEADLOCK);
    cr_assert_eq(f->sub, TG_DEADLOCK_SELF);
    cr_assert_eq(f->nsteps, 1);
    cr_assert_eq(step_obj(f, 0), LA);
    cr_assert_eq(step_held(f, 0), LA);
    cr_assert_eq(f->steps[0].held.stack, LA & 0xffff, "where it was first locked");
    cr_assert_eq(f->steps[0].stack, (LA & 0xffff) + 1, "where it is relocked");
}

Test(deadlock, self_relock_while_other_threads_run)
{
    start(0);
    spawn(1);
    lock(1, LA);
    req(1, LA);
    cr_assert_eq(tg_analysis_tick(A, NOW + SETTLE), 1);
    cr_assert(tg_analysis_deadlocked(A, 0));
    cr_assert_eq(only(TG_FIND_DEADLOCK)->sub, TG_DEADLOCK_SELF);
}

Test(deadlock, errorcheck_relock_is_misuse_not_a_hang)
{
    start(0);
    lock_type(0, LA, TG_MUTEX_ERRORCHECK);
    EV(.kind = TG_EV_MUTEX_REQ, .thread = 0, .obj = LA, .mtype = TG_MUTEX_ERRORCHECK);
    EV(.kind = TG_EV_MUTEX_FAIL, .thread = 0, .obj = LA, .mtype = TG_MUTEX_ERRORCHECK,
       .result = TG_DEADLK, .stack = 8);
    tg_analysis_finish(A);
    const struct tg_finding *f = only(TG_FIND_MISUSE);
    cr_assert_eq(f->sub, TG_MISUSE_ERROR_RETURN);
    cr_assert_eq(f->steps[0].result, TG_DEADLK);
    cr_assert_eq(f->steps[0].event, TG_EV_MUTEX_FAIL);
}

Test(deadlock, recursive_relock_is_fine)
{
    start(0);
    lock_type(0, LA, TG_MUTEX_RECURSIVE);
    lock_type(0, LA, TG_MUTEX_RECURSIVE);
    unlock(0, LA);
    unlock(0, LA);
    pexit();
    tg_analysis_finish(A);
    assert_clean();
}

Test(deadlock, rwlock_upgrade_hangs)
{
    start(0);
    rdlock(0, LA);
    EV(.kind = TG_EV_WR_REQ, .thread = 0, .obj = LA);
    tg_analysis_finish(A);
    cr_assert_eq(only(TG_FIND_DEADLOCK)->sub, TG_DEADLOCK_SELF);
}

Test(deadlock, threads_joining_each_other)
{
    start(0);
    spawn(1);
    spawn(2);
    join_req(1, 2, false);
    join_req(2, 1, false);
    tg_analysis_finish(A);
    const struct tg_finding *f = only(TG_FIND_DEADLOCK);
    cr_assert_eq(f->sub, TG_DEADLOCK_CYCLE);
    cr_assert_eq(f->nsteps, 2);
    for (uint32_t i = 0; i < 2; i++) {
        cr_assert_eq(f->steps[i].wait, TG_WAIT_JOIN);
        cr_assert_eq(f->objs[f->steps[i].obj].kind, TG_OBJ_THREAD);
        cr_assert_eq(f->objs[f->steps[i].obj].addr, PTH(f->steps[i].other_thread));
    }
}

Test(deadlock, main_joins_a_thread_blocked_on_a_lock_main_holds)
{
    start(0);
    spawn(1);
    lock(0, LA);
    req(1, LA);
    join_req(0, 1, false);
    cr_assert_eq(tg_analysis_tick(A, NOW + SETTLE), 1);
    const struct tg_finding *f = only(TG_FIND_DEADLOCK);
    cr_assert_eq(f->sub, TG_DEADLOCK_CYCLE);
    bool saw_join = false, saw_lock = false;
    for (uint32_t i = 0; i < f->nsteps; i++) {
        saw_join |= f->steps[i].wait == TG_WAIT_JOIN && f->steps[i].thread == 0 &&
                    step_held(f, i) == LA;
        saw_lock |= f->steps[i].wait == TG_WAIT_LOCK && f->steps[i].thread == 1;
    }
    cr_assert(saw_join && saw_lock);
}

Test(deadlock, join_before_the_target_started)
{
    /* seen in a real run: main's JOIN_REQ is older than the child's start */
    start(0);
    lock(0, LA);
    create(0, 1);
    join_req(0, 1, false);
    start(1);
    req(1, LA);
    cr_assert_eq(tg_analysis_tick(A, NOW + SETTLE), 1);
    cr_assert_eq(only(TG_FIND_DEADLOCK)->sub, TG_DEADLOCK_CYCLE);
}

Test(deadlock, join_of_a_thread_known_only_when_it_starts)
{
    start(0);
    lock(0, LA);
    join_req(0, 5, false);      /* no THREAD_CREATE seen for it */
    start(5);
    req(5, LA);
    tg_analysis_finish(A);
    cr_assert_eq(only(TG_FIND_DEADLOCK)->sub, TG_DEADLOCK_CYCLE);
}

Test(deadlock, lost_wakeup)
{
    /* the worker signals before main waits; main then waits forever */
    start(0);
    spawn(1);
    lock(1, LA);
    csignal(1, CV);
    unlock(1, LA);
    texit(1);
    lock(0, LA);
    cwait(0, CV, LA, false);
    uint64_t formed = NOW;
    cr_assert_eq(tg_analysis_tick(A, formed + SETTLE / 2), 0);
    cr_assert_eq(tg_analysis_tick(A, formed + SETTLE), 1);
    cr_assert(tg_analysis_deadlocked(A, 0));
    const struct tg_finding *f = only(TG_FIND_DEADLOCK);
    cr_assert_eq(f->sub, TG_DEADLOCK_LOST_WAKEUP);
    cr_assert_eq(f->steps[0].wait, TG_WAIT_COND);
    cr_assert_eq(f->steps[0].thread, 0);
    cr_assert_eq(f->steps[1].role, TG_ROLE_SIGNAL);
    cr_assert_eq(f->steps[1].thread, 1);
    cr_assert_eq(f->steps[1].stack, 42);
}

Test(deadlock, every_thread_blocked_on_semaphore_and_join)
{
    start(0);
    spawn(1);
    sinit(0, SEM, 0);
    sreq(1, SEM);
    join_req(0, 1, false);
    tg_analysis_finish(A);
    const struct tg_finding *f = only(TG_FIND_DEADLOCK);
    cr_assert_eq(f->sub, TG_DEADLOCK_ALL_BLOCKED);
    cr_assert_eq(f->nsteps, 2);
    cr_assert_eq(f->steps[0].wait, TG_WAIT_JOIN);
    cr_assert_eq(f->steps[1].wait, TG_WAIT_SEM);
}

Test(deadlock, barrier_that_never_fills)
{
    start(0);
    spawn(1);
    EV(.kind = TG_EV_BARRIER_INIT, .thread = 0, .obj = 0x9000, .p0 = 3);
    EV(.kind = TG_EV_BARRIER_WAIT, .thread = 1, .obj = 0x9000);
    EV(.kind = TG_EV_BARRIER_WAIT, .thread = 0, .obj = 0x9000);
    tg_analysis_finish(A);
    cr_assert_eq(only(TG_FIND_DEADLOCK)->sub, TG_DEADLOCK_ALL_BLOCKED);
}

/* ---- no false alarm */

Test(deadlock, semaphore_wait_while_another_thread_runs)
{
    start(0);
    spawn(1);
    sinit(0, SEM, 0);
    sreq(0, SEM);
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    cr_assert_not(tg_analysis_deadlocked(A, 0));
    spost(1, SEM);
    sacq(0, SEM);
    texit(1);
    pexit();
    tg_analysis_finish(A);
    assert_clean();
}

Test(deadlock, sleeping_detached_thread_while_main_joins_another)
{
    start(0);
    spawn(1);
    spawn(2);
    EV(.kind = TG_EV_DETACH, .thread = 0, .obj = PTH(1));
    sleep_begin(1);
    sreq(2, SEM);           /* thread 2 waits for thread 1's post after its sleep */
    join_req(0, 2, false);
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    cr_assert_not(tg_analysis_deadlocked(A, 0));
    sleep_end(1);
    spost(1, SEM);
    sacq(2, SEM);
    texit(2);
    join_done(0, 2, TG_OK);
    pexit();
    tg_analysis_finish(A);
    assert_clean();
}

Test(deadlock, signalled_waiter_is_on_its_way_out)
{
    /* the trace ends between the signal and the waiter's return: the
     * waiter is not stuck, so neither is main joining it */
    start(0);
    spawn(1);
    lock(1, LA);
    cwait(1, CV, LA, false);
    lock(0, LA);
    csignal(0, CV);
    unlock(0, LA);
    join_req(0, 1, false);
    tg_analysis_finish(A);
    assert_clean();
}

Test(deadlock, posted_semaphore_waiter_is_on_its_way_out)
{
    start(0);
    spawn(1);
    spawn(2);
    sreq(1, SEM);
    sreq(2, SEM);
    spost(0, SEM);
    join_req(0, 1, false);
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    cr_assert_eq(tg_analysis_deadlocked_any(A), TG_NO_THREAD, "one waiter wakes");
    sacq(2, SEM);           /* the post went to thread 2, not the one waiting longest */
    texit(2);
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    /* now thread 1 waits for a post nobody will make, and main for thread 1 */
    cr_assert_eq(tg_analysis_deadlocked_any(A), 0);
    cr_assert_eq(only(TG_FIND_DEADLOCK)->sub, TG_DEADLOCK_ALL_BLOCKED);
}

Test(deadlock, timed_condition_wait_is_not_blocked)
{
    start(0);
    lock(0, LA);
    cwait(0, CV, LA, true);
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    tg_analysis_finish(A);
    assert_clean();
}

Test(deadlock, thread_created_but_not_started_counts_as_running)
{
    start(0);
    create(0, 1);
    sreq(0, SEM);
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    cr_assert_not(tg_analysis_deadlocked(A, 0));
    start(1);
    spost(1, SEM);
    sacq(0, SEM);
    texit(1);
    join(0, 1);
    pexit();
    tg_analysis_finish(A);
    assert_clean();
}

Test(deadlock, lock_held_by_running_thread_is_only_a_wait)
{
    start(0);
    spawn(1);
    lock(1, LA);
    req(0, LA);
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    tg_analysis_finish(A);
    assert_clean();
}

Test(deadlock, processes_are_judged_apart)
{
    start(0);
    EV(.kind = TG_EV_FORK, .thread = 0, .p0 = 4242, .p1 = 1);
    PROC = 1;
    start_main(1);
    sreq(1, SEM);           /* the child waits on its own semaphore; the parent runs on */
    PROC = 0;
    cr_assert_eq(tg_analysis_tick(A, NOW + SETTLE), 1);
    cr_assert_not(tg_analysis_deadlocked(A, 0));
    cr_assert(tg_analysis_deadlocked(A, 1));
    const struct tg_finding *f = only(TG_FIND_DEADLOCK);
    cr_assert_eq(f->process, 1);
    cr_assert_eq(f->nsteps, 1);
}

Test(deadlock, process_shared_wait_needs_every_process_asleep)
{
    start(0);
    EV(.kind = TG_EV_FORK, .thread = 0, .p0 = 4242, .p1 = 1);
    PROC = 1;
    start_main(1);
    EV(.kind = TG_EV_SEM_REQ, .thread = 1, .obj = SEM, .pshared = true);
    PROC = 0;
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    cr_assert_eq(tg_analysis_deadlocked_any(A), TG_NO_THREAD, "the parent may post it");
    EV(.kind = TG_EV_SEM_REQ, .thread = 0, .obj = 0x7777, .pshared = true);
    tg_analysis_finish(A);
    cr_assert_eq(count_kind(TG_FIND_DEADLOCK, TG_DEADLOCK_ALL_BLOCKED), 2);
}

Test(deadlock, fork_child_waiting_on_parents_shared_semaphore)
{
    /* sem_init(pshared=1) in the parent; the child's sem_wait record does
     * not say "shared", the object it waits on does */
    start(0);
    EV(.kind = TG_EV_SEM_INIT, .thread = 0, .obj = SEM, .p0 = 0, .p1 = 1, .pshared = true);
    EV(.kind = TG_EV_FORK, .thread = 0, .p0 = 4242, .p1 = 1);
    PROC = 1;
    start(1);
    sreq(1, SEM);
    PROC = 0;
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    cr_assert_eq(tg_analysis_deadlocked_any(A), TG_NO_THREAD);
    spost(0, SEM);
    PROC = 1;
    sacq(1, SEM);
    EV(.kind = TG_EV_PROCESS_EXIT, .thread = 1);
    PROC = 0;
    pexit();
    tg_analysis_finish(A);
    assert_clean();
}

Test(deadlock, shared_wait_after_the_other_process_ended)
{
    start(0);
    EV(.kind = TG_EV_SEM_INIT, .thread = 0, .obj = SEM, .p1 = 1, .pshared = true);
    EV(.kind = TG_EV_FORK, .thread = 0, .p0 = 4242, .p1 = 1);
    PROC = 1;
    start(1);
    sreq(1, SEM);
    PROC = 0;
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    cr_assert_eq(tg_analysis_deadlocked_any(A), TG_NO_THREAD);
    pexit();                /* the parent, who could have posted, is gone */
    tg_analysis_finish(A);
    const struct tg_finding *f = only(TG_FIND_DEADLOCK);
    cr_assert_eq(f->process, 1);
}

Test(deadlock, failed_exec_goes_on)
{
    start(0);
    spawn(1);
    EV(.kind = TG_EV_PROCESS_EXIT, .thread = 0, .p1 = TG_EXIT_EXEC);
    lock(0, LA);            /* the exec failed: main runs on */
    sreq(1, SEM);
    tg_analysis_tick(A, NOW + 10 * SETTLE);
    cr_assert_eq(tg_analysis_deadlocked_any(A), TG_NO_THREAD);
    req(0, LA);             /* ... and relocks its mutex */
    tg_analysis_finish(A);
    cr_assert_eq(count_kind(TG_FIND_DEADLOCK, TG_DEADLOCK_SELF), 1);
}

Test(deadlock, process_exit_ends_everything)
{
    start(0);
    spawn(1);
    sreq(1, SEM);
    pexit();
    tg_analysis_finish(A);
    assert_clean();
}
