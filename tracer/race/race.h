/* tracer/race/: the in-process race runtime of `tangle cc` builds. It lives
 * in libtangle.so next to the tracer and implements the instrumentation ABI
 * that gcc and clang emit for -fsanitize=thread (the __tsan_* functions),
 * on top of the happens-before engine in hb/.
 *
 * Where the pieces are:
 *   race_rt.c      init, threads, the tracer's sync notifications, the
 *                  __tsan annotation API (acquire/release, mutex, ignore, fibers)
 *   race_access.c  plain memory accesses, function entry/exit, mem* functions
 *   race_atomic.c  __tsan_atomic*: the real atomic operation plus its
 *                  happens-before effect
 *   race_hist.c    per-slot history rings: where the *previous* access of a
 *                  race was made (stack, locks held), replayed at report time
 *   race_heap.c    malloc & co: fresh shadow for every block, blocks by address
 *   race_depot.c   stacks stored once, by id
 *   race_report.c  a race found: dedup (one per pair of source lines),
 *                  RACE event in the trace, or a text report at exit when
 *                  the program runs on its own
 * (`tangle run --watch`, for programs that were not rebuilt, is the
 * tracer's tracer/watch.c; its races are found from the trace by
 * detectors/race/.)
 *
 * Nothing here is used unless __tsan_init ran (an instrumented program):
 * the hooks' sync notifications reach us through tg_tracer_set_sync, which
 * __tsan_init calls, and the malloc/mem* interposers test one flag.
 */
#ifndef TG_RACE_H
#define TG_RACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hb/hb.h"

#define RACE_EXPORT  __attribute__((visibility("default")))
#define RACE_HIDDEN  __attribute__((visibility("hidden")))
#define RACE_TLS     __thread __attribute__((tls_model("initial-exec")))
#define RACE_LIKELY(x)   __builtin_expect(!!(x), 1)
#define RACE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RACE_CALLER_PC() ((uint64_t)(uintptr_t)__builtin_return_address(0))

#define RACE_STACK_MAX  256     /* shadow stack frames kept (deeper calls are counted) */
#define RACE_LOCKS_MAX  16      /* locks held remembered per thread */
#define RACE_REPORT_FRAMES 32

/* ---- threads ---- */

/* What reports say about a thread; kept after the thread ended. */
struct race_tinfo {
    uint32_t id;                /* T0, T1... in creation order */
    uint32_t slot;
    uint64_t start_epoch;       /* the slot's epoch when this thread took it */
    uint32_t trace_index;       /* the tracer's thread index, TG_NO_THREAD if none */
    uint32_t parent_id;         /* creator's id, UINT32_MAX for the first */
    uint32_t create_stack;      /* depot id of the creation site, 0 if none */
    pid_t    tid;
    char     name[16];
    struct race_tinfo *prev_in_slot;
};

struct race_held {
    uint64_t addr;
    uint32_t count;             /* recursive acquisitions */
    bool     read;
};

struct race_hist;

struct race_thread {
    struct tg_hb_thread hb;
    uint32_t ignore;            /* > 0: accesses and sync are not tracked */
    uint32_t depth;             /* shadow stack depth (may exceed RACE_STACK_MAX) */
    bool     dead;              /* its THREAD_EXIT was seen */
    struct race_hist *hist;
    struct race_tinfo *info;
    uint64_t pthread;
    uintptr_t stack_lo, stack_hi;
    uint32_t nheld;
    struct race_held held[RACE_LOCKS_MAX];
    uint64_t stack[RACE_STACK_MAX];
};

struct race_global {
    int active;                 /* __tsan_init ran: checked by the interposers */
    bool standalone;            /* not under `tangle run`: print at exit */
    int exitcode;               /* status when races were reported standalone */
    struct tg_hb_shadow shadow;
    struct tg_hb_syncs *syncs;
    struct tg_hb_slots *slots;
    uint64_t races;             /* distinct races reported */
    uintptr_t self_lo, self_hi; /* libtangle.so's code: its own mem* calls are not the program's */
};

extern RACE_HIDDEN struct race_global race_g;
extern RACE_HIDDEN RACE_TLS struct race_thread *race_cur;

/* The calling thread's state, made on first use for threads tangle did
 * not see start; NULL while the runtime is off or the thread is not to be
 * tracked. */
RACE_HIDDEN struct race_thread *race_thread_adopt(void);

static inline struct race_thread *race_self(void)
{
    struct race_thread *t = race_cur;
    if (RACE_LIKELY(t != NULL))
        return t;
    return race_thread_adopt();
}

/* The thread that held SLOT at EPOCH (reports), NULL if unknown. */
RACE_HIDDEN struct race_tinfo *race_tinfo_at(uint32_t slot, uint64_t epoch);
RACE_HIDDEN struct race_tinfo *race_tinfo_get(uint32_t id);
/* Refreshes T's name from the kernel (it may have been set since). */
RACE_HIDDEN void race_tinfo_name(struct race_tinfo *info);

/* ---- synchronisation (race_rt.c) ---- */
RACE_HIDDEN void race_acquire(struct race_thread *t, uint64_t addr);
RACE_HIDDEN void race_release(struct race_thread *t, uint64_t addr);
RACE_HIDDEN void race_held_add(struct race_thread *t, uint64_t addr, bool read);
/* Returns whether the lock was held for reading (-1: not held at all). */
RACE_HIDDEN int race_held_remove(struct race_thread *t, uint64_t addr);
/* Records T's new epoch in its history (after any tick). */
RACE_HIDDEN void race_epoch_changed(struct race_thread *t);

/* ---- accesses (race_access.c) ---- */
enum {
    RACE_WRITE  = 1u << 0,
    RACE_ATOMIC = 1u << 1,
    RACE_FREE   = 1u << 2,      /* the "write" is free() of a heap block */
};
RACE_HIDDEN void race_access_range(struct race_thread *t, uintptr_t addr, size_t size,
                                   unsigned flags, uint64_t pc);
RACE_HIDDEN void race_access_small(struct race_thread *t, uintptr_t addr, unsigned size,
                                   unsigned flags, uint64_t pc);

/* ---- history (race_hist.c) ---- */
enum race_hist_tag {
    HIST_ACCESS = 1, HIST_RANGE, HIST_FUNC_ENTRY, HIST_FUNC_EXIT, HIST_EPOCH,
    HIST_LOCK, HIST_UNLOCK,
};
RACE_HIDDEN struct race_hist *race_hist_for_slot(uint32_t slot);
RACE_HIDDEN void race_hist_put_slow(struct race_thread *t, uint64_t a, uint64_t b);

struct race_hist_ev { uint64_t a, b; };
#define HIST_SHIFT      16
#define HIST_SEG_SHIFT  12
#define HIST_SEGS       (1u << (HIST_SHIFT - HIST_SEG_SHIFT))
#define HIST_SNAP_FRAMES 64
struct race_hist_seg {
    uint64_t epoch;             /* the epoch when the segment started */
    uint32_t depth, nheld;
    uint64_t frames[HIST_SNAP_FRAMES];      /* outermost first */
    struct race_held held[RACE_LOCKS_MAX];
};
struct race_hist {
    uint64_t pos;               /* next entry; written by the owner only, release */
    struct race_hist_seg seg[HIST_SEGS];
    struct race_hist_ev ev[1u << HIST_SHIFT];
};

static inline void race_hist_put(struct race_thread *t, uint64_t a, uint64_t b)
{
    struct race_hist *h = t->hist;
    uint64_t pos = h->pos;
    if (RACE_UNLIKELY((pos & ((1u << HIST_SEG_SHIFT) - 1)) == 0)) {
        race_hist_put_slow(t, a, b);
        return;
    }
    struct race_hist_ev *e = &h->ev[pos & ((1u << HIST_SHIFT) - 1)];
    e->a = a;
    e->b = b;
    __atomic_store_n(&h->pos, pos + 1, __ATOMIC_RELEASE);
}

static inline uint64_t race_hist_word(unsigned tag, uint64_t low)
{
    return ((uint64_t)tag << 60) | (low & ((1ull << 60) - 1));
}

/* An earlier access, as far as the history still knows it. */
struct race_prev {
    bool found;
    uint64_t pc;
    uint32_t nframes;
    uint64_t frames[RACE_REPORT_FRAMES];   /* innermost first, frames[0] = pc */
    uint32_t nheld;
    struct race_held held[RACE_LOCKS_MAX];
};
/* Looks in SLOT's history for the access CELL describes at granule GRANULE. */
RACE_HIDDEN void race_hist_find(uint32_t slot, uintptr_t granule, tg_hb_cell cell,
                                struct race_prev *out);

/* ---- stacks (race_depot.c) ---- */
RACE_HIDDEN uint32_t race_depot_put(const uint64_t *frames, uint32_t n);
RACE_HIDDEN uint32_t race_depot_get(uint32_t id, const uint64_t **frames);
/* The current call chain of T (innermost first, PC first if not 0) */
RACE_HIDDEN uint32_t race_current_stack(const struct race_thread *t, uint64_t pc,
                                        uint64_t *frames, uint32_t max);

/* ---- heap (race_heap.c) ---- */
struct race_block {
    uint64_t addr, size;
    uint32_t stack;             /* depot id of the allocation */
    uint32_t thread;            /* race_tinfo id of the allocating thread */
};
RACE_HIDDEN bool race_heap_find(uint64_t addr, struct race_block *out);
RACE_HIDDEN size_t race_heap_live(void);

/* ---- reports (race_report.c) ---- */
RACE_HIDDEN void race_report(struct race_thread *t, uintptr_t addr, unsigned size,
                             unsigned flags, uint64_t pc, const struct tg_hb_result *res);
RACE_HIDDEN void race_report_init(void);

#endif
