/* tests/tui: events -> thread and lock lanes (the model's state machine). */
#include <criterion/criterion.h>

#include "events.h"

#define A 0xa000
#define B 0xb000
#define C 0xc000
#define S 0x5000

static struct tg_tui_model *m;

static void setup(void) { m = tg_tui_model_new(); cr_assert_not_null(m); }
static void teardown(void) { tg_tui_model_free(m); }

TestSuite(model, .init = setup, .fini = teardown);

Test(model, uncontended_lock_is_a_hold_between_acquire_and_release)
{
    start(m, 0, 0);
    ev(m, 10, 0, TG_EV_MUTEX_ACQ, A);
    ev(m, 20, 0, TG_EV_MUTEX_REL, A);
    ev(m, 30, 0, TG_EV_THREAD_EXIT, 0);

    cr_expect_eq(state_at(m, 0, 5), TG_TUI_ST_RUN);
    cr_expect_eq(state_at(m, 0, 10), TG_TUI_ST_HOLD);
    cr_expect_eq(shown_at(m, 0, 15), A);
    cr_expect_eq(state_at(m, 0, 20), TG_TUI_ST_RUN);
    cr_expect_eq(state_at(m, 0, 30), TG_TUI_ST_EXITED);
    cr_expect_eq(tg_tui_model_thread(m, 0)->nsegs, 4);
    cr_expect_eq(tg_tui_model_thread(m, 0)->end_ts, 30);

    size_t l = lock_lane(m, A);
    struct tg_tui_lockseg s;
    cr_assert_eq(tg_tui_model_lock_nsegs(m, l), 2);
    tg_tui_model_lockseg(m, l, 0, &s);
    cr_expect_eq(s.state, TG_TUI_LK_HELD);
    cr_expect_eq(s.owner, 0u);
    tg_tui_model_lockseg(m, l, 1, &s);
    cr_expect_eq(s.state, TG_TUI_LK_FREE);
    cr_expect_eq(s.ts, 20);

    const struct tg_tui_object *o = tg_tui_model_object(m, tg_tui_model_lock_object(m, l));
    cr_expect_eq(o->acquisitions, 1);
    cr_expect_eq(o->contended, 0);
    cr_expect_eq(o->hold_max, 10);
}

Test(model, contended_lock_waits_and_counts)
{
    start(m, 0, 1);
    start(m, 1, 2);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev(m, 15, 2, TG_EV_MUTEX_REQ, A);
    ev(m, 20, 1, TG_EV_MUTEX_REL, A);
    ev(m, 25, 2, TG_EV_MUTEX_ACQ, A);

    cr_expect_eq(state_at(m, 2, 16), TG_TUI_ST_WAIT_LOCK);
    cr_expect_eq(shown_at(m, 2, 16), A);
    cr_expect_eq(state_at(m, 2, 25), TG_TUI_ST_HOLD);

    size_t l = lock_lane(m, A);
    size_t i = tg_tui_model_lockseg_at(m, l, 17);
    struct tg_tui_lockseg s;
    tg_tui_model_lockseg(m, l, i, &s);
    cr_expect_eq(s.state, TG_TUI_LK_CONTENDED);
    cr_expect_eq(s.waiters, 1);
    cr_expect_eq(s.owner, tg_tui_model_thread_lane(m, 1));

    const struct tg_tui_object *o = tg_tui_model_object(m, tg_tui_model_lock_object(m, l));
    cr_expect_eq(o->acquisitions, 2);
    cr_expect_eq(o->contended, 1);
    cr_expect_eq(o->wait_total, 10);
    cr_expect_eq(o->wait_max, 10);
    cr_expect_eq(o->owner_changes, 1);
    cr_expect_eq(o->max_waiters, 1);
}

Test(model, a_holder_shows_the_lock_others_wait_for)
{
    start(m, 0, 1);
    start(m, 0, 2);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev(m, 11, 1, TG_EV_MUTEX_ACQ, B);
    cr_expect_eq(shown_at(m, 1, 12), B, "the most recent lock by default");
    ev(m, 20, 2, TG_EV_MUTEX_REQ, A);
    cr_expect_eq(shown_at(m, 1, 21), A, "the contended one once someone waits");

    /* that change is not an event of thread 1: n/N skip it */
    uint32_t lane = tg_tui_model_thread_lane(m, 1);
    struct tg_tui_seg seg;
    tg_tui_model_seg(m, lane, tg_tui_model_seg_at(m, lane, 21), &seg);
    cr_expect_eq(seg.kind, TG_EV_NONE);
    cr_expect_eq(tg_tui_model_thread_step(m, lane, 11, 1), SIZE_MAX);
}

Test(model, the_abba_deadlock_leaves_both_threads_waiting)
{
    start(m, 0, 1);
    start(m, 0, 2);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev(m, 11, 2, TG_EV_MUTEX_ACQ, B);
    ev(m, 12, 1, TG_EV_MUTEX_REQ, B);
    ev(m, 13, 2, TG_EV_MUTEX_REQ, A);
    tg_tui_model_set_now(m, 1000);

    cr_expect_eq(state_at(m, 1, 999), TG_TUI_ST_WAIT_LOCK);
    cr_expect_eq(shown_at(m, 1, 999), B);
    cr_expect_eq(state_at(m, 2, 999), TG_TUI_ST_WAIT_LOCK);
    cr_expect_eq(shown_at(m, 2, 999), A);
    cr_expect_eq(tg_tui_model_end(m), 1000);

    struct tg_tui_lockseg s;
    size_t la = lock_lane(m, A);
    tg_tui_model_lockseg(m, la, tg_tui_model_lockseg_at(m, la, 999), &s);
    cr_expect_eq(s.state, TG_TUI_LK_CONTENDED);
    cr_expect_eq(s.owner, tg_tui_model_thread_lane(m, 1));
}

Test(model, condition_wait_releases_and_retakes_the_mutex)
{
    start(m, 0, 1);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev_p0(m, 20, 1, TG_EV_COND_WAIT, C, A);
    cr_expect_eq(state_at(m, 1, 25), TG_TUI_ST_WAIT_COND);
    cr_expect_eq(shown_at(m, 1, 25), C);
    size_t l = lock_lane(m, A);
    struct tg_tui_lockseg s;
    tg_tui_model_lockseg(m, l, tg_tui_model_lockseg_at(m, l, 25), &s);
    cr_expect_eq(s.state, TG_TUI_LK_FREE, "the mutex is free during the wait");
    ev_p0(m, 30, 1, TG_EV_COND_WOKE, C, A);
    cr_expect_eq(state_at(m, 1, 30), TG_TUI_ST_HOLD);
    cr_expect_eq(shown_at(m, 1, 30), A);
    tg_tui_model_lockseg(m, l, tg_tui_model_lockseg_at(m, l, 30), &s);
    cr_expect_eq(s.state, TG_TUI_LK_HELD);
    ev(m, 40, 1, TG_EV_MUTEX_REL, A);
    cr_expect_eq(state_at(m, 1, 40), TG_TUI_ST_RUN);
}

Test(model, recursive_locks_are_held_until_the_last_unlock)
{
    start(m, 0, 1);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev(m, 11, 1, TG_EV_MUTEX_ACQ, A);
    ev(m, 12, 1, TG_EV_MUTEX_REL, A);
    cr_expect_eq(state_at(m, 1, 12), TG_TUI_ST_HOLD);
    ev(m, 13, 1, TG_EV_MUTEX_REL, A);
    cr_expect_eq(state_at(m, 1, 13), TG_TUI_ST_RUN);
    const struct tg_tui_object *o = tg_tui_model_object(m, tg_tui_model_find_object(m, 0, A));
    cr_expect_eq(o->hold_max, 3);
}

Test(model, semaphore_holds_show_once_the_same_thread_posts)
{
    ev_p0(m, 0, 0, TG_EV_SEM_INIT, S, 2);
    for (uint32_t t = 1; t <= 3; t++)
        start(m, t, t);
    ev(m, 10, 1, TG_EV_SEM_ACQ, S);
    ev(m, 11, 2, TG_EV_SEM_ACQ, S);
    ev(m, 12, 3, TG_EV_SEM_REQ, S);
    ev(m, 13, 1, TG_EV_SLEEP_BEGIN, 0);
    ev(m, 20, 1, TG_EV_SLEEP_END, 0);
    cr_expect_eq(state_at(m, 1, 11), TG_TUI_ST_RUN, "not known to be a hold yet");
    cr_expect_eq(state_at(m, 3, 12), TG_TUI_ST_WAIT_SEM);
    ev(m, 30, 1, TG_EV_SEM_POST, S);
    cr_expect_eq(state_at(m, 1, 11), TG_TUI_ST_HOLD, "a hold once thread 1 gave it back");
    cr_expect_eq(shown_at(m, 1, 11), S);
    cr_expect_eq(state_at(m, 1, 15), TG_TUI_ST_SLEEP, "sleeping stays sleeping");
    cr_expect_eq(state_at(m, 1, 22), TG_TUI_ST_HOLD);
    cr_expect_eq(state_at(m, 1, 30), TG_TUI_ST_RUN);
    ev(m, 31, 3, TG_EV_SEM_ACQ, S);

    size_t l = lock_lane(m, S);
    struct tg_tui_lockseg s;
    for (size_t i = 0; i < tg_tui_model_lock_nsegs(m, l); i++) {
        tg_tui_model_lockseg(m, l, i, &s);
        cr_expect_leq(s.holders, 2, "never more holders than units");
    }
    tg_tui_model_lockseg(m, l, tg_tui_model_lockseg_at(m, l, 12), &s);
    cr_expect_eq(s.state, TG_TUI_LK_CONTENDED);
    cr_expect_eq(s.waiters, 1);
    cr_expect_eq(s.holders, 2);

    /* the prefix sums follow the rewrite */
    uint64_t t[TG_TUI_ST_COUNT];
    tg_tui_model_thread_time(m, tg_tui_model_thread_lane(m, 1), 0, 40, t);
    cr_expect_eq(t[TG_TUI_ST_HOLD], 3 + 10);
    cr_expect_eq(t[TG_TUI_ST_SLEEP], 7);
}

Test(model, a_consumer_semaphore_is_never_a_hold)
{
    start(m, 0, 1);
    start(m, 0, 2);
    for (uint64_t i = 0; i < 40; i++) {
        ev(m, 10 + i * 10, 1, TG_EV_SEM_POST, S);
        ev(m, 12 + i * 10, 2, TG_EV_SEM_ACQ, S);
    }
    for (uint64_t t = 0; t < 420; t += 3)
        cr_expect_neq(state_at(m, 2, t), TG_TUI_ST_HOLD);
}

Test(model, join_waits_for_the_target_thread)
{
    start(m, 0, 0);
    start(m, 5, 1);
    ev(m, 10, 0, TG_EV_JOIN_REQ, 0x1001);
    cr_expect_eq(state_at(m, 0, 11), TG_TUI_ST_WAIT_JOIN);
    uint32_t lane = tg_tui_model_thread_lane(m, 0);
    struct tg_tui_seg s;
    tg_tui_model_seg(m, lane, tg_tui_model_seg_at(m, lane, 11), &s);
    const struct tg_tui_object *o = tg_tui_model_object(m, s.shown);
    cr_assert_not_null(o);
    cr_expect_eq(o->kind, TG_TUI_OBJ_THREAD);
    cr_expect_eq(o->target_lane, tg_tui_model_thread_lane(m, 1));
    ev(m, 20, 1, TG_EV_THREAD_EXIT, 0);
    ev(m, 21, 0, TG_EV_JOIN_DONE, 0x1001);
    cr_expect_eq(state_at(m, 0, 21), TG_TUI_ST_RUN);
}

Test(model, sleeping_while_holding_names_the_lock)
{
    start(m, 0, 1);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, B);
    ev(m, 11, 1, TG_EV_SLEEP_BEGIN, 0);
    cr_expect_eq(state_at(m, 1, 12), TG_TUI_ST_SLEEP);
    cr_expect_eq(shown_at(m, 1, 12), B);
}

Test(model, barrier_and_process_exit)
{
    start(m, 0, 0);
    start(m, 1, 1);
    ev(m, 10, 1, TG_EV_BARRIER_WAIT, 0xbb);
    cr_expect_eq(state_at(m, 1, 11), TG_TUI_ST_WAIT_BARRIER);
    ev(m, 20, 0, TG_EV_PROCESS_EXIT, 0);
    cr_expect_eq(state_at(m, 0, 20), TG_TUI_ST_EXITED);
    cr_expect_eq(state_at(m, 1, 20), TG_TUI_ST_EXITED, "every thread of the process ends");
}

Test(model, failed_exec_revives_the_process)
{
    start(m, 0, 0);
    start(m, 1, 1);
    start(m, 2, 2);
    ev(m, 5, 2, TG_EV_THREAD_EXIT, 0);
    ev(m, 10, 1, TG_EV_BARRIER_WAIT, 0xbb);
    struct tg_ev x = { .ts = 20, .thread = 0, .kind = TG_EV_PROCESS_EXIT, .p1 = TG_EXIT_EXEC };
    cr_assert_eq(tg_tui_model_add(m, &x), 0);
    cr_expect_eq(state_at(m, 1, 20), TG_TUI_ST_EXITED);
    ev_p0(m, 21, 0, TG_EV_EXEC_FAIL, 0, 2);
    cr_expect_eq(state_at(m, 0, 22), TG_TUI_ST_RUN, "the exec failed: main goes on");
    cr_expect_eq(state_at(m, 1, 22), TG_TUI_ST_WAIT_BARRIER, "and its threads, as they were");
    cr_expect_eq(state_at(m, 2, 22), TG_TUI_ST_EXITED, "a thread that had ended stays ended");
    cr_expect_eq(tg_tui_model_thread(m, tg_tui_model_thread_lane(m, 1))->end_ts, 0);
}

Test(model, failed_trylock_is_a_mark_not_a_hold)
{
    start(m, 0, 1);
    start(m, 0, 2);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev_res(m, 15, 2, TG_EV_MUTEX_TRY, A, TG_BUSY);
    cr_expect_eq(state_at(m, 2, 15), TG_TUI_ST_RUN);
    const struct tg_tui_object *o = tg_tui_model_object(m, tg_tui_model_find_object(m, 0, A));
    cr_expect_eq(o->try_failed, 1);
    ev_res(m, 16, 2, TG_EV_MUTEX_TRY, A, TG_OK);    /* impossible but must not crash */
    ev_res(m, 20, 2, TG_EV_MUTEX_REL, B, TG_PERM);
    cr_expect_eq(state_at(m, 2, 20), TG_TUI_ST_HOLD);
}

Test(model, unlock_by_another_thread_frees_the_owner)
{
    start(m, 0, 1);
    start(m, 0, 2);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev(m, 20, 2, TG_EV_MUTEX_REL, A);
    cr_expect_eq(state_at(m, 1, 21), TG_TUI_ST_RUN, "the owner no longer holds it");
    size_t l = lock_lane(m, A);
    struct tg_tui_lockseg s;
    tg_tui_model_lockseg(m, l, tg_tui_model_lockseg_at(m, l, 21), &s);
    cr_expect_eq(s.state, TG_TUI_LK_FREE);
}

Test(model, readers_share_and_a_writer_waits)
{
    for (uint32_t t = 1; t <= 3; t++)
        start(m, 0, t);
    ev(m, 10, 1, TG_EV_RD_ACQ, A);
    ev(m, 11, 2, TG_EV_RD_ACQ, A);
    ev(m, 12, 3, TG_EV_WR_REQ, A);
    size_t l = lock_lane(m, A);
    struct tg_tui_lockseg s;
    tg_tui_model_lockseg(m, l, tg_tui_model_lockseg_at(m, l, 11), &s);
    cr_expect_eq(s.state, TG_TUI_LK_SHARED);
    cr_expect_eq(s.holders, 2);
    tg_tui_model_lockseg(m, l, tg_tui_model_lockseg_at(m, l, 12), &s);
    cr_expect_eq(s.state, TG_TUI_LK_CONTENDED);
    ev(m, 20, 1, TG_EV_RW_REL, A);
    ev(m, 21, 2, TG_EV_RW_REL, A);
    ev(m, 22, 3, TG_EV_WR_ACQ, A);
    tg_tui_model_lockseg(m, l, tg_tui_model_lockseg_at(m, l, 22), &s);
    cr_expect_eq(s.state, TG_TUI_LK_HELD);
    cr_expect_eq(s.owner, tg_tui_model_thread_lane(m, 3));
    cr_expect_eq(state_at(m, 1, 20), TG_TUI_ST_RUN);
}

Test(model, names_from_events_and_callers)
{
    start(m, 0, 0);
    start(m, 1, 3);
    struct tg_ev e = { .ts = 2, .obj = 0x1003, .thread = 0, .kind = TG_EV_THREAD_NAME,
                       .str = "worker" };
    cr_assert_eq(tg_tui_model_add(m, &e), 0);
    cr_expect_str_eq(tg_tui_model_thread(m, tg_tui_model_thread_lane(m, 3))->name, "worker",
                     "pthread_setname_np on another thread names that thread");
    cr_expect_null(tg_tui_model_thread(m, tg_tui_model_thread_lane(m, 0))->name);
    /* a thread created but not started yet: its caller keeps its own name */
    e.obj = 0x1005;
    e.str = "not-started";
    cr_assert_eq(tg_tui_model_add(m, &e), 0);
    cr_expect_null(tg_tui_model_thread(m, tg_tui_model_thread_lane(m, 0))->name,
                   "naming a thread before it starts does not name the caller");
    ev(m, 3, 0, TG_EV_MUTEX_ACQ, A);
    uint32_t id = tg_tui_model_find_object(m, 0, A);
    cr_assert_eq(tg_tui_model_set_object_name(m, id, "mutexA"), 0);
    cr_expect_str_eq(tg_tui_model_object(m, id)->name, "mutexA");
}

Test(model, next_and_previous_event_of_a_lane)
{
    start(m, 0, 1);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev(m, 20, 1, TG_EV_MUTEX_REL, A);
    ev(m, 30, 1, TG_EV_THREAD_EXIT, 0);
    uint32_t lane = tg_tui_model_thread_lane(m, 1);
    cr_expect_eq(tg_tui_model_thread_step(m, lane, 10, 1), 2, "strictly after");
    cr_expect_eq(tg_tui_model_thread_step(m, lane, 11, 1), 2);
    cr_expect_eq(tg_tui_model_thread_step(m, lane, 30, 1), SIZE_MAX);
    cr_expect_eq(tg_tui_model_thread_step(m, lane, 20, -1), 1, "strictly before");
    cr_expect_eq(tg_tui_model_thread_step(m, lane, 0, -1), SIZE_MAX);
    cr_expect_eq(tg_tui_model_seg_at(m, lane, 25), 2);
    cr_expect_eq(tg_tui_model_seg_end(m, lane, 2), 30);
}

Test(model, findings_mark_their_threads)
{
    start(m, 0, 1);
    start(m, 0, 2);
    ev(m, 50, 1, TG_EV_MUTEX_ACQ, A);
    struct tg_tui_finding f = { .kind = TG_TUI_FIND_DEADLOCK, .ts = 40, .summary = "deadlock",
                                .threads = { 1, 2 }, .nthreads = 2, .addrs = { A }, .naddrs = 1 };
    cr_assert_eq(tg_tui_model_add_finding(m, &f), 0);
    cr_expect_eq(tg_tui_model_nfindings(m), 1);
    cr_expect_str_eq(tg_tui_model_finding(m, 0)->summary, "deadlock");
    struct tg_tui_cell c;
    tg_tui_model_bin_thread(m, tg_tui_model_thread_lane(m, 2), 0, 100, &c, 1);
    cr_expect_eq(c.mark, TG_TUI_MARK_FINDING);
}

/* Live, the detectors may withdraw a finding: a lock-order inversion that
 * then really deadlocked is told by the deadlock alone. The session
 * replaces the list; the withdrawn finding's marks go, a RACE event's stay. */
Test(model, findings_can_be_replaced)
{
    start(m, 0, 1);
    start(m, 0, 2);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev(m, 20, 2, TG_EV_MUTEX_ACQ, B);
    ev(m, 30, 2, TG_EV_RACE, 0x9000);
    ev(m, 50, 1, TG_EV_MUTEX_REQ, B);
    tg_tui_model_set_now(m, 100);
    struct tg_tui_finding order = { .kind = TG_TUI_FIND_LOCK_ORDER, .ts = 20, .summary = "order",
                                    .threads = { 2 }, .nthreads = 1, .addrs = { A, B }, .naddrs = 2 };
    struct tg_tui_finding dl = { .kind = TG_TUI_FIND_DEADLOCK, .ts = 50, .summary = "deadlock",
                                 .threads = { 1, 2 }, .nthreads = 2, .addrs = { A, B }, .naddrs = 2 };
    uint32_t l1 = tg_tui_model_thread_lane(m, 1), l2 = tg_tui_model_thread_lane(m, 2);
    struct tg_tui_cell c[6];

    cr_assert_eq(tg_tui_model_add_finding(m, &order), 0);
    tg_tui_model_bin_thread(m, l2, 0, 10, c, 6);
    cr_expect_eq(c[2].mark, TG_TUI_MARK_FINDING, "the lock-order finding at 20");
    tg_tui_model_clear_findings(m);
    cr_expect_eq(tg_tui_model_nfindings(m), 0);
    cr_assert_eq(tg_tui_model_add_finding(m, &dl), 0);
    cr_expect_eq(tg_tui_model_nfindings(m), 1);
    cr_expect_str_eq(tg_tui_model_finding(m, 0)->summary, "deadlock");
    tg_tui_model_bin_thread(m, l2, 0, 10, c, 6);
    cr_expect_eq(c[2].mark, TG_TUI_MARK_NONE, "the withdrawn finding's mark is gone");
    cr_expect_eq(c[3].mark, TG_TUI_MARK_FINDING, "the RACE event's mark stays");
    cr_expect_eq(c[5].mark, TG_TUI_MARK_FINDING, "the deadlock's mark");
    tg_tui_model_bin_lock(m, lock_lane(m, A), 0, 10, c, 6);
    cr_expect_eq(c[2].mark, TG_TUI_MARK_NONE, "and on the lock lane");
    cr_expect_eq(c[5].mark, TG_TUI_MARK_FINDING);
    tg_tui_model_bin_thread(m, l1, 0, 10, c, 6);
    cr_expect_eq(c[5].mark, TG_TUI_MARK_FINDING);
    tg_tui_model_clear_findings(m);
    tg_tui_model_bin_thread(m, l1, 0, 10, c, 6);
    cr_expect_eq(c[5].mark, TG_TUI_MARK_NONE);
}

Test(model, time_never_goes_back_within_a_lane)
{
    start(m, 100, 1);
    ev(m, 50, 1, TG_EV_MUTEX_ACQ, A);   /* a bad trace: clamped, not a crash */
    uint32_t lane = tg_tui_model_thread_lane(m, 1);
    struct tg_tui_seg s;
    tg_tui_model_seg(m, lane, 1, &s);
    cr_expect_eq(s.ts, 100);
}
