/* What the program's threads hold, rebuilt from the events: objects by
 * (process, address, generation), threads by trace index, processes, and
 * the lock calls. A blocking request or acquisition feeds the lock graph;
 * an impossible transition is misuse. Waits, threads and processes are in
 * state_threads.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

static void oom(struct tg_analysis *a) { a->oom = true; }

/* Thread and process indexes are dense and small (the trace allocates
 * them); anything past these is a corrupt trace, not a reason to allocate. */
#define MAX_THREADS (1u << 22)
#define MAX_PROCESSES (1u << 20)

struct dthread *st_thread_new(struct tg_analysis *a, uint32_t index)
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

struct dproc *st_proc_new(struct tg_analysis *a, uint32_t index)
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

/* The live object of KIND at the event's address, created at its first use.
 * An address has at most one live object, the one objmap names (obj_new
 * replaces the entry and whoever calls it marks the old object dead), so a
 * live last answer at the same address is the map's answer. */
uint32_t st_obj(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind)
{
    if (a->last_obj != NONE) {
        const struct dobj *o = OBJ(a, a->last_obj);
        if (o->addr == ev->obj && o->process == ev->process && !o->dead && o->kind == kind)
            return a->last_obj;
    }
    uint32_t id = st_obj_find(a, ev->process, ev->obj);
    if (id != NONE) {
        struct dobj *o = OBJ(a, id);
        if (!o->dead && o->kind == kind)
            return a->last_obj = id;
        o->dead = true;
        return a->last_obj = obj_new(a, ev, kind, o->generation + 1);
    }
    return a->last_obj = obj_new(a, ev, kind, 0);
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
void st_held_drop(struct tg_analysis *a, uint32_t thread, uint32_t obj)
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
    if (h != &t->held[--t->nheld])
        *h = t->held[t->nheld];
}

void st_held_add(struct tg_analysis *a, struct dthread *t, uint32_t thread,
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
    /* field by field: IN was just written field by field, and one wide
     * copy of it would wait for those stores to drain */
    struct dheld *d = &t->held[t->nheld++];
    d->obj = in->obj;
    d->mode = in->mode;
    d->count = 1;
    d->stack = in->stack;
    d->ts = in->ts;
    t->heldhash ^= held_hash(in->obj, in->mode);
}

/* THREAD's hold on OBJ is dropped because another thread acquired OBJ: our
 * picture missed its release, which may still come. */
static void displace(struct tg_analysis *a, uint32_t thread, uint32_t obj)
{
    struct dthread *t = st_thread(a, thread);
    if (t) {
        t->displaced[t->displaced_next] = obj;
        t->displaced_next = (uint8_t)((t->displaced_next + 1) % 4);
        if (t->ndisplaced < 4)
            t->ndisplaced++;
    }
    st_held_drop(a, thread, obj);
}

/* Whether T's release of OBJ is the one a displacement was waiting for
 * (then forgotten: it explains one release). */
static bool late_release(struct dthread *t, uint32_t obj)
{
    for (uint32_t i = 0; i < t->ndisplaced; i++)
        if (t->displaced[i] == obj) {
            t->displaced[i] = NONE;
            return true;
        }
    return false;
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
     * (lost events, or events reordered by a live read under load);
     * believe the acquisition */
    if (o->owner != NONE && o->owner != ev->thread)
        displace(a, o->owner, obj);
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
            displace(a, r, obj);
        }
    if (blocking)
        lg_blocking_acquire(a, t, ev->thread, obj, mode, ev);
    struct dheld h = { .obj = obj, .mode = mode, .count = 1, .stack = ev->stack, .ts = ev->ts };
    st_held_add(a, t, ev->thread, &h);
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
        st_set_blocked(a, t, false);
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
            if (h != &t->held[--t->nheld])
                *h = t->held[t->nheld];
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
    if (late_release(t, obj))
        return;                             /* the hold another acquisition took over */
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
            st_held_drop(a, holder, obj);
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
