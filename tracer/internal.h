/* tracer/: what the files of libtangle.so share. Not an interface: other
 * folders include tracer/tracer.h.
 *
 * The hot path of a hook, in order: tg_enter() (is this thread traced and
 * not already inside tangle?), the real call, then between tg_busy() and
 * tg_idle() a timestamp, a stack id and one record. Nothing on it allocates,
 * locks, makes a system call or touches errno; the slow paths that might
 * (a new chunk, a new stack) save and restore errno themselves.
 */
#ifndef TG_TRACER_INTERNAL_H
#define TG_TRACER_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "trace/writer.h"
#include "tracer/tracer.h"

#define TG_EXPORT  __attribute__((visibility("default")))
#define TG_HIDDEN  __attribute__((visibility("hidden")))
#define TG_LIKELY(x)   __builtin_expect(!!(x), 1)
#define TG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TG_TLS     __thread __attribute__((tls_model("initial-exec")))

/* ---- the real functions (resolve.c) ---- */
enum tg_hook_id {
#define TG_HOOK(name, ret, params, args, version) TG_HOOK_ID_##name,
#define TG_HOOK_VOID(name, params, args, version) TG_HOOK_ID_##name,
#define TG_HOOK_VARARGS(name, ret, params, version) TG_HOOK_ID_##name,
#include "tracer/hooks.def"
    TG_HOOK_COUNT
};

#define TG_HOOK(name, ret, params, args, version) \
    extern TG_HIDDEN ret (*tg_real_##name) params;
#define TG_HOOK_VOID(name, params, args, version) \
    extern TG_HIDDEN void (*tg_real_##name) params;
#define TG_HOOK_VARARGS(name, ret, params, version) \
    extern TG_HIDDEN ret (*tg_real_##name) params;
#include "tracer/hooks.def"

/* Resolves one real function (lazily, for calls that arrive before the
 * constructor ran); NULL if it cannot be found or the thread is already
 * inside dlsym. */
TG_HIDDEN void *tg_resolve(enum tg_hook_id id);
/* Resolves them all; returns how many could not be found. */
TG_HIDDEN int tg_resolve_all(void);

#define REAL(name) \
    (TG_LIKELY(tg_real_##name != NULL) ? tg_real_##name \
     : (__typeof__(tg_real_##name))tg_resolve(TG_HOOK_ID_##name))

/* Pass-through: the real call, for threads not traced. A function that
 * cannot be resolved fails with ENOSYS rather than crash the program. */
#define TG_HOOK(name, ret, params, args, version) \
    static inline ret tg_pass_##name params \
    { \
        __typeof__(tg_real_##name) fn = REAL(name); \
        if (TG_UNLIKELY(fn == NULL)) { errno = ENOSYS; return (ret)-1; } \
        return fn args; \
    }
#define TG_HOOK_VOID(name, params, args, version) \
    static inline void tg_pass_##name params \
    { \
        __typeof__(tg_real_##name) fn = REAL(name); \
        if (TG_LIKELY(fn != NULL)) \
            fn args; \
    }
#include "tracer/hooks.def"

/* ---- per-thread state ---- */
#define TG_STACK_CACHE_BITS 8u
#define TG_STACK_CACHE (1u << TG_STACK_CACHE_BITS)   /* per-thread direct-mapped cache */
#define TG_MAX_DEPTH   64u

enum tg_thread_state {
    TG_T_NEW = 0,       /* not seen yet: adopted on its first hook */
    TG_T_TRACED,        /* has a stream */
    TG_T_DONE,          /* THREAD_EXIT written, or tracing off */
    TG_T_LAST,          /* the last traced thread ended: its stream stays
                           open for the PROCESS_EXIT that follows */
};

struct tg_stack_slot { uint64_t key; uint32_t id; uint32_t pad; };

struct tg_thread {
    uint8_t state;              /* enum tg_thread_state */
    uint8_t busy;               /* inside tangle: hooks pass through */
    uint8_t exiting;            /* THREAD_EXIT already written */
    uint32_t index;             /* thread index in the trace */
    /* the frame-pointer walk reads frames at [stack_lo, stack_top]: both
     * of a frame's words inside the stack (0, 0: bounds unknown, no walk) */
    uintptr_t stack_lo, stack_top;
    uint64_t last_tick;         /* newest tick written: a stream never goes back */
    struct tg_stream stream;
    struct tg_stack_slot cache[TG_STACK_CACHE];
};

extern TG_HIDDEN TG_TLS struct tg_thread tg_self;

/* ---- process-wide state (runtime.c) ---- */
enum tg_run_state { TG_RUN_OFF = 0, TG_RUN_TRACING = 1 };

struct tg_global {
    int state;                  /* enum tg_run_state, read by every hook */
    uint32_t clock;             /* the writer's clock, for tg_tick */
    unsigned depth;             /* TANGLE_STACK_DEPTH */
    bool verbose;               /* TANGLE_VERBOSE: say why tracing is off */
    bool prefault;              /* TANGLE_PREFAULT: populate chunks ahead */
    bool no_records;            /* tg_tracer_no_trace(): lock hooks only
                                   notify the race runtime */
    pid_t pid;                  /* to tell a vfork child from us */
    uintptr_t text_lo, text_hi; /* libtangle.so's code: frames to skip */
    uint64_t failures;          /* things tangle could not do (counted) */
    struct tg_writer w;
    tg_tracer_sync_fn sync;     /* race runtime's happens-before hook */
};
extern TG_HIDDEN struct tg_global tg_g;

/* A thread's first hook when it was not created through pthread_create
 * (threads from before init, or made by libc internally): gives it a stream.
 * Returns NULL if the thread cannot or must not be traced now. */
TG_HIDDEN struct tg_thread *tg_enter_slow(struct tg_thread *t);

static inline struct tg_thread *tg_enter(void)
{
    struct tg_thread *t = &tg_self;
    /* busy is loaded on its own: compilers merge the two byte tests into
     * one 16-bit load, which cannot take its value from the byte store
     * of the previous hook's tg_idle still in the store buffer and waits
     * for it (a store-forwarding stall: a third of an unlock hook's time) */
    if (TG_LIKELY(t->state == TG_T_TRACED && !__atomic_load_n(&t->busy, __ATOMIC_RELAXED)))
        return t;
    return tg_enter_slow(t);
}

/* The busy flag keeps a signal handler (or a function tangle itself calls)
 * from writing into the stream while a record is half made. */
static inline void tg_busy(struct tg_thread *t)
{
    t->busy = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void tg_idle(struct tg_thread *t)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->busy = 0;
}

/* Thread setup and teardown (runtime.c). */
TG_HIDDEN void tg_thread_begin(struct tg_thread *t, uint32_t index, uint32_t parent,
                               uint64_t start_routine, uint32_t create_stack);
TG_HIDDEN void tg_thread_end(struct tg_thread *t, void *retval);
/* In a fork child: the forking thread is the only one left. */
TG_HIDDEN void tg_threads_after_fork(void);

/* The fork gate (runtime.c): held shared around the writer's slow paths
 * and libunwind, exclusively by fork. */
TG_HIDDEN void tg_gate_enter(void);
TG_HIDDEN void tg_gate_leave(void);
TG_HIDDEN void tg_gate_fork_begin(void);
TG_HIDDEN void tg_gate_fork_end(bool child);
TG_HIDDEN void tg_process_exit(int wait_status, unsigned how);
TG_HIDDEN void tg_failure(const char *what, int err);

/* The prefault helper (prefault.c): told of each chunk this process
 * claims (NEXT: a stream's next chunk, not its first); forgotten in a fork
 * child. */
TG_HIDDEN void tg_prefault_claimed(bool next);
TG_HIDDEN void tg_prefault_after_fork(void);
/* Ends the helper and waits for it: called when the program's last thread
 * ends, so that glibc sees no thread left and ends the process. */
TG_HIDDEN void tg_prefault_stop(void);

/* ---- records ---- */
static inline uint64_t tg_now(void)
{
    return tg_tick(tg_g.clock);
}

TG_HIDDEN struct tg_record *tg_reserve_slow(struct tg_thread *t, unsigned nslots,
                                            uint64_t tick);

/* ---- causal ticks ----
 * A lock hand-off between CPUs does not order the two threads' clock reads
 * the way the lock ordered the threads: measured here, a whole critical
 * section of T2 (ACQ..REL, ~10 ns) came out timed inside T1's, a few tens
 * of ns of TSC skew / early reads. The reader merges by tick, so that
 * would show two owners at once. A Lamport floor per sync object fixes it
 * at the source: a release stores its tick in the object's slot before the
 * real release; an acquisition takes max(now, floor + 1). The slot is read
 * after the real acquisition, whose acquire order makes the releaser's
 * store visible. Slots are a hash of the address (a collision only nudges
 * a tick forward by the other object's floor, which is a recent tick). */
#define TG_FLOOR_SLOTS 1024
struct tg_floor_slot { uint64_t tick; uint8_t pad[56]; };
extern TG_HIDDEN struct tg_floor_slot tg_floor[TG_FLOOR_SLOTS];

static inline struct tg_floor_slot *tg_floor_of(uint64_t obj)
{
    return &tg_floor[((obj >> 3) * 0x9e3779b97f4a7c15ull) >> 54];
}

/* The thread's next tick: never before its previous one. */
static inline uint64_t tg_mono(struct tg_thread *t, uint64_t tick)
{
    if (TG_UNLIKELY(tick < t->last_tick))
        tick = t->last_tick;
    t->last_tick = tick;
    return tick;
}

/* Tick of a release of OBJ, to be taken before the real release. */
static inline uint64_t tg_tick_release(struct tg_thread *t, uint64_t obj, uint64_t tick)
{
    tick = tg_mono(t, tick);
    struct tg_floor_slot *f = tg_floor_of(obj);
    if (tick > __atomic_load_n(&f->tick, __ATOMIC_RELAXED))
        __atomic_store_n(&f->tick, tick, __ATOMIC_RELAXED);
    return tick;
}

/* Tick of an acquisition of OBJ, taken after the real acquisition. Not
 * made monotonic here: it always goes to tg_emit or tg_emit1, which do. */
static inline uint64_t tg_tick_acquire(struct tg_thread *t, uint64_t obj, uint64_t tick)
{
    (void)t;
    uint64_t floor = __atomic_load_n(&tg_floor_of(obj)->tick, __ATOMIC_RELAXED);
    return TG_UNLIKELY(tick <= floor) ? floor + 1 : tick;
}

#define TG_PREFETCH_AHEAD 512     /* bytes: 8 cache lines ahead */

/* The writer's inline reserve, with its slow path moved behind an errno
 * save (claiming a chunk may make system calls). */
static inline struct tg_record *tg_reserve(struct tg_thread *t, unsigned nslots,
                                           uint64_t tick)
{
    struct tg_record *r = tg_stream_reserve_fast(&t->stream, nslots, tick);
    return TG_LIKELY(r != NULL) ? r : tg_reserve_slow(t, nslots, tick);
}

#define TG_OBJ(p) ((uint64_t)(uintptr_t)(p))

/* A full record remembered in SLOT (tg_emit's rare case, out of line). */
TG_HIDDEN void tg_emit_full(struct tg_thread *t, unsigned kind, unsigned arg, uint64_t obj,
                            uint32_t stack, uint64_t tick, uint64_t key, unsigned slot);

/* One record, no payload: a 2- or 4-byte short record when it repeats one
 * the chunk remembers (the common case in a loop), a full one otherwise. */
static inline __attribute__((always_inline))
void tg_emit(struct tg_thread *t, unsigned kind, unsigned arg,
                           uint64_t obj, uint32_t stack, uint64_t tick)
{
    struct tg_stream *s = &t->stream;
    tick = tg_mono(t, tick);
    uint64_t key = tg_dict_key(kind, arg, obj);
    unsigned slot;
    if (TG_LIKELY(tg_stream_emit_short(s, key, stack, tick, &slot))) {
        /* the chunk's lines are cold (populated, never read): ask for the
         * ones the next records will need now, so the stores do not wait */
        __builtin_prefetch(s->pos + TG_PREFETCH_AHEAD, 1, 3);
        return;
    }
    tg_emit_full(t, kind, arg, obj, stack, tick, key, slot);
}

static inline void tg_emit1(struct tg_thread *t, unsigned kind, unsigned arg,
                            uint64_t obj, uint32_t stack, uint64_t tick,
                            uint64_t a, uint64_t b)
{
    struct tg_record *r = tg_reserve(t, 1, tg_mono(t, tick));
    if (TG_UNLIKELY(r == NULL))
        return;
    tg_record_fill(r, kind, arg, obj, stack);
    struct tg_slot p = { a, b };
    memcpy(r + 1, &p, sizeof p);
    tg_stream_commit(&t->stream);
}

TG_HIDDEN void tg_emit_var(struct tg_thread *t, unsigned kind, uint64_t obj,
                           uint32_t stack, uint64_t tick, const void *data,
                           size_t len);

/* An error number as the trace encodes it. */
static inline unsigned tg_result(int err)
{
    switch (err) {
    case 0:               return TG_OK;
    case EBUSY:           return TG_BUSY;
    case ETIMEDOUT:       return TG_TIMEDOUT;
    case EDEADLK:         return TG_DEADLK;
    case EPERM:           return TG_PERM;
    case EINVAL:          return TG_INVAL;
    case EAGAIN:          return TG_AGAIN;
    case EOWNERDEAD:      return TG_OWNERDEAD;
    case ENOTRECOVERABLE: return TG_NOTRECOVERABLE;
    case EINTR:           return TG_INTR;
    case ENOMEM:          return TG_NOMEM;
    case ESRCH:           return TG_SRCH;
    default:              return TG_RESULT_OTHER;
    }
}

/* An arg byte (TG_ARG bits without a result) with the result of R added. */
static inline unsigned tg_with_result(unsigned bits, int r)
{
    return bits | (tg_result(r) << 4);
}

/* The race runtime's happens-before hook, if it registered one. Release
 * kinds are reported before the real call, acquire kinds after it. */
static inline void tg_sync(unsigned kind, uint64_t obj, unsigned arg)
{
    tg_tracer_sync_fn fn = tg_g.sync;
    if (TG_UNLIKELY(fn != NULL))
        fn(kind, obj, arg);
}

/* Deadline checks glibc makes before trying to take the object: a timed
 * call with a bad clock or timespec fails with EINVAL even when the object
 * is free, so the hooks must not take it with a try call first. */
static inline bool tg_clock_ok(clockid_t clock)
{
    return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

static inline bool tg_timespec_ok(const struct timespec *ts)
{
    return ts != NULL && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

static inline uint64_t tg_timespec_ns(const struct timespec *ts)
{
    if (ts == NULL || ts->tv_sec < 0)
        return 0;
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* ---- stacks (stack.c) ---- */

/* Key of the return-address chain above FRAME (a hook's own frame), walked
 * through saved frame pointers while they stay inside the thread's stack
 * and grow upwards. The walk is a chain of dependent loads (each frame's
 * address comes from the previous one), so everything else is kept off
 * that chain: each return address is multiplied on its own and folded in
 * by a rotate and an xor. Every return address of the walk is in the key:
 * a hit in the per-thread cache is exact, not a guess from a prefix.
 *
 * The hooks are bound by how many instructions they issue (rdtsc is
 * microcoded here and stalls the front end), so the walk is as short as
 * it can be: no alignment test (an unaligned frame inside the stack reads
 * fine, and garbage ends at the bounds or the depth), two compares against
 * precomputed bounds, and no final mixing: the key's top bits, which the
 * cache indexes by, are already mixed by the multiplies (the process-wide
 * tables mix the key themselves, on the slow path). */
static inline uint64_t tg_stack_key(const struct tg_thread *t, const void *frame)
{
    uintptr_t fp = (uintptr_t)frame;
    uintptr_t top = t->stack_top;
    uint64_t h = 0;
    unsigned left = tg_g.depth;
    if (TG_LIKELY(left > 0 && fp >= t->stack_lo && fp <= top)) {
        for (;;) {
            const uintptr_t *f = (const uintptr_t *)fp;
            h = ((h << 7) | (h >> 57)) ^ ((uint64_t)f[1] * 0xff51afd7ed558ccdull);
            uintptr_t next = f[0];
            /* the next frame is above this one and inside the stack */
            if (next <= fp || next > top || --left == 0)
                break;
            fp = next;
        }
    }
    return h | 1;               /* 0 marks an empty slot */
}

TG_HIDDEN uint32_t tg_stack_miss(struct tg_thread *t, uint64_t key);

/* A key's slot in the thread's cache: its top bits, the best mixed. */
static inline struct tg_stack_slot *tg_stack_slot_of(struct tg_thread *t, uint64_t key)
{
    return &t->cache[key >> (64 - TG_STACK_CACHE_BITS)];
}

static inline uint32_t tg_stack_lookup(struct tg_thread *t, uint64_t key)
{
    struct tg_stack_slot *slot = tg_stack_slot_of(t, key);
    if (TG_LIKELY(slot->key == key))
        return slot->id;
    return tg_stack_miss(t, key);
}

/* The stack id of the caller of the hook whose frame is FRAME (the hook's
 * __builtin_frame_address(0)); call it between tg_busy and tg_idle. */
#define TG_STACK_AT(t, frame) tg_stack_lookup((t), tg_stack_key((t), (frame)))
#define TG_STACK(t) TG_STACK_AT((t), __builtin_frame_address(0))

TG_HIDDEN int tg_stack_init(void);
/* Bounds of the calling thread's stack for the frame-pointer walk. */
TG_HIDDEN void tg_stack_bounds(struct tg_thread *t);

#endif
