/* Thread lifecycles and names. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/wait.h>

#include "run.h"

Test(threads, create_start_exit_join_agree)
{
    TRACED_RUN(0, "threads");
    uint64_t routine[3];
    cr_assert_eq(tr_values(&r, "routines", routine, 3), 3);
    /* objects are 48-bit in the trace: PTHREAD_CANCELED is (void *)-1 */
    const uint64_t retval[3] = { 0x1234, 0x5678,
                                 (uint64_t)(uintptr_t)PTHREAD_CANCELED & 0xffffffffffffull };
    const struct tg_process_info *proc = tg_trace_process(e.t, 0);
    cr_assert_not_null(proc);
    uint32_t main_t = proc->first_thread;

    size_t creates = 0;
    for (size_t i = 0; i < e.n; i++) {
        const struct tg_ev *c = &e.v[i];
        if (c->kind != TG_EV_THREAD_CREATE)
            continue;
        cr_assert_lt(creates, 3);
        cr_expect_eq(c->result, TG_OK);
        cr_expect_eq(c->thread, main_t);
        cr_expect_eq(c->p1, routine[creates], "THREAD_CREATE names the start routine");
        uint32_t child = (uint32_t)c->p0;
        /* the child's own THREAD_START agrees, and comes after */
        long s = -1;
        for (size_t k = i + 1; k < e.n && s < 0; k++)
            if (e.v[k].kind == TG_EV_THREAD_START && e.v[k].thread == child)
                s = (long)k;
        cr_assert_gt(s, (long)i, "thread %u started after its creation", child);
        const struct tg_ev *st = &e.v[s];
        cr_expect_eq(st->obj, c->obj, "same pthread_t");
        cr_expect_eq(st->p0 >> 32, main_t, "parent index");
        cr_expect_neq(st->p0 & 0xffffffffu, 0, "os tid");
        cr_expect_eq(st->p1, routine[creates]);
        cr_expect_eq(st->stack, c->stack, "creation site");
        cr_expect_neq(st->stack, 0);
        const struct tg_thread_info *info = tg_trace_thread(e.t, child);
        cr_assert_not_null(info);
        cr_expect_eq(info->parent, main_t);
        cr_expect_eq(info->start_routine, routine[creates]);
        /* its last event is THREAD_EXIT with the value it returned */
        long x = -1;
        for (size_t k = (size_t)s; k < e.n; k++)
            if (e.v[k].thread == child)
                x = (long)k;
        cr_assert_geq(x, 0);
        cr_expect_eq(e.v[x].kind, TG_EV_THREAD_EXIT);
        cr_expect_eq(e.v[x].obj, retval[creates], "exit value of thread %zu", creates);
        /* joined after it exited */
        long j = tr_find(&e, (size_t)x, TG_EV_JOIN_DONE, c->obj);
        cr_assert_gt(j, x);
        cr_expect_eq(e.v[j].result, TG_OK);
        creates++;
    }
    cr_expect_eq(creates, 3);
    cr_expect_eq(tr_count(&e, TG_EV_JOIN_REQ, ANY_OBJ), 3);
    TRACED_DONE();
}

Test(threads, names_reach_the_trace)
{
    TRACED_RUN(0, "names");
    size_t found = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (e.v[i].kind != TG_EV_THREAD_NAME)
            continue;
        cr_assert_not_null(e.v[i].str);
        const struct tg_thread_info *info = tg_trace_thread(e.t, e.v[i].thread);
        cr_assert_not_null(info);
        cr_expect_eq(e.v[i].obj, info->pthread, "the thread named itself");
        if (strcmp(e.v[i].str, "worker-one") == 0)
            cr_expect_neq(e.v[i].thread, tg_trace_process(e.t, 0)->first_thread);
        else
            cr_expect_str_eq(e.v[i].str, "main-thread");
        cr_expect_str_eq(info->name, e.v[i].str);
        found++;
    }
    cr_expect_eq(found, 2);
    TRACED_DONE();
}

/* pthread_setname_np on another thread names that thread, also when the
 * call comes (in time order) before the named thread's first record. */
Test(threads, naming_another_thread_names_it)
{
    TRACED_RUN(0, "name_other");
    long c = tr_find(&e, 0, TG_EV_THREAD_CREATE, ANY_OBJ);
    cr_assert_geq(c, 0);
    uint32_t main_t = e.v[c].thread, child = (uint32_t)e.v[c].p0;
    long n = tr_find(&e, 0, TG_EV_THREAD_NAME, e.v[c].obj);
    cr_assert_geq(n, 0);
    cr_expect_eq(e.v[n].thread, main_t, "recorded by its caller");
    cr_expect_str_eq(e.v[n].str, "renamed-by-main");
    const struct tg_thread_info *ti = tg_trace_thread(e.t, child);
    cr_assert_not_null(ti);
    cr_expect_str_eq(ti->name, "renamed-by-main");
    cr_expect_null(tg_trace_thread(e.t, main_t)->name, "the caller keeps its own name");
    TRACED_DONE();
}
