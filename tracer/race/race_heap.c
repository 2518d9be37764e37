/* tracer/race/: the heap. Every block gets fresh shadow when it is
 * allocated and loses it when freed, so a block's next owner never races
 * with its previous one; free() itself counts as a write of the block (a
 * free racing with a use is a race). Live blocks are kept by address with
 * their size, allocation stack and thread, for reports ("heap block of 24
 * bytes allocated at ...").
 *
 * The interposers call glibc's __libc_* entry points, so no dlsym and no
 * recursion; when the runtime is off (a program that is only traced) they
 * cost one flag test.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "tracer/race/race.h"

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);
extern void *__libc_valloc(size_t n);
extern void *__libc_pvalloc(size_t n);

#define BUCKET_BITS    16
#define FREE_CHECK_MAX 1024     /* free() is checked as a write of at most this much */

struct block {
    struct block *next;
    struct race_block b;
};

static struct {
    tg_hb_spin lock[1u << BUCKET_BITS];
    struct block *head[1u << BUCKET_BITS];
    size_t live;
} heap;

static inline unsigned bucket(uint64_t addr)
{
    return (unsigned)(((addr >> 4) * 0x9e3779b97f4a7c15ull) >> (64 - BUCKET_BITS));
}

static void insert(uint64_t addr, uint64_t size, uint32_t stack, uint32_t thread)
{
    struct block *e = tg_hb_alloc(sizeof *e);
    if (e == NULL)
        return;
    e->b = (struct race_block){ addr, size, stack, thread };
    unsigned k = bucket(addr);
    tg_hb_spin_lock(&heap.lock[k]);
    e->next = heap.head[k];
    heap.head[k] = e;
    tg_hb_spin_unlock(&heap.lock[k]);
    __atomic_add_fetch(&heap.live, 1, __ATOMIC_RELAXED);
}

/* Removes ADDR's block; its size, or 0 if it was not known. */
static uint64_t remove_block(uint64_t addr)
{
    unsigned k = bucket(addr);
    struct block *found = NULL;
    tg_hb_spin_lock(&heap.lock[k]);
    for (struct block **pp = &heap.head[k]; *pp; pp = &(*pp)->next)
        if ((*pp)->b.addr == addr) {
            found = *pp;
            *pp = found->next;
            break;
        }
    tg_hb_spin_unlock(&heap.lock[k]);
    if (found == NULL)
        return 0;
    uint64_t size = found->b.size;
    tg_hb_free(found, sizeof *found);
    __atomic_sub_fetch(&heap.live, 1, __ATOMIC_RELAXED);
    return size;
}

bool race_heap_find(uint64_t addr, struct race_block *out)
{
    /* reports only: a walk over every live block is fine */
    for (unsigned k = 0; k < (1u << BUCKET_BITS); k++) {
        if (__atomic_load_n(&heap.head[k], __ATOMIC_RELAXED) == NULL)
            continue;
        bool hit = false;
        tg_hb_spin_lock(&heap.lock[k]);
        for (struct block *e = heap.head[k]; e; e = e->next)
            if (addr >= e->b.addr && addr < e->b.addr + (e->b.size ? e->b.size : 1)) {
                *out = e->b;
                hit = true;
                break;
            }
        tg_hb_spin_unlock(&heap.lock[k]);
        if (hit)
            return true;
    }
    return false;
}

size_t race_heap_live(void)
{
    return __atomic_load_n(&heap.live, __ATOMIC_RELAXED);
}

static void on_alloc(void *p, size_t size, uint64_t pc)
{
    if (RACE_LIKELY(!__atomic_load_n(&race_g.active, __ATOMIC_RELAXED)) || p == NULL)
        return;
    tg_hb_shadow_reset(&race_g.shadow, (uintptr_t)p, malloc_usable_size(p));
    struct race_thread *t = race_cur;
    uint32_t stack = 0, thread = UINT32_MAX;
    if (t != NULL && !t->dead) {
        uint64_t frames[RACE_REPORT_FRAMES];
        stack = race_depot_put(frames, race_current_stack(t, pc, frames, RACE_REPORT_FRAMES));
        thread = t->info->id;
    }
    insert((uint64_t)(uintptr_t)p, size, stack, thread);
}

/* Before the block goes back to malloc: the free is a write of it (the
 * first FREE_CHECK_MAX bytes: enough to meet any live use, cheap for big
 * blocks), then its shadow is forgotten. */
static size_t on_free(void *p, uint64_t pc)
{
    uint64_t size = remove_block((uint64_t)(uintptr_t)p);
    size_t usable = malloc_usable_size(p);
    if (size == 0)
        size = usable;
    struct race_thread *t = race_cur;
    if (t != NULL && !t->ignore && size > 0)
        race_access_range(t, (uintptr_t)p, size < FREE_CHECK_MAX ? size : FREE_CHECK_MAX,
                          RACE_WRITE | RACE_FREE, pc);
    tg_hb_shadow_reset(&race_g.shadow, (uintptr_t)p, usable);
    return size;
}

RACE_EXPORT void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    on_alloc(p, n, RACE_CALLER_PC());
    return p;
}

RACE_EXPORT void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    on_alloc(p, n * size, RACE_CALLER_PC());
    return p;
}

RACE_EXPORT void free(void *p)
{
    if (RACE_UNLIKELY(__atomic_load_n(&race_g.active, __ATOMIC_RELAXED)) && p != NULL)
        on_free(p, RACE_CALLER_PC());
    __libc_free(p);
}

RACE_EXPORT void *realloc(void *p, size_t n)
{
    if (RACE_LIKELY(!__atomic_load_n(&race_g.active, __ATOMIC_RELAXED)) || p == NULL)
        goto plain;
    /* the old block is done with before the real call: once realloc moved
     * it, another thread may already be its next owner */
    uint64_t old = on_free(p, RACE_CALLER_PC());
    void *r = __libc_realloc(p, n);
    if (r != NULL)
        on_alloc(r, n, RACE_CALLER_PC());
    else if (n != 0)
        insert((uint64_t)(uintptr_t)p, old, 0, UINT32_MAX);   /* failed: p lives on */
    return r;
plain:
    r = __libc_realloc(p, n);
    if (p == NULL)
        on_alloc(r, n, RACE_CALLER_PC());
    return r;
}

RACE_EXPORT void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    on_alloc(p, n, RACE_CALLER_PC());
    return p;
}

RACE_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    /* glibc's own aligned_alloc accepts any alignment memalign does */
    void *p = __libc_memalign(align, n);
    on_alloc(p, n, RACE_CALLER_PC());
    return p;
}

RACE_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (align == 0 || (align % sizeof(void *)) != 0 || (align & (align - 1)) != 0)
        return EINVAL;
    int saved = errno;
    void *p = __libc_memalign(align, n);
    if (p == NULL)
        return ENOMEM;
    errno = saved;
    on_alloc(p, n, RACE_CALLER_PC());
    *out = p;
    return 0;
}

RACE_EXPORT void *valloc(size_t n)
{
    void *p = __libc_valloc(n);
    on_alloc(p, n, RACE_CALLER_PC());
    return p;
}

RACE_EXPORT void *pvalloc(size_t n)
{
    void *p = __libc_pvalloc(n);
    on_alloc(p, n, RACE_CALLER_PC());
    return p;
}

/* munmap: memory mapped again at the same address later is new memory. */
RACE_EXPORT int munmap(void *addr, size_t len)
{
    static int (*real)(void *, size_t);
    if (real == NULL)
        real = (int (*)(void *, size_t))dlsym(RTLD_NEXT, "munmap");
    if (RACE_UNLIKELY(__atomic_load_n(&race_g.active, __ATOMIC_RELAXED)))
        tg_hb_shadow_reset(&race_g.shadow, (uintptr_t)addr, len);
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real(addr, len);
}
