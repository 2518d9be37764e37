/* Real deadlocks: the wait-for graph among blocked threads.
 *
 * When a thread blocks (an untimed lock, join, condition, semaphore or
 * barrier call) the analysis looks, right then, for what that makes
 * impossible to undo: a relock of a lock it holds that cannot be taken
 * twice (SELF), a cycle of threads each waiting in an untimed lock call or
 * join for the next (CYCLE), or every live thread of the process blocked
 * (ALL_BLOCKED; LOST_WAKEUP when a waited condition was signalled while
 * nobody waited). That is a candidate with the time it formed, t0. It
 * becomes a finding once it has held for the settle time: at a live tick
 * (now - t0 >= settle), when an event ends it after that long, or at the
 * end of the trace if still in place. The finding is built when the
 * candidate forms, so it is the same whichever of the three confirms it. */
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

static bool waits_for_lock(const struct dthread *t)
{
    return t && t->blocked && t->wait == TG_WAIT_LOCK && !t->wtimed;
}

static bool in_cycle_wait(const struct dthread *t)
{
    return t && t->blocked && !t->wtimed && (t->wait == TG_WAIT_LOCK || t->wait == TG_WAIT_JOIN);
}

/* Calls FN for each thread U waits for (U != the thread itself). */
static void successors(struct tg_analysis *a, uint32_t u,
                       void (*fn)(struct tg_analysis *, uint32_t from, uint32_t to, void *),
                       void *ctx)
{
    const struct dthread *t = a->threads[u];
    if (t->wait == TG_WAIT_JOIN) {
        if (t->wtarget != NONE)
            fn(a, u, t->wtarget, ctx);
        return;
    }
    const struct dobj *o = OBJ(a, t->wobj);
    if (o->owner != NONE && o->owner != u)
        fn(a, u, o->owner, ctx);
    if (t->wmode != TG_MODE_READ)
        for (uint32_t i = 0; i < o->nreaders; i++)
            if (o->readers[i] != u)
                fn(a, u, o->readers[i], ctx);
    if (t->wmode == TG_MODE_READ && o->owner == NONE) {
        /* a read request that had to wait on a read-held lock is queued
         * behind a waiting writer (writer-preferring rwlock) */
        for (uint32_t k = 0; k < a->nalive; k++) {
            uint32_t i = a->alive[k];
            const struct dthread *w = a->threads[i];
            if (i != u && waits_for_lock(w) && w->wobj == t->wobj && w->wmode == TG_MODE_WRITE)
                fn(a, u, i, ctx);
        }
    }
}

struct bfs_ctx {
    uint32_t start, found_from;
    uint32_t *queue;
    uint32_t tail;
};

static void visit(struct tg_analysis *a, uint32_t from, uint32_t to, void *vctx)
{
    struct bfs_ctx *c = vctx;
    if (c->found_from != NONE || to >= a->capthreads)
        return;
    struct dthread *t = a->threads[to];
    if (to == c->start) {
        c->found_from = from;
        return;
    }
    if (!in_cycle_wait(t) || t->bfs_epoch == a->tbfs_epoch)
        return;
    t->bfs_epoch = a->tbfs_epoch;
    t->bfs_parent = from;
    c->queue[c->tail++] = to;
}

/* ---- candidates */

static struct dcand *cand_new(struct tg_analysis *a, uint8_t form, uint32_t process,
                              uint64_t t0, const uint32_t *threads, uint32_t n)
{
    struct dcand *c = calloc(1, sizeof *c);
    if (!c || GROW(a->cands, a->capcands, a->ncands + 1) < 0)
        goto oom;
    c->threads = malloc(n * sizeof *c->threads);
    c->serials = malloc(n * sizeof *c->serials);
    if (!c->threads || !c->serials)
        goto oom;
    c->form = form;
    c->process = process;
    c->t0 = t0;
    c->n = n;
    for (uint32_t i = 0; i < n; i++) {
        c->threads[i] = threads[i];
        c->serials[i] = a->threads[threads[i]]->wserial;
        a->threads[threads[i]]->ncands++;
    }
    a->cands[a->ncands++] = c;
    return c;
oom:
    if (c) {
        free(c->threads);
        free(c->serials);
    }
    free(c);
    a->oom = true;
    return NULL;
}

static void cand_remove(struct tg_analysis *a, uint32_t i)
{
    struct dcand *c = a->cands[i];
    for (uint32_t k = 0; k < c->n; k++) {
        struct dthread *t = a->threads[c->threads[k]];
        if (t->ncands)
            t->ncands--;
    }
    free(c->f);
    free(c->threads);
    free(c->serials);
    free(c);
    a->cands[i] = a->cands[--a->ncands];
}

static int confirm(struct tg_analysis *a, struct dcand *c)
{
    c->confirmed = true;
    struct tg_finding *f = c->f;
    c->f = NULL;
    return f ? fd_commit(a, f) > 0 : 0;
}

static bool intact(const struct tg_analysis *a, const struct dcand *c)
{
    if (c->broken)
        return false;
    for (uint32_t k = 0; k < c->n; k++) {
        const struct dthread *t = a->threads[c->threads[k]];
        if (!t->blocked || t->wserial != c->serials[k])
            return false;
    }
    return true;
}

static bool process_has_candidate(const struct tg_analysis *a, uint32_t process)
{
    for (uint32_t i = 0; i < a->ncands; i++)
        if (a->cands[i]->process == process && intact(a, a->cands[i]))
            return true;
    return false;
}

/* ---- building the findings */

static void waits_step(struct fbuild *b, struct tg_analysis *a, uint32_t thread,
                       uint32_t held_obj)
{
    const struct dthread *t = a->threads[thread];
    struct tg_step *s = fb_step(b);
    if (!s)
        return;
    s->role = TG_ROLE_WAITS;
    s->wait = t->wait;
    s->mode = t->wmode;
    s->event = t->wevent;
    s->thread = thread;
    s->stack = t->wstack;
    s->ts = t->wts;
    if (t->wait == TG_WAIT_JOIN) {
        s->other_thread = t->wtarget;
        const struct dthread *target = t->wtarget != NONE ? a->threads[t->wtarget] : NULL;
        struct tg_obj_ref ref = { .process = t->process, .kind = TG_OBJ_THREAD,
                                  .addr = target ? target->pthread : 0 };
        s->obj = fb_obj_ref(b, &ref);
    } else if (t->wobj != NONE) {
        s->obj = fb_obj(b, a, t->wobj);
        const struct dobj *o = OBJ(a, t->wobj);
        if (t->wait == TG_WAIT_LOCK)
            s->other_thread = o->owner != NONE ? o->owner :
                              o->nreaders ? o->readers[0] : TG_NO_THREAD;
    }
    const struct dheld *h = held_obj != NONE ? st_holds((struct dthread *)t, held_obj) : NULL;
    if (h) {
        s->held = (struct tg_held_ref){ .obj = fb_obj(b, a, h->obj), .mode = h->mode,
                                        .stack = h->stack, .ts = h->ts };
    }
    fb_others(b, a, s, t->held, t->nheld, held_obj);
}

static uint64_t wait_hash(struct tg_analysis *a, uint32_t thread)
{
    const struct dthread *t = a->threads[thread];
    uint64_t obj = 0;
    if (t->wobj != NONE) {
        struct tg_obj_ref ref;
        obj_ref_fill(a, t->wobj, &ref);
        obj = fd_obj_key(a, &ref);
    }
    return hash2(hash2(hash2(t->wait, t->wmode), obj), fd_stack_key(a, t->wstack));
}

/* CYC[0..n-1]: CYC[i] waits for CYC[i+1]. */
static void cycle_candidate(struct tg_analysis *a, const uint32_t *cyc, uint32_t n,
                            const struct tg_ev *ev)
{
    if (n == 0)
        return;
    uint64_t *h = malloc(n * sizeof *h);
    uint32_t *rot = malloc(n * sizeof *rot);
    if (!h || !rot) {
        free(h);
        free(rot);
        a->oom = true;
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        h[i] = wait_hash(a, cyc[i]);
    uint32_t r = fd_min_rotation(h, n);
    for (uint32_t i = 0; i < n; i++)
        rot[i] = cyc[(r + i) % n];
    free(h);
    struct fbuild b;
    uint32_t process = a->threads[rot[0]]->process;
    fb_init(&b, TG_FIND_DEADLOCK, TG_DEADLOCK_CYCLE, process, ev->ts);
    for (uint32_t i = 0; i < n; i++) {
        /* the lock this thread holds that the previous one waits for */
        const struct dthread *prev = a->threads[rot[(i + n - 1) % n]];
        uint32_t held = prev->wait == TG_WAIT_LOCK ? prev->wobj : NONE;
        waits_step(&b, a, rot[i], held);
        if (b.nsteps)
            b.steps[b.nsteps - 1].other_thread = rot[(i + 1) % n];
    }
    struct tg_finding *f = fb_done(&b, a);
    struct dcand *c = f ? cand_new(a, TG_DEADLOCK_CYCLE, process, ev->ts, rot, n) : NULL;
    if (c)
        c->f = f;
    else
        free(f);
    free(rot);
}

static void self_candidate(struct tg_analysis *a, uint32_t thread, const struct tg_ev *ev)
{
    const struct dthread *t = a->threads[thread];
    struct fbuild b;
    fb_init(&b, TG_FIND_DEADLOCK, TG_DEADLOCK_SELF, t->process, ev->ts);
    waits_step(&b, a, thread, t->wobj);
    if (b.nsteps)
        b.steps[0].other_thread = thread;
    struct tg_finding *f = fb_done(&b, a);
    struct dcand *c = f ? cand_new(a, TG_DEADLOCK_SELF, t->process, ev->ts, &thread, 1) : NULL;
    if (c)
        c->f = f;
    else
        free(f);
}

static int cmp_index(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static void all_blocked_candidate(struct tg_analysis *a, uint32_t process, uint64_t ts)
{
    uint32_t n = 0, cap = 0, *list = NULL;
    for (uint32_t k = 0; k < a->nalive; k++) {
        uint32_t i = a->alive[k];
        const struct dthread *t = a->threads[i];
        if (t->process == process && t->state == TH_LIVE) {
            if (GROW(list, cap, n + 1) < 0) {
                free(list);
                a->oom = true;
                return;
            }
            list[n++] = i;
        }
    }
    qsort(list, n, sizeof *list, cmp_index);       /* shown in thread order */
    struct fbuild b;
    bool lost = false;
    fb_init(&b, TG_FIND_DEADLOCK, TG_DEADLOCK_ALL_BLOCKED, process, ts);
    for (uint32_t i = 0; i < n; i++) {
        const struct dthread *t = a->threads[list[i]];
        waits_step(&b, a, list[i], NONE);
        if (t->wait != TG_WAIT_COND || t->wobj == NONE)
            continue;
        const struct dobj *c = OBJ(a, t->wobj);
        if (!c->unheard || c->unheard_ts > t->wts)
            continue;
        /* the condition was signalled before this wait, with nobody waiting */
        struct tg_step *s = fb_step(&b);
        if (!s)
            break;
        s->role = TG_ROLE_SIGNAL;
        s->thread = c->unheard_thread;
        s->event = c->unheard_event;
        s->obj = fb_obj(&b, a, t->wobj);
        s->stack = c->unheard_stack;
        s->ts = c->unheard_ts;
        s->other_thread = list[i];
        lost = true;
    }
    if (lost)
        b.f.sub = TG_DEADLOCK_LOST_WAKEUP;
    struct tg_finding *f = fb_done(&b, a);
    struct dcand *c = f ? cand_new(a, b.f.sub, process, ts, list, n) : NULL;
    if (c) {
        c->form = f->sub;
        c->f = f;
    } else {
        free(f);
    }
    free(list);
}

/* ---- entry points */

static bool all_blocked(const struct dproc *p)
{
    return p && !p->exited && p->live > 0 && p->pending == 0 && p->blocked == p->live;
}

static bool everything_blocked(const struct tg_analysis *a)
{
    return a->g_live > 0 && a->g_pending == 0 && a->g_blocked == a->g_live;
}

void wg_check_all_blocked(struct tg_analysis *a, uint32_t process, uint64_t ts)
{
    struct dproc *p = process < a->capprocs ? a->procs[process] : NULL;
    if (!all_blocked(p) || process_has_candidate(a, process))
        return;
    /* a wait on a process-shared object may be ended by another process */
    if (p->blocked_pshared && !everything_blocked(a))
        return;
    all_blocked_candidate(a, process, ts);
    if (!everything_blocked(a))
        return;
    /* the whole run is asleep: processes held back by shared waits too */
    for (uint32_t i = 0; i < a->capprocs; i++)
        if (i != process && all_blocked(a->procs[i]) && a->procs[i]->blocked_pshared &&
            !process_has_candidate(a, i))
            all_blocked_candidate(a, i, ts);
}

void wg_blocked(struct tg_analysis *a, uint32_t thread, const struct tg_ev *ev)
{
    struct dthread *t = a->threads[thread];
    if (in_cycle_wait(t)) {
        struct dheld *h = t->wait == TG_WAIT_LOCK ? st_holds(t, t->wobj) : NULL;
        const struct dobj *o = t->wait == TG_WAIT_LOCK ? OBJ(a, t->wobj) : NULL;
        bool self = h && ((o->kind == TG_OBJ_MUTEX && (o->mtype == TG_MUTEX_NORMAL ||
                                                       o->mtype == TG_MUTEX_ADAPTIVE)) ||
                          o->kind == TG_OBJ_SPIN ||
                          (o->kind == TG_OBJ_RWLOCK && h->mode == TG_MODE_READ &&
                           t->wmode == TG_MODE_WRITE));
        if (self) {
            self_candidate(a, thread, ev);
        } else {
            /* breadth-first from the thread back to itself: shortest cycle */
            if (GROW(a->scratch, a->capscratch, a->capthreads + 1) < 0) {
                a->oom = true;
                return;
            }
            struct bfs_ctx c = { .start = thread, .found_from = NONE, .queue = a->scratch };
            a->tbfs_epoch++;
            t->bfs_epoch = a->tbfs_epoch;
            successors(a, thread, visit, &c);
            for (uint32_t head = 0; head < c.tail && c.found_from == NONE; head++)
                successors(a, c.queue[head], visit, &c);
            if (c.found_from != NONE) {
                uint32_t n = 1, *cyc;
                for (uint32_t u = c.found_from; u != thread; u = a->threads[u]->bfs_parent)
                    n++;
                cyc = malloc(n * sizeof *cyc);
                if (!cyc) {
                    a->oom = true;
                    return;
                }
                uint32_t i = n;
                for (uint32_t u = c.found_from; u != thread; u = a->threads[u]->bfs_parent)
                    cyc[--i] = u;
                cyc[0] = thread;
                cycle_candidate(a, cyc, n, ev);
                free(cyc);
            }
        }
    }
    if (t->process != NONE)
        wg_check_all_blocked(a, t->process, ev->ts);
}

void wg_unblocked(struct tg_analysis *a, uint32_t thread, uint64_t ts)
{
    for (uint32_t i = a->ncands; i-- > 0;) {
        struct dcand *c = a->cands[i];
        bool involved = false;
        for (uint32_t k = 0; k < c->n && !involved; k++)
            involved = c->threads[k] == thread;
        if (!involved)
            continue;
        /* it ended: a deadlock if it held for the settle time */
        if (!c->confirmed && ts >= c->t0 && ts - c->t0 >= a->settle_ns)
            confirm(a, c);
        cand_remove(a, i);
    }
}

int wg_tick(struct tg_analysis *a, uint64_t now)
{
    int n = 0;
    for (uint32_t i = 0; i < a->ncands; i++) {
        struct dcand *c = a->cands[i];
        if (!c->confirmed && intact(a, c) && now >= c->t0 && now - c->t0 >= a->settle_ns)
            n += confirm(a, c);
    }
    return n;
}

void wg_finish(struct tg_analysis *a)
{
    for (uint32_t i = 0; i < a->ncands; i++)
        if (!a->cands[i]->confirmed && intact(a, a->cands[i]))
            confirm(a, a->cands[i]);
}

bool tg_analysis_deadlocked(const struct tg_analysis *a, uint32_t process)
{
    for (uint32_t i = 0; i < a->ncands; i++) {
        const struct dcand *c = a->cands[i];
        if (c->confirmed && c->process == process && intact(a, c))
            return true;
    }
    return false;
}

uint32_t tg_analysis_deadlocked_any(const struct tg_analysis *a)
{
    uint32_t best = TG_NO_THREAD;
    for (uint32_t i = 0; i < a->ncands; i++) {
        const struct dcand *c = a->cands[i];
        if (c->confirmed && intact(a, c) && (best == TG_NO_THREAD || c->process < best))
            best = c->process;
    }
    return best;
}

void wg_free(struct tg_analysis *a)
{
    while (a->ncands)
        cand_remove(a, a->ncands - 1);
    free(a->cands);
}
