/* tests/reports: the fixture trace and findings (report_fixture.h). */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_fixture.h"
#include "trace/writer.h"

/* What the findings are about: globals the debug info names. */
pthread_mutex_t fx_mutexA = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t fx_mutexB = PTHREAD_MUTEX_INITIALIZER;
sem_t fx_sem;
int fx_counter;

#define HEAP_LOCK 0x7f00dead1000ull
#define HEAP_COND 0x7f00dead2000ull
#define PTH(t)    (0x7f0000001000ull + (uint64_t)(t) * 0x10000)

/* Code locations: the stacks point into these functions. */
#define SITE(name) __attribute__((noinline, used)) void name(void) { __asm__ volatile(""); }
SITE(fx_take_a)
SITE(fx_take_b)
SITE(fx_take_c)
SITE(fx_worker_a)
SITE(fx_worker_b)
SITE(fx_spawn)
SITE(fx_main)
SITE(fx_init_queue)
SITE(fx_wait_ready)
SITE(fx_signal_ready)
SITE(fx_sem_take)
SITE(fx_release)
SITE(fx_destroy)
SITE(fx_bump)
SITE(fx_peek)

const char *const fx_names[FX_COUNT] = {
    "lock_order", "lock_order_heap3", "deadlock_cycle", "deadlock_self", "all_blocked",
    "lost_wakeup", "misuse_unlock_other", "misuse_error", "race",
};

enum { S_A1 = 0, S_B1, S_B2, S_A2, S_C1, S_CREATE, S_INIT, S_JOIN, S_WAIT, S_SIGNAL, S_SEM,
       S_UNLOCK, S_DESTROY, S_WRITE, S_READ, S_COUNT };
static uint32_t stack_id[S_COUNT];

#define FN(f) ((uint64_t)(uintptr_t)(f) + 1)   /* a return address just inside F */

static void make_stacks(struct tg_writer *w)
{
    const uint64_t defs[S_COUNT][2] = {
        [S_A1] = { FN(fx_take_a), FN(fx_worker_a) },
        [S_B1] = { FN(fx_take_b), FN(fx_worker_a) },
        [S_B2] = { FN(fx_take_b), FN(fx_worker_b) },
        [S_A2] = { FN(fx_take_a), FN(fx_worker_b) },
        [S_C1] = { FN(fx_take_c), FN(fx_main) },
        [S_CREATE] = { FN(fx_spawn), FN(fx_main) },
        [S_INIT] = { FN(fx_init_queue), FN(fx_main) },
        [S_JOIN] = { FN(fx_main), 0 },
        [S_WAIT] = { FN(fx_wait_ready), FN(fx_worker_a) },
        [S_SIGNAL] = { FN(fx_signal_ready), FN(fx_worker_b) },
        [S_SEM] = { FN(fx_sem_take), FN(fx_worker_b) },
        [S_UNLOCK] = { FN(fx_release), FN(fx_worker_b) },
        [S_DESTROY] = { FN(fx_destroy), FN(fx_main) },
        [S_WRITE] = { FN(fx_bump), FN(fx_worker_b) },
        [S_READ] = { FN(fx_peek), FN(fx_worker_a) },
    };
    for (int i = 0; i < S_COUNT; i++)
        stack_id[i] = tg_writer_stack(w, defs[i], defs[i][1] ? 2 : 1);
}

static int write_trace(const char *path)
{
    static struct tg_writer w;
    struct tg_stream m, a, b;

    if (tg_writer_open(&w, path, "fixture", "fixture --case all") != 0)
        return -1;
    make_stacks(&w);
    tg_stream_init(&m, &w, w.first_thread);
    uint32_t ta = tg_writer_new_thread(&w), tb = tg_writer_new_thread(&w);
    tg_stream_init(&a, &w, ta);
    tg_stream_init(&b, &w, tb);
    tg_stream_emit1(&m, TG_EV_THREAD_START, 0, PTH(0), 0, tg_tick(w.clock),
                    1000 | (uint64_t)TG_NO_THREAD << 32, 0);
    tg_stream_emit1(&a, TG_EV_THREAD_START, 0, PTH(1), stack_id[S_CREATE], tg_tick(w.clock),
                    1001 | (uint64_t)w.first_thread << 32, (uint64_t)(uintptr_t)fx_worker_a);
    tg_stream_emit_var(&a, TG_EV_THREAD_NAME, PTH(1), 0, tg_tick(w.clock), "worker-a", 9);
    tg_stream_emit1(&b, TG_EV_THREAD_START, 0, PTH(2), stack_id[S_CREATE], tg_tick(w.clock),
                    1002 | (uint64_t)w.first_thread << 32, (uint64_t)(uintptr_t)fx_worker_b);
    tg_stream_emit(&a, TG_EV_THREAD_EXIT, 0, 0, 0, tg_tick(w.clock));
    tg_stream_emit(&b, TG_EV_THREAD_EXIT, 0, 0, 0, tg_tick(w.clock));
    tg_stream_emit1(&m, TG_EV_PROCESS_EXIT, 0, 0, 0, tg_tick(w.clock), 3 << 8, TG_EXIT_NORMAL);
    tg_stream_close(&a);
    tg_stream_close(&b);
    tg_stream_close(&m);
    tg_writer_finish(&w, 3 << 8);
    close(w.fd);
    return 0;
}

/* ---- the findings */

static struct tg_obj_ref obj(uint8_t kind, uint64_t addr, uint32_t site, bool init)
{
    return (struct tg_obj_ref){ .process = 0, .kind = kind, .addr = addr,
                                .site_stack = site ? stack_id[site] : 0, .site_is_init = init,
                                .site_thread = 0 };
}

static struct tg_step step(uint8_t role, uint32_t thread, uint32_t o, uint32_t stack)
{
    return (struct tg_step){ .role = role, .thread = thread, .other_thread = TG_NO_THREAD,
                             .obj = o, .stack = stack_id[stack], .mode = TG_MODE_EXCL,
                             .held = { .obj = TG_NO_OBJ } };
}

static struct tg_held_ref held(uint32_t o, uint32_t stack)
{
    return (struct tg_held_ref){ .obj = o, .mode = TG_MODE_EXCL, .stack = stack_id[stack] };
}

/* Static storage: findings point into it. */
static struct tg_obj_ref objs[FX_COUNT][4];
static struct tg_step steps[FX_COUNT][4];
static struct tg_held_ref others[4];
static const uint32_t threads_12[] = { 1, 2 }, threads_1[] = { 1 }, threads_012[] = { 0, 1, 2 },
                      threads_21[] = { 2, 1 };

static void finding(struct fx *fx, enum fx_case c, uint8_t kind, uint8_t sub, uint32_t nobjs,
                    uint32_t nsteps, const uint32_t *threads, uint32_t nthreads)
{
    fx->findings[c] = (struct tg_finding){
        .kind = kind, .sub = sub, .process = 0, .ts = 1000u * (c + 1), .key = 0x1000u + c,
        .count = 1, .nobjs = nobjs, .objs = objs[c], .nsteps = nsteps, .steps = steps[c],
        .threads = threads, .nthreads = nthreads,
    };
}

static void make_findings(struct fx *fx)
{
    uint64_t A = (uint64_t)(uintptr_t)&fx_mutexA, B = (uint64_t)(uintptr_t)&fx_mutexB;
    struct tg_step *s;

    /* lock-order: worker-a holds A wants B; fx_worker_b holds B wants A */
    objs[FX_LOCK_ORDER][0] = obj(TG_OBJ_MUTEX, A, S_A1, false);
    objs[FX_LOCK_ORDER][1] = obj(TG_OBJ_MUTEX, B, S_B1, false);
    s = steps[FX_LOCK_ORDER];
    s[0] = step(TG_ROLE_EDGE, 1, 1, S_B1);
    s[0].wait = TG_WAIT_LOCK, s[0].event = TG_EV_MUTEX_REQ, s[0].held = held(0, S_A1);
    s[1] = step(TG_ROLE_EDGE, 2, 0, S_A2);
    s[1].wait = TG_WAIT_LOCK, s[1].event = TG_EV_MUTEX_REQ, s[1].held = held(1, S_B2);
    finding(fx, FX_LOCK_ORDER, TG_FIND_LOCK_ORDER, 0, 2, 2, threads_12, 2);

    /* the same as a real deadlock */
    memcpy(objs[FX_DEADLOCK_CYCLE], objs[FX_LOCK_ORDER], sizeof objs[0]);
    memcpy(steps[FX_DEADLOCK_CYCLE], steps[FX_LOCK_ORDER], sizeof steps[0]);
    for (int i = 0; i < 2; i++)
        steps[FX_DEADLOCK_CYCLE][i].role = TG_ROLE_WAITS;
    finding(fx, FX_DEADLOCK_CYCLE, TG_FIND_DEADLOCK, TG_DEADLOCK_CYCLE, 2, 2, threads_12, 2);

    /* three locks, one on the heap; main holds the gate-less third edge
     * and fx_mutexB besides (an "other lock held") */
    objs[FX_LOCK_ORDER_HEAP3][0] = obj(TG_OBJ_MUTEX, A, S_A1, false);
    objs[FX_LOCK_ORDER_HEAP3][1] = obj(TG_OBJ_MUTEX, B, S_B1, false);
    objs[FX_LOCK_ORDER_HEAP3][2] = obj(TG_OBJ_MUTEX, HEAP_LOCK, S_INIT, true);
    s = steps[FX_LOCK_ORDER_HEAP3];
    s[0] = step(TG_ROLE_EDGE, 1, 1, S_B1);
    s[0].wait = TG_WAIT_LOCK, s[0].event = TG_EV_MUTEX_REQ, s[0].held = held(0, S_A1);
    s[1] = step(TG_ROLE_EDGE, 2, 2, S_C1);
    s[1].wait = TG_WAIT_LOCK, s[1].event = TG_EV_WR_REQ, s[1].held = held(1, S_B2);
    s[1].mode = TG_MODE_WRITE;
    s[2] = step(TG_ROLE_EDGE, 0, 0, S_A2);
    s[2].wait = TG_WAIT_LOCK, s[2].event = TG_EV_MUTEX_REQ, s[2].held = held(2, S_C1);
    finding(fx, FX_LOCK_ORDER_HEAP3, TG_FIND_LOCK_ORDER, 0, 3, 3, threads_012, 3);
    objs[FX_LOCK_ORDER_HEAP3][2].kind = TG_OBJ_RWLOCK;

    /* self deadlock */
    objs[FX_DEADLOCK_SELF][0] = obj(TG_OBJ_MUTEX, A, S_A1, false);
    s = steps[FX_DEADLOCK_SELF];
    s[0] = step(TG_ROLE_WAITS, 1, 0, S_B1);
    s[0].wait = TG_WAIT_LOCK, s[0].event = TG_EV_MUTEX_REQ, s[0].held = held(0, S_A1);
    finding(fx, FX_DEADLOCK_SELF, TG_FIND_DEADLOCK, TG_DEADLOCK_SELF, 1, 1, threads_1, 1);

    /* all blocked: main joins worker-a, worker-a waits on a condition,
     * fx_worker_b on a semaphore, holding fx_mutexB */
    objs[FX_ALL_BLOCKED][0] = obj(TG_OBJ_THREAD, PTH(1), 0, false);
    objs[FX_ALL_BLOCKED][1] = obj(TG_OBJ_COND, HEAP_COND, S_INIT, true);
    objs[FX_ALL_BLOCKED][2] = obj(TG_OBJ_SEM, (uint64_t)(uintptr_t)&fx_sem, 0, false);
    objs[FX_ALL_BLOCKED][3] = obj(TG_OBJ_MUTEX, B, S_B2, false);
    s = steps[FX_ALL_BLOCKED];
    s[0] = step(TG_ROLE_WAITS, 0, 0, S_JOIN);
    s[0].wait = TG_WAIT_JOIN, s[0].event = TG_EV_JOIN_REQ, s[0].other_thread = 1;
    s[1] = step(TG_ROLE_WAITS, 1, 1, S_WAIT);
    s[1].wait = TG_WAIT_COND, s[1].event = TG_EV_COND_WAIT;
    s[2] = step(TG_ROLE_WAITS, 2, 2, S_SEM);
    s[2].wait = TG_WAIT_SEM, s[2].event = TG_EV_SEM_REQ;
    others[0] = held(3, S_B2);
    s[2].nothers = 1, s[2].others = &others[0];
    finding(fx, FX_ALL_BLOCKED, TG_FIND_DEADLOCK, TG_DEADLOCK_ALL_BLOCKED, 4, 3, threads_012, 3);

    /* lost wakeup: fx_worker_b signalled before worker-a waited */
    objs[FX_LOST_WAKEUP][0] = obj(TG_OBJ_COND, HEAP_COND, S_INIT, true);
    s = steps[FX_LOST_WAKEUP];
    s[0] = step(TG_ROLE_WAITS, 1, 0, S_WAIT);
    s[0].wait = TG_WAIT_COND, s[0].event = TG_EV_COND_WAIT;
    s[1] = step(TG_ROLE_SIGNAL, 2, 0, S_SIGNAL);
    s[1].event = TG_EV_COND_SIGNAL;
    finding(fx, FX_LOST_WAKEUP, TG_FIND_DEADLOCK, TG_DEADLOCK_LOST_WAKEUP, 1, 2, threads_12, 2);

    /* fx_worker_b unlocks fx_mutexA, which worker-a holds */
    objs[FX_MISUSE_UNLOCK_OTHER][0] = obj(TG_OBJ_MUTEX, A, S_A1, false);
    s = steps[FX_MISUSE_UNLOCK_OTHER];
    s[0] = step(TG_ROLE_CALL, 2, 0, S_UNLOCK);
    s[0].event = TG_EV_MUTEX_REL, s[0].other_thread = 1;
    s[1] = step(TG_ROLE_OWNER, 1, 0, S_A1);
    s[1].held = held(0, S_A1);
    finding(fx, FX_MISUSE_UNLOCK_OTHER, TG_FIND_MISUSE, TG_MISUSE_UNLOCK_OTHER, 1, 2, threads_21, 2);

    /* destroy of the heap lock returned EBUSY */
    objs[FX_MISUSE_ERROR][0] = obj(TG_OBJ_MUTEX, HEAP_LOCK, S_INIT, true);
    s = steps[FX_MISUSE_ERROR];
    s[0] = step(TG_ROLE_CALL, 0, 0, S_DESTROY);
    s[0].event = TG_EV_MUTEX_DESTROY, s[0].result = TG_BUSY;
    finding(fx, FX_MISUSE_ERROR, TG_FIND_MISUSE, TG_MISUSE_ERROR_RETURN, 1, 1, threads_012, 1);

    /* race on fx_counter */
    uint64_t C = (uint64_t)(uintptr_t)&fx_counter;
    objs[FX_RACE][0] = obj(TG_OBJ_MEMORY, C, 0, false);
    objs[FX_RACE][1] = obj(TG_OBJ_MUTEX, A, S_A1, false);
    s = steps[FX_RACE];
    s[0] = step(TG_ROLE_ACCESS, 2, 0, S_WRITE);
    s[0].access = 1, s[0].size = 4, s[0].addr = C, s[0].pc = FN(fx_bump), s[0].mode = 0;
    others[1] = held(1, S_A2);
    s[0].nothers = 1, s[0].others = &others[1];
    s[1] = step(TG_ROLE_ACCESS, 1, 0, S_READ);
    s[1].access = 0, s[1].size = 4, s[1].addr = C, s[1].pc = FN(fx_peek), s[1].mode = 0;
    finding(fx, FX_RACE, TG_FIND_RACE, 0, 2, 2, threads_21, 2);
    fx->findings[FX_RACE].mem = (struct tg_finding_mem){ .addr = C, .size = 4 };
}

int fx_open(struct fx *fx)
{
    char err[256];
    struct tg_ev ev;
    int got;

    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/tg-reports-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->path, sizeof fx->path, "%s/fixture.trace", fx->dir);
    if (write_trace(fx->path) < 0 || tg_trace_open(fx->path, 0, &fx->trace, err, sizeof err) < 0) {
        fprintf(stderr, "fixture: cannot write or open %s: %s\n", fx->path, err);
        return -1;
    }
    while ((got = tg_trace_next(fx->trace, &ev)) > 0)
        ;
    if (got < 0 || !(fx->syms = tg_symbols_new(fx->trace)) ||
        !(fx->report = rp_new(fx->trace, fx->syms))) {
        fprintf(stderr, "fixture: cannot read %s back\n", fx->path);
        return -1;
    }
    fx->report->color = false;
    make_findings(fx);
    return 0;
}

void fx_close(struct fx *fx)
{
    tg_report_free(fx->report);
    tg_symbols_free(fx->syms);
    if (fx->trace)
        tg_trace_close(fx->trace);
    unlink(fx->path);
    rmdir(fx->dir);
}
