/* tracer/race/: __tsan_atomic{8,16,32,64,128}_* — the C11/GCC atomic
 * operations of instrumented code, done for real plus their effect on
 * happens-before.
 *
 * An atomic access is checked like any access, flagged atomic: two atomic
 * accesses never race, an atomic and a plain one do. Memory orders follow
 * C11: an acquire load joins the variable's release clock into the thread;
 * a release store replaces it, a release read-modify-write joins into it
 * (continuing the release sequence); relaxed orders nothing. The real
 * operation happens under the variable's clock lock when it releases, so a
 * thread that sees the value also finds the clock that came with it.
 * Fences order nothing here (as in TSan): a relaxed load followed by an
 * acquire fence is not modelled.
 */
#include "tracer/race/race.h"

enum { MO_RELAXED, MO_CONSUME, MO_ACQUIRE, MO_RELEASE, MO_ACQ_REL, MO_SEQ_CST };

static inline bool mo_acquires(int mo)
{
    mo &= 7;                         /* gcc may add HLE hint bits above */
    return mo == MO_CONSUME || mo == MO_ACQUIRE || mo == MO_ACQ_REL || mo == MO_SEQ_CST;
}

static inline bool mo_releases(int mo)
{
    mo &= 7;
    return mo == MO_RELEASE || mo == MO_ACQ_REL || mo == MO_SEQ_CST;
}

static inline struct race_thread *atomic_enter(const volatile void *a, unsigned size,
                                               unsigned flags, uint64_t pc)
{
    struct race_thread *t = race_self();
    if (RACE_UNLIKELY(t == NULL || t->ignore))
        return NULL;
    race_access_small(t, (uintptr_t)a, size, flags | RACE_ATOMIC, pc);
    return t;
}

/* Before the real operation: the variable's clock, locked, if this
 * operation may acquire or release (NULL if neither, or nothing to acquire). */
static inline struct tg_hb_sync *sync_begin(const volatile void *a, int mo, int fmo, bool store)
{
    bool rel = mo_releases(mo), acq = mo_acquires(mo) || mo_acquires(fmo);
    if (!rel && !acq)
        return NULL;
    if (store && !rel)
        return NULL;
    struct tg_hb_sync *o = tg_hb_sync_get(race_g.syncs, (uint64_t)(uintptr_t)a, rel);
    if (o != NULL)
        tg_hb_spin_lock(&o->lock);
    return o;
}

/* After it: acquire what the clock holds, publish ours. REPLACE for plain
 * stores (a new release sequence), join for read-modify-writes. */
static inline void sync_end(struct race_thread *t, struct tg_hb_sync *o, int mo, bool ok,
                            bool replace)
{
    if (o == NULL)
        return;
    bool rel = ok && mo_releases(mo);
    if (mo_acquires(mo))
        (void)tg_hb_vc_join(&t->hb.clock, &o->clock);
    if (rel) {
        if (replace)
            (void)tg_hb_vc_copy(&o->clock, &t->hb.clock);
        else
            (void)tg_hb_vc_join(&o->clock, &t->hb.clock);
    }
    tg_hb_spin_unlock(&o->lock);
    if (rel) {
        tg_hb_tick(&t->hb);
        race_epoch_changed(t);
    }
}

/* The real operations. Orders are all made sequentially consistent (a
 * stronger order is always correct) except plain loads and stores, which
 * cost nothing extra on x86 either way. 128-bit ones are a cmpxchg16b loop. */
#define LOAD(p, mo)        __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v, mo)    (((mo) & 7) == MO_SEQ_CST ? __atomic_store_n((p), (v), __ATOMIC_SEQ_CST) \
                                                     : __atomic_store_n((p), (v), __ATOMIC_RELEASE))

typedef unsigned __int128 a128;

/* cmpxchg16b by hand: gcc inlines __sync_val_compare_and_swap on a
 * target("cx16") function, clang calls a libatomic helper we do not link.
 * The old value comes back in rdx:rax, equal to EXPECTED on success. */
static inline a128 cmpxchg128(volatile a128 *p, a128 expected, a128 desired)
{
    uint64_t lo = (uint64_t)expected, hi = (uint64_t)(expected >> 64);
    __asm__ __volatile__("lock cmpxchg16b %0"
                         : "+m"(*p), "+a"(lo), "+d"(hi)
                         : "b"((uint64_t)desired), "c"((uint64_t)(desired >> 64))
                         : "memory", "cc");
    return (a128)hi << 64 | lo;
}

static inline a128 load128(const volatile a128 *p)
{
    return cmpxchg128((volatile a128 *)p, 0, 0);
}

#define OP128(name, op)                                                        \
    static inline a128 a128_##name(volatile a128 *p, a128 v)                     \
    {                                                                          \
        a128 old = load128(p), seen;                                           \
        while ((seen = cmpxchg128(p, old, op)) != old)                             \
            old = seen;                                                        \
        return old;                                                            \
    }
OP128(xchg, v)
OP128(add, old + v)
OP128(sub, old - v)
OP128(and, old & v)
OP128(or, old | v)
OP128(xor, old ^ v)
OP128(nand, ~(old & v))

#define DEFINE_ATOMICS(N, T, IS128)                                                          \
T __tsan_atomic##N##_load(const volatile T *a, int mo);                                     \
void __tsan_atomic##N##_store(volatile T *a, T v, int mo);                                  \
T __tsan_atomic##N##_exchange(volatile T *a, T v, int mo);                                  \
T __tsan_atomic##N##_fetch_add(volatile T *a, T v, int mo);                                 \
T __tsan_atomic##N##_fetch_sub(volatile T *a, T v, int mo);                                 \
T __tsan_atomic##N##_fetch_and(volatile T *a, T v, int mo);                                 \
T __tsan_atomic##N##_fetch_or(volatile T *a, T v, int mo);                                  \
T __tsan_atomic##N##_fetch_xor(volatile T *a, T v, int mo);                                 \
T __tsan_atomic##N##_fetch_nand(volatile T *a, T v, int mo);                                \
int __tsan_atomic##N##_compare_exchange_strong(volatile T *a, T *c, T v, int mo, int fmo);  \
int __tsan_atomic##N##_compare_exchange_weak(volatile T *a, T *c, T v, int mo, int fmo);    \
T __tsan_atomic##N##_compare_exchange_val(volatile T *a, T c, T v, int mo, int fmo);        \
                                                                                             \
RACE_EXPORT T __tsan_atomic##N##_load(const volatile T *a, int mo)                          \
{                                                                                            \
    struct race_thread *t = atomic_enter(a, sizeof(T), 0, RACE_CALLER_PC());                \
    if (t == NULL || !mo_acquires(mo))                                                       \
        return IS128 ? (T)load128((const volatile a128 *)a) : (T)LOAD(a, mo);               \
    T r = IS128 ? (T)load128((const volatile a128 *)a) : (T)LOAD(a, mo);                    \
    struct tg_hb_sync *o = sync_begin(a, mo, MO_RELAXED, false);                             \
    sync_end(t, o, mo, true, false);                                                         \
    return r;                                                                                \
}                                                                                            \
                                                                                             \
RACE_EXPORT void __tsan_atomic##N##_store(volatile T *a, T v, int mo)                       \
{                                                                                            \
    struct race_thread *t = atomic_enter(a, sizeof(T), RACE_WRITE, RACE_CALLER_PC());       \
    struct tg_hb_sync *o = t ? sync_begin(a, mo, MO_RELAXED, true) : NULL;                   \
    if (IS128)                                                                               \
        (void)a128_xchg((volatile a128 *)a, (a128)v);                                          \
    else                                                                                     \
        STORE(a, v, mo);                                                                     \
    if (t)                                                                                   \
        sync_end(t, o, mo, true, true);                                                      \
}                                                                                            \
                                                                                             \
DEFINE_RMW(N, T, IS128, exchange, xchg, __atomic_exchange_n)                                 \
DEFINE_RMW(N, T, IS128, fetch_add, add, __atomic_fetch_add)                                  \
DEFINE_RMW(N, T, IS128, fetch_sub, sub, __atomic_fetch_sub)                                  \
DEFINE_RMW(N, T, IS128, fetch_and, and, __atomic_fetch_and)                                  \
DEFINE_RMW(N, T, IS128, fetch_or, or, __atomic_fetch_or)                                     \
DEFINE_RMW(N, T, IS128, fetch_xor, xor, __atomic_fetch_xor)                                  \
DEFINE_RMW(N, T, IS128, fetch_nand, nand, __atomic_fetch_nand)                               \
                                                                                             \
static inline int cas##N(volatile T *a, T *c, T v, int mo, int fmo, uint64_t pc)            \
{                                                                                            \
    struct race_thread *t = atomic_enter(a, sizeof(T), RACE_WRITE, pc);                     \
    struct tg_hb_sync *o = t ? sync_begin(a, mo, fmo, false) : NULL;                         \
    T expected = *c, seen;                                                                   \
    if (IS128)                                                                               \
        seen = (T)cmpxchg128((volatile a128 *)a, (a128)expected, (a128)v);                       \
    else                                                                                     \
        seen = __sync_val_compare_and_swap(a, expected, v);                                  \
    int ok = seen == expected;                                                               \
    if (!ok)                                                                                 \
        *c = seen;                                                                           \
    if (t)                                                                                   \
        sync_end(t, o, ok ? mo : fmo, ok, false);                                            \
    return ok;                                                                               \
}                                                                                            \
                                                                                             \
RACE_EXPORT int __tsan_atomic##N##_compare_exchange_strong(volatile T *a, T *c, T v,        \
                                                           int mo, int fmo)                  \
{                                                                                            \
    return cas##N(a, c, v, mo, fmo, RACE_CALLER_PC());                                       \
}                                                                                            \
                                                                                             \
RACE_EXPORT int __tsan_atomic##N##_compare_exchange_weak(volatile T *a, T *c, T v,          \
                                                         int mo, int fmo)                    \
{                                                                                            \
    return cas##N(a, c, v, mo, fmo, RACE_CALLER_PC());                                       \
}                                                                                            \
                                                                                             \
RACE_EXPORT T __tsan_atomic##N##_compare_exchange_val(volatile T *a, T c, T v,              \
                                                      int mo, int fmo)                       \
{                                                                                            \
    cas##N(a, &c, v, mo, fmo, RACE_CALLER_PC());                                             \
    return c;                                                                                \
}

#define DEFINE_RMW(N, T, IS128, name, op128, builtin)                                        \
T __tsan_atomic##N##_##name(volatile T *a, T v, int mo);                                     \
RACE_EXPORT T __tsan_atomic##N##_##name(volatile T *a, T v, int mo)                                      \
{                                                                                            \
    struct race_thread *t = atomic_enter(a, sizeof(T), RACE_WRITE, RACE_CALLER_PC());       \
    struct tg_hb_sync *o = t ? sync_begin(a, mo, MO_RELAXED, false) : NULL;                  \
    T r = IS128 ? (T)a128_##op128((volatile a128 *)a, (a128)v)                                 \
                : (T)builtin(a, v, __ATOMIC_SEQ_CST);                                        \
    if (t)                                                                                   \
        sync_end(t, o, mo, true, false);                                                     \
    return r;                                                                                \
}

/* The 128-bit builtins below are never reached (IS128 picks the cas loop)
 * but must compile: give them 64-bit stand-ins. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunknown-warning-option"
#pragma GCC diagnostic ignored "-Wsync-fetch-and-nand-semantics-changed"

DEFINE_ATOMICS(8, uint8_t, 0)
DEFINE_ATOMICS(16, uint16_t, 0)
DEFINE_ATOMICS(32, uint32_t, 0)
DEFINE_ATOMICS(64, uint64_t, 0)

#undef LOAD
#undef STORE
#define LOAD(p, mo) 0
#define STORE(p, v, mo) ((void)(p), (void)(v))
#define no128(a, v, mo) ((void)(a), (void)(v), (a128)0)
#undef DEFINE_RMW
#define DEFINE_RMW(N, T, IS128, name, op128, builtin)                                        \
T __tsan_atomic##N##_##name(volatile T *a, T v, int mo);                                     \
RACE_EXPORT T __tsan_atomic##N##_##name(volatile T *a, T v, int mo)                                      \
{                                                                                            \
    struct race_thread *t = atomic_enter(a, sizeof(T), RACE_WRITE, RACE_CALLER_PC());       \
    struct tg_hb_sync *o = t ? sync_begin(a, mo, MO_RELAXED, false) : NULL;                  \
    T r = a128_##op128((volatile a128 *)a, (a128)v);                                           \
    if (t)                                                                                   \
        sync_end(t, o, mo, true, false);                                                     \
    return r;                                                                                \
}
DEFINE_ATOMICS(128, a128, 1)
#pragma GCC diagnostic pop

void __tsan_atomic_thread_fence(int mo);
void __tsan_atomic_signal_fence(int mo);

RACE_EXPORT void __tsan_atomic_thread_fence(int mo)
{
    if ((mo & 7) != MO_RELAXED)
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

RACE_EXPORT void __tsan_atomic_signal_fence(int mo)
{
    (void)mo;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
