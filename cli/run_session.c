/* What `tangle run` does with the events it follows: the detectors (a real
 * deadlock ends the program, --on-deadlock), the report and live view seams
 * (cli.h), the counts the summary needs, and at the end the summary
 * paragraph and the exit status. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli/run.h"
#include "symbols/symbols.h"
#include "trace/trace.h"


unsigned tg_run_detectors(void)
{
    /* detectors/ has these; races come from detectors/race (RACE events of
     * tangle cc builds, WATCH_ACCESS events of --watch) */
    return TG_FIND_BIT(TG_FIND_DEADLOCK) | TG_FIND_BIT(TG_FIND_LOCK_ORDER) |
           TG_FIND_BIT(TG_FIND_MISUSE) | TG_FIND_BIT(TG_FIND_RACE);
}

int tg_run_check_options(const struct tg_run_options *o)
{
    /* a bad suppression file fails before PROGRAM runs, not after */
    return tg_report_check(o);
}

static void act_on_deadlock(struct tg_run *r, uint32_t process);

static void on_finding(void *ctx, const struct tg_finding *f)
{
    struct tg_run_session *s = ctx;

    /* A real deadlock in place ends the program before its report is
     * written: the first report reads the program's and libc's debug info
     * (0.3 s here), which would otherwise stand between the deadlock and
     * the kill. --on-deadlock=wait says so after the report, from the tick. */
    if (f->kind == TG_FIND_DEADLOCK && !s->deadlock_acted
        && s->run->o.on_deadlock != TG_ON_DEADLOCK_WAIT) {
        uint32_t p = tg_analysis_deadlocked_any(s->analysis);
        if (p != TG_NO_THREAD)
            act_on_deadlock(s->run, p);
    }
    bool shown = s->report ? tg_report_finding(s->report, f) : true;

    if (!shown) {
        uint64_t *slot = tg_u64map_slot(&s->suppressed, f->key);
        if (slot)
            *slot = 1;
    }
    if (shown && s->live)
        tg_live_finding(s->live, f);
}

int tg_run_session_begin(struct tg_run *r)
{
    struct tg_run_session *s = calloc(1, sizeof *s);

    if (!s) {
        tg_cli_error("out of memory");
        return -1;
    }
    r->session = s;
    s->run = r;
    s->syms = tg_symbols_new(r->trace);
    /* launch.c passes TANGLE_WATCH only with --watch (and strips it from
     * the inherited environment): without it no WATCH_ACCESS event comes */
    struct tg_analysis_config cfg = { .on_finding = on_finding, .on_finding_ctx = s,
                                      .skip_watch = r->o.watch == NULL };
    int err = tg_analysis_new(&cfg, &s->analysis);
    if (err < 0) {
        tg_cli_error("cannot start the detectors: %s", strerror(-err));
        return -1;
    }
    if (!(s->report = tg_report_new(&r->o, r->trace, s->syms)))
        return -1;
    if (r->o.live)
        s->live = tg_live_new(r->trace, s->syms);
    return 0;
}

/* Locks as `tangle stats` lists them: semaphores too. */
static bool is_lock_event(unsigned kind)
{
    return (kind >= TG_EV_MUTEX_INIT && kind <= TG_EV_MUTEX_REL) ||
           (kind >= TG_EV_RW_INIT && kind <= TG_EV_RW_REL) ||
           (kind >= TG_EV_SPIN_INIT && kind <= TG_EV_SPIN_REL) ||
           (kind >= TG_EV_SEM_INIT && kind <= TG_EV_SEM_POST);
}

void tg_run_session_event(struct tg_run *r, const struct tg_ev *ev)
{
    struct tg_run_session *s = r->session;

    s->events++;
    if (is_lock_event(ev->kind)) {
        /* a process-shared lock is one lock in every process that maps it */
        uint64_t who = ev->pshared ? 0xffffu : ev->process;
        uint64_t key = who << 48 | (ev->obj & 0xffffffffffffull);
        if (key + 1 != s->last_lock) {
            uint64_t *slot = tg_u64map_slot(&s->locks, key);
            if (slot) {
                *slot = 1;
                s->last_lock = key + 1;
            }
        }
    }
    if (ev->kind == TG_EV_FORK && ev->result == TG_OK && ev->p0 != 0) {
        uint64_t *slot = tg_u64map_slot(&s->forked, ev->p0);
        if (slot)
            *slot = 1;
    }
    if (tg_analysis_feed(s->analysis, ev) < 0 && !s->feed_failed) {
        s->feed_failed = true;
        tg_cli_error("detectors: out of memory; findings may be incomplete");
    }
    if (s->live)
        tg_live_event(s->live, ev);
}

bool tg_run_session_live(const struct tg_run *r)
{
    return r->session && r->session->live;
}

void tg_run_session_output(struct tg_run *r, const char *data, size_t len)
{
    struct tg_run_session *s = r->session;

    if (s && s->live)
        tg_live_output(s->live, data, len, tg_trace_now(r->trace));
}

/* A real deadlock is in place: end the process it is in (--on-deadlock),
 * so CI never hangs. Once per run: the report already said what happened. */
static void act_on_deadlock(struct tg_run *r, uint32_t process)
{
    const struct tg_process_info *pi = tg_trace_process(r->trace, process);
    int sig = r->o.on_deadlock == TG_ON_DEADLOCK_ABORT ? SIGABRT : SIGKILL;

    r->session->deadlock_acted = true;
    if (r->o.on_deadlock == TG_ON_DEADLOCK_WAIT) {
        tg_cli_error("deadlock: leaving %s (pid %" PRIu32 ") hanging (--on-deadlock=wait)",
                     r->o.argv[0], pi ? pi->pid : (uint32_t)r->child);
        return;
    }
    if (!pi || pi->pid == (uint32_t)r->child) {
        r->killed_by_tangle = true;
        tg_run_kill_program(r, sig);
    } else if (!pi->exited) {
        kill((pid_t)pi->pid, sig);   /* a forked process of the run, still traced */
    }
}

void tg_run_session_tick(struct tg_run *r)
{
    struct tg_run_session *s = r->session;

    tg_analysis_tick(s->analysis, tg_trace_now(r->trace));
    if (!s->deadlock_acted) {
        uint32_t p = tg_analysis_deadlocked_any(s->analysis);
        if (p != TG_NO_THREAD)
            act_on_deadlock(r, p);
    }
}

void tg_run_session_poll(struct tg_run *r)
{
    struct tg_run_session *s = r->session;

    if (s && s->live && !tg_live_tick(s->live, tg_trace_now(r->trace))) {
        tg_live_free(s->live);
        s->live = NULL;
    }
}

void tg_run_session_end(struct tg_run *r)
{
    struct tg_run_session *s = r->session;

    if (!s)
        return;
    if (s->live)
        tg_live_free(s->live);
    if (s->report)
        tg_report_free(s->report);
    tg_analysis_free(s->analysis);
    tg_symbols_free(s->syms);
    tg_u64map_free(&s->locks);
    tg_u64map_free(&s->suppressed);
    tg_u64map_free(&s->forked);
    free(s);
    r->session = NULL;
}
