/* pthread misuse: calls that break the rules of the objects they act on,
 * and error codes a pthread call returned that are not one of its normal
 * outcomes. Each is one finding per (rule, objects, code locations). */
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

/* Results that are a normal outcome of the call, not a sign of misuse. */
bool mu_expected(const struct tg_ev *ev)
{
    uint8_t r = ev->result;
    if (r == TG_OK)
        return true;
    switch (ev->kind) {
    case TG_EV_MUTEX_TRY:
        return r == TG_BUSY || r == TG_OWNERDEAD;
    case TG_EV_RD_TRY:
    case TG_EV_WR_TRY:
    case TG_EV_SPIN_TRY:
        return r == TG_BUSY;
    case TG_EV_SEM_TRY:
        return r == TG_AGAIN;
    case TG_EV_MUTEX_ACQ:
    case TG_EV_MUTEX_FAIL:
        return r == TG_OWNERDEAD || (r == TG_TIMEDOUT && ev->timed);
    case TG_EV_RD_FAIL:
    case TG_EV_WR_FAIL:
        return r == TG_TIMEDOUT && ev->timed;
    case TG_EV_SEM_FAIL:
        return (r == TG_TIMEDOUT && ev->timed) || r == TG_INTR;
    case TG_EV_COND_WOKE:
        return r == TG_TIMEDOUT || r == TG_OWNERDEAD;
    case TG_EV_BARRIER_DONE:
        return r == TG_SERIAL;
    case TG_EV_JOIN_DONE:
        return r == TG_BUSY || r == TG_TIMEDOUT;        /* tryjoin, timedjoin */
    case TG_EV_SLEEP_END:
    case TG_EV_THREAD_NAME:
        return true;            /* not a synchronisation call */
    default:
        return false;
    }
}

static uint8_t kind_of_event(uint16_t kind)
{
    switch (kind) {
    case TG_EV_THREAD_CREATE: case TG_EV_JOIN_REQ: case TG_EV_JOIN_DONE: case TG_EV_DETACH:
    case TG_EV_THREAD_EXIT:
        return TG_OBJ_THREAD;
    case TG_EV_ONCE_BEGIN: case TG_EV_ONCE_END:
        return TG_OBJ_OTHER;
    default:
        return TG_OBJ_KIND_COUNT;
    }
}

static struct tg_step *call_step(struct fbuild *b, struct tg_analysis *a, const struct tg_ev *ev,
                                 uint32_t obj)
{
    struct tg_step *s = fb_step(b);
    if (!s)
        return NULL;
    s->role = TG_ROLE_CALL;
    s->event = ev->kind;
    s->result = ev->result;
    s->thread = ev->thread;
    s->stack = ev->stack;
    s->ts = ev->ts;
    if (obj != NONE) {
        s->obj = fb_obj(b, a, obj);
    } else if (ev->obj && kind_of_event(ev->kind) != TG_OBJ_KIND_COUNT) {
        struct tg_obj_ref ref = { .process = ev->process, .kind = kind_of_event(ev->kind),
                                  .addr = ev->obj };
        s->obj = fb_obj_ref(b, &ref);
    }
    return s;
}

static void commit(struct fbuild *b, struct tg_analysis *a)
{
    struct tg_finding *f = fb_done(b, a);
    if (f)
        fd_commit(a, f);
}

void mu_result(struct tg_analysis *a, const struct tg_ev *ev, uint8_t objkind)
{
    if (mu_expected(ev))
        return;
    uint32_t obj = NONE;
    if (objkind < TG_OBJ_THREAD && ev->obj)
        obj = st_obj(a, ev, objkind);
    struct fbuild b;
    fb_init(&b, TG_FIND_MISUSE, TG_MISUSE_ERROR_RETURN, ev->process, ev->ts);
    call_step(&b, a, ev, obj);
    commit(&b, a);
}

static void held_ref(struct fbuild *b, struct tg_analysis *a, struct tg_held_ref *out,
                     const struct dheld *h)
{
    *out = (struct tg_held_ref){ .obj = fb_obj(b, a, h->obj), .mode = h->mode,
                                 .stack = h->stack, .ts = h->ts };
}

void mu_simple(struct tg_analysis *a, const struct tg_ev *ev, uint8_t rule, uint32_t obj,
               uint32_t other_thread, const struct dheld *other_held)
{
    struct fbuild b;
    fb_init(&b, TG_FIND_MISUSE, rule, ev->process, ev->ts);
    struct tg_step *s = call_step(&b, a, ev, obj);
    if (s && (rule == TG_MISUSE_COND_NOT_HELD || rule == TG_MISUSE_COND_TWO_MUTEXES)) {
        /* the mutex passed to the wait; mode NONE: the thread did not hold it */
        uint32_t m = st_obj_find(a, ev->process, ev->p0);
        if (m != NONE)
            s->held = (struct tg_held_ref){
                .obj = fb_obj(&b, a, m),
                .mode = rule == TG_MISUSE_COND_NOT_HELD ? TG_MODE_NONE : TG_MODE_EXCL,
            };
    }
    if (other_thread != NONE) {
        uint32_t idx = s ? s->obj : TG_NO_OBJ;
        struct tg_step *o = fb_step(&b);
        if (o) {
            o->role = TG_ROLE_OWNER;
            o->thread = other_thread;
            o->obj = idx;
            if (other_held) {
                held_ref(&b, a, &o->held, other_held);
                o->stack = other_held->stack;
                o->ts = other_held->ts;
            }
        }
    } else if (s && other_held) {
        held_ref(&b, a, &s->held, other_held);
    }
    commit(&b, a);
}

void mu_exit_holding(struct tg_analysis *a, const struct tg_ev *ev, struct dthread *t)
{
    struct fbuild b;
    fb_init(&b, TG_FIND_MISUSE, TG_MISUSE_EXIT_HOLDING, ev->process, ev->ts);
    struct tg_step *s = call_step(&b, a, ev, NONE);
    if (s)
        fb_others(&b, a, s, t->held, t->nheld, NONE);
    commit(&b, a);
}

/* A destroy call: the object must not be held, nor waited on. */
void mu_destroy(struct tg_analysis *a, const struct tg_ev *ev, uint32_t obj)
{
    struct dobj *o = OBJ(a, obj);
    uint8_t rule = TG_MISUSE_COUNT;
    uint32_t holder = o->owner != NONE ? o->owner : o->nreaders ? o->readers[0] : NONE;
    switch (o->kind) {
    case TG_OBJ_MUTEX:
    case TG_OBJ_SPIN:
    case TG_OBJ_RWLOCK:
        if (holder != NONE || ev->result == TG_BUSY)
            rule = TG_MISUSE_DESTROY_LOCKED;
        else if (o->waiters)
            rule = TG_MISUSE_DESTROY_WAITERS;
        break;
    case TG_OBJ_COND:           /* signalled waiters on their way out are fine (POSIX) */
        if (o->waiters > o->wakeups || ev->result == TG_BUSY)
            rule = TG_MISUSE_DESTROY_WAITERS;
        break;
    case TG_OBJ_SEM:
        if (o->waiters > o->posts || ev->result == TG_BUSY)
            rule = TG_MISUSE_DESTROY_WAITERS;
        break;
    case TG_OBJ_BARRIER:
        if ((o->bcount && o->barrived) || ev->result == TG_BUSY)
            rule = TG_MISUSE_DESTROY_WAITERS;
        break;
    }
    if (rule == TG_MISUSE_COUNT) {
        if (ev->result != TG_OK)
            mu_result(a, ev, o->kind);
        return;
    }
    struct fbuild b;
    fb_init(&b, TG_FIND_MISUSE, rule, ev->process, ev->ts);
    struct tg_step *s = call_step(&b, a, ev, obj);
    uint32_t idx = s ? s->obj : TG_NO_OBJ;
    if (rule == TG_MISUSE_DESTROY_LOCKED && holder != NONE) {
        struct dthread *ht = st_thread(a, holder);
        struct dheld *h = ht ? st_holds(ht, obj) : NULL;
        struct tg_step *os = fb_step(&b);
        if (os) {
            os->role = TG_ROLE_OWNER;
            os->thread = holder;
            os->obj = idx;
            if (h) {
                struct dheld copy = *h;
                held_ref(&b, a, &os->held, &copy);
                os->stack = copy.stack;
                os->ts = copy.ts;
            }
        }
    }
    if (rule == TG_MISUSE_DESTROY_WAITERS) {
        for (uint32_t k = 0, n = 0; k < a->nalive && n < 8; k++) {
            uint32_t i = a->alive[k];
            const struct dthread *w = a->threads[i];
            if (w->wait == TG_WAIT_NONE || w->wobj != obj)
                continue;
            struct tg_step *ws = fb_step(&b);
            if (!ws)
                break;
            ws->role = TG_ROLE_OWNER;
            ws->wait = w->wait;
            ws->mode = w->wmode;
            ws->event = w->wevent;
            ws->thread = i;
            ws->obj = idx;
            ws->stack = w->wstack;
            ws->ts = w->wts;
            n++;
        }
    }
    commit(&b, a);
}
