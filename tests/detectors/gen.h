/* Synthetic event sequences for the detector tests: each helper feeds one
 * event to the analysis under test, a microsecond after the previous one.
 * Thread 0 is the main thread of process 0; pthread_t of thread T is
 * PTH(T). Stack ids stand for code locations. */
#ifndef TG_TEST_DETECTORS_GEN_H
#define TG_TEST_DETECTORS_GEN_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/detectors.h"

#define PTH(t) (0x7f0000001000ull + (uint64_t)(t) * 0x10000)
#define MS 1000000ull

static struct tg_analysis *A;
static struct tg_contention *C;     /* fed too when set */
static uint64_t NOW = 1000;
static uint32_t PROC = 0;

/* The analysis runs as `tangle run` without --watch runs it (skip_watch:
 * its lock-pair fast path is taken), or with the --watch state when
 * TG_TEST_WATCH_STATE is set: meson runs every file both ways, and both
 * must give the same findings. */
static inline void gen_setup_cfg(const struct tg_analysis_config *cfg)
{
    NOW = 1000;
    PROC = 0;
    struct tg_analysis_config c = cfg ? *cfg : (struct tg_analysis_config){ 0 };
    c.skip_watch = getenv("TG_TEST_WATCH_STATE") == NULL;
    cr_assert_eq(tg_analysis_new(&c, &A), 0);
}
static inline void gen_setup(void) { gen_setup_cfg(NULL); }
static inline void gen_teardown(void)
{
    tg_analysis_free(A);
    A = NULL;
    tg_contention_free(C);
    C = NULL;
}

static inline void emit(struct tg_ev e)
{
    NOW += 1000;
    e.ts = NOW;
    e.process = PROC;
    if (!e.result)
        e.result = (uint8_t)TG_ARG_RESULT(e.arg);
    if (A)
        cr_assert_eq(tg_analysis_feed(A, &e), 0, "feed kind %u", e.kind);
    if (C)
        cr_assert_eq(tg_contention_feed(C, &e), 0, "contention feed kind %u", e.kind);
}
#define EV(...) emit((struct tg_ev){ __VA_ARGS__ })

static inline void advance(uint64_t ns) { NOW += ns; }

/* threads */
static inline void start(uint32_t t)
{
    uint64_t parent = t == 0 ? TG_NO_THREAD : 0;
    EV(.kind = TG_EV_THREAD_START, .thread = t, .obj = PTH(t), .p0 = (1000 + t) | parent << 32);
}
/* the first thread of a (forked) process */
static inline void start_main(uint32_t t)
{
    EV(.kind = TG_EV_THREAD_START, .thread = t, .obj = PTH(t), .p0 = (1000 + t) | (uint64_t)TG_NO_THREAD << 32);
}
static inline void create(uint32_t parent, uint32_t child)
{
    EV(.kind = TG_EV_THREAD_CREATE, .thread = parent, .obj = PTH(child), .p0 = child);
}
/* main creates each thread and it starts */
static inline void spawn(uint32_t child) { create(0, child); start(child); }
static inline void texit(uint32_t t) { EV(.kind = TG_EV_THREAD_EXIT, .thread = t); }
static inline void join_req(uint32_t t, uint32_t target, bool timed)
{
    EV(.kind = TG_EV_JOIN_REQ, .thread = t, .obj = PTH(target), .timed = timed);
}
static inline void join_done(uint32_t t, uint32_t target, uint8_t result)
{
    EV(.kind = TG_EV_JOIN_DONE, .thread = t, .obj = PTH(target), .result = result);
}
static inline void join(uint32_t t, uint32_t target)
{
    join_req(t, target, false);
    join_done(t, target, TG_OK);
}
static inline void pexit(void) { EV(.kind = TG_EV_PROCESS_EXIT, .thread = 0); }

/* mutexes; mtype NORMAL unless given */
static inline void minit(uint32_t t, uint64_t m, uint8_t type)
{
    EV(.kind = TG_EV_MUTEX_INIT, .thread = t, .obj = m, .mtype = type, .stack = 900);
}
static inline void lock_s(uint32_t t, uint64_t m, uint32_t stack)
{
    EV(.kind = TG_EV_MUTEX_ACQ, .thread = t, .obj = m, .stack = stack);
}
static inline void lock(uint32_t t, uint64_t m) { lock_s(t, m, (uint32_t)(m & 0xffff)); }
static inline void lock_type(uint32_t t, uint64_t m, uint8_t type)
{
    EV(.kind = TG_EV_MUTEX_ACQ, .thread = t, .obj = m, .mtype = type, .stack = (uint32_t)(m & 0xffff));
}
static inline void req_s(uint32_t t, uint64_t m, uint32_t stack, bool timed)
{
    EV(.kind = TG_EV_MUTEX_REQ, .thread = t, .obj = m, .stack = stack, .timed = timed);
}
static inline void req(uint32_t t, uint64_t m) { req_s(t, m, (uint32_t)(m & 0xffff) + 1, false); }
static inline void acq(uint32_t t, uint64_t m)
{
    EV(.kind = TG_EV_MUTEX_ACQ, .thread = t, .obj = m, .stack = (uint32_t)(m & 0xffff) + 1);
}
static inline void mfail(uint32_t t, uint64_t m, uint8_t result, bool timed)
{
    EV(.kind = TG_EV_MUTEX_FAIL, .thread = t, .obj = m, .result = result, .timed = timed);
}
static inline void trylock(uint32_t t, uint64_t m, uint8_t result)
{
    EV(.kind = TG_EV_MUTEX_TRY, .thread = t, .obj = m, .result = result, .stack = 77);
}
static inline void unlock_r(uint32_t t, uint64_t m, uint8_t result)
{
    EV(.kind = TG_EV_MUTEX_REL, .thread = t, .obj = m, .result = result, .stack = 55);
}
static inline void unlock(uint32_t t, uint64_t m) { unlock_r(t, m, TG_OK); }

/* rwlocks */
static inline void rdlock(uint32_t t, uint64_t l) { EV(.kind = TG_EV_RD_ACQ, .thread = t, .obj = l, .stack = 31); }
static inline void wrlock(uint32_t t, uint64_t l) { EV(.kind = TG_EV_WR_ACQ, .thread = t, .obj = l, .stack = 32); }
static inline void rwunlock(uint32_t t, uint64_t l) { EV(.kind = TG_EV_RW_REL, .thread = t, .obj = l); }

/* condition variables */
static inline void cwait(uint32_t t, uint64_t c, uint64_t m, bool timed)
{
    EV(.kind = TG_EV_COND_WAIT, .thread = t, .obj = c, .p0 = m, .p1 = timed ? 123456789 : 0,
       .timed = timed, .stack = 41);
}
static inline void cwoke(uint32_t t, uint64_t c, uint64_t m, uint8_t result)
{
    EV(.kind = TG_EV_COND_WOKE, .thread = t, .obj = c, .p0 = m, .result = result, .stack = 41);
}
static inline void csignal(uint32_t t, uint64_t c) { EV(.kind = TG_EV_COND_SIGNAL, .thread = t, .obj = c, .stack = 42); }
static inline void cbroadcast(uint32_t t, uint64_t c) { EV(.kind = TG_EV_COND_BROADCAST, .thread = t, .obj = c, .stack = 43); }

/* semaphores */
static inline void sinit(uint32_t t, uint64_t s, uint64_t value)
{
    EV(.kind = TG_EV_SEM_INIT, .thread = t, .obj = s, .p0 = value);
}
static inline void sreq(uint32_t t, uint64_t s) { EV(.kind = TG_EV_SEM_REQ, .thread = t, .obj = s, .stack = 51); }
static inline void sacq(uint32_t t, uint64_t s) { EV(.kind = TG_EV_SEM_ACQ, .thread = t, .obj = s, .stack = 51); }
static inline void spost(uint32_t t, uint64_t s) { EV(.kind = TG_EV_SEM_POST, .thread = t, .obj = s, .stack = 52); }

static inline void sleep_begin(uint32_t t) { EV(.kind = TG_EV_SLEEP_BEGIN, .thread = t, .p0 = 1000 * MS); }
static inline void sleep_end(uint32_t t) { EV(.kind = TG_EV_SLEEP_END, .thread = t); }

/* ---- looking at the results */

static inline size_t findings(const struct tg_finding *const **fs)
{
    return tg_analysis_findings(A, fs);
}

static inline size_t count_kind(unsigned kind, int sub)
{
    const struct tg_finding *const *fs;
    size_t n = findings(&fs), c = 0;
    for (size_t i = 0; i < n; i++)
        if (fs[i]->kind == kind && (sub < 0 || fs[i]->sub == (unsigned)sub))
            c++;
    return c;
}

static inline const struct tg_finding *only(unsigned kind)
{
    const struct tg_finding *const *fs;
    size_t n = findings(&fs);
    cr_assert_eq(n, 1, "expected exactly one finding, got %zu", n);
    cr_assert_eq(fs[0]->kind, kind, "kind %u, expected %u (sub %u)", fs[0]->kind, kind, fs[0]->sub);
    return fs[0];
}

static inline void assert_clean(void)
{
    const struct tg_finding *const *fs;
    size_t n = findings(&fs);
    for (size_t i = 0; i < n; i++)
        cr_log_error("unexpected finding: %s/%s", tg_finding_kind_name(fs[i]->kind),
                     tg_finding_sub_name(fs[i]->kind, fs[i]->sub));
    cr_assert_eq(n, 0, "expected no finding, got %zu", n);
}

/* the address of the object a step refers to */
static inline uint64_t step_obj(const struct tg_finding *f, uint32_t i)
{
    cr_assert_lt(f->steps[i].obj, f->nobjs);
    return f->objs[f->steps[i].obj].addr;
}
static inline uint64_t step_held(const struct tg_finding *f, uint32_t i)
{
    cr_assert_lt(f->steps[i].held.obj, f->nobjs);
    return f->objs[f->steps[i].held.obj].addr;
}

#endif
