/* tracer/race/: plain memory accesses — the __tsan_readN/writeN family the
 * compilers call before every load and store of instrumented code — plus
 * function entry/exit (the shadow stack) and the mem* functions.
 *
 * The fast path: the thread's state from TLS, the granule's cells from the
 * shadow directory, then hb's check. An access that finds its own twin (same
 * thread, same epoch, same bytes) stops there; only a stored access goes
 * into the thread's history.
 */
#include "tracer/race/race.h"

#define HIST_ACCESS_WORD(addr, size, flags) \
    race_hist_word(HIST_ACCESS, (uint64_t)(addr) | ((uint64_t)(size) << 48) \
                   | ((uint64_t)((flags) & 3u) << 56))

static inline void access_granule(struct race_thread *t, uintptr_t addr, unsigned size,
                                  unsigned flags, uint64_t pc)
{
    tg_hb_cell *cells = tg_hb_shadow_cells(&race_g.shadow, addr);
    if (RACE_UNLIKELY(cells == NULL))
        return;
    tg_hb_cell cur = tg_hb_cell_make(t->hb.slot, t->hb.epoch, tg_hb_mask(addr & 7, size),
                                     flags & RACE_WRITE, flags & RACE_ATOMIC);
    struct tg_hb_result res;
    bool racy = tg_hb_access(cells, cur, &t->hb.clock, &res);
    /* into the history before reporting: another thread that races with
     * this access while we report (the first report reads debug info) must
     * find it there */
    if (res.stored >= 0)
        race_hist_put(t, HIST_ACCESS_WORD(addr, size, flags), pc);
    if (RACE_UNLIKELY(racy))
        race_report(t, addr, size, flags, pc, &res);
}

void race_access_small(struct race_thread *t, uintptr_t addr, unsigned size,
                       unsigned flags, uint64_t pc)
{
    unsigned off = addr & 7;
    if (RACE_LIKELY(off + size <= 8)) {
        access_granule(t, addr, size, flags, pc);
        return;
    }
    /* unaligned, or 16 bytes: one piece per granule touched */
    while (size > 0) {
        unsigned n = 8 - (addr & 7);
        if (n > size)
            n = size;
        access_granule(t, addr, n, flags, pc);
        addr += n;
        size -= n;
    }
}

void race_access_range(struct race_thread *t, uintptr_t addr, size_t size,
                       unsigned flags, uint64_t pc)
{
    if (size == 0)
        return;
    if (size <= 16) {
        race_access_small(t, addr, (unsigned)size, flags, pc);
        return;
    }
    /* one history record for the whole range; cells per granule */
    bool logged = false;
    uintptr_t end = addr + size;
    while (addr < end) {
        unsigned n = 8 - (addr & 7);
        if (n > end - addr)
            n = (unsigned)(end - addr);
        tg_hb_cell *cells = tg_hb_shadow_cells(&race_g.shadow, addr);
        if (cells != NULL) {
            tg_hb_cell cur = tg_hb_cell_make(t->hb.slot, t->hb.epoch, tg_hb_mask(addr & 7, n),
                                             flags & RACE_WRITE, flags & RACE_ATOMIC);
            struct tg_hb_result res;
            if (RACE_UNLIKELY(tg_hb_access(cells, cur, &t->hb.clock, &res))) {
                if (!logged) {       /* the report's replay must find this range */
                    race_hist_put(t, race_hist_word(HIST_RANGE, addr | ((uint64_t)(flags & 3u) << 56)), pc);
                    race_hist_put(t, race_hist_word(HIST_RANGE, end - addr), 0);
                    logged = true;
                }
                race_report(t, addr, n, flags, pc, &res);
            }
            if (res.stored >= 0 && !logged) {
                race_hist_put(t, race_hist_word(HIST_RANGE, addr | ((uint64_t)(flags & 3u) << 56)), pc);
                race_hist_put(t, race_hist_word(HIST_RANGE, end - addr), 0);
                logged = true;
            }
        }
        addr += n;
    }
}

static inline void access(uintptr_t addr, unsigned size, unsigned flags, uint64_t pc)
{
    struct race_thread *t = race_self();
    if (RACE_UNLIKELY(t == NULL || t->ignore))
        return;
    race_access_small(t, addr, size, flags, pc);
}

/* ---- the entry points ---- */

#define READ_WRITE(n)                                                          \
    RACE_EXPORT void __tsan_read##n(void *a)                                   \
    { access((uintptr_t)a, n, 0, RACE_CALLER_PC()); }                          \
    RACE_EXPORT void __tsan_write##n(void *a)                                  \
    { access((uintptr_t)a, n, RACE_WRITE, RACE_CALLER_PC()); }                 \
    RACE_EXPORT void __tsan_unaligned_read##n(const void *a)                   \
    { access((uintptr_t)a, n, 0, RACE_CALLER_PC()); }                          \
    RACE_EXPORT void __tsan_unaligned_write##n(void *a)                        \
    { access((uintptr_t)a, n, RACE_WRITE, RACE_CALLER_PC()); }                 \
    RACE_EXPORT void __tsan_volatile_read##n(void *a)                          \
    { access((uintptr_t)a, n, 0, RACE_CALLER_PC()); }                          \
    RACE_EXPORT void __tsan_volatile_write##n(void *a)                         \
    { access((uintptr_t)a, n, RACE_WRITE, RACE_CALLER_PC()); }                 \
    RACE_EXPORT void __tsan_unaligned_volatile_read##n(void *a)                \
    { access((uintptr_t)a, n, 0, RACE_CALLER_PC()); }                          \
    RACE_EXPORT void __tsan_unaligned_volatile_write##n(void *a)               \
    { access((uintptr_t)a, n, RACE_WRITE, RACE_CALLER_PC()); }                 \
    RACE_EXPORT void __tsan_read##n##_pc(void *a, void *pc)                    \
    { access((uintptr_t)a, n, 0, (uint64_t)(uintptr_t)pc); }                   \
    RACE_EXPORT void __tsan_write##n##_pc(void *a, void *pc)                   \
    { access((uintptr_t)a, n, RACE_WRITE, (uint64_t)(uintptr_t)pc); }

/* the _pc variants are declared by no system header: keep -Wmissing-prototypes quiet */
#define DECL(n)                                                                \
    void __tsan_read##n(void *a); void __tsan_write##n(void *a);               \
    void __tsan_unaligned_read##n(const void *a);                              \
    void __tsan_unaligned_write##n(void *a);                                   \
    void __tsan_volatile_read##n(void *a); void __tsan_volatile_write##n(void *a); \
    void __tsan_unaligned_volatile_read##n(void *a);                           \
    void __tsan_unaligned_volatile_write##n(void *a);                          \
    void __tsan_read##n##_pc(void *a, void *pc);                               \
    void __tsan_write##n##_pc(void *a, void *pc);
DECL(1) DECL(2) DECL(4) DECL(8) DECL(16)

READ_WRITE(1)
READ_WRITE(2)
READ_WRITE(4)
READ_WRITE(8)
READ_WRITE(16)

void __tsan_read_range(void *a, unsigned long size);
void __tsan_write_range(void *a, unsigned long size);
void __tsan_read_range_pc(void *a, unsigned long size, void *pc);
void __tsan_write_range_pc(void *a, unsigned long size, void *pc);

static inline void range(uintptr_t addr, size_t size, unsigned flags, uint64_t pc)
{
    struct race_thread *t = race_self();
    if (RACE_UNLIKELY(t == NULL || t->ignore))
        return;
    race_access_range(t, addr, size, flags, pc);
}

RACE_EXPORT void __tsan_read_range(void *a, unsigned long size)
{
    range((uintptr_t)a, size, 0, RACE_CALLER_PC());
}

RACE_EXPORT void __tsan_write_range(void *a, unsigned long size)
{
    range((uintptr_t)a, size, RACE_WRITE, RACE_CALLER_PC());
}

RACE_EXPORT void __tsan_read_range_pc(void *a, unsigned long size, void *pc)
{
    range((uintptr_t)a, size, 0, (uint64_t)(uintptr_t)pc);
}

RACE_EXPORT void __tsan_write_range_pc(void *a, unsigned long size, void *pc)
{
    range((uintptr_t)a, size, RACE_WRITE, (uint64_t)(uintptr_t)pc);
}

/* C++ virtual table pointers: a store of a new vptr is a write unless it
 * stores the same value (constructors of base and derived classes do). */
void __tsan_vptr_update(void **vptr_p, void *new_val);
void __tsan_vptr_read(void **vptr_p);

RACE_EXPORT void __tsan_vptr_update(void **vptr_p, void *new_val)
{
    if (*vptr_p != new_val)
        access((uintptr_t)vptr_p, sizeof(void *), RACE_WRITE, RACE_CALLER_PC());
}

RACE_EXPORT void __tsan_vptr_read(void **vptr_p)
{
    access((uintptr_t)vptr_p, sizeof(void *), 0, RACE_CALLER_PC());
}

/* ---- the shadow stack ---- */

void __tsan_func_entry(void *call_pc);
void __tsan_func_exit(void);

RACE_EXPORT void __tsan_func_entry(void *call_pc)
{
    struct race_thread *t = race_self();
    if (RACE_UNLIKELY(t == NULL))
        return;
    /* history first: a segment's snapshot is the state before its record */
    race_hist_put(t, race_hist_word(HIST_FUNC_ENTRY, 0), (uint64_t)(uintptr_t)call_pc);
    uint32_t d = t->depth++;
    if (RACE_LIKELY(d < RACE_STACK_MAX))
        t->stack[d] = (uint64_t)(uintptr_t)call_pc;
}

RACE_EXPORT void __tsan_func_exit(void)
{
    struct race_thread *t = race_cur;
    if (RACE_UNLIKELY(t == NULL || t->depth == 0))
        return;
    race_hist_put(t, race_hist_word(HIST_FUNC_EXIT, 0), 0);
    t->depth--;
}

uint32_t race_current_stack(const struct race_thread *t, uint64_t pc, uint64_t *frames,
                            uint32_t max)
{
    uint32_t n = 0;
    if (pc != 0 && n < max)
        frames[n++] = pc;
    uint32_t d = t->depth < RACE_STACK_MAX ? t->depth : RACE_STACK_MAX;
    while (d > 0 && n < max) {
        uint64_t f = t->stack[--d];
        if (f - race_g.self_lo >= race_g.self_hi - race_g.self_lo)
            frames[n++] = f;         /* tangle's thread trampoline is not the program's */
    }
    return n;
}

/* ---- memcpy, memmove, memset ----
 * clang (and gcc for calls it does not expand inline) call the libc
 * functions directly; TSan's runtime intercepts them, so does this one.
 * Newer compilers call __tsan_memcpy & co instead: the same code. The real
 * functions come from dlsym(RTLD_NEXT) (glibc's own __*_chk variants may
 * call back through the PLT, i.e. into us); until they are resolved, plain
 * byte loops do (volatile, so no compiler turns them back into calls). */
#include <dlfcn.h>

static void *(*real_memcpy)(void *, const void *, size_t);
static void *(*real_memmove)(void *, const void *, size_t);
static void *(*real_memset)(void *, int, size_t);
static int resolving;

static void resolve_mem(void)
{
    if (__atomic_exchange_n(&resolving, 1, __ATOMIC_ACQUIRE))
        return;                      /* dlsym itself called us: loops meanwhile */
    void *c = dlsym(RTLD_NEXT, "memcpy"), *m = dlsym(RTLD_NEXT, "memmove");
    void *s = dlsym(RTLD_NEXT, "memset");
    __atomic_store_n(&real_memmove, (void *(*)(void *, const void *, size_t))m, __ATOMIC_RELEASE);
    __atomic_store_n(&real_memset, (void *(*)(void *, int, size_t))s, __ATOMIC_RELEASE);
    __atomic_store_n(&real_memcpy, (void *(*)(void *, const void *, size_t))c, __ATOMIC_RELEASE);
    __atomic_store_n(&resolving, 0, __ATOMIC_RELEASE);
}

__attribute__((constructor(101)))
static void race_mem_init(void)
{
    if (real_memcpy == NULL)
        resolve_mem();
}

static void *loop_move(void *dst, const void *src, size_t n)
{
    volatile unsigned char *d = dst;
    const volatile unsigned char *s = src;
    if (d < s)
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    else
        for (size_t i = n; i > 0; i--)
            d[i - 1] = s[i - 1];
    return dst;
}

static void *do_memcpy(void *dst, const void *src, size_t n)
{
    void *(*f)(void *, const void *, size_t) = __atomic_load_n(&real_memcpy, __ATOMIC_ACQUIRE);
    if (RACE_UNLIKELY(f == NULL)) {
        resolve_mem();
        if ((f = __atomic_load_n(&real_memcpy, __ATOMIC_ACQUIRE)) == NULL)
            return loop_move(dst, src, n);
    }
    return f(dst, src, n);
}

static void *do_memmove(void *dst, const void *src, size_t n)
{
    void *(*f)(void *, const void *, size_t) = __atomic_load_n(&real_memmove, __ATOMIC_ACQUIRE);
    if (RACE_UNLIKELY(f == NULL)) {
        resolve_mem();
        if ((f = __atomic_load_n(&real_memmove, __ATOMIC_ACQUIRE)) == NULL)
            return loop_move(dst, src, n);
    }
    return f(dst, src, n);
}

static void *do_memset(void *dst, int c, size_t n)
{
    void *(*f)(void *, int, size_t) = __atomic_load_n(&real_memset, __ATOMIC_ACQUIRE);
    if (RACE_UNLIKELY(f == NULL)) {
        resolve_mem();
        if ((f = __atomic_load_n(&real_memset, __ATOMIC_ACQUIRE)) == NULL) {
            volatile unsigned char *d = dst;
            for (size_t i = 0; i < n; i++)
                d[i] = (unsigned char)c;
            return dst;
        }
    }
    return f(dst, c, n);
}

static inline void mem_access(const void *dst, const void *src, size_t n, uint64_t pc)
{
    if (RACE_LIKELY(!race_g.active) || n == 0 || pc - race_g.self_lo < race_g.self_hi - race_g.self_lo)
        return;
    struct race_thread *t = race_cur;
    if (t == NULL || t->ignore)
        return;
    if (src != NULL)
        race_access_range(t, (uintptr_t)src, n, 0, pc);
    race_access_range(t, (uintptr_t)dst, n, RACE_WRITE, pc);
}

RACE_EXPORT void *memcpy(void *dst, const void *src, size_t n)
{
    mem_access(dst, src, n, RACE_CALLER_PC());
    return do_memcpy(dst, src, n);
}

RACE_EXPORT void *memmove(void *dst, const void *src, size_t n)
{
    mem_access(dst, src, n, RACE_CALLER_PC());
    return do_memmove(dst, src, n);
}

RACE_EXPORT void *memset(void *dst, int c, size_t n)
{
    mem_access(dst, NULL, n, RACE_CALLER_PC());
    return do_memset(dst, c, n);
}

void *__tsan_memcpy(void *dst, const void *src, size_t n);
void *__tsan_memmove(void *dst, const void *src, size_t n);
void *__tsan_memset(void *dst, int c, size_t n);

RACE_EXPORT void *__tsan_memcpy(void *dst, const void *src, size_t n)
{
    mem_access(dst, src, n, RACE_CALLER_PC());
    return do_memcpy(dst, src, n);
}

RACE_EXPORT void *__tsan_memmove(void *dst, const void *src, size_t n)
{
    mem_access(dst, src, n, RACE_CALLER_PC());
    return do_memmove(dst, src, n);
}

RACE_EXPORT void *__tsan_memset(void *dst, int c, size_t n)
{
    mem_access(dst, NULL, n, RACE_CALLER_PC());
    return do_memset(dst, c, n);
}
