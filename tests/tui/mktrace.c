/* tests/tui/mktrace: writes deterministic traces with the writer API for
 * the TUI's golden screens — the event sequences the notes' samples make
 * (abba_mythread after its deadlock, semaphore_pool, producer_consumer,
 * shared_money's race), with fixed timestamps, so screens are the same on
 * every run. Locks are this program's globals and stacks its functions,
 * so names and frames resolve like a real program's.
 *
 *   mktrace abba|semaphore|prodcons|race|order OUT.trace
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/writer.h"

/* The sync objects: named like the samples' globals. */
long mutexA, mutexB, sm, money, q_mutex, q_not_empty, q_not_full;

static struct tg_writer w;
static uint64_t base;

#define MS 1000000ull
#define US 1000ull

struct th {
    struct tg_stream s;
    uint32_t idx;
    uint64_t pthread;
    uint64_t last;              /* last time written: streams only go forward */
};

static struct th threads[32];
static int nthreads;

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static void emit(struct th *t, uint64_t ns, unsigned kind, unsigned arg, uint64_t obj,
                 uint32_t stack)
{
    if (ns < t->last) {
        fprintf(stderr, "mktrace: thread %u goes back in time (%llu < %llu)\n", t->idx,
                (unsigned long long)ns, (unsigned long long)t->last);
        exit(1);
    }
    t->last = ns;
    tg_stream_emit(&t->s, kind, arg, obj, stack, base + ns);
}

static void emit1(struct th *t, uint64_t ns, unsigned kind, unsigned arg, uint64_t obj,
                  uint32_t stack, uint64_t a, uint64_t b)
{
    t->last = ns;
    tg_stream_emit1(&t->s, kind, arg, obj, stack, base + ns, a, b);
}

/* Functions whose addresses make the stacks: `func2 mktrace.c:NN`. */
__attribute__((noinline)) void func1(void) { __asm__ volatile(""); }
__attribute__((noinline)) void func2(void) { __asm__ volatile(""); }
__attribute__((noinline)) void run(void) { __asm__ volatile(""); }
__attribute__((noinline)) void task(void) { __asm__ volatile(""); }
__attribute__((noinline)) void producer(void) { __asm__ volatile(""); }
__attribute__((noinline)) void consumer(void) { __asm__ volatile(""); }

int main(int argc, char **argv);

static uint32_t stack_of(void (*leaf)(void), void (*caller)(void))
{
    uint64_t frames[3] = { addr((void *)leaf) + 4,
                           addr(caller ? (void *)caller : (void *)main) + 4,
                           addr((void *)main) + 4 };
    return tg_writer_stack(&w, frames, caller ? 3 : 2);
}

/* Thread N (0 = main) starts at NS, created by main. */
static struct th *start(int n, uint64_t ns, const char *name, void (*routine)(void))
{
    struct th *t = &threads[n];
    if (n >= nthreads)
        nthreads = n + 1;
    t->idx = n == 0 ? w.first_thread : tg_writer_new_thread(&w);
    t->pthread = 0x7f0000001000ull + 0x10000ull * (uint64_t)n;
    tg_stream_init(&t->s, &w, t->idx);
    uint64_t parent = n == 0 ? TG_NO_THREAD : threads[0].idx;
    if (n > 0) {
        emit1(&threads[0], ns > 50 * US ? ns - 50 * US : 0, TG_EV_THREAD_CREATE, 0, t->pthread,
              0, t->idx, addr((void *)routine));
    }
    emit1(t, ns, TG_EV_THREAD_START, 0, t->pthread, 0, (4000 + (uint64_t)n) | parent << 32,
          n ? addr((void *)routine) : 0);
    if (name != NULL) {
        t->last = ns + 1 * US;
        tg_stream_emit_var(&t->s, TG_EV_THREAD_NAME, 0, 0, base + ns + 1 * US, name,
                           strlen(name) + 1);
    }
    return t;
}

static void finish(int wait_status)
{
    for (int i = 0; i < nthreads; i++)
        tg_stream_close(&threads[i].s);
    tg_writer_finish(&w, wait_status);
}

/* ---- abba_mythread 100ms: Thread-1 holds B asleep, Thread-2 holds A and
 * waits for B, Thread-1 wakes and waits for A; Threads 3-10 wait for A;
 * main joins Thread-1. tangle ended it with SIGKILL. ---- */
static void abba(void)
{
    uint32_t s_a1 = stack_of(func1, run), s_b1 = stack_of(func1, run);
    uint32_t s_b2 = stack_of(func2, run), s_a2 = stack_of(func2, run);
    struct th *m = start(0, 0, NULL, NULL);
    struct th *t[11];
    for (int i = 1; i <= 10; i++) {
        char name[16];
        snprintf(name, sizeof name, "Thread-%d", i);
        t[i] = start(i, (uint64_t)i * MS, name, run);
    }
    /* Thread-1: func1 then func2 */
    emit(t[1], 1 * MS + 100 * US, TG_EV_MUTEX_ACQ, 0, addr(&mutexA), s_a1);
    emit(t[1], 1 * MS + 150 * US, TG_EV_MUTEX_ACQ, 0, addr(&mutexB), s_b1);
    emit(t[1], 1 * MS + 200 * US, TG_EV_MUTEX_REL, 0, addr(&mutexB), 0);
    emit(t[1], 1 * MS + 250 * US, TG_EV_MUTEX_REL, 0, addr(&mutexA), 0);
    emit(t[1], 1 * MS + 300 * US, TG_EV_MUTEX_ACQ, 0, addr(&mutexB), s_b2);
    emit1(t[1], 1 * MS + 350 * US, TG_EV_SLEEP_BEGIN, 0, 0, s_b2, 100 * MS, 0);
    emit(t[1], 101 * MS + 350 * US, TG_EV_SLEEP_END, 0, 0, 0);
    emit(t[1], 101 * MS + 400 * US, TG_EV_MUTEX_REQ, 0, addr(&mutexA), s_a2);
    /* Thread-2: takes A, waits for B */
    emit(t[2], 2 * MS + 100 * US, TG_EV_MUTEX_ACQ, 0, addr(&mutexA), s_a1);
    emit(t[2], 2 * MS + 150 * US, TG_EV_MUTEX_REQ, 0, addr(&mutexB), s_b1);
    /* Threads 3-10 wait for A in func1 */
    for (int i = 3; i <= 10; i++)
        emit(t[i], (uint64_t)i * MS + 100 * US, TG_EV_MUTEX_REQ, 0, addr(&mutexA), s_a1);
    emit(m, 11 * MS, TG_EV_JOIN_REQ, 0, t[1]->pthread, 0);
    /* the deadlock detector ends it after its settle time: nothing more */
    finish(SIGKILL);
}

/* ---- semaphore_pool 100: Semaphore(5), 23 threads hold it 100 ms each ---- */
static void semaphore(void)
{
    uint32_t s_wait = stack_of(task, NULL), s_post = stack_of(task, NULL);
    struct th *m = start(0, 0, NULL, NULL);
    emit1(m, 10 * US, TG_EV_SEM_INIT, 0, addr(&sm), 0, 5, 0);
    struct th *t[24];
    uint64_t free_at[5] = { 0 };        /* when each unit is posted back */
    int holder_of[5] = { 0 };
    uint64_t acq[24] = { 0 };
    for (int i = 1; i <= 23; i++) {
        char name[16];
        snprintf(name, sizeof name, "Thread-%d", i);
        uint64_t st = (uint64_t)i * 200 * US;
        t[i] = start(i, st, name, task);
        uint64_t want = st + 20 * US;
        /* the unit that frees first (threads queue in order) */
        int u = 0;
        for (int k = 1; k < 5; k++)
            if (free_at[k] < free_at[u])
                u = k;
        if (free_at[u] <= want) {
            acq[i] = want;
            emit(t[i], want, TG_EV_SEM_ACQ, 0, addr(&sm), s_wait);
        } else {
            emit(t[i], want, TG_EV_SEM_REQ, 0, addr(&sm), s_wait);
            acq[i] = free_at[u] + 10 * US;
            emit(t[i], acq[i], TG_EV_SEM_ACQ, 0, addr(&sm), s_wait);
        }
        holder_of[u] = i;
        free_at[u] = acq[i] + 100 * MS + 100 * US;
        emit1(t[i], acq[i] + 50 * US, TG_EV_SLEEP_BEGIN, 0, 0, s_wait, 100 * MS, 0);
        emit(t[i], acq[i] + 100 * MS + 50 * US, TG_EV_SLEEP_END, 0, 0, 0);
        emit(t[i], free_at[u], TG_EV_SEM_POST, 0, addr(&sm), s_post);
        emit(t[i], free_at[u] + 20 * US, TG_EV_THREAD_EXIT, 0, 0, 0);
    }
    (void)holder_of;
    /* main joins them in order */
    uint64_t now = 23 * 200 * US + 100 * US;
    for (int i = 1; i <= 23; i++) {
        uint64_t end = t[i]->last;
        emit(m, now, TG_EV_JOIN_REQ, 0, t[i]->pthread, 0);
        now = (end > now ? end : now) + 5 * US;
        emit(m, now, TG_EV_JOIN_DONE, 0, t[i]->pthread, 0);
    }
    emit1(m, now + 10 * US, TG_EV_PROCESS_EXIT, 0, 0, 0, 0, 0);
    finish(0);
}

/* ---- producer_consumer: henry puts 10 foods into a Queue(10) (mutex +
 * not_empty), echo1-4 get them and "eat" for 1-3 units; a None ends them.
 * Time advances thread by thread in event order (a small simulation). ---- */
enum { P = 1, NCONS = 4 };

static void prodcons(void)
{
    static const uint64_t make[10] = { 30, 70, 10, 50, 20, 90, 40, 60, 80, 30 };   /* ms */
    static const uint64_t eat[16] = { 100, 200, 300, 100, 200, 100, 300, 200, 100, 300,
                                      200, 100, 100, 100, 100, 100 };
    uint32_t s_put = stack_of(producer, NULL), s_get = stack_of(consumer, NULL);
    struct th *m = start(0, 0, NULL, NULL);
    struct th *prod = start(P, 1 * MS, "henry", producer);
    struct th *c[NCONS + 2];
    static const char *const names[] = { "echo1", "echo2", "echo3", "echo4" };
    uint64_t ready[NCONS + 2];          /* when each consumer next wants an item */
    bool waiting[NCONS + 2] = { false };
    int items = 0, eaten = 0, pill = 0;
    for (int k = 0; k < NCONS; k++) {
        c[k] = start(2 + k, 2 * MS + (uint64_t)k * MS, names[k], consumer);
        ready[k] = c[k]->last + 50 * US;
    }
    uint64_t put_at[11];
    uint64_t t = 1 * MS;
    for (int i = 0; i < 10; i++) {
        t += make[i] * MS;
        put_at[i] = t;
    }
    put_at[10] = UINT64_MAX;
    emit(m, 6 * MS, TG_EV_JOIN_REQ, 0, prod->pthread, 0);
    int next_put = 0;
    uint64_t none_at = UINT64_MAX;
    for (;;) {
        /* the earliest thing to happen: a put, or a consumer's get */
        int who = -1;
        uint64_t when = put_at[next_put] < none_at ? put_at[next_put] : none_at;
        for (int k = 0; k < NCONS; k++)
            if (!waiting[k] && ready[k] != UINT64_MAX && ready[k] < when) {
                when = ready[k];
                who = k;
            }
        if (when == UINT64_MAX)
            break;
        if (who < 0) {
            /* henry (or main's None) puts: lock, signal, unlock */
            bool is_none = next_put >= 10;
            struct th *pt = is_none ? m : prod;
            if (is_none)
                none_at = UINT64_MAX;
            else
                next_put++;
            emit(pt, when, TG_EV_MUTEX_ACQ, 0, addr(&q_mutex), s_put);
            emit(pt, when + 10 * US, TG_EV_COND_SIGNAL, 0, addr(&q_not_empty), s_put);
            emit(pt, when + 20 * US, TG_EV_MUTEX_REL, 0, addr(&q_mutex), s_put);
            if (is_none)
                pill = 1;
            else
                items++;
            if (!is_none && next_put == 10) {
                emit(prod, when + 30 * US, TG_EV_THREAD_EXIT, 0, 0, 0);
                emit(m, when + 40 * US, TG_EV_JOIN_DONE, 0, prod->pthread, 0);
                none_at = when + 60 * US;
            }
            /* the first waiting consumer wakes with the mutex */
            for (int k = 0; k < NCONS; k++) {
                if (!waiting[k])
                    continue;
                waiting[k] = false;
                emit1(c[k], when + 30 * US, TG_EV_COND_WOKE, 0, addr(&q_not_empty), s_get,
                      addr(&q_mutex), 0);
                ready[k] = when + 30 * US;
                if (pill) {
                    /* None: put it back for the next one and stop */
                    emit(c[k], when + 40 * US, TG_EV_COND_SIGNAL, 0, addr(&q_not_empty), s_get);
                    emit(c[k], when + 50 * US, TG_EV_MUTEX_REL, 0, addr(&q_mutex), s_get);
                    emit(c[k], when + 60 * US, TG_EV_THREAD_EXIT, 0, 0, 0);
                    ready[k] = UINT64_MAX;
                    none_at = when + 70 * US;
                    pill = 0;
                } else {
                    items--;
                    emit(c[k], when + 40 * US, TG_EV_COND_SIGNAL, 0, addr(&q_not_full), s_get);
                    emit(c[k], when + 50 * US, TG_EV_MUTEX_REL, 0, addr(&q_mutex), s_get);
                    emit1(c[k], when + 60 * US, TG_EV_SLEEP_BEGIN, 0, 0, s_get, 0, 0);
                    ready[k] = when + 60 * US + eat[eaten++ % 16] * MS;
                    emit(c[k], ready[k], TG_EV_SLEEP_END, 0, 0, 0);
                    ready[k] += 10 * US;
                }
                break;
            }
            continue;
        }
        /* consumer WHO gets: lock; an item (or None), or wait */
        struct th *ct = c[who];
        emit(ct, when, TG_EV_MUTEX_ACQ, 0, addr(&q_mutex), s_get);
        if (items > 0) {
            items--;
            emit(ct, when + 10 * US, TG_EV_COND_SIGNAL, 0, addr(&q_not_full), s_get);
            emit(ct, when + 20 * US, TG_EV_MUTEX_REL, 0, addr(&q_mutex), s_get);
            emit1(ct, when + 30 * US, TG_EV_SLEEP_BEGIN, 0, 0, s_get, 0, 0);
            ready[who] = when + 30 * US + eat[eaten++ % 16] * MS;
            emit(ct, ready[who], TG_EV_SLEEP_END, 0, 0, 0);
            ready[who] += 10 * US;
        } else if (pill) {
            emit(ct, when + 10 * US, TG_EV_COND_SIGNAL, 0, addr(&q_not_empty), s_get);
            emit(ct, when + 20 * US, TG_EV_MUTEX_REL, 0, addr(&q_mutex), s_get);
            emit(ct, when + 30 * US, TG_EV_THREAD_EXIT, 0, 0, 0);
            ready[who] = UINT64_MAX;
        } else {
            emit1(ct, when + 10 * US, TG_EV_COND_WAIT, 0, addr(&q_not_empty), s_get,
                  addr(&q_mutex), 0);
            waiting[who] = true;
        }
    }
    uint64_t now = m->last + 100 * US;
    for (int k = 0; k < NCONS; k++) {
        emit(m, now, TG_EV_JOIN_REQ, 0, c[k]->pthread, 0);
        now = (c[k]->last > now ? c[k]->last : now) + 10 * US;
        emit(m, now, TG_EV_JOIN_DONE, 0, c[k]->pthread, 0);
    }
    emit1(m, now + 10 * US, TG_EV_PROCESS_EXIT, 0, 0, 0, 0, 0);
    finish(0);
}

/* ---- shared_money, built with tangle cc: Thread-1 writes money while
 * main reads it; the race runtime records a RACE event. ---- */
static void race(void)
{
    uint32_t s_write = stack_of(task, NULL), s_read = stack_of(run, NULL);
    struct th *m = start(0, 0, NULL, NULL);
    struct th *t1 = start(1, 1 * MS, "Thread-1", task);
    emit1(t1, 1 * MS + 200 * US, TG_EV_WATCH_ACCESS, 8 | TG_ACCESS_WRITE, addr(&money), s_write,
          addr((void *)task), 0);
    struct tg_race_payload rp = {
        .addr = addr(&money), .size = 4, .flags = 2, .cur_thread = m->idx,
        .prev_thread = t1->idx, .cur_stack = s_read, .prev_stack = s_write,
        .prev_pc = addr((void *)task) + 4,
    };
    m->last = 1 * MS + 300 * US;
    tg_stream_emit_var(&m->s, TG_EV_RACE, addr(&money), s_read, base + 1 * MS + 300 * US, &rp,
                       sizeof rp);
    emit(m, 2 * MS, TG_EV_JOIN_REQ, 0, t1->pthread, 0);
    emit(t1, 3 * MS, TG_EV_THREAD_EXIT, 0, 0, 0);
    emit(m, 3 * MS + 50 * US, TG_EV_JOIN_DONE, 0, t1->pthread, 0);
    emit1(m, 4 * MS, TG_EV_PROCESS_EXIT, 0, 0, 0, 0, 0);
    finish(0);
}

/* ---- holds released out of order (lock A, lock B, unlock A), a wait
 * inside a hold, a recursive mutex: what the Chrome export must still
 * nest. ---- */
static void order(void)
{
    uint32_t st = stack_of(func1, run);
    struct th *m = start(0, 0, NULL, NULL);
    struct th *t1 = start(1, 1 * MS, "Thread-1", run);
    struct th *t2 = start(2, 2 * MS, "Thread-2", run);
    emit(t1, 3 * MS, TG_EV_MUTEX_ACQ, 0, addr(&mutexA), st);
    emit(t1, 4 * MS, TG_EV_MUTEX_ACQ, 0, addr(&mutexB), st);
    emit(t2, 4 * MS + 500 * US, TG_EV_MUTEX_REQ, 0, addr(&mutexA), st);
    emit(t1, 5 * MS, TG_EV_MUTEX_REL, 0, addr(&mutexA), st);
    emit(t2, 5 * MS + 100 * US, TG_EV_MUTEX_ACQ, 0, addr(&mutexA), st);
    emit(t2, 5 * MS + 200 * US, TG_EV_MUTEX_ACQ, TG_ARG(TG_MUTEX_RECURSIVE, 0, 0, TG_OK),
         addr(&mutexA), st);
    emit(t1, 6 * MS, TG_EV_MUTEX_REQ, 0, addr(&q_mutex), st);
    emit(t2, 6 * MS + 500 * US, TG_EV_MUTEX_REL, 0, addr(&mutexA), st);
    emit(t1, 7 * MS, TG_EV_MUTEX_ACQ, 0, addr(&q_mutex), st);
    emit(t2, 7 * MS + 500 * US, TG_EV_MUTEX_REL, 0, addr(&mutexA), st);
    emit(t1, 8 * MS, TG_EV_MUTEX_REL, 0, addr(&mutexB), st);
    emit(t1, 9 * MS, TG_EV_MUTEX_REL, 0, addr(&q_mutex), st);
    emit(t1, 10 * MS, TG_EV_THREAD_EXIT, 0, 0, 0);
    emit(t2, 10 * MS, TG_EV_THREAD_EXIT, 0, 0, 0);
    emit1(m, 11 * MS, TG_EV_PROCESS_EXIT, 0, 0, 0, 0, 0);
    finish(0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mktrace abba|semaphore|prodcons|race|order OUT.trace\n");
        return 2;
    }
    setenv("TANGLE_CLOCK", "monotonic", 1);
    remove(argv[2]);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s %s", argv[1], argv[2]);
    int rc = tg_writer_open(&w, argv[2], argv[1], cmd);
    if (rc < 0) {
        fprintf(stderr, "mktrace: %s: %s\n", argv[2], strerror(-rc));
        return 1;
    }
    base = w.hdr->tick0;
    if (strcmp(argv[1], "abba") == 0)
        abba();
    else if (strcmp(argv[1], "semaphore") == 0)
        semaphore();
    else if (strcmp(argv[1], "prodcons") == 0)
        prodcons();
    else if (strcmp(argv[1], "race") == 0)
        race();
    else if (strcmp(argv[1], "order") == 0)
        order();
    else
        return 2;
    return 0;
}
