/* tui/: the timeline of a tangle trace — a pure model, and the ncurses views
 * of `tangle view`, `tangle run --live` and (through the model)
 * `tangle export --chrome`.
 *
 * The model (tg_tui_model_*) turns the merged event stream into one lane per
 * thread and one per lock. A lane keeps one segment per event: the event
 * itself and the lane's state from that moment to the next event, so memory
 * follows the trace, never the zoom. Cells for a zoom level are computed on
 * demand (tg_tui_model_bin_*): a binary search to the first segment, then
 * per-block prefix sums, so a screen of a 10-million-event trace bins in a
 * few milliseconds. The model knows nothing of terminals, symbols or files.
 *
 * The session (tg_tui_live_*) owns the terminal. The same API serves a saved
 * trace, a trace being followed and a program run under `tangle run --live`:
 * the caller reads the trace and feeds every event (and the detectors'
 * findings) to the session, and calls tg_tui_live_pump() often; the session
 * redraws at most every 100 ms, handles keys and the program's output.
 * Nothing here prints to stdout/stderr or exits.
 */
#ifndef TG_TUI_H
#define TG_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "trace/trace.h"

#define TG_TUI_NONE UINT32_MAX      /* no object / no thread lane */

/* ---------------------------------------------------------------------------
 * The model (pure C)
 * ------------------------------------------------------------------------ */

/* A thread's state, from one event to the next. Order matters only for ties
 * when binning (see tg_tui_model_bin_thread). */
enum tg_tui_state {
    TG_TUI_ST_NONE = 0,             /* not started yet (or beyond the trace's end) */
    TG_TUI_ST_RUN,                  /* running, holding no lock */
    TG_TUI_ST_HOLD,                 /* running while holding `shown` */
    TG_TUI_ST_WAIT_LOCK,            /* blocked in a mutex/rwlock/spin lock call */
    TG_TUI_ST_WAIT_COND,            /* in pthread_cond_*wait */
    TG_TUI_ST_WAIT_SEM,             /* blocked in sem_wait/sem_timedwait */
    TG_TUI_ST_WAIT_BARRIER,         /* in pthread_barrier_wait */
    TG_TUI_ST_WAIT_JOIN,            /* in pthread_join */
    TG_TUI_ST_SLEEP,                /* sleep/usleep/nanosleep */
    TG_TUI_ST_EXITED,
    TG_TUI_ST_COUNT
};

/* A lock lane's state: who may enter. */
enum tg_tui_lock_state {
    TG_TUI_LK_NONE = 0,             /* before its first event */
    TG_TUI_LK_FREE,
    TG_TUI_LK_HELD,                 /* one exclusive owner */
    TG_TUI_LK_SHARED,               /* readers, or semaphore units taken */
    TG_TUI_LK_CONTENDED,            /* held, with threads waiting */
    TG_TUI_LK_COUNT
};

/* Short events that must stay visible at any zoom (highest wins a cell). */
enum tg_tui_mark {
    TG_TUI_MARK_NONE = 0,
    TG_TUI_MARK_FAIL,               /* trylock busy, timed lock timed out */
    TG_TUI_MARK_ERROR,              /* a call returned an error (EDEADLK, EPERM...) */
    TG_TUI_MARK_LOST,               /* the tracer lost events here */
    TG_TUI_MARK_FINDING,            /* a finding happened here */
};

enum tg_tui_objkind {
    TG_TUI_OBJ_MUTEX, TG_TUI_OBJ_RWLOCK, TG_TUI_OBJ_SPIN, TG_TUI_OBJ_SEM,
    TG_TUI_OBJ_COND, TG_TUI_OBJ_BARRIER, TG_TUI_OBJ_THREAD, TG_TUI_OBJ_ONCE,
    TG_TUI_OBJ_MEMORY, TG_TUI_OBJ_COUNT
};

/* A thread lane. `index` is the trace's thread index. */
struct tg_tui_thread {
    uint32_t index;
    uint32_t process;
    uint64_t pthread;               /* pthread_self, from THREAD_START */
    uint64_t start_ts;              /* first event */
    uint64_t end_ts;                /* THREAD_EXIT / PROCESS_EXIT, 0 while alive */
    const char *name;               /* THREAD_NAME or tg_tui_model_set_thread_name; NULL if none */
    size_t nsegs;
};

/* One event of a thread lane and the lane's state after it. Segments of
 * kind TG_EV_NONE are not events of this thread: its shown state changed
 * because of another thread (e.g. someone started waiting for a lock it
 * holds) or its process ended. */
struct tg_tui_seg {
    uint64_t ts;
    uint8_t  state;                 /* enum tg_tui_state from ts to the next segment */
    uint8_t  result;                /* enum tg_result of the call */
    uint16_t kind;                  /* enum tg_event_kind */
    bool     timed;
    uint32_t shown;                 /* object the state refers to (lock held or waited for...) */
    uint32_t obj;                   /* the event's object */
    uint32_t stack;                 /* the event's stack id, 0 = none */
};

/* A sync object (mutex, condition, thread as a join target...). `lock_lane`
 * is its lane among the locks, or TG_TUI_NONE for objects with no owner. */
struct tg_tui_object {
    uint64_t addr;
    uint32_t process;               /* process it was first seen in */
    uint8_t  kind;                  /* enum tg_tui_objkind */
    uint8_t  mtype;                 /* enum tg_mutex_type (mutexes) */
    bool     pshared;
    bool     site_is_init;          /* site_stack is its init call (else first use) */
    uint32_t site_stack;
    uint32_t target_lane;           /* TG_TUI_OBJ_THREAD: the thread lane, if known */
    uint32_t lock_lane;
    uint32_t cond_mutex;            /* TG_TUI_OBJ_COND: the mutex of its latest wait */
    const char *name;               /* tg_tui_model_set_object_name, or NULL */
    /* contention figures (locks): mutrace's columns */
    uint64_t acquisitions, contended, try_failed, owner_changes;
    uint64_t wait_total, wait_max, hold_total, hold_max;
    uint32_t max_waiters, max_holders;
};

/* One change of a lock lane. */
struct tg_tui_lockseg {
    uint64_t ts;
    uint8_t  state;                 /* enum tg_tui_lock_state */
    uint32_t owner;                 /* thread lane of the exclusive owner, or TG_TUI_NONE */
    uint32_t actor;                 /* thread lane whose event made this change */
    uint16_t waiters;
    uint16_t holders;               /* readers / semaphore units taken (or 1 when owned) */
};

/* One column of a lane at some zoom. */
struct tg_tui_cell {
    uint8_t  state;                 /* dominant state: the one covering most of the slice */
    uint8_t  mark;                  /* enum tg_tui_mark: the highest inside the slice */
    uint8_t  minor;                 /* the most telling other state present in the slice
                                       (0 if none): a short hold in a mostly free slice */
    uint16_t count;                 /* lock lanes: threads waiting */
    uint16_t holders;               /* lock lanes: readers / semaphore units taken */
    uint32_t obj;                   /* thread lanes: object of the dominant state;
                                       lock lanes: owning thread lane */
    size_t   seg;                   /* a segment of the dominant state in the slice,
                                       SIZE_MAX if none */
};

enum tg_tui_finding_kind {
    TG_TUI_FIND_DEADLOCK, TG_TUI_FIND_LOCK_ORDER, TG_TUI_FIND_RACE, TG_TUI_FIND_MISUSE,
};
#define TG_TUI_FINDING_MAX 8

/* A finding as the views need it. Strings are copied by add_finding. */
struct tg_tui_finding {
    uint8_t  kind;                  /* enum tg_tui_finding_kind */
    uint64_t ts;                    /* when it happened (the moment to show) */
    const char *summary;            /* one line: "deadlock: mutexA → mutexB → mutexA" */
    const char *text;               /* the full report, lines separated by '\n', or NULL */
    uint32_t threads[TG_TUI_FINDING_MAX];   /* trace thread indexes involved */
    uint32_t nthreads;
    uint64_t addrs[TG_TUI_FINDING_MAX];     /* lock / variable addresses involved */
    uint32_t naddrs;
    uint32_t process;               /* process of the addresses */
};

struct tg_tui_model;

struct tg_tui_model *tg_tui_model_new(void);
void tg_tui_model_free(struct tg_tui_model *m);

/* Adds the next event (in the reader's time order). Returns 0 or -ENOMEM
 * (the model then stays consistent up to the previous event). */
int tg_tui_model_add(struct tg_tui_model *m, const struct tg_ev *ev);
/* Moves the end of every lane to NOW (live: the tracer's clock; a saved
 * trace: its last event). Never moves back. */
void tg_tui_model_set_now(struct tg_tui_model *m, uint64_t now);
uint64_t tg_tui_model_start(const struct tg_tui_model *m);   /* first event's time */
uint64_t tg_tui_model_end(const struct tg_tui_model *m);     /* the lanes' end */
uint64_t tg_tui_model_events(const struct tg_tui_model *m);
/* Gives back the room kept for growth (a saved trace, fully read). */
void tg_tui_model_compact(struct tg_tui_model *m);
size_t tg_tui_model_memory(const struct tg_tui_model *m);    /* bytes allocated */

/* Threads, in order of appearance. */
size_t tg_tui_model_nthreads(const struct tg_tui_model *m);
const struct tg_tui_thread *tg_tui_model_thread(const struct tg_tui_model *m, size_t lane);
uint32_t tg_tui_model_thread_lane(const struct tg_tui_model *m, uint32_t thread_index);
int tg_tui_model_set_thread_name(struct tg_tui_model *m, size_t lane, const char *name);

void tg_tui_model_seg(const struct tg_tui_model *m, size_t lane, size_t i,
                      struct tg_tui_seg *out);
/* The segment covering time T (the last one starting at or before T), or
 * SIZE_MAX when T is before the lane's first event. */
size_t tg_tui_model_seg_at(const struct tg_tui_model *m, size_t lane, uint64_t t);
uint64_t tg_tui_model_seg_end(const struct tg_tui_model *m, size_t lane, size_t i);
/* Time spent in each state in [t0, t1). */
void tg_tui_model_thread_time(const struct tg_tui_model *m, size_t lane, uint64_t t0,
                              uint64_t t1, uint64_t out[TG_TUI_ST_COUNT]);
/* The next (dir > 0) or previous (dir < 0) real event of the lane strictly
 * after / before time T; SIZE_MAX if none. */
size_t tg_tui_model_thread_step(const struct tg_tui_model *m, size_t lane, uint64_t t,
                                int dir);

/* Sync objects. */
size_t tg_tui_model_nobjects(const struct tg_tui_model *m);
const struct tg_tui_object *tg_tui_model_object(const struct tg_tui_model *m, uint32_t id);
int tg_tui_model_set_object_name(struct tg_tui_model *m, uint32_t id, const char *name);
/* The object at ADDR in PROCESS (any kind, locks first), or TG_TUI_NONE. */
uint32_t tg_tui_model_find_object(const struct tg_tui_model *m, uint32_t process,
                                  uint64_t addr);

/* Lock lanes (mutexes, rwlocks, spinlocks, semaphores), in order of
 * appearance; tg_tui_model_lock_object gives the object. */
size_t tg_tui_model_nlocks(const struct tg_tui_model *m);
uint32_t tg_tui_model_lock_object(const struct tg_tui_model *m, size_t lock);
size_t tg_tui_model_lock_nsegs(const struct tg_tui_model *m, size_t lock);
void tg_tui_model_lockseg(const struct tg_tui_model *m, size_t lock, size_t i,
                          struct tg_tui_lockseg *out);
size_t tg_tui_model_lockseg_at(const struct tg_tui_model *m, size_t lock, uint64_t t);
size_t tg_tui_model_lock_step(const struct tg_tui_model *m, size_t lock, uint64_t t, int dir);
void tg_tui_model_lock_time(const struct tg_tui_model *m, size_t lock, uint64_t t0,
                            uint64_t t1, uint64_t out[TG_TUI_LK_COUNT]);

/* N cells of width STEP ns starting at T0. Each cell holds the state that
 * covers most of its slice (ties go to the more telling state: a wait over
 * a hold over running), and the highest mark inside it, so a short failed
 * lock or a finding stays visible at any zoom. */
void tg_tui_model_bin_thread(const struct tg_tui_model *m, size_t lane, uint64_t t0,
                             uint64_t step, struct tg_tui_cell *cells, size_t n);
void tg_tui_model_bin_lock(const struct tg_tui_model *m, size_t lock, uint64_t t0,
                           uint64_t step, struct tg_tui_cell *cells, size_t n);

/* Findings, as the caller's detectors report them (a RACE event in the
 * trace only marks its lane). Adding one also marks the lanes of its
 * threads and locks at its time. */
int tg_tui_model_add_finding(struct tg_tui_model *m, const struct tg_tui_finding *f);
/* Forgets every finding and takes its marks off the lanes (marks of RACE
 * events stay): the detectors' list can change its mind, e.g. a lock-order
 * inversion that then really deadlocked is told by the deadlock alone. */
void tg_tui_model_clear_findings(struct tg_tui_model *m);
size_t tg_tui_model_nfindings(const struct tg_tui_model *m);
const struct tg_tui_finding *tg_tui_model_finding(const struct tg_tui_model *m, size_t i);

const char *tg_tui_state_name(unsigned state);        /* "waiting for lock" */
const char *tg_tui_objkind_name(unsigned kind);       /* "mutex" */
const char *tg_tui_finding_kind_name(unsigned kind);  /* "deadlock" */

/* Formats a duration or a time since the trace's start with the precision
 * STEP asks for ("1.25s", "340ms", "12.5µs"; ASCII "us" when !utf8). */
const char *tg_tui_format_time(uint64_t ns, uint64_t step, bool utf8, char *buf,
                               size_t len);

/* ---------------------------------------------------------------------------
 * The terminal session: `tangle view`, `tangle view --follow`,
 * `tangle run --live`
 *
 * The caller owns the trace and the loop; the session owns the terminal:
 *
 *     struct tg_tui_live *ui;
 *     struct tg_tui_live_options o = { .title = "abba.trace", .follow = live };
 *     if (tg_tui_live_start(&ui, trace, symbols, &o, err, sizeof err) < 0)
 *         ... (not a terminal, or no terminfo: say why, go on without it)
 *     while (...) {
 *         while (tg_trace_next(trace, &ev) == 1) {
 *             run the detectors on ev;            (findings: tg_tui_live_finding)
 *             tg_tui_live_event(ui, &ev);
 *         }
 *         tg_tui_live_output(ui, buf, n, tg_trace_now(trace));   (program output)
 *         if (tg_tui_live_pump(ui, 0) == TG_TUI_QUIT)
 *             break;                  (the user quit: the caller decides what next)
 *     }
 *     tg_tui_live_ended(ui, wait_status);   (final state: exit status, findings)
 *     while (tg_tui_live_pump(ui, 250) != TG_TUI_QUIT)
 *         ;                           (until the user quits)
 *     tg_tui_live_stop(ui);           (restores the terminal; call on every path)
 *
 * tg_tui_live_pump never blocks longer than TIMEOUT_MS and never waits on
 * the program: call it at least 10 times a second; it redraws at most every
 * 100 ms while events arrive, at once after a key.
 *
 * The terminal is always restored: by tg_tui_live_stop, by an atexit
 * handler, and on signals. ncurses runs in raw mode, so Ctrl-C is a key
 * (quit), never a SIGINT to the caller or its program. Fatal signals
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) restore the terminal and then
 * kill as they would have. SIGINT/SIGTERM/SIGHUP/SIGQUIT from outside
 * restore it too; with no handler of the caller's, pump then returns
 * TG_TUI_QUIT; with one (tangle run forwards them to the program), that
 * handler runs next, and if the process lives on, the next pump takes the
 * screen back.
 * ------------------------------------------------------------------------ */

#include <stdio.h>

struct tg_tui_live;
struct tg_symbols;

struct tg_tui_live_options {
    const char *title;              /* title bar: the trace path or the command line */
    bool follow;                    /* a trace being written: keep the newest events in view */
    bool no_color;                  /* monochrome (NO_COLOR in the environment does the same) */
    const char *warning;            /* shown in the title bar (e.g. a truncated trace), or NULL */
    /* Headless, for tests and benchmarks: draw to OUT (e.g. /dev/null) as a
     * terminal of type TERM (NULL: xterm-256color) of COLS x ROWS; keys come
     * from tg_tui_live_key. NULL OUT: the real terminal on stdin/stdout. */
    FILE *out, *in;
    const char *term;
    int cols, rows;
    /* A model built beforehand (the session shows it, adds events to it,
     * and does not free it); NULL: the session makes its own. */
    struct tg_tui_model *model;
};

enum tg_tui_pump_result {
    TG_TUI_CONTINUE = 0,
    TG_TUI_QUIT = 1,                /* the user quit (q, Ctrl-C, or a signal) */
};

/* Takes over the terminal. TRACE (may be NULL) gives thread details,
 * stacks and the live clock; SYMBOLS (may be NULL) names locks and frames;
 * both must outlive the session. Returns 0, or -ENOTTY / -EBUSY / -ENOMEM
 * with a one-line reason in ERR. */
int tg_tui_live_start(struct tg_tui_live **out, struct tg_trace *trace,
                      struct tg_symbols *symbols, const struct tg_tui_live_options *o,
                      char *err, size_t errlen);
/* The next event, in the reader's order. */
void tg_tui_live_event(struct tg_tui_live *ui, const struct tg_ev *ev);
void tg_tui_live_finding(struct tg_tui_live *ui, const struct tg_tui_finding *f);
/* Replaces the findings shown by the N of FS (the caller's current list, in
 * the order to show them); the Findings view keeps its selection on the
 * same finding when it is still there. */
void tg_tui_live_set_findings(struct tg_tui_live *ui, const struct tg_tui_finding *fs, size_t n);
/* Bytes the program wrote (stdout and stderr), read at trace time TS: the
 * Output view shows them line by line with that time. */
void tg_tui_live_output(struct tg_tui_live *ui, const char *data, size_t len, uint64_t ts);
/* Everything given to tg_tui_live_output, e.g. to print after the session. */
const char *tg_tui_live_output_text(struct tg_tui_live *ui, size_t *len);
/* Handles keys and resizes, redraws when due. Waits at most TIMEOUT_MS for
 * a key (0: does not wait). */
int tg_tui_live_pump(struct tg_tui_live *ui, int timeout_ms);
/* As if KEY (a character or an ncurses KEY_* code) had been typed; for
 * headless use. Returns TG_TUI_QUIT if it quit. */
int tg_tui_live_key(struct tg_tui_live *ui, int key);
/* Draws now (headless: after keys, to measure or capture). */
void tg_tui_live_draw(struct tg_tui_live *ui);
/* The program ended with WAIT_STATUS (as waitpid gives it; -1: unknown, a
 * saved trace). The title shows it; following stops at the last event. */
void tg_tui_live_ended(struct tg_tui_live *ui, int wait_status);
/* A problem to show in the title bar ("trace truncated after ..."). */
void tg_tui_live_warn(struct tg_tui_live *ui, const char *warning);
struct tg_tui_model *tg_tui_live_model(struct tg_tui_live *ui);
/* The signal (SIGINT, SIGTERM...) that made pump return TG_TUI_QUIT, or 0
 * if the user quit: a command can end the way the signal would have after
 * tg_tui_live_stop (e.g. raise it again with its default action). */
int tg_tui_live_quit_signal(struct tg_tui_live *ui);
/* Restores the terminal and frees the session (not a model it was given). */
void tg_tui_live_stop(struct tg_tui_live *ui);

/* ---------------------------------------------------------------------------
 * A saved trace read on a thread of its own (`tangle view` with two CPUs)
 *
 * The reading thread reads the trace once and hands batches of events to
 * the caller, who builds the model from them (tg_tui_live_event); it shows
 * each batch to TAP first (the detectors: they run on the reading thread),
 * and calls TAP(CTX, NULL, 0) once after the last one unless stopped. The
 * events' strings and payloads stay valid as long as their batch.
 * While it reads, the trace is the reading thread's: take it with
 * tg_tui_feed_lock around anything else that uses it (the session's pump:
 * names and stacks come from it).
 * ------------------------------------------------------------------------ */

struct tg_tui_feed;
typedef void (*tg_tui_feed_tap_fn)(void *ctx, const struct tg_ev *ev, size_t n);

/* Starts reading TRACE. Returns 0 or -ENOMEM / -EAGAIN. */
int tg_tui_feed_start(struct tg_tui_feed **out, struct tg_trace *trace,
                      tg_tui_feed_tap_fn tap, void *ctx);
/* The next batch, waiting at most TIMEOUT_MS for it: returns its count with
 * *EV set (valid until the next call), 0 if none came in time, -1 once the
 * trace is read and TAP has seen the end. */
long tg_tui_feed_next(struct tg_tui_feed *f, const struct tg_ev **ev, int timeout_ms);
/* After -1: 0, or the negative tg_trace_err tg_trace_next ended with. */
int tg_tui_feed_error(struct tg_tui_feed *f);
void tg_tui_feed_lock(struct tg_tui_feed *f);
void tg_tui_feed_unlock(struct tg_tui_feed *f);
/* Stops the reading thread if it has not finished, and frees F. */
void tg_tui_feed_stop(struct tg_tui_feed *f);

#endif
