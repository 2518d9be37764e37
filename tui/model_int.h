/* tui/model_int.h (internal): the model's lanes, shared by model.c (events
 * in), query.c (segments, steps, times) and bin.c (cells). */
#ifndef TG_TUI_MODEL_INT_H
#define TG_TUI_MODEL_INT_H

#include <errno.h>
#include <stdlib.h>

#include "tui/series.h"
#include "tui/vec.h"
#include "tui/tui.h"

/* What a thread-lane segment carries besides its time and state, in 12
 * bytes: object ids take 24 bits (more than 16 million objects in one
 * trace are shown as none). */
struct tg_segpay {
    uint32_t obj_kind;          /* bits 0-23 the event's object, 24-31 its kind */
    uint32_t shown_res;         /* bits 0-23 the object shown, 24-27 result, 28 timed */
    uint32_t stack;
};
#define TG_PAY_NONE 0xffffffu

static inline uint32_t tg_pay_id(uint32_t id)
{
    return id >= TG_PAY_NONE ? TG_PAY_NONE : id;
}
static inline uint32_t tg_pay_unid(uint32_t v)
{
    return (v & TG_PAY_NONE) == TG_PAY_NONE ? UINT32_MAX : (v & TG_PAY_NONE);
}
static inline uint32_t tg_pay_obj(const struct tg_segpay *p) { return tg_pay_unid(p->obj_kind); }
static inline unsigned tg_pay_kind(const struct tg_segpay *p) { return p->obj_kind >> 24; }
static inline uint32_t tg_pay_shown(const struct tg_segpay *p) { return tg_pay_unid(p->shown_res); }
static inline unsigned tg_pay_result(const struct tg_segpay *p) { return (p->shown_res >> 24) & 15u; }
static inline bool tg_pay_timed(const struct tg_segpay *p) { return (p->shown_res >> 28) & 1u; }
static inline void tg_pay_set_shown(struct tg_segpay *p, uint32_t shown)
{
    p->shown_res = (p->shown_res & ~TG_PAY_NONE) | tg_pay_id(shown);
}

/* A lock-lane segment's owner, actor (thread lanes, 22 bits: more than 4
 * million threads are shown as none), waiters and holders (10 bits each,
 * counts above 1023 are shown as 1023) in 8 bytes. */
struct tg_lockpay {
    uint64_t v;
};
#define TG_LP_LANE 0x3fffffu
#define TG_LP_COUNT 0x3ffu

static inline uint64_t tg_lp_lane(uint32_t lane)
{
    return lane >= TG_LP_LANE ? TG_LP_LANE : lane;
}
static inline struct tg_lockpay tg_lp_make(uint32_t owner, uint32_t actor, unsigned waiters,
                                          unsigned holders)
{
    struct tg_lockpay p = {
        tg_lp_lane(owner) | tg_lp_lane(actor) << 22
        | (uint64_t)(waiters > TG_LP_COUNT ? TG_LP_COUNT : waiters) << 44
        | (uint64_t)(holders > TG_LP_COUNT ? TG_LP_COUNT : holders) << 54
    };
    return p;
}
static inline uint32_t tg_lp_unlane(uint64_t v)
{
    return (uint32_t)(v & TG_LP_LANE) == TG_LP_LANE ? UINT32_MAX : (uint32_t)(v & TG_LP_LANE);
}
static inline uint32_t tg_lp_owner(struct tg_lockpay p) { return tg_lp_unlane(p.v); }
static inline uint32_t tg_lp_actor(struct tg_lockpay p) { return tg_lp_unlane(p.v >> 22); }
static inline unsigned tg_lp_waiters(struct tg_lockpay p) { return (unsigned)(p.v >> 44) & TG_LP_COUNT; }
static inline unsigned tg_lp_holders(struct tg_lockpay p) { return (unsigned)(p.v >> 54) & TG_LP_COUNT; }

/* The segment records of the series (see series.h): the time offset and
 * the payload together. A lock's payload is kept as two words so that its
 * record is 12 bytes. */
struct tg_thrseg {
    uint32_t dt;
    struct tg_segpay pay;
};

struct tg_lkseg {
    uint32_t dt;
    uint32_t lo, hi;
};

struct tg_marks {
    uint64_t *ts;
    uint32_t *seg;
    uint8_t *type;
    size_t n, cap;
};

struct tg_held {
    uint32_t obj;
    uint32_t count;
    bool shared;
};

struct tg_pending {             /* a semaphore taken, not yet posted by this thread */
    uint32_t obj;
    size_t seg;
};

struct tg_thr {
    struct tg_tui_thread pub;
    uint32_t lane;
    struct tg_series ser;       /* records: struct tg_thrseg */
    struct tg_marks marks;
    /* the state machine */
    uint8_t blocked;            /* a TG_TUI_ST_WAIT_* / SLEEP, or 0 */
    uint32_t blocked_obj;
    uint64_t blocked_ts;
    bool exited;
    bool exec_ended;                /* exited by its process's exec, which may fail */
    struct tg_held *held;
    uint32_t nheld, capheld;
    struct tg_pending pend[8];
    uint32_t npend;
    uint8_t cur_state;
    uint32_t cur_shown;
    uint32_t cond_mutex;        /* COND_WAIT: the mutex to take back */
    uint32_t cond_count;
    char *name;
};

struct tg_lk {
    uint32_t obj;
    struct tg_series ser;       /* records: struct tg_lkseg */
    struct tg_marks marks;
    uint8_t last_state;         /* the last segment's, to skip a push that changes nothing */
    struct tg_lockpay last_pay;
    uint32_t owner, last_owner;
    uint32_t owner_count;       /* recursion depth of the owner */
    uint32_t waiters;
    int64_t in_use;             /* readers / semaphore units taken */
    uint64_t acq_ts;
};

struct tg_obj {
    struct tg_tui_object pub;
    char *name;
};

struct tg_tui_model {
    struct tg_thr **thr;
    size_t nthr, capthr;
    uint32_t *lane_of;          /* trace thread index -> lane */
    size_t nlane_of;
    struct tg_obj **obj;
    size_t nobj, capobj;
    uint32_t *hash;             /* object ids, open addressing, TG_TUI_NONE = empty */
    size_t hcap;
    struct tg_lk **lk;
    size_t nlk, caplk;
    struct tg_tui_finding *find;
    size_t nfind, capfind;
    uint64_t start, now, events;
    bool any;
    size_t strmem;
};

static inline struct tg_segpay *tg_thr_pay(const struct tg_thr *t, size_t i)
{
    return &((struct tg_thrseg *)t->ser.rec)[i].pay;
}

static inline struct tg_lockpay tg_lk_pay(const struct tg_lk *l, size_t i)
{
    const struct tg_lkseg *r = &((const struct tg_lkseg *)l->ser.rec)[i];
    struct tg_lockpay p = { r->lo | (uint64_t)r->hi << 32 };
    return p;
}

static inline void tg_lk_set_pay(struct tg_lk *l, size_t i, struct tg_lockpay p)
{
    struct tg_lkseg *r = &((struct tg_lkseg *)l->ser.rec)[i];
    r->lo = (uint32_t)p.v;
    r->hi = (uint32_t)(p.v >> 32);
}

/* Grows *P (elements of ELEM bytes) to hold NEED; *CAP is updated. */
static inline int tg_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap += ncap / 2 + 8;
    void *q = realloc(*p, ncap * elem);
    if (q == NULL)
        return -ENOMEM;
    *p = q;
    *cap = ncap;
    return 0;
}

/* objects.c */
uint32_t tg_obj_lookup(const struct tg_tui_model *m, unsigned kind, uint32_t process,
                       uint64_t addr, bool pshared);
uint32_t tg_obj_new(struct tg_tui_model *m, unsigned kind, uint32_t process, uint64_t addr,
                    bool pshared);
/* The object an event refers to, created at first sight with its site. */
uint32_t tg_obj_get(struct tg_tui_model *m, unsigned kind, const struct tg_ev *ev,
                    uint64_t addr, bool is_init);
int tg_marks_add(struct tg_marks *mk, uint64_t ts, uint32_t seg, unsigned type);
void tg_marks_free(struct tg_marks *mk);
/* Takes back one mark of TYPE at TS, if there is one. */
void tg_marks_remove(struct tg_marks *mk, uint64_t ts, unsigned type);
/* Highest mark in [a, b), TG_TUI_MARK_NONE if none. */
unsigned tg_marks_in(const struct tg_marks *mk, uint64_t a, uint64_t b);

#endif
