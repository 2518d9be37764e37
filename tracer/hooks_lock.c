/* tracer/: mutex, rwlock and spinlock hooks.
 *
 * A blocking acquisition first tries the non-blocking variant. If that
 * succeeds the thread never waited: one ACQ record, no REQ (uncontended).
 * Otherwise REQ, the real blocking call, then ACQ or FAIL with its result.
 * The semantics stay the real ones: a recursive mutex the caller holds is
 * taken by the try; an errorcheck mutex the caller holds fails the try with
 * EBUSY and the real lock returns EDEADLK (REQ, FAIL); a normal mutex the
 * caller holds fails the try and the real lock hangs after the REQ, which
 * is what the deadlock detector looks for.
 *
 * Mutex type and process-shared flag are read from the mutex at the time
 * of the call: glibc keeps them in __data.__kind (bits 0-1 the type as
 * PTHREAD_MUTEX_*, bit 7 PTHREAD_MUTEX_PSHARED_BIT), the rwlock's in
 * __data.__shared. Both are part of the public struct layout in
 * <bits/struct_mutex.h> and <bits/struct_rwlock.h>.
 */
#include "tracer/internal.h"

#define NOT_TRIED (-1)

struct lock_kinds {
    uint8_t req, acq, fail;
};

static const struct lock_kinds mutex_kinds = { TG_EV_MUTEX_REQ, TG_EV_MUTEX_ACQ, TG_EV_MUTEX_FAIL };
static const struct lock_kinds rd_kinds = { TG_EV_RD_REQ, TG_EV_RD_ACQ, TG_EV_RD_FAIL };
static const struct lock_kinds wr_kinds = { TG_EV_WR_REQ, TG_EV_WR_ACQ, TG_EV_WR_FAIL };
static const struct lock_kinds spin_kinds = { TG_EV_SPIN_REQ, TG_EV_SPIN_ACQ, TG_EV_SPIN_ACQ };

/* The blocking call, behind one signature for every lock kind. */
typedef int (*block_fn)(void *obj, clockid_t clock, const struct timespec *abstime);

static inline unsigned mutex_kind_bits(int kind, bool timed)
{
    return TG_ARG((unsigned)kind & 3u, (kind & 128) != 0, timed, 0);
}

static inline unsigned mutex_bits(const pthread_mutex_t *m, bool timed)
{
    return mutex_kind_bits(__atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED), timed);
}

/* glibc's unlock of a normal (timed) or adaptive mutex, private or shared,
 * returns 0 without looking at the owner; recursive, errorcheck, robust,
 * PI and PP mutexes check and may fail. KIND is the mutex's __data.__kind. */
static inline bool unlock_cannot_fail(int kind)
{
    kind &= 0x7f;
    return kind == PTHREAD_MUTEX_TIMED_NP || kind == PTHREAD_MUTEX_ADAPTIVE_NP;
}

static inline unsigned rwlock_bits(const pthread_rwlock_t *rw, bool timed)
{
    int shared = __atomic_load_n(&rw->__data.__shared, __ATOMIC_RELAXED);
    return TG_ARG(0, shared != 0, timed, 0);
}

static inline bool acquired(int r)
{
    return r == 0 || r == EOWNERDEAD;   /* a robust mutex is held on EOWNERDEAD */
}

/* What a blocking acquisition records besides its result: the time of
 * the call and the caller's stack id. */
struct lock_call {
    uint64_t tick;
    uint32_t stack;
};

/* Taken before the try call, so that an uncontended acquisition holds the
 * lock only for the floor read and the record's store: the clock read and
 * the stack walk (most of a hook's cost) stay outside the program's
 * critical section, where they would lengthen it and, on a busy lock, turn
 * into contention (futex waits) that costs far more than themselves. An
 * acquisition's tick is then the call's time, raised past the lock's
 * causal floor (tg_tick_acquire) once it is held, so it still comes after
 * the previous owner's release. */
static inline __attribute__((always_inline))
struct lock_call lock_begin(struct tg_thread *t, const void *frame)
{
    struct lock_call c = { 0, 0 };
    if (TG_UNLIKELY(tg_g.no_records))
        return c;               /* lock_finish records nothing either */
    /* not busy: nothing here writes the stream, and a stack cache miss
     * marks the thread busy itself. The clock first: its latency (tens of
     * cycles in a VM) overlaps the stack walk. */
    c.tick = tg_now();
    c.stack = TG_STACK_AT(t, frame);
    return c;
}

/* The contended tail: REQ, the real blocking call, ACQ or FAIL. Out of
 * line, so the uncontended path keeps few registers to save. */
static __attribute__((noinline, cold))
int lock_wait(struct tg_thread *t, uint32_t stack, uint64_t tick, const struct lock_kinds *k,
              void *obj, unsigned bits, int tried, block_fn block,
              clockid_t clock, const struct timespec *abstime)
{
    if (tried == EBUSY)
        tg_emit(t, k->req, bits, TG_OBJ(obj), stack, tick);
    tg_idle(t);
    int r = block(obj, clock, abstime);
    tg_busy(t);
    tick = tg_now();
    if (acquired(r))
        tick = tg_tick_acquire(t, TG_OBJ(obj), tick);
    tg_emit(t, acquired(r) ? k->acq : k->fail, tg_with_result(bits, r), TG_OBJ(obj),
            stack, tick);
    tg_idle(t);
    if (acquired(r))
        tg_sync(k->acq, TG_OBJ(obj), bits);
    return r;
}

/* The common tail of every blocking acquisition. TRIED is the result of
 * the try call, or NOT_TRIED when the call must go straight to the real
 * function (bad deadline arguments, which glibc rejects before trying). */
static inline __attribute__((always_inline))
int lock_finish(struct tg_thread *t, struct lock_call c, const struct lock_kinds *k,
                void *obj, unsigned bits, int tried, block_fn block,
                clockid_t clock, const struct timespec *abstime)
{
    if (TG_UNLIKELY(tg_g.no_records)) {
        /* a tangle cc build run on its own: nothing is recorded, and the
         * critical section is kept as short as the race runtime allows */
        int r = acquired(tried) ? tried : block(obj, clock, abstime);
        if (acquired(r))
            tg_sync(k->acq, TG_OBJ(obj), bits);
        return r;
    }
    tg_busy(t);
    uint64_t tick = c.tick;
    uint32_t stack = c.stack;
    if (TG_LIKELY(acquired(tried))) {
        tick = tg_tick_acquire(t, TG_OBJ(obj), tick);
        tg_emit(t, k->acq, tg_with_result(bits, tried), TG_OBJ(obj), stack, tick);
        tg_idle(t);
        tg_sync(k->acq, TG_OBJ(obj), bits);
        return tried;
    }
    return lock_wait(t, stack, tick, k, obj, bits, tried, block, clock, abstime);
}

static inline bool is_try(unsigned kind)
{
    return kind == TG_EV_MUTEX_TRY || kind == TG_EV_RD_TRY || kind == TG_EV_WR_TRY
        || kind == TG_EV_SPIN_TRY;
}

/* A call that only reports its result: trylock, init, destroy. */
static inline __attribute__((always_inline))
void record(struct tg_thread *t, const void *frame, unsigned kind, void *obj,
            unsigned arg)
{
    tg_busy(t);
    uint64_t tick = tg_now();
    uint32_t stack = TG_STACK_AT(t, frame);
    if (is_try(kind) && TG_ARG_RESULT(arg) == TG_OK)
        tick = tg_tick_acquire(t, TG_OBJ(obj), tick);
    tg_emit(t, kind, arg, TG_OBJ(obj), stack, tick);
    tg_idle(t);
}

/* An unlock that may fail (recursive, errorcheck, robust, PI, PP
 * mutexes): its record, with the result, follows it. Out of line. */
static __attribute__((noinline, cold))
int release_checked(struct tg_thread *t, unsigned kind, void *obj, unsigned bits,
                    int (*unlock)(void *), uint32_t stack, uint64_t tick)
{
    int r = unlock(obj);
    tg_emit(t, kind, tg_with_result(bits, r), TG_OBJ(obj), stack, tick);
    tg_idle(t);
    return r;
}

/* An unlock: the record's time is taken before the real unlock and set as
 * the lock's causal floor, so the next owner's ACQ is never earlier than
 * this REL. When the unlock cannot fail (SURE: normal and adaptive mutexes,
 * rwlocks, spinlocks, whose glibc unlock checks nothing) the record is also
 * published before the real unlock, so a reader following the trace live
 * never sees the next owner's ACQ before it, however long this thread is
 * preempted between the two. */
static inline __attribute__((always_inline))
int release(struct tg_thread *t, const void *frame, unsigned kind, void *obj,
            unsigned bits, int (*unlock)(void *), bool sure)
{
    tg_sync(kind, TG_OBJ(obj), bits);
    if (TG_UNLIKELY(tg_g.no_records))
        return unlock(obj);
    tg_busy(t);
    uint64_t tick = tg_now();
    uint32_t stack = TG_STACK_AT(t, frame);
    tick = tg_tick_release(t, TG_OBJ(obj), tick);
    if (TG_LIKELY(sure)) {
        tg_emit(t, kind, tg_with_result(bits, 0), TG_OBJ(obj), stack, tick);
        tg_idle(t);
        return unlock(obj);
    }
    return release_checked(t, kind, obj, bits, unlock, stack, tick);
}

/* ---- mutexes ---- */

static int mutex_lock(void *m, clockid_t c, const struct timespec *ts)
{
    (void)c, (void)ts;
    return tg_pass_pthread_mutex_lock(m);
}

static int mutex_timedlock(void *m, clockid_t c, const struct timespec *ts)
{
    (void)c;
    return tg_pass_pthread_mutex_timedlock(m, ts);
}

static int mutex_clocklock(void *m, clockid_t c, const struct timespec *ts)
{
    return tg_pass_pthread_mutex_clocklock(m, c, ts);
}

static int mutex_unlock(void *m)
{
    return tg_pass_pthread_mutex_unlock(m);
}

TG_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_mutex_init(m, attr);
    int r = REAL(pthread_mutex_init)(m, attr);
    unsigned bits = r == 0 ? mutex_bits(m, false) : 0;
    record(t, __builtin_frame_address(0), TG_EV_MUTEX_INIT, m, tg_with_result(bits, r));
    if (r == 0)
        tg_sync(TG_EV_MUTEX_INIT, TG_OBJ(m), bits);
    return r;
}

TG_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_mutex_destroy(m);
    unsigned bits = mutex_bits(m, false);
    int r = REAL(pthread_mutex_destroy)(m);
    record(t, __builtin_frame_address(0), TG_EV_MUTEX_DESTROY, m, tg_with_result(bits, r));
    if (r == 0)
        tg_sync(TG_EV_MUTEX_DESTROY, TG_OBJ(m), bits);
    return r;
}

TG_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_mutex_lock(m);
    struct lock_call c = lock_begin(t, __builtin_frame_address(0));
    int tried = REAL(pthread_mutex_trylock)(m);
    return lock_finish(t, c, &mutex_kinds, m,
                       mutex_bits(m, false), tried, mutex_lock, 0, NULL);
}

TG_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_mutex_trylock(m);
    int r = REAL(pthread_mutex_trylock)(m);
    unsigned bits = mutex_bits(m, false);
    record(t, __builtin_frame_address(0), TG_EV_MUTEX_TRY, m, tg_with_result(bits, r));
    if (acquired(r))
        tg_sync(TG_EV_MUTEX_TRY, TG_OBJ(m), bits);
    return r;
}

TG_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_mutex_timedlock(m, abstime);
    struct lock_call c = lock_begin(t, __builtin_frame_address(0));
    int tried = tg_timespec_ok(abstime) ? REAL(pthread_mutex_trylock)(m) : NOT_TRIED;
    return lock_finish(t, c, &mutex_kinds, m,
                       mutex_bits(m, true), tried, mutex_timedlock, CLOCK_REALTIME, abstime);
}

TG_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
                                      const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_mutex_clocklock(m, clock, abstime);
    struct lock_call c = lock_begin(t, __builtin_frame_address(0));
    int tried = tg_clock_ok(clock) && tg_timespec_ok(abstime)
                ? REAL(pthread_mutex_trylock)(m) : NOT_TRIED;
    return lock_finish(t, c, &mutex_kinds, m,
                       mutex_bits(m, true), tried, mutex_clocklock, clock, abstime);
}

TG_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_mutex_unlock(m);
    /* read before the unlock: afterwards another thread may free it */
    int kind = __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
    return release(t, __builtin_frame_address(0), TG_EV_MUTEX_REL, m, mutex_kind_bits(kind, false),
                   mutex_unlock, unlock_cannot_fail(kind));
}

/* ---- rwlocks ---- */

static int rw_rdlock(void *rw, clockid_t c, const struct timespec *ts)
{
    (void)c, (void)ts;
    return tg_pass_pthread_rwlock_rdlock(rw);
}

static int rw_wrlock(void *rw, clockid_t c, const struct timespec *ts)
{
    (void)c, (void)ts;
    return tg_pass_pthread_rwlock_wrlock(rw);
}

static int rw_timedrdlock(void *rw, clockid_t c, const struct timespec *ts)
{
    (void)c;
    return tg_pass_pthread_rwlock_timedrdlock(rw, ts);
}

static int rw_timedwrlock(void *rw, clockid_t c, const struct timespec *ts)
{
    (void)c;
    return tg_pass_pthread_rwlock_timedwrlock(rw, ts);
}

static int rw_clockrdlock(void *rw, clockid_t c, const struct timespec *ts)
{
    return tg_pass_pthread_rwlock_clockrdlock(rw, c, ts);
}

static int rw_clockwrlock(void *rw, clockid_t c, const struct timespec *ts)
{
    return tg_pass_pthread_rwlock_clockwrlock(rw, c, ts);
}

static int rw_unlock(void *rw)
{
    return tg_pass_pthread_rwlock_unlock(rw);
}

TG_EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_rwlock_init(rw, attr);
    int r = REAL(pthread_rwlock_init)(rw, attr);
    unsigned bits = r == 0 ? rwlock_bits(rw, false) : 0;
    record(t, __builtin_frame_address(0), TG_EV_RW_INIT, rw, tg_with_result(bits, r));
    if (r == 0)
        tg_sync(TG_EV_RW_INIT, TG_OBJ(rw), bits);
    return r;
}

TG_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_rwlock_destroy(rw);
    unsigned bits = rwlock_bits(rw, false);
    int r = REAL(pthread_rwlock_destroy)(rw);
    record(t, __builtin_frame_address(0), TG_EV_RW_DESTROY, rw, tg_with_result(bits, r));
    if (r == 0)
        tg_sync(TG_EV_RW_DESTROY, TG_OBJ(rw), bits);
    return r;
}

TG_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_rwlock_rdlock(rw);
    struct lock_call c = lock_begin(t, __builtin_frame_address(0));
    int tried = REAL(pthread_rwlock_tryrdlock)(rw);
    return lock_finish(t, c, &rd_kinds, rw,
                       rwlock_bits(rw, false), tried, rw_rdlock, 0, NULL);
}

TG_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_rwlock_wrlock(rw);
    struct lock_call c = lock_begin(t, __builtin_frame_address(0));
    int tried = REAL(pthread_rwlock_trywrlock)(rw);
    return lock_finish(t, c, &wr_kinds, rw,
                       rwlock_bits(rw, false), tried, rw_wrlock, 0, NULL);
}

static inline __attribute__((always_inline))
int rw_try(struct tg_thread *t, const void *frame, unsigned kind, pthread_rwlock_t *rw, int r)
{
    unsigned bits = rwlock_bits(rw, false);
    record(t, frame, kind, rw, tg_with_result(bits, r));
    if (r == 0)
        tg_sync(kind, TG_OBJ(rw), bits);
    return r;
}

TG_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_rwlock_tryrdlock(rw);
    return rw_try(t, __builtin_frame_address(0), TG_EV_RD_TRY, rw,
                  REAL(pthread_rwlock_tryrdlock)(rw));
}

TG_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_rwlock_trywrlock(rw);
    return rw_try(t, __builtin_frame_address(0), TG_EV_WR_TRY, rw,
                  REAL(pthread_rwlock_trywrlock)(rw));
}

TG_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *rw, const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_rwlock_timedrdlock(rw, abstime);
    struct lock_call c = lock_begin(t, __builtin_frame_address(0));
    int tried = tg_timespec_ok(abstime) ? REAL(pthread_rwlock_tryrdlock)(rw) : NOT_TRIED;
    return lock_finish(t, c, &rd_kinds, rw, rwlock_bits(rw, true),
                       tried, rw_timedrdlock, CLOCK_REALTIME, abstime);
}

TG_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *rw, const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_rwlock_timedwrlock(rw, abstime);
    struct lock_call c = lock_begin(t, __builtin_frame_address(0));
    int tried = tg_timespec_ok(abstime) ? REAL(pthread_rwlock_trywrlock)(rw) : NOT_TRIED;
    return lock_finish(t, c, &wr_kinds, rw, rwlock_bits(rw, true),
                       tried, rw_timedwrlock, CLOCK_REALTIME, abstime);
}

TG_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *rw, clockid_t clock,
                                         const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_rwlock_clockrdlock(rw, clock, abstime);
    struct lock_call c = lock_begin(t, __builtin_frame_address(0));
    int tried = tg_clock_ok(clock) && tg_timespec_ok(abstime)
                ? REAL(pthread_rwlock_tryrdlock)(rw) : NOT_TRIED;
    return lock_finish(t, c, &rd_kinds, rw, rwlock_bits(rw, true),
                       tried, rw_clockrdlock, clock, abstime);
}

TG_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *rw, clockid_t clock,
                                         const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_rwlock_clockwrlock(rw, clock, abstime);
    struct lock_call c = lock_begin(t, __builtin_frame_address(0));
    int tried = tg_clock_ok(clock) && tg_timespec_ok(abstime)
                ? REAL(pthread_rwlock_trywrlock)(rw) : NOT_TRIED;
    return lock_finish(t, c, &wr_kinds, rw, rwlock_bits(rw, true),
                       tried, rw_clockwrlock, clock, abstime);
}

TG_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_rwlock_unlock(rw);
    unsigned bits = rwlock_bits(rw, false);
    return release(t, __builtin_frame_address(0), TG_EV_RW_REL, rw, bits, rw_unlock, true);
}

/* ---- spinlocks: a pthread_spinlock_t is a bare int, nothing to read ---- */

static int spin_lock(void *s, clockid_t c, const struct timespec *ts)
{
    (void)c, (void)ts;
    return tg_pass_pthread_spin_lock(s);
}

static int spin_unlock(void *s)
{
    return tg_pass_pthread_spin_unlock((pthread_spinlock_t *)s);
}

TG_EXPORT int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_spin_init(s, pshared);
    int r = REAL(pthread_spin_init)(s, pshared);
    record(t, __builtin_frame_address(0), TG_EV_SPIN_INIT, (void *)s,
           tg_with_result(TG_ARG(0, pshared == PTHREAD_PROCESS_SHARED, 0, 0), r));
    if (r == 0)
        tg_sync(TG_EV_SPIN_INIT, TG_OBJ(s), 0);
    return r;
}

TG_EXPORT int pthread_spin_destroy(pthread_spinlock_t *s)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_spin_destroy(s);
    int r = REAL(pthread_spin_destroy)(s);
    record(t, __builtin_frame_address(0), TG_EV_SPIN_DESTROY, (void *)s, tg_with_result(0, r));
    if (r == 0)
        tg_sync(TG_EV_SPIN_DESTROY, TG_OBJ(s), 0);
    return r;
}

TG_EXPORT int pthread_spin_lock(pthread_spinlock_t *s)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_spin_lock(s);
    struct lock_call c = lock_begin(t, __builtin_frame_address(0));
    int tried = REAL(pthread_spin_trylock)(s);
    return lock_finish(t, c, &spin_kinds, (void *)s, 0, tried,
                       spin_lock, 0, NULL);
}

TG_EXPORT int pthread_spin_trylock(pthread_spinlock_t *s)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_spin_trylock(s);
    int r = REAL(pthread_spin_trylock)(s);
    record(t, __builtin_frame_address(0), TG_EV_SPIN_TRY, (void *)s, tg_with_result(0, r));
    if (r == 0)
        tg_sync(TG_EV_SPIN_TRY, TG_OBJ(s), 0);
    return r;
}

TG_EXPORT int pthread_spin_unlock(pthread_spinlock_t *s)
{
    struct tg_thread *t = tg_enter();
    if (TG_UNLIKELY(t == NULL))
        return tg_pass_pthread_spin_unlock(s);
    return release(t, __builtin_frame_address(0), TG_EV_SPIN_REL, (void *)s, 0, spin_unlock,
                   true);
}
