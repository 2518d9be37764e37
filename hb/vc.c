/* hb/: vector clocks and the thread/slot bookkeeping around them. */
#include <errno.h>
#include <string.h>

#include "hb/hb.h"

static int vc_reserve(struct tg_hb_vc *vc, uint32_t len)
{
    if (len <= vc->cap)
        return 0;
    if (len > TG_HB_MAX_SLOTS)
        return -EINVAL;
    uint32_t cap = vc->cap ? vc->cap : 8;
    while (cap < len)
        cap *= 2;
    uint64_t *c = tg_hb_alloc(cap * sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    if (vc->len)
        memcpy(c, vc->c, vc->len * sizeof *c);
    tg_hb_free(vc->c, vc->cap * sizeof *c);
    vc->c = c;
    vc->cap = cap;
    return 0;
}

int tg_hb_vc_set(struct tg_hb_vc *vc, uint32_t slot, uint64_t value)
{
    int err = vc_reserve(vc, slot + 1);
    if (err)
        return err;
    if (slot >= vc->len)
        vc->len = slot + 1;      /* the entries in between are zero already */
    vc->c[slot] = value;
    return 0;
}

int tg_hb_vc_join(struct tg_hb_vc *dst, const struct tg_hb_vc *src)
{
    int err = vc_reserve(dst, src->len);
    if (err)
        return err;
    uint32_t n = src->len;
    for (uint32_t i = 0; i < n; i++)
        if (src->c[i] > dst->c[i])
            dst->c[i] = src->c[i];
    if (n > dst->len)
        dst->len = n;
    return 0;
}

int tg_hb_vc_copy(struct tg_hb_vc *dst, const struct tg_hb_vc *src)
{
    int err = vc_reserve(dst, src->len);
    if (err)
        return err;
    if (src->len)
        memcpy(dst->c, src->c, src->len * sizeof *dst->c);
    if (dst->len > src->len)
        memset(dst->c + src->len, 0, (dst->len - src->len) * sizeof *dst->c);
    dst->len = src->len;
    return 0;
}

bool tg_hb_vc_leq(const struct tg_hb_vc *a, const struct tg_hb_vc *b)
{
    for (uint32_t i = 0; i < a->len; i++)
        if (a->c[i] > tg_hb_vc_get(b, i))
            return false;
    return true;
}

void tg_hb_vc_clear(struct tg_hb_vc *vc)
{
    if (vc->len)
        memset(vc->c, 0, vc->len * sizeof *vc->c);
    vc->len = 0;
}

void tg_hb_vc_free(struct tg_hb_vc *vc)
{
    tg_hb_free(vc->c, vc->cap * sizeof *vc->c);
    vc->c = NULL;
    vc->len = vc->cap = 0;
}

/* ---- slots ---- */

enum { SLOT_UNUSED = 0, SLOT_LIVE, SLOT_FREE };

struct slot_rec {
    uint64_t final;             /* last epoch of the last occupant */
    uint32_t state;
    uint32_t pad;
};

struct tg_hb_slots {
    tg_hb_spin lock;
    uint32_t used;              /* slots ever handed out */
    uint32_t nfree;
    uint32_t free[TG_HB_MAX_SLOTS];     /* freed slots, oldest first */
    struct slot_rec rec[TG_HB_MAX_SLOTS];
};

struct tg_hb_slots *tg_hb_slots_new(void)
{
    return tg_hb_alloc(sizeof(struct tg_hb_slots));
}

void tg_hb_slots_free(struct tg_hb_slots *s)
{
    tg_hb_free(s, sizeof *s);
}

uint32_t tg_hb_slots_used(const struct tg_hb_slots *s)
{
    return __atomic_load_n(&s->used, __ATOMIC_RELAXED);
}

/* Picks a slot for a thread created with clock PARENT. A freed slot is
 * taken only if PARENT covers its last occupant's end: then everything the
 * old occupant did happens-before the new one, and sharing the slot (which
 * makes their accesses "same thread") hides nothing. Only when every slot
 * has been handed out is the oldest free one taken regardless. */
static int slot_pick(struct tg_hb_slots *s, const struct tg_hb_vc *parent)
{
    for (uint32_t i = 0; i < s->nfree; i++) {
        uint32_t slot = s->free[i];
        if (parent != NULL && s->rec[slot].final <= tg_hb_vc_get(parent, slot)) {
            memmove(&s->free[i], &s->free[i + 1], (s->nfree - i - 1) * sizeof s->free[0]);
            s->nfree--;
            return (int)slot;
        }
    }
    if (s->used < TG_HB_MAX_SLOTS)
        return (int)s->used++;
    if (s->nfree > 0) {
        uint32_t slot = s->free[0];
        memmove(&s->free[0], &s->free[1], (s->nfree - 1) * sizeof s->free[0]);
        s->nfree--;
        return (int)slot;
    }
    return -EAGAIN;
}

int tg_hb_thread_start(struct tg_hb_thread *t, struct tg_hb_slots *s,
                       const struct tg_hb_vc *parent)
{
    memset(t, 0, sizeof *t);
    tg_hb_spin_lock(&s->lock);
    int slot = slot_pick(s, parent);
    if (slot < 0) {
        tg_hb_spin_unlock(&s->lock);
        return slot;
    }
    uint64_t start = s->rec[slot].final + 1;
    s->rec[slot].state = SLOT_LIVE;
    tg_hb_spin_unlock(&s->lock);

    int err = parent ? tg_hb_vc_copy(&t->clock, parent) : 0;
    if (parent && tg_hb_vc_get(parent, (uint32_t)slot) >= start)
        start = tg_hb_vc_get(parent, (uint32_t)slot) + 1;
    if (!err)
        err = tg_hb_vc_set(&t->clock, (uint32_t)slot, start);
    if (err) {
        tg_hb_vc_free(&t->clock);
        tg_hb_spin_lock(&s->lock);
        s->rec[slot].state = SLOT_FREE;
        s->free[s->nfree++] = (uint32_t)slot;
        tg_hb_spin_unlock(&s->lock);
        return err;
    }
    t->slot = (uint32_t)slot;
    t->epoch = start;
    return 0;
}

void tg_hb_thread_end(struct tg_hb_thread *t, struct tg_hb_slots *s, struct tg_hb_sync *exit)
{
    if (exit != NULL) {
        tg_hb_spin_lock(&exit->lock);
        (void)tg_hb_vc_join(&exit->clock, &t->clock);
        tg_hb_spin_unlock(&exit->lock);
    }
    tg_hb_spin_lock(&s->lock);
    struct slot_rec *r = &s->rec[t->slot];
    if (r->state == SLOT_LIVE) {
        r->state = SLOT_FREE;
        r->final = t->epoch;
        s->free[s->nfree++] = t->slot;
    }
    tg_hb_spin_unlock(&s->lock);
}

void tg_hb_thread_free(struct tg_hb_thread *t)
{
    tg_hb_vc_free(&t->clock);
}
