/* tui/model.c: events in, lanes out. Each thread runs a small state machine
 * (blocked in which call, which locks it holds); every event appends one
 * segment to its thread's lane with the state that follows it, and lock
 * events append to the lock's lane (owner, waiters, holders). */
#include "tui/model_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- lanes ---- */

static struct tg_lk *lock_of(struct tg_tui_model *m, uint32_t obj)
{
    struct tg_obj *o = m->obj[obj];
    if (o->pub.lock_lane != TG_TUI_NONE)
        return m->lk[o->pub.lock_lane];
    if (tg_grow((void **)&m->lk, &m->caplk, m->nlk + 1, sizeof *m->lk) < 0)
        return NULL;
    struct tg_lk *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->obj = obj;
    l->owner = l->last_owner = TG_TUI_NONE;
    tg_series_init(&l->ser, TG_TUI_LK_COUNT, 8, sizeof(struct tg_lkseg));   /* tag: tg_lockpay */
    o->pub.lock_lane = (uint32_t)m->nlk;
    m->lk[m->nlk++] = l;
    return l;
}

static struct tg_thr *thread_get(struct tg_tui_model *m, uint32_t index, uint32_t process)
{
    if (index < m->nlane_of && m->lane_of[index] != TG_TUI_NONE)
        return m->thr[m->lane_of[index]];
    if (index >= m->nlane_of) {
        size_t cap = m->nlane_of;
        if (tg_grow((void **)&m->lane_of, &cap, (size_t)index + 1, sizeof *m->lane_of) < 0)
            return NULL;
        memset(m->lane_of + m->nlane_of, 0xff, (cap - m->nlane_of) * sizeof *m->lane_of);
        m->nlane_of = cap;
    }
    if (tg_grow((void **)&m->thr, &m->capthr, m->nthr + 1, sizeof *m->thr) < 0)
        return NULL;
    struct tg_thr *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->pub.index = index;
    t->pub.process = process;
    t->lane = (uint32_t)m->nthr;
    t->cur_shown = t->blocked_obj = t->cond_mutex = TG_TUI_NONE;
    tg_series_init(&t->ser, TG_TUI_ST_COUNT, 4, sizeof(struct tg_thrseg));  /* tag: shown */
    m->lane_of[index] = t->lane;
    m->thr[m->nthr++] = t;
    return t;
}

static struct tg_held *held_find(struct tg_thr *t, uint32_t obj)
{
    for (uint32_t i = t->nheld; i-- > 0;)
        if (t->held[i].obj == obj)
            return &t->held[i];
    return NULL;
}

static int held_add(struct tg_thr *t, uint32_t obj, bool shared, uint32_t count)
{
    struct tg_held *h = held_find(t, obj);
    if (h != NULL) {
        h->count += count;
        return 0;
    }
    size_t cap = t->capheld;
    if (tg_grow((void **)&t->held, &cap, t->nheld + 1, sizeof *t->held) < 0)
        return -ENOMEM;
    t->capheld = (uint32_t)cap;
    t->held[t->nheld++] = (struct tg_held){ obj, count, shared };
    return 0;
}

/* Drops COUNT levels of OBJ; returns the levels that were held. */
static uint32_t held_drop(struct tg_thr *t, uint32_t obj, uint32_t count)
{
    struct tg_held *h = held_find(t, obj);
    if (h == NULL)
        return 0;
    uint32_t had = h->count;
    if (count >= h->count) {
        size_t i = (size_t)(h - t->held);
        memmove(h, h + 1, (t->nheld - i - 1) * sizeof *h);
        t->nheld--;
    } else {
        h->count -= count;
    }
    return had;
}

/* What the lane shows now: blocked beats holding beats running. Of several
 * locks held, the one others wait for, else the most recent. */
static void thread_shown(const struct tg_tui_model *m, const struct tg_thr *t,
                         uint8_t *state, uint32_t *shown)
{
    if (t->exited) {
        *state = TG_TUI_ST_EXITED;
        *shown = TG_TUI_NONE;
    } else if (t->blocked) {
        *state = t->blocked;
        *shown = t->blocked_obj;
        if (*shown == TG_TUI_NONE && t->nheld > 0)
            *shown = t->held[t->nheld - 1].obj;     /* asleep holding a lock: say which */
    } else if (t->nheld > 0) {
        *state = TG_TUI_ST_HOLD;
        *shown = t->held[t->nheld - 1].obj;
        for (uint32_t i = t->nheld; i-- > 0;) {
            uint32_t ll = m->obj[t->held[i].obj]->pub.lock_lane;
            if (ll != TG_TUI_NONE && m->lk[ll]->waiters > 0) {
                *shown = t->held[i].obj;
                break;
            }
        }
    } else {
        *state = TG_TUI_ST_RUN;
        *shown = TG_TUI_NONE;
    }
}

/* What a slice of a lane shows besides its state, for wide zooms (the
 * series' block tags): a thread's shown object, a lock's payload. */
static uint64_t thread_tag(const void *ctx, size_t i)
{
    return tg_pay_shown(tg_thr_pay(ctx, i));
}

static uint64_t lock_tag(const void *ctx, size_t i)
{
    return tg_lk_pay(ctx, i).v;
}

static int thread_push(struct tg_tui_model *m, struct tg_thr *t, uint64_t ts, unsigned kind,
                       uint32_t obj, uint32_t stack, unsigned result, bool timed)
{
    uint8_t state;
    uint32_t shown;

    thread_shown(m, t, &state, &shown);
    size_t i = tg_series_push(&t->ser, ts, state);
    if (i == SIZE_MAX)
        return -ENOMEM;
    *tg_thr_pay(t, i) = (struct tg_segpay){
        .obj_kind = tg_pay_id(obj) | (uint32_t)(kind & 0xffu) << 24,
        .shown_res = tg_pay_id(shown) | (result & 15u) << 24 | (timed ? 1u << 28 : 0u),
        .stack = stack,
    };
    if (tg_series_tag_due(&t->ser) && tg_series_seal_tags(&t->ser, thread_tag, t) < 0)
        return -ENOMEM;
    t->cur_state = state;
    t->cur_shown = shown;
    t->pub.nsegs = t->ser.n;
    if (t->pub.start_ts == 0 && t->ser.n == 1)
        t->pub.start_ts = ts;
    return 0;
}

/* Another thread's event changed what T shows: a segment of kind NONE. */
static int thread_refresh(struct tg_tui_model *m, struct tg_thr *t, uint64_t ts)
{
    uint8_t state;
    uint32_t shown;

    thread_shown(m, t, &state, &shown);
    if (t->ser.n == 0 || (state == t->cur_state && shown == t->cur_shown))
        return 0;
    return thread_push(m, t, ts, TG_EV_NONE, TG_TUI_NONE, 0, 0, false);
}

static int lock_push(struct tg_tui_model *m, struct tg_lk *l, uint64_t ts, uint32_t actor)
{
    uint8_t state;
    unsigned holders = (unsigned)(l->in_use > TG_LP_COUNT ? TG_LP_COUNT
                                  : l->in_use > 0 ? l->in_use : 0);
    unsigned waiters = l->waiters > TG_LP_COUNT ? TG_LP_COUNT : l->waiters;

    if (l->owner != TG_TUI_NONE && holders == 0)
        holders = 1;
    if (waiters > 0)
        state = TG_TUI_LK_CONTENDED;
    else if (l->owner != TG_TUI_NONE)
        state = TG_TUI_LK_HELD;
    else if (holders > 0)
        state = TG_TUI_LK_SHARED;
    else
        state = TG_TUI_LK_FREE;

    struct tg_tui_object *o = &m->obj[l->obj]->pub;
    if (waiters > o->max_waiters)
        o->max_waiters = waiters;
    if (holders > o->max_holders)
        o->max_holders = holders;
    if (l->ser.n > 0) {
        struct tg_lockpay p = l->last_pay;
        if (l->last_state == state && tg_lp_owner(p) == l->owner
            && tg_lp_waiters(p) == waiters && tg_lp_holders(p) == holders)
            return 0;
    }
    size_t i = tg_series_push(&l->ser, ts, state);
    if (i == SIZE_MAX)
        return -ENOMEM;
    l->last_state = state;
    l->last_pay = tg_lp_make(l->owner, actor, waiters, holders);
    tg_lk_set_pay(l, i, l->last_pay);
    if (tg_series_tag_due(&l->ser) && tg_series_seal_tags(&l->ser, lock_tag, l) < 0)
        return -ENOMEM;
    return 0;
}

/* The thread's blocking call returned (any event of a blocked thread ends
 * its block: it cannot emit while blocked). Returns the wait. */
static uint64_t unblock(struct tg_tui_model *m, struct tg_thr *t, uint64_t ts,
                        uint32_t *waited_obj)
{
    *waited_obj = TG_TUI_NONE;
    if (!t->blocked)
        return 0;
    uint64_t wait = ts - t->blocked_ts;
    if (t->blocked == TG_TUI_ST_WAIT_LOCK || t->blocked == TG_TUI_ST_WAIT_SEM) {
        struct tg_lk *l = lock_of(m, t->blocked_obj);
        if (l != NULL) {
            if (l->waiters > 0)
                l->waiters--;
            lock_push(m, l, ts, t->lane);
            if (l->owner != TG_TUI_NONE)
                thread_refresh(m, m->thr[l->owner], ts);
        }
        *waited_obj = t->blocked_obj;
    }
    t->blocked = 0;
    t->blocked_obj = TG_TUI_NONE;
    return wait;
}

static void block(struct tg_tui_model *m, struct tg_thr *t, unsigned state, uint32_t obj,
                  uint64_t ts)
{
    t->blocked = (uint8_t)state;
    t->blocked_obj = obj;
    t->blocked_ts = ts;
    if ((state == TG_TUI_ST_WAIT_LOCK || state == TG_TUI_ST_WAIT_SEM) && obj != TG_TUI_NONE) {
        struct tg_lk *l = lock_of(m, obj);
        if (l == NULL)
            return;
        l->waiters++;
        lock_push(m, l, ts, t->lane);
        if (l->owner != TG_TUI_NONE && l->owner != t->lane)
            thread_refresh(m, m->thr[l->owner], ts);
    }
}

static void lock_acquire(struct tg_tui_model *m, struct tg_thr *t, uint32_t obj, uint64_t ts,
                         bool shared, uint64_t wait, uint32_t waited_obj, uint32_t count)
{
    struct tg_lk *l = lock_of(m, obj);
    struct tg_tui_object *o = &m->obj[obj]->pub;
    if (l == NULL)
        return;
    o->acquisitions++;
    if (waited_obj == obj) {
        o->contended++;
        o->wait_total += wait;
        if (wait > o->wait_max)
            o->wait_max = wait;
    }
    if (shared) {
        l->in_use++;
    } else if (l->owner == t->lane) {
        l->owner_count += count;        /* recursive */
    } else {
        if (l->last_owner != TG_TUI_NONE && l->last_owner != t->lane)
            o->owner_changes++;
        l->owner = l->last_owner = t->lane;
        l->owner_count = count;
        l->acq_ts = ts;
    }
    held_add(t, obj, shared, count);
    lock_push(m, l, ts, t->lane);
}

/* Releases OBJ on behalf of T (an unlock by a thread that is not the owner
 * still unlocks a normal mutex: the owner loses it). */
static void lock_release(struct tg_tui_model *m, struct tg_thr *t, uint32_t obj, uint64_t ts,
                         uint32_t levels)
{
    struct tg_lk *l = lock_of(m, obj);
    struct tg_tui_object *o = &m->obj[obj]->pub;
    if (l == NULL)
        return;
    struct tg_held *mine = held_find(t, obj);
    if (mine != NULL && mine->shared) {
        held_drop(t, obj, levels);
        if (l->in_use > 0)
            l->in_use--;
    } else if (l->owner != TG_TUI_NONE) {
        struct tg_thr *owner = m->thr[l->owner];
        held_drop(owner, obj, levels);
        l->owner_count = l->owner_count > levels ? l->owner_count - levels : 0;
        if (l->owner_count == 0) {
            uint64_t hold = ts - l->acq_ts;
            o->hold_total += hold;
            if (hold > o->hold_max)
                o->hold_max = hold;
            l->owner = TG_TUI_NONE;
        }
        if (owner != t)
            thread_refresh(m, owner, ts);
    } else if (l->in_use > 0) {
        l->in_use--;            /* a reader we did not see take it */
    }
    lock_push(m, l, ts, t->lane);
}

/* A semaphore taken and given back by the same thread was held all along:
 * show it on the segments in between that were plain running. */
static void sem_posted(struct tg_tui_model *m, struct tg_thr *t, uint32_t obj, uint64_t ts)
{
    for (uint32_t i = t->npend; i-- > 0;) {
        if (t->pend[i].obj != obj)
            continue;
        size_t from = t->pend[i].seg;
        struct tg_tui_object *o = &m->obj[obj]->pub;
        if (from < t->ser.n) {
            uint64_t hold = ts - tg_series_ts(&t->ser, from);
            o->hold_total += hold;
            if (hold > o->hold_max)
                o->hold_max = hold;
        }
        memmove(&t->pend[i], &t->pend[i + 1], (t->npend - i - 1) * sizeof t->pend[0]);
        t->npend--;
        tg_series_untag(&t->ser, from);
        for (size_t k = from; k < t->ser.n; k++) {
            if (t->ser.st[k] == TG_TUI_ST_RUN) {
                tg_series_set_state(&t->ser, k, TG_TUI_ST_HOLD);
                tg_pay_set_shown(tg_thr_pay(t, k), obj);
            } else if (t->ser.st[k] == TG_TUI_ST_SLEEP
                       && tg_pay_shown(tg_thr_pay(t, k)) == TG_TUI_NONE) {
                tg_pay_set_shown(tg_thr_pay(t, k), obj);        /* asleep holding it */
            }
        }
        tg_series_reseal(&t->ser);
        tg_series_seal_tags(&t->ser, thread_tag, t);
        return;
    }
}

static void sem_taken(struct tg_thr *t, uint32_t obj)
{
    if (t->npend == sizeof t->pend / sizeof t->pend[0]) {   /* a consumer: forget the oldest */
        memmove(&t->pend[0], &t->pend[1], (t->npend - 1) * sizeof t->pend[0]);
        t->npend--;
    }
    t->pend[t->npend++] = (struct tg_pending){ obj, t->ser.n };
}

static unsigned lock_kind_of(unsigned ev)
{
    switch (ev) {
    case TG_EV_MUTEX_INIT: case TG_EV_MUTEX_DESTROY: case TG_EV_MUTEX_REQ:
    case TG_EV_MUTEX_ACQ: case TG_EV_MUTEX_TRY: case TG_EV_MUTEX_FAIL: case TG_EV_MUTEX_REL:
        return TG_TUI_OBJ_MUTEX;
    case TG_EV_RW_INIT: case TG_EV_RW_DESTROY: case TG_EV_RD_REQ: case TG_EV_RD_ACQ:
    case TG_EV_RD_TRY: case TG_EV_RD_FAIL: case TG_EV_WR_REQ: case TG_EV_WR_ACQ:
    case TG_EV_WR_TRY: case TG_EV_WR_FAIL: case TG_EV_RW_REL:
        return TG_TUI_OBJ_RWLOCK;
    case TG_EV_SPIN_INIT: case TG_EV_SPIN_DESTROY: case TG_EV_SPIN_REQ: case TG_EV_SPIN_ACQ:
    case TG_EV_SPIN_TRY: case TG_EV_SPIN_REL:
        return TG_TUI_OBJ_SPIN;
    case TG_EV_SEM_INIT: case TG_EV_SEM_DESTROY: case TG_EV_SEM_REQ: case TG_EV_SEM_ACQ:
    case TG_EV_SEM_TRY: case TG_EV_SEM_FAIL: case TG_EV_SEM_POST:
        return TG_TUI_OBJ_SEM;
    case TG_EV_COND_INIT: case TG_EV_COND_DESTROY: case TG_EV_COND_WAIT: case TG_EV_COND_WOKE:
    case TG_EV_COND_SIGNAL: case TG_EV_COND_BROADCAST:
        return TG_TUI_OBJ_COND;
    case TG_EV_BARRIER_INIT: case TG_EV_BARRIER_DESTROY: case TG_EV_BARRIER_WAIT:
    case TG_EV_BARRIER_DONE:
        return TG_TUI_OBJ_BARRIER;
    case TG_EV_ONCE_BEGIN: case TG_EV_ONCE_END:
        return TG_TUI_OBJ_ONCE;
    case TG_EV_WATCH_ACCESS: case TG_EV_RACE: case TG_EV_SYNC_ACQUIRE: case TG_EV_SYNC_RELEASE:
        return TG_TUI_OBJ_MEMORY;
    default:
        return TG_TUI_OBJ_COUNT;
    }
}

static bool is_init(unsigned kind)
{
    return kind == TG_EV_MUTEX_INIT || kind == TG_EV_RW_INIT || kind == TG_EV_SPIN_INIT
           || kind == TG_EV_SEM_INIT || kind == TG_EV_COND_INIT || kind == TG_EV_BARRIER_INIT;
}

int tg_tui_model_add(struct tg_tui_model *m, const struct tg_ev *ev)
{
    unsigned kind = ev->kind;
    uint64_t ts = ev->ts;

    if (kind == TG_EV_NONE || kind == TG_EV_TIME || kind >= TG_EV_COUNT)
        return 0;
    if (!m->any) {
        m->start = ts;
        m->any = true;
    }
    if (ts > m->now)
        m->now = ts;
    struct tg_thr *t = thread_get(m, ev->thread, ev->process);
    if (t == NULL)
        return -ENOMEM;
    m->events++;

    uint32_t waited_obj;
    uint64_t wait = unblock(m, t, ts, &waited_obj);
    unsigned okind = lock_kind_of(kind);
    uint32_t obj = TG_TUI_NONE;
    unsigned mark = TG_TUI_MARK_NONE;
    bool ok = ev->result == TG_OK;

    if (okind != TG_TUI_OBJ_COUNT) {
        obj = tg_obj_get(m, okind, ev, ev->obj, is_init(kind));
        if (obj == TG_TUI_NONE)
            return -ENOMEM;
    }
    switch (kind) {
    case TG_EV_THREAD_START: {
        t->pub.pthread = ev->obj;
        t->exited = false;
        t->pub.start_ts = ts;
        uint32_t to = tg_obj_new(m, TG_TUI_OBJ_THREAD, ev->process, ev->obj, false);
        if (to != TG_TUI_NONE)
            m->obj[to]->pub.target_lane = t->lane;
        obj = to;
        break;
    }
    case TG_EV_THREAD_EXIT:
        t->exited = true;
        t->pub.end_ts = ts;
        break;
    case TG_EV_PROCESS_EXIT:
        for (size_t i = 0; i < m->nthr; i++) {
            struct tg_thr *o = m->thr[i];
            if (o->pub.process != ev->process || o->exited)
                continue;
            o->exited = true;
            o->exec_ended = ev->p1 == TG_EXIT_EXEC;
            o->pub.end_ts = ts;
            if (o != t)
                thread_refresh(m, o, ts);
        }
        break;
    case TG_EV_EXEC_FAIL:           /* the exec's exit is void: its threads go on */
        for (size_t i = 0; i < m->nthr; i++) {
            struct tg_thr *o = m->thr[i];
            if (o->pub.process != ev->process || !o->exec_ended)
                continue;
            o->exited = o->exec_ended = false;
            o->pub.end_ts = 0;
            if (o != t)
                thread_refresh(m, o, ts);
        }
        break;
    case TG_EV_THREAD_CREATE: case TG_EV_JOIN_DONE: case TG_EV_DETACH:
        if (!ok)
            mark = TG_TUI_MARK_ERROR;
        break;
    case TG_EV_JOIN_REQ:
        obj = tg_obj_lookup(m, TG_TUI_OBJ_THREAD, ev->process, ev->obj, false);
        if (obj == TG_TUI_NONE)
            obj = tg_obj_new(m, TG_TUI_OBJ_THREAD, ev->process, ev->obj, false);
        block(m, t, TG_TUI_ST_WAIT_JOIN, obj, ts);
        break;
    case TG_EV_THREAD_NAME: {
        uint32_t to = tg_obj_lookup(m, TG_TUI_OBJ_THREAD, ev->process, ev->obj, false);
        size_t lane = to != TG_TUI_NONE && m->obj[to]->pub.target_lane != TG_TUI_NONE
                      ? m->obj[to]->pub.target_lane
                      : ev->obj == 0 || ev->obj == t->pub.pthread ? t->lane : TG_TUI_NONE;
        /* TG_TUI_NONE: named before its THREAD_START; the reader's
         * tg_thread_info carries the name to its lane (tui/names.c) */
        if (ev->str != NULL && lane != TG_TUI_NONE)
            tg_tui_model_set_thread_name(m, lane, ev->str);
        break;
    }
    case TG_EV_MUTEX_REQ: case TG_EV_RD_REQ: case TG_EV_WR_REQ: case TG_EV_SPIN_REQ:
        block(m, t, TG_TUI_ST_WAIT_LOCK, obj, ts);
        break;
    case TG_EV_MUTEX_ACQ: case TG_EV_WR_ACQ: case TG_EV_SPIN_ACQ:
        lock_acquire(m, t, obj, ts, false, wait, waited_obj, 1);
        break;
    case TG_EV_RD_ACQ:
        lock_acquire(m, t, obj, ts, true, wait, waited_obj, 1);
        break;
    case TG_EV_MUTEX_TRY: case TG_EV_WR_TRY: case TG_EV_SPIN_TRY: case TG_EV_RD_TRY:
        if (ok) {
            lock_acquire(m, t, obj, ts, kind == TG_EV_RD_TRY, 0, TG_TUI_NONE, 1);
        } else {
            m->obj[obj]->pub.try_failed++;
            mark = ev->result == TG_BUSY || ev->result == TG_AGAIN ? TG_TUI_MARK_FAIL
                                                                  : TG_TUI_MARK_ERROR;
        }
        break;
    case TG_EV_MUTEX_FAIL: case TG_EV_RD_FAIL: case TG_EV_WR_FAIL: case TG_EV_SEM_FAIL:
        mark = ev->result == TG_TIMEDOUT || ev->result == TG_BUSY || ev->result == TG_INTR
               ? TG_TUI_MARK_FAIL : TG_TUI_MARK_ERROR;
        break;
    case TG_EV_MUTEX_REL: case TG_EV_RW_REL: case TG_EV_SPIN_REL:
        if (ok)
            lock_release(m, t, obj, ts, 1);
        else
            mark = TG_TUI_MARK_ERROR;
        break;
    case TG_EV_COND_WAIT: {
        uint32_t mx = tg_obj_get(m, TG_TUI_OBJ_MUTEX, ev, ev->p0, false);
        t->cond_mutex = mx;
        t->cond_count = 1;
        m->obj[obj]->pub.cond_mutex = mx;
        if (mx != TG_TUI_NONE) {
            struct tg_held *h = held_find(t, mx);
            t->cond_count = h != NULL ? h->count : 1;
            lock_release(m, t, mx, ts, t->cond_count);
        }
        block(m, t, TG_TUI_ST_WAIT_COND, obj, ts);
        break;
    }
    case TG_EV_COND_WOKE: {
        uint32_t mx = tg_obj_get(m, TG_TUI_OBJ_MUTEX, ev, ev->p0, false);
        uint32_t count = mx == t->cond_mutex ? t->cond_count : 1;
        if (mx != TG_TUI_NONE && ev->result != TG_INVAL && ev->result != TG_PERM)
            lock_acquire(m, t, mx, ts, false, 0, TG_TUI_NONE, count);
        else if (!ok)
            mark = TG_TUI_MARK_ERROR;
        t->cond_mutex = TG_TUI_NONE;
        break;
    }
    case TG_EV_SEM_REQ:
        block(m, t, TG_TUI_ST_WAIT_SEM, obj, ts);
        break;
    case TG_EV_SEM_ACQ: case TG_EV_SEM_TRY:
        if (kind == TG_EV_SEM_TRY && !ok) {
            m->obj[obj]->pub.try_failed++;
            mark = TG_TUI_MARK_FAIL;
            break;
        }
        {
            struct tg_lk *l = lock_of(m, obj);
            struct tg_tui_object *o = &m->obj[obj]->pub;
            if (l == NULL)
                return -ENOMEM;
            o->acquisitions++;
            if (waited_obj == obj) {
                o->contended++;
                o->wait_total += wait;
                if (wait > o->wait_max)
                    o->wait_max = wait;
            }
            l->in_use++;
            lock_push(m, l, ts, t->lane);
            sem_taken(t, obj);
        }
        break;
    case TG_EV_SEM_POST:
        if (!ok) {
            mark = TG_TUI_MARK_ERROR;
            break;
        }
        {
            struct tg_lk *l = lock_of(m, obj);
            if (l == NULL)
                return -ENOMEM;
            l->in_use--;
            lock_push(m, l, ts, t->lane);
            sem_posted(m, t, obj, ts);
        }
        break;
    case TG_EV_BARRIER_WAIT:
        block(m, t, TG_TUI_ST_WAIT_BARRIER, obj, ts);
        break;
    case TG_EV_SLEEP_BEGIN:
        block(m, t, TG_TUI_ST_SLEEP, TG_TUI_NONE, ts);
        break;
    case TG_EV_LOST:
        mark = TG_TUI_MARK_LOST;
        break;
    case TG_EV_RACE:
        mark = TG_TUI_MARK_FINDING;     /* the finding itself comes from the detectors */
        break;
    default:
        if (!ok && is_init(kind))
            mark = TG_TUI_MARK_ERROR;
        else if (!ok && (kind == TG_EV_MUTEX_DESTROY || kind == TG_EV_RW_DESTROY
                         || kind == TG_EV_SPIN_DESTROY || kind == TG_EV_SEM_DESTROY
                         || kind == TG_EV_COND_DESTROY || kind == TG_EV_BARRIER_DESTROY
                         || kind == TG_EV_COND_SIGNAL || kind == TG_EV_COND_BROADCAST
                         || (kind == TG_EV_BARRIER_DONE && ev->result != TG_SERIAL)))
            mark = TG_TUI_MARK_ERROR;
        break;
    }
    if (thread_push(m, t, ts, kind, obj, ev->stack, ev->result, ev->timed) < 0)
        return -ENOMEM;
    if (mark != TG_TUI_MARK_NONE) {
        if (tg_marks_add(&t->marks, ts, (uint32_t)(t->ser.n - 1), mark) < 0)
            return -ENOMEM;
        if (obj != TG_TUI_NONE && m->obj[obj]->pub.lock_lane != TG_TUI_NONE) {
            struct tg_lk *l = m->lk[m->obj[obj]->pub.lock_lane];
            tg_marks_add(&l->marks, ts, (uint32_t)(l->ser.n ? l->ser.n - 1 : 0), mark);
        }
    }
    return 0;
}

void tg_tui_model_compact(struct tg_tui_model *m)
{
    for (size_t i = 0; i < m->nthr; i++) {
        tg_series_shrink(&m->thr[i]->ser);
    }
    for (size_t i = 0; i < m->nlk; i++) {
        tg_series_shrink(&m->lk[i]->ser);
    }
}

void tg_tui_model_set_now(struct tg_tui_model *m, uint64_t now)
{
    if (now > m->now)
        m->now = now;
}
