/* detectors/race/ through the analysis API, fed synthetic traces: a watched
 * write by one thread and a watched read by another, ordered by one kind of
 * synchronisation (clean) or by nothing (a race); and RACE payloads of the
 * in-process runtime decoded into findings. */
#include <criterion/criterion.h>
#include <string.h>

#include "detectors/detectors.h"

#define VAR   0x404010ull       /* the watched variable */
#define OBJ   0x404100ull       /* a sync object */
#define OBJ2  0x404200ull
#define PTH(t) (0x7f0000001000ull + (uint64_t)(t) * 0x10000)

static struct tg_analysis *A;
static uint64_t NOW;

static void setup(void)
{
    NOW = 1000;
    cr_assert_eq(tg_analysis_new(NULL, &A), 0);
}

static void teardown(void)
{
    tg_analysis_free(A);
}

static void feed(struct tg_ev e)
{
    NOW += 1000;
    e.ts = NOW;
    cr_assert_eq(tg_analysis_feed(A, &e), 0, "feed kind %u", e.kind);
}
#define EV(...) feed((struct tg_ev){ __VA_ARGS__ })

static void start(uint32_t t, uint32_t parent)
{
    EV(.kind = TG_EV_THREAD_START, .thread = t, .obj = PTH(t),
       .p0 = (1000 + t) | (uint64_t)parent << 32);
}
static void create(uint32_t parent, uint32_t child)
{
    EV(.kind = TG_EV_THREAD_CREATE, .thread = parent, .obj = PTH(child), .p0 = child);
}
static void texit(uint32_t t) { EV(.kind = TG_EV_THREAD_EXIT, .thread = t); }
static void waccess(uint32_t t, bool write, uint32_t stack)
{
    EV(.kind = TG_EV_WATCH_ACCESS, .thread = t, .obj = VAR, .arg = 4 | (write ? TG_ACCESS_WRITE : 0),
       .stack = stack, .p0 = 0x401000 + stack);
}
static void ev(uint16_t kind, uint32_t t, uint64_t obj) { EV(.kind = kind, .thread = t, .obj = obj); }

static size_t races(const struct tg_finding **first)
{
    const struct tg_finding *const *fs;
    size_t n = tg_analysis_findings(A, &fs), r = 0;
    for (size_t i = 0; i < n; i++)
        if (fs[i]->kind == TG_FIND_RACE) {
            if (r++ == 0 && first)
                *first = fs[i];
        }
    return r;
}

/* main (T0) starts T1 and T2; T1 writes, syncs with SYNC_OUT, T2 syncs
 * with SYNC_IN and reads. */
static void two_threads(void (*sync_out)(void), void (*sync_in)(void))
{
    start(0, TG_NO_THREAD);
    create(0, 1);
    start(1, 0);
    create(0, 2);
    start(2, 0);
    waccess(1, true, 11);
    if (sync_out)
        sync_out();
    if (sync_in)
        sync_in();
    waccess(2, false, 22);
}

static void mutex_out(void) { ev(TG_EV_MUTEX_ACQ, 1, OBJ); ev(TG_EV_MUTEX_REL, 1, OBJ); }
static void mutex_in(void) { ev(TG_EV_MUTEX_ACQ, 2, OBJ); }
static void sem_out(void) { ev(TG_EV_SEM_POST, 1, OBJ); }
static void sem_in(void) { ev(TG_EV_SEM_ACQ, 2, OBJ); }
static void spin_out(void) { ev(TG_EV_SPIN_ACQ, 1, OBJ); ev(TG_EV_SPIN_REL, 1, OBJ); }
static void spin_in(void) { ev(TG_EV_SPIN_ACQ, 2, OBJ); }
static void wr_out(void) { ev(TG_EV_WR_ACQ, 1, OBJ); ev(TG_EV_RW_REL, 1, OBJ); }
static void rd_in(void) { ev(TG_EV_RD_ACQ, 2, OBJ); }
static void rd_out(void) { ev(TG_EV_RD_ACQ, 1, OBJ); ev(TG_EV_RW_REL, 1, OBJ); }
static void barrier_out(void) { ev(TG_EV_BARRIER_WAIT, 1, OBJ); ev(TG_EV_BARRIER_WAIT, 2, OBJ); }
static void barrier_in(void) { ev(TG_EV_BARRIER_DONE, 1, OBJ); ev(TG_EV_BARRIER_DONE, 2, OBJ); }
static void cond_out(void)
{
    ev(TG_EV_MUTEX_ACQ, 2, OBJ);
    EV(.kind = TG_EV_COND_WAIT, .thread = 2, .obj = OBJ2, .p0 = OBJ);
    ev(TG_EV_MUTEX_ACQ, 1, OBJ);
    ev(TG_EV_COND_SIGNAL, 1, OBJ2);
    ev(TG_EV_MUTEX_REL, 1, OBJ);
}
static void cond_in(void) { EV(.kind = TG_EV_COND_WOKE, .thread = 2, .obj = OBJ2, .p0 = OBJ); }
static void once_out(void) { ev(TG_EV_ONCE_BEGIN, 1, OBJ); ev(TG_EV_ONCE_END, 1, OBJ); }
static void once_in(void) { ev(TG_EV_ONCE_BEGIN, 2, OBJ); ev(TG_EV_ONCE_END, 2, OBJ); }
static void annot_out(void) { ev(TG_EV_SYNC_RELEASE, 1, OBJ); }
static void annot_in(void) { ev(TG_EV_SYNC_ACQUIRE, 2, OBJ); }
static void sleep_only(void)
{
    EV(.kind = TG_EV_SLEEP_BEGIN, .thread = 2, .p0 = 1000000);
    EV(.kind = TG_EV_SLEEP_END, .thread = 2);
}

TestSuite(race_detector, .init = setup, .fini = teardown);

struct kind { const char *name; void (*out)(void), (*in)(void); };
static const struct kind kinds[] = {
    { "mutex", mutex_out, mutex_in }, { "semaphore", sem_out, sem_in },
    { "spinlock", spin_out, spin_in }, { "rwlock write->read", wr_out, rd_in },
    { "barrier", barrier_out, barrier_in }, { "condition", cond_out, cond_in },
    { "once", once_out, once_in }, { "annotation", annot_out, annot_in },
};

Test(race_detector, every_sync_kind_orders)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        teardown();
        setup();
        two_threads(kinds[i].out, kinds[i].in);
        cr_assert_eq(races(NULL), 0, "%s should order the write before the read", kinds[i].name);
    }
}

Test(race_detector, half_a_sync_orders_nothing)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        teardown();
        setup();
        two_threads(kinds[i].out, NULL);
        cr_assert_eq(races(NULL), 1, "%s release alone: a race", kinds[i].name);
    }
}

Test(race_detector, readers_do_not_order_each_other)
{
    two_threads(rd_out, rd_in);
    cr_assert_eq(races(NULL), 1);
}

Test(race_detector, sleeping_orders_nothing)
{
    two_threads(NULL, sleep_only);
    const struct tg_finding *f = NULL;
    cr_assert_eq(races(&f), 1);
    cr_assert_eq(f->nsteps, 2);
    cr_assert_eq(f->steps[0].thread, 2);
    cr_assert_eq(f->steps[0].access & 1, 0, "the current access is the read");
    cr_assert_eq(f->steps[1].thread, 1);
    cr_assert_eq(f->steps[1].access & 1, 1, "the earlier one the write");
    cr_assert_eq(f->steps[0].stack, 22);
    cr_assert_eq(f->steps[1].stack, 11);
    cr_assert_eq(f->mem.addr, VAR);
    cr_assert_eq(f->mem.size, 4);
    cr_assert_eq(f->objs[f->steps[0].obj].kind, TG_OBJ_MEMORY);
}

Test(race_detector, join_and_create_order)
{
    start(0, TG_NO_THREAD);
    waccess(0, true, 1);         /* before the create: the child's past */
    create(0, 1);
    start(1, 0);
    waccess(1, true, 2);
    texit(1);
    EV(.kind = TG_EV_JOIN_REQ, .thread = 0, .obj = PTH(1));
    EV(.kind = TG_EV_JOIN_DONE, .thread = 0, .obj = PTH(1));
    waccess(0, false, 3);        /* after the join */
    cr_assert_eq(races(NULL), 0);
}

Test(race_detector, child_started_before_create_returned)
{
    start(0, TG_NO_THREAD);
    waccess(0, true, 1);
    start(1, 0);                /* the child's first event comes before THREAD_CREATE */
    waccess(1, true, 2);
    create(0, 1);
    cr_assert_eq(races(NULL), 0);
    waccess(0, false, 3);        /* the parent after pthread_create: not ordered with the child */
    cr_assert_eq(races(NULL), 1);
}

Test(race_detector, locks_held_are_in_the_finding)
{
    start(0, TG_NO_THREAD);
    create(0, 1);
    start(1, 0);
    ev(TG_EV_MUTEX_ACQ, 1, OBJ);
    waccess(1, true, 11);
    ev(TG_EV_MUTEX_REL, 1, OBJ);
    waccess(0, false, 22);       /* main reads without the lock */
    const struct tg_finding *f = NULL;
    cr_assert_eq(races(&f), 1);
    cr_assert_eq(f->steps[0].nothers, 0, "the read held nothing");
    cr_assert_eq(f->steps[1].nothers, 1, "the write held the mutex");
    cr_assert_eq(f->objs[f->steps[1].others[0].obj].addr, OBJ);
}

Test(race_detector, one_finding_per_pair_of_locations)
{
    start(0, TG_NO_THREAD);
    for (uint32_t t = 1; t <= 20; t++) {
        create(0, t);
        start(t, 0);
    }
    for (uint32_t t = 1; t <= 20; t++)
        waccess(t, true, 7);     /* twenty threads, one line */
    const struct tg_finding *f = NULL;
    cr_assert_eq(races(&f), 1);
    cr_assert_gt(f->count, 1);
}

Test(race_detector, race_payload_decoded)
{
    start(0, TG_NO_THREAD);
    create(0, 1);
    start(1, 0);
    /* the payload and its lock list, in 8-aligned storage */
    uint64_t storage[(sizeof(struct tg_race_payload) + 2 * sizeof(uint64_t)) / 8] = {0};
    struct tg_race_payload *p = (struct tg_race_payload *)storage;
    *p = (struct tg_race_payload){
        .addr = 0x5000010, .size = 4, .flags = TG_RACE_PREV_WRITE | TG_RACE_HEAP,
        .cur_thread = 0, .prev_thread = 1, .cur_stack = 31, .prev_stack = 32,
        .prev_pc = 0x401234, .heap_block = 0x5000000, .heap_size = 24, .heap_stack = 33,
        .heap_thread = 1, .prev_size = 8, .ncur_locks = 0, .nprev_locks = 1,
    };
    p->locks[0] = OBJ;
    ev(TG_EV_MUTEX_ACQ, 1, OBJ);
    EV(.kind = TG_EV_RACE, .thread = 0, .obj = 0x5000010, .stack = 31, .data = storage,
       .len = sizeof *p + sizeof p->locks[0]);
    const struct tg_finding *f = NULL;
    cr_assert_eq(races(&f), 1);
    cr_assert(f->mem.heap);
    cr_assert_eq(f->mem.heap_size, 24);
    cr_assert_eq(f->mem.heap_stack, 33);
    cr_assert_eq(f->steps[0].thread, 0);
    cr_assert_eq(f->steps[0].access, 0);
    cr_assert_eq(f->steps[1].thread, 1);
    cr_assert_eq(f->steps[1].access, 1);
    cr_assert_eq(f->steps[1].size, 8);
    cr_assert_eq(f->steps[1].nothers, 1);
    cr_assert_eq(f->objs[f->steps[1].others[0].obj].addr, OBJ);
    /* a payload cut short is not believed */
    EV(.kind = TG_EV_RACE, .thread = 0, .obj = 0x5000010, .data = storage, .len = 10);
    cr_assert_eq(races(NULL), 1);
}
