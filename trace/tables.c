/* trace/: what the reader learns as it goes — threads (from THREAD_START),
 * processes, modules and stacks (from the meta stream), pthread_t values
 * (per process, the latest thread started with one) — and the lookups. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/reader_internal.h"

/* ---- arena: strings and arrays that live until close ---- */

struct arena_block {
    struct arena_block *next;
    size_t used, size;
    _Alignas(16) uint8_t data[];
};

void *tg_reader_alloc(struct tg_trace *t, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct arena_block *b = t->arena;
    if (b == NULL || b->size - b->used < size) {
        size_t cap = size > 60000 ? size : 60000;
        b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->size = cap;
        b->used = 0;
        b->next = t->arena;
        t->arena = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

char *tg_reader_strdup(struct tg_trace *t, const char *s, size_t len)
{
    char *p = tg_reader_alloc(t, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* A string inside a record: up to its NUL or the record's end. */
static const char *field(struct tg_trace *t, const char *s, const char *end)
{
    const char *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
    size_t len = nul ? (size_t)(nul - s) : s < end ? (size_t)(end - s) : 0;
    return tg_reader_strdup(t, s, len);
}

static int nomem(struct tg_trace *t)
{
    return tg_reader_fail(t, TG_TRACE_EIO, "out of memory");
}

/* ---- processes and modules ---- */

int tg_reader_add_process(struct tg_trace *t, const struct tg_meta_process *m, size_t len)
{
    if (m->index >= TG_MAX_PROCESSES)
        return tg_reader_fail(t, TG_TRACE_ECORRUPT, "corrupt process record: index %u", m->index);
    struct rprocess **procs = tg_grow(t->procs, &t->nprocs_cap, m->index + 1, sizeof *procs);
    if (procs == NULL)
        return nomem(t);
    t->procs = procs;
    if (procs[m->index])
        return 0;                 /* the first record of an index stands */
    struct rprocess *p = calloc(1, sizeof *p);
    if (p == NULL)
        return nomem(t);
    const char *end = (const char *)m + len;
    p->info.index = m->index;
    p->info.parent = m->parent;
    p->info.pid = m->pid;
    p->info.ppid = m->ppid;
    p->info.first_thread = m->first_thread;
    p->info.exec = m->exec != 0;
    p->info.start_ts = tg_reader_ns(t, m->tick);
    p->info.path = field(t, m->path, end);
    const char *cmd = m->path + strnlen(m->path, (size_t)(end - m->path)) + 1;
    p->info.cmdline = field(t, cmd, end);
    if (p->info.path == NULL || p->info.cmdline == NULL) {
        free(p);
        return nomem(t);
    }
    procs[m->index] = p;
    t->nprocs++;
    return 0;
}

static struct rprocess *process(struct tg_trace *t, uint32_t index)
{
    if (index >= t->nprocs_cap || t->procs[index] == NULL)
        tg_reader_meta(t);        /* maybe published since: look again */
    return index < t->nprocs_cap ? t->procs[index] : NULL;
}

int tg_reader_add_module(struct tg_trace *t, const struct tg_meta_module *m, size_t len)
{
    if (m->process >= TG_MAX_PROCESSES || m->hi < m->lo)
        return tg_reader_fail(t, TG_TRACE_ECORRUPT, "corrupt module record for process %u", m->process);
    struct rprocess *p = m->process < t->nprocs_cap ? t->procs[m->process] : NULL;
    if (p == NULL)
        return 0;                 /* its PROCESS record always comes first */
    const char *end = (const char *)m + len;
    size_t plen = strnlen(m->path, (size_t)(end - m->path));
    for (size_t i = 0; i < p->nmods; i++) {
        const struct tg_module_info *o = &p->mods[i];
        if (o->base == m->base && o->lo == m->lo && o->hi == m->hi
            && strncmp(o->path, m->path, plen) == 0 && o->path[plen] == '\0')
            return 0;             /* recorded twice (the writer's table was full) */
    }
    uint32_t cap = (uint32_t)p->cap;
    struct tg_module_info *mods = tg_grow(p->mods, &cap, (uint32_t)p->nmods + 1, sizeof *mods);
    if (mods == NULL)
        return nomem(t);
    p->mods = mods;
    p->cap = cap;
    struct tg_module_info *mi = &mods[p->nmods];
    mi->process = m->process;
    mi->base = m->base;
    mi->lo = m->lo;
    mi->hi = m->hi;
    if ((mi->path = tg_reader_strdup(t, m->path, plen)) == NULL)
        return nomem(t);
    p->nmods++;
    t->mod_gen++;
    return 0;
}

size_t tg_trace_modules(struct tg_trace *t, uint32_t index, const struct tg_module_info **mods)
{
    *mods = NULL;
    struct rprocess *p = process(t, index);
    if (p == NULL)
        return 0;
    if (p->view && p->view_gen == t->mod_gen) {
        *mods = p->view;
        return p->nview;
    }
    /* Own modules, then those a fork child inherited from its ancestors. */
    size_t n = 0;
    struct rprocess *q = p;
    for (int depth = 0; q && depth < 64; depth++) {
        n += q->nmods;
        if (q->info.exec || q->info.parent == TG_NO_THREAD || q->info.parent == q->info.index)
            break;
        q = q->info.parent < t->nprocs_cap ? t->procs[q->info.parent] : NULL;
    }
    struct tg_module_info *view = tg_reader_alloc(t, (n ? n : 1) * sizeof *view);
    if (view == NULL)
        return 0;
    size_t k = 0;
    q = p;
    for (int depth = 0; q && depth < 64 && k < n; depth++) {
        if (q->nmods)
            memcpy(view + k, q->mods, q->nmods * sizeof *view);
        k += q->nmods;
        if (q->info.exec || q->info.parent == TG_NO_THREAD || q->info.parent == q->info.index)
            break;
        q = q->info.parent < t->nprocs_cap ? t->procs[q->info.parent] : NULL;
    }
    p->view = view;           /* the previous view stays valid in the arena */
    p->nview = k;
    p->view_gen = t->mod_gen;
    *mods = view;
    return k;
}

const struct tg_process_info *tg_trace_process(struct tg_trace *t, uint32_t index)
{
    struct rprocess *p = process(t, index);
    return p ? &p->info : NULL;
}

/* ---- stacks ---- */

int tg_reader_add_stack(struct tg_trace *t, const struct tg_meta_stack *m, uint64_t off)
{
    if (m->id == 0 || m->id >= TG_MAX_STACKS)
        return tg_reader_fail(t, TG_TRACE_ECORRUPT, "corrupt stack record: id %u", m->id);
    struct rstack *st = tg_grow(t->stacks, &t->nstacks_cap, m->id + 1, sizeof *st);
    if (st == NULL)
        return nomem(t);
    t->stacks = st;
    if (st[m->id].off == 0)
        t->nstacks++;
    st[m->id].off = off;
    st[m->id].n = m->nframes;
    return 0;
}

bool tg_trace_stack(struct tg_trace *t, uint32_t id, const uint64_t **frames, uint32_t *nframes)
{
    if (id == 0)
        return false;
    if (id >= t->nstacks_cap || t->stacks[id].off == 0)
        tg_reader_meta(t);
    if (id >= t->nstacks_cap || t->stacks[id].off == 0)
        return false;
    *frames = (const uint64_t *)(t->map + t->stacks[id].off);
    *nframes = t->stacks[id].n;
    return true;
}

/* ---- threads and pthread_t values ---- */

static uint64_t phash(uint32_t process, uint64_t pthread)
{
    uint64_t h = (pthread ^ ((uint64_t)process << 48)) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static bool empty(const struct pthread_ent *e)
{
    return e->thread == TG_NO_THREAD && e->created == TG_NO_THREAD;
}

static struct pthread_ent *pmap_slot(struct tg_trace *t, uint32_t process, uint64_t pthread)
{
    uint32_t mask = t->pmap_cap - 1;
    for (uint32_t i = (uint32_t)phash(process, pthread) & mask;; i = (i + 1) & mask) {
        struct pthread_ent *e = &t->pmap[i];
        if (empty(e) || (e->process == process && e->pthread == pthread))
            return e;
    }
}

/* The entry of (PROCESS, PTHREAD), made if need be; NULL without memory. */
static struct pthread_ent *pmap_entry(struct tg_trace *t, uint32_t process, uint64_t pthread)
{
    if (2 * (t->pmap_n + 1) > t->pmap_cap) {
        uint32_t cap = t->pmap_cap ? t->pmap_cap * 2 : 64;
        struct pthread_ent *old = t->pmap, *map = malloc(cap * sizeof *map);
        if (map == NULL)
            return NULL;          /* lookups by pthread_t degrade, nothing else */
        for (uint32_t i = 0; i < cap; i++)
            map[i].thread = map[i].created = TG_NO_THREAD;
        uint32_t old_cap = t->pmap_cap;
        t->pmap = map;
        t->pmap_cap = cap;
        for (uint32_t i = 0; i < old_cap; i++)
            if (!empty(&old[i]))
                *pmap_slot(t, old[i].process, old[i].pthread) = old[i];
        free(old);
    }
    struct pthread_ent *e = pmap_slot(t, process, pthread);
    if (empty(e)) {
        t->pmap_n++;
        *e = (struct pthread_ent){ pthread, process, TG_NO_THREAD, TG_NO_THREAD };
    }
    return e;
}

/* THREAD_START: the thread holds PTHREAD now (reuse: latest wins), and no
 * thread created earlier with it is still to start. */
static void pmap_started(struct tg_trace *t, uint32_t process, uint64_t pthread, uint32_t thread)
{
    struct pthread_ent *e = pmap_entry(t, process, pthread);
    if (e) {
        e->thread = thread;
        e->created = TG_NO_THREAD;
    }
}

/* THREAD_CREATE: its creator may name the child before the child's own
 * THREAD_START (time order often puts it later). `thread` keeps the last
 * started holder of PTHREAD, for joins of it read meanwhile. */
static void pmap_created(struct tg_trace *t, uint32_t process, uint64_t pthread, uint32_t thread)
{
    struct pthread_ent *e = pmap_entry(t, process, pthread);
    if (e)
        e->created = thread;
}

const struct tg_thread_info *tg_trace_thread(struct tg_trace *t, uint32_t index)
{
    return index < t->nthreads_cap ? t->threads[index] : NULL;
}

const struct tg_thread_info *tg_trace_thread_by_pthread(struct tg_trace *t, uint32_t process,
                                                        uint64_t pthread)
{
    if (t->pmap_cap == 0)
        return NULL;
    const struct pthread_ent *e = pmap_slot(t, process, pthread);
    return e->thread == TG_NO_THREAD ? NULL : tg_trace_thread(t, e->thread);
}

uint32_t tg_trace_pthread_target(struct tg_trace *t, uint32_t process, uint64_t pthread)
{
    if (t->pmap_cap == 0)
        return TG_NO_THREAD;
    const struct pthread_ent *e = pmap_slot(t, process, pthread);
    return e->created != TG_NO_THREAD ? e->created : e->thread;
}

/* THREAD_NAME renames OBJ's thread in the caller's process, or the caller
 * for OBJ 0. */
static void rename_thread(struct tg_trace *t, const struct rstream *s, const struct tg_ev *ev)
{
    uint32_t target = ev->obj ? tg_trace_pthread_target(t, s->process, ev->obj) : s->thread;
    if (target >= TG_MAX_THREADS || ev->str == NULL)
        return;                   /* unknown (or a corrupt index) */
    char *name = tg_reader_strdup(t, ev->str, strlen(ev->str));
    struct tg_thread_info *ti = target < t->nthreads_cap ? t->threads[target] : NULL;
    if (ti) {
        ti->name = name;
        return;
    }
    /* not started yet: the name waits for its first record */
    const char **early = tg_grow(t->early_names, &t->early_names_cap, target + 1, sizeof *early);
    if (early == NULL)
        return;
    t->early_names = early;
    early[target] = name;
}

static struct tg_thread_info *new_thread(struct tg_trace *t, const struct rstream *s, uint64_t ts)
{
    struct tg_thread_info **th = tg_grow(t->threads, &t->nthreads_cap, s->thread + 1, sizeof *th);
    if (th == NULL)
        return NULL;
    t->threads = th;
    if (th[s->thread] == NULL) {
        struct tg_thread_info *i = tg_reader_alloc(t, sizeof *i);
        if (i == NULL)
            return NULL;
        memset(i, 0, sizeof *i);
        i->index = s->thread;
        i->process = s->process;
        i->parent = TG_NO_THREAD;
        i->start_ts = ts;
        if (s->thread < t->early_names_cap)
            i->name = t->early_names[s->thread];
        th[s->thread] = i;
        t->nthreads++;
    }
    return th[s->thread];
}

static void process_exit(struct tg_trace *t, const struct rstream *s, const struct tg_ev *ev)
{
    struct rprocess *p = process(t, s->process);
    if (p) {
        p->info.exited = true;
        p->info.exit_status = (int32_t)ev->p0;
        p->exec_exit = ev->p1 == TG_EXIT_EXEC;
        p->exec_exit_ts = ev->ts;
    }
    for (uint32_t i = 0; i < t->nthreads_cap; i++) {
        struct tg_thread_info *th = t->threads[i];
        if (th && th->process == s->process && th->end_ts == 0)
            th->end_ts = ev->ts;
    }
    for (uint32_t i = 0; i < t->nactive; i++)
        if (t->active[i]->process == s->process)
            t->active[i]->quiet = true;   /* the image is gone: no frontier */
}

/* EXEC_FAIL: the exec that PROCESS_EXIT (exec) announced failed, the
 * process goes on: what that exit ended lives again. */
static void exec_failed(struct tg_trace *t, const struct rstream *s)
{
    struct rprocess *p = process(t, s->process);
    if (p == NULL || !p->info.exited || !p->exec_exit)
        return;
    p->info.exited = false;
    p->info.exit_status = 0;
    p->exec_exit = false;
    for (uint32_t i = 0; i < t->nthreads_cap; i++) {
        struct tg_thread_info *th = t->threads[i];
        struct rstream *ts = i < t->nby_thread ? t->by_thread[i] : NULL;
        if (th && th->process == s->process && th->end_ts == p->exec_exit_ts
            && !(ts && ts->thread_exited))
            th->end_ts = 0;
    }
    for (uint32_t i = 0; i < t->nactive; i++)
        if (t->active[i]->process == s->process && !t->active[i]->thread_exited)
            t->active[i]->quiet = false;
}

void tg_reader_on_event(struct tg_trace *t, struct rstream *s, const struct tg_ev *ev)
{
    if (!s->started) {
        /* a stream whose first records were lost still gets a thread */
        s->started = true;
        new_thread(t, s, ev->ts);
    }
    struct tg_thread_info *self = s->thread < t->nthreads_cap ? t->threads[s->thread] : NULL;
    switch (ev->kind) {
    case TG_EV_THREAD_START:
        if (self == NULL)
            break;
        self->os_tid = (uint32_t)ev->p0;
        self->parent = (uint32_t)(ev->p0 >> 32);
        self->pthread = ev->obj;
        self->start_routine = ev->p1;
        self->create_stack = ev->stack;
        self->start_ts = ev->ts;
        self->end_ts = 0;
        pmap_started(t, s->process, ev->obj, s->thread);
        break;
    case TG_EV_THREAD_EXIT:
        if (self)
            self->end_ts = ev->ts;
        s->quiet = true;
        s->thread_exited = true;
        break;
    case TG_EV_THREAD_NAME:
        rename_thread(t, s, ev);
        break;
    case TG_EV_PROCESS_EXIT:
        process_exit(t, s, ev);
        break;
    case TG_EV_EXEC_FAIL:
        exec_failed(t, s);
        break;
    case TG_EV_LOST:
        t->lost += ev->p0;
        break;
    case TG_EV_THREAD_CREATE:
        if (ev->result != TG_OK)
            break;
        pmap_created(t, s->process, ev->obj, (uint32_t)ev->p0);
        if (t->flags & TG_OPEN_FOLLOW)
            tg_reader_child_created(t, (uint32_t)ev->p0, s->head);
        break;
    default:
        break;
    }
}

void tg_reader_free_tables(struct tg_trace *t)
{
    for (uint32_t i = 0; i < t->nprocs_cap; i++) {
        if (t->procs[i]) {
            free(t->procs[i]->mods);
            free(t->procs[i]);
        }
    }
    free(t->procs);
    free(t->threads);
    free(t->stacks);
    free(t->pmap);
    free(t->early_names);
    while (t->arena) {
        struct arena_block *next = t->arena->next;
        free(t->arena);
        t->arena = next;
    }
}
