/* hb/: synchronisation objects by address, and the acquire/release
 * operations that move clocks between them and threads.
 *
 * A fixed array of buckets, each a spinlock and a chain. Lookups are short
 * (a bucket holds a handful of objects), so one lock per bucket is enough
 * even when every atomic variable of a program is an object.
 */
#include <errno.h>
#include <string.h>

#include "hb/hb.h"

#define BUCKET_BITS 16

struct bucket {
    tg_hb_spin lock;
    struct tg_hb_sync *head;
};

struct tg_hb_syncs {
    size_t count;               /* atomic */
    struct bucket b[1u << BUCKET_BITS];
};

static struct bucket *bucket_of(struct tg_hb_syncs *s, uint64_t addr)
{
    uint64_t h = (addr >> 3) * 0x9e3779b97f4a7c15ull;
    return &s->b[h >> (64 - BUCKET_BITS)];
}

struct tg_hb_syncs *tg_hb_syncs_new(void)
{
    return tg_hb_alloc(sizeof(struct tg_hb_syncs));
}

static void sync_free(struct tg_hb_sync *o)
{
    tg_hb_vc_free(&o->clock);
    tg_hb_vc_free(&o->read_clock);
    tg_hb_free(o, sizeof *o);
}

void tg_hb_syncs_free(struct tg_hb_syncs *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < (1u << BUCKET_BITS); i++) {
        struct tg_hb_sync *o = s->b[i].head;
        while (o) {
            struct tg_hb_sync *next = o->next;
            sync_free(o);
            o = next;
        }
    }
    tg_hb_free(s, sizeof *s);
}

struct tg_hb_sync *tg_hb_sync_get(struct tg_hb_syncs *s, uint64_t addr, bool create)
{
    struct bucket *b = bucket_of(s, addr);
    tg_hb_spin_lock(&b->lock);
    for (struct tg_hb_sync **pp = &b->head; *pp; pp = &(*pp)->next) {
        struct tg_hb_sync *o = *pp;
        if (o->addr == addr) {
            if (pp != &b->head) {        /* move to front: hot objects stay first */
                *pp = o->next;
                o->next = b->head;
                b->head = o;
            }
            tg_hb_spin_unlock(&b->lock);
            return o;
        }
    }
    struct tg_hb_sync *o = NULL;
    if (create && (o = tg_hb_alloc(sizeof *o)) != NULL) {
        o->addr = addr;
        o->next = b->head;
        b->head = o;
        __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
    }
    tg_hb_spin_unlock(&b->lock);
    return o;
}

void tg_hb_sync_remove(struct tg_hb_syncs *s, uint64_t addr)
{
    struct bucket *b = bucket_of(s, addr);
    struct tg_hb_sync *found = NULL;
    tg_hb_spin_lock(&b->lock);
    for (struct tg_hb_sync **pp = &b->head; *pp; pp = &(*pp)->next) {
        if ((*pp)->addr == addr) {
            found = *pp;
            *pp = found->next;
            break;
        }
    }
    tg_hb_spin_unlock(&b->lock);
    if (found) {
        __atomic_sub_fetch(&s->count, 1, __ATOMIC_RELAXED);
        sync_free(found);
    }
}

size_t tg_hb_syncs_count(const struct tg_hb_syncs *s)
{
    return __atomic_load_n(&s->count, __ATOMIC_RELAXED);
}

/* Out of memory while growing a clock loses ordering, which can only add
 * race reports, never crash: the operations below ignore it. */

void tg_hb_acquire(struct tg_hb_thread *t, struct tg_hb_sync *o)
{
    tg_hb_spin_lock(&o->lock);
    (void)tg_hb_vc_join(&t->clock, &o->clock);
    tg_hb_spin_unlock(&o->lock);
}

void tg_hb_acquire_all(struct tg_hb_thread *t, struct tg_hb_sync *o)
{
    tg_hb_spin_lock(&o->lock);
    (void)tg_hb_vc_join(&t->clock, &o->clock);
    (void)tg_hb_vc_join(&t->clock, &o->read_clock);
    tg_hb_spin_unlock(&o->lock);
}

void tg_hb_release(struct tg_hb_thread *t, struct tg_hb_sync *o)
{
    tg_hb_spin_lock(&o->lock);
    (void)tg_hb_vc_join(&o->clock, &t->clock);
    tg_hb_spin_unlock(&o->lock);
    tg_hb_tick(t);
}

void tg_hb_release_store(struct tg_hb_thread *t, struct tg_hb_sync *o)
{
    tg_hb_spin_lock(&o->lock);
    (void)tg_hb_vc_copy(&o->clock, &t->clock);
    tg_hb_spin_unlock(&o->lock);
    tg_hb_tick(t);
}

void tg_hb_release_read(struct tg_hb_thread *t, struct tg_hb_sync *o)
{
    tg_hb_spin_lock(&o->lock);
    (void)tg_hb_vc_join(&o->read_clock, &t->clock);
    tg_hb_spin_unlock(&o->lock);
    tg_hb_tick(t);
}
