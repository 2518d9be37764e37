/* hb/: memory for the engine, straight from mmap.
 *
 * The in-process runtime runs inside malloc's own hooks and on threads that
 * hold glibc's locks, so it cannot call malloc. Sizes up to 64 KiB come from
 * power-of-two classes carved out of 1 MiB slabs, each class behind its own
 * spinlock; bigger blocks are a mapping each. Nothing is returned to the
 * kernel except those big mappings: the engine's own structures are few and
 * long-lived.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "hb/hb.h"

#define MIN_SHIFT   4                    /* 16 bytes */
#define MAX_SHIFT   16                   /* 64 KiB */
#define NCLASSES    (MAX_SHIFT - MIN_SHIFT + 1)
#define SLAB_SIZE   (1u << 20)

struct free_block { struct free_block *next; };

struct size_class {
    tg_hb_spin lock;
    struct free_block *free;
    char *bump, *end;                    /* the rest of the current slab */
};

static struct size_class classes[NCLASSES];
static size_t mapped;                    /* atomic */

void tg_hb_spin_lock_slow(tg_hb_spin *l)
{
    for (unsigned spins = 0;; spins++) {
        if (__atomic_load_n(&l->v, __ATOMIC_RELAXED) == 0
            && __atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE) == 0)
            return;
        if (spins < 64)
            __builtin_ia32_pause();
        else
            sched_yield();
    }
}

static void *map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    __atomic_add_fetch(&mapped, size, __ATOMIC_RELAXED);
    return p;
}

static unsigned class_of(size_t size)
{
    if (size <= (1u << MIN_SHIFT))
        return 0;
    return (unsigned)(64 - __builtin_clzll(size - 1)) - MIN_SHIFT;
}

void *tg_hb_alloc(size_t size)
{
    if (size == 0)
        size = 1;
    if (size > (1u << MAX_SHIFT)) {
        size_t len = (size + 4095) & ~(size_t)4095;
        return map(len);
    }
    unsigned k = class_of(size);
    size_t bsize = (size_t)1 << (k + MIN_SHIFT);
    struct size_class *c = &classes[k];
    void *p = NULL;

    tg_hb_spin_lock(&c->lock);
    if (c->free != NULL) {
        p = c->free;
        c->free = c->free->next;
        tg_hb_spin_unlock(&c->lock);
        memset(p, 0, bsize);
        return p;
    }
    if (c->bump == NULL || (size_t)(c->end - c->bump) < bsize) {
        char *slab = map(SLAB_SIZE);
        if (slab == NULL) {
            tg_hb_spin_unlock(&c->lock);
            return NULL;
        }
        c->bump = slab;
        c->end = slab + SLAB_SIZE;
    }
    p = c->bump;                         /* fresh from mmap: already zero */
    c->bump += bsize;
    tg_hb_spin_unlock(&c->lock);
    return p;
}

void tg_hb_free(void *p, size_t size)
{
    if (p == NULL)
        return;
    if (size == 0)
        size = 1;
    if (size > (1u << MAX_SHIFT)) {
        size_t len = (size + 4095) & ~(size_t)4095;
        munmap(p, len);
        __atomic_sub_fetch(&mapped, len, __ATOMIC_RELAXED);
        return;
    }
    struct size_class *c = &classes[class_of(size)];
    struct free_block *b = p;
    tg_hb_spin_lock(&c->lock);
    b->next = c->free;
    c->free = b;
    tg_hb_spin_unlock(&c->lock);
}

size_t tg_hb_alloc_mapped(void)
{
    return __atomic_load_n(&mapped, __ATOMIC_RELAXED);
}
