/* The end of `tangle run`: the findings' last word, the one-paragraph
 * summary on stderr, and the exit status. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/run.h"
#include "symbols/symbols.h"
#include "trace/trace.h"
#include "trace/writer.h"

struct para {
    char text[4096];
    size_t len;
};

static void say(struct para *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct para *p, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof p->text - p->len;

    if (room <= 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(p->text + p->len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len += (size_t)n < room ? (size_t)n : room - 1;
}

/* Prints P on stderr wrapped at 80 columns, continuation lines indented. */
static void print_wrapped(const struct para *p)
{
    const char *s = p->text;
    size_t col = 0, width = 80;

    fflush(stdout);
    while (*s) {
        size_t word = strcspn(s, " ");
        if (col > 0 && col + 1 + word > width) {
            fputs("\n       ", stderr);
            col = 7;
        } else if (col > 0) {
            fputc(' ', stderr);
            col++;
        }
        fwrite(s, 1, word, stderr);
        col += word;
        s += word;
        while (*s == ' ')
            s++;
    }
    fputc('\n', stderr);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void describe_end(const struct tg_run *r, struct para *p)
{
    const char *base = strrchr(r->o.argv[0], '/');
    char sig[32], dur[32];

    base = base ? base + 1 : r->o.argv[0];
    tg_cli_fmt_duration(r->end_ns - r->start_ns, dur, sizeof dur);
    if (WIFSIGNALED(r->wait_status)) {
        int n = WTERMSIG(r->wait_status);
        if (r->killed_by_tangle)
            say(p, "tangle: ended %s with %s after %s, on a deadlock.", base,
                tg_cli_signal_name(n, sig, sizeof sig), dur);
        else
            say(p, "tangle: %s was killed by signal %s (%s) after %s.", base,
                tg_cli_signal_name(n, sig, sizeof sig), strsignal(n), dur);
    } else {
        say(p, "tangle: %s exited with status %d after %s.", base,
            WEXITSTATUS(r->wait_status), dur);
    }
}


/* Processes of the run still alive after PROGRAM ended: traced processes
 * that did not exit, and children named by FORK records whose own records
 * may not be in the trace yet (a parent that exits right after fork). */
static uint32_t count_survivors(const struct tg_run *r, uint32_t processes)
{
    struct tg_u64map seen = { 0 };
    uint32_t running = 0;

    for (uint32_t i = 0; i < processes; i++) {
        const struct tg_process_info *pi = tg_trace_process(r->trace, i);
        if (!pi || pi->pid == (uint32_t)r->child)
            continue;
        uint64_t *slot = tg_u64map_slot(&seen, pi->pid);
        if (slot)
            *slot = 1;
        if (!pi->exited && kill((pid_t)pi->pid, 0) == 0)
            running++;
    }
    const struct tg_u64map *forked = &r->session->forked;
    for (size_t i = 0; forked->keys && i < forked->cap; i++) {
        uint64_t pid = forked->keys[i];
        if (pid == 0 || pid == (uint64_t)r->child || tg_u64map_find(&seen, pid))
            continue;
        if (kill((pid_t)pid, 0) == 0)
            running++;
    }
    tg_u64map_free(&seen);
    return running;
}

static void describe_trace(const struct tg_run *r, const struct tg_u64map *locks,
                           uint64_t events, struct para *p)
{
    struct tg_trace_summary sum;
    char ev[32], bytes[32], lost[32];
    uint32_t running = 0;
    size_t nlocks = tg_u64map_len(locks);

    tg_trace_summary(r->trace, &sum);
    running = count_survivors(r, sum.processes);
    say(p, " %" PRIu32 " %s in %" PRIu32 " %s, %zu %s, %s %s (%s).",
        sum.threads, plural(sum.threads, "thread", "threads"),
        sum.processes, plural(sum.processes, "process", "processes"),
        nlocks, plural(nlocks, "lock", "locks"),
        tg_cli_fmt_count(events, ev, sizeof ev), plural(events, "event", "events"),
        tg_cli_fmt_bytes(sum.bytes, bytes, sizeof bytes));
    if (sum.lost)
        say(p, " %s events were lost (the trace could not grow).",
            tg_cli_fmt_count(sum.lost, lost, sizeof lost));
    if (running)
        say(p, " %" PRIu32 " %s it started %s still running.", running,
            plural(running, "process", "processes"), plural(running, "was", "were"));
}

/* Counts the findings that stand (the detectors' final list: a lock-order
 * cycle that then really deadlocked is the deadlock's; suppressed ones left
 * out); without a report renderer built in, also names what each is about,
 * so the summary alone says what was found. Returns how many fail the run. */
static unsigned describe_findings(const struct tg_run *r, bool detailed, struct para *p)
{
    struct tg_run_session *s = r->session;
    const struct tg_finding *const *fs;
    size_t n = tg_analysis_findings(s->analysis, &fs);
    unsigned count[TG_FIND_KIND_COUNT] = { 0 }, total = 0, failing = 0;

    for (size_t i = 0; i < n; i++) {
        if (fs[i]->kind >= TG_FIND_KIND_COUNT || tg_u64map_find(&s->suppressed, fs[i]->key))
            continue;
        count[fs[i]->kind]++;
        total++;
        if (r->o.fail_on & TG_FIND_BIT(fs[i]->kind))
            failing++;
    }
    if (!total) {
        say(p, " No findings.");
        return 0;
    }
    say(p, " Findings:");
    const char *sep = " ";
    for (unsigned k = 0; k < TG_FIND_KIND_COUNT; k++) {
        if (count[k]) {
            say(p, "%s%u %s", sep, count[k], tg_finding_kind_name(k));
            sep = ", ";
        }
    }
    say(p, ".");
    if (!detailed)
        return failing;
    char name[256];
    for (size_t i = 0; i < n; i++) {
        const struct tg_finding *f = fs[i];
        if (f->kind >= TG_FIND_KIND_COUNT || tg_u64map_find(&s->suppressed, f->key))
            continue;
        say(p, " [%s: %s", tg_finding_kind_name(f->kind), tg_finding_sub_name(f->kind, f->sub));
        for (uint32_t j = 0; j < f->nobjs && j < 4; j++) {
            const struct tg_obj_ref *o = &f->objs[j];
            say(p, "%s%s", j ? ", " : " on ",
                tg_symbols_object_name(s->syms, o->process, o->addr, tg_obj_kind_name(o->kind),
                                       o->site_stack, !o->site_is_init, name, sizeof name));
        }
        say(p, "]");
    }
    return failing;
}

int tg_run_finish(struct tg_run *r)
{
    struct tg_run_session *s = r->session;
    struct para p = { .len = 0 };
    int status, failing = 0;

    if (WIFSIGNALED(r->wait_status))
        status = TG_STATUS_SIGNAL_BASE + WTERMSIG(r->wait_status);
    else
        status = WEXITSTATUS(r->wait_status);

    describe_end(r, &p);
    if (r->trace && !s) {
        /* the detectors could not start (said why): PROGRAM ran untraced */
        say(&p, " Trace: %s", r->trace_path);
        print_wrapped(&p);
        return TG_STATUS_FAILED;
    }
    if (!r->trace) {
        /* never initialised: PROGRAM did not load the tracer */
        say(&p, " No trace was written to %s: %s (a statically linked or setuid program"
                " cannot be traced).", r->trace_path,
            r->open_error == TG_TRACE_EEMPTY || !r->open_why[0] ? "the tracer was never loaded"
                                                                 : r->open_why);
        print_wrapped(&p);
        struct stat st;
        if (stat(r->trace_path, &st) == 0 && st.st_size == 0)
            unlink(r->trace_path);      /* the empty file we created says nothing */
        return TG_STATUS_FAILED;
    }

    /* PROGRAM could not record its end if it was killed with SIGKILL (by
     * tangle after a deadlock, or by anyone): tangle reaped it and knows */
    if (r->reaped && !r->trace_failed) {
        int err = tg_writer_finish_reaped(r->trace_path, r->wait_status);
        if (err < 0)
            tg_cli_error("%s: cannot record how %s ended: %s", r->trace_path,
                         r->o.argv[0], strerror(-err));
    }
    tg_analysis_finish(s->analysis);         /* deadlocks still in place are confirmed */
    if (s->live) {
        tg_live_end(s->live, r->wait_status);
    }
    unsigned failing_kinds = describe_findings(r, !s->report, &p);
    if (s->report) {
        failing = tg_report_finish(s->report, r->wait_status);
        if (failing < 0)
            status = TG_STATUS_FAILED;
    } else {
        failing = (int)failing_kinds;
    }
    if (failing > 0 && status != TG_STATUS_FAILED)
        status = r->o.exitcode;
    if (r->trace_failed)
        status = TG_STATUS_FAILED;

    describe_trace(r, &s->locks, s->events, &p);
    say(&p, " Trace: %s", r->trace_path);
    if (!r->o.quiet || status == TG_STATUS_FAILED)
        print_wrapped(&p);
    return status;
}
