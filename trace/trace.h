/* trace/: reading a tangle trace, finished or being written (follow mode).
 *
 * One API for everyone downstream (cli, detectors, tui): open, then pull
 * events merged across all threads and processes in time order. Functions
 * return 0 or a negative enum tg_trace_err; tg_trace_strerror() explains it.
 * Nothing here prints or exits.
 */
#ifndef TG_TRACE_H
#define TG_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/format.h"

enum tg_trace_err {
    TG_TRACE_OK = 0,
    TG_TRACE_EIO = -1,          /* cannot open/read/map the file (errno kept) */
    TG_TRACE_ENOTTRACE = -2,    /* not a tangle trace (bad magic) */
    TG_TRACE_EVERSION = -3,     /* written by a newer tangle we cannot read */
    TG_TRACE_EFEATURE = -4,     /* uses a feature this reader does not know */
    TG_TRACE_ETRUNCATED = -5,   /* shorter than its header says */
    TG_TRACE_ECORRUPT = -6,     /* inconsistent contents */
    TG_TRACE_EEMPTY = -7,       /* file exists but no writer initialised it yet */
};
const char *tg_trace_strerror(int err);

/* A decoded event. Times are nanoseconds since the trace's origin. */
struct tg_ev {
    uint64_t ts;                /* ns since trace start */
    uint64_t obj;               /* object address (lock, cond, sem, pthread_t...) */
    uint64_t p0, p1;            /* payload slot, if the kind has one (see events.def) */
    uint32_t thread;            /* thread index (unique in the trace) */
    uint32_t process;           /* process index */
    uint32_t stack;             /* stack id, 0 = none */
    uint16_t kind;              /* enum tg_event_kind */
    uint8_t  arg;               /* raw arg byte */
    uint8_t  result;            /* enum tg_result, decoded from arg for lock-like kinds */
    uint8_t  mtype;             /* enum tg_mutex_type for mutex events */
    bool     timed;
    bool     pshared;
    const char *str;            /* THREAD_NAME: the name; valid until the next call */
    const void *data;           /* variable payload (RACE), `len` bytes; same lifetime */
    uint32_t len;
};

/* What the trace knows about a thread; filled in as events are read (a
 * thread appears once its THREAD_START has been returned by tg_trace_next). */
struct tg_thread_info {
    uint32_t index;
    uint32_t process;
    uint32_t parent;            /* creating thread's index, TG_NO_THREAD for a process' first */
    uint32_t os_tid;
    uint64_t pthread;           /* pthread_t value, to resolve JOIN/DETACH objects */
    uint64_t start_routine;     /* 0 for a process' first thread */
    uint32_t create_stack;      /* stack id of the pthread_create call */
    uint64_t start_ts, end_ts;  /* end_ts = 0 while alive */
    const char *name;           /* pthread_setname_np name, or NULL */
};

struct tg_process_info {
    uint32_t index;
    uint32_t parent;            /* TG_NO_THREAD for the root */
    uint32_t pid, ppid;
    uint32_t first_thread;
    bool     exec;
    bool     exited;
    int32_t  exit_status;       /* wait-status style when exited */
    uint64_t start_ts;
    const char *path;           /* executable */
    const char *cmdline;        /* argv joined by spaces */
};

struct tg_module_info {
    uint32_t process;
    uint64_t base, lo, hi;
    const char *path;           /* absolute path ("" never: main program resolved) */
};

struct tg_trace_summary {
    uint16_t version;
    uint64_t features;
    uint32_t clock;
    uint64_t real_ns0;          /* wall clock at trace start */
    uint32_t root_pid;
    const char *program;
    bool     finished;          /* the root process ended */
    int32_t  exit_status;       /* valid when finished */
    uint32_t chunks;
    uint64_t bytes;             /* bytes of records in the trace so far */
    uint64_t events;            /* events returned so far */
    uint64_t lost;              /* events the writer reported lost */
    uint32_t threads, processes, stacks;
    uint64_t file_size;         /* bytes of the file read so far */
    bool     truncated;         /* the file ends before what its header announces */
};

struct tg_trace;

enum tg_open_flags {
    TG_OPEN_FOLLOW = 1u << 0,   /* a live trace: tg_trace_next may later return more */
};

/* Opens PATH. On failure returns a tg_trace_err and, if errbuf is given,
 * a one-line explanation without the "tangle:" prefix. */
int tg_trace_open(const char *path, unsigned flags, struct tg_trace **out,
                  char *errbuf, size_t errlen);
void tg_trace_close(struct tg_trace *t);
/* The detail of the last error tg_trace_next returned ("chunk 12: ..."),
 * or NULL; valid until the next call. */
const char *tg_trace_error(struct tg_trace *t);

/* Next event in time order.
 * Returns 1 with *ev filled, 0 when no event is available (finished trace:
 * the end; follow mode: none yet — call again later), or a negative
 * tg_trace_err if the trace is corrupt (the events returned so far stand).
 *
 * Follow mode: an event is returned only when every thread stream has
 * published past its time, or it is older than the grace period (a thread
 * that is blocked publishes nothing), so the order is right without waiting
 * forever on a silent thread. */
int tg_trace_next(struct tg_trace *t, struct tg_ev *ev);
/* Details (docs/trace-format.md): TIME records are consumed, not returned;
 * LOST records are returned (p0 = count). A truncated file returns the
 * events before the cut, then TG_TRACE_ETRUNCATED where it would return 0.
 * A corrupt chunk or record makes every later call return
 * TG_TRACE_ECORRUPT. Times never go back: a record older than one already
 * returned gets the time of the latest one. */

/* Follow mode: returns true once the root process has ended and every
 * published event has been returned. */
bool tg_trace_done(struct tg_trace *t);

/* Follow mode: the tracer's clock now, as a trace timestamp (ns since the
 * trace origin), so live views and the hang detector can tell how long a
 * thread has been blocked. For a finished trace: the last event's time. */
uint64_t tg_trace_now(struct tg_trace *t);

void tg_trace_summary(struct tg_trace *t, struct tg_trace_summary *out);

/* Lookups; NULL / false when unknown (yet). Pointers stay valid until close. */
const struct tg_thread_info *tg_trace_thread(struct tg_trace *t, uint32_t index);
const struct tg_process_info *tg_trace_process(struct tg_trace *t, uint32_t index);
/* The thread whose pthread_t is PTHREAD in PROCESS, alive at the time of the
 * events read so far (pthread_t values are reused after join). */
const struct tg_thread_info *tg_trace_thread_by_pthread(struct tg_trace *t,
                                                        uint32_t process,
                                                        uint64_t pthread);
/* The index of the thread a call on PTHREAD in PROCESS acts on: one created
 * with it that has not started yet (its creator may name, join or detach it
 * first), else its latest started holder; TG_NO_THREAD if none. */
uint32_t tg_trace_pthread_target(struct tg_trace *t, uint32_t process, uint64_t pthread);
bool tg_trace_stack(struct tg_trace *t, uint32_t id, const uint64_t **frames,
                    uint32_t *nframes);
/* Modules of PROCESS (inherited from its parent for a fork child that has
 * not exec'd). Returns the count; *mods valid until close. */
size_t tg_trace_modules(struct tg_trace *t, uint32_t process,
                        const struct tg_module_info **mods);

const char *tg_event_name(unsigned kind);      /* "MUTEX_ACQ" */
const char *tg_result_name(unsigned result);   /* "OK", "EBUSY", ... */

#endif
