/* tangle stats TRACE: where the threads waited. Per lock: acquisitions,
 * contended acquisitions, total and longest wait, longest hold, owner
 * changes (what mutrace prints); per thread: time running, waiting in
 * tracked calls, sleeping. The numbers come from the detectors' contention
 * analysis (detectors.h), the same the TUI's stats view shows; this file
 * names, sorts and prints them. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "detectors/detectors.h"
#include "symbols/symbols.h"
#include "trace/trace.h"

static const char usage[] =
    "usage: tangle stats [OPTIONS] TRACE\n"
    "\n"
    "Per-lock contention and per-thread wait tables of TRACE.\n"
    "\n"
    "locks:   ACQUIRED    acquisitions (blocking, timed and successful try calls)\n"
    "         CONTENDED   acquisitions that had to wait for another holder\n"
    "         TOTAL WAIT  time threads spent waiting for it, MAX WAIT the longest\n"
    "         MAX HOLD    the longest time one thread held it\n"
    "         CHANGES     how often it was acquired by another thread than last\n"
    "         (semaphores: acquisitions are successful waits and trywaits; MAX HOLD\n"
    "         and CHANGES are '-': any thread may post what another took)\n"
    "threads: RUNNING     alive and not in a tracked wait or sleep (includes time\n"
    "                     in untracked system calls such as read or poll)\n"
    "         WAITING     blocked in lock, condition, semaphore, barrier or join\n"
    "         SLEEPING    in sleep, usleep, nanosleep, clock_nanosleep\n"
    "\n"
    "options:\n"
    "  -s, --sort=KEY    order of the lock table: contended (default), wait,\n"
    "                    max-wait, hold, acquired, changes, name\n"
    "  -n, --top=N       show the N first locks only\n"
    "  -h, --help        this help\n";

/* A lock's row: the analysis's numbers and the name a person reads. */
struct lock_row {
    const struct tg_lock_stats *st;
    char *name;
};

enum sort_key { SORT_CONTENDED, SORT_WAIT, SORT_MAX_WAIT, SORT_HOLD, SORT_ACQUIRED,
                SORT_CHANGES, SORT_NAME };
static const char *const sort_names[] = { "contended", "wait", "max-wait", "hold",
                                          "acquired", "changes", "name" };
static enum sort_key sort_by;

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? 1 : a > b ? -1 : 0;    /* larger first */
}

static int cmp_locks(const void *pa, const void *pb)
{
    const struct lock_row *ra = pa, *rb = pb;
    const struct tg_lock_stats *a = ra->st, *b = rb->st;
    int c = 0;

    switch (sort_by) {
    case SORT_CONTENDED: c = cmp_u64(a->contended, b->contended); break;
    case SORT_WAIT:      c = cmp_u64(a->total_wait_ns, b->total_wait_ns); break;
    case SORT_MAX_WAIT:  c = cmp_u64(a->max_wait_ns, b->max_wait_ns); break;
    case SORT_HOLD:      c = cmp_u64(a->max_hold_ns, b->max_hold_ns); break;
    case SORT_ACQUIRED:  c = cmp_u64(a->acquisitions, b->acquisitions); break;
    case SORT_CHANGES:   c = cmp_u64(a->owner_changes, b->owner_changes); break;
    case SORT_NAME:      c = strcmp(ra->name, rb->name); break;
    }
    /* ties: the most waited-for first, then by name, so output is stable */
    if (!c)
        c = cmp_u64(a->total_wait_ns, b->total_wait_ns);
    if (!c)
        c = cmp_u64(a->acquisitions, b->acquisitions);
    return c ? c : strcmp(ra->name, rb->name);
}

static char *lock_name(struct tg_symbols *syms, const struct tg_lock_stats *l)
{
    char buf[512];
    const char *what = tg_obj_kind_name(l->kind);
    const char *name = syms ? tg_symbols_object_name(syms, l->process, l->addr, what,
                                                     l->site_stack, !l->site_is_init,
                                                     buf, sizeof buf)
                            : NULL;
    if (!name) {
        snprintf(buf, sizeof buf, "%s 0x%" PRIx64, what, l->addr);
        name = buf;
    }
    return strdup(name);
}

static void print_locks(struct lock_row *rows, size_t n, long top)
{
    char n1[32], n2[32], n3[32], d1[32], d2[32], d3[32];
    size_t shown = top > 0 && (size_t)top < n ? (size_t)top : n;
    int width = 20;

    for (size_t i = 0; i < shown; i++) {
        int len = (int)strlen(rows[i].name);
        if (len > width)
            width = len > 48 ? 48 : len;
    }
    printf("Locks: %zu, by %s%s\n", n, sort_names[sort_by],
           shown < n ? " (first shown)" : "");
    if (!n)
        return;
    printf("  %-*s %-8s %10s %10s %10s %10s %10s %9s\n", width, "LOCK", "KIND", "ACQUIRED",
           "CONTENDED", "TOTAL WAIT", "MAX WAIT", "MAX HOLD", "CHANGES");
    for (size_t i = 0; i < shown; i++) {
        const struct tg_lock_stats *l = rows[i].st;
        bool sem = l->kind == TG_OBJ_SEM;     /* no owner: no hold, no owner change */
        printf("  %-*s %-8s %10s %10s %10s %10s %10s %9s\n", width, rows[i].name,
               sem ? "sem" : tg_obj_kind_name(l->kind),
               tg_cli_fmt_count(l->acquisitions, n1, sizeof n1),
               tg_cli_fmt_count(l->contended, n2, sizeof n2),
               tg_cli_fmt_duration(l->total_wait_ns, d1, sizeof d1),
               tg_cli_fmt_duration(l->max_wait_ns, d2, sizeof d2),
               sem ? "-" : tg_cli_fmt_duration(l->max_hold_ns, d3, sizeof d3),
               sem ? "-" : tg_cli_fmt_count(l->owner_changes, n3, sizeof n3));
    }
}

static void print_threads(const struct tg_contention *c, struct tg_trace *t,
                          struct tg_names *names)
{
    const struct tg_thread_stats *ts;
    size_t n = tg_contention_threads(c, &ts);
    char d1[32], d2[32], d3[32], d4[32], id[16];

    printf("\nThreads: %zu\n", n);
    if (!n)
        return;
    printf("  %-6s %-16s %8s %10s %10s %10s %10s\n", "THREAD", "NAME", "TID", "RUNNING",
           "WAITING", "SLEEPING", "LIFETIME");
    for (size_t i = 0; i < n; i++) {
        const struct tg_thread_info *ti = tg_trace_thread(t, ts[i].thread);
        uint64_t life = ts[i].end_ts > ts[i].start_ts ? ts[i].end_ts - ts[i].start_ts : 0;
        snprintf(id, sizeof id, "T%" PRIu32, ts[i].thread);
        printf("  %-6s %-16s %8" PRIu32 " %10s %10s %10s %10s%s\n", id,
               tg_names_thread(names, ts[i].thread), ti ? ti->os_tid : 0,
               tg_cli_fmt_duration(ts[i].running_ns, d1, sizeof d1),
               tg_cli_fmt_duration(ts[i].waiting_ns, d2, sizeof d2),
               tg_cli_fmt_duration(ts[i].sleeping_ns, d3, sizeof d3),
               tg_cli_fmt_duration(life, d4, sizeof d4),
               ti && ti->end_ts ? "" : " (alive)");
    }
}

static int cmp_names(const void *pa, const void *pb)
{
    const struct lock_row *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    return c ? c : a->st->process < b->st->process ? -1 : a->st->process > b->st->process;
}

/* A name that more than one process uses (a global mutex before and after a
 * fork, a process-shared lock) gets the pid of each row's process: "cm [pid
 * 4711]". Names within one process stay as they are. False if out of memory. */
static bool name_processes(struct lock_row *rows, size_t n, struct tg_trace *t)
{
    qsort(rows, n, sizeof *rows, cmp_names);
    for (size_t i = 0, end; i < n; i = end) {
        for (end = i + 1; end < n && !strcmp(rows[end].name, rows[i].name); end++)
            ;
        if (rows[end - 1].st->process == rows[i].st->process)
            continue;
        for (size_t k = i; k < end; k++) {
            const struct tg_process_info *pi = tg_trace_process(t, rows[k].st->process);
            char *named;
            int len = pi ? asprintf(&named, "%s [pid %" PRIu32 "]", rows[k].name, pi->pid)
                         : asprintf(&named, "%s [process %" PRIu32 "]", rows[k].name,
                                    rows[k].st->process);
            if (len < 0)
                return false;
            free(rows[k].name);
            rows[k].name = named;
        }
    }
    return true;
}

/* Everything is read: names, sorts and prints the tables. */
static int print_tables(struct tg_contention *c, struct tg_trace *t, long top)
{
    const struct tg_lock_stats *ls;
    size_t n = tg_contention_locks(c, &ls);
    struct lock_row *rows = calloc(n ? n : 1, sizeof *rows);
    struct tg_symbols *syms = tg_symbols_new(t);
    struct tg_names *names = tg_names_new(t, syms);
    int status = TG_STATUS_OK;

    if (!rows || !names) {
        tg_cli_error("out of memory");
        status = TG_STATUS_FAILED;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].st = &ls[i];
        if (!(rows[i].name = lock_name(syms, rows[i].st))) {
            tg_cli_error("out of memory");
            status = TG_STATUS_FAILED;
            goto out;
        }
    }
    if (!name_processes(rows, n, t)) {
        tg_cli_error("out of memory");
        status = TG_STATUS_FAILED;
        goto out;
    }
    qsort(rows, n, sizeof *rows, cmp_locks);
    print_locks(rows, n, top);
    print_threads(c, t, names);
    status = tg_cli_flush_stdout();
out:
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].name);
    free(rows);
    tg_names_free(names);
    tg_symbols_free(syms);
    return status;
}

int tg_cmd_stats(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "sort", required_argument, NULL, 's' },
        { "top", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long top = 0;
    int c;

    sort_by = SORT_CONTENDED;
    while ((c = tg_cli_getopt("stats", argc, argv, "s:n:h", longopts)) != -1) {
        switch (c) {
        case 's': {
            size_t k = 0;
            while (k < sizeof sort_names / sizeof sort_names[0] && strcmp(sort_names[k], optarg))
                k++;
            if (k == sizeof sort_names / sizeof sort_names[0])
                return tg_cli_usage_error("stats", "--sort: unknown key '%s' (contended, wait,"
                                          " max-wait, hold, acquired, changes, name)", optarg);
            sort_by = (enum sort_key)k;
            break;
        }
        case 'n':
            if (!tg_cli_parse_long(optarg, 1, INT32_MAX, &top))
                return tg_cli_usage_error("stats", "--top needs a positive number, not '%s'", optarg);
            break;
        case 'h':
            return tg_cli_help(usage);
        default:
            return TG_STATUS_USAGE;
        }
    }
    const char *path;
    int bad = tg_cli_trace_operand("stats", argc, argv, &path);
    if (bad)
        return bad;
    struct tg_trace *t;
    struct tg_contention *cs = NULL;
    struct tg_ev ev;
    int r = 0, err = 0;

    int status = tg_cli_open_trace(path, 0, &t);
    if (status)
        return status;
    if ((err = tg_contention_new(&cs)) == 0)
        while ((r = tg_trace_next(t, &ev)) > 0 && (err = tg_contention_feed(cs, &ev)) == 0)
            ;
    if (err < 0) {
        tg_cli_error("%s: cannot compute the statistics: %s", path, strerror(-err));
        status = TG_STATUS_FAILED;
    } else if (r < 0) {
        status = tg_cli_trace_error(path, t, r);
    } else {
        tg_contention_finish(cs, tg_trace_now(t));
        status = print_tables(cs, t, top);
    }
    tg_contention_free(cs);
    tg_trace_close(t);
    return status;
}
