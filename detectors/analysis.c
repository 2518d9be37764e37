/* tg_analysis: the event dispatcher in front of the bookkeeping (state.c),
 * the lock graph, the wait-for graph and the misuse checks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

int tg_analysis_new(const struct tg_analysis_config *cfg, struct tg_analysis **out)
{
    if (!out)
        return -EINVAL;
    struct tg_analysis *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    if (cfg)
        a->cfg = *cfg;
    a->settle_ns = a->cfg.settle_ns ? a->cfg.settle_ns : TG_SETTLE_NS_DEFAULT;
    a->first_process = NONE;
    a->last_obj = NONE;
    a->fast_obj = NONE;
    if (dmap_init(&a->objmap, 1024) < 0 || dmap_init(&a->pthmap, 64) < 0 ||
        dmap_init(&a->edgemap, 1024) < 0 || dmap_init(&a->keymap, 64) < 0) {
        tg_analysis_free(a);
        return -ENOMEM;
    }
    *out = a;
    return 0;
}

void tg_analysis_free(struct tg_analysis *a)
{
    if (!a)
        return;
    rc_free(a);
    wg_free(a);
    lg_free(a);
    st_free(a);
    fd_free(a);
    free(a);
}

/* Object kind and lock mode of each lock event. */
static void lock_kind(uint16_t kind, uint8_t *obj, uint8_t *mode)
{
    *mode = TG_MODE_EXCL;
    switch (kind) {
    case TG_EV_MUTEX_INIT: case TG_EV_MUTEX_DESTROY: case TG_EV_MUTEX_REQ: case TG_EV_MUTEX_ACQ:
    case TG_EV_MUTEX_TRY: case TG_EV_MUTEX_FAIL: case TG_EV_MUTEX_REL:
        *obj = TG_OBJ_MUTEX;
        return;
    case TG_EV_SPIN_INIT: case TG_EV_SPIN_DESTROY: case TG_EV_SPIN_REQ: case TG_EV_SPIN_ACQ:
    case TG_EV_SPIN_TRY: case TG_EV_SPIN_REL:
        *obj = TG_OBJ_SPIN;
        return;
    case TG_EV_RD_REQ: case TG_EV_RD_ACQ: case TG_EV_RD_TRY: case TG_EV_RD_FAIL:
        *obj = TG_OBJ_RWLOCK;
        *mode = TG_MODE_READ;
        return;
    case TG_EV_WR_REQ: case TG_EV_WR_ACQ: case TG_EV_WR_TRY: case TG_EV_WR_FAIL:
        *mode = TG_MODE_WRITE;
        /* fall through */
    case TG_EV_RW_INIT: case TG_EV_RW_DESTROY: case TG_EV_RW_REL:
        *obj = TG_OBJ_RWLOCK;
        return;
    default:
        *obj = TG_OBJ_KIND_COUNT;
    }
}

/* The uncontended mutex pair of a lock loop, done in place: a live thread
 * that holds nothing and waits for nothing takes a mutex nobody holds, or
 * releases the one mutex it holds once. The general path below does the
 * same, step by step (st_request_end, st_acquire, st_held_add; st_release),
 * with a lookup and a check for every case this one excludes. Returns
 * false when the event needs the general path.
 *
 * The thread, the lock and the lock's hold hash of the last pair are kept
 * (fast_*): a loop's next pair has the same ones, and the lookups through
 * the thread table and the object pages are a chain of dependent loads. */

/* The object ID, through the one-entry memo. */
static inline struct dobj *fast_obj(struct tg_analysis *a, uint32_t id)
{
    if (__builtin_expect(id != a->fast_obj, 0)) {
        a->fast_obj = id;
        a->fast_o = OBJ(a, id);
        a->fast_hash = held_hash(id, TG_MODE_EXCL);
    }
    return a->fast_o;
}

static bool lock_pair_fast(struct tg_analysis *a, const struct tg_ev *ev)
{
    struct dthread *t = a->fast_t;
    if (__builtin_expect(!t || t->index != ev->thread || a->fast_process != ev->process, 0)) {
        if ((!a->cfg.skip_races && !a->cfg.skip_watch) || ev->thread >= a->capthreads ||
            ev->process >= a->capprocs || !a->procs[ev->process] || !a->threads[ev->thread])
            return false;
        t = a->fast_t = a->threads[ev->thread];
        a->fast_process = ev->process;
    }
    if (ev->result != TG_OK || t->state != TH_LIVE || t->wait != TG_WAIT_NONE)
        return false;
    if (ev->kind == TG_EV_MUTEX_ACQ) {
        uint32_t id = a->last_obj;
        if (t->nheld != 0 || t->capheld == 0 || id == NONE)
            return false;
        struct dobj *o = fast_obj(a, id);
        if (o->addr != ev->obj || o->process != ev->process || o->dead ||
            o->kind != TG_OBJ_MUTEX || o->owner != NONE || o->nreaders)
            return false;
        o->mtype = ev->mtype;
        o->owner = ev->thread;
        struct dheld *h = &t->held[0];
        h->obj = id;
        h->mode = TG_MODE_EXCL;
        h->count = 1;
        h->stack = ev->stack;
        h->ts = ev->ts;
        t->nheld = 1;
        t->heldhash ^= a->fast_hash;
    } else {
        if (t->nheld != 1 || t->held[0].count != 1 || t->held[0].mode == TG_MODE_READ)
            return false;
        struct dobj *o = fast_obj(a, t->held[0].obj);
        if (o->addr != ev->obj || o->process != ev->process)
            return false;
        if (o->owner == ev->thread)
            o->owner = NONE;
        t->heldhash ^= a->fast_hash;    /* the same hash for a write hold */
        t->nheld = 0;
    }
    a->counters.events++;
    a->last_ts = ev->ts;
    t->seen = true;
    return true;
}

int tg_analysis_feed(struct tg_analysis *a, const struct tg_ev *ev)
{
    if (!a || !ev)
        return -EINVAL;
    if ((ev->kind == TG_EV_MUTEX_ACQ || ev->kind == TG_EV_MUTEX_REL) && lock_pair_fast(a, ev))
        return a->oom ? -ENOMEM : 0;
    a->counters.events++;
    a->last_ts = ev->ts;
    struct dthread *t = st_thread(a, ev->thread);
    if (!t || !st_proc(a, ev->process))
        return a->oom ? -ENOMEM : 0;    /* no such thread: nothing to learn from it */
    if (t && ev->kind != TG_EV_THREAD_START && ev->kind != TG_EV_LOST &&
        ev->kind != TG_EV_TIME &&
        (t->state == TH_UNKNOWN || t->state == TH_PENDING || (t->state == TH_DEAD && t->exec_ended)))
        st_touch(a, t, ev->process);    /* its start predates what we saw */
    if (t)
        t->seen = true;
    uint8_t okind, mode;
    lock_kind(ev->kind, &okind, &mode);
    if (!a->cfg.skip_races && (!a->cfg.skip_watch || ev->kind == TG_EV_RACE))
        rc_feed(a, ev);         /* races: before the holds change */

    switch (ev->kind) {
    case TG_EV_LOST:
        a->counters.lost += ev->p0;
        if (t)
            t->lost = true;
        break;
    case TG_EV_THREAD_START:
        st_thread_start(a, ev);
        break;
    case TG_EV_THREAD_EXIT:
        st_thread_exit(a, ev);
        break;
    case TG_EV_THREAD_CREATE:
        st_thread_create(a, ev);
        mu_result(a, ev, TG_OBJ_THREAD);
        break;
    case TG_EV_JOIN_REQ:
        st_join(a, ev, false);
        break;
    case TG_EV_JOIN_DONE:
        st_join(a, ev, true);
        mu_result(a, ev, TG_OBJ_THREAD);
        break;
    case TG_EV_DETACH:
    case TG_EV_ONCE_END:
        mu_result(a, ev, TG_OBJ_THREAD);
        break;

    case TG_EV_MUTEX_INIT: case TG_EV_RW_INIT: case TG_EV_SPIN_INIT:
        if (ev->result == TG_OK)
            st_obj_init(a, ev, okind);
        else
            mu_result(a, ev, okind);
        break;
    case TG_EV_MUTEX_DESTROY: case TG_EV_RW_DESTROY: case TG_EV_SPIN_DESTROY:
        st_obj_destroy(a, ev, okind);
        break;
    case TG_EV_MUTEX_REQ: case TG_EV_RD_REQ: case TG_EV_WR_REQ: case TG_EV_SPIN_REQ:
        st_request(a, ev, okind, mode);
        break;
    case TG_EV_MUTEX_ACQ: case TG_EV_RD_ACQ: case TG_EV_WR_ACQ: case TG_EV_SPIN_ACQ:
        st_request_end(a, ev, okind, mode, true);
        if (!mu_expected(ev))
            mu_result(a, ev, okind);
        break;
    case TG_EV_MUTEX_FAIL: case TG_EV_RD_FAIL: case TG_EV_WR_FAIL:
        /* EOWNERDEAD: a robust mutex whose owner died, acquired anyway */
        st_request_end(a, ev, okind, mode, ev->result == TG_OWNERDEAD);
        mu_result(a, ev, okind);
        break;
    case TG_EV_MUTEX_TRY: case TG_EV_RD_TRY: case TG_EV_WR_TRY: case TG_EV_SPIN_TRY:
        if (ev->result == TG_OK || ev->result == TG_OWNERDEAD) {
            uint32_t obj = st_obj(a, ev, okind);
            if (obj != NONE && okind == TG_OBJ_MUTEX)
                OBJ(a, obj)->mtype = ev->mtype;
            st_acquire(a, ev, obj, mode, false);        /* a trylock never blocks: no edge */
        }
        mu_result(a, ev, okind);
        break;
    case TG_EV_MUTEX_REL: case TG_EV_RW_REL: case TG_EV_SPIN_REL:
        st_release(a, ev, okind);
        break;

    case TG_EV_COND_INIT:
    case TG_EV_SEM_INIT:
    case TG_EV_BARRIER_INIT: {
        uint8_t k = ev->kind == TG_EV_COND_INIT ? TG_OBJ_COND :
                    ev->kind == TG_EV_SEM_INIT ? TG_OBJ_SEM : TG_OBJ_BARRIER;
        if (ev->result == TG_OK)
            st_obj_init(a, ev, k);
        else
            mu_result(a, ev, k);
        break;
    }
    case TG_EV_COND_DESTROY:
        st_obj_destroy(a, ev, TG_OBJ_COND);
        break;
    case TG_EV_SEM_DESTROY:
        st_obj_destroy(a, ev, TG_OBJ_SEM);
        break;
    case TG_EV_BARRIER_DESTROY:
        st_obj_destroy(a, ev, TG_OBJ_BARRIER);
        break;
    case TG_EV_COND_WAIT:
        st_cond_wait(a, ev);
        break;
    case TG_EV_COND_WOKE:
        st_cond_woke(a, ev);
        break;
    case TG_EV_COND_SIGNAL:
    case TG_EV_COND_BROADCAST:
        st_cond_signal(a, ev);
        break;
    case TG_EV_SEM_REQ: case TG_EV_SEM_ACQ: case TG_EV_SEM_FAIL: case TG_EV_SEM_POST:
        st_sem(a, ev);
        if (ev->kind != TG_EV_SEM_REQ)
            mu_result(a, ev, TG_OBJ_SEM);
        break;
    case TG_EV_SEM_TRY:
        mu_result(a, ev, TG_OBJ_SEM);
        break;
    case TG_EV_BARRIER_WAIT:
    case TG_EV_BARRIER_DONE:
        st_barrier(a, ev);
        if (ev->kind == TG_EV_BARRIER_DONE)
            mu_result(a, ev, TG_OBJ_BARRIER);
        break;
    case TG_EV_SLEEP_BEGIN:
        if (t)
            st_wait_begin(a, t, ev, TG_WAIT_SLEEP, NONE, true);
        break;
    case TG_EV_SLEEP_END:
        if (t && t->wait == TG_WAIT_SLEEP)
            st_wait_end(a, t, ev);
        break;
    case TG_EV_FORK:
        st_fork(a, ev);
        break;
    case TG_EV_PROCESS_EXIT:
        st_process_exit(a, ev);
        break;
    default:
        break;
    }
    return a->oom ? -ENOMEM : 0;
}

int tg_analysis_tick(struct tg_analysis *a, uint64_t now_ns)
{
    return a ? wg_tick(a, now_ns) : -EINVAL;
}

int tg_analysis_finish(struct tg_analysis *a)
{
    if (!a)
        return -EINVAL;
    wg_finish(a);
    return a->oom ? -ENOMEM : 0;
}

void tg_analysis_counters(const struct tg_analysis *a, struct tg_analysis_counters *out)
{
    *out = a->counters;
}

/* ---- names */

const char *tg_finding_kind_name(unsigned kind)
{
    static const char *const names[] = { "deadlock", "lock-order", "misuse", "race" };
    return kind < TG_FIND_KIND_COUNT ? names[kind] : "unknown";
}

const char *tg_finding_sub_name(unsigned kind, unsigned sub)
{
    static const char *const dl[] = { "cycle", "self", "all-blocked", "lost-wakeup" };
    static const char *const mu[] = {
        "unlock-not-held", "unlock-other", "destroy-locked", "destroy-waiters",
        "exit-holding", "cond-not-held", "cond-two-mutexes", "relock-timed", "error-return",
    };
    if (kind == TG_FIND_DEADLOCK && sub < TG_DEADLOCK_FORM_COUNT)
        return dl[sub];
    if (kind == TG_FIND_MISUSE && sub < TG_MISUSE_COUNT)
        return mu[sub];
    if (kind == TG_FIND_LOCK_ORDER)
        return "cycle";
    return "";
}

const char *tg_obj_kind_name(unsigned kind)
{
    static const char *const names[] = {
        "mutex", "rwlock", "spinlock", "condition", "semaphore", "barrier", "thread",
        "memory", "object",
    };
    return kind < TG_OBJ_KIND_COUNT ? names[kind] : "object";
}
