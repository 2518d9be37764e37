/* detectors/race/: the entry point from tg_analysis_feed, and the one place
 * race findings are built, so the RACE decoder and the --watch analysis
 * produce the same shape. */
#include <stdlib.h>

#include "detectors/race/race_int.h"

void rc_feed(struct tg_analysis *a, const struct tg_ev *ev)
{
    if (ev->kind == TG_EV_RACE)
        rc_race_event(a, ev);
    else
        rc_watch_feed(a, ev);
}

void rc_free(struct tg_analysis *a)
{
    rc_watch_free(a->race);
    a->race = NULL;
}

/* The locks an access held, as the step's `others`: analysis objects from
 * the holds, then addresses the analysis has never seen locked (custom
 * locks annotated with __tsan_mutex_*), as objects of their own. */
static void access_locks(struct fbuild *b, struct tg_analysis *a, uint32_t process,
                         struct tg_step *s, const struct rc_access *acc)
{
    fb_others(b, a, s, acc->held, acc->nheld, NONE);
    for (uint32_t i = 0; i < acc->nlock_addrs && !b->oom; i++) {
        uint64_t addr = acc->lock_addrs[i] & ~TG_RACE_LOCK_READ;
        bool read = (acc->lock_addrs[i] & TG_RACE_LOCK_READ) != 0;
        uint32_t obj = st_obj_find(a, process, addr);
        uint32_t idx;
        uint8_t mode = read ? TG_MODE_READ : TG_MODE_EXCL;
        if (obj != NONE) {
            idx = fb_obj(b, a, obj);
            if (OBJ(a, obj)->kind == TG_OBJ_RWLOCK && !read)
                mode = TG_MODE_WRITE;
        } else {
            struct tg_obj_ref ref = { .process = process, .kind = TG_OBJ_MUTEX, .addr = addr };
            idx = fb_obj_ref(b, &ref);
        }
        if (GROW(b->pool, b->cappool, b->npool + 1) < 0) {
            b->oom = true;
            return;
        }
        b->pool[b->npool++] = (struct tg_held_ref){ .obj = idx, .mode = mode };
        s->nothers++;
    }
}

static void add_step(struct fbuild *b, struct tg_analysis *a, uint32_t process,
                     const struct rc_access *acc)
{
    struct tg_step *s = fb_step(b);
    if (!s)
        return;
    s->role = TG_ROLE_ACCESS;
    s->event = acc->event;
    s->thread = acc->thread;
    s->obj = 0;                 /* the memory */
    s->stack = acc->stack;
    s->ts = acc->ts;
    s->pc = acc->pc;
    s->addr = acc->addr;
    s->size = acc->size;
    s->access = acc->access;
    access_locks(b, a, process, s, acc);
}

/* Where an access is in the code: a watched access's pc (exact: the
 * faulting instruction), else its stack (the runtime's stacks start at the
 * access), else whatever pc is known. */
static uint64_t location(struct tg_analysis *a, const struct rc_access *acc)
{
    if (acc->stack && (acc->event != TG_EV_WATCH_ACCESS || !acc->pc))
        return hash2(0x737463, fd_stack_key(a, acc->stack));
    return hash2(0x7063, acc->pc);
}

void rc_commit(struct tg_analysis *a, const struct rc_mem *m, const struct rc_access *cur,
               const struct rc_access *prev)
{
    struct fbuild b;
    fb_init(&b, TG_FIND_RACE, 0, m->process, m->ts);
    struct tg_obj_ref mem = {
        .process = m->process, .kind = TG_OBJ_MEMORY,
        .addr = m->mem.heap ? m->mem.heap_block : m->mem.addr,
        .site_stack = m->mem.heap ? m->mem.heap_stack : 0,
        .site_thread = m->mem.heap ? m->mem.heap_thread : TG_NO_THREAD,
    };
    fb_obj_ref(&b, &mem);
    add_step(&b, a, m->process, cur);
    add_step(&b, a, m->process, prev);
    b.f.mem = m->mem;
    /* one finding per variable and unordered pair of code locations,
     * whichever thread came first */
    uint64_t l1 = location(a, cur), l2 = location(a, prev);
    b.f.key = hash2(hash2(hash2(TG_FIND_RACE, fd_obj_key(a, &mem)), l1 < l2 ? l1 : l2),
                    l1 < l2 ? l2 : l1) | 1;
    struct tg_finding *f = fb_done(&b, a);
    if (f)
        fd_commit(a, f);
}
