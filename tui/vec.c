/* tui/vec.c: growable lane arrays (see vec.h).
 *
 * Below BIG bytes an array lives in malloc. From BIG on it gets its own
 * reservation of RESERVE bytes of address space (MAP_NORESERVE: costs
 * nothing until touched), aligned to 2 MiB, so it grows in place without
 * copying or system calls; past its first 4 MiB it asks for transparent huge
 * pages (one fault per 2 MiB; small arrays keep 4 KiB pages so they waste
 * nothing). An array that outgrows its reservation moves with mremap. The
 * capacity alone says which kind an array is: a mapping's is never below
 * BIG bytes. */
#include "tui/vec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BIG (64u * 1024u)
#define HUGE_FROM (4u << 20)
#define ALIGN (2u << 20)
#define RESERVE ((size_t)64 << 20)
#define STEP_SMALL (256u * 1024u)

static size_t page_round(size_t n)
{
    return (n + 4095u) & ~(size_t)4095u;
}

/* The bytes of address space behind a mapped array of CAP elements. */
static size_t mapped_size(size_t cap, size_t elem)
{
    size_t bytes = page_round(cap * elem);
    return bytes > RESERVE ? bytes : RESERVE;
}

static void advise(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
    if (size > HUGE_FROM)
        madvise((char *)p + HUGE_FROM, size - HUGE_FROM, MADV_HUGEPAGE);
#else
    (void)p;
    (void)size;
#endif
}

static void *reserve(void)
{
    size_t len = RESERVE + ALIGN;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)p + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    munmap(a + RESERVE, (size_t)(p + len - (a + RESERVE)));
    advise(a, RESERVE);
    return a;
}

int tg_vec_grow_slow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap += ncap / 2 + 16;
    size_t step = need * elem < HUGE_FROM ? STEP_SMALL : ALIGN;
    size_t fine = (need * elem + step - 1) / step * step;
    if (*cap * elem >= BIG && fine <= RESERVE) {
        /* a mapping grows in place within its reservation: fault in what is
         * needed next, not half as much again (every page faulted in is
         * zeroed by the kernel, and zeroing was a sixth of building a
         * large model) */
        ncap = fine / elem;
    }
    size_t old = *cap * elem, bytes = ncap * elem;
    if (bytes < BIG) {
        void *q = realloc(*p, bytes);
        if (q == NULL)
            return -ENOMEM;
        *p = q;
        *cap = ncap;
        return 0;
    }
    if (old < BIG) {                    /* from malloc to a reservation */
        void *q = reserve();
        if (q == NULL)
            return -ENOMEM;
#ifdef MADV_POPULATE_WRITE
        madvise(q, page_round(old), MADV_POPULATE_WRITE);   /* before the copy faults */
#endif
        if (*p != NULL)
            memcpy(q, *p, old);
        free(*p);
        *p = q;
    } else if (page_round(bytes) > mapped_size(*cap, elem)) {
        size_t from = mapped_size(*cap, elem), to = page_round(bytes);
        void *q = mremap(*p, from, to, MREMAP_MAYMOVE);
        if (q == MAP_FAILED)
            return -ENOMEM;
        advise(q, to);
        *p = q;
    }
    size_t ncap2 = bytes < 2 * BIG ? 2 * BIG / elem : ncap;
#ifdef MADV_POPULATE_WRITE
    /* fault the new room in with one call rather than a trap per page */
    size_t from = page_round(old), to = page_round(ncap2 * elem);
    if (to > from)
        madvise((char *)*p + from, to - from, MADV_POPULATE_WRITE);
#endif
    *cap = ncap2;
    return 0;
}

void tg_vec_shrink(void **p, size_t *cap, size_t n, size_t elem)
{
    if (*p == NULL || n >= *cap)
        return;
    if (*cap * elem < BIG) {
        void *q = realloc(*p, (n ? n : 1) * elem);
        if (q != NULL) {
            *p = q;
            *cap = n ? n : 1;
        }
        return;
    }
    /* a mapping keeps its reservation (what outgrew it is unmapped); the
     * pages past N go back */
    size_t used = page_round(n * elem), size = mapped_size(*cap, elem);
    size_t keep = used > RESERVE ? used : RESERVE;
    if (keep < size) {
        void *q = mremap(*p, size, keep, 0);
        if (q == MAP_FAILED)
            return;
        size = keep;
    }
    if (used < size)
        madvise((char *)*p + used, size - used, MADV_DONTNEED);
    size_t min = 2 * BIG / elem + 1;
    *cap = n > min ? n : min;
}

void tg_vec_free(void *p, size_t cap, size_t elem)
{
    if (p == NULL)
        return;
    if (cap * elem < BIG)
        free(p);
    else
        munmap(p, mapped_size(cap, elem));
}
