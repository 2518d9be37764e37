/* tests/reports: a small trace written with the writer API (three named
 * threads, stacks in this directory's code, global and heap locks) and
 * findings of every kind built on it by hand, so each renderer path is
 * exercised without depending on what the detectors happen to find. */
#ifndef TG_TEST_REPORTS_FIXTURE_H
#define TG_TEST_REPORTS_FIXTURE_H

#include "cli/report_int.h"

enum fx_case {
    FX_LOCK_ORDER,          /* fx_mutexA / fx_mutexB, two threads */
    FX_LOCK_ORDER_HEAP3,    /* three locks, one on the heap */
    FX_DEADLOCK_CYCLE,      /* the same cycle as FX_LOCK_ORDER, really blocked */
    FX_DEADLOCK_SELF,
    FX_ALL_BLOCKED,         /* join + condition + semaphore */
    FX_LOST_WAKEUP,
    FX_MISUSE_UNLOCK_OTHER,
    FX_MISUSE_ERROR,        /* destroy returned EBUSY */
    FX_RACE,                /* fx_counter, write under fx_mutexA vs read under none */
    FX_COUNT
};
extern const char *const fx_names[FX_COUNT];

struct fx {
    char dir[64];
    char path[128];
    struct tg_trace *trace;
    struct tg_symbols *syms;
    struct tg_report *report;
    struct tg_finding findings[FX_COUNT];
};

/* Writes and reads the trace, makes the findings and a report (text to
 * a memory stream, no colour). 0 or -1 with a message on stderr. */
int fx_open(struct fx *fx);
void fx_close(struct fx *fx);

#endif
