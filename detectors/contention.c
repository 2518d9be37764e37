/* Contention statistics for `tangle stats` and the TUI: per lock, how often
 * it was taken, how often and how long threads waited for it, how long it
 * was held and how often it changed hands; per thread, how its life split
 * into running, waiting in tracked calls and sleeping.
 *
 * A wait is the time from a REQ (the call had to wait) to its ACQ or FAIL,
 * from COND_WAIT to COND_WOKE, SEM_REQ to SEM_ACQ/FAIL, BARRIER_WAIT to
 * BARRIER_DONE, JOIN_REQ to JOIN_DONE. A hold is from acquisition to
 * release; a condition wait releases its mutex and takes it again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

struct reader { uint32_t thread; uint64_t ts; };

struct lockstate {
    uint32_t owner, count, last_acquirer;
    uint64_t owner_ts;
    struct reader *readers;
    uint32_t nreaders, capreaders;
};

struct thstate {
    uint32_t pos;               /* index in threads[], NONE until seen */
    uint64_t wait_start, sleep_start, last_ts;
    uint32_t wait_lock;         /* lock index of a pending lock request, NONE */
    bool     waiting, sleeping, ended;
    bool     exec_ended;        /* by its process's exec, which may fail (EXEC_FAIL) */
};

struct tg_contention {
    struct dmap map;            /* (process, addr) -> lock index */
    struct tg_lock_stats *locks;
    struct lockstate *ls;
    uint32_t nlocks, caplocks, capls;
    struct tg_thread_stats *threads;
    uint32_t nthreads, capthreads;
    struct thstate *th;         /* by thread index */
    uint32_t capth;
};

int tg_contention_new(struct tg_contention **out)
{
    struct tg_contention *c = calloc(1, sizeof *c);
    if (!c || dmap_init(&c->map, 256) < 0) {
        free(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

void tg_contention_free(struct tg_contention *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->nlocks; i++)
        free(c->ls[i].readers);
    free(c->locks);
    free(c->ls);
    free(c->threads);
    free(c->th);
    dmap_free(&c->map);
    free(c);
}

static struct thstate *thread_of(struct tg_contention *c, const struct tg_ev *ev)
{
    uint32_t idx = ev->thread;
    if (idx >= (1u << 22))          /* not a thread index a trace allocates */
        return NULL;
    if (idx >= c->capth) {
        uint32_t old = c->capth;
        if (GROW(c->th, c->capth, idx + 1) < 0)
            return NULL;
        for (uint32_t i = old; i < c->capth; i++)
            c->th[i] = (struct thstate){ .pos = NONE, .wait_lock = NONE };
    }
    struct thstate *t = &c->th[idx];
    if (t->pos == NONE) {
        if (GROW(c->threads, c->capthreads, c->nthreads + 1) < 0)
            return NULL;
        t->pos = c->nthreads++;
        c->threads[t->pos] = (struct tg_thread_stats){
            .thread = idx, .process = ev->process, .start_ts = ev->ts,
        };
    }
    return t;
}

static uint32_t lock_of(struct tg_contention *c, const struct tg_ev *ev, uint8_t kind, bool fresh)
{
    uint32_t *v = dmap_find(&c->map, ev->process, ev->obj);
    uint32_t gen = 0;
    if (v) {
        if (!fresh && c->locks[*v].kind == kind)
            return *v;
        gen = c->locks[*v].generation + 1;
    }
    uint32_t cap = c->caplocks;
    if (GROW(c->locks, c->caplocks, c->nlocks + 1) < 0 || GROW(c->ls, cap, c->nlocks + 1) < 0)
        return NONE;
    c->capls = cap;
    uint32_t i = c->nlocks;
    if (dmap_put(&c->map, ev->process, ev->obj, i) < 0)
        return NONE;
    c->nlocks++;
    c->locks[i] = (struct tg_lock_stats){
        .process = ev->process, .kind = kind, .mtype = kind == TG_OBJ_MUTEX ? ev->mtype : 0,
        .addr = ev->obj, .generation = gen, .site_stack = ev->stack, .site_is_init = fresh,
    };
    c->ls[i] = (struct lockstate){ .owner = NONE, .last_acquirer = NONE };
    return i;
}

static void hold_end(struct tg_contention *c, uint32_t l, uint64_t since, uint64_t ts)
{
    uint64_t d = ts > since ? ts - since : 0;
    c->locks[l].total_hold_ns += d;
    if (d > c->locks[l].max_hold_ns)
        c->locks[l].max_hold_ns = d;
}

static void acquired(struct tg_contention *c, uint32_t l, uint32_t thread, uint8_t mode,
                     uint64_t ts)
{
    struct tg_lock_stats *s = &c->locks[l];
    struct lockstate *st = &c->ls[l];
    s->acquisitions++;
    if (st->last_acquirer != NONE && st->last_acquirer != thread)
        s->owner_changes++;
    st->last_acquirer = thread;
    if (mode == TG_MODE_READ) {
        if (GROW(st->readers, st->capreaders, st->nreaders + 1) == 0)
            st->readers[st->nreaders++] = (struct reader){ thread, ts };
        return;
    }
    if (st->owner == thread) {
        st->count++;
        return;
    }
    st->owner = thread;
    st->owner_ts = ts;
    st->count = 1;
}

static void released(struct tg_contention *c, uint32_t l, uint32_t thread, uint64_t ts)
{
    struct lockstate *st = &c->ls[l];
    if (st->owner == thread) {
        if (--st->count == 0) {
            hold_end(c, l, st->owner_ts, ts);
            st->owner = NONE;
        }
        return;
    }
    for (uint32_t i = 0; i < st->nreaders; i++)
        if (st->readers[i].thread == thread) {
            hold_end(c, l, st->readers[i].ts, ts);
            st->readers[i] = st->readers[--st->nreaders];
            return;
        }
}

static void wait_begin(struct thstate *t, uint64_t ts, uint32_t lock)
{
    t->waiting = true;
    t->wait_start = ts;
    t->wait_lock = lock;
}

/* Ends the thread's wait; returns its length. */
static uint64_t wait_end(struct tg_contention *c, struct thstate *t, uint64_t ts)
{
    if (!t->waiting)
        return 0;
    uint64_t d = ts > t->wait_start ? ts - t->wait_start : 0;
    struct tg_thread_stats *s = &c->threads[t->pos];
    s->waiting_ns += d;
    s->waits++;
    t->waiting = false;
    t->wait_lock = NONE;
    return d;
}

static void lock_wait_done(struct tg_contention *c, struct thstate *t, uint32_t l, uint64_t ts,
                           bool ok)
{
    bool had = t->waiting && t->wait_lock == l;
    uint64_t d = had ? wait_end(c, t, ts) : 0;
    struct tg_lock_stats *s = &c->locks[l];
    if (had) {
        s->total_wait_ns += d;
        if (d > s->max_wait_ns)
            s->max_wait_ns = d;
        if (ok)
            s->contended++;
    }
    if (!ok)
        s->failed++;
}

static void thread_end(struct tg_contention *c, struct thstate *t, uint64_t ts)
{
    if (t->ended)
        return;
    wait_end(c, t, ts);
    struct tg_thread_stats *s = &c->threads[t->pos];
    if (t->sleeping) {
        s->sleeping_ns += ts > t->sleep_start ? ts - t->sleep_start : 0;
        t->sleeping = false;
    }
    s->end_ts = ts;
    t->ended = true;
}

static void update_running(struct tg_contention *c, struct thstate *t, uint64_t ts)
{
    struct tg_thread_stats *s = &c->threads[t->pos];
    uint64_t end = t->ended ? s->end_ts : ts;
    uint64_t life = end > s->start_ts ? end - s->start_ts : 0;
    uint64_t busy = s->waiting_ns + s->sleeping_ns;
    s->running_ns = life > busy ? life - busy : 0;
    t->last_ts = ts;
}

int tg_contention_feed(struct tg_contention *c, const struct tg_ev *ev)
{
    struct thstate *t = thread_of(c, ev);
    if (!t)
        return ev->thread >= (1u << 22) ? 0 : -ENOMEM;
    uint8_t kind = TG_OBJ_MUTEX, mode = TG_MODE_EXCL;
    uint32_t l = NONE;
    switch (ev->kind) {
    case TG_EV_RD_REQ: case TG_EV_RD_ACQ: case TG_EV_RD_TRY: case TG_EV_RD_FAIL:
        mode = TG_MODE_READ;
        /* fall through */
    case TG_EV_WR_REQ: case TG_EV_WR_ACQ: case TG_EV_WR_TRY: case TG_EV_WR_FAIL:
    case TG_EV_RW_REL: case TG_EV_RW_INIT:
        kind = TG_OBJ_RWLOCK;
        break;
    case TG_EV_SPIN_REQ: case TG_EV_SPIN_ACQ: case TG_EV_SPIN_TRY: case TG_EV_SPIN_REL:
    case TG_EV_SPIN_INIT:
        kind = TG_OBJ_SPIN;
        break;
    }
    switch (ev->kind) {
    case TG_EV_THREAD_START:
        c->threads[t->pos].start_ts = ev->ts;
        c->threads[t->pos].process = ev->process;
        break;
    case TG_EV_THREAD_EXIT:
        thread_end(c, t, ev->ts);
        break;
    case TG_EV_PROCESS_EXIT:
        for (uint32_t i = 0; i < c->nthreads; i++) {
            struct thstate *o = &c->th[c->threads[i].thread];
            if (c->threads[i].process != ev->process || o->ended)
                continue;
            thread_end(c, o, ev->ts);
            o->exec_ended = ev->p1 == TG_EXIT_EXEC;
        }
        break;
    case TG_EV_EXEC_FAIL:           /* the exec's exit is void: its threads go on */
        for (uint32_t i = 0; i < c->nthreads; i++) {
            struct thstate *o = &c->th[c->threads[i].thread];
            if (c->threads[i].process == ev->process && o->exec_ended) {
                o->ended = o->exec_ended = false;
                c->threads[i].end_ts = 0;
            }
        }
        break;
    case TG_EV_MUTEX_INIT: case TG_EV_RW_INIT: case TG_EV_SPIN_INIT:
        if (ev->result == TG_OK && (l = lock_of(c, ev, kind, true)) == NONE)
            return -ENOMEM;
        break;
    case TG_EV_MUTEX_REQ: case TG_EV_RD_REQ: case TG_EV_WR_REQ: case TG_EV_SPIN_REQ:
        if ((l = lock_of(c, ev, kind, false)) == NONE)
            return -ENOMEM;
        wait_begin(t, ev->ts, l);
        break;
    case TG_EV_MUTEX_ACQ: case TG_EV_RD_ACQ: case TG_EV_WR_ACQ: case TG_EV_SPIN_ACQ:
        if ((l = lock_of(c, ev, kind, false)) == NONE)
            return -ENOMEM;
        lock_wait_done(c, t, l, ev->ts, true);
        acquired(c, l, ev->thread, mode, ev->ts);
        break;
    case TG_EV_MUTEX_FAIL: case TG_EV_RD_FAIL: case TG_EV_WR_FAIL:
        if ((l = lock_of(c, ev, kind, false)) == NONE)
            return -ENOMEM;
        lock_wait_done(c, t, l, ev->ts, ev->result == TG_OWNERDEAD);
        if (ev->result == TG_OWNERDEAD)
            acquired(c, l, ev->thread, mode, ev->ts);
        break;
    case TG_EV_MUTEX_TRY: case TG_EV_RD_TRY: case TG_EV_WR_TRY: case TG_EV_SPIN_TRY:
        if (ev->result == TG_OK || ev->result == TG_OWNERDEAD) {
            if ((l = lock_of(c, ev, kind, false)) == NONE)
                return -ENOMEM;
            acquired(c, l, ev->thread, mode, ev->ts);
        }
        break;
    case TG_EV_MUTEX_REL: case TG_EV_RW_REL: case TG_EV_SPIN_REL: {
        uint32_t *v = dmap_find(&c->map, ev->process, ev->obj);
        if (v && ev->result == TG_OK)
            released(c, *v, ev->thread, ev->ts);
        break;
    }
    case TG_EV_COND_WAIT: {
        uint32_t *v = dmap_find(&c->map, ev->process, ev->p0);
        if (v)
            released(c, *v, ev->thread, ev->ts);
        wait_begin(t, ev->ts, NONE);
        break;
    }
    case TG_EV_COND_WOKE: {
        wait_end(c, t, ev->ts);
        struct tg_ev m = *ev;
        m.obj = ev->p0;
        m.mtype = 0;
        if ((l = lock_of(c, &m, TG_OBJ_MUTEX, false)) == NONE)
            return -ENOMEM;
        acquired(c, l, ev->thread, TG_MODE_EXCL, ev->ts);
        break;
    }
    /* A semaphore has a row like a lock, with acquisitions, contended
     * ones (a SEM_REQ before the SEM_ACQ) and waits; no owner, so no holds
     * and no owner changes: any thread may post what another took. */
    case TG_EV_SEM_INIT:
        if (ev->result == TG_OK && lock_of(c, ev, TG_OBJ_SEM, true) == NONE)
            return -ENOMEM;
        break;
    case TG_EV_SEM_REQ:
        if ((l = lock_of(c, ev, TG_OBJ_SEM, false)) == NONE)
            return -ENOMEM;
        wait_begin(t, ev->ts, l);
        break;
    case TG_EV_SEM_ACQ: case TG_EV_SEM_FAIL:
        if ((l = lock_of(c, ev, TG_OBJ_SEM, false)) == NONE)
            return -ENOMEM;
        lock_wait_done(c, t, l, ev->ts, ev->kind == TG_EV_SEM_ACQ);
        c->locks[l].acquisitions += ev->kind == TG_EV_SEM_ACQ;
        break;
    case TG_EV_SEM_TRY:
        if (ev->result == TG_OK) {
            if ((l = lock_of(c, ev, TG_OBJ_SEM, false)) == NONE)
                return -ENOMEM;
            c->locks[l].acquisitions++;
        }
        break;
    case TG_EV_BARRIER_WAIT: case TG_EV_JOIN_REQ:
        wait_begin(t, ev->ts, NONE);
        break;
    case TG_EV_BARRIER_DONE: case TG_EV_JOIN_DONE:
        wait_end(c, t, ev->ts);
        break;
    case TG_EV_SLEEP_BEGIN:
        t->sleeping = true;
        t->sleep_start = ev->ts;
        break;
    case TG_EV_SLEEP_END:
        if (t->sleeping) {
            c->threads[t->pos].sleeping_ns += ev->ts > t->sleep_start ? ev->ts - t->sleep_start : 0;
            t->sleeping = false;
        }
        break;
    }
    update_running(c, t, ev->ts);
    return 0;
}

void tg_contention_finish(struct tg_contention *c, uint64_t end_ts)
{
    for (uint32_t i = 0; i < c->nthreads; i++) {
        struct thstate *t = &c->th[c->threads[i].thread];
        if (t->waiting && t->wait_lock != NONE && !t->ended) {
            /* still waiting when the trace ended: counts as wait, not as failure */
            struct tg_lock_stats *s = &c->locks[t->wait_lock];
            uint64_t d = end_ts > t->wait_start ? end_ts - t->wait_start : 0;
            s->total_wait_ns += d;
            if (d > s->max_wait_ns)
                s->max_wait_ns = d;
        }
        thread_end(c, t, end_ts);
        update_running(c, t, end_ts);
    }
    for (uint32_t l = 0; l < c->nlocks; l++) {
        struct lockstate *st = &c->ls[l];
        if (st->owner != NONE)
            hold_end(c, l, st->owner_ts, end_ts);
        for (uint32_t i = 0; i < st->nreaders; i++)
            hold_end(c, l, st->readers[i].ts, end_ts);
        st->owner = NONE;
        st->nreaders = 0;
    }
}

size_t tg_contention_locks(const struct tg_contention *c, const struct tg_lock_stats **out)
{
    *out = c->locks;
    return c->nlocks;
}

size_t tg_contention_threads(const struct tg_contention *c, const struct tg_thread_stats **out)
{
    *out = c->threads;
    return c->nthreads;
}
