/* tangle view [--follow] TRACE: the terminal timeline of a trace (tui/),
 * with the detectors' findings; and the live view `tangle run --live`
 * drives through the tg_live_* seam of cli.h. Both feed a tui session the
 * events and findings; the session draws. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/report_int.h"
#include "detectors/detectors.h"
#include "symbols/symbols.h"
#include "trace/trace.h"
#include "tui/tui.h"

static const char usage[] =
    "usage: tangle view [OPTIONS] TRACE\n"
    "\n"
    "Browses TRACE in the terminal: one lane per thread and per lock over time,\n"
    "the findings of the detectors, the events with their stacks. Press ? in\n"
    "the view for its keys.\n"
    "\n"
    "options:\n"
    "  -f, --follow      TRACE is being written: show it as it grows\n"
    "      --no-color    monochrome (as does NO_COLOR in the environment)\n"
    "  -h, --help        this help\n";

/* ---- findings, as the views show them ---- */

static unsigned tui_kind(unsigned kind)
{
    switch (kind) {
    case TG_FIND_DEADLOCK: return TG_TUI_FIND_DEADLOCK;
    case TG_FIND_LOCK_ORDER: return TG_TUI_FIND_LOCK_ORDER;
    case TG_FIND_RACE: return TG_TUI_FIND_RACE;
    default: return TG_TUI_FIND_MISUSE;
    }
}

/* F as the views show it: its summary and full text from the report's
 * renderers (the same words `tangle report` prints). The strings in *TF are
 * malloc'd. */
static void render_finding(struct tg_report *rep, const struct tg_finding *f,
                           struct tg_tui_finding *tf)
{
    char summary[512] = "", *text = NULL;
    size_t textlen = 0;

    *tf = (struct tg_tui_finding){
        .kind = (uint8_t)tui_kind(f->kind), .ts = f->ts, .process = f->process,
    };
    for (uint32_t i = 0; i < f->nthreads && tf->nthreads < TG_TUI_FINDING_MAX; i++)
        tf->threads[tf->nthreads++] = f->threads[i];
    for (uint32_t i = 0; i < f->nobjs && tf->naddrs < TG_TUI_FINDING_MAX; i++)
        if (f->objs[i].kind != TG_OBJ_THREAD)
            tf->addrs[tf->naddrs++] = f->objs[i].addr;
    if (f->kind == TG_FIND_RACE && tf->naddrs == 0 && f->mem.addr)
        tf->addrs[tf->naddrs++] = f->mem.addr;
    if (rep != NULL)
        rp_summary(rep, f, summary, sizeof summary);
    else
        snprintf(summary, sizeof summary, "%s (%s)", tg_finding_kind_name(f->kind),
                 tg_finding_sub_name(f->kind, f->sub));
    tf->summary = strdup(summary);
    if (rep != NULL) {
        FILE *m = open_memstream(&text, &textlen);
        if (m != NULL) {
            rp_text_finding(rep, f, m);
            fclose(m);
        }
        tf->text = text;
    }
}

/* The findings a view shows: what `tangle report` prints at the end. The
 * detectors announce each finding once, as soon as they see it, and a
 * lock-order inversion is announced before the deadlock it may turn into;
 * the report then leaves it out (rp_told_by_deadlock), and so does the view:
 * the list is rebuilt from everything announced, in the report's order
 * (tg_finding_cmp), whenever something new arrived. */
struct found {
    struct found_one {
        const struct tg_finding *f;     /* the detectors' (valid until analysis_free) */
        struct tg_tui_finding tf;       /* rendered once, when announced */
    } *v;
    size_t n, cap;
    bool dirty;                         /* announced since the last sync */
};

static void found_add(struct found *fd, struct tg_report *rep, const struct tg_finding *f)
{
    if (fd->n == fd->cap) {
        size_t cap = fd->cap ? fd->cap * 2 : 16;
        struct found_one *v = realloc(fd->v, cap * sizeof *v);
        if (v == NULL)
            return;               /* not shown; the report still has it */
        fd->v = v;
        fd->cap = cap;
    }
    fd->v[fd->n].f = f;
    render_finding(rep, f, &fd->v[fd->n].tf);
    fd->n++;
    fd->dirty = true;
}

static int cmp_found(const void *a, const void *b)
{
    /* struct found_one starts with the finding pointer tg_finding_cmp wants */
    return tg_finding_cmp(&((const struct found_one *)a)->f, &((const struct found_one *)b)->f);
}

/* Shows what is announced so far, as the report would tell it. */
static void found_sync(struct found *fd, struct tg_tui_live *ui)
{
    if (!fd->dirty || ui == NULL)
        return;
    const struct tg_finding **all = malloc((fd->n ? fd->n : 1) * sizeof *all);
    struct found_one *keep = malloc((fd->n ? fd->n : 1) * sizeof *keep);
    struct tg_tui_finding *tfs = malloc((fd->n ? fd->n : 1) * sizeof *tfs);
    size_t n = 0;

    if (all != NULL && keep != NULL && tfs != NULL) {
        for (size_t i = 0; i < fd->n; i++)
            all[i] = fd->v[i].f;
        for (size_t i = 0; i < fd->n; i++)
            if (!rp_told_by_deadlock(all[i], all, fd->n))
                keep[n++] = fd->v[i];
        qsort(keep, n, sizeof *keep, cmp_found);
        for (size_t i = 0; i < n; i++)
            tfs[i] = keep[i].tf;
        tg_tui_live_set_findings(ui, tfs, n);
        fd->dirty = false;
    }
    free(all);
    free(keep);
    free(tfs);
}

static void found_free(struct found *fd)
{
    for (size_t i = 0; i < fd->n; i++) {
        free((char *)fd->v[i].tf.summary);
        free((char *)fd->v[i].tf.text);
    }
    free(fd->v);
    *fd = (struct found){ 0 };
}

static struct tg_report *quiet_report(struct tg_trace *t, struct tg_symbols *s)
{
    struct tg_report *r = rp_new(t, s);
    if (r != NULL) {
        r->color = false;
        r->quiet_text = true;
    }
    return r;
}

/* ---- the detectors of a saved trace, on the reading thread ----
 *
 * Opening a large trace is reading it and building the timeline, and the
 * detectors cost about a third as much again. With two CPUs the trace is
 * read on a second thread (tg_tui_feed), which runs the detectors on each
 * batch while this thread builds the timeline from it. The detectors only
 * collect what they announce; the view's thread renders it (the report's
 * renderers and the symbols are not shared between threads) once the
 * reading is done. */
struct detect {
    struct tg_analysis *analysis;
    const struct tg_finding **found;    /* announced, in order */
    size_t n, cap;
};

static void detect_collect(void *ctx, const struct tg_finding *f)
{
    struct detect *d = ctx;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        const struct tg_finding **v = realloc(d->found, cap * sizeof *v);
        if (v == NULL)
            return;               /* not shown; `tangle report` still tells it */
        d->found = v;
        d->cap = cap;
    }
    d->found[d->n++] = f;
}

/* The feed's tap, on the reading thread. */
static void detect_batch(void *ctx, const struct tg_ev *ev, size_t n)
{
    struct detect *d = ctx;
    for (size_t i = 0; i < n; i++)
        tg_analysis_feed(d->analysis, &ev[i]);
    if (ev == NULL)
        tg_analysis_finish(d->analysis);
}

/* Whether this process may run on more than one CPU. */
static bool several_cpus(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 1;
}

/* ---- tangle view ---- */

struct view {
    const char *path;
    struct tg_trace *trace;
    struct tg_symbols *syms;
    struct tg_analysis *analysis;
    struct tg_tui_feed *feed;       /* the trace read on a second thread, or NULL */
    struct detect detect;           /* the detectors there */
    struct tg_report *rep;
    struct tg_tui_live *ui;
    struct found found;
    bool follow;
    int signal;                   /* the signal that ended the view, 0 if the user did */
};

static void on_finding(void *ctx, const struct tg_finding *f)
{
    struct view *v = ctx;
    found_add(&v->found, v->rep, f);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads what the trace has, MAX events or so. Returns events read, or a
 * negative trace error. */
static long feed(struct view *v, long max)
{
    struct tg_ev ev;
    long n = 0;
    int got = 0;

    while (n < max && (got = tg_trace_next(v->trace, &ev)) > 0) {
        tg_analysis_feed(v->analysis, &ev);
        tg_tui_live_event(v->ui, &ev);
        n++;
    }
    return got < 0 ? got : n;
}

/* The same from the reading thread, for up to MS milliseconds (the keys
 * wait meanwhile). Returns events read, 0 at the end with *END set, or a
 * negative trace error. */
static long feed_batches(struct view *v, int ms, bool *end)
{
    const struct tg_ev *ev;
    uint64_t until = mono_ms() + (uint64_t)ms;
    long n = 0, got;

    while ((got = tg_tui_feed_next(v->feed, &ev, ms)) > 0) {
        for (long i = 0; i < got; i++)
            tg_tui_live_event(v->ui, &ev[i]);
        n += got;
        if (mono_ms() >= until)
            break;
    }
    if (got < 0) {
        *end = true;
        int err = tg_tui_feed_error(v->feed);
        if (err < 0)
            return err;
    }
    return n;
}

static void trace_warning(struct view *v, int err, char *buf, size_t len)
{
    struct tg_trace_summary s;
    tg_trace_summary(v->trace, &s);
    /* the reader's detail names the kind itself ("truncated: ...") */
    const char *detail = tg_trace_error(v->trace);
    if (detail == NULL)
        detail = err == TG_TRACE_ETRUNCATED ? "trace truncated" : "trace corrupt";
    snprintf(buf, len, "%s (after %" PRIu64 " events): showing what was readable", detail,
             s.events);
}

static int run_view(struct view *v, const char *title, bool no_color)
{
    struct tg_tui_live_options o = { .title = title, .follow = v->follow, .no_color = no_color };
    struct tg_analysis_config cfg = { .on_finding = on_finding, .on_finding_ctx = v };
    char err[256], warning[512] = "";
    int status = TG_STATUS_OK;
    struct tg_trace_summary sum;

    /* the detectors as `tangle report` runs them, so both find the same:
     * without TG_FEAT_WATCH no WATCH_ACCESS event comes (the tracer sets
     * it first), and the happens-before state kept for them is not needed */
    tg_trace_summary(v->trace, &sum);
    cfg.skip_watch = !(sum.features & TG_FEAT_WATCH);

    /* a saved trace, two CPUs: the detectors collect on the reading thread
     * and their findings are shown at the end */
    bool apart = !v->follow && several_cpus();
    if (apart) {
        cfg.on_finding = detect_collect;
        cfg.on_finding_ctx = &v->detect;
    }
    if (tg_analysis_new(&cfg, &v->analysis) < 0) {
        tg_cli_error("out of memory");
        return TG_STATUS_FAILED;
    }
    v->detect.analysis = v->analysis;
    v->rep = quiet_report(v->trace, v->syms);
    if (tg_tui_live_start(&v->ui, v->trace, v->syms, &o, err, sizeof err) < 0) {
        tg_cli_error("view: %s", err);
        return TG_STATUS_FAILED;
    }
    /* if the thread cannot start, this one reads and runs the detectors */
    if (apart && tg_tui_feed_start(&v->feed, v->trace, detect_batch, &v->detect) < 0)
        v->feed = NULL;
    bool threaded = v->feed != NULL;
    bool done = false, quit = false, read_all = false, read_error = false;
    uint64_t last_tick = mono_ms();
    while (!quit) {
        long n = 0;
        if (!read_all && v->feed != NULL) {
            bool end = false;
            n = feed_batches(v, 20, &end);
            if (end) {
                tg_tui_feed_stop(v->feed);      /* the thread is done: the trace is ours */
                v->feed = NULL;
                read_all = true;
            }
            if (n < 0) {
                trace_warning(v, (int)n, warning, sizeof warning);
                tg_tui_live_warn(v->ui, warning);
                status = TG_STATUS_BAD_INPUT;
                read_error = true;
            }
        } else if (!read_all) {
            n = feed(v, v->follow ? 16384 : 262144);
            if (n < 0) {
                trace_warning(v, (int)n, warning, sizeof warning);
                tg_tui_live_warn(v->ui, warning);
                status = TG_STATUS_BAD_INPUT;
                read_error = true;
            }
            if (v->follow && mono_ms() - last_tick >= 100) {
                tg_analysis_tick(v->analysis, tg_trace_now(v->trace));
                last_tick = mono_ms();
            }
            read_all = n < 0 || (n == 0 && (!v->follow || tg_trace_done(v->trace)));
        }
        /* the end: the trace read, and the detectors done with it */
        if (read_all && !done) {
            struct tg_trace_summary s;
            tg_trace_summary(v->trace, &s);
            if (!read_error && s.truncated) {
                trace_warning(v, TG_TRACE_ETRUNCATED, warning, sizeof warning);
                tg_tui_live_warn(v->ui, warning);
                status = TG_STATUS_BAD_INPUT;
            }
            if (!threaded)
                tg_analysis_finish(v->analysis);
            for (size_t i = 0; i < v->detect.n; i++)
                found_add(&v->found, v->rep, v->detect.found[i]);
            tg_tui_live_ended(v->ui, s.finished ? s.exit_status : -1);
            done = true;
        }
        found_sync(&v->found, v->ui);
        int wait = done || read_all ? 250 : n > 0 || v->feed != NULL ? 0 : 20;
        if (v->feed != NULL)
            tg_tui_feed_lock(v->feed);
        quit = tg_tui_live_pump(v->ui, wait) == TG_TUI_QUIT;
        if (v->feed != NULL)
            tg_tui_feed_unlock(v->feed);
    }
    tg_tui_feed_stop(v->feed);      /* the user quit before the end */
    v->feed = NULL;
    v->signal = tg_tui_live_quit_signal(v->ui);
    tg_tui_live_stop(v->ui);
    v->ui = NULL;
    if (warning[0])
        tg_cli_error("%s: %s", v->path, warning);
    return status;
}

int tg_cmd_view(int argc, char **argv)
{
    enum { OPT_NO_COLOR = 256 };
    static const struct option longopts[] = {
        { "follow", no_argument, NULL, 'f' },
        { "no-color", no_argument, NULL, OPT_NO_COLOR },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct view v = { 0 };
    bool no_color = false;
    int c;

    while ((c = tg_cli_getopt("view", argc, argv, "fh", longopts)) != -1) {
        switch (c) {
        case 'f': v.follow = true; break;
        case OPT_NO_COLOR: no_color = true; break;
        case 'h': return tg_cli_help(usage);
        default: return TG_STATUS_USAGE;
        }
    }
    int bad = tg_cli_trace_operand("view", argc, argv, &v.path);
    if (bad)
        return bad;

    int status;
    if (v.follow) {
        /* a trace the tracer has created but not initialised yet: wait for
         * it a little, as `tail -f` would */
        char why[256] = "";
        int err = TG_TRACE_EEMPTY;
        for (int i = 0; i < 100 && err == TG_TRACE_EEMPTY; i++) {
            err = tg_trace_open(v.path, TG_OPEN_FOLLOW, &v.trace, why, sizeof why);
            if (err == TG_TRACE_EEMPTY)
                nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
        }
        if (err < 0) {
            tg_cli_error("%s: cannot read trace: %s", v.path, why[0] ? why : tg_trace_strerror(err));
            return TG_STATUS_BAD_INPUT;
        }
    } else if ((status = tg_cli_open_trace(v.path, 0, &v.trace)) != TG_STATUS_OK) {
        return status;
    }
    v.syms = tg_symbols_new(v.trace);
    status = run_view(&v, v.path, no_color);
    if (v.rep != NULL)
        tg_report_free(v.rep);
    found_free(&v.found);
    tg_analysis_free(v.analysis);
    free(v.detect.found);
    tg_symbols_free(v.syms);
    tg_trace_close(v.trace);
    if (v.signal != 0) {
        /* ended by SIGTERM & co: the terminal is back; end as the signal would */
        signal(v.signal, SIG_DFL);
        raise(v.signal);
    }
    return status;
}

/* ---- the live view of `tangle run --live` (cli.h) ---- */

struct tg_live {
    struct tg_tui_live *ui;
    struct tg_trace *trace;
    struct tg_symbols *syms;
    struct tg_report *rep;
    struct found found;           /* what tangle run reported (not suppressed) */
    char *output;                 /* what PROGRAM printed, once the view is gone */
    size_t noutput;
};

struct tg_live *tg_live_new(struct tg_trace *t, struct tg_symbols *s)
{
    struct tg_live *l = calloc(1, sizeof *l);
    struct tg_trace_summary sum;
    char err[256], title[300];

    if (l == NULL) {
        tg_cli_error("--live: out of memory");
        return NULL;
    }
    tg_trace_summary(t, &sum);
    snprintf(title, sizeof title, "%s", sum.program && sum.program[0] ? sum.program : "tangle run");
    struct tg_tui_live_options o = { .title = title, .follow = true };
    if (tg_tui_live_start(&l->ui, t, s, &o, err, sizeof err) < 0) {
        tg_cli_error("--live: %s; going on without the view", err);
        free(l);
        return NULL;
    }
    l->trace = t;
    l->syms = s;
    l->rep = quiet_report(t, s);
    return l;
}

void tg_live_event(struct tg_live *l, const struct tg_ev *ev)
{
    if (l->ui == NULL)
        return;
    tg_tui_live_event(l->ui, ev);
}

void tg_live_finding(struct tg_live *l, const struct tg_finding *f)
{
    if (l->ui != NULL)
        found_add(&l->found, l->rep, f);
}

void tg_live_output(struct tg_live *l, const char *data, size_t len, uint64_t now_ns)
{
    if (l->ui != NULL)
        tg_tui_live_output(l->ui, data, len, now_ns);
}

/* Ends the session; keeps what PROGRAM printed to show it afterwards. */
static void close_view(struct tg_live *l)
{
    if (l->ui == NULL)
        return;
    size_t n;
    const char *text = tg_tui_live_output_text(l->ui, &n);
    if (n > 0 && (l->output = malloc(n)) != NULL) {
        memcpy(l->output, text, n);
        l->noutput = n;
    }
    tg_tui_live_stop(l->ui);
    l->ui = NULL;
    /* what it printed is not lost with the screen */
    if (l->noutput > 0) {
        fwrite(l->output, 1, l->noutput, stderr);
        fflush(stderr);
        l->noutput = 0;
    }
}

bool tg_live_tick(struct tg_live *l, uint64_t now_ns)
{
    (void)now_ns;
    if (l->ui == NULL)
        return false;
    found_sync(&l->found, l->ui);
    if (tg_tui_live_pump(l->ui, 0) == TG_TUI_QUIT) {
        close_view(l);
        return false;
    }
    return true;
}

void tg_live_end(struct tg_live *l, int wait_status)
{
    if (l->ui == NULL)
        return;
    found_sync(&l->found, l->ui);
    tg_tui_live_ended(l->ui, wait_status);
    while (tg_tui_live_pump(l->ui, 250) != TG_TUI_QUIT)
        ;
    close_view(l);
}

void tg_live_free(struct tg_live *l)
{
    if (l == NULL)
        return;
    close_view(l);
    if (l->rep != NULL)
        tg_report_free(l->rep);
    found_free(&l->found);
    free(l->output);
    free(l);
}
