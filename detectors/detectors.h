/* detectors/: pure analyses over a trace's event stream (docs/detectors.md).
 *
 * Feed events (struct tg_ev from trace/trace.h) one at a time, in time
 * order, to a tg_analysis: it keeps a lock graph (potential deadlocks), a
 * wait-for graph (real deadlocks), checks pthread misuse, and produces
 * findings as plain data: thread indexes, stack ids, object addresses, never
 * strings that need symbols. Renderers name things afterwards.
 *
 *   live:    tg_analysis_feed() per event, tg_analysis_tick(now) >= 10 times
 *            a second with tg_trace_now(); tg_analysis_deadlocked() says when
 *            to end the program; after the trace is drained, finish().
 *   offline: tg_analysis_feed() per event, then tg_analysis_finish().
 * Both give the same findings for the same events (docs/detectors.md,
 * "Live and offline").
 *
 * Functions return 0 or -errno (only -ENOMEM, -EINVAL); nothing prints.
 */
#ifndef TG_DETECTORS_H
#define TG_DETECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/trace.h"

/* ---------------------------------------------------------------- findings */

enum tg_finding_kind {
    TG_FIND_DEADLOCK = 0,       /* it really happened: enum tg_deadlock_form */
    TG_FIND_LOCK_ORDER,         /* a cycle in the lock graph (potential deadlock) */
    TG_FIND_MISUSE,             /* enum tg_misuse */
    TG_FIND_RACE,               /* reserved for detectors/race (sub: its own enum) */
    TG_FIND_KIND_COUNT
};

enum tg_deadlock_form {
    TG_DEADLOCK_CYCLE = 0,      /* threads in untimed lock calls / joins wait for each other */
    TG_DEADLOCK_SELF,           /* a thread relocks a non-recursive lock it holds */
    TG_DEADLOCK_ALL_BLOCKED,    /* every live thread of the process is blocked */
    TG_DEADLOCK_LOST_WAKEUP,    /* ALL_BLOCKED, and a waited condition was signalled with no waiter */
    TG_DEADLOCK_FORM_COUNT
};

enum tg_misuse {
    TG_MISUSE_UNLOCK_NOT_HELD = 0,  /* unlock of a lock no thread holds */
    TG_MISUSE_UNLOCK_OTHER,         /* unlock of a lock another thread holds */
    TG_MISUSE_DESTROY_LOCKED,       /* mutex / rwlock / spinlock destroyed while held */
    TG_MISUSE_DESTROY_WAITERS,      /* lock, condition, semaphore, barrier destroyed with waiters */
    TG_MISUSE_EXIT_HOLDING,         /* a thread ended holding locks */
    TG_MISUSE_COND_NOT_HELD,        /* condition wait with a mutex the thread does not hold */
    TG_MISUSE_COND_TWO_MUTEXES,     /* two mutexes used with one condition at the same time */
    TG_MISUSE_RELOCK_TIMED,         /* timed lock of a non-recursive lock the thread holds */
    TG_MISUSE_ERROR_RETURN,         /* a pthread call returned an unexpected error code */
    TG_MISUSE_COUNT
};

/* What an object in a finding is. */
enum tg_obj_kind {
    TG_OBJ_MUTEX = 0,
    TG_OBJ_RWLOCK,
    TG_OBJ_SPIN,
    TG_OBJ_COND,
    TG_OBJ_SEM,
    TG_OBJ_BARRIER,
    TG_OBJ_THREAD,              /* join targets and detach: addr = pthread_t */
    TG_OBJ_MEMORY,              /* races: a variable or heap range */
    TG_OBJ_OTHER,               /* pthread_once control, ... */
    TG_OBJ_KIND_COUNT
};

/* How a lock is (to be) held. Mutexes and spinlocks are EXCL. */
enum tg_lock_mode { TG_MODE_NONE = 0, TG_MODE_EXCL, TG_MODE_READ, TG_MODE_WRITE };

/* What a thread is doing in a call that may block. */
enum tg_wait {
    TG_WAIT_NONE = 0,
    TG_WAIT_LOCK,               /* mutex, rwlock, spinlock */
    TG_WAIT_COND,
    TG_WAIT_SEM,
    TG_WAIT_BARRIER,
    TG_WAIT_JOIN,
    TG_WAIT_SLEEP,
};

/* An object a finding refers to. Identity is (process, addr, generation):
 * a destroyed or re-initialised address is a new object. */
struct tg_obj_ref {
    uint32_t process;
    uint8_t  kind;              /* enum tg_obj_kind */
    uint8_t  mtype;             /* enum tg_mutex_type (mutexes) */
    bool     pshared;
    bool     site_is_init;      /* site_stack is its init call, else its first use */
    uint64_t addr;
    uint32_t generation;        /* 0, 1, ...: how many times the address was (re)initialised before */
    uint32_t site_stack;        /* stack id of the init call or first use, 0 = none */
    uint32_t site_thread;
    uint64_t site_ts;
};

/* A lock held by a thread, as part of a step. */
struct tg_held_ref {
    uint32_t obj;               /* index into tg_finding.objs */
    uint8_t  mode;              /* enum tg_lock_mode */
    uint32_t stack;             /* where it was acquired */
    uint64_t ts;
};

enum tg_step_role {
    TG_ROLE_EDGE = 0,           /* lock-order: holding `held`, blocked-call for `obj` */
    TG_ROLE_WAITS,              /* deadlock: the thread is blocked in `wait` on obj / other_thread */
    TG_ROLE_SIGNAL,             /* lost wakeup: a signal/broadcast on obj no thread was waiting for */
    TG_ROLE_CALL,               /* misuse: the offending call */
    TG_ROLE_OWNER,              /* misuse: the thread that holds / waits on the object */
    TG_ROLE_ACCESS,             /* race: one of the two accesses */
};

#define TG_NO_OBJ UINT32_MAX

/* One thread's part in a finding. Unused fields are TG_NO_OBJ /
 * TG_NO_THREAD / 0. */
struct tg_step {
    uint8_t  role;              /* enum tg_step_role */
    uint8_t  wait;              /* enum tg_wait (WAITS; EDGE: LOCK) */
    uint8_t  mode;              /* enum tg_lock_mode of the request on obj */
    uint8_t  result;            /* enum tg_result of the call (CALL) */
    uint16_t event;             /* enum tg_event_kind of the call / request */
    uint32_t thread;
    uint32_t other_thread;      /* join target, lock holder, ... */
    uint32_t obj;               /* the object requested / acted on: index into objs */
    uint32_t stack;             /* stack of the request, call or access */
    uint64_t ts;                /* when it started */
    struct tg_held_ref held;    /* EDGE: the lock held (the edge's source); WAITS in a
                                 * cycle: the lock the previous step waits for */
    uint32_t nothers;           /* the other locks the thread held (gates) */
    const struct tg_held_ref *others;
    /* ACCESS (races) */
    uint64_t pc, addr;
    uint32_t size;
    uint8_t  access;            /* bit 0 write, bit 1 atomic */
};

/* The memory a race is on (kind == TG_FIND_RACE). */
struct tg_finding_mem {
    uint64_t addr;
    uint32_t size;
    bool     heap;
    uint64_t heap_block, heap_size;
    uint32_t heap_stack, heap_thread;
};

/* A finding (docs/detectors.md, "The findings as data"). Steps come in the
 * order a report shows them: a cycle from a canonical position (the same
 * whichever thread closed it), ALL_BLOCKED one step per live thread in
 * thread order. Steps refer to objects by index into objs. For lock-order
 * findings objs[i] is the lock steps[i] holds, and steps[i] requests
 * objs[(i+1) % nsteps]. */
struct tg_finding {
    uint8_t  kind;              /* enum tg_finding_kind */
    uint8_t  sub;               /* tg_deadlock_form / tg_misuse / race's own */
    uint32_t process;
    uint64_t ts;                /* event time it happened (deadlock: when it formed) */
    uint64_t key;               /* dedup key: kind + sub + objects + code locations */
    uint32_t count;             /* times it was seen (same key) */
    uint32_t nobjs;
    const struct tg_obj_ref *objs;
    uint32_t nsteps;
    const struct tg_step *steps;
    uint32_t nthreads;          /* distinct threads involved, first-appearance order */
    const uint32_t *threads;
    struct tg_finding_mem mem;
};

const char *tg_finding_kind_name(unsigned kind);          /* "deadlock", "lock-order", ... */
const char *tg_finding_sub_name(unsigned kind, unsigned sub); /* "cycle", "unlock-not-held", ... */
const char *tg_obj_kind_name(unsigned kind);              /* "mutex", "rwlock", ... */

/* ---------------------------------------------------------------- analysis */

/* Optional: how objects and stacks are identified in dedup keys. Without
 * them a stack is its id and an object its (process, address). With them
 * (e.g. a hash of a stack's frames and of an object's report name) the same
 * bug found through different stack ids or heap addresses is one finding.
 * Must be pure functions of their arguments, and the same for every reader
 * of one trace (tangle run, report and view do not pass any yet). */
struct tg_analysis_keys {
    void *ctx;
    uint64_t (*stack)(void *ctx, uint32_t stack_id);
    uint64_t (*object)(void *ctx, const struct tg_obj_ref *obj);
};

#define TG_SETTLE_NS_DEFAULT 200000000ull   /* 200 ms: 4x the reader's follow grace */

struct tg_analysis_config {
    uint64_t settle_ns;         /* 0: TG_SETTLE_NS_DEFAULT */
    /* true: do not run detectors/race (its happens-before state costs about
     * as much as the deadlock detectors); for a trace known to have neither
     * RACE nor WATCH_ACCESS events (features without TG_FEAT_RACES and
     * TG_FEAT_WATCH once the trace is finished) */
    bool     skip_races;
    /* true: no WATCH_ACCESS event will come (`tangle run` without --watch,
     * a trace whose features lack TG_FEAT_WATCH), so the happens-before
     * state that only --watch accesses are checked against is not kept:
     * about half the cost of a lock event. RACE events (tangle cc builds)
     * are still reported; a WATCH_ACCESS event is ignored. */
    bool     skip_watch;
    struct tg_analysis_keys keys;
    /* called once per new finding (not for repeats), inside feed/tick/finish;
     * a lock-order finding announced here may later be folded into a
     * deadlock over the same locks (tg_analysis_findings leaves it out) */
    void (*on_finding)(void *ctx, const struct tg_finding *f);
    void *on_finding_ctx;
};

struct tg_analysis;

/* cfg may be NULL for the defaults. */
int tg_analysis_new(const struct tg_analysis_config *cfg, struct tg_analysis **out);
void tg_analysis_free(struct tg_analysis *a);

/* One event, in time order. -ENOMEM leaves the analysis usable but
 * incomplete. Events of kinds it does not use are ignored. */
int tg_analysis_feed(struct tg_analysis *a, const struct tg_ev *ev);

/* Live: the trace clock is at NOW_NS. Confirms real deadlocks that have
 * held for the settle time. Returns the number of new deadlock findings. */
int tg_analysis_tick(struct tg_analysis *a, uint64_t now_ns);

/* Whether a confirmed real deadlock is still in progress in PROCESS (the
 * CLI ends the program). tg_analysis_deadlocked_any returns the lowest such
 * process index, or TG_NO_THREAD. */
bool tg_analysis_deadlocked(const struct tg_analysis *a, uint32_t process);
uint32_t tg_analysis_deadlocked_any(const struct tg_analysis *a);

/* The end of the events: a deadlock still in place is confirmed whatever
 * its duration (the trace ended with those threads blocked). Call once,
 * after the last feed. */
int tg_analysis_finish(struct tg_analysis *a);

/* The findings in their stable order (time, kind, sub, key), lock-order
 * findings whose cycle really deadlocked left out (the deadlock finding
 * says it). The array is valid until the next call that changes the
 * analysis; the findings themselves until tg_analysis_free. */
size_t tg_analysis_findings(struct tg_analysis *a, const struct tg_finding *const **out);
/* The findings' report order (time, kind, sub-kind, dedup key), as a qsort
 * comparator over an array of `const struct tg_finding *`. */
int tg_finding_cmp(const void *a, const void *b);

/* Adds a finding made elsewhere (detectors/race): arrays are copied; key 0
 * means "compute it" from kind, sub, objects and steps' code locations.
 * Returns 1 if new, 0 if it was a repeat (count incremented), -ENOMEM. */
int tg_analysis_add(struct tg_analysis *a, const struct tg_finding *f);

struct tg_analysis_counters {
    uint64_t events;            /* fed */
    uint64_t lost;              /* events the tracer reported lost (LOST records) */
    uint32_t objects, threads, processes;
    uint32_t edges;             /* lock graph edges */
    uint64_t labels;            /* distinct (thread, held set) labels kept on edges */
    uint64_t cycle_checks;      /* lock graph searches run */
    uint64_t labels_dropped;    /* labels not kept (edge full) */
};
void tg_analysis_counters(const struct tg_analysis *a, struct tg_analysis_counters *out);

/* ---------------------------------------------------------------- contention */

/* Per-lock and per-thread timing for `tangle stats`; independent of
 * tg_analysis (feed it the same events). */
struct tg_lock_stats {
    uint32_t process;
    uint8_t  kind;              /* TG_OBJ_MUTEX / RWLOCK / SPIN / SEM (no holds, no owner changes) */
    uint8_t  mtype;
    uint64_t addr;
    uint32_t generation;
    uint32_t site_stack;
    bool     site_is_init;
    uint64_t acquisitions;      /* blocking acquisitions + successful trylocks */
    uint64_t contended;         /* acquisitions that had to wait (REQ before ACQ) */
    uint64_t failed;            /* timed out or errors */
    uint64_t total_wait_ns, max_wait_ns;
    uint64_t total_hold_ns, max_hold_ns;   /* read holds count too */
    uint64_t owner_changes;     /* acquisitions by a different thread than the previous one */
};

struct tg_thread_stats {
    uint32_t thread, process;
    uint64_t start_ts, end_ts;  /* end_ts: exit, or the end given to finish */
    uint64_t running_ns;        /* lifetime - waiting - sleeping */
    uint64_t waiting_ns;        /* in lock, condition, semaphore, barrier, join calls */
    uint64_t sleeping_ns;
    uint64_t waits;             /* blocking calls that waited */
};

struct tg_contention;
int tg_contention_new(struct tg_contention **out);
void tg_contention_free(struct tg_contention *c);
int tg_contention_feed(struct tg_contention *c, const struct tg_ev *ev);
/* Closes waits, holds and lives still open at END_TS (the trace's end). */
void tg_contention_finish(struct tg_contention *c, uint64_t end_ts);
/* In first-use order; valid until the next feed/finish. */
size_t tg_contention_locks(const struct tg_contention *c, const struct tg_lock_stats **out);
size_t tg_contention_threads(const struct tg_contention *c, const struct tg_thread_stats **out);

#endif
