/* Findings: building them, their dedup keys, and the stable order they are
 * listed in.
 *
 * The key is what makes "the same bug" the same finding however often the
 * program repeats it: kind, sub-kind, and for every step its role, the call
 * and the objects and code locations involved (objects through the
 * configured object key, stacks through the stack key), never thread
 * indexes or times. Cycles are rotated to a canonical start before, so
 * whichever thread closed a cycle it has one key. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

void obj_ref_fill(struct tg_analysis *a, uint32_t obj, struct tg_obj_ref *out)
{
    const struct dobj *o = OBJ(a, obj);
    *out = (struct tg_obj_ref){
        .process = o->process, .kind = o->kind, .mtype = o->mtype, .pshared = o->pshared,
        .site_is_init = o->site_is_init, .addr = o->addr, .generation = o->generation,
        .site_stack = o->site_stack, .site_thread = o->site_thread, .site_ts = o->site_ts,
    };
}

uint64_t fd_obj_key(struct tg_analysis *a, const struct tg_obj_ref *o)
{
    if (a->cfg.keys.object)
        return a->cfg.keys.object(a->cfg.keys.ctx, o);
    return hash2(hash2(hash2(0x6f626a, o->process), o->addr), o->kind);
}

uint64_t fd_stack_key(struct tg_analysis *a, uint32_t stack)
{
    if (!stack)
        return 0;
    if (a->cfg.keys.stack)
        return a->cfg.keys.stack(a->cfg.keys.ctx, stack);
    return stack;
}

uint32_t fd_min_rotation(const uint64_t *h, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (h[i] > h[best])
            continue;
        if (h[i] < h[best]) {
            best = i;
            continue;
        }
        for (uint32_t k = 1; k < n; k++) {      /* tie: compare the rotations */
            uint64_t x = h[(i + k) % n], y = h[(best + k) % n];
            if (x != y) {
                if (x < y)
                    best = i;
                break;
            }
        }
    }
    return best;
}

/* ---- building */

void fb_init(struct fbuild *b, uint8_t kind, uint8_t sub, uint32_t process, uint64_t ts)
{
    memset(b, 0, sizeof *b);
    b->f.kind = kind;
    b->f.sub = sub;
    b->f.process = process;
    b->f.ts = ts;
    b->idx_ready = false;
}

void fb_discard(struct fbuild *b)
{
    free(b->objs);
    free(b->obj_ids);
    free(b->steps);
    free(b->pool);
    free(b->others_off);
    if (b->idx_ready)
        dmap_free(&b->idx);
    memset(b, 0, sizeof *b);
}

/* Index of analysis object OBJ in the finding, added at its first use. */
uint32_t fb_obj(struct fbuild *b, struct tg_analysis *a, uint32_t obj)
{
    if (obj == NONE)
        return TG_NO_OBJ;
    if (b->nobjs >= 16 && !b->idx_ready) {
        if (dmap_init(&b->idx, 64) < 0)
            goto oom;
        b->idx_ready = true;
        for (uint32_t i = 0; i < b->nobjs; i++)
            if (b->obj_ids[i] != NONE && dmap_put(&b->idx, b->obj_ids[i], 0, i) < 0)
                goto oom;
    }
    if (b->idx_ready) {
        uint32_t *v = dmap_find(&b->idx, obj, 0);
        if (v)
            return *v;
    } else {
        for (uint32_t i = 0; i < b->nobjs; i++)
            if (b->obj_ids[i] == obj)
                return i;
    }
    uint32_t cap = b->capobjs;
    if (GROW(b->objs, cap, b->nobjs + 1) < 0 || GROW(b->obj_ids, b->capobjs, b->nobjs + 1) < 0)
        goto oom;
    obj_ref_fill(a, obj, &b->objs[b->nobjs]);
    b->obj_ids[b->nobjs] = obj;
    if (b->idx_ready && dmap_put(&b->idx, obj, 0, b->nobjs) < 0)
        goto oom;
    return b->nobjs++;
oom:
    b->oom = true;
    return TG_NO_OBJ;
}

/* An object that is not in the analysis's table (a join target). */
uint32_t fb_obj_ref(struct fbuild *b, const struct tg_obj_ref *ref)
{
    uint32_t cap = b->capobjs;
    if (GROW(b->objs, cap, b->nobjs + 1) < 0 || GROW(b->obj_ids, b->capobjs, b->nobjs + 1) < 0) {
        b->oom = true;
        return TG_NO_OBJ;
    }
    b->objs[b->nobjs] = *ref;
    b->obj_ids[b->nobjs] = NONE;
    return b->nobjs++;
}

struct tg_step *fb_step(struct fbuild *b)
{
    uint32_t cap = b->capsteps;
    if (GROW(b->steps, cap, b->nsteps + 1) < 0 ||
        GROW(b->others_off, b->capsteps, b->nsteps + 1) < 0) {
        b->oom = true;
        return NULL;
    }
    struct tg_step *s = &b->steps[b->nsteps];
    *s = (struct tg_step){
        .thread = TG_NO_THREAD, .other_thread = TG_NO_THREAD, .obj = TG_NO_OBJ,
        .held = { .obj = TG_NO_OBJ },
    };
    b->others_off[b->nsteps] = b->npool;
    b->nsteps++;
    return s;
}

/* The locks in HELD except EXCEPT become S's "other locks held". S must be
 * the last step added. */
void fb_others(struct fbuild *b, struct tg_analysis *a, struct tg_step *s,
               const struct dheld *held, uint32_t nheld, uint32_t except)
{
    for (uint32_t i = 0; i < nheld; i++) {
        if (held[i].obj == except)
            continue;
        uint32_t idx = fb_obj(b, a, held[i].obj);
        if (GROW(b->pool, b->cappool, b->npool + 1) < 0) {
            b->oom = true;
            return;
        }
        b->pool[b->npool++] = (struct tg_held_ref){
            .obj = idx, .mode = held[i].mode, .stack = held[i].stack, .ts = held[i].ts,
        };
        s->nothers++;
    }
}

struct tg_finding *fb_done(struct fbuild *b, struct tg_analysis *a)
{
    if (b->oom) {
        a->oom = true;
        fb_discard(b);
        return NULL;
    }
    /* the threads involved, in order of first appearance */
    uint32_t nthreads = 0;
    uint32_t *threads = b->nsteps ? malloc(b->nsteps * sizeof *threads) : NULL;
    if (b->nsteps && !threads) {
        a->oom = true;
        fb_discard(b);
        return NULL;
    }
    for (uint32_t i = 0; i < b->nsteps; i++) {
        uint32_t t = b->steps[i].thread, j;
        if (t == TG_NO_THREAD)
            continue;
        for (j = 0; j < nthreads && threads[j] != t; j++)
            ;
        if (j == nthreads)
            threads[nthreads++] = t;
    }
    size_t size = sizeof(struct tg_finding) + b->nobjs * sizeof(struct tg_obj_ref) +
                  b->nsteps * sizeof(struct tg_step) + b->npool * sizeof(struct tg_held_ref) +
                  nthreads * sizeof(uint32_t);
    char *mem = malloc(size);
    if (!mem) {
        free(threads);
        a->oom = true;
        fb_discard(b);
        return NULL;
    }
    struct tg_finding *f = (struct tg_finding *)mem;
    struct tg_obj_ref *objs = (struct tg_obj_ref *)(f + 1);
    struct tg_step *steps = (struct tg_step *)(objs + b->nobjs);
    struct tg_held_ref *pool = (struct tg_held_ref *)(steps + b->nsteps);
    uint32_t *th = (uint32_t *)(pool + b->npool);
    *f = b->f;
    if (b->nobjs)
        memcpy(objs, b->objs, b->nobjs * sizeof *objs);
    if (b->npool)
        memcpy(pool, b->pool, b->npool * sizeof *pool);
    if (nthreads)
        memcpy(th, threads, nthreads * sizeof *th);
    for (uint32_t i = 0; i < b->nsteps; i++) {
        steps[i] = b->steps[i];
        steps[i].others = steps[i].nothers ? pool + b->others_off[i] : NULL;
    }
    f->objs = objs;
    f->nobjs = b->nobjs;
    f->steps = steps;
    f->nsteps = b->nsteps;
    f->threads = th;
    f->nthreads = nthreads;
    free(threads);
    fb_discard(b);
    return f;
}

/* ---- keys, dedup, order */

static uint64_t obj_key_at(struct tg_analysis *a, const struct tg_finding *f, uint32_t i)
{
    return i < f->nobjs ? fd_obj_key(a, &f->objs[i]) : 0;
}

static uint64_t step_key(struct tg_analysis *a, const struct tg_finding *f, const struct tg_step *s)
{
    uint64_t h = hash2(s->role, (uint64_t)s->wait << 24 | (uint64_t)s->mode << 16 |
                                (uint64_t)s->result << 8);
    h = hash2(h, s->event);
    h = hash2(h, obj_key_at(a, f, s->obj));
    h = hash2(h, fd_stack_key(a, s->stack));
    h = hash2(h, obj_key_at(a, f, s->held.obj));
    h = hash2(h, fd_stack_key(a, s->held.stack) ^ (uint64_t)s->held.mode << 60);
    for (uint32_t i = 0; i < s->nothers; i++)
        h = hash2(h, obj_key_at(a, f, s->others[i].obj) ^ fd_stack_key(a, s->others[i].stack) ^
                     (uint64_t)s->others[i].mode << 60);
    h = hash2(h, s->pc);
    h = hash2(h, (uint64_t)s->size << 8 | s->access);
    return h;
}

static uint64_t finding_key(struct tg_analysis *a, const struct tg_finding *f)
{
    bool unordered = f->kind == TG_FIND_DEADLOCK && (f->sub == TG_DEADLOCK_ALL_BLOCKED ||
                                                     f->sub == TG_DEADLOCK_LOST_WAKEUP);
    /* which waiters a destroy happened to find is timing, not code */
    uint32_t nsteps = f->kind == TG_FIND_MISUSE && f->sub == TG_MISUSE_DESTROY_WAITERS ?
                      1 : f->nsteps;
    uint64_t h = hash2(f->kind, f->sub), sum = 0;
    for (uint32_t i = 0; i < nsteps && i < f->nsteps; i++) {
        uint64_t k = step_key(a, f, &f->steps[i]);
        if (unordered)
            sum += mix64(k);
        else
            h = hash2(h, k);
    }
    h = hash2(h, sum);
    return h ? h : 1;
}

int fd_commit(struct tg_analysis *a, struct tg_finding *f)
{
    /* The process called exit (or its last thread ended): its other threads
     * run on while exit() tears it down, and what they do then (a detached
     * worker's next condition wait) is recorded after PROCESS_EXIT, which
     * forgot what they held: no misuse of theirs is the program's. Their
     * locks still teach the lock graph: read live, a busy thread's records
     * can come after main's exit (ten_thousand_locks). After an exec that
     * failed, the process goes on. */
    const struct dproc *p = f->process < a->capprocs ? a->procs[f->process] : NULL;
    if (f->kind == TG_FIND_MISUSE && p && p->exited && !p->exec_exited) {
        free(f);
        return 0;
    }
    if (!f->key)
        f->key = finding_key(a, f);
    uint32_t *v = dmap_find(&a->keymap, f->key, 0);
    if (v) {
        a->findings[*v]->count++;
        free(f);
        return 0;
    }
    if (GROW(a->findings, a->capfindings, a->nfindings + 1) < 0 ||
        dmap_put(&a->keymap, f->key, 0, a->nfindings) < 0) {
        a->oom = true;
        free(f);
        return -ENOMEM;
    }
    f->count = 1;
    a->findings[a->nfindings++] = f;
    a->view_dirty = true;
    if (a->cfg.on_finding)
        a->cfg.on_finding(a->cfg.on_finding_ctx, f);
    return 1;
}

/* A lock set as a number: the same for the same locks in any order. */
static uint64_t lockset_id(const struct tg_finding *f, bool waited_only)
{
    uint64_t sum = 0;
    if (!waited_only) {
        for (uint32_t i = 0; i < f->nsteps && i < f->nobjs; i++)
            sum += mix64(hash2(hash2(f->objs[i].process, f->objs[i].addr), f->objs[i].generation));
        return sum;
    }
    for (uint32_t i = 0; i < f->nsteps; i++) {
        const struct tg_step *s = &f->steps[i];
        if (s->wait != TG_WAIT_LOCK || s->obj >= f->nobjs)
            return 0;           /* a join in the cycle: not a lock-order cycle */
        const struct tg_obj_ref *o = &f->objs[s->obj];
        sum += mix64(hash2(hash2(o->process, o->addr), o->generation));
    }
    return sum;
}

int tg_finding_cmp(const void *x, const void *y)
{
    const struct tg_finding *a = *(const struct tg_finding *const *)x;
    const struct tg_finding *b = *(const struct tg_finding *const *)y;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->sub != b->sub)
        return a->sub < b->sub ? -1 : 1;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return 0;
}

size_t tg_analysis_findings(struct tg_analysis *a, const struct tg_finding *const **out)
{
    if (a->view_dirty) {
        a->nview = 0;
        if (GROW(a->view, a->capview, a->nfindings + 1) < 0) {
            a->oom = true;
            *out = NULL;
            return 0;
        }
        /* a lock-order cycle that really deadlocked is told by the deadlock */
        uint32_t ndl = 0;
        for (uint32_t i = 0; i < a->nfindings; i++)
            ndl += a->findings[i]->kind == TG_FIND_DEADLOCK;
        for (uint32_t i = 0; i < a->nfindings; i++) {
            const struct tg_finding *f = a->findings[i];
            bool hidden = false;
            if (f->kind == TG_FIND_LOCK_ORDER && ndl) {
                uint64_t id = lockset_id(f, false);
                for (uint32_t j = 0; j < a->nfindings && !hidden; j++) {
                    const struct tg_finding *d = a->findings[j];
                    hidden = d->kind == TG_FIND_DEADLOCK && d->sub == TG_DEADLOCK_CYCLE &&
                             d->process == f->process && lockset_id(d, true) == id;
                }
            }
            if (!hidden)
                a->view[a->nview++] = f;
        }
        qsort(a->view, a->nview, sizeof *a->view, tg_finding_cmp);
        a->view_dirty = false;
    }
    *out = a->view;
    return a->nview;
}

int tg_analysis_add(struct tg_analysis *a, const struct tg_finding *in)
{
    if (!a || !in)
        return -EINVAL;
    uint32_t npool = 0;
    for (uint32_t i = 0; i < in->nsteps; i++)
        npool += in->steps[i].nothers;
    size_t size = sizeof *in + in->nobjs * sizeof(struct tg_obj_ref) +
                  in->nsteps * sizeof(struct tg_step) + npool * sizeof(struct tg_held_ref) +
                  in->nthreads * sizeof(uint32_t);
    char *mem = malloc(size);
    if (!mem)
        return -ENOMEM;
    struct tg_finding *f = (struct tg_finding *)mem;
    struct tg_obj_ref *objs = (struct tg_obj_ref *)(f + 1);
    struct tg_step *steps = (struct tg_step *)(objs + in->nobjs);
    struct tg_held_ref *pool = (struct tg_held_ref *)(steps + in->nsteps);
    uint32_t *th = (uint32_t *)(pool + npool);
    *f = *in;
    if (in->nobjs)
        memcpy(objs, in->objs, in->nobjs * sizeof *objs);
    if (in->nthreads)
        memcpy(th, in->threads, in->nthreads * sizeof *th);
    uint32_t off = 0;
    for (uint32_t i = 0; i < in->nsteps; i++) {
        steps[i] = in->steps[i];
        if (steps[i].nothers) {
            memcpy(pool + off, in->steps[i].others, steps[i].nothers * sizeof *pool);
            steps[i].others = pool + off;
            off += steps[i].nothers;
        } else {
            steps[i].others = NULL;
        }
    }
    f->objs = objs;
    f->steps = steps;
    f->threads = th;
    return fd_commit(a, f);
}

void fd_free(struct tg_analysis *a)
{
    for (uint32_t i = 0; i < a->nfindings; i++)
        free(a->findings[i]);
    free(a->findings);
    free(a->view);
    dmap_free(&a->keymap);
}
