/* cli/: the state of one `tangle run`, shared by run.c (options, launching,
 * the follow loop, signals) and run_session.c (what is done with the events:
 * counting, detectors, live view, summary, exit status). Private to cli/. */
#ifndef TG_CLI_RUN_H
#define TG_CLI_RUN_H

#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli/cli.h"

struct tg_ev;
struct tg_run_session;

/* How long after PROGRAM ended the loop keeps reading a trace whose root
 * never marked itself finished (it was killed): events held back for
 * ordering are released by then. */
#define TG_RUN_DRAIN_NS (300 * 1000 * 1000ull)

struct tg_run {
    struct tg_run_options o;
    char trace_path[PATH_MAX];    /* absolute */
    pid_t child;
    int pidfd;                    /* -1 if the kernel has no pidfd_open */
    bool reaped;
    int wait_status;              /* waitpid's, once reaped */
    uint64_t start_ns, end_ns;    /* CLOCK_MONOTONIC around PROGRAM's life */
    uint64_t end_trace_ns;        /* PROGRAM's end as a trace time; UINT64_MAX unknown */
    uint64_t last_ts;             /* time of the last event read */
    bool killed_by_tangle;        /* ended after a deadlock (--on-deadlock) */
    int output_fd[2];             /* --live: read ends of PROGRAM's stdout and stderr, else -1 */

    struct tg_trace *trace;       /* NULL until the tracer initialised it */
    bool trace_failed;            /* unreadable or corrupt: reported once */
    int open_error;               /* last tg_trace_open error while waiting */
    char open_why[256];

    struct tg_run_session *session;
};

uint64_t tg_run_now_ns(void);
/* Sends SIG to PROGRAM if it is still running. */
void tg_run_kill_program(struct tg_run *r, int sig);

/* What the run does with the events (run_session.c, run_summary.c). */
struct tg_run_session {
    struct tg_run *run;
    struct tg_symbols *syms;
    struct tg_analysis *analysis;
    struct tg_report *report;     /* NULL: report*.c not built */
    struct tg_live *live;         /* NULL: no --live, or the user quit it */
    struct tg_u64map locks;       /* distinct lock objects: key → 1 */
    uint64_t last_lock;           /* key counted last (+1; 0: none): a loop on one lock skips the map */
    uint64_t events;
    struct tg_u64map suppressed;  /* finding keys a suppression matched → 1 */
    struct tg_u64map forked;      /* pids from FORK events → 1: a child may end
                                   * up running before its own records appear */
    bool deadlock_acted;
    bool feed_failed;
};

/* run_session.c */
/* Refuses options whose implementation is not built in; status or 0. */
int tg_run_check_options(const struct tg_run_options *o);
/* The trace is open: set up symbols, detectors, the live view. 0 or -1. */
int tg_run_session_begin(struct tg_run *r);
void tg_run_session_event(struct tg_run *r, const struct tg_ev *ev);
/* Whether the live view is showing; PROGRAM's output (piped in live mode)
 * goes to it with tg_run_session_output, else to tangle's stderr. */
bool tg_run_session_live(const struct tg_run *r);
void tg_run_session_output(struct tg_run *r, const char *data, size_t len);
/* Ten times a second while following: the detectors' clock, deadlocks. */
void tg_run_session_tick(struct tg_run *r);
/* Every turn of the follow loop: the live view reads keys (at once, not
 * on the next tick) and redraws when it is due. */
void tg_run_session_poll(struct tg_run *r);
/* PROGRAM ended and the trace is read: summary, findings, exit status. */
int tg_run_finish(struct tg_run *r);
void tg_run_session_end(struct tg_run *r);

#endif
