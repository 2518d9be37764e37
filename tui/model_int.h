/* tui/model_int.h (internal): the model's lanes, shared by model.c (events
 * in), query.c (segments, steps, times) and bin.c (cells). */
#ifndef TG_TUI_MODEL_INT_H
#define TG_TUI_MODEL_INT_H

#include <errno.h>
#include <stdlib.h>

#include "tui/series.h"
#include "tui/tui.h"

/* What a thread-lane segment carries besides its time and state. */
struct tg_segpay {
    uint32_t shown, obj, stack;
    uint8_t kind;
    uint8_t rflags;             /* bits 0-3 result, bit 4 timed */
} __attribute__((packed));

struct tg_lockpay {
    uint32_t owner, actor;
    uint16_t waiters, holders;
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
    struct tg_series ser;
    struct tg_segpay *pay;
    size_t paycap;
    struct tg_marks marks;
    /* the state machine */
    uint8_t blocked;            /* a TG_TUI_ST_WAIT_* / SLEEP, or 0 */
    uint32_t blocked_obj;
    uint64_t blocked_ts;
    bool exited;
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
    struct tg_series ser;
    struct tg_lockpay *pay;
    size_t paycap;
    struct tg_marks marks;
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
/* Highest mark in [a, b), TG_TUI_MARK_NONE if none. */
unsigned tg_marks_in(const struct tg_marks *mk, uint64_t a, uint64_t b);

#endif
