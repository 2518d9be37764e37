/* What the program's threads hold and wait for, rebuilt from the events:
 * objects by (process, address, generation), threads by trace index,
 * processes. The analyses hang off the transitions here: a blocking
 * request or acquisition feeds the lock graph, a thread starting or ending
 * a wait feeds the wait-for graph, and impossible transitions are misuse. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

static void oom(struct tg_analysis *a) { a->oom = true; }
static void set_blocked(struct tg_analysis *a, struct dthread *t, bool on);
static void resolve_joins(struct tg_analysis *a, uint32_t index, const struct tg_ev *ev);

/* Thread and process indexes are dense and small (the trace allocates
 * them); anything past these is a corrupt trace, not a reason to allocate. */
#define MAX_THREADS (1u << 22)
#define MAX_PROCESSES (1u << 20)

struct dthread *st_thread(struct tg_analysis *a, uint32_t index)
{
    if (index >= MAX_THREADS)
        return NULL;
    if (index >= a->capthreads) {
        uint32_t old = a->capthreads;
        if (GROW(a->threads, a->capthreads, index + 1) < 0) {
            oom(a);
            return NULL;
        }
        memset(a->threads + old, 0, (a->capthreads - old) * sizeof *a->threads);
    }
    if (!a->threads[index]) {
        struct dthread *t = calloc(1, sizeof *t);
        if (!t) {
            oom(a);
            return NULL;
        }
        t->index = index;
        t->alive_pos = NONE;
        t->process = NONE;
        t->wobj = t->wtarget = t->joiner = NONE;
        a->threads[index] = t;
        a->counters.threads++;
    }
    return a->threads[index];
}

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

struct dproc *st_proc(struct tg_analysis *a, uint32_t index)
{
    if (index >= MAX_PROCESSES)
        return NULL;
    if (index >= a->capprocs) {
        uint32_t old = a->capprocs;
        if (GROW(a->procs, a->capprocs, index + 1) < 0) {
            oom(a);
            return NULL;
        }
        memset(a->procs + old, 0, (a->capprocs - old) * sizeof *a->procs);
    }
    if (!a->procs[index]) {
        a->procs[index] = calloc(1, sizeof **a->procs);
        if (!a->procs[index]) {
            oom(a);
            return NULL;
        }
        a->counters.processes++;
        if (a->first_process == NONE)
            a->first_process = index;
    }
    return a->procs[index];
}

/* ---- objects */

static uint32_t obj_new(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind,
                        uint32_t generation)
{
    uint32_t id = page_alloc((void ***)&a->objpages, &a->capobjpages, &a->nobjs,
                             sizeof(struct dobj));
    if (id == NONE || dmap_put(&a->objmap, ev->process, ev->obj, id) < 0) {
        oom(a);
        return NONE;
    }
    struct dobj *o = OBJ(a, id);
    o->addr = ev->obj;
    o->process = ev->process;
    o->generation = generation;
    o->kind = kind;
    o->mtype = kind == TG_OBJ_MUTEX ? ev->mtype : 0;
    o->pshared = ev->pshared;
    o->site_stack = ev->stack;
    o->site_thread = ev->thread;
    o->site_ts = ev->ts;
    o->owner = NONE;
    o->cond_mutex = NONE;
    a->counters.objects++;
    /* a fork child shares the parent's process-shared objects (the
     * tracer does not mark every call on them, e.g. sem_wait) */
    const struct dproc *p = ev->process < a->capprocs ? a->procs[ev->process] : NULL;
    if (p && p->forked_child) {
        uint32_t *pv = dmap_find(&a->objmap, p->parent_process, ev->obj);
        if (pv && OBJ(a, *pv)->pshared && OBJ(a, *pv)->kind == kind)
            o->pshared = true;
    }
    return id;
}

uint32_t st_obj_find(struct tg_analysis *a, uint32_t process, uint64_t addr)
{
    uint32_t *v = dmap_find(&a->objmap, process, addr);
    return v ? *v : NONE;
}

/* The live object of KIND at the event's address, created at its first use. */
uint32_t st_obj(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind)
{
    uint32_t id = st_obj_find(a, ev->process, ev->obj);
    if (id != NONE) {
        struct dobj *o = OBJ(a, id);
        if (!o->dead && o->kind == kind)
            return id;
        o->dead = true;
        return obj_new(a, ev, kind, o->generation + 1);
    }
    return obj_new(a, ev, kind, 0);
}

/* An init call makes a new object, whatever was at the address before. */
void st_obj_init(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind)
{
    uint32_t id = st_obj_find(a, ev->process, ev->obj);
    uint32_t gen = 0;
    if (id != NONE) {
        struct dobj *o = OBJ(a, id);
        gen = o->generation + 1;
        o->dead = true;
    }
    uint32_t nid = obj_new(a, ev, kind, gen);
    if (nid == NONE)
        return;
    struct dobj *o = OBJ(a, nid);
    o->site_is_init = true;
    if (kind == TG_OBJ_BARRIER)
        o->bcount = (uint32_t)ev->p0;
    if (kind == TG_OBJ_SEM)
        o->pshared = ev->pshared || ev->p1 != 0;
}

void st_obj_destroy(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind)
{
    uint32_t id = st_obj(a, ev, kind);
    if (id == NONE)
        return;
    mu_destroy(a, ev, id);
    if (ev->result == TG_OK)
        OBJ(a, id)->dead = true;
}

/* ---- holds */

struct dheld *st_holds(struct dthread *t, uint32_t obj)
{
    for (uint32_t i = 0; i < t->nheld; i++)
        if (t->held[i].obj == obj)
            return &t->held[i];
    return NULL;
}

static void reader_remove(struct dobj *o, uint32_t thread)
{
    for (uint32_t i = 0; i < o->nreaders; i++)
        if (o->readers[i] == thread) {
            o->readers[i] = o->readers[--o->nreaders];
            return;
        }
}

/* Drops THREAD's hold entry on OBJ (all recursion levels). */
static void held_drop(struct tg_analysis *a, uint32_t thread, uint32_t obj)
{
    struct dthread *t = st_thread(a, thread);
    if (!t)
        return;
    struct dheld *h = st_holds(t, obj);
    if (!h)
        return;
    struct dobj *o = OBJ(a, obj);
    if (h->mode == TG_MODE_READ) {
        for (uint32_t i = 0; i < h->count; i++)
            reader_remove(o, thread);
    } else if (o->owner == thread) {
        o->owner = NONE;
    }
    t->heldhash ^= held_hash(h->obj, h->mode);
    *h = t->held[--t->nheld];
}

static void held_add(struct tg_analysis *a, struct dthread *t, uint32_t thread,
                     const struct dheld *in)
{
    struct dheld *h = st_holds(t, in->obj);
    struct dobj *o = OBJ(a, in->obj);
    if (h) {
        if (h->mode == TG_MODE_READ && in->mode == TG_MODE_READ) {
            if (GROW(o->readers, o->capreaders, o->nreaders + 1) < 0)
                return oom(a);
            o->readers[o->nreaders++] = thread;
            h->count++;
        } else if (o->kind == TG_OBJ_MUTEX && o->mtype == TG_MUTEX_RECURSIVE) {
            h->count++;
        }
        return;
    }
    if (GROW(t->held, t->capheld, t->nheld + 1) < 0)
        return oom(a);
    if (in->mode == TG_MODE_READ) {
        if (GROW(o->readers, o->capreaders, o->nreaders + 1) < 0)
            return oom(a);
        o->readers[o->nreaders++] = thread;
    } else {
        o->owner = thread;
    }
    t->held[t->nheld] = *in;
    t->held[t->nheld].count = 1;
    t->nheld++;
    t->heldhash ^= held_hash(in->obj, in->mode);
}

/* Takes OBJ for the event's thread. BLOCKING: acquired by a blocking or
 * timed call whose lock-order edges were not added at its request yet. */
void st_acquire(struct tg_analysis *a, const struct tg_ev *ev, uint32_t obj,
                uint8_t mode, bool blocking)
{
    struct dthread *t = st_thread(a, ev->thread);
    if (!t || obj == NONE)
        return;
    struct dobj *o = OBJ(a, obj);
    /* our picture says someone else holds it: their release was not seen
     * (lost events, or unlocked by another thread); believe the acquisition */
    if (o->owner != NONE && o->owner != ev->thread)
        held_drop(a, o->owner, obj);
    if (mode != TG_MODE_READ)
        while (o->nreaders) {
            uint32_t r = o->readers[0];
            if (r == ev->thread) {
                if (!st_holds(t, obj)) {
                    reader_remove(o, r);
                    continue;
                }
                break;          /* upgrading its own read hold: leave both */
            }
            held_drop(a, r, obj);
        }
    if (blocking)
        lg_blocking_acquire(a, t, ev->thread, obj, mode, ev);
    struct dheld h = { .obj = obj, .mode = mode, .count = 1, .stack = ev->stack, .ts = ev->ts };
    held_add(a, t, ev->thread, &h);
}

/* Does relocking a lock held in mode HELD with mode WANT hang forever? */
static bool relock_hangs(const struct dobj *o, uint8_t held, uint8_t want)
{
    switch (o->kind) {
    case TG_OBJ_MUTEX:
        return o->mtype == TG_MUTEX_NORMAL || o->mtype == TG_MUTEX_ADAPTIVE;
    case TG_OBJ_SPIN:
        return true;
    case TG_OBJ_RWLOCK:         /* rd->wr upgrade; wr->any gets EDEADLK from glibc */
        return held == TG_MODE_READ && want == TG_MODE_WRITE;
    default:
        return false;
    }
}

void st_request(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind, uint8_t mode)
{
    struct dthread *t = st_thread(a, ev->thread);
    uint32_t obj = st_obj(a, ev, kind);
    if (!t || obj == NONE)
        return;
    struct dobj *o = OBJ(a, obj);
    if (kind == TG_OBJ_MUTEX)
        o->mtype = ev->mtype;
    struct dheld *h = st_holds(t, obj);
    st_wait_begin(a, t, ev, TG_WAIT_LOCK, obj, ev->timed);
    t->wmode = mode;
    /* errorcheck relock, rwlock relock while write-held: EDEADLK, not a wait */
    if (h && !relock_hangs(o, h->mode, mode) &&
        !(o->kind == TG_OBJ_RWLOCK && h->mode == TG_MODE_READ && mode == TG_MODE_READ))
        set_blocked(a, t, false);
    if (h) {
        /* no edge to itself; a timed relock of a lock that cannot be
         * taken twice can only time out */
        if (ev->timed && relock_hangs(o, h->mode, mode))
            mu_simple(a, ev, TG_MISUSE_RELOCK_TIMED, obj, NONE, h);
    } else {
        lg_blocking_acquire(a, t, ev->thread, obj, mode, ev);
    }
    t->wedges = true;
    o->waiters++;
    if (t->blocked)
        wg_blocked(a, ev->thread, ev);
}

/* The end of a blocking/timed lock call: acquired (ACQ, or FAIL with
 * OWNERDEAD) or failed. */
void st_request_end(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind, uint8_t mode,
                    bool acquired)
{
    struct dthread *t = st_thread(a, ev->thread);
    uint32_t obj = st_obj(a, ev, kind);
    if (!t || obj == NONE)
        return;
    struct dobj *o = OBJ(a, obj);
    if (kind == TG_OBJ_MUTEX && ev->kind != TG_EV_MUTEX_FAIL)
        o->mtype = ev->mtype;
    bool had_request = t->wait == TG_WAIT_LOCK && t->wobj == obj;
    bool edges_done = had_request && t->wedges;
    if (had_request) {
        if (o->waiters)
            o->waiters--;
        st_wait_end(a, t, ev);
    }
    if (acquired)
        st_acquire(a, ev, obj, mode, !edges_done && !st_holds(t, obj));
}

/* Unlock: finds the thread's own hold by address first, so a lock destroyed
 * or re-initialised while held is still released cleanly. */
void st_release(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind)
{
    struct dthread *t = st_thread(a, ev->thread);
    if (!t)
        return;
    for (uint32_t i = 0; i < t->nheld; i++) {
        struct dheld *h = &t->held[i];
        struct dobj *o = OBJ(a, h->obj);
        if (o->addr != ev->obj || o->process != ev->process)
            continue;
        if (ev->result != TG_OK) {          /* the library refused: still held */
            mu_result(a, ev, kind);
            return;
        }
        if (h->mode == TG_MODE_READ)
            reader_remove(o, ev->thread);
        if (--h->count == 0) {
            if (h->mode != TG_MODE_READ && o->owner == ev->thread)
                o->owner = NONE;
            t->heldhash ^= held_hash(h->obj, h->mode);
            *h = t->held[--t->nheld];
        }
        return;
    }
    bool fresh = st_obj_find(a, ev->process, ev->obj) == NONE;
    uint32_t obj = st_obj(a, ev, kind);
    if (obj == NONE)
        return;
    struct dobj *o = OBJ(a, obj);
    if (ev->result != TG_OK && ev->result != TG_PERM) {
        mu_result(a, ev, kind);
        return;
    }
    if (t->lost)
        return;                             /* our picture of its holds is incomplete */
    uint32_t holder = o->owner != NONE ? o->owner : o->nreaders ? o->readers[0] : NONE;
    if (holder != NONE && holder != ev->thread) {
        struct dthread *ht = st_thread(a, holder);
        struct dheld *hh = ht ? st_holds(ht, obj) : NULL;
        struct dheld copy;
        if (hh)
            copy = *hh;
        mu_simple(a, ev, TG_MISUSE_UNLOCK_OTHER, obj, holder, hh ? &copy : NULL);
        /* a plain mutex or spinlock is unlocked whoever asks */
        if (ev->result == TG_OK && kind != TG_OBJ_RWLOCK)
            held_drop(a, holder, obj);
        return;
    }
    /* Nobody holds it. In a fork child or for a process-shared lock it may
     * be held by another process (the parent's thread at fork), which this
     * process's objects cannot see: only report what this process saw. */
    struct dproc *p = st_proc(a, ev->process);
    bool other_process_may_hold = ev->pshared || o->pshared ||
                                  (ev->process != a->first_process && fresh) ||
                                  (p && p->forked_child && fresh);
    if (fresh && other_process_may_hold)
        return;
    mu_simple(a, ev, TG_MISUSE_UNLOCK_NOT_HELD, obj, NONE, NULL);
}

/* ---- waits */

static void set_blocked(struct tg_analysis *a, struct dthread *t, bool on)
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
    set_blocked(a, t, blocks);
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
    set_blocked(a, t, false);
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
    set_blocked(a, t, false);
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
            set_blocked(a, w, true);
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
        held_drop(a, ev->thread, mutex);
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
    if (mutex != NONE && !st_holds(t, mutex)) {
        struct dheld h = { .obj = mutex, .mode = TG_MODE_EXCL, .count = 1,
                           .stack = ev->stack, .ts = ev->ts };
        if (t->cond_has_held && t->cond_held.obj == mutex)
            h = t->cond_held;
        struct dobj *m = OBJ(a, mutex);
        if (m->owner != NONE && m->owner != ev->thread)
            held_drop(a, m->owner, mutex);
        /* re-locking the mutex blocks like any lock call */
        lg_blocking_acquire(a, t, ev->thread, mutex, TG_MODE_EXCL, ev);
        uint32_t count = h.count;
        held_add(a, t, ev->thread, &h);
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
            held_add(a, t, ev->thread, &h);
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
        held_drop(a, index, t->held[t->nheld - 1].obj);
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
        set_blocked(a, t, true);
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
        set_blocked(a, j, true);
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

void st_free(struct tg_analysis *a)
{
    for (uint32_t i = 0; i < a->nobjs; i++)
        free(OBJ(a, i)->readers), free(OBJ(a, i)->out), free(OBJ(a, i)->in),
            free(OBJ(a, i)->members);
    for (uint32_t p = 0; p * PAGE_SIZE_ < a->nobjs; p++)
        free(a->objpages[p]);
    free(a->objpages);
    for (uint32_t i = 0; i < a->capthreads; i++)
        if (a->threads[i]) {
            free(a->threads[i]->held);
            free(a->threads[i]);
        }
    free(a->threads);
    free(a->alive);
    for (uint32_t i = 0; i < a->capprocs; i++)
        if (a->procs[i]) {
            free(a->procs[i]->inherit);
            free(a->procs[i]);
        }
    free(a->procs);
    dmap_free(&a->objmap);
    dmap_free(&a->pthmap);
}
