/* tracer/: condition variables, semaphores, barriers, once, sleeping.
 *
 * A wait records its start before the real call and its end after it, so
 * a thread blocked forever shows a start with no end. Semaphore waits try
 * first, like locks: SEM_REQ only when the thread has to wait.
 */
#include "tracer/internal.h"

/* ---- condition variables ---- */

static inline __attribute__((always_inline))
void cond_record(struct tg_thread *t, const void *frame, unsigned kind,
                 pthread_cond_t *c, unsigned arg)
{
    tg_busy(t);
    uint32_t stack = TG_STACK_AT(t, frame);
    tg_emit(t, kind, arg, TG_OBJ(c), stack, tg_now());
    tg_idle(t);
}

/* COND_WAIT (the mutex is about to be released) before the real wait,
 * COND_WOKE (the mutex is held again) after. */
static inline __attribute__((always_inline))
uint32_t cond_wait_begin(struct tg_thread *t, const void *frame, pthread_cond_t *c,
                         pthread_mutex_t *m, bool timed, uint64_t deadline)
{
    tg_sync(TG_EV_COND_WAIT, TG_OBJ(m), 0);
    tg_busy(t);
    uint32_t stack = TG_STACK_AT(t, frame);
    uint64_t tick = tg_tick_release(t, TG_OBJ(m), tg_now());
    tg_emit1(t, TG_EV_COND_WAIT, TG_ARG(0, 0, timed, 0), TG_OBJ(c), stack, tick,
             TG_OBJ(m), deadline);
    tg_idle(t);
    return stack;
}

static inline void cond_wait_end(struct tg_thread *t, uint32_t stack, pthread_cond_t *c,
                                 pthread_mutex_t *m, bool timed, int r)
{
    tg_busy(t);
    uint64_t tick = tg_tick_acquire(t, TG_OBJ(m), tg_now());
    tg_emit1(t, TG_EV_COND_WOKE, TG_ARG(0, 0, timed, tg_result(r)), TG_OBJ(c), stack,
             tick, TG_OBJ(m), 0);
    tg_idle(t);
    tg_sync(TG_EV_COND_WOKE, TG_OBJ(m), 0);
}

TG_EXPORT int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_cond_init(c, attr);
    int r = REAL(pthread_cond_init)(c, attr);
    cond_record(t, __builtin_frame_address(0), TG_EV_COND_INIT, c, tg_with_result(0, r));
    if (r == 0)
        tg_sync(TG_EV_COND_INIT, TG_OBJ(c), 0);
    return r;
}

TG_EXPORT int pthread_cond_destroy(pthread_cond_t *c)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_cond_destroy(c);
    int r = REAL(pthread_cond_destroy)(c);
    cond_record(t, __builtin_frame_address(0), TG_EV_COND_DESTROY, c, tg_with_result(0, r));
    if (r == 0)
        tg_sync(TG_EV_COND_DESTROY, TG_OBJ(c), 0);
    return r;
}

TG_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_cond_wait(c, m);
    uint32_t stack = cond_wait_begin(t, __builtin_frame_address(0), c, m, false, 0);
    int r = tg_pass_pthread_cond_wait(c, m);
    cond_wait_end(t, stack, c, m, false, r);
    return r;
}

TG_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_cond_timedwait(c, m, abstime);
    uint32_t stack = cond_wait_begin(t, __builtin_frame_address(0), c, m, true,
                                     tg_timespec_ns(abstime));
    int r = tg_pass_pthread_cond_timedwait(c, m, abstime);
    cond_wait_end(t, stack, c, m, true, r);
    return r;
}

TG_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                                     const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_cond_clockwait(c, m, clock, abstime);
    uint32_t stack = cond_wait_begin(t, __builtin_frame_address(0), c, m, true,
                                     tg_timespec_ns(abstime));
    int r = tg_pass_pthread_cond_clockwait(c, m, clock, abstime);
    cond_wait_end(t, stack, c, m, true, r);
    return r;
}

TG_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_cond_signal(c);
    cond_record(t, __builtin_frame_address(0), TG_EV_COND_SIGNAL, c, 0);
    return REAL(pthread_cond_signal)(c);
}

TG_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_cond_broadcast(c);
    cond_record(t, __builtin_frame_address(0), TG_EV_COND_BROADCAST, c, 0);
    return REAL(pthread_cond_broadcast)(c);
}

/* ---- semaphores: errors come back in errno ---- */

static inline __attribute__((always_inline))
void sem_record(struct tg_thread *t, const void *frame, unsigned kind, sem_t *s, unsigned arg)
{
    tg_busy(t);
    uint32_t stack = TG_STACK_AT(t, frame);
    uint64_t tick = tg_now();
    if (kind == TG_EV_SEM_TRY && TG_ARG_RESULT(arg) == TG_OK)
        tick = tg_tick_acquire(t, TG_OBJ(s), tick);
    tg_emit(t, kind, arg, TG_OBJ(s), stack, tick);
    tg_idle(t);
}

static inline int sem_err(int r)
{
    return r == 0 ? 0 : errno;
}

typedef int (*sem_block_fn)(sem_t *s, clockid_t clock, const struct timespec *abstime);

static int sem_block_wait(sem_t *s, clockid_t c, const struct timespec *ts)
{
    (void)c, (void)ts;
    return tg_pass_sem_wait(s);
}

static int sem_block_timedwait(sem_t *s, clockid_t c, const struct timespec *ts)
{
    (void)c;
    return tg_pass_sem_timedwait(s, ts);
}

static int sem_block_clockwait(sem_t *s, clockid_t c, const struct timespec *ts)
{
    return tg_pass_sem_clockwait(s, c, ts);
}

/* sem_wait and the timed waits are cancellation points even when they do
 * not block (glibc tests for cancellation first), so the try is preceded
 * by pthread_testcancel. A failed try leaves errno as the caller had it. */
static inline __attribute__((always_inline))
int sem_acquire(struct tg_thread *t, const void *frame, sem_t *s, bool try_first,
                bool timed, sem_block_fn block, clockid_t clock, const struct timespec *abstime)
{
    int saved = errno;
    int tried = -1, tried_err = 0;
    if (try_first) {
        pthread_testcancel();
        tried = REAL(sem_trywait)(s);
        tried_err = sem_err(tried);
    }
    unsigned bits = TG_ARG(0, 0, timed, 0);
    tg_busy(t);
    uint32_t stack = TG_STACK_AT(t, frame);
    if (tried == 0) {
        tg_emit(t, TG_EV_SEM_ACQ, bits, TG_OBJ(s), stack,
                tg_tick_acquire(t, TG_OBJ(s), tg_now()));
        tg_idle(t);
        tg_sync(TG_EV_SEM_ACQ, TG_OBJ(s), bits);
        return 0;
    }
    if (tried_err == EAGAIN)
        tg_emit(t, TG_EV_SEM_REQ, bits, TG_OBJ(s), stack, tg_now());
    tg_idle(t);
    errno = saved;
    int r = block(s, clock, abstime);
    int err = sem_err(r);
    tg_busy(t);
    uint64_t tick = tg_now();
    if (r == 0)
        tick = tg_tick_acquire(t, TG_OBJ(s), tick);
    tg_emit(t, r == 0 ? TG_EV_SEM_ACQ : TG_EV_SEM_FAIL, tg_with_result(bits, err), TG_OBJ(s),
            stack, tick);
    tg_idle(t);
    if (r == 0)
        tg_sync(TG_EV_SEM_ACQ, TG_OBJ(s), bits);
    return r;
}

TG_EXPORT int sem_init(sem_t *s, int pshared, unsigned int value)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_sem_init(s, pshared, value);
    int r = REAL(sem_init)(s, pshared, value);
    int err = sem_err(r);
    tg_busy(t);
    uint32_t stack = TG_STACK(t);
    tg_emit1(t, TG_EV_SEM_INIT, TG_ARG(0, pshared != 0, 0, tg_result(err)), TG_OBJ(s), stack,
             tg_now(), value, (uint64_t)(pshared != 0));
    tg_idle(t);
    if (r == 0)
        tg_sync(TG_EV_SEM_INIT, TG_OBJ(s), 0);
    return r;
}

TG_EXPORT int sem_destroy(sem_t *s)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_sem_destroy(s);
    int r = REAL(sem_destroy)(s);
    sem_record(t, __builtin_frame_address(0), TG_EV_SEM_DESTROY, s, tg_with_result(0, sem_err(r)));
    if (r == 0)
        tg_sync(TG_EV_SEM_DESTROY, TG_OBJ(s), 0);
    return r;
}

TG_EXPORT int sem_wait(sem_t *s)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_sem_wait(s);
    return sem_acquire(t, __builtin_frame_address(0), s, true, false, sem_block_wait, 0, NULL);
}

TG_EXPORT int sem_trywait(sem_t *s)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_sem_trywait(s);
    int r = REAL(sem_trywait)(s);
    sem_record(t, __builtin_frame_address(0), TG_EV_SEM_TRY, s, tg_with_result(0, sem_err(r)));
    if (r == 0)
        tg_sync(TG_EV_SEM_TRY, TG_OBJ(s), 0);
    return r;
}

TG_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_sem_timedwait(s, abstime);
    return sem_acquire(t, __builtin_frame_address(0), s, tg_timespec_ok(abstime), true,
                       sem_block_timedwait, CLOCK_REALTIME, abstime);
}

TG_EXPORT int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_sem_clockwait(s, clock, abstime);
    return sem_acquire(t, __builtin_frame_address(0), s,
                       tg_clock_ok(clock) && tg_timespec_ok(abstime), true,
                       sem_block_clockwait, clock, abstime);
}

/* Recorded with the time before the real post, so the waiter it wakes is
 * never seen acquiring before it was posted. */
TG_EXPORT int sem_post(sem_t *s)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_sem_post(s);
    tg_sync(TG_EV_SEM_POST, TG_OBJ(s), 0);
    tg_busy(t);
    uint32_t stack = TG_STACK(t);
    uint64_t tick = tg_tick_release(t, TG_OBJ(s), tg_now());
    int r = REAL(sem_post)(s);
    tg_emit(t, TG_EV_SEM_POST, tg_with_result(0, sem_err(r)), TG_OBJ(s), stack, tick);
    tg_idle(t);
    return r;
}

/* ---- barriers ---- */

TG_EXPORT int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr,
                                   unsigned int count)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_barrier_init(b, attr, count);
    int r = REAL(pthread_barrier_init)(b, attr, count);
    tg_busy(t);
    uint32_t stack = TG_STACK(t);
    tg_emit1(t, TG_EV_BARRIER_INIT, tg_with_result(0, r), TG_OBJ(b), stack, tg_now(), count, 0);
    tg_idle(t);
    if (r == 0)
        tg_sync(TG_EV_BARRIER_INIT, TG_OBJ(b), 0);
    return r;
}

TG_EXPORT int pthread_barrier_destroy(pthread_barrier_t *b)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_barrier_destroy(b);
    int r = REAL(pthread_barrier_destroy)(b);
    tg_busy(t);
    uint32_t stack = TG_STACK(t);
    tg_emit(t, TG_EV_BARRIER_DESTROY, tg_with_result(0, r), TG_OBJ(b), stack, tg_now());
    tg_idle(t);
    if (r == 0)
        tg_sync(TG_EV_BARRIER_DESTROY, TG_OBJ(b), 0);
    return r;
}

TG_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_barrier_wait(b);
    tg_sync(TG_EV_BARRIER_WAIT, TG_OBJ(b), 0);
    tg_busy(t);
    uint32_t stack = TG_STACK(t);
    tg_emit(t, TG_EV_BARRIER_WAIT, 0, TG_OBJ(b), stack, tg_now());
    tg_idle(t);
    int r = REAL(pthread_barrier_wait)(b);
    unsigned result = r == PTHREAD_BARRIER_SERIAL_THREAD ? TG_SERIAL : tg_result(r);
    tg_busy(t);
    tg_emit(t, TG_EV_BARRIER_DONE, TG_ARG(0, 0, 0, result), TG_OBJ(b), stack, tg_now());
    tg_idle(t);
    tg_sync(TG_EV_BARRIER_DONE, TG_OBJ(b), 0);
    return r;
}

/* ---- once ----
 * The init routine runs inside pthread_once on the calling thread, so it is
 * wrapped: the thread that runs it records ONCE_END with the time it
 * finished (before glibc lets any waiter go), which makes the earliest
 * ONCE_END of a once control the one that ran the routine. */

struct once_call {
    void (*init)(void);
    pthread_once_t *once;
    uint64_t done_tick;
};
static TG_TLS struct once_call *once_current;

/* Runs the user's routine; the release for the race runtime happens here,
 * before glibc marks the once done and lets the waiters go. */
static void once_trampoline(void)
{
    struct once_call *call = once_current;
    call->init();
    call->done_tick = tg_now();
    tg_sync(TG_EV_ONCE_BEGIN, TG_OBJ(call->once), 0);
}

TG_EXPORT int pthread_once(pthread_once_t *once, void (*init)(void))
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_once(once, init);
    tg_busy(t);
    uint32_t stack = TG_STACK(t);
    tg_emit(t, TG_EV_ONCE_BEGIN, 0, TG_OBJ(once), stack, tg_now());
    tg_idle(t);
    struct once_call call = { init, once, 0 };
    struct once_call *outer = once_current;   /* pthread_once inside an init routine */
    once_current = &call;
    int r = REAL(pthread_once)(once, once_trampoline);
    once_current = outer;
    tg_busy(t);
    tg_emit(t, TG_EV_ONCE_END, tg_with_result(0, r), TG_OBJ(once), stack,
            call.done_tick ? call.done_tick : tg_now());
    tg_idle(t);
    tg_sync(TG_EV_ONCE_END, TG_OBJ(once), 0);
    return r;
}

/* ---- sleeping ---- */

static inline __attribute__((always_inline))
uint32_t sleep_begin(struct tg_thread *t, const void *frame, uint64_t ns)
{
    tg_busy(t);
    uint32_t stack = TG_STACK_AT(t, frame);
    tg_emit1(t, TG_EV_SLEEP_BEGIN, 0, 0, stack, tg_now(), ns, 0);
    tg_idle(t);
    return stack;
}

static inline void sleep_end(struct tg_thread *t, uint32_t stack, int err)
{
    tg_busy(t);
    tg_emit(t, TG_EV_SLEEP_END, tg_with_result(0, err), 0, stack, tg_now());
    tg_idle(t);
}

TG_EXPORT unsigned int sleep(unsigned int seconds)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_sleep(seconds);
    uint32_t stack = sleep_begin(t, __builtin_frame_address(0), (uint64_t)seconds * 1000000000u);
    unsigned int left = REAL(sleep)(seconds);
    sleep_end(t, stack, left ? EINTR : 0);
    return left;
}

TG_EXPORT int usleep(useconds_t usec)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_usleep(usec);
    uint32_t stack = sleep_begin(t, __builtin_frame_address(0), (uint64_t)usec * 1000u);
    int r = REAL(usleep)(usec);
    sleep_end(t, stack, r == 0 ? 0 : errno);
    return r;
}

TG_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_nanosleep(req, rem);
    uint32_t stack = sleep_begin(t, __builtin_frame_address(0), tg_timespec_ns(req));
    int r = REAL(nanosleep)(req, rem);
    sleep_end(t, stack, r == 0 ? 0 : errno);
    return r;
}

TG_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
                              struct timespec *rem)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_clock_nanosleep(clock, flags, req, rem);
    uint64_t ns = tg_timespec_ns(req);
    if ((flags & TIMER_ABSTIME) && req != NULL) {
        /* an absolute deadline: record how long that is from now */
        struct timespec now;
        int saved = errno;
        uint64_t now_ns = clock_gettime(clock, &now) == 0 ? tg_timespec_ns(&now) : ns;
        errno = saved;
        ns = ns > now_ns ? ns - now_ns : 0;
    }
    uint32_t stack = sleep_begin(t, __builtin_frame_address(0), ns);
    int r = REAL(clock_nanosleep)(clock, flags, req, rem);
    sleep_end(t, stack, r);
    return r;
}
