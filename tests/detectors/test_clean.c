/* Correct programs must come out clean: each sequence is a common pattern
 * run to its end (and finish() called, as `tangle report` does). */
#include "gen.h"

#define LA 0x601000ull
#define LB 0x602000ull
#define LQ 0x603000ull
#define CV 0x605000ull
#define CV2 0x608000ull
#define SEM 0x606000ull
#define SETTLE TG_SETTLE_NS_DEFAULT

TestSuite(clean, .init = gen_setup, .fini = gen_teardown);

static void end(void)
{
    pexit();
    cr_assert_eq(tg_analysis_finish(A), 0);
    assert_clean();
}

Test(clean, consistent_lock_order)
{
    start(0);
    for (uint32_t t = 1; t <= 4; t++)
        spawn(t);
    for (int i = 0; i < 100; i++)
        for (uint32_t t = 1; t <= 4; t++) {
            lock(t, LA);
            if (i % 2)
                req(t, LB), acq(t, LB);
            else
                lock(t, LB);
            unlock(t, LB);
            unlock(t, LA);
        }
    for (uint32_t t = 1; t <= 4; t++) {
        texit(t);
        join(0, t);
    }
    end();
}

Test(clean, hand_over_hand_list_walk)
{
    enum { N = 64 };
    start(0);
    spawn(1);
    spawn(2);
    for (int round = 0; round < 10; round++)
        for (uint32_t t = 1; t <= 2; t++) {
            lock(t, 0x200000);
            for (uint64_t i = 1; i < N; i++) {
                lock(t, 0x200000 + i * 64);
                unlock(t, 0x200000 + (i - 1) * 64);
            }
            unlock(t, 0x200000 + (N - 1) * 64);
        }
    texit(1);
    texit(2);
    join(0, 1);
    join(0, 2);
    end();
}

Test(clean, condition_wait_loop_producer_consumer)
{
    /* consumers wait in a loop on "not empty"; the producer signals under
     * the lock; a poison pill per consumer ends them */
    start(0);
    spawn(1);               /* producer */
    spawn(2);
    spawn(3);
    int items = 0;
    for (int i = 0; i < 12; i++) {
        uint32_t c = 2 + (uint32_t)(i % 2);
        lock(c, LQ);
        if (items == 0) {
            cwait(c, CV, LQ, false);
            lock(1, LQ);        /* (the producer gets the lock while c waits) */
            items++;
            csignal(1, CV);
            unlock(1, LQ);
            cwoke(c, CV, LQ, TG_OK);
        }
        items--;
        unlock(c, LQ);
    }
    texit(1);
    texit(2);
    texit(3);
    for (uint32_t t = 1; t <= 3; t++)
        join(0, t);
    end();
}

Test(clean, semaphore_pool)
{
    /* Semaphore(2), 5 threads: the extra ones wait until a holder posts */
    start(0);
    sinit(0, SEM, 2);
    for (uint32_t t = 1; t <= 5; t++)
        spawn(t);
    EV(.kind = TG_EV_SEM_ACQ, .thread = 1, .obj = SEM);
    EV(.kind = TG_EV_SEM_ACQ, .thread = 2, .obj = SEM);
    sreq(3, SEM);
    sreq(4, SEM);
    sreq(5, SEM);
    join_req(0, 1, false);
    sleep_begin(1);
    sleep_begin(2);
    tg_analysis_tick(A, NOW + SETTLE);
    cr_assert_eq(tg_analysis_deadlocked_any(A), TG_NO_THREAD);
    sleep_end(1);
    spost(1, SEM);
    sacq(3, SEM);
    texit(1);
    join_done(0, 1, TG_OK);
    sleep_end(2);
    spost(2, SEM);
    sacq(4, SEM);
    texit(2);
    spost(3, SEM);
    sacq(5, SEM);
    spost(4, SEM);
    spost(5, SEM);
    for (uint32_t t = 3; t <= 5; t++)
        texit(t);
    for (uint32_t t = 2; t <= 5; t++)
        join(0, t);
    EV(.kind = TG_EV_SEM_DESTROY, .thread = 0, .obj = SEM);
    end();
}

Test(clean, thread_pool_workers_wait_and_main_broadcasts_shutdown)
{
    enum { W = 5 };
    start(0);
    for (uint32_t t = 1; t <= W; t++)
        spawn(t);
    /* every worker waits for work; main queues tasks one at a time */
    for (uint32_t t = 1; t <= W; t++) {
        lock(t, LQ);
        cwait(t, CV, LQ, false);
    }
    for (int task = 0; task < 20; task++) {
        uint32_t w = 1 + (uint32_t)(task % W);
        lock(0, LQ);
        csignal(0, CV);
        unlock(0, LQ);
        cwoke(w, CV, LQ, TG_OK);
        unlock(w, LQ);
        lock(w, LA);            /* the task's own lock */
        unlock(w, LA);
        lock(w, LQ);
        cwait(w, CV, LQ, false);
    }
    /* main waits a while for results (timed), then shuts down */
    lock(0, LQ);
    cwait(0, CV2, LQ, true);
    tg_analysis_tick(A, NOW + SETTLE);
    cr_assert_eq(tg_analysis_deadlocked_any(A), TG_NO_THREAD, "main is in a timed wait");
    cwoke(0, CV2, LQ, TG_TIMEDOUT);
    cbroadcast(0, CV);
    unlock(0, LQ);
    for (uint32_t t = 1; t <= W; t++) {
        cwoke(t, CV, LQ, TG_OK);
        unlock(t, LQ);
        texit(t);
    }
    for (uint32_t t = 1; t <= W; t++)
        join(0, t);
    EV(.kind = TG_EV_COND_DESTROY, .thread = 0, .obj = CV);
    end();
}

Test(clean, barrier_rounds)
{
    start(0);
    spawn(1);
    spawn(2);
    EV(.kind = TG_EV_BARRIER_INIT, .thread = 0, .obj = 0x9000, .p0 = 3);
    for (int round = 0; round < 5; round++) {
        for (uint32_t t = 0; t <= 2; t++)
            EV(.kind = TG_EV_BARRIER_WAIT, .thread = t, .obj = 0x9000);
        tg_analysis_tick(A, NOW + SETTLE);
        for (uint32_t t = 0; t <= 2; t++)
            EV(.kind = TG_EV_BARRIER_DONE, .thread = t, .obj = 0x9000,
               .result = t == 0 ? TG_SERIAL : TG_OK);
    }
    texit(1);
    texit(2);
    join(0, 1);
    join(0, 2);
    EV(.kind = TG_EV_BARRIER_DESTROY, .thread = 0, .obj = 0x9000);
    end();
}

Test(clean, gil_contention_one_global_lock)
{
    start(0);
    for (uint32_t t = 1; t <= 4; t++)
        spawn(t);
    for (int step = 0; step < 200; step++) {
        uint32_t t = 1 + (uint32_t)(step % 4), w = 1 + (uint32_t)((step + 1) % 4);
        lock(t, LA);
        req(w, LA);
        unlock(t, LA);
        acq(w, LA);
        unlock(w, LA);
    }
    for (uint32_t t = 1; t <= 4; t++) {
        texit(t);
        join(0, t);
    }
    end();
}

Test(clean, once_and_rwlock_readers)
{
    start(0);
    spawn(1);
    spawn(2);
    EV(.kind = TG_EV_ONCE_BEGIN, .thread = 1, .obj = 0x5000);
    EV(.kind = TG_EV_ONCE_END, .thread = 1, .obj = 0x5000);
    rdlock(1, LA);
    rdlock(2, LA);
    rdlock(1, LB);
    rdlock(2, LB);
    rwunlock(1, LB);
    rwunlock(2, LB);
    rwunlock(2, LA);
    rwunlock(1, LA);
    wrlock(1, LA);
    rwunlock(1, LA);
    texit(1);
    texit(2);
    join(0, 1);
    join(0, 2);
    end();
}

Test(clean, robust_mutex_owner_died)
{
    start(0);
    spawn(1);
    lock(1, LA);
    texit(1);   /* (that one is misuse: exit holding) */
    cr_assert_eq(count_kind(TG_FIND_MISUSE, TG_MISUSE_EXIT_HOLDING), 1);
    EV(.kind = TG_EV_MUTEX_ACQ, .thread = 0, .obj = LA, .result = TG_OWNERDEAD);
    unlock(0, LA);
    join(0, 1);
    pexit();
    tg_analysis_finish(A);
    cr_assert_eq(count_kind(TG_FIND_MISUSE, -1), 1, "EOWNERDEAD itself is an expected outcome");
}
