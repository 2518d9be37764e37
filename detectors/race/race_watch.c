/* detectors/race/: races on watched variables (`tangle run --watch`).
 *
 * The tracer records every access to a watched variable as a WATCH_ACCESS
 * event; the happens-before order comes from the synchronisation events
 * around them, replayed here through hb/ (the engine the in-process
 * runtime uses): each thread gets a slot and a vector clock, each
 * synchronisation object a release clock, and each access is checked
 * against the shadow cells of its granule (FastTrack epochs).
 *
 * The trace's time order is a valid happens-before order: the tracer takes
 * a release's time before the real unlock/post and an acquire's after the
 * real call returned. Thread creation is the exception (THREAD_CREATE is
 * written when pthread_create returns, possibly after the child started),
 * so a child takes its creator's clock at whichever comes first.
 *
 * Beside the cells, a side table keeps for each granule's cell the access
 * that is in it (thread, stack, pc, locks held) for the report. A thread
 * whose events the tracer lost has an incomplete order: races involving
 * it are not reported (they might be ordered by what was lost).
 */
#include <stdlib.h>
#include <string.h>

#include "detectors/race/race_int.h"

#define INFO_HELD 8             /* locks remembered per earlier access */
#define KEY_THREAD_EXIT (1ull << 63)

struct rthread {
    bool     live, ended;
    struct tg_hb_thread hb;
    struct tg_hb_vc handoff;            /* the creator's clock at THREAD_CREATE */
    bool     has_handoff;
};

/* The access held in one shadow cell. */
struct rinfo {
    tg_hb_cell cell;
    uint32_t thread, stack;
    uint64_t pc, addr, ts;
    uint32_t nheld;
    struct dheld held[INFO_HELD];
};

struct rc_watch {
    struct tg_hb_slots *slots;
    struct tg_hb_syncs *syncs;
    struct rthread **threads;           /* by trace thread index */
    uint32_t capthreads;
    struct tg_hb_shadow **shadows;      /* by process index, made at the first watched access */
    uint32_t capshadows;
    struct dmap granules;               /* (process, granule) -> index of its 4 rinfo */
    struct rinfo *infos;
    uint32_t ninfos, capinfos;
};

static struct rc_watch *watch_state(struct tg_analysis *a)
{
    if (a->race)
        return a->race;
    struct rc_watch *w = calloc(1, sizeof *w);
    if (!w || !(w->slots = tg_hb_slots_new()) || !(w->syncs = tg_hb_syncs_new()) ||
        dmap_init(&w->granules, 64) < 0) {
        rc_watch_free(w);
        a->oom = true;
        return NULL;
    }
    return a->race = w;
}

void rc_watch_free(struct rc_watch *w)
{
    if (!w)
        return;
    for (uint32_t i = 0; i < w->capthreads; i++)
        if (w->threads[i]) {
            tg_hb_thread_free(&w->threads[i]->hb);
            tg_hb_vc_free(&w->threads[i]->handoff);
            free(w->threads[i]);
        }
    free(w->threads);
    for (uint32_t i = 0; i < w->capshadows; i++)
        if (w->shadows[i]) {
            tg_hb_shadow_fini(w->shadows[i]);
            free(w->shadows[i]);
        }
    free(w->shadows);
    if (w->slots)
        tg_hb_slots_free(w->slots);
    if (w->syncs)
        tg_hb_syncs_free(w->syncs);
    if (w->granules.cap)
        dmap_free(&w->granules);
    free(w->infos);
    free(w);
}

/* ---- threads */

static struct rthread *rthread_get(struct tg_analysis *a, struct rc_watch *w, uint32_t index)
{
    if (index == TG_NO_THREAD || index == TG_META_STREAM)
        return NULL;
    if (index >= w->capthreads) {
        uint32_t old = w->capthreads;
        if (GROW(w->threads, w->capthreads, index + 1) < 0) {
            a->oom = true;
            return NULL;
        }
        memset(w->threads + old, 0, (w->capthreads - old) * sizeof *w->threads);
    }
    if (!w->threads[index] && !(w->threads[index] = calloc(1, sizeof **w->threads)))
        a->oom = true;
    return w->threads[index];
}

static bool rthread_begin(struct tg_analysis *a, struct rc_watch *w, struct rthread *t,
                          const struct tg_hb_vc *parent)
{
    if (tg_hb_thread_start(&t->hb, w->slots, parent) != 0) {
        a->oom = true;          /* out of memory or of slots: this thread goes unchecked */
        return false;
    }
    t->live = true;
    return true;
}

/* The thread of an event, started with no past if its start was not seen
 * (the trace began after it, or its record was lost). */
static struct rthread *live_thread(struct tg_analysis *a, struct rc_watch *w, uint32_t index)
{
    struct rthread *t = rthread_get(a, w, index);
    if (!t || t->ended)
        return NULL;
    if (!t->live && !rthread_begin(a, w, t, NULL))
        return NULL;
    return t;
}

static void thread_start(struct tg_analysis *a, struct rc_watch *w, const struct tg_ev *ev)
{
    struct rthread *t = rthread_get(a, w, ev->thread);
    if (!t || t->live)
        return;
    uint32_t parent = (uint32_t)(ev->p0 >> 32);
    struct rthread *p = parent != TG_NO_THREAD ? rthread_get(a, w, parent) : NULL;
    if (t->has_handoff) {
        rthread_begin(a, w, t, &t->handoff);
    } else if (p && p->live && !p->ended) {
        /* the creator is still inside pthread_create: its clock now is
         * its clock at the call */
        if (rthread_begin(a, w, t, &p->hb.clock))
            tg_hb_tick(&p->hb);
    } else {
        rthread_begin(a, w, t, NULL);
    }
    tg_hb_vc_free(&t->handoff);
    t->has_handoff = false;
}

static void thread_create(struct tg_analysis *a, struct rc_watch *w, const struct tg_ev *ev)
{
    if (ev->result != TG_OK)
        return;
    struct rthread *p = live_thread(a, w, ev->thread);
    struct rthread *c = rthread_get(a, w, (uint32_t)ev->p0);
    if (!p || !c || c->live || c->ended)
        return;
    if (tg_hb_vc_copy(&c->handoff, &p->hb.clock) == 0)
        c->has_handoff = true;
    tg_hb_tick(&p->hb);
}

static uint64_t sync_key(uint32_t process, uint64_t addr)
{
    return (addr & ((1ull << 48) - 1)) | (uint64_t)(process & 0x7fff) << 48;
}

static void thread_exit(struct tg_analysis *a, struct rc_watch *w, const struct tg_ev *ev)
{
    struct rthread *t = rthread_get(a, w, ev->thread);
    if (!t || !t->live || t->ended)
        return;
    struct tg_hb_sync *o = tg_hb_sync_get(w->syncs, KEY_THREAD_EXIT | ev->thread, true);
    tg_hb_thread_end(&t->hb, w->slots, o);
    tg_hb_thread_free(&t->hb);
    t->live = false;
    t->ended = true;
}

static void join_done(struct tg_analysis *a, struct rc_watch *w, struct rthread *t,
                      const struct tg_ev *ev)
{
    if (ev->result != TG_OK)
        return;
    uint32_t *target = dmap_find(&a->pthmap, ev->process, ev->obj);
    if (!target)
        return;
    struct tg_hb_sync *o = tg_hb_sync_get(w->syncs, KEY_THREAD_EXIT | *target, false);
    if (o)
        tg_hb_acquire(&t->hb, o);
}

/* ---- synchronisation objects */

static void acquire(struct rc_watch *w, struct rthread *t, uint32_t process, uint64_t addr,
                    bool all)
{
    struct tg_hb_sync *o = tg_hb_sync_get(w->syncs, sync_key(process, addr), false);
    if (!o)
        return;
    if (all)
        tg_hb_acquire_all(&t->hb, o);
    else
        tg_hb_acquire(&t->hb, o);
}

static void release(struct tg_analysis *a, struct rc_watch *w, struct rthread *t,
                    uint32_t process, uint64_t addr, bool read)
{
    struct tg_hb_sync *o = tg_hb_sync_get(w->syncs, sync_key(process, addr), true);
    if (!o) {
        a->oom = true;
        return;
    }
    if (read)
        tg_hb_release_read(&t->hb, o);
    else
        tg_hb_release(&t->hb, o);
}

/* Whether THREAD holds the rwlock at ADDR for reading (the analysis's
 * holds, not yet updated for the event being fed). */
static bool held_for_read(struct tg_analysis *a, uint32_t thread, uint32_t process, uint64_t addr)
{
    struct dthread *d = st_thread(a, thread);
    if (!d)
        return false;
    for (uint32_t i = 0; i < d->nheld; i++) {
        const struct dobj *o = OBJ(a, d->held[i].obj);
        if (o->addr == addr && o->process == process)
            return d->held[i].mode == TG_MODE_READ;
    }
    return false;
}

static bool succeeded(const struct tg_ev *ev)
{
    return ev->result == TG_OK || ev->result == TG_OWNERDEAD;
}

/* pthread_once: the earliest ONCE_END of a control is the thread that ran
 * the routine (the tracer stamps it when the routine returned), which
 * releases; every caller acquires. */
static void once_end(struct tg_analysis *a, struct rc_watch *w, struct rthread *t,
                     const struct tg_ev *ev)
{
    struct tg_hb_sync *o = tg_hb_sync_get(w->syncs, sync_key(ev->process, ev->obj), true);
    if (!o) {
        a->oom = true;
        return;
    }
    if (!o->user) {
        o->user = 1;
        tg_hb_release(&t->hb, o);
    }
    tg_hb_acquire(&t->hb, o);
}

/* ---- watched accesses */

static struct tg_hb_shadow *shadow_of(struct tg_analysis *a, struct rc_watch *w, uint32_t process)
{
    if (process >= w->capshadows) {
        uint32_t old = w->capshadows;
        if (GROW(w->shadows, w->capshadows, process + 1) < 0)
            goto oom;
        memset(w->shadows + old, 0, (w->capshadows - old) * sizeof *w->shadows);
    }
    if (!w->shadows[process]) {
        struct tg_hb_shadow *s = calloc(1, sizeof *s);
        if (!s || tg_hb_shadow_init(s) != 0) {
            free(s);
            goto oom;
        }
        w->shadows[process] = s;
    }
    return w->shadows[process];
oom:
    a->oom = true;
    return NULL;
}

static struct rinfo *granule_infos(struct tg_analysis *a, struct rc_watch *w, uint32_t process,
                                   uint64_t granule)
{
    uint32_t *v = dmap_find(&w->granules, process, granule);
    if (v)
        return &w->infos[*v];
    if (GROW(w->infos, w->capinfos, w->ninfos + TG_HB_CELLS) < 0 ||
        dmap_put(&w->granules, process, granule, w->ninfos) < 0) {
        a->oom = true;
        return NULL;
    }
    memset(&w->infos[w->ninfos], 0, TG_HB_CELLS * sizeof *w->infos);
    w->ninfos += TG_HB_CELLS;
    return &w->infos[w->ninfos - TG_HB_CELLS];
}

static void access_granule(struct tg_analysis *a, struct rc_watch *w, struct rthread *t,
                           const struct tg_ev *ev, uint64_t addr, unsigned size, bool write)
{
    struct tg_hb_shadow *s = shadow_of(a, w, ev->process);
    tg_hb_cell *cells = s ? tg_hb_shadow_cells(s, addr) : NULL;
    if (!cells)
        return;
    uint64_t granule = addr & ~7ull;
    tg_hb_cell cur = tg_hb_cell_make(t->hb.slot, t->hb.epoch, tg_hb_mask(addr & 7, size),
                                     write, false);
    struct tg_hb_result res;
    bool racy = tg_hb_access(cells, cur, &t->hb.clock, &res);
    if (res.stored < 0 && !racy)
        return;                 /* the same access again in the same epoch */
    struct rinfo *infos = granule_infos(a, w, ev->process, granule);
    if (!infos)
        return;
    struct dthread *d = st_thread(a, ev->thread);
    if (racy && res.racy_index >= 0 && infos[res.racy_index].cell == res.racy) {
        const struct rinfo *p = &infos[res.racy_index];
        struct dthread *pd = st_thread(a, p->thread);
        if (d && pd && !d->lost && !pd->lost) {
            struct rc_access cur_acc = {
                .thread = ev->thread, .stack = ev->stack, .pc = ev->p0, .addr = ev->obj,
                .ts = ev->ts, .size = ev->arg & 0x7fu, .access = write,
                .event = TG_EV_WATCH_ACCESS, .held = d->held, .nheld = d->nheld,
            };
            struct rc_access prev_acc = {
                .thread = p->thread, .stack = p->stack, .pc = p->pc, .addr = p->addr,
                .ts = p->ts, .size = tg_hb_cell_size(p->cell),
                .access = tg_hb_cell_write(p->cell), .event = TG_EV_WATCH_ACCESS,
                .held = p->held, .nheld = p->nheld,
            };
            struct rc_mem m = { .process = ev->process, .ts = ev->ts,
                                .mem = { .addr = ev->obj, .size = ev->arg & 0x7fu } };
            rc_commit(a, &m, &cur_acc, &prev_acc);
        }
    }
    if (res.stored >= 0) {
        struct rinfo *i = &infos[res.stored];
        i->cell = cur;
        i->thread = ev->thread;
        i->stack = ev->stack;
        i->pc = ev->p0;
        i->addr = granule + tg_hb_cell_offset(cur);
        i->ts = ev->ts;
        i->nheld = 0;
        for (uint32_t k = 0; d && k < d->nheld && k < INFO_HELD; k++)
            i->held[i->nheld++] = d->held[k];
    }
}

static void watch_access(struct tg_analysis *a, struct rc_watch *w, struct rthread *t,
                         const struct tg_ev *ev)
{
    unsigned size = ev->arg & 0x7fu;
    bool write = (ev->arg & TG_ACCESS_WRITE) != 0;
    uint64_t addr = ev->obj, end = addr + (size ? size : 1);
    /* an access that straddles granules is checked in each */
    while (addr < end) {
        uint64_t stop = (addr & ~7ull) + 8 < end ? (addr & ~7ull) + 8 : end;
        access_granule(a, w, t, ev, addr, (unsigned)(stop - addr), write);
        addr = stop;
    }
}

/* ---- the dispatcher */

void rc_watch_feed(struct tg_analysis *a, const struct tg_ev *ev)
{
    struct rc_watch *w = watch_state(a);
    if (!w)
        return;
    switch (ev->kind) {
    case TG_EV_THREAD_START:
        thread_start(a, w, ev);
        return;
    case TG_EV_THREAD_CREATE:
        thread_create(a, w, ev);
        return;
    case TG_EV_THREAD_EXIT:
        thread_exit(a, w, ev);
        return;
    case TG_EV_MUTEX_INIT: case TG_EV_RW_INIT: case TG_EV_SPIN_INIT: case TG_EV_SEM_INIT:
    case TG_EV_BARRIER_INIT: case TG_EV_COND_INIT: case TG_EV_MUTEX_DESTROY:
    case TG_EV_RW_DESTROY: case TG_EV_SPIN_DESTROY: case TG_EV_SEM_DESTROY:
    case TG_EV_BARRIER_DESTROY:
        if (ev->result == TG_OK)    /* a new object has no past */
            tg_hb_sync_remove(w->syncs, sync_key(ev->process, ev->obj));
        return;
    case TG_EV_PROCESS_EXIT:
    case TG_EV_LOST: case TG_EV_TIME: case TG_EV_NONE: case TG_EV_THREAD_NAME:
    case TG_EV_SLEEP_BEGIN: case TG_EV_SLEEP_END: case TG_EV_RACE:
        return;                 /* sleeping orders nothing */
    default:
        break;
    }
    struct rthread *t = live_thread(a, w, ev->thread);
    if (!t)
        return;
    switch (ev->kind) {
    case TG_EV_MUTEX_ACQ: case TG_EV_SPIN_ACQ: case TG_EV_WR_ACQ:
        acquire(w, t, ev->process, ev->obj, true);
        break;
    case TG_EV_MUTEX_TRY: case TG_EV_SPIN_TRY: case TG_EV_WR_TRY: case TG_EV_MUTEX_FAIL:
        if (ev->result == TG_OK || ev->result == TG_OWNERDEAD)
            acquire(w, t, ev->process, ev->obj, true);
        break;
    case TG_EV_RD_ACQ:
        acquire(w, t, ev->process, ev->obj, false);     /* not the other readers' */
        break;
    case TG_EV_RD_TRY:
        if (ev->result == TG_OK)
            acquire(w, t, ev->process, ev->obj, false);
        break;
    case TG_EV_MUTEX_REL: case TG_EV_SPIN_REL:
        if (ev->result == TG_OK)
            release(a, w, t, ev->process, ev->obj, false);
        break;
    case TG_EV_RW_REL:
        if (ev->result == TG_OK)
            release(a, w, t, ev->process, ev->obj,
                    held_for_read(a, ev->thread, ev->process, ev->obj));
        break;
    case TG_EV_COND_WAIT:           /* gives the mutex back */
        release(a, w, t, ev->process, ev->p0, false);
        break;
    case TG_EV_COND_WOKE:           /* holds it again, also on timeout */
        acquire(w, t, ev->process, ev->p0, true);
        break;
    case TG_EV_SEM_POST:
        if (ev->result == TG_OK)
            release(a, w, t, ev->process, ev->obj, false);
        break;
    case TG_EV_SEM_ACQ:
        acquire(w, t, ev->process, ev->obj, false);
        break;
    case TG_EV_SEM_TRY:
        if (ev->result == TG_OK)
            acquire(w, t, ev->process, ev->obj, false);
        break;
    case TG_EV_BARRIER_WAIT:
        release(a, w, t, ev->process, ev->obj, false);
        break;
    case TG_EV_BARRIER_DONE:
        if (succeeded(ev) || ev->result == TG_SERIAL)
            acquire(w, t, ev->process, ev->obj, false);
        break;
    case TG_EV_ONCE_END:
        if (ev->result == TG_OK)
            once_end(a, w, t, ev);
        break;
    case TG_EV_JOIN_DONE:
        join_done(a, w, t, ev);
        break;
    case TG_EV_SYNC_ACQUIRE:
        acquire(w, t, ev->process, ev->obj, false);
        break;
    case TG_EV_SYNC_RELEASE:
        release(a, w, t, ev->process, ev->obj, false);
        break;
    case TG_EV_WATCH_ACCESS:
        watch_access(a, w, t, ev);
        break;
    default:
        break;
    }
}
