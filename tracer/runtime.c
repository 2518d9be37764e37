/* tracer/: the library's life: configuration, opening the trace, thread
 * streams, process end. The hooks are in hooks_*.c.
 *
 * Whatever goes wrong here, the program runs on untouched: tracing is
 * switched off (every hook passes straight through), the failure is counted,
 * and with TANGLE_VERBOSE set one line goes to stderr. Never stdout, never
 * an abort.
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "tracer/internal.h"

TG_TLS struct tg_thread tg_self;
struct tg_global tg_g;
struct tg_floor_slot tg_floor[TG_FLOOR_SLOTS] __attribute__((aligned(64)));

static char cmdline[4096];
static char trace_path[PATH_MAX];
static int process_ended;
static unsigned live_threads;   /* traced threads that have not ended */
static int verbose_said;
static bool no_trace;           /* tg_tracer_no_trace(): hooks without a file */
static uint32_t local_threads;  /* thread indexes without a trace */

static void say(const char *what, int err)
{
    if (!tg_g.verbose || __atomic_exchange_n(&verbose_said, 1, __ATOMIC_RELAXED))
        return;
    char line[512];
    int n = snprintf(line, sizeof line, "tangle: %s: %s\n", what,
                     err ? strerror(err) : "tracing off");
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)w;
    }
}

/* ---- the fork gate ----
 * Every call into the writer's slow paths (which take the run-wide lock)
 * and into libunwind (which has its own) holds the gate shared; fork holds
 * it exclusively, so the child never inherits a lock held by a thread that
 * does not exist in it. Slow paths are short and rare: waiting is yielding. */
static unsigned gate_users;
static unsigned gate_forking;

void tg_gate_enter(void)
{
    for (;;) {
        while (__atomic_load_n(&gate_forking, __ATOMIC_ACQUIRE))
            sched_yield();
        __atomic_add_fetch(&gate_users, 1, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&gate_forking, __ATOMIC_SEQ_CST))
            return;
        __atomic_sub_fetch(&gate_users, 1, __ATOMIC_SEQ_CST);
    }
}

void tg_gate_leave(void)
{
    __atomic_sub_fetch(&gate_users, 1, __ATOMIC_RELEASE);
}

void tg_gate_fork_begin(void)
{
    while (__atomic_exchange_n(&gate_forking, 1, __ATOMIC_SEQ_CST))
        sched_yield();
    while (__atomic_load_n(&gate_users, __ATOMIC_SEQ_CST))
        sched_yield();
}

void tg_gate_fork_end(bool child)
{
    if (child)
        gate_users = 0;
    __atomic_store_n(&gate_forking, 0, __ATOMIC_RELEASE);
}

void tg_failure(const char *what, int err)
{
    __atomic_add_fetch(&tg_g.failures, 1, __ATOMIC_RELAXED);
    say(what, err);
}

/* argv joined by spaces, from /proc (no dependency on how the dynamic
 * linker calls constructors). Returns argv[0]. */
static const char *read_cmdline(void)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd >= 0) {
        ssize_t n;
        while (got + 1 < sizeof cmdline
               && (n = read(fd, cmdline + got, sizeof cmdline - 1 - got)) > 0)
            got += (size_t)n;
        close(fd);
    }
    cmdline[got] = '\0';
    static char program[256];
    size_t len = strnlen(cmdline, sizeof program - 1);
    memcpy(program, cmdline, len);
    program[len] = '\0';
    while (got > 0 && cmdline[got - 1] == '\0')
        got--;
    for (size_t i = 0; i < got; i++)
        if (cmdline[i] == '\0')
            cmdline[i] = ' ';
    return program;
}

/* TANGLE_TRACE, or tangle-<pid>.trace in the working directory; made
 * absolute and exported, so that an exec'd image (which keeps the
 * environment and LD_PRELOAD) joins the same trace from any directory. */
static const char *choose_path(void)
{
    const char *env = getenv("TANGLE_TRACE");
    char name[64];
    if (env == NULL || env[0] == '\0') {
        snprintf(name, sizeof name, "tangle-%d.trace", (int)getpid());
        env = name;
    }
    if (env[0] == '/') {
        snprintf(trace_path, sizeof trace_path, "%s", env);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd) == NULL)
            snprintf(trace_path, sizeof trace_path, "%s", env);
        else if (snprintf(trace_path, sizeof trace_path, "%s/%s", cwd, env)
                 >= (int)sizeof trace_path)
            snprintf(trace_path, sizeof trace_path, "%s", env);
    }
    const char *now = getenv("TANGLE_TRACE");
    if (now == NULL || strcmp(now, trace_path) != 0)
        setenv("TANGLE_TRACE", trace_path, 1);
    return trace_path;
}

static unsigned env_depth(void)
{
    const char *s = getenv("TANGLE_STACK_DEPTH");
    if (s == NULL || *s == '\0')
        return 16;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0')
        return 16;
    return v > TG_MAX_DEPTH ? TG_MAX_DEPTH : (unsigned)v;
}

/* unset: DEFAULT; "", "0", "no", "off": false; anything else: true */
static bool env_flag(const char *name, bool fallback)
{
    const char *s = getenv(name);
    if (s == NULL)
        return fallback;
    return !(s[0] == '\0' || strcmp(s, "0") == 0 || strcmp(s, "no") == 0
             || strcmp(s, "off") == 0);
}

static void on_exit_handler(int status, void *arg)
{
    (void)arg;
    tg_process_exit((status & 0xff) << 8, TG_EXIT_NORMAL);
}

static struct tg_writer_sync_ops sync_ops;

__attribute__((constructor(101)))
static void tg_init(void)
{
    struct tg_thread *t = &tg_self;
    int saved = errno;
    tg_busy(t);
    tg_g.verbose = env_flag("TANGLE_VERBOSE", false);
    tg_g.depth = env_depth();
    tg_g.prefault = env_flag("TANGLE_PREFAULT", true);
    tg_g.pid = getpid();
    int missing = tg_resolve_all();
    if (missing > 0)
        tg_failure("some pthread functions could not be resolved", ENOENT);
    if (REAL(pthread_mutex_lock) == NULL || REAL(pthread_mutex_unlock) == NULL
        || REAL(pthread_mutex_trylock) == NULL || REAL(pthread_create) == NULL) {
        say("cannot find the real pthread functions", ENOENT);
        goto off;
    }
    sync_ops.mutex_init = REAL(pthread_mutex_init);
    sync_ops.mutex_lock = REAL(pthread_mutex_lock);
    sync_ops.mutex_unlock = REAL(pthread_mutex_unlock);
    tg_writer_set_sync_ops(&sync_ops);

    if (no_trace) {
        /* no writer (its hdr stays NULL: records and stacks are dropped
         * where they would be written), hooks and sync notifications on;
         * no stack walks for ids nobody keeps */
        tg_g.depth = 0;
        tg_g.no_records = true;
#if defined(__x86_64__) || defined(__i386__)
        tg_g.clock = TG_CLOCK_TSC;
#endif
        on_exit(on_exit_handler, NULL);
        tg_stack_bounds(t);
        tg_thread_begin(t, tg_tracer_new_thread_index(), TG_NO_THREAD, 0, 0);
        __atomic_store_n(&tg_g.state, TG_RUN_TRACING, __ATOMIC_RELEASE);
        tg_idle(t);
        errno = saved;
        return;
    }
    const char *program = read_cmdline();
    const char *path = choose_path();
    int err = tg_writer_open(&tg_g.w, path, program, cmdline);
    if (err < 0) {
        char what[PATH_MAX + 32];
        snprintf(what, sizeof what, "cannot open trace %s", path);
        say(what, -err);
        goto off;
    }
    tg_g.clock = tg_g.w.clock;
    err = tg_stack_init();
    if (err < 0)
        tg_failure("stack tables", -err);   /* stacks degrade to id 0 */
    on_exit(on_exit_handler, NULL);

    tg_stack_bounds(t);
    tg_thread_begin(t, tg_g.w.first_thread, TG_NO_THREAD, 0, 0);
    __atomic_store_n(&tg_g.state, TG_RUN_TRACING, __ATOMIC_RELEASE);
    tg_idle(t);
    errno = saved;
    return;
off:
    t->state = TG_T_DONE;
    tg_idle(t);
    errno = saved;
}

void tg_thread_begin(struct tg_thread *t, uint32_t index, uint32_t parent,
                     uint64_t start_routine, uint32_t create_stack)
{
    memset(&t->stream, 0, sizeof t->stream);
    tg_stream_init(&t->stream, &tg_g.w, index);
    t->index = index;
    t->exiting = 0;
    t->state = TG_T_TRACED;
    __atomic_add_fetch(&live_threads, 1, __ATOMIC_RELAXED);
    uint32_t tid = (uint32_t)syscall(SYS_gettid);
    tg_emit1(t, TG_EV_THREAD_START, 0, TG_OBJ(pthread_self()), create_stack, tg_now(),
             (uint64_t)tid | ((uint64_t)parent << 32), start_routine);
}

void tg_thread_end(struct tg_thread *t, void *retval)
{
    if (t->state != TG_T_TRACED || t->exiting)
        return;
    t->exiting = 1;
    tg_sync(TG_EV_THREAD_EXIT, TG_OBJ(pthread_self()), 0);
    tg_busy(t);
    int saved = errno;
    tg_emit(t, TG_EV_THREAD_EXIT, 0, TG_OBJ(retval), 0,
            tg_tick_release(t, TG_OBJ(pthread_self()), tg_now()));
    if (__atomic_sub_fetch(&live_threads, 1, __ATOMIC_ACQ_REL) == 0) {
        /* glibc ends the process when this thread is gone (exit(0) on
         * this thread): the helper must not outlive it, and PROCESS_EXIT
         * still needs a stream */
        tg_prefault_stop();
        t->state = TG_T_LAST;
    } else {
        tg_gate_enter();
        tg_stream_close(&t->stream);
        tg_gate_leave();
        t->state = TG_T_DONE;
    }
    errno = saved;
    tg_idle(t);
}

void tg_threads_after_fork(void)
{
    live_threads = 0;           /* tg_thread_begin counts the survivor */
}

struct tg_thread *tg_enter_slow(struct tg_thread *t)
{
    if (t->busy || t->state != TG_T_NEW
        || __atomic_load_n(&tg_g.state, __ATOMIC_ACQUIRE) != TG_RUN_TRACING)
        return NULL;
    /* a thread tangle did not see created: from before the constructor, or
     * started by libc itself (timer and AIO helpers) */
    tg_busy(t);
    int saved = errno;
    tg_stack_bounds(t);
    tg_thread_begin(t, tg_tracer_new_thread_index(), TG_NO_THREAD, 0, 0);
    errno = saved;
    tg_idle(t);
    return t;
}

struct tg_record *tg_reserve_slow(struct tg_thread *t, unsigned nslots, uint64_t tick)
{
    if (TG_UNLIKELY(no_trace))
        return NULL;            /* nowhere to write: dropped, not counted as lost */
    int saved = errno;
    struct tg_chunk_header *before = t->stream.chunk;
    tg_gate_enter();
    struct tg_record *r = tg_stream_reserve_slow(&t->stream, nslots, tick);
    tg_gate_leave();
    if (t->stream.chunk != before)
        tg_prefault_claimed(before != NULL);
    errno = saved;
    return r;
}

void tg_emit_var(struct tg_thread *t, unsigned kind, uint64_t obj, uint32_t stack,
                 uint64_t tick, const void *data, size_t len)
{
    if (no_trace)
        return;
    int saved = errno;
    tg_gate_enter();
    tg_stream_emit_var(&t->stream, kind, obj, stack, tick, data, len);
    tg_gate_leave();
    errno = saved;
}

/* Records how the process ends, once, from whichever thread ends it. */
void tg_process_exit(int wait_status, unsigned how)
{
    if (__atomic_load_n(&tg_g.state, __ATOMIC_ACQUIRE) != TG_RUN_TRACING)
        return;
    /* a vfork child shares our memory and TLS: it must not write into the
     * parent's streams nor finish its trace */
    if (getpid() != tg_g.pid)
        return;
    if (how != TG_EXIT_EXEC && __atomic_exchange_n(&process_ended, 1, __ATOMIC_ACQ_REL))
        return;
    int saved = errno;
    struct tg_thread *t = &tg_self;
    bool last = t->state == TG_T_LAST && !t->busy;
    if (!last)
        t = tg_enter();
    if (t != NULL) {
        tg_busy(t);
        tg_emit1(t, TG_EV_PROCESS_EXIT, 0, 0, 0, tg_now(), (uint64_t)(uint32_t)wait_status, how);
        if (last && how != TG_EXIT_EXEC) {
            tg_gate_enter();
            tg_stream_close(&t->stream);
            tg_gate_leave();
            t->state = TG_T_DONE;
        }
        tg_idle(t);
    }
    if (how != TG_EXIT_EXEC) {
        tg_gate_enter();
        tg_writer_finish(&tg_g.w, wait_status);
        tg_gate_leave();
    }
    errno = saved;
}

/* ---- tracer.h, for the race runtime ---- */

static const uint8_t event_slots[TG_EV_COUNT] = {
#define X(name, slots, doc) [TG_EV_##name] = (slots),
#include "trace/events.def"
#undef X
};

void tg_tracer_set_sync(tg_tracer_sync_fn fn)
{
    __atomic_store_n(&tg_g.sync, fn, __ATOMIC_RELEASE);
}

bool tg_tracer_active(void)
{
    return __atomic_load_n(&tg_g.state, __ATOMIC_ACQUIRE) == TG_RUN_TRACING;
}

struct tg_writer *tg_tracer_writer(void)
{
    return tg_tracer_active() && !no_trace ? &tg_g.w : NULL;
}

void tg_tracer_no_trace(void)
{
    no_trace = true;
}

uint32_t tg_tracer_new_thread_index(void)
{
    if (!no_trace)
        return tg_writer_new_thread(&tg_g.w);
    return __atomic_fetch_add(&local_threads, 1, __ATOMIC_RELAXED);
}

uint32_t tg_tracer_thread(void)
{
    struct tg_thread *t = &tg_self;
    return t->state == TG_T_TRACED ? t->index : TG_NO_THREAD;
}

void tg_tracer_emit(unsigned kind, unsigned arg, uint64_t obj, uint32_t stack,
                    uint64_t a, uint64_t b)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL || kind >= TG_EV_COUNT || event_slots[kind] == TG_SLOTS_VAR)
        return;
    tg_busy(t);
    uint64_t tick = tg_now();
    if (event_slots[kind] == 1)
        tg_emit1(t, kind, arg, obj, stack, tick, a, b);
    else
        tg_emit(t, kind, arg, obj, stack, tick);
    tg_idle(t);
}

void tg_tracer_emit_var(unsigned kind, uint64_t obj, uint32_t stack,
                        const void *data, size_t len)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return;
    tg_busy(t);
    tg_emit_var(t, kind, obj, stack, tg_now(), data, len);
    tg_idle(t);
}

void tg_emit_full(struct tg_thread *t, unsigned kind, unsigned arg, uint64_t obj,
                  uint32_t stack, uint64_t tick, uint64_t key, unsigned slot)
{
    struct tg_record *r = tg_reserve(t, 0, tick);
    if (TG_UNLIKELY(r == NULL))
        return;
    tg_stream_fill_remembered(&t->stream, r, kind, arg, obj, stack, key, slot);
}
