/* tangle export --chrome TRACE: the trace as Chrome trace-event JSON, for
 * Perfetto (ui.perfetto.dev) and chrome://tracing.
 *
 * Per thread: a slice for its life, and inside it a slice per lock hold
 * ("hold mutexA") and per blocking call ("wait mutexB", "cond wait",
 * "sleep"...), with lock names and symbolised stacks in args. Slices of a
 * thread always nest: a hold released out of order (lock A, lock B, unlock
 * A) is closed with the holds inside it and those are reopened, so every
 * viewer draws them. A flow arrow goes from each unlock to the next
 * acquisition of the same lock by another thread (who handed it to whom),
 * and each finding is a global instant event. Times are microseconds since
 * the trace's start. The lanes come from the timeline model (tui/), the
 * findings from the detectors. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report_int.h"
#include "detectors/detectors.h"
#include "symbols/symbols.h"
#include "trace/trace.h"
#include "tui/tui.h"


static const char usage[] =
    "usage: tangle export --chrome [OPTIONS] TRACE\n"
    "\n"
    "Writes TRACE as Chrome trace-event JSON on standard output (or -o FILE):\n"
    "open it in https://ui.perfetto.dev or chrome://tracing. One track per\n"
    "thread with its lock holds and waits (lock names and stacks in args),\n"
    "arrows from each unlock to the next thread that got the lock, and a\n"
    "marker per finding.\n"
    "\n"
    "options:\n"
    "      --chrome       Chrome trace-event JSON (the only format so far)\n"
    "  -o, --output=FILE  write to FILE instead of standard output\n"
    "  -h, --help         this help\n";

struct exporter {
    FILE *out;
    struct tg_trace *trace;
    struct tg_symbols *syms;
    struct tg_tui_model *m;
    char **stacks;                /* stack id -> JSON array, cached */
    size_t nstacks;
    uint64_t flow_id;
    bool first;
};

/* ---- JSON ---- */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* ns -> "123.456" microseconds */
static void jtime(FILE *f, uint64_t ns)
{
    fprintf(f, "%" PRIu64 ".%03u", ns / 1000, (unsigned)(ns % 1000));
}

static void begin_event(struct exporter *e)
{
    fputs(e->first ? "\n" : ",\n", e->out);
    e->first = false;
}

/* The stack as a JSON array of "function file:line", cached by id. */
static const char *stack_json(struct exporter *e, uint32_t process, uint32_t id)
{
    if (id == 0)
        return NULL;
    if (id >= e->nstacks) {
        size_t n = e->nstacks ? e->nstacks : 256;
        while (n <= id)
            n *= 2;
        char **p = realloc(e->stacks, n * sizeof *p);
        if (p == NULL)
            return NULL;
        memset(p + e->nstacks, 0, (n - e->nstacks) * sizeof *p);
        e->stacks = p;
        e->nstacks = n;
    }
    if (e->stacks[id] != NULL)
        return e->stacks[id];
    const uint64_t *frames;
    uint32_t n;
    if (!tg_trace_stack(e->trace, id, &frames, &n))
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m == NULL)
        return NULL;
    fputc('[', m);
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
        char line[512];
        struct tg_frame fr[8];
        size_t got = e->syms ? tg_symbols_frames(e->syms, process, frames[i], fr, 8) : 0;
        if (got > 0) {
            /* the tracer's own frames are not the program's, as in reports */
            const char *mod = fr[0].module ? strrchr(fr[0].module, '/') : NULL;
            mod = mod ? mod + 1 : fr[0].module;
            if (mod != NULL && strncmp(mod, "libtangle.", 10) == 0)
                continue;
        }
        for (size_t k = 0; k < (got ? got : 1) && k < 8; k++) {
            if (got)
                tg_symbols_format_frame(&fr[k], line, sizeof line);
            else
                snprintf(line, sizeof line, "%#" PRIx64, frames[i]);
            if (!first)
                fputc(',', m);
            first = false;
            jstr(m, line);
        }
    }
    fputc(']', m);
    fclose(m);
    e->stacks[id] = buf;
    return buf;
}

/* ---- names ---- */

static const char *thread_name(struct exporter *e, uint32_t lane, char *buf, size_t len)
{
    const struct tg_tui_thread *t = tg_tui_model_thread(e->m, lane);
    const struct tg_thread_info *ti = tg_trace_thread(e->trace, t->index);
    struct tg_frame f;

    if (t->name != NULL)
        snprintf(buf, len, "%s", t->name);
    else if (ti != NULL && ti->name != NULL && ti->name[0])
        snprintf(buf, len, "%s", ti->name);
    else if (ti == NULL || ti->parent == TG_NO_THREAD)
        snprintf(buf, len, "main");
    else if (ti->start_routine && e->syms && tg_symbols_pc(e->syms, t->process, ti->start_routine, &f)
             && f.function)
        snprintf(buf, len, "%s", f.function);
    else
        snprintf(buf, len, "T%" PRIu32, t->index);
    return buf;
}

static const char *object_name(struct exporter *e, uint32_t id)
{
    const struct tg_tui_object *o = tg_tui_model_object(e->m, id);
    char buf[512];

    if (o == NULL)
        return "?";
    if (o->name != NULL)
        return o->name;
    if (e->syms != NULL)
        tg_symbols_object_name(e->syms, o->process, o->addr, tg_tui_objkind_name(o->kind),
                               o->site_stack, !o->site_is_init, buf, sizeof buf);
    else
        snprintf(buf, sizeof buf, "%s %#" PRIx64, tg_tui_objkind_name(o->kind), o->addr);
    tg_tui_model_set_object_name(e->m, id, buf);
    return o->name ? o->name : "?";
}

static uint32_t pid_of(struct exporter *e, uint32_t process)
{
    const struct tg_process_info *p = tg_trace_process(e->trace, process);
    return p != NULL ? p->pid : process;
}

static uint32_t tid_of(struct exporter *e, uint32_t lane)
{
    const struct tg_tui_thread *t = tg_tui_model_thread(e->m, lane);
    const struct tg_thread_info *ti = tg_trace_thread(e->trace, t->index);
    return ti != NULL && ti->os_tid ? ti->os_tid : t->index;
}

/* ---- slices ---- */

static void slice(struct exporter *e, uint32_t lane, const char *cat, const char *name,
                  uint64_t from, uint64_t to, uint32_t obj, uint32_t stack, const char *extra)
{
    const struct tg_tui_thread *t = tg_tui_model_thread(e->m, lane);
    begin_event(e);
    fputs("{\"ph\":\"X\",\"cat\":", e->out);
    jstr(e->out, cat);
    fputs(",\"name\":", e->out);
    jstr(e->out, name);
    fprintf(e->out, ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32 ",\"ts\":", pid_of(e, t->process),
            tid_of(e, lane));
    jtime(e->out, from);
    fputs(",\"dur\":", e->out);
    jtime(e->out, to > from ? to - from : 0);
    fputs(",\"args\":{", e->out);
    bool comma = false;
    if (obj != TG_TUI_NONE) {
        const struct tg_tui_object *o = tg_tui_model_object(e->m, obj);
        fputs("\"object\":", e->out);
        jstr(e->out, object_name(e, obj));
        fprintf(e->out, ",\"kind\":\"%s\",\"address\":\"%#" PRIx64 "\"",
                tg_tui_objkind_name(o->kind), o->addr);
        comma = true;
    }
    const char *st = stack_json(e, t->process, stack);
    if (st != NULL) {
        fprintf(e->out, "%s\"stack\":%s", comma ? "," : "", st);
        comma = true;
    }
    if (extra != NULL)
        fprintf(e->out, "%s%s", comma ? "," : "", extra);
    fputs("}}", e->out);
}

struct hold {
    uint32_t obj;
    uint32_t count;
    uint64_t from;
    uint32_t stack;
    bool continued;
};

struct holds {
    struct hold *v;
    size_t n, cap;
};

static void hold_slice(struct exporter *e, uint32_t lane, const struct hold *h, uint64_t to)
{
    char name[600];
    snprintf(name, sizeof name, "hold %s", object_name(e, h->obj));
    slice(e, lane, "hold", name, h->from, to, h->obj, h->stack,
          h->continued ? "\"note\":\"continued: an outer lock was released first\"" : NULL);
}

static int push_hold(struct holds *hs, uint32_t obj, uint64_t from, uint32_t stack)
{
    for (size_t i = 0; i < hs->n; i++)
        if (hs->v[i].obj == obj) {
            hs->v[i].count++;       /* recursive */
            return 0;
        }
    if (hs->n == hs->cap) {
        size_t cap = hs->cap ? hs->cap * 2 : 8;
        struct hold *p = realloc(hs->v, cap * sizeof *p);
        if (p == NULL)
            return -ENOMEM;
        hs->v = p;
        hs->cap = cap;
    }
    hs->v[hs->n++] = (struct hold){ obj, 1, from, stack, false };
    return 0;
}

/* Releases OBJ at T (ALL: every level, for a condition wait). Holds taken
 * after it are closed and reopened so slices keep nesting. */
static void pop_hold(struct exporter *e, uint32_t lane, struct holds *hs, uint32_t obj,
                     uint64_t t, bool all)
{
    size_t i = hs->n;
    while (i > 0 && hs->v[i - 1].obj != obj)
        i--;
    if (i == 0)
        return;
    struct hold *h = &hs->v[i - 1];
    if (!all && --h->count > 0)
        return;
    for (size_t k = hs->n; k > i; k--)
        hold_slice(e, lane, &hs->v[k - 1], t);
    hold_slice(e, lane, h, t);
    memmove(h, h + 1, (hs->n - i) * sizeof *h);
    hs->n--;
    for (size_t k = i - 1; k < hs->n; k++) {
        hs->v[k].from = t;
        hs->v[k].continued = true;
    }
}

static bool is_wait_begin(unsigned k)
{
    return k == TG_EV_MUTEX_REQ || k == TG_EV_RD_REQ || k == TG_EV_WR_REQ || k == TG_EV_SPIN_REQ
           || k == TG_EV_SEM_REQ || k == TG_EV_COND_WAIT || k == TG_EV_BARRIER_WAIT
           || k == TG_EV_JOIN_REQ || k == TG_EV_SLEEP_BEGIN;
}

static const char *wait_name(unsigned k)
{
    switch (k) {
    case TG_EV_COND_WAIT: return "cond wait";
    case TG_EV_SEM_REQ: return "sem wait";
    case TG_EV_BARRIER_WAIT: return "barrier wait";
    case TG_EV_JOIN_REQ: return "join";
    case TG_EV_SLEEP_BEGIN: return "sleep";
    default: return "wait";
    }
}

/* Whether the semaphore taken at segment I is given back by this thread
 * (then it is held in between, as a pool's unit). */
static bool sem_returned(struct exporter *e, uint32_t lane, size_t i, uint32_t obj, size_t n)
{
    for (size_t k = i + 1; k < n; k++) {
        struct tg_tui_seg s;
        tg_tui_model_seg(e->m, lane, k, &s);
        if (s.obj != obj)
            continue;
        if (s.kind == TG_EV_SEM_POST)
            return true;
        if (s.kind == TG_EV_SEM_ACQ || (s.kind == TG_EV_SEM_TRY && s.result == TG_OK))
            return false;
    }
    return false;
}

static void thread_slices(struct exporter *e, uint32_t lane)
{
    const struct tg_tui_thread *t = tg_tui_model_thread(e->m, lane);
    uint64_t end = t->end_ts ? t->end_ts : tg_tui_model_end(e->m);
    struct holds hs = { 0 };
    char name[600];

    slice(e, lane, "thread", thread_name(e, lane, name, sizeof name), t->start_ts, end,
          TG_TUI_NONE, 0, NULL);
    size_t n = t->nsegs;
    for (size_t i = 0; i < n; i++) {
        struct tg_tui_seg s;
        tg_tui_model_seg(e->m, lane, i, &s);
        unsigned k = s.kind;
        bool ok = s.result == TG_OK;
        if (k == TG_EV_NONE)
            continue;
        if (is_wait_begin(k)) {
            /* blocked until the thread's next event */
            uint64_t to = end;
            for (size_t j = i + 1; j < n; j++) {
                struct tg_tui_seg o;
                tg_tui_model_seg(e->m, lane, j, &o);
                if (o.kind != TG_EV_NONE) {
                    to = o.ts;
                    break;
                }
            }
            snprintf(name, sizeof name, "%s%s%s", wait_name(k),
                     s.obj != TG_TUI_NONE && k != TG_EV_SLEEP_BEGIN ? " " : "",
                     s.obj != TG_TUI_NONE && k != TG_EV_SLEEP_BEGIN ? object_name(e, s.obj) : "");
            if (k == TG_EV_SLEEP_BEGIN)
                slice(e, lane, "wait", name, s.ts, to, TG_TUI_NONE, s.stack, NULL);
            else
                slice(e, lane, "wait", name, s.ts, to, s.obj, s.stack, NULL);
        }
        switch (k) {
        case TG_EV_MUTEX_ACQ: case TG_EV_RD_ACQ: case TG_EV_WR_ACQ: case TG_EV_SPIN_ACQ:
            push_hold(&hs, s.obj, s.ts, s.stack);
            break;
        case TG_EV_MUTEX_TRY: case TG_EV_RD_TRY: case TG_EV_WR_TRY: case TG_EV_SPIN_TRY:
            if (ok)
                push_hold(&hs, s.obj, s.ts, s.stack);
            break;
        case TG_EV_SEM_ACQ: case TG_EV_SEM_TRY:
            if (ok && sem_returned(e, lane, i, s.obj, n))
                push_hold(&hs, s.obj, s.ts, s.stack);
            break;
        case TG_EV_MUTEX_REL: case TG_EV_RW_REL: case TG_EV_SPIN_REL: case TG_EV_SEM_POST:
            if (ok)
                pop_hold(e, lane, &hs, s.obj, s.ts, false);
            break;
        case TG_EV_COND_WAIT: case TG_EV_COND_WOKE: {
            /* the wait gives the mutex back and the wake-up takes it again */
            const struct tg_tui_object *cv = tg_tui_model_object(e->m, s.obj);
            if (cv == NULL || cv->cond_mutex == TG_TUI_NONE)
                break;
            if (k == TG_EV_COND_WAIT)
                pop_hold(e, lane, &hs, cv->cond_mutex, s.ts, true);
            else if (s.result != TG_INVAL && s.result != TG_PERM)
                push_hold(&hs, cv->cond_mutex, s.ts, s.stack);
            break;
        }
        default:
            break;
        }
    }
    while (hs.n > 0)
        pop_hold(e, lane, &hs, hs.v[0].obj, end, true);
    free(hs.v);
}

/* ---- flows: unlock -> next acquisition by another thread ---- */

static void flow(struct exporter *e, const char *ph, uint32_t lane, uint64_t ts, uint32_t obj)
{
    const struct tg_tui_thread *t = tg_tui_model_thread(e->m, lane);
    begin_event(e);
    fprintf(e->out, "{\"ph\":\"%s\",\"cat\":\"handoff\",\"name\":", ph);
    jstr(e->out, object_name(e, obj));
    fprintf(e->out, ",\"id\":%" PRIu64 ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32 ",\"ts\":",
            e->flow_id, pid_of(e, t->process), tid_of(e, lane));
    jtime(e->out, ts);
    fputs(ph[0] == 'f' ? ",\"bp\":\"e\"}" : "}", e->out);
}

static void lock_flows(struct exporter *e, size_t lock)
{
    uint32_t obj = tg_tui_model_lock_object(e->m, lock);
    uint32_t prev_owner = TG_TUI_NONE, released_by = TG_TUI_NONE;
    uint64_t released_at = 0;
    size_t n = tg_tui_model_lock_nsegs(e->m, lock);

    for (size_t i = 0; i < n; i++) {
        struct tg_tui_lockseg s;
        tg_tui_model_lockseg(e->m, lock, i, &s);
        if (s.owner == prev_owner)
            continue;
        if (s.owner == TG_TUI_NONE) {
            released_by = prev_owner;
            released_at = s.ts;
        } else if (released_by != TG_TUI_NONE && released_by != s.owner) {
            e->flow_id++;
            flow(e, "s", released_by, released_at, obj);
            flow(e, "f", s.owner, s.ts, obj);
            released_by = TG_TUI_NONE;
        }
        prev_owner = s.owner;
    }
}

/* ---- metadata and findings ---- */

static void metadata(struct exporter *e)
{
    char name[600];
    uint32_t seen_process = UINT32_MAX;
    for (size_t lane = 0; lane < tg_tui_model_nthreads(e->m); lane++) {
        const struct tg_tui_thread *t = tg_tui_model_thread(e->m, lane);
        if (t->process != seen_process) {
            const struct tg_process_info *p = tg_trace_process(e->trace, t->process);
            begin_event(e);
            fprintf(e->out, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%" PRIu32
                    ",\"args\":{\"name\":", pid_of(e, t->process));
            jstr(e->out, p && p->cmdline ? p->cmdline : p && p->path ? p->path : "process");
            fputs("}}", e->out);
            seen_process = t->process;
        }
        begin_event(e);
        fprintf(e->out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%" PRIu32 ",\"tid\":%"
                PRIu32 ",\"args\":{\"name\":", pid_of(e, t->process), tid_of(e, (uint32_t)lane));
        jstr(e->out, thread_name(e, (uint32_t)lane, name, sizeof name));
        fprintf(e->out, "}},\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%" PRIu32
                ",\"tid\":%" PRIu32 ",\"args\":{\"sort_index\":%" PRIu32 "}}",
                pid_of(e, t->process), tid_of(e, (uint32_t)lane), t->index);
    }
}

static void findings(struct exporter *e, struct tg_analysis *a, struct tg_report *rep)
{
    const struct tg_finding *const *fs;
    size_t n = tg_analysis_findings(a, &fs);
    char summary[512], name[600];

    for (size_t i = 0; i < n; i++) {
        const struct tg_finding *f = fs[i];
        if (rep != NULL)
            rp_summary(rep, f, summary, sizeof summary);
        else
            snprintf(summary, sizeof summary, "%s (%s)", tg_finding_kind_name(f->kind),
                     tg_finding_sub_name(f->kind, f->sub));
        uint32_t lane = f->nthreads ? tg_tui_model_thread_lane(e->m, f->threads[0]) : TG_TUI_NONE;
        begin_event(e);
        fputs("{\"ph\":\"i\",\"s\":\"g\",\"cat\":\"finding\",\"name\":", e->out);
        jstr(e->out, summary);
        fprintf(e->out, ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32 ",\"ts\":", pid_of(e, f->process),
                lane != TG_TUI_NONE ? tid_of(e, lane) : 0);
        jtime(e->out, f->ts);
        fputs(",\"args\":{\"kind\":", e->out);
        jstr(e->out, tg_finding_kind_name(f->kind));
        fputs(",\"threads\":[", e->out);
        for (uint32_t k = 0; k < f->nthreads; k++) {
            uint32_t l = tg_tui_model_thread_lane(e->m, f->threads[k]);
            if (k)
                fputc(',', e->out);
            jstr(e->out, l != TG_TUI_NONE ? thread_name(e, l, name, sizeof name) : "?");
        }
        fputs("],\"objects\":[", e->out);
        for (uint32_t k = 0; k < f->nobjs; k++) {
            uint32_t id = tg_tui_model_find_object(e->m, f->objs[k].process, f->objs[k].addr);
            if (k)
                fputc(',', e->out);
            jstr(e->out, id != TG_TUI_NONE ? object_name(e, id) : "?");
        }
        fputs("]}}", e->out);
    }
}

int tg_cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "chrome", no_argument, NULL, 'c' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *outpath = NULL;
    bool chrome = false;
    int c;

    while ((c = tg_cli_getopt("export", argc, argv, "co:h", longopts)) != -1) {
        switch (c) {
        case 'c': chrome = true; break;
        case 'o': outpath = optarg; break;
        case 'h': return tg_cli_help(usage);
        default: return TG_STATUS_USAGE;
        }
    }
    if (!chrome)
        return tg_cli_usage_error("export", "say which format: --chrome");
    const char *path;
    int bad = tg_cli_trace_operand("export", argc, argv, &path);
    if (bad)
        return bad;

    struct exporter e = { .first = true };
    int status = tg_cli_open_trace(path, 0, &e.trace);
    if (status != TG_STATUS_OK)
        return status;
    struct tg_analysis *a = NULL;
    e.m = tg_tui_model_new();
    if (e.m == NULL || tg_analysis_new(NULL, &a) < 0) {
        tg_cli_error("out of memory");
        status = TG_STATUS_FAILED;
        goto out;
    }
    struct tg_ev ev;
    int got;
    while ((got = tg_trace_next(e.trace, &ev)) > 0) {
        if (tg_tui_model_add(e.m, &ev) < 0) {
            tg_cli_error("out of memory");
            status = TG_STATUS_FAILED;
            goto out;
        }
        tg_analysis_feed(a, &ev);
    }
    if (got < 0) {
        /* export what was readable, and say it is not all */
        tg_cli_trace_error(path, e.trace, got);
        status = TG_STATUS_BAD_INPUT;
    }
    tg_tui_model_set_now(e.m, tg_trace_now(e.trace));
    tg_analysis_finish(a);
    e.syms = tg_symbols_new(e.trace);

    e.out = stdout;
    if (outpath != NULL && (e.out = fopen(outpath, "w")) == NULL) {
        tg_cli_error("cannot write %s: %s", outpath, strerror(errno));
        status = TG_STATUS_FAILED;
        goto out;
    }
    struct tg_report *rep = rp_new(e.trace, e.syms);
    fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"tool\":\"tangle\"},\"traceEvents\":[", e.out);
    metadata(&e);
    for (size_t lane = 0; lane < tg_tui_model_nthreads(e.m); lane++)
        thread_slices(&e, (uint32_t)lane);
    for (size_t l = 0; l < tg_tui_model_nlocks(e.m); l++)
        lock_flows(&e, l);
    findings(&e, a, rep);
    fputs("\n]}\n", e.out);
    if (rep != NULL)
        tg_report_free(rep);
    if (e.out == stdout) {
        int s = tg_cli_flush_stdout();
        if (s != TG_STATUS_OK)
            status = s;
    } else if (fclose(e.out) != 0) {
        tg_cli_error("cannot write %s: %s", outpath, strerror(errno));
        status = TG_STATUS_FAILED;
    }
out:
    for (size_t i = 0; i < e.nstacks; i++)
        free(e.stacks[i]);
    free(e.stacks);
    tg_analysis_free(a);
    tg_symbols_free(e.syms);
    tg_tui_model_free(e.m);
    tg_trace_close(e.trace);
    return status;
}
