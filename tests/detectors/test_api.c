/* The analysis API around the rules: announcements, order, names, findings
 * added from elsewhere (races), and the contention statistics. */
#include "gen.h"

#define LA 0x601000ull
#define LB 0x602000ull

static int announced;
static void on_finding(void *ctx, const struct tg_finding *f)
{
    cr_assert_eq(ctx, &announced);
    cr_assert_eq(f->count, 1);
    announced++;
}

static void setup_cb(void)
{
    announced = 0;
    struct tg_analysis_config cfg = { .on_finding = on_finding, .on_finding_ctx = &announced };
    gen_setup_cfg(&cfg);
}

TestSuite(api, .fini = gen_teardown);

Test(api, each_new_finding_is_announced_once, .init = setup_cb)
{
    start(0);
    for (int i = 0; i < 10; i++)
        unlock(0, LA);
    unlock(0, LB);
    cr_assert_eq(announced, 2);
}

Test(api, findings_in_time_order, .init = gen_setup)
{
    start(0);
    unlock(0, LB);
    spawn(1);
    lock(1, LA);
    texit(1);
    unlock(0, LB);
    const struct tg_finding *const *fs;
    cr_assert_eq(findings(&fs), 2);
    cr_assert_eq(fs[0]->sub, TG_MISUSE_UNLOCK_NOT_HELD);
    cr_assert_eq(fs[1]->sub, TG_MISUSE_EXIT_HOLDING);
    cr_assert_lt(fs[0]->ts, fs[1]->ts);
    cr_assert_eq(fs[0]->count, 2);
}

static uint64_t stack_by_frames(void *ctx, uint32_t id)
{
    (void)ctx;
    return id % 100;        /* ids 7 and 107 have the same frames */
}

Test(api, stack_key_makes_equal_frames_one_finding, .init = gen_setup)
{
    gen_teardown();
    struct tg_analysis_config cfg = { .keys = { .stack = stack_by_frames } };
    gen_setup_cfg(&cfg);
    start(0);
    EV(.kind = TG_EV_MUTEX_REL, .thread = 0, .obj = LA, .stack = 7);
    EV(.kind = TG_EV_MUTEX_REL, .thread = 0, .obj = LA, .stack = 107);
    EV(.kind = TG_EV_MUTEX_REL, .thread = 0, .obj = LA, .stack = 8);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, -1), 2);
}

Test(api, race_findings_added_from_outside, .init = gen_setup)
{
    struct tg_obj_ref var = { .process = 0, .kind = TG_OBJ_MEMORY, .addr = 0x404040 };
    struct tg_held_ref held = { .obj = 1, .mode = TG_MODE_EXCL, .stack = 9 };
    struct tg_obj_ref objs[2] = { var, { .kind = TG_OBJ_MUTEX, .addr = LA } };
    struct tg_step steps[2] = {
        { .role = TG_ROLE_ACCESS, .thread = 1, .obj = 0, .stack = 11, .pc = 0x1234,
          .addr = 0x404040, .size = 4, .access = 1, .nothers = 1, .others = &held },
        { .role = TG_ROLE_ACCESS, .thread = 2, .obj = 0, .stack = 12, .pc = 0x1250,
          .addr = 0x404040, .size = 4, .access = 0 },
    };
    uint32_t threads[2] = { 1, 2 };
    struct tg_finding f = {
        .kind = TG_FIND_RACE, .ts = 5000, .nobjs = 2, .objs = objs, .nsteps = 2,
        .steps = steps, .nthreads = 2, .threads = threads,
        .mem = { .addr = 0x404040, .size = 4 },
    };
    cr_assert_eq(tg_analysis_add(A, &f), 1);
    steps[0].thread = 7;                    /* same code, other threads */
    cr_assert_eq(tg_analysis_add(A, &f), 0);
    steps[1].stack = 13;
    f.ts = 6000;
    cr_assert_eq(tg_analysis_add(A, &f), 1);
    const struct tg_finding *const *fs;
    cr_assert_eq(findings(&fs), 2);
    cr_assert_eq(fs[0]->kind, TG_FIND_RACE);
    cr_assert_eq(fs[0]->count, 2);
    cr_assert_eq(fs[0]->steps[0].others[0].stack, 9, "copied deeply");
    cr_assert_eq(fs[0]->mem.size, 4);
    cr_assert_str_eq(tg_finding_kind_name(fs[0]->kind), "race");
}

/* Two threads touch a watched variable with nothing ordering them (a race
 * for --watch), and a RACE event of a tangle cc build arrives. */
static void unordered_watch_and_race_event(void)
{
    start(0);
    spawn(1);
    spawn(2);
    EV(.kind = TG_EV_WATCH_ACCESS, .thread = 1, .obj = 0x404010, .arg = 4 | TG_ACCESS_WRITE,
       .stack = 11, .p0 = 0x401011);
    EV(.kind = TG_EV_WATCH_ACCESS, .thread = 2, .obj = 0x404010, .arg = 4, .stack = 22,
       .p0 = 0x401022);
    struct tg_race_payload p = {
        .addr = 0x5000010, .size = 4, .flags = TG_RACE_PREV_WRITE, .cur_thread = 2,
        .prev_thread = 1, .cur_stack = 31, .prev_stack = 32, .prev_pc = 0x401234,
    };
    EV(.kind = TG_EV_RACE, .thread = 2, .obj = 0x5000010, .stack = 31, .data = &p,
       .len = sizeof p);
}

static size_t races_on(uint64_t addr)
{
    const struct tg_finding *const *fs;
    size_t n = findings(&fs), c = 0;
    for (size_t i = 0; i < n; i++)
        c += fs[i]->kind == TG_FIND_RACE && fs[i]->mem.addr == addr;
    return c;
}

Test(api, watch_races_need_the_watch_state, .fini = gen_teardown)
{
    NOW = 1000;
    cr_assert_eq(tg_analysis_new(NULL, &A), 0);
    unordered_watch_and_race_event();
    cr_assert_eq(races_on(0x404010), 1, "the --watch race");
    cr_assert_eq(races_on(0x5000010), 1, "the RACE event");
}

Test(api, skip_watch_keeps_race_events, .fini = gen_teardown)
{
    NOW = 1000;
    struct tg_analysis_config cfg = { .skip_watch = true };
    cr_assert_eq(tg_analysis_new(&cfg, &A), 0);
    unordered_watch_and_race_event();
    cr_assert_eq(races_on(0x404010), 0, "WATCH_ACCESS ignored without the state");
    cr_assert_eq(races_on(0x5000010), 1, "the RACE event still reported");
}

Test(api, names, .init = gen_setup)
{
    cr_assert_str_eq(tg_finding_kind_name(TG_FIND_DEADLOCK), "deadlock");
    cr_assert_str_eq(tg_finding_kind_name(TG_FIND_LOCK_ORDER), "lock-order");
    cr_assert_str_eq(tg_finding_kind_name(TG_FIND_MISUSE), "misuse");
    cr_assert_str_eq(tg_finding_sub_name(TG_FIND_DEADLOCK, TG_DEADLOCK_LOST_WAKEUP), "lost-wakeup");
    cr_assert_str_eq(tg_finding_sub_name(TG_FIND_MISUSE, TG_MISUSE_ERROR_RETURN), "error-return");
    cr_assert_str_eq(tg_obj_kind_name(TG_OBJ_RWLOCK), "rwlock");
}

/* ---- contention */

static void setup_stats(void)
{
    NOW = 1000;
    PROC = 0;
    cr_assert_eq(tg_contention_new(&C), 0);
}

Test(api, lock_contention, .init = setup_stats)
{
    start(0);
    spawn(1);
    spawn(2);
    lock(1, LA);                 /* t */
    uint64_t t_acq1 = NOW;
    req(2, LA);
    uint64_t t_req2 = NOW;
    advance(5000);
    unlock(1, LA);
    uint64_t t_rel1 = NOW;
    acq(2, LA);
    uint64_t t_acq2 = NOW;
    unlock(2, LA);
    uint64_t t_rel2 = NOW;
    lock(2, LA);
    unlock(2, LA);
    trylock(1, LA, TG_OK);
    unlock(1, LA);
    trylock(1, LA, TG_BUSY);
    const struct tg_lock_stats *ls;
    cr_assert_eq(tg_contention_locks(C, &ls), 1);
    cr_assert_eq(ls[0].addr, LA);
    cr_assert_eq(ls[0].acquisitions, 4);
    cr_assert_eq(ls[0].contended, 1);
    cr_assert_eq(ls[0].total_wait_ns, t_acq2 - t_req2);
    cr_assert_eq(ls[0].max_wait_ns, t_acq2 - t_req2);
    cr_assert_eq(ls[0].max_hold_ns, t_rel1 - t_acq1);
    cr_assert_geq(ls[0].total_hold_ns, (t_rel1 - t_acq1) + (t_rel2 - t_acq2));
    cr_assert_eq(ls[0].owner_changes, 2);
}

Test(api, thread_time_split, .init = setup_stats)
{
    start(0);
    uint64_t t0 = NOW;
    sleep_begin(0);
    advance(100000);
    sleep_end(0);
    uint64_t slept = NOW - (t0 + 1000);
    EV(.kind = TG_EV_SEM_REQ, .thread = 0, .obj = 0x9);
    uint64_t w0 = NOW;
    advance(50000);
    EV(.kind = TG_EV_SEM_ACQ, .thread = 0, .obj = 0x9);
    uint64_t waited = NOW - w0;
    advance(7000);
    tg_contention_finish(C, NOW);
    const struct tg_thread_stats *ts;
    cr_assert_eq(tg_contention_threads(C, &ts), 1);
    cr_assert_eq(ts[0].sleeping_ns, slept);
    cr_assert_eq(ts[0].waiting_ns, waited);
    cr_assert_eq(ts[0].waits, 1);
    cr_assert_eq(ts[0].end_ts, NOW);
    cr_assert_eq(ts[0].running_ns, (NOW - t0) - slept - waited);
}

Test(api, rwlock_readers_and_condition_holds, .init = setup_stats)
{
    start(0);
    spawn(1);
    rdlock(0, LA);
    rdlock(1, LA);
    rwunlock(0, LA);
    rwunlock(1, LA);
    lock(1, LB);
    EV(.kind = TG_EV_COND_WAIT, .thread = 1, .obj = 0x77, .p0 = LB);
    EV(.kind = TG_EV_COND_WOKE, .thread = 1, .obj = 0x77, .p0 = LB);
    unlock(1, LB);
    const struct tg_lock_stats *ls;
    cr_assert_eq(tg_contention_locks(C, &ls), 2);
    cr_assert_eq(ls[0].kind, TG_OBJ_RWLOCK);
    cr_assert_eq(ls[0].acquisitions, 2);
    cr_assert_eq(ls[0].owner_changes, 1);
    cr_assert_eq(ls[1].acquisitions, 2, "the condition wait takes the mutex again");
}

/* ---- nonsense in, no crash out */

Test(api, random_events_never_crash, .init = gen_setup)
{
    uint64_t x = 0x2545f4914f6cdd1dull;
    cr_assert_eq(tg_contention_new(&C), 0);
    for (int i = 0; i < 50000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        struct tg_ev e = {
            .ts = (uint64_t)i * 100,
            .kind = (uint16_t)(x % (TG_EV_COUNT + 3)),
            .thread = (uint32_t)(x >> 8) % 7 == 0 ? (uint32_t)(x >> 20) : (uint32_t)(x >> 8) % 6,
            .process = (uint32_t)(x >> 12) % 31 == 0 ? (uint32_t)(x >> 33) : (uint32_t)(x >> 12) % 2,
            .obj = 0x1000 + ((x >> 16) % 12) * 64,
            .p0 = (x >> 24) % 3 == 0 ? (x >> 30) % 8 : 0x1000 + ((x >> 28) % 12) * 64,
            .p1 = (x >> 40) % 4,
            .stack = (uint32_t)(x >> 44) % 9,
            .result = (uint8_t)((x >> 50) % 3 == 0 ? (x >> 52) % 16 : 0),
            .mtype = (uint8_t)((x >> 56) % 4),
            .timed = (x >> 60) & 1,
        };
        cr_assert_eq(tg_analysis_feed(A, &e), 0);
        cr_assert_eq(tg_contention_feed(C, &e), 0);
        if (i % 1000 == 0)
            tg_analysis_tick(A, e.ts);
    }
    cr_assert_eq(tg_analysis_finish(A), 0);
    tg_contention_finish(C, 50000 * 100);
    const struct tg_finding *const *fs;
    size_t n = findings(&fs);
    for (size_t i = 0; i < n; i++) {
        cr_assert_lt(fs[i]->kind, TG_FIND_KIND_COUNT);
        for (uint32_t k = 0; k < fs[i]->nsteps; k++)
            cr_assert(fs[i]->steps[k].obj == TG_NO_OBJ || fs[i]->steps[k].obj < fs[i]->nobjs);
        if (i)
            cr_assert_geq(fs[i]->ts, fs[i - 1]->ts, "stable order");
    }
}

/* ---- a lock loop first: later events of the same mutex take the
 * lock-pair fast path (skip_watch), whose holds must be the general
 * path's */

static void loop(uint32_t t, uint64_t m, int n)
{
    for (int i = 0; i < n; i++) {
        lock(t, m);
        unlock(t, m);
    }
}

Test(api, after_a_lock_loop_unlock_by_another_thread, .init = gen_setup)
{
    start(0);
    spawn(1);
    loop(1, LA, 3);
    lock(1, LA);
    unlock(0, LA);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_UNLOCK_OTHER), 1);
    const struct tg_finding *f = only(TG_FIND_MISUSE);
    cr_assert_eq(f->steps[1].thread, 1, "the owner");
    cr_assert_eq(f->steps[1].held.stack, LA & 0xffff, "where the owner took it");
    unlock(1, LA);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_UNLOCK_NOT_HELD), 1);
}

Test(api, after_a_lock_loop_inversion_and_exit_holding, .init = gen_setup)
{
    start(0);
    spawn(1);
    spawn(2);
    loop(1, LA, 3);
    lock(1, LA);
    lock(1, LB);
    unlock(1, LB);
    unlock(1, LA);
    loop(2, LB, 3);
    lock(2, LB);
    lock(2, LA);
    unlock(2, LA);
    unlock(2, LB);
    cr_assert_eq(count_kind(TG_FIND_LOCK_ORDER, -1), 1);
    loop(2, LB, 2);
    lock(2, LB);
    texit(2);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_EXIT_HOLDING), 1);
}

Test(api, after_a_lock_loop_relock_is_a_self_deadlock, .init = gen_setup)
{
    start(0);
    spawn(1);
    loop(1, LA, 3);
    lock(1, LA);
    req(1, LA);
    tg_analysis_finish(A);
    cr_assert_eq(count_kind(TG_FIND_DEADLOCK, TG_DEADLOCK_SELF), 1);
}

/* Two threads' lock loops taking turns on two mutexes: the fast path's
 * remembered thread and lock change on every pair, and the holds it leaves
 * must still be the general path's (who owns what when another thread
 * unlocks it). */
Test(api, lock_loops_taking_turns_on_two_mutexes, .init = gen_setup)
{
    start(0);
    spawn(1);
    spawn(2);
    for (int i = 0; i < 4; i++) {
        lock(1, LA);
        unlock(1, LA);
        lock(2, LB);
        unlock(2, LB);
        lock(1, LB);
        unlock(1, LB);
        lock(2, LA);
        unlock(2, LA);
    }
    lock(1, LA);
    lock(2, LB);
    unlock(2, LA);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_UNLOCK_OTHER), 1);
    cr_assert_eq(only(TG_FIND_MISUSE)->steps[1].thread, 1, "LA's owner");
    unlock(1, LB);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_UNLOCK_OTHER), 2);
    cr_assert_eq(count_kind(TG_FIND_LOCK_ORDER, -1), 0, "no thread held two locks");
}

/* A failed exec: the PROCESS_EXIT (exec) before it ended no thread for good,
 * the real exit later ends them; a thread that ended before stays ended. */
Test(api, failed_exec_keeps_threads_running, .init = setup_stats)
{
    start(0);
    spawn(1);
    spawn(2);
    EV(.kind = TG_EV_THREAD_EXIT, .thread = 2);
    uint64_t t2_end = NOW;
    advance(1000);
    EV(.kind = TG_EV_PROCESS_EXIT, .thread = 0, .p1 = TG_EXIT_EXEC);
    EV(.kind = TG_EV_EXEC_FAIL, .thread = 0, .p0 = 2);
    advance(50000);
    lock(1, LA);
    unlock(1, LA);
    EV(.kind = TG_EV_PROCESS_EXIT, .thread = 0);
    uint64_t exit_ts = NOW;
    tg_contention_finish(C, NOW + 100000);
    const struct tg_thread_stats *ts;
    cr_assert_eq(tg_contention_threads(C, &ts), 3);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(ts[i].end_ts, ts[i].thread == 2 ? t2_end : exit_ts, "thread %u",
                     ts[i].thread);
}
