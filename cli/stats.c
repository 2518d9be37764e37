/* tangle stats TRACE: where the threads waited. Per lock: acquisitions,
 * contended acquisitions, total and longest wait, longest hold, owner
 * changes (what mutrace prints); per thread: time running, waiting in
 * tracked calls, sleeping.
 *
 * A thread "waits" for a lock from its REQ to its ACQ (or FAIL): the tracer
 * writes REQ only when the lock was not free (docs/design.md), so an ACQ
 * after a REQ is a contended acquisition. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
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

struct lock_stat {
    uint64_t key;
    uint32_t process;             /* where it was first seen (for its name) */
    uint32_t site_stack;          /* stack of its init or first use */
    bool site_is_init;
    uint8_t what;                 /* 0 mutex, 1 rwlock, 2 spinlock */
    uint64_t acquired, contended, changes;
    uint64_t wait_total, wait_max, hold_max;
    uint32_t last_owner;          /* thread index + 1, 0 = never */
    char *name;
};

/* A thread's relation to one lock. */
struct hold {
    uint64_t req_ts;              /* pending request, 0 if none */
    uint64_t acq_ts;              /* start of the outermost hold */
    uint32_t depth;               /* recursive / shared holds */
    bool requested;
};

enum thread_state { TS_RUN, TS_WAIT, TS_SLEEP };

struct thread_stat {
    uint64_t since;               /* when the current state began */
    uint64_t waiting, sleeping;
    uint64_t start, end;          /* end 0 while alive */
    enum thread_state state;
    bool seen;
};

struct stats {
    struct tg_trace *trace;
    struct lock_stat *locks;
    size_t nlocks, caplocks;
    struct tg_u64map lock_index;  /* lock key → index + 1 */
    struct hold *holds;
    size_t nholds, capholds;
    struct tg_u64map hold_index;  /* lock index << 32 | thread → index + 1 */
    struct thread_stat *threads;
    size_t nthreads;
    bool oom;
};

static void *grow_array(void *arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return arr;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    char *p = realloc(arr, n * size);
    if (!p)
        return NULL;
    memset(p + *cap * size, 0, (n - *cap) * size);
    *cap = n;
    return p;
}

static int lock_what(unsigned kind)
{
    if (kind >= TG_EV_MUTEX_INIT && kind <= TG_EV_MUTEX_REL)
        return 0;
    if (kind >= TG_EV_RW_INIT && kind <= TG_EV_RW_REL)
        return 1;
    if (kind >= TG_EV_SPIN_INIT && kind <= TG_EV_SPIN_REL)
        return 2;
    return -1;
}

static struct lock_stat *lock_of(struct stats *st, const struct tg_ev *ev, int what)
{
    /* a process-shared lock is one lock in every process that maps it */
    uint64_t who = ev->pshared ? 0xffffu : ev->process;
    uint64_t key = who << 48 | (ev->obj & 0xffffffffffffull);
    uint64_t *slot = tg_u64map_slot(&st->lock_index, key);

    if (!slot)
        return NULL;
    if (!*slot) {
        struct lock_stat *l = grow_array(st->locks, &st->caplocks, st->nlocks + 1, sizeof *l);
        if (!l)
            return NULL;
        st->locks = l;
        l = &st->locks[st->nlocks++];
        *l = (struct lock_stat){ .key = key, .process = ev->process, .what = (uint8_t)what,
                                 .site_stack = ev->stack,
                                 .site_is_init = ev->kind == TG_EV_MUTEX_INIT ||
                                                 ev->kind == TG_EV_RW_INIT ||
                                                 ev->kind == TG_EV_SPIN_INIT };
        *slot = st->nlocks;
    }
    return &st->locks[*slot - 1];
}

static struct hold *hold_of(struct stats *st, const struct lock_stat *l, uint32_t thread)
{
    uint64_t key = (uint64_t)(l - st->locks) << 32 | thread;
    uint64_t *slot = tg_u64map_slot(&st->hold_index, key);

    if (!slot)
        return NULL;
    if (!*slot) {
        struct hold *h = grow_array(st->holds, &st->capholds, st->nholds + 1, sizeof *h);
        if (!h)
            return NULL;
        st->holds = h;
        st->nholds++;
        *slot = st->nholds;
    }
    return &st->holds[*slot - 1];
}

static struct thread_stat *thread_of(struct stats *st, uint32_t thread, uint64_t ts)
{
    if (thread >= st->nthreads) {
        size_t cap = st->nthreads;
        struct thread_stat *t = grow_array(st->threads, &cap, (size_t)thread + 1, sizeof *t);
        if (!t)
            return NULL;
        st->threads = t;
        st->nthreads = cap;
    }
    struct thread_stat *t = &st->threads[thread];
    if (!t->seen) {
        t->seen = true;
        t->start = t->since = ts;
    }
    return t;
}

static void set_state(struct thread_stat *t, enum thread_state s, uint64_t ts)
{
    uint64_t d = ts > t->since ? ts - t->since : 0;

    if (t->state == TS_WAIT)
        t->waiting += d;
    else if (t->state == TS_SLEEP)
        t->sleeping += d;
    t->state = s;
    t->since = ts;
}

static void acquired(struct lock_stat *l, struct hold *h, uint32_t thread, uint64_t ts)
{
    l->acquired++;
    if (h->requested) {
        uint64_t w = ts > h->req_ts ? ts - h->req_ts : 0;
        l->contended++;
        l->wait_total += w;
        if (w > l->wait_max)
            l->wait_max = w;
        h->requested = false;
    }
    if (l->last_owner && l->last_owner != thread + 1)
        l->changes++;
    l->last_owner = thread + 1;
    if (h->depth++ == 0)
        h->acq_ts = ts;
}

static void lock_event(struct stats *st, const struct tg_ev *ev, int what, struct thread_stat *t)
{
    struct lock_stat *l = lock_of(st, ev, what);
    struct hold *h = l ? hold_of(st, l, ev->thread) : NULL;

    if (!h) {
        st->oom = true;
        return;
    }
    switch (ev->kind) {
    case TG_EV_MUTEX_REQ: case TG_EV_RD_REQ: case TG_EV_WR_REQ: case TG_EV_SPIN_REQ:
        h->requested = true;
        h->req_ts = ev->ts;
        set_state(t, TS_WAIT, ev->ts);
        break;
    case TG_EV_MUTEX_ACQ: case TG_EV_RD_ACQ: case TG_EV_WR_ACQ: case TG_EV_SPIN_ACQ:
        acquired(l, h, ev->thread, ev->ts);
        set_state(t, TS_RUN, ev->ts);
        break;
    case TG_EV_MUTEX_TRY: case TG_EV_RD_TRY: case TG_EV_WR_TRY: case TG_EV_SPIN_TRY:
        if (ev->result == TG_OK)
            acquired(l, h, ev->thread, ev->ts);
        break;
    case TG_EV_MUTEX_FAIL: case TG_EV_RD_FAIL: case TG_EV_WR_FAIL:
        if (h->requested) {
            uint64_t w = ev->ts > h->req_ts ? ev->ts - h->req_ts : 0;
            l->wait_total += w;
            if (w > l->wait_max)
                l->wait_max = w;
            h->requested = false;
        }
        set_state(t, TS_RUN, ev->ts);
        break;
    case TG_EV_MUTEX_REL: case TG_EV_RW_REL: case TG_EV_SPIN_REL:
        if (ev->result == TG_OK && h->depth > 0 && --h->depth == 0) {
            uint64_t held = ev->ts > h->acq_ts ? ev->ts - h->acq_ts : 0;
            if (held > l->hold_max)
                l->hold_max = held;
        }
        break;
    default:
        break;
    }
}

/* A condition wait releases its mutex and takes it again on wake-up: the
 * hold ends at COND_WAIT and restarts at COND_WOKE. */
static void cond_mutex(struct stats *st, const struct tg_ev *ev, bool waking)
{
    struct tg_ev m = *ev;

    m.obj = ev->p0;
    m.kind = waking ? TG_EV_MUTEX_ACQ : TG_EV_MUTEX_REL;
    m.result = TG_OK;
    struct lock_stat *l = lock_of(st, &m, 0);
    struct hold *h = l ? hold_of(st, l, ev->thread) : NULL;
    if (!h)
        return;
    if (waking) {
        if (h->depth++ == 0)
            h->acq_ts = ev->ts;
    } else if (h->depth > 0 && --h->depth == 0) {
        uint64_t held = ev->ts > h->acq_ts ? ev->ts - h->acq_ts : 0;
        if (held > l->hold_max)
            l->hold_max = held;
    }
}

static void account(struct stats *st, const struct tg_ev *ev)
{
    struct thread_stat *t = thread_of(st, ev->thread, ev->ts);
    int what = lock_what(ev->kind);

    if (!t) {
        st->oom = true;
        return;
    }
    if (what >= 0) {
        lock_event(st, ev, what, t);
        return;
    }
    switch (ev->kind) {
    case TG_EV_COND_WAIT:
        if (ev->p0)
            cond_mutex(st, ev, false);
        set_state(t, TS_WAIT, ev->ts);
        break;
    case TG_EV_COND_WOKE:
        if (ev->p0)
            cond_mutex(st, ev, true);
        set_state(t, TS_RUN, ev->ts);
        break;
    case TG_EV_SEM_REQ: case TG_EV_BARRIER_WAIT: case TG_EV_JOIN_REQ:
        set_state(t, TS_WAIT, ev->ts);
        break;
    case TG_EV_SEM_ACQ: case TG_EV_SEM_FAIL: case TG_EV_BARRIER_DONE: case TG_EV_JOIN_DONE:
    case TG_EV_SLEEP_END:
        set_state(t, TS_RUN, ev->ts);
        break;
    case TG_EV_SLEEP_BEGIN:
        set_state(t, TS_SLEEP, ev->ts);
        break;
    case TG_EV_THREAD_EXIT:
        set_state(t, TS_RUN, ev->ts);
        t->end = ev->ts;
        break;
    case TG_EV_PROCESS_EXIT:
        /* every thread of the process ends with it */
        for (size_t i = 0; i < st->nthreads; i++) {
            const struct tg_thread_info *ti = tg_trace_thread(st->trace, (uint32_t)i);
            struct thread_stat *o = &st->threads[i];
            if (o->seen && !o->end && ti && ti->process == ev->process) {
                set_state(o, TS_RUN, ev->ts);
                o->end = ev->ts;
            }
        }
        break;
    default:
        break;
    }
}

/* ---- the tables ---- */

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
    const struct lock_stat *a = pa, *b = pb;
    int c = 0;

    switch (sort_by) {
    case SORT_CONTENDED: c = cmp_u64(a->contended, b->contended); break;
    case SORT_WAIT:      c = cmp_u64(a->wait_total, b->wait_total); break;
    case SORT_MAX_WAIT:  c = cmp_u64(a->wait_max, b->wait_max); break;
    case SORT_HOLD:      c = cmp_u64(a->hold_max, b->hold_max); break;
    case SORT_ACQUIRED:  c = cmp_u64(a->acquired, b->acquired); break;
    case SORT_CHANGES:   c = cmp_u64(a->changes, b->changes); break;
    case SORT_NAME:      c = strcmp(a->name, b->name); break;
    }
    /* ties: the most waited-for first, then by name, so output is stable */
    if (!c)
        c = cmp_u64(a->wait_total, b->wait_total);
    if (!c)
        c = cmp_u64(a->acquired, b->acquired);
    return c ? c : strcmp(a->name, b->name);
}

static void name_locks(struct stats *st, struct tg_symbols *syms)
{
    static const char *const what[] = { "mutex", "rwlock", "spinlock" };
    char buf[512];

    for (size_t i = 0; i < st->nlocks; i++) {
        struct lock_stat *l = &st->locks[i];
        const char *name = syms
            ? tg_symbols_object_name(syms, l->process, l->key & 0xffffffffffffull, what[l->what],
                                     l->site_stack, !l->site_is_init, buf, sizeof buf)
            : NULL;
        if (!name) {
            snprintf(buf, sizeof buf, "%s 0x%" PRIx64, what[l->what], (uint64_t)(l->key & 0xffffffffffffull));
            name = buf;
        }
        l->name = strdup(name);
        if (!l->name)
            l->name = strdup("?");
    }
}

static void print_locks(struct stats *st, long top)
{
    static const char *const what[] = { "mutex", "rwlock", "spin" };
    char n1[32], n2[32], n3[32], d1[32], d2[32], d3[32];
    size_t shown = top > 0 && (size_t)top < st->nlocks ? (size_t)top : st->nlocks;
    int width = 20;

    for (size_t i = 0; i < shown; i++)
        if ((int)strlen(st->locks[i].name) > width)
            width = (int)strlen(st->locks[i].name) > 48 ? 48 : (int)strlen(st->locks[i].name);

    printf("Locks: %zu, by %s%s\n", st->nlocks, sort_names[sort_by],
           shown < st->nlocks ? " (first shown)" : "");
    if (!st->nlocks)
        return;
    printf("  %-*s %-6s %10s %10s %10s %10s %10s %9s\n", width, "LOCK", "KIND", "ACQUIRED",
           "CONTENDED", "TOTAL WAIT", "MAX WAIT", "MAX HOLD", "CHANGES");
    for (size_t i = 0; i < shown; i++) {
        const struct lock_stat *l = &st->locks[i];
        printf("  %-*s %-6s %10s %10s %10s %10s %10s %9s\n", width, l->name, what[l->what],
               tg_cli_fmt_count(l->acquired, n1, sizeof n1),
               tg_cli_fmt_count(l->contended, n2, sizeof n2),
               tg_cli_fmt_duration(l->wait_total, d1, sizeof d1),
               tg_cli_fmt_duration(l->wait_max, d2, sizeof d2),
               tg_cli_fmt_duration(l->hold_max, d3, sizeof d3),
               tg_cli_fmt_count(l->changes, n3, sizeof n3));
    }
}

static void print_threads(struct stats *st, struct tg_names *names, uint64_t now)
{
    char d1[32], d2[32], d3[32], d4[32];
    size_t n = 0;

    for (size_t i = 0; i < st->nthreads; i++)
        n += st->threads[i].seen;
    printf("\nThreads: %zu\n", n);
    if (!n)
        return;
    printf("  %-6s %-16s %8s %10s %10s %10s %10s\n", "THREAD", "NAME", "TID", "RUNNING",
           "WAITING", "SLEEPING", "LIFETIME");
    for (size_t i = 0; i < st->nthreads; i++) {
        struct thread_stat *t = &st->threads[i];
        const struct tg_thread_info *ti = tg_trace_thread(st->trace, (uint32_t)i);
        if (!t->seen)
            continue;
        uint64_t end = t->end ? t->end : now;
        set_state(t, TS_RUN, end);        /* close a wait still open at the end */
        uint64_t life = end > t->start ? end - t->start : 0;
        uint64_t busy = t->waiting + t->sleeping;
        char tid[16];
        snprintf(tid, sizeof tid, "T%zu", i);
        printf("  %-6s %-16s %8" PRIu32 " %10s %10s %10s %10s%s\n", tid,
               tg_names_thread(names, (uint32_t)i), ti ? ti->os_tid : 0,
               tg_cli_fmt_duration(life > busy ? life - busy : 0, d1, sizeof d1),
               tg_cli_fmt_duration(t->waiting, d2, sizeof d2),
               tg_cli_fmt_duration(t->sleeping, d3, sizeof d3),
               tg_cli_fmt_duration(life, d4, sizeof d4), t->end ? "" : " (alive)");
    }
}

static void stats_free(struct stats *st)
{
    for (size_t i = 0; i < st->nlocks; i++)
        free(st->locks[i].name);
    free(st->locks);
    free(st->holds);
    free(st->threads);
    tg_u64map_free(&st->lock_index);
    tg_u64map_free(&st->hold_index);
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
            fputs(usage, stdout);
            return tg_cli_flush_stdout();
        default:
            return TG_STATUS_USAGE;
        }
    }
    if (optind != argc - 1)
        return tg_cli_usage_error("stats", optind >= argc ? "no trace file given"
                                                          : "one trace file at a time");
    const char *path = argv[optind];
    struct stats st = { 0 };
    struct tg_ev ev;
    int r;

    int status = tg_cli_open_trace(path, 0, &st.trace);
    if (status)
        return status;
    while ((r = tg_trace_next(st.trace, &ev)) > 0 && !st.oom)
        account(&st, &ev);
    if (r < 0) {
        status = tg_cli_trace_error(path, r);
    } else if (st.oom) {
        tg_cli_error("%s: out of memory", path);
        status = TG_STATUS_FAILED;
    } else {
        struct tg_symbols *syms = tg_symbols_new(st.trace);
        struct tg_names *names = tg_names_new(st.trace, syms);
        name_locks(&st, syms);
        if (st.nlocks)
            qsort(st.locks, st.nlocks, sizeof *st.locks, cmp_locks);
        print_locks(&st, top);
        if (names)
            print_threads(&st, names, tg_trace_now(st.trace));
        status = tg_cli_flush_stdout();
        tg_names_free(names);
        tg_symbols_free(syms);
    }
    stats_free(&st);
    tg_trace_close(st.trace);
    return status;
}
