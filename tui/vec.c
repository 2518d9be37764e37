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
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
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

/* ---- populating ahead ----
 * A large array's next 2 MiB is populated by a helper thread while the
 * caller fills the current one: the kernel zeroes each fresh page, and on
 * this project's VMs fresh memory comes at ~0.7 GB/s, which was a quarter
 * of the view's thread building a 10-million-event model. The caller still
 * populates what it grows into (a no-op when the helper was first); the
 * helper only moves the work to the other core. Requests are dropped when
 * the queue is full or the helper cannot start. */
#define AHEAD_SLOTS 64u

struct ahead_req {
    char *p;
    size_t len;
};

static pthread_mutex_t ahead_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ahead_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t ahead_done = PTHREAD_COND_INITIALIZER;
static struct ahead_req ahead_q[AHEAD_SLOTS];
static unsigned ahead_head, ahead_count;
static bool ahead_running, ahead_busy, ahead_failed;

static void *ahead_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ahead_lock);
    for (;;) {
        while (ahead_count == 0)
            pthread_cond_wait(&ahead_work, &ahead_lock);
        struct ahead_req r = ahead_q[ahead_head];
        ahead_head = (ahead_head + 1) % AHEAD_SLOTS;
        ahead_count--;
        ahead_busy = true;
        pthread_mutex_unlock(&ahead_lock);
#ifdef MADV_POPULATE_WRITE
        madvise(r.p, r.len, MADV_POPULATE_WRITE);   /* a range gone meanwhile fails harmlessly */
#endif
        pthread_mutex_lock(&ahead_lock);
        ahead_busy = false;
        if (ahead_count == 0)
            pthread_cond_broadcast(&ahead_done);
    }
    return NULL;
}

/* Under ahead_lock. The helper takes no signal: they stay the caller's. */
static bool ahead_start(void)
{
    if (ahead_running || ahead_failed)
        return ahead_running;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_t tid;
    ahead_running = pthread_create(&tid, NULL, ahead_main, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ahead_running)
        pthread_detach(tid);
    else
        ahead_failed = true;
    return ahead_running;
}

static void populate_ahead(char *p, size_t len)
{
    pthread_mutex_lock(&ahead_lock);
    if (ahead_count < AHEAD_SLOTS && ahead_start()) {
        ahead_q[(ahead_head + ahead_count) % AHEAD_SLOTS] = (struct ahead_req){ p, len };
        ahead_count++;
        pthread_cond_signal(&ahead_work);
    }
    pthread_mutex_unlock(&ahead_lock);
}

/* Waits until the helper has nothing queued or in hand: pages given back
 * must not be populated again behind the caller's back. */
static void ahead_drain(void)
{
    pthread_mutex_lock(&ahead_lock);
    while (ahead_count > 0 || ahead_busy)
        pthread_cond_wait(&ahead_done, &ahead_lock);
    pthread_mutex_unlock(&ahead_lock);
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
    /* an array growing by huge pages will want the next one soon */
    size_t next = to + ALIGN;
    if (step == ALIGN && next <= mapped_size(ncap2, elem))
        populate_ahead((char *)*p + to, ALIGN);
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
    ahead_drain();
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
    if (cap * elem < BIG) {
        free(p);
    } else {
        ahead_drain();
        munmap(p, mapped_size(cap, elem));
    }
}
