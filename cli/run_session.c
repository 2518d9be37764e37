/* What `tangle run` does with the events it follows: counts what the summary
 * needs, and at the end prints the summary paragraph and decides the exit
 * status. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli/run.h"
#include "symbols/symbols.h"
#include "trace/trace.h"

struct tg_run_session {
    struct tg_symbols *syms;
    struct tg_u64map locks;       /* distinct lock objects: key → 1 */
    uint64_t events;
};

int tg_run_check_options(const struct tg_run_options *o)
{
    (void)o;
    return 0;
}

int tg_run_session_begin(struct tg_run *r)
{
    r->session = calloc(1, sizeof *r->session);
    if (!r->session) {
        tg_cli_error("out of memory");
        return -1;
    }
    r->session->syms = tg_symbols_new(r->trace);
    return 0;
}

static bool is_lock_event(unsigned kind)
{
    return (kind >= TG_EV_MUTEX_INIT && kind <= TG_EV_MUTEX_REL) ||
           (kind >= TG_EV_RW_INIT && kind <= TG_EV_RW_REL) ||
           (kind >= TG_EV_SPIN_INIT && kind <= TG_EV_SPIN_REL);
}

void tg_run_session_event(struct tg_run *r, const struct tg_ev *ev)
{
    struct tg_run_session *s = r->session;

    s->events++;
    if (is_lock_event(ev->kind)) {
        /* a process-shared lock is one lock in every process that maps it */
        uint64_t who = ev->pshared ? 0xffffu : ev->process;
        uint64_t *slot = tg_u64map_slot(&s->locks, who << 48 | (ev->obj & 0xffffffffffffull));
        if (slot)
            *slot = 1;
    }
}

void tg_run_session_tick(struct tg_run *r)
{
    (void)r;
}

void tg_run_session_end(struct tg_run *r)
{
    struct tg_run_session *s = r->session;

    if (!s)
        return;
    tg_symbols_free(s->syms);
    tg_u64map_free(&s->locks);
    free(s);
    r->session = NULL;
}

/* ---- the summary paragraph ---- */

struct para {
    char text[2048];
    size_t len;
};

static void say(struct para *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct para *p, const char *fmt, ...)
{
    va_list ap;

    if (p->len >= sizeof p->text - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(p->text + p->len, sizeof p->text - p->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len += (size_t)n < sizeof p->text - p->len ? (size_t)n : sizeof p->text - 1 - p->len;
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
            say(p, "tangle: ended %s (%s) after %s.", base, tg_cli_signal_name(n, sig, sizeof sig), dur);
        else
            say(p, "tangle: %s was killed by signal %s (%s) after %s.", base,
                tg_cli_signal_name(n, sig, sizeof sig), strsignal(n), dur);
    } else {
        say(p, "tangle: %s exited with status %d after %s.", base,
            WEXITSTATUS(r->wait_status), dur);
    }
}

static void describe_trace(const struct tg_run *r, struct para *p)
{
    struct tg_trace_summary sum;
    char ev[32], bytes[32], lost[32];
    uint32_t running = 0;
    size_t nlocks = r->session->locks.len + (r->session->locks.has_zero ? 1 : 0);

    tg_trace_summary(r->trace, &sum);
    for (uint32_t i = 0; i < sum.processes; i++) {
        const struct tg_process_info *pi = tg_trace_process(r->trace, i);
        if (pi && !pi->exited && pi->pid != (uint32_t)r->child)
            running++;
    }
    say(p, " %" PRIu32 " %s in %" PRIu32 " %s, %zu %s, %s %s (%s).",
        sum.threads, plural(sum.threads, "thread", "threads"),
        sum.processes, plural(sum.processes, "process", "processes"),
        nlocks, plural(nlocks, "lock", "locks"),
        tg_cli_fmt_count(r->session->events, ev, sizeof ev),
        plural(r->session->events, "event", "events"),
        tg_cli_fmt_bytes(sum.bytes, bytes, sizeof bytes));
    if (sum.lost)
        say(p, " %s events were lost (the trace could not grow).",
            tg_cli_fmt_count(sum.lost, lost, sizeof lost));
    if (running)
        say(p, " %" PRIu32 " %s it started %s still running.", running,
            plural(running, "process", "processes"), plural(running, "was", "were"));
}

int tg_run_finish(struct tg_run *r)
{
    struct para p = { .len = 0 };
    int status;

    if (WIFSIGNALED(r->wait_status))
        status = TG_STATUS_SIGNAL_BASE + WTERMSIG(r->wait_status);
    else
        status = WEXITSTATUS(r->wait_status);

    describe_end(r, &p);
    if (!r->trace) {
        /* never initialised: PROGRAM did not load the tracer */
        say(&p, " No trace was written to %s: %s (a statically linked or setuid program"
                " cannot be traced).", r->trace_path,
            r->open_error == TG_TRACE_EEMPTY ? "the tracer was never loaded" : r->open_why);
        print_wrapped(&p);
        return TG_STATUS_FAILED;
    }
    if (r->trace_failed)
        status = TG_STATUS_FAILED;
    if (r->session)
        describe_trace(r, &p);
    say(&p, " Trace: %s", r->trace_path);
    if (!r->o.quiet || status == TG_STATUS_FAILED)
        print_wrapped(&p);
    return status;
}
