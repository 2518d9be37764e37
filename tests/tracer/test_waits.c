/* Condition variables, semaphores, barriers, once and sleeps. */
#include <criterion/criterion.h>
#include <sys/wait.h>

#include "run.h"

Test(waits, cond_wait_and_woke_carry_the_mutex)
{
    TRACED_RUN(0, "cond");
    uint64_t v[2];
    cr_assert_eq(tr_values(&r, "cond", v, 1), 1);
    uint64_t cv = v[0];
    const char *p = strstr(r.out, "mutex ");      /* "cond <cv> mutex <m>" */
    cr_assert_not_null(p);
    uint64_t mx = strtoull(p + 6, NULL, 0);
    cr_assert_neq(mx, 0);

    long w = tr_find(&e, 0, TG_EV_COND_WAIT, cv);
    cr_assert_geq(w, 0);
    cr_expect_eq(e.v[w].p0, mx, "COND_WAIT names the mutex");
    cr_expect_not(e.v[w].timed);
    long woke = tr_find(&e, (size_t)w, TG_EV_COND_WOKE, cv);
    cr_assert_gt(woke, w);
    cr_expect_eq(e.v[woke].p0, mx);
    cr_expect_eq(e.v[woke].thread, e.v[w].thread);
    cr_expect_eq(e.v[woke].result, TG_OK);
    long sig = tr_find(&e, 0, TG_EV_COND_SIGNAL, cv);
    cr_assert_geq(sig, 0);
    cr_expect_neq(e.v[sig].thread, e.v[w].thread);

    /* the timed wait: deadline recorded, woke with ETIMEDOUT */
    size_t timed_waits = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (e.v[i].kind != TG_EV_COND_WAIT || !e.v[i].timed)
            continue;
        timed_waits++;
        cr_expect_gt(e.v[i].p1, 1000000000ull, "deadline in ns of CLOCK_REALTIME");
        long k = tr_find(&e, i, TG_EV_COND_WOKE, cv);
        cr_assert_gt(k, (long)i);
        cr_expect_eq(e.v[k].result, TG_TIMEDOUT);
        cr_expect(e.v[k].timed);
    }
    cr_expect_eq(timed_waits, 1);
    cr_expect_eq(tr_count(&e, TG_EV_COND_BROADCAST, cv), 1);
    TRACED_DONE();
}

Test(waits, semaphore_init_try_wait_post)
{
    TRACED_RUN(0, "sem");
    uint64_t s = tr_value(&r, "sem");
    long init = tr_find(&e, 0, TG_EV_SEM_INIT, s);
    cr_assert_geq(init, 0);
    cr_expect_eq(e.v[init].p0, 0, "initial value");
    long try = tr_find(&e, 0, TG_EV_SEM_TRY, s);
    cr_assert_gt(try, init);
    cr_expect_eq(e.v[try].result, TG_AGAIN);
    /* the waiter: REQ (it blocked), then main's POST, then its ACQ */
    long req = tr_find(&e, 0, TG_EV_SEM_REQ, s);
    cr_assert_geq(req, 0);
    long post = tr_find(&e, (size_t)req, TG_EV_SEM_POST, s);
    long acq = tr_find(&e, (size_t)req, TG_EV_SEM_ACQ, s);
    cr_assert(post > req && acq > post);
    cr_expect_eq(e.v[acq].thread, e.v[req].thread);
    cr_expect_neq(e.v[post].thread, e.v[req].thread);
    cr_expect_eq(tr_count(&e, TG_EV_SEM_REQ, s), 2, "the blocked wait and the timed one");
    cr_expect_eq(tr_count(&e, TG_EV_SEM_ACQ, s), 2, "the second wait did not block");
    cr_expect_eq(tr_count(&e, TG_EV_SEM_POST, s), 2);
    long fail = tr_find(&e, 0, TG_EV_SEM_FAIL, s);
    cr_assert_geq(fail, 0);
    cr_expect_eq(e.v[fail].result, TG_TIMEDOUT);
    cr_expect(e.v[fail].timed);
    cr_expect_geq(tr_find(&e, 0, TG_EV_SEM_DESTROY, s), 0);
    TRACED_DONE();
}

Test(waits, barrier_has_one_serial_thread)
{
    TRACED_RUN(0, "barrier");
    uint64_t b = tr_value(&r, "barrier");
    long init = tr_find(&e, 0, TG_EV_BARRIER_INIT, b);
    cr_assert_geq(init, 0);
    cr_expect_eq(e.v[init].p0, 3);
    cr_expect_eq(tr_count(&e, TG_EV_BARRIER_WAIT, b), 3);
    cr_expect_eq(tr_count(&e, TG_EV_BARRIER_DONE, b), 3);
    size_t serial = 0;
    for (size_t i = 0; i < e.n; i++)
        if (e.v[i].kind == TG_EV_BARRIER_DONE && e.v[i].result == TG_SERIAL)
            serial++;
    cr_expect_eq(serial, 1);
    /* nobody leaves before everybody arrived */
    long last_wait = -1, first_done = -1;
    for (size_t i = 0; i < e.n; i++) {
        if (e.v[i].kind == TG_EV_BARRIER_WAIT)
            last_wait = (long)i;
        if (e.v[i].kind == TG_EV_BARRIER_DONE && first_done < 0)
            first_done = (long)i;
    }
    cr_expect_lt(last_wait, first_done);
    TRACED_DONE();
}

/* The thread that ran the init routine ends first: its ONCE_END carries the
 * time the routine finished. */
Test(waits, once_begin_end_per_caller)
{
    TRACED_RUN(0, "once");
    uint64_t v[3];
    cr_assert_eq(tr_values(&r, "once", v, 1), 1);
    const char *p = strstr(r.out, "runs ");
    cr_assert_not_null(p);
    cr_expect_eq(atoi(p + 5), 1);
    cr_expect_eq(tr_count(&e, TG_EV_ONCE_BEGIN, v[0]), 4);
    cr_expect_eq(tr_count(&e, TG_EV_ONCE_END, v[0]), 4);
    for (size_t i = 0; i < e.n; i++)
        if (e.v[i].kind == TG_EV_ONCE_END)
            cr_expect_eq(e.v[i].result, TG_OK);
    TRACED_DONE();
}

Test(waits, sleeps_record_the_requested_time)
{
    TRACED_RUN(0, "sleep");
    const uint64_t want[4] = { 1000000, 2000000, 3000000, 0 };
    size_t k = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (e.v[i].kind != TG_EV_SLEEP_BEGIN)
            continue;
        cr_assert_lt(k, 4);
        cr_expect_eq(e.v[i].p0, want[k], "sleep %zu requested", k);
        long end = tr_find(&e, i, TG_EV_SLEEP_END, ANY_OBJ);
        cr_assert_gt(end, (long)i);
        cr_expect_eq(e.v[end].result, TG_OK);
        cr_expect_eq(e.v[end].thread, e.v[i].thread);
        k++;
    }
    cr_expect_eq(k, 4);
    TRACED_DONE();
}
