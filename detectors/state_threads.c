/* Waits, condition variables, semaphores, barriers, threads and processes:
 * who is blocked in what (the wait-for graph's input, waitgraph.c), who is
 * alive, and what a fork child inherits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

static void oom(struct tg_analysis *a) { a->oom = true; }
static void resolve_joins(struct tg_analysis *a, uint32_t index, const struct tg_ev *ev);

static void alive_add(struct tg_analysis *a, struct dthread *t)
{
    if (t->alive_pos != NONE)
        return;
    if (GROW(a->alive, a->capalive, a->nalive + 1) < 0) {
        oom(a);
        return;
    }
    t->alive_pos = a->nalive;
    a->alive[a->nalive++] = t->index;
}

static void alive_remove(struct tg_analysis *a, struct dthread *t)
{
    if (t->alive_pos == NONE)
        return;
    uint32_t last = a->alive[--a->nalive];
    a->alive[t->alive_pos] = last;
    a->threads[last]->alive_pos = t->alive_pos;
    t->alive_pos = NONE;
}

/* ---- waits */

void st_set_blocked(struct tg_analysis *a, struct dthread *t, bool on)
{
    if (t->blocked == on)
        return;
    struct dproc *p = st_proc(a, t->process);
    t->blocked = on;
    int d = on ? 1 : -1;
    a->g_blocked += d;
    if (p) {
        p->blocked += d;
        if (t->wpshared)
            p->blocked_pshared += d;
    }
}

static bool thread_alive(const struct dthread *t)
{
    return t && (t->state == TH_LIVE || t->state == TH_PENDING);
}

void st_wait_begin(struct tg_analysis *a, struct dthread *t, const struct tg_ev *ev,
                   uint8_t wait, uint32_t obj, bool timed)
{
    if (t->wait != TG_WAIT_NONE)
        st_wait_end(a, t, ev);
    t->wait = wait;
    t->wobj = obj;
    t->wtarget = NONE;
    t->wtimed = timed;
    t->wmode = TG_MODE_NONE;
    t->wedges = false;
    t->wevent = ev->kind;
    t->wstack = ev->stack;
    t->wts = ev->ts;
    t->woken = false;
    t->wserial++;
    t->wpshared = ev->pshared || (obj != NONE && OBJ(a, obj)->pshared);
    bool blocks = !timed && wait != TG_WAIT_SLEEP && wait != TG_WAIT_JOIN;
    st_set_blocked(a, t, blocks);
}

void st_wait_end(struct tg_analysis *a, struct dthread *t, const struct tg_ev *ev)
{
    if (t->wait == TG_WAIT_NONE)
        return;
    if (t->wait == TG_WAIT_JOIN && t->wtarget == NONE && !t->wtimed && a->unresolved_joins)
        a->unresolved_joins--;
    if (t->wait == TG_WAIT_JOIN && t->wtarget != NONE) {
        struct dthread *target = st_thread(a, t->wtarget);
        if (target && target->joiner != NONE && a->threads[target->joiner] == t)
            target->joiner = NONE;
    }
    st_set_blocked(a, t, false);
    t->wait = TG_WAIT_NONE;
    t->wobj = t->wtarget = NONE;
    t->wserial++;
    if (t->ncands)
        wg_unblocked(a, t->index, ev->ts);
}

/* A thread that stays in its call but can no longer be stuck there (its
 * join target ended, its barrier round completed). */
static void unblock_in_place(struct tg_analysis *a, uint32_t thread, uint64_t ts)
{
    struct dthread *t = st_thread(a, thread);
    if (!t || !t->blocked)
        return;
    st_set_blocked(a, t, false);
    t->wserial++;
    if (t->ncands)
        wg_unblocked(a, thread, ts);
}

/* A signal, broadcast or post wakes waiters of OBJ: they are on their way
 * out of the call, whoever they are; the longest waiting first. */
static void wake_waiters(struct tg_analysis *a, uint32_t obj, uint8_t wait, bool all,
                         uint64_t ts)
{
    for (;;) {
        uint32_t best = NONE;
        for (uint32_t k = 0; k < a->nalive; k++) {
            const struct dthread *w = a->threads[a->alive[k]];
            if (w->blocked && w->wait == wait && w->wobj == obj &&
                (best == NONE || w->wts < a->threads[best]->wts))
                best = a->alive[k];
        }
        if (best == NONE)
            return;
        a->threads[best]->woken = true;
        unblock_in_place(a, best, ts);
        if (!all)
            return;
    }
}

/* THREAD returned from a wait on OBJ while still counted blocked: the wake
 * went to it, not to the waiter wake_waiters() guessed. That one waits on. */
static void rewait_guessed(struct tg_analysis *a, uint32_t thread, uint32_t obj, uint8_t wait,
                           const struct tg_ev *ev)
{
    for (uint32_t k = 0; k < a->nalive; k++) {
        uint32_t i = a->alive[k];
        struct dthread *w = a->threads[i];
        if (i != thread && !w->blocked && !w->wtimed && w->wait == wait && w->wobj == obj &&
            w->woken) {
            w->woken = false;
            st_set_blocked(a, w, true);
            w->wserial++;
            wg_blocked(a, i, ev);
            return;
        }
    }
}

/* ---- condition variables */

void st_cond_wait(struct tg_analysis *a, const struct tg_ev *ev)
{
    struct dthread *t = st_thread(a, ev->thread);
    uint32_t cond = st_obj(a, ev, TG_OBJ_COND);
    struct tg_ev mev = *ev;
    mev.obj = ev->p0;
    uint32_t mutex = st_obj_find(a, ev->process, ev->p0);
    if (mutex == NONE || OBJ(a, mutex)->dead || OBJ(a, mutex)->kind != TG_OBJ_MUTEX)
        mutex = st_obj(a, &mev, TG_OBJ_MUTEX);
    if (!t || cond == NONE || mutex == NONE)
        return;
    struct dobj *c = OBJ(a, cond);
    struct dheld *h = st_holds(t, mutex);
    if (!h && !t->lost)
        mu_simple(a, ev, TG_MISUSE_COND_NOT_HELD, cond, NONE, NULL);
    if (c->waiters > 0 && c->cond_mutex != NONE && c->cond_mutex != mutex) {
        struct dheld other = { .obj = c->cond_mutex, .mode = TG_MODE_EXCL,
                               .stack = c->cond_mutex_stack };
        mu_simple(a, ev, TG_MISUSE_COND_TWO_MUTEXES, cond, c->cond_mutex_thread, &other);
    }
    if (c->waiters == 0 || c->cond_mutex == NONE) {
        c->cond_mutex = mutex;
        c->cond_mutex_thread = ev->thread;
        c->cond_mutex_stack = ev->stack;
    }
    c->waiters++;
    t->cond_has_held = h != NULL;
    if (h) {
        t->cond_held = *h;
        st_held_drop(a, ev->thread, mutex);
    }
    bool timed = ev->timed || ev->p1 != 0;
    st_wait_begin(a, t, ev, TG_WAIT_COND, cond, timed);
    if (t->blocked)
        wg_blocked(a, ev->thread, ev);
}

void st_cond_woke(struct tg_analysis *a, const struct tg_ev *ev)
{
    struct dthread *t = st_thread(a, ev->thread);
    uint32_t cond = st_obj(a, ev, TG_OBJ_COND);
    if (!t || cond == NONE)
        return;
    struct dobj *c = OBJ(a, cond);
    if (t->wait == TG_WAIT_COND && t->wobj == cond) {
        bool guessed_other = t->blocked;
        if (c->waiters)
            c->waiters--;
        if (c->wakeups)
            c->wakeups--;
        if (!c->waiters)
            c->cond_mutex = NONE;
        st_wait_end(a, t, ev);
        if (guessed_other)
            rewait_guessed(a, ev->thread, cond, TG_WAIT_COND, ev);
    }
    /* the mutex is held again on return (also on timeout) */
    struct tg_ev mev = *ev;
    mev.obj = ev->p0;
    uint32_t mutex = st_obj(a, &mev, TG_OBJ_MUTEX);
    bool relocked = ev->result == TG_OK || ev->result == TG_TIMEDOUT ||
                    ev->result == TG_OWNERDEAD;
    if (!relocked) {
        /* failed without waiting: EPERM (the mutex was not held, and is
         * not now) or EINVAL (a bad deadline: still held, never released) */
        if (mutex != NONE && t->cond_has_held && t->cond_held.obj == mutex &&
            !st_holds(t, mutex)) {
            uint32_t count = t->cond_held.count;
            st_held_add(a, t, ev->thread, &t->cond_held);
            struct dheld *nh = st_holds(t, mutex);
            if (nh && count > 1)
                nh->count = count;
        }
    } else if (mutex != NONE && !st_holds(t, mutex)) {
        struct dheld h = { .obj = mutex, .mode = TG_MODE_EXCL, .count = 1,
                           .stack = ev->stack, .ts = ev->ts };
        if (t->cond_has_held && t->cond_held.obj == mutex)
            h = t->cond_held;
        struct dobj *m = OBJ(a, mutex);
        if (m->owner != NONE && m->owner != ev->thread)
            st_held_drop(a, m->owner, mutex);
        /* re-locking the mutex blocks like any lock call */
        lg_blocking_acquire(a, t, ev->thread, mutex, TG_MODE_EXCL, ev);
        uint32_t count = h.count;
        st_held_add(a, t, ev->thread, &h);
        struct dheld *nh = st_holds(t, mutex);
        if (nh && count > 1)
            nh->count = count;
    }
    t->cond_has_held = false;
    if (!mu_expected(ev))
        mu_result(a, ev, TG_OBJ_COND);
}

void st_cond_signal(struct tg_analysis *a, const struct tg_ev *ev)
{
    uint32_t cond = st_obj(a, ev, TG_OBJ_COND);
    if (cond == NONE)
        return;
    struct dobj *c = OBJ(a, cond);
    uint32_t unwoken = c->waiters > c->wakeups ? c->waiters - c->wakeups : 0;
    if (unwoken == 0) {
        c->unheard = true;
        c->unheard_thread = ev->thread;
        c->unheard_stack = ev->stack;
        c->unheard_ts = ev->ts;
        c->unheard_event = ev->kind;
    } else if (ev->kind == TG_EV_COND_BROADCAST) {
        c->wakeups = c->waiters;
        wake_waiters(a, cond, TG_WAIT_COND, true, ev->ts);
    } else {
        c->wakeups++;
        wake_waiters(a, cond, TG_WAIT_COND, false, ev->ts);
    }
}

/* ---- semaphores and barriers */

void st_sem(struct tg_analysis *a, const struct tg_ev *ev)
{
    struct dthread *t = st_thread(a, ev->thread);
    uint32_t sem = st_obj(a, ev, TG_OBJ_SEM);
    if (!t || sem == NONE)
        return;
    struct dobj *s = OBJ(a, sem);
    switch (ev->kind) {
    case TG_EV_SEM_REQ:
        st_wait_begin(a, t, ev, TG_WAIT_SEM, sem, ev->timed);
        s->waiters++;
        if (t->blocked)
            wg_blocked(a, ev->thread, ev);
        break;
    case TG_EV_SEM_ACQ:
    case TG_EV_SEM_FAIL:
        if (t->wait == TG_WAIT_SEM && t->wobj == sem) {
            bool guessed_other = t->blocked && ev->kind == TG_EV_SEM_ACQ && s->posts;
            if (s->waiters)
                s->waiters--;
            if (s->posts && ev->kind == TG_EV_SEM_ACQ)
                s->posts--;
            st_wait_end(a, t, ev);
            if (guessed_other)
                rewait_guessed(a, ev->thread, sem, TG_WAIT_SEM, ev);
        }
        break;
    case TG_EV_SEM_POST:
        if (ev->result == TG_OK && s->waiters > s->posts) {
            s->posts++;
            wake_waiters(a, sem, TG_WAIT_SEM, false, ev->ts);
        }
        break;
    }
}

void st_barrier(struct tg_analysis *a, const struct tg_ev *ev)
{
    struct dthread *t = st_thread(a, ev->thread);
    uint32_t bar = st_obj(a, ev, TG_OBJ_BARRIER);
    if (!t || bar == NONE)
        return;
    struct dobj *b = OBJ(a, bar);
    if (ev->kind == TG_EV_BARRIER_DONE) {
        if (t->wait == TG_WAIT_BARRIER && t->wobj == bar) {
            if (b->waiters)
                b->waiters--;
            st_wait_end(a, t, ev);
        }
        return;
    }
    b->waiters++;
    b->barrived++;
    st_wait_begin(a, t, ev, TG_WAIT_BARRIER, bar, false);
    if (b->bcount && b->barrived >= b->bcount) {
        /* the round is complete: everyone in it is about to return */
        b->barrived = 0;
        for (uint32_t k = 0; k < a->nalive; k++) {
            uint32_t i = a->alive[k];
            struct dthread *w = a->threads[i];
            if (w->blocked && w->wait == TG_WAIT_BARRIER && w->wobj == bar)
                unblock_in_place(a, i, ev->ts);
        }
        return;
    }
    if (t->blocked)
        wg_blocked(a, ev->thread, ev);
}

/* ---- threads and processes */

void st_touch(struct tg_analysis *a, struct dthread *t, uint32_t process)
{
    struct dproc *p = st_proc(a, process);
    if (t->state == TH_DEAD && t->exec_ended) {
        /* the exec failed and the image goes on */
        t->state = TH_UNKNOWN;
        t->exec_ended = false;
        if (p)
            p->exited = false;
    }
    if (t->state == TH_PENDING) {
        struct dproc *pp = st_proc(a, t->process);
        if (pp && pp->pending)
            pp->pending--;
        if (a->g_pending)
            a->g_pending--;
    }
    if (t->state != TH_LIVE) {
        t->state = TH_LIVE;
        alive_add(a, t);
        t->process = process;
        if (p)
            p->live++;
        a->g_live++;
    }
    if (p && !p->seen) {
        p->seen = true;
        if (p->pending && p->forked_child) {    /* the fork child we were waiting for */
            p->pending--;
            if (a->g_pending)
                a->g_pending--;
        }
    }
}

void st_thread_start(struct tg_analysis *a, const struct tg_ev *ev)
{
    struct dthread *t = st_thread(a, ev->thread);
    if (!t)
        return;
    struct dproc *p = st_proc(a, ev->process);
    bool inherit = p && !p->seen && p->ninherit;    /* a fork child's first thread */
    st_touch(a, t, ev->process);
    t->seen = true;
    t->pthread = ev->obj;
    if (dmap_put(&a->pthmap, ev->process, ev->obj, ev->thread) < 0)
        oom(a);
    if (a->unresolved_joins)
        resolve_joins(a, ev->thread, ev);
    if (inherit) {
        /* it is the forking thread's copy: it holds what that thread held
         * (the same addresses, in this process) */
        for (uint32_t i = 0; i < p->ninherit; i++) {
            struct tg_ev iev = *ev;
            struct dobj *po = OBJ(a, p->inherit[i].obj);
            iev.obj = po->addr;
            iev.mtype = po->mtype;
            iev.stack = p->inherit[i].stack;
            uint32_t obj = st_obj(a, &iev, po->kind);
            if (obj == NONE)
                continue;
            OBJ(a, obj)->mtype = po->mtype;
            struct dheld h = p->inherit[i];
            h.obj = obj;
            st_held_add(a, t, ev->thread, &h);
        }
    }
    if (p) {
        free(p->inherit);
        p->inherit = NULL;
        p->ninherit = 0;
    }
}

void st_thread_create(struct tg_analysis *a, const struct tg_ev *ev)
{
    if (ev->result != TG_OK)
        return;
    uint32_t child = (uint32_t)ev->p0;
    struct dthread *c = st_thread(a, child);
    if (!c)
        return;
    /* the creator may join it before its first event: know its pthread_t now */
    if (ev->obj && c->state != TH_DEAD && dmap_put(&a->pthmap, ev->process, ev->obj, child) < 0)
        oom(a);
    if (ev->obj && !c->pthread)
        c->pthread = ev->obj;
    if (c->state != TH_UNKNOWN)
        return;
    struct dproc *p = st_proc(a, ev->process);
    c->state = TH_PENDING;          /* created, its first event not seen yet */
    c->process = ev->process;
    alive_add(a, c);
    if (p)
        p->pending++;
    a->g_pending++;
}

static void thread_gone(struct tg_analysis *a, uint32_t index, const struct tg_ev *ev)
{
    struct dthread *t = st_thread(a, index);
    if (!t || t->state == TH_DEAD)
        return;
    st_wait_end(a, t, ev);
    while (t->nheld)
        st_held_drop(a, index, t->held[t->nheld - 1].obj);
    struct dproc *p = st_proc(a, t->process);
    if (t->state == TH_LIVE) {
        if (p && p->live)
            p->live--;
        if (a->g_live)
            a->g_live--;
    } else if (t->state == TH_PENDING) {
        if (p && p->pending)
            p->pending--;
        if (a->g_pending)
            a->g_pending--;
    }
    t->state = TH_DEAD;
    alive_remove(a, t);
    if (t->joiner != NONE)
        unblock_in_place(a, t->joiner, ev->ts);
}

void st_thread_exit(struct tg_analysis *a, const struct tg_ev *ev)
{
    struct dthread *t = st_thread(a, ev->thread);
    if (!t)
        return;
    if (t->nheld && !t->lost)
        mu_exit_holding(a, ev, t);
    thread_gone(a, ev->thread, ev);
    /* the one thread that could have woken the others may just have gone */
    if (t->process != NONE)
        wg_check_all_blocked(a, t->process, ev->ts);
}

void st_join(struct tg_analysis *a, const struct tg_ev *ev, bool done)
{
    struct dthread *t = st_thread(a, ev->thread);
    if (!t)
        return;
    if (done) {
        if (t->wait == TG_WAIT_JOIN)
            st_wait_end(a, t, ev);
        return;
    }
    uint32_t *v = dmap_find(&a->pthmap, ev->process, ev->obj);
    uint32_t target = v ? *v : NONE;
    struct dthread *tt = target != NONE ? st_thread(a, target) : NULL;
    st_wait_begin(a, t, ev, TG_WAIT_JOIN, NONE, ev->timed);
    t->wtarget = target;
    t->wpthread = ev->obj;
    if (target == NONE && !ev->timed)
        a->unresolved_joins++;
    if (!ev->timed && thread_alive(tt) && target != ev->thread) {
        tt->joiner = ev->thread;
        st_set_blocked(a, t, true);
        wg_blocked(a, ev->thread, ev);
    }
}

/* A thread just started: a join that named its pthread_t before now waits for it. */
static void resolve_joins(struct tg_analysis *a, uint32_t index, const struct tg_ev *ev)
{
    for (uint32_t k = 0; k < a->nalive && a->unresolved_joins; k++) {
        uint32_t i = a->alive[k];
        struct dthread *j = a->threads[i];
        if (j->wait != TG_WAIT_JOIN || j->wtarget != NONE || j->wtimed ||
            j->process != ev->process || j->wpthread != ev->obj || i == index)
            continue;
        a->unresolved_joins--;
        j->wtarget = index;
        a->threads[index]->joiner = i;
        st_set_blocked(a, j, true);
        wg_blocked(a, i, ev);
    }
}

void st_process_exit(struct tg_analysis *a, const struct tg_ev *ev)
{
    struct dproc *p = st_proc(a, ev->process);
    bool exec = ev->p1 == TG_EXIT_EXEC;
    for (uint32_t k = a->nalive; k-- > 0;) {     /* thread_gone removes from the end too */
        if (k >= a->nalive)
            continue;
        uint32_t i = a->alive[k];
        struct dthread *t = a->threads[i];
        if (t->process == ev->process) {
            thread_gone(a, i, ev);
            t->exec_ended = exec;
        }
    }
    if (p) {
        p->exited = true;
        p->exec_exited = exec;
        if (p->pending) {
            if (a->g_pending >= p->pending)
                a->g_pending -= p->pending;
            p->pending = 0;
        }
    }
    /* processes waiting on shared objects may have lost their last hope */
    if (!exec)
        for (uint32_t i = 0; i < a->capprocs; i++)
            if (i != ev->process && a->procs[i] && a->procs[i]->blocked_pshared)
                wg_check_all_blocked(a, i, ev->ts);
}

void st_fork(struct tg_analysis *a, const struct tg_ev *ev)
{
    if (ev->result != TG_OK)
        return;
    uint32_t child = (uint32_t)ev->p1;
    struct dproc *c = st_proc(a, child);
    struct dthread *t = st_thread(a, ev->thread);
    if (!c || !t || c->seen)
        return;         /* its events came first: it starts from a clean slate */
    c->forked_child = true;
    c->parent_process = ev->process;
    c->pending++;
    a->g_pending++;
    if (t->nheld) {
        c->inherit = malloc(t->nheld * sizeof *c->inherit);
        if (!c->inherit)
            return oom(a);
        memcpy(c->inherit, t->held, t->nheld * sizeof *c->inherit);
        c->ninherit = t->nheld;
    }
}

