/* Mutexes, rwlocks, spinlocks and stack ids as the trace shows them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/wait.h>

#include "run.h"

/* Events of one object, in trace order. */
static size_t of_obj(const struct events *e, uint64_t obj, const struct tg_ev **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n && n < max; i++)
        if (e->v[i].obj == obj)
            out[n++] = &e->v[i];
    return n;
}

static uint32_t main_thread(const struct events *e)
{
    const struct tg_process_info *p = tg_trace_process(e->t, 0);
    cr_assert_not_null(p);
    return p->first_thread;
}

Test(locks, mutex_types_and_uncontended_sequences)
{
    TRACED_RUN(0, "mutex_types");
    uint64_t mx[4];
    const unsigned want_type[4] = { TG_MUTEX_NORMAL, TG_MUTEX_RECURSIVE, TG_MUTEX_ERRORCHECK,
                                    TG_MUTEX_NORMAL };
    char key[16];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "mutex %d", i);
        mx[i] = tr_value(&r, key);
        cr_assert_neq(mx[i], 0);
    }
    cr_expect_eq(tr_count(&e, TG_EV_MUTEX_REQ, ANY_OBJ), 0, "nothing waited");
    for (int i = 0; i < 4; i++) {
        const struct tg_ev *ev[16];
        size_t n = of_obj(&e, mx[i], ev, 16);
        cr_assert_geq(n, 4, "mutex %d has events", i);
        cr_expect_eq(ev[0]->kind, TG_EV_MUTEX_INIT);
        cr_expect_eq(ev[0]->result, TG_OK);
        for (size_t k = 0; k < n; k++)
            cr_expect_eq(ev[k]->mtype, want_type[i], "mutex %d event %zu (%s) type", i, k,
                         tg_event_name(ev[k]->kind));
        cr_expect_eq(ev[0]->pshared, i == 3, "mutex %d pshared", i);
        cr_expect_eq(ev[1]->kind, TG_EV_MUTEX_ACQ);
        cr_expect_eq(ev[2]->kind, TG_EV_MUTEX_REL);
        cr_expect_eq(ev[n - 1]->kind, TG_EV_MUTEX_DESTROY);
        cr_expect_eq(ev[n - 1]->result, TG_OK);
    }
    /* recursive: lock, lock, unlock, unlock after the first pair */
    cr_expect_eq(tr_count(&e, TG_EV_MUTEX_ACQ, mx[1]), 3);
    cr_expect_eq(tr_count(&e, TG_EV_MUTEX_REL, mx[1]), 3);
    /* errorcheck unlocked while not held: REL with EPERM */
    long rel = tr_find(&e, 0, TG_EV_MUTEX_REL, mx[2]);
    rel = tr_find(&e, (size_t)rel + 1, TG_EV_MUTEX_REL, mx[2]);
    cr_assert_geq(rel, 0);
    cr_expect_eq(e.v[rel].result, TG_PERM);
    TRACED_DONE();
}

Test(locks, errorcheck_relock_is_req_then_fail_edeadlk)
{
    TRACED_RUN(0, "errorcheck_relock");
    cr_expect_eq(tr_value(&r, "relock"), 35 /* EDEADLK */);
    long acq = tr_find(&e, 0, TG_EV_MUTEX_ACQ, ANY_OBJ);
    cr_assert_geq(acq, 0);
    uint64_t mx = e.v[acq].obj;
    const struct tg_ev *ev[8];
    size_t n = of_obj(&e, mx, ev, 8);
    cr_assert_geq(n, 5);
    cr_expect_eq(ev[0]->kind, TG_EV_MUTEX_INIT);
    cr_expect_eq(ev[1]->kind, TG_EV_MUTEX_ACQ);
    cr_expect_eq(ev[2]->kind, TG_EV_MUTEX_REQ, "second lock had to ask");
    cr_expect_eq(ev[3]->kind, TG_EV_MUTEX_FAIL);
    cr_expect_eq(ev[3]->result, TG_DEADLK);
    cr_expect_eq(ev[3]->mtype, TG_MUTEX_ERRORCHECK);
    cr_expect_eq(ev[4]->kind, TG_EV_MUTEX_REL);
    TRACED_DONE();
}

Test(locks, contended_lock_is_req_then_acq_after_the_release)
{
    TRACED_RUN(0, "contended");
    uint64_t mx = tr_value(&r, "mutex");
    uint32_t main_t = main_thread(&e);
    long req = tr_find(&e, 0, TG_EV_MUTEX_REQ, mx);
    cr_assert_geq(req, 0, "the contender waited");
    cr_expect_neq(e.v[req].thread, main_t);
    long acq = tr_find(&e, (size_t)req, TG_EV_MUTEX_ACQ, mx);
    cr_assert_gt(acq, req);
    cr_expect_eq(e.v[acq].thread, e.v[req].thread);
    /* main's release sits between the request and the acquisition */
    long rel = tr_find(&e, (size_t)req, TG_EV_MUTEX_REL, mx);
    cr_assert_gt(rel, req);
    cr_expect_lt(rel, acq);
    cr_expect_eq(e.v[rel].thread, main_t);
    cr_expect_leq(e.v[rel].ts, e.v[acq].ts);
    cr_expect_eq(e.v[req].stack, e.v[acq].stack, "REQ and ACQ name the same call");
    cr_expect_neq(e.v[req].stack, 0);
    TRACED_DONE();
}

Test(locks, trylock_busy_timeouts_and_glibc_argument_checks)
{
    TRACED_RUN(0, "trylock");
    cr_expect_eq(tr_value(&r, "trylock"), 16 /* EBUSY */);
    cr_expect_eq(tr_value(&r, "timedlock"), 110 /* ETIMEDOUT */);
    cr_expect_eq(tr_value(&r, "clocklock"), 110);
    cr_expect_eq(tr_value(&r, "badclock"), 22 /* EINVAL */);
    uint64_t mx = tr_value(&r, "mutex");
    long t = tr_find(&e, 0, TG_EV_MUTEX_TRY, mx);
    cr_assert_geq(t, 0);
    cr_expect_eq(e.v[t].result, TG_BUSY);
    /* two timed calls: REQ (timed) then FAIL (timed out), each */
    size_t from = 0;
    for (int i = 0; i < 2; i++) {
        long req = tr_find(&e, from, TG_EV_MUTEX_REQ, mx);
        cr_assert_geq(req, 0, "timed call %d asked", i);
        cr_expect(e.v[req].timed);
        long fail = tr_find(&e, (size_t)req, TG_EV_MUTEX_FAIL, mx);
        cr_assert_gt(fail, req);
        cr_expect_eq(e.v[fail].result, TG_TIMEDOUT);
        cr_expect(e.v[fail].timed);
        from = (size_t)fail + 1;
    }
    /* the bad clock: straight to FAIL (EINVAL), no REQ, lock not taken */
    long bad = tr_find(&e, from, TG_EV_MUTEX_FAIL, mx);
    cr_assert_geq(bad, 0);
    cr_expect_eq(e.v[bad].result, TG_INVAL);
    cr_expect_eq(tr_find(&e, from, TG_EV_MUTEX_REQ, mx), -1);
    long ok = tr_find(&e, (size_t)bad, TG_EV_MUTEX_TRY, mx);
    cr_assert_gt(ok, bad);
    cr_expect_eq(e.v[ok].result, TG_OK);
    TRACED_DONE();
}

Test(locks, rwlock_read_write_and_try)
{
    TRACED_RUN(0, "rwlock");
    cr_expect_eq(tr_value(&r, "tryrdlock"), 16);
    cr_expect_eq(tr_value(&r, "trywrlock"), 16);
    uint64_t rw = tr_value(&r, "rwlock");
    cr_expect_eq(tr_count(&e, TG_EV_RD_ACQ, rw), 2);
    cr_expect_eq(tr_count(&e, TG_EV_RD_REQ, rw), 0, "two readers do not wait");
    cr_expect_eq(tr_count(&e, TG_EV_WR_ACQ, rw), 1);
    cr_expect_eq(tr_count(&e, TG_EV_RW_REL, rw), 3);
    long rt = tr_find(&e, 0, TG_EV_RD_TRY, rw), wt = tr_find(&e, 0, TG_EV_WR_TRY, rw);
    cr_assert(rt >= 0 && wt >= 0);
    cr_expect_eq(e.v[rt].result, TG_BUSY);
    cr_expect_eq(e.v[wt].result, TG_BUSY);
    long wr = tr_find(&e, 0, TG_EV_WR_ACQ, rw);
    cr_expect_lt(wr, rt, "the tries happen while the writer holds it");
    TRACED_DONE();
}

Test(locks, spinlock)
{
    TRACED_RUN(0, "spin");
    uint64_t s = tr_value(&r, "spin");
    const struct tg_ev *ev[8];
    size_t n = of_obj(&e, s, ev, 8);
    cr_assert_eq(n, 5);
    const unsigned want[5] = { TG_EV_SPIN_INIT, TG_EV_SPIN_ACQ, TG_EV_SPIN_TRY, TG_EV_SPIN_REL,
                               TG_EV_SPIN_DESTROY };
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(ev[i]->kind, want[i], "event %zu is %s", i, tg_event_name(want[i]));
    cr_expect_eq(ev[2]->result, TG_BUSY);
    TRACED_DONE();
}

/* The frames of event I's stack, which must be recorded. */
static const uint64_t *frames_of(const struct events *e, size_t i, uint32_t *nframes)
{
    const uint64_t *frames;
    cr_assert(tg_trace_stack(e->t, e->v[i].stack, &frames, nframes), "stack %u is recorded",
              e->v[i].stack);
    return frames;
}

/* Stacks captured by stepping (a thread's first) and by unw_backtrace
 * (later ones) have the same frames: 24 sites called from one call site
 * give 24 stacks that differ in frame 0 only. */
Test(locks, stack_frames_agree_however_captured)
{
    TRACED_RUN(0, "many_sites");
    const uint64_t *first = NULL;
    uint32_t first_n = 0;
    uint32_t ids[64];
    size_t nids = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (e.v[i].kind != TG_EV_MUTEX_ACQ && e.v[i].kind != TG_EV_MUTEX_REL)
            continue;
        uint32_t nframes;
        const uint64_t *frames = frames_of(&e, i, &nframes);
        cr_assert_geq(nframes, 3);
        if (first == NULL) {
            first = frames;
            first_n = nframes;
        }
        cr_expect_eq(nframes, first_n, "stack %u has %u frames, the first one %u", e.v[i].stack,
                     nframes, first_n);
        for (uint32_t f = 1; f < nframes && f < first_n; f++)
            cr_expect_eq(frames[f], first[f], "stack %u frame %u: %#lx against %#lx",
                         e.v[i].stack, f, (unsigned long)frames[f], (unsigned long)first[f]);
        bool seen = false;
        for (size_t k = 0; k < nids; k++)
            seen |= ids[k] == e.v[i].stack;
        if (!seen && nids < 64)
            ids[nids++] = e.v[i].stack;
    }
    cr_expect_eq(nids, 48, "one id for each site's lock and unlock");
    TRACED_DONE();
}

/* The same call site always gets the same id, another site another id, and
 * the id's first frame is the call in the calling function. */
Test(locks, stack_ids_name_the_call_site)
{
    TRACED_RUN(0, "stacks");
    uint64_t site[2];
    cr_assert_eq(tr_values(&r, "sites", site, 2), 2);
    uint32_t ids[2] = { 0, 0 };
    size_t seen[2] = { 0, 0 };
    for (size_t i = 0; i < e.n; i++) {
        if (e.v[i].kind != TG_EV_MUTEX_ACQ)
            continue;
        uint32_t nframes;
        const uint64_t *frames = frames_of(&e, i, &nframes);
        cr_assert_geq(nframes, 2);
        int which = frames[0] > site[0] && frames[0] < site[0] + 64 ? 0
                  : frames[0] > site[1] && frames[0] < site[1] + 64 ? 1 : -1;
        cr_assert_geq(which, 0, "frame 0 (%#lx) is in a lock site", (unsigned long)frames[0]);
        if (seen[which]++ == 0)
            ids[which] = e.v[i].stack;
        cr_expect_eq(e.v[i].stack, ids[which], "one id per call stack");
    }
    cr_expect_eq(seen[0], 3);
    cr_expect_eq(seen[1], 3);
    cr_expect_neq(ids[0], ids[1]);
    TRACED_DONE();
}
