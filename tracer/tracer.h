/* tracer/: libtangle.so, the preloaded tracer. Its interface to the world is
 * the set of interposed functions (tracer/hooks.def) and the environment
 * (docs/tracer.md). This header is for code that lives inside the library
 * with it (the race runtime in tracer/race/) and for the hook-table tests.
 */
#ifndef TG_TRACER_H
#define TG_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tg_writer;

/* The hook table: every interposed function and the symbol version its
 * real counterpart is resolved with (NULL: the default version). */
struct tg_hook_info {
    const char *name;
    const char *version;
};
extern const struct tg_hook_info tg_tracer_hooks[];
extern const size_t tg_tracer_nhooks;
/* The real function behind hook I, resolved (NULL if it cannot be). */
void *tg_tracer_real(size_t i);

/* Happens-before notifications for the race runtime: KIND is the event the
 * hook records (enum tg_event_kind), OBJ the object, ARG the record's arg
 * byte. Acquiring kinds are reported after the real call succeeded:
 * MUTEX_ACQ, MUTEX_TRY, RD_ACQ, RD_TRY, WR_ACQ, WR_TRY, SPIN_ACQ, SPIN_TRY,
 * COND_WOKE (OBJ = the mutex), SEM_ACQ, SEM_TRY, BARRIER_DONE, ONCE_END
 * (every caller), JOIN_DONE (OBJ = the pthread_t), THREAD_START (OBJ = the
 * thread's own index, before its start routine runs). Releasing kinds are
 * reported before the real call: MUTEX_REL, RW_REL, SPIN_REL, COND_WAIT
 * (OBJ = the mutex), SEM_POST, BARRIER_WAIT, THREAD_CREATE (OBJ = the
 * child's index), THREAD_EXIT (OBJ = pthread_self), and ONCE_BEGIN, which
 * only the thread that ran the init routine reports, after it returned.
 * INIT and DESTROY kinds are reported after they succeeded (a new object
 * has no past). Called on the hooked thread, outside tangle's re-entry
 * guard. */
typedef void (*tg_tracer_sync_fn)(unsigned kind, uint64_t obj, unsigned arg);
void tg_tracer_set_sync(tg_tracer_sync_fn fn);

/* Hooks and sync notifications without a trace: asked for before the
 * tracer's constructor (priority 101) by a `tangle cc` build run on its own,
 * whose race runtime needs the hooks but no file. No trace is made, records
 * and stacks are dropped, tg_tracer_writer() is NULL; tg_tracer_active()
 * stays true. */
void tg_tracer_no_trace(void);
/* A new thread's index: the trace's next one, or without a trace a count
 * of this process's own (the race runtime pairs creator and child by it). */
uint32_t tg_tracer_new_thread_index(void);

/* Whether this process is writing a trace, and its writer (NULL if not). */
bool tg_tracer_active(void);
struct tg_writer *tg_tracer_writer(void);
/* The calling thread's index in the trace, TG_NO_THREAD if untraced. */
uint32_t tg_tracer_thread(void);
/* Appends one record to the calling thread's stream: a fixed-size one
 * (payload a, b used when the kind has a slot) or a variable one (RACE).
 * No-ops on an untraced thread or one already inside tangle. */
void tg_tracer_emit(unsigned kind, unsigned arg, uint64_t obj, uint32_t stack,
                    uint64_t a, uint64_t b);
void tg_tracer_emit_var(unsigned kind, uint64_t obj, uint32_t stack,
                        const void *data, size_t len);
/* The stack id of the current call chain (full capture, cached), skipping
 * SKIP frames of the caller's own; 0 if it could not be had. */
uint32_t tg_tracer_stack(unsigned skip);

#endif
