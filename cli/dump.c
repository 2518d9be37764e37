/* tangle dump TRACE: every event, one line each, symbolised.
 *
 *       TIME    PID/TID    THREAD           EVENT          OBJECT                RESULT  CALLER
 *   0.001234 4711/4713   Thread-1         MUTEX_ACQ      mutexA                        func1 abba_mythread.c:31
 *
 * Names are cached (names.c), output goes through a large stdio buffer: a
 * dump of millions of events is bound by the reader and the terminal. */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "symbols/symbols.h"
#include "trace/trace.h"

static const char usage[] =
    "usage: tangle dump [OPTIONS] TRACE\n"
    "\n"
    "Prints every event of TRACE in time order, one line each: time since the\n"
    "trace started (seconds), process/thread ids, thread name, event, object\n"
    "(lock names from debug info), result when it is not plain success, and\n"
    "the calling function with its file:line.\n"
    "\n"
    "options:\n"
    "  -s, --stacks          print each event's full call stack under it\n"
    "  -t, --thread=LIST     only these threads: T3 (trace index), an OS tid or\n"
    "                        a thread name; comma-separated\n"
    "  -k, --kind=LIST       only these events: names or patterns such as\n"
    "                        MUTEX_ACQ, 'mutex_*', 'SEM_*'; comma-separated\n"
    "  -p, --pid=PID         only events of this process\n"
    "  -f, --follow          keep printing as a running program writes TRACE\n"
    "      --ns              times as integer nanoseconds\n"
    "  -h, --help            this help\n";

struct dump {
    struct tg_trace *trace;
    struct tg_symbols *syms;
    struct tg_names *names;
    bool stacks, ns;
    char *threads;                /* --thread list, or NULL */
    char *kinds;                  /* --kind list, or NULL */
    long pid;                     /* --pid, or 0 */
    signed char *thread_ok;       /* per thread index: -1 unknown, 0/1 */
    size_t nthread_ok;
    bool kind_ok[TG_EV_COUNT];
};

/* Whether any comma-separated item of LIST satisfies MATCH(item, ctx). */
static bool list_any(const char *list, bool (*match)(const char *item, const void *ctx),
                     const void *ctx)
{
    char item[128];

    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n < sizeof item) {
            memcpy(item, p, n);
            item[n] = '\0';
            if (n && match(item, ctx))
                return true;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

static bool kind_matches(const char *item, const void *ctx)
{
    return fnmatch(item, ctx, FNM_CASEFOLD) == 0;
}

struct thread_query {
    struct dump *d;
    uint32_t index;
};

static bool thread_matches(const char *item, const void *ctx)
{
    const struct thread_query *q = ctx;
    const struct tg_thread_info *ti = tg_trace_thread(q->d->trace, q->index);
    long v;

    if ((item[0] == 'T' || item[0] == 't') && tg_cli_parse_long(item + 1, 0, UINT32_MAX, &v))
        return (uint32_t)v == q->index;
    if (tg_cli_parse_long(item, 1, INT32_MAX, &v))
        return ti && ti->os_tid == (uint32_t)v;
    return strcmp(item, tg_names_thread(q->d->names, q->index)) == 0;
}

static bool thread_selected(struct dump *d, uint32_t thread)
{
    if (!d->threads)
        return true;
    if (thread >= d->nthread_ok) {
        size_t n = d->nthread_ok ? d->nthread_ok : 64;
        while (n <= thread)
            n *= 2;
        signed char *p = realloc(d->thread_ok, n);
        if (!p)
            return true;
        memset(p + d->nthread_ok, -1, n - d->nthread_ok);
        d->thread_ok = p;
        d->nthread_ok = n;
    }
    if (d->thread_ok[thread] < 0) {
        struct thread_query q = { d, thread };
        d->thread_ok[thread] = list_any(d->threads, thread_matches, &q);
    }
    return d->thread_ok[thread];
}

/* The thread a pthread_t names in PROCESS, as its name once it has started,
 * as T<n> (what THREAD_CREATE showed) before: a join or detach can come
 * before the new thread runs. A pthread_t no create gave: its value. */
static void pthread_name(struct dump *d, uint32_t process, uint64_t pthread, char *buf,
                         size_t len)
{
    uint32_t index = tg_trace_pthread_target(d->trace, process, pthread);

    if (index == TG_NO_THREAD)
        snprintf(buf, len, "0x%" PRIx64, pthread);
    else if (tg_trace_thread(d->trace, index))
        snprintf(buf, len, "%s", tg_names_thread(d->names, index));
    else
        snprintf(buf, len, "T%" PRIu32, index);
}

/* The OBJECT column: what the event is about, named. */
static void describe_object(struct dump *d, const struct tg_ev *ev, char *buf, size_t len)
{
    char a[32], b[32];
    const struct tg_thread_info *ti;

    switch (ev->kind) {
    case TG_EV_THREAD_START:
        ti = tg_trace_thread(d->trace, ev->thread);
        if (ti && ti->parent != TG_NO_THREAD)
            snprintf(buf, len, "from %s", tg_names_thread(d->names, ti->parent));
        else
            snprintf(buf, len, "first thread");
        return;
    case TG_EV_THREAD_CREATE:
        snprintf(buf, len, "T%" PRIu32, (uint32_t)ev->p0);
        return;
    case TG_EV_JOIN_REQ:
    case TG_EV_JOIN_DONE:
    case TG_EV_DETACH:
        pthread_name(d, ev->process, ev->obj, buf, len);
        return;
    case TG_EV_THREAD_NAME:
        snprintf(buf, len, "\"%s\"", ev->str ? ev->str : "");
        return;
    case TG_EV_THREAD_EXIT:
    case TG_EV_TIME:
        buf[0] = '\0';
        return;
    case TG_EV_LOST:
        snprintf(buf, len, "%s events", tg_cli_fmt_count(ev->p0, a, sizeof a));
        return;
    case TG_EV_COND_WAIT:
    case TG_EV_COND_WOKE:
        snprintf(buf, len, "%s", tg_names_object(d->names, ev->process, ev->obj));
        if (ev->p0)
            snprintf(buf + strlen(buf), len - strlen(buf), " with %s",
                     tg_names_object(d->names, ev->process, ev->p0));
        return;
    case TG_EV_SEM_INIT:
        snprintf(buf, len, "%s value=%" PRIu64, tg_names_object(d->names, ev->process, ev->obj), ev->p0);
        return;
    case TG_EV_BARRIER_INIT:
        snprintf(buf, len, "%s count=%" PRIu64, tg_names_object(d->names, ev->process, ev->obj), ev->p0);
        return;
    case TG_EV_SLEEP_BEGIN:
        snprintf(buf, len, "%s", tg_cli_fmt_duration(ev->p0, a, sizeof a));
        return;
    case TG_EV_SLEEP_END:
        buf[0] = '\0';
        return;
    case TG_EV_FORK:
        snprintf(buf, len, "child pid %" PRIu64, ev->p0);
        return;
    case TG_EV_PROCESS_EXIT: {
        int st = (int)ev->p0;
        const char *how = ev->p1 == TG_EXIT_UNDERSCORE ? " (_exit)" : ev->p1 == TG_EXIT_EXEC ? " (exec)" : "";
        if (ev->p1 != TG_EXIT_EXEC && (st & 0x7f))
            snprintf(buf, len, "killed by %s", tg_cli_signal_name(st & 0x7f, b, sizeof b));
        else
            snprintf(buf, len, "status %d%s", (st >> 8) & 0xff, how);
        return;
    }
    case TG_EV_EXEC_FAIL: {
        const char *name = strerrorname_np((int)ev->p0);
        snprintf(buf, len, "%s: exec failed, the process goes on", name ? name : "error");
        return;
    }
    case TG_EV_WATCH_ACCESS:
        snprintf(buf, len, "%s %s %u", tg_names_object(d->names, ev->process, ev->obj),
                 ev->arg & TG_ACCESS_WRITE ? "write" : "read", ev->arg & 0x7fu);
        return;
    default:
        snprintf(buf, len, "%s", tg_names_object(d->names, ev->process, ev->obj));
        return;
    }
}

/* The object's recorded attributes that are not the default, appended to
 * the OBJECT column: the mutex type (a recursive and an errorcheck mutex
 * behave differently), process-shared objects and timed calls. */
static void append_flags(const struct tg_ev *ev, char *buf, size_t len)
{
    static const char *const mtypes[] = {
        [TG_MUTEX_RECURSIVE] = "recursive", [TG_MUTEX_ERRORCHECK] = "errorcheck",
        [TG_MUTEX_ADAPTIVE] = "adaptive",
    };
    size_t used = strlen(buf);
    const char *words[3] = {
        ev->kind >= TG_EV_MUTEX_INIT && ev->kind <= TG_EV_MUTEX_REL && ev->mtype < 4
            ? mtypes[ev->mtype] : NULL,
        ev->pshared ? "pshared" : NULL,
        ev->timed ? "timed" : NULL,
    };

    for (size_t i = 0; i < 3; i++)
        if (words[i] && used < len) {
            snprintf(buf + used, len - used, "%s%s", used ? " " : "", words[i]);
            used += strlen(buf + used);
        }
}

static bool is_try(unsigned kind)
{
    return kind == TG_EV_MUTEX_TRY || kind == TG_EV_RD_TRY || kind == TG_EV_WR_TRY ||
           kind == TG_EV_SPIN_TRY || kind == TG_EV_SEM_TRY;
}

static void print_stack(struct dump *d, const struct tg_ev *ev, FILE *out)
{
    const uint64_t *frames;
    uint32_t nframes;
    struct tg_frame f[8];
    char buf[512];

    if (!ev->stack || !tg_trace_stack(d->trace, ev->stack, &frames, &nframes))
        return;
    for (uint32_t i = 0; i < nframes; i++) {
        size_t n = d->syms ? tg_symbols_frames(d->syms, ev->process, frames[i], f, 8) : 0;
        if (n == 0) {
            f[0] = (struct tg_frame){ .pc = frames[i] };
            n = 1;
        }
        for (size_t j = 0; j < n && j < 8; j++)
            fprintf(out, "%22s#%-2u %s\n", "", i, tg_symbols_format_frame(&f[j], buf, sizeof buf));
    }
}

static void print_event(struct dump *d, const struct tg_ev *ev, FILE *out)
{
    const struct tg_thread_info *ti = tg_trace_thread(d->trace, ev->thread);
    const struct tg_process_info *pi = tg_trace_process(d->trace, ev->process);
    char when[32], object[320];
    const char *result = "";

    if (d->ns)
        snprintf(when, sizeof when, "%12" PRIu64, ev->ts);
    else
        snprintf(when, sizeof when, "%5" PRIu64 ".%06" PRIu64, ev->ts / 1000000000u,
                 ev->ts % 1000000000u / 1000u);
    describe_object(d, ev, object, sizeof object);
    append_flags(ev, object, sizeof object);
    if (ev->result != TG_OK || is_try(ev->kind))
        result = tg_result_name(ev->result);

    char line[1024];
    int n = snprintf(line, sizeof line, "%s %6" PRIu32 "/%-7" PRIu32 " %-16s %-15s %-24s %-8s %s",
                     when, pi ? pi->pid : 0, ti ? ti->os_tid : 0,
                     tg_names_thread(d->names, ev->thread), tg_event_name(ev->kind), object,
                     result, tg_names_caller(d->names, ev->process, ev->stack));
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    while (len > 0 && line[len - 1] == ' ')    /* no trailing blanks when columns are empty */
        len--;
    line[len++] = '\n';
    fwrite(line, 1, len, out);
    if (d->stacks)
        print_stack(d, ev, out);
}

static bool selected(struct dump *d, const struct tg_ev *ev)
{
    if (ev->kind >= TG_EV_COUNT || !d->kind_ok[ev->kind])
        return false;
    if (d->pid) {
        const struct tg_process_info *pi = tg_trace_process(d->trace, ev->process);
        if (!pi || pi->pid != (uint32_t)d->pid)
            return false;
    }
    return thread_selected(d, ev->thread);
}

/* THREAD_NAME names the thread OBJ (any thread may rename any other):
 * later lines show, and --thread matches, the new name. */
static void renamed(struct dump *d, const struct tg_ev *ev)
{
    const struct tg_thread_info *ti = tg_trace_thread_by_pthread(d->trace, ev->process, ev->obj);

    if (!ti)
        return;
    tg_names_forget_thread(d->names, ti->index);
    if (ti->index < d->nthread_ok)
        d->thread_ok[ti->index] = -1;
}

static int dump_events(struct dump *d, const char *path, bool follow)
{
    struct tg_ev ev;
    int r;

    for (;;) {
        while ((r = tg_trace_next(d->trace, &ev)) > 0) {
            if (ev.kind == TG_EV_THREAD_NAME)
                renamed(d, &ev);
            if (selected(d, &ev))
                print_event(d, &ev, stdout);
        }
        if (r < 0) {
            tg_cli_flush_stdout();
            return tg_cli_trace_error(path, d->trace, r);
        }
        if (!follow || tg_trace_done(d->trace))
            break;
        fflush(stdout);
        nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
    }
    return TG_STATUS_OK;
}

/* --follow on a trace whose program has just started: like tail -F, give
 * the tracer a moment to create and initialise the file. */
static void wait_for_writer(const char *path)
{
    for (int i = 0; i < 250; i++) {             /* 5 s */
        struct tg_trace *t;
        int err = tg_trace_open(path, TG_OPEN_FOLLOW, &t, NULL, 0);
        if (err == 0) {
            tg_trace_close(t);
            return;
        }
        if (err != TG_TRACE_EEMPTY && !(err == TG_TRACE_EIO && errno == ENOENT))
            return;
        nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
    }
}

int tg_cmd_dump(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "stacks", no_argument, NULL, 's' },
        { "thread", required_argument, NULL, 't' },
        { "kind", required_argument, NULL, 'k' },
        { "pid", required_argument, NULL, 'p' },
        { "follow", no_argument, NULL, 'f' },
        { "ns", no_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct dump d = { 0 };
    bool follow = false;
    int c;

    while ((c = tg_cli_getopt("dump", argc, argv, "st:k:p:fh", longopts)) != -1) {
        switch (c) {
        case 's': d.stacks = true; break;
        case 't': d.threads = optarg; break;
        case 'k': d.kinds = optarg; break;
        case 'f': follow = true; break;
        case 'n': d.ns = true; break;
        case 'p':
            if (!tg_cli_parse_long(optarg, 1, INT32_MAX, &d.pid))
                return tg_cli_usage_error("dump", "--pid needs a process id, not '%s'", optarg);
            break;
        case 'h':
            return tg_cli_help(usage);
        default:
            return TG_STATUS_USAGE;
        }
    }
    const char *path;
    int bad = tg_cli_trace_operand("dump", argc, argv, &path);
    if (bad)
        return bad;

    bool any_kind = false;
    for (unsigned k = 0; k < TG_EV_COUNT; k++) {
        d.kind_ok[k] = k != TG_EV_NONE && k != TG_EV_TIME &&
                       (!d.kinds || list_any(d.kinds, kind_matches, tg_event_name(k)));
        any_kind |= d.kind_ok[k];
    }
    if (!any_kind)
        return tg_cli_usage_error("dump", "--kind '%s' matches no event kind", d.kinds);

    if (follow)
        wait_for_writer(path);
    int status = tg_cli_open_trace(path, follow ? TG_OPEN_FOLLOW : 0, &d.trace);
    if (status)
        return status;
    d.syms = tg_symbols_new(d.trace);
    d.names = tg_names_new(d.trace, d.syms);
    if (!d.names) {
        tg_cli_error("out of memory");
        status = TG_STATUS_FAILED;
    } else {
        static char buf[1 << 20];
        setvbuf(stdout, buf, _IOFBF, sizeof buf);
        status = dump_events(&d, path, follow);
        int flushed = tg_cli_flush_stdout();
        if (!status)
            status = flushed;
    }
    tg_names_free(d.names);
    tg_symbols_free(d.syms);
    tg_trace_close(d.trace);
    free(d.thread_ok);
    return status;
}
