/* tui/objects.c: the model's bookkeeping — creating and freeing it, the
 * table of sync objects (hashed by kind, process and address), marks,
 * names and findings. */
#include "tui/model_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tg_tui_model *tg_tui_model_new(void)
{
    return calloc(1, sizeof(struct tg_tui_model));
}

void tg_marks_free(struct tg_marks *mk)
{
    free(mk->ts);
    free(mk->seg);
    free(mk->type);
    memset(mk, 0, sizeof *mk);
}

void tg_tui_model_free(struct tg_tui_model *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nthr; i++) {
        struct tg_thr *t = m->thr[i];
        tg_series_free(&t->ser);
        tg_marks_free(&t->marks);
        free(t->held);
        free(t->name);
        free(t);
    }
    for (size_t i = 0; i < m->nlk; i++) {
        tg_series_free(&m->lk[i]->ser);
        tg_marks_free(&m->lk[i]->marks);
        free(m->lk[i]);
    }
    for (size_t i = 0; i < m->nobj; i++) {
        free(m->obj[i]->name);
        free(m->obj[i]);
    }
    for (size_t i = 0; i < m->nfind; i++) {
        free((char *)m->find[i].summary);
        free((char *)m->find[i].text);
    }
    free(m->find);
    free(m->thr);
    free(m->lane_of);
    free(m->obj);
    free(m->hash);
    free(m->lk);
    free(m);
}

/* ---- marks ---- */

int tg_marks_add(struct tg_marks *mk, uint64_t ts, uint32_t seg, unsigned type)
{
    size_t c1 = mk->cap, c2 = mk->cap, c3 = mk->cap;
    if (tg_grow((void **)&mk->ts, &c1, mk->n + 1, sizeof *mk->ts) < 0
        || tg_grow((void **)&mk->seg, &c2, mk->n + 1, sizeof *mk->seg) < 0
        || tg_grow((void **)&mk->type, &c3, mk->n + 1, sizeof *mk->type) < 0)
        return -ENOMEM;
    mk->cap = c1;
    /* findings may arrive late (detectors lag the stream): keep ts order */
    size_t at = mk->n;
    while (at > 0 && mk->ts[at - 1] > ts)
        at--;
    memmove(mk->ts + at + 1, mk->ts + at, (mk->n - at) * sizeof *mk->ts);
    memmove(mk->seg + at + 1, mk->seg + at, (mk->n - at) * sizeof *mk->seg);
    memmove(mk->type + at + 1, mk->type + at, (mk->n - at) * sizeof *mk->type);
    mk->ts[at] = ts;
    mk->seg[at] = seg;
    mk->type[at] = (uint8_t)type;
    mk->n++;
    return 0;
}

void tg_marks_remove(struct tg_marks *mk, uint64_t ts, unsigned type)
{
    size_t lo = 0, hi = mk->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mk->ts[mid] < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < mk->n && mk->ts[i] == ts; i++) {
        if (mk->type[i] != type)
            continue;
        memmove(mk->ts + i, mk->ts + i + 1, (mk->n - i - 1) * sizeof *mk->ts);
        memmove(mk->seg + i, mk->seg + i + 1, (mk->n - i - 1) * sizeof *mk->seg);
        memmove(mk->type + i, mk->type + i + 1, (mk->n - i - 1) * sizeof *mk->type);
        mk->n--;
        return;
    }
}

unsigned tg_marks_in(const struct tg_marks *mk, uint64_t a, uint64_t b)
{
    size_t lo = 0, hi = mk->n;
    unsigned best = TG_TUI_MARK_NONE;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mk->ts[mid] < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < mk->n && mk->ts[i] < b; i++) {
        if (mk->type[i] > best)
            best = mk->type[i];
        if (best == TG_TUI_MARK_FINDING)
            break;
    }
    return best;
}

/* ---- objects ---- */

static uint64_t obj_hash(unsigned kind, uint32_t process, uint64_t addr)
{
    uint64_t h = addr * 0x9e3779b97f4a7c15ull ^ ((uint64_t)process << 40) ^ kind;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static bool obj_is(const struct tg_obj *o, unsigned kind, uint32_t process, uint64_t addr)
{
    return o->pub.kind == kind && o->pub.addr == addr
           && (o->pub.pshared || o->pub.process == process);
}

uint32_t tg_obj_lookup(const struct tg_tui_model *m, unsigned kind, uint32_t process,
                           uint64_t addr, bool pshared)
{
    if (m->hcap == 0)
        return TG_TUI_NONE;
    uint32_t key_proc = pshared ? UINT32_MAX : process;
    for (size_t i = obj_hash(kind, key_proc, addr) & (m->hcap - 1);; i = (i + 1) & (m->hcap - 1)) {
        uint32_t id = m->hash[i];
        if (id == TG_TUI_NONE)
            return TG_TUI_NONE;
        if (obj_is(m->obj[id], kind, process, addr) && m->obj[id]->pub.pshared == pshared)
            return id;
    }
}

static void hash_put(struct tg_tui_model *m, uint32_t id)
{
    const struct tg_tui_object *o = &m->obj[id]->pub;
    uint32_t key_proc = o->pshared ? UINT32_MAX : o->process;
    size_t i = obj_hash(o->kind, key_proc, o->addr) & (m->hcap - 1);

    while (m->hash[i] != TG_TUI_NONE) {
        if (obj_is(m->obj[m->hash[i]], o->kind, o->process, o->addr)
            && m->obj[m->hash[i]]->pub.pshared == o->pshared) {
            m->hash[i] = id;        /* a newer object replaces it (thread ids reused) */
            return;
        }
        i = (i + 1) & (m->hcap - 1);
    }
    m->hash[i] = id;
}

static int hash_resize(struct tg_tui_model *m)
{
    size_t ncap = m->hcap ? m->hcap * 2 : 256;
    uint32_t *h = malloc(ncap * sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    memset(h, 0xff, ncap * sizeof *h);
    /* rebuild from the objects: later ids replace earlier ones */
    free(m->hash);
    m->hash = h;
    m->hcap = ncap;
    for (size_t id = 0; id < m->nobj; id++)
        hash_put(m, (uint32_t)id);
    return 0;
}

uint32_t tg_obj_new(struct tg_tui_model *m, unsigned kind, uint32_t process,
                        uint64_t addr, bool pshared)
{
    if (m->nobj >= UINT32_MAX - 1 || tg_grow((void **)&m->obj, &m->capobj, m->nobj + 1,
                                          sizeof *m->obj) < 0)
        return TG_TUI_NONE;
    if ((m->nobj + 1) * 2 > m->hcap && hash_resize(m) < 0)
        return TG_TUI_NONE;
    struct tg_obj *o = calloc(1, sizeof *o);
    if (o == NULL)
        return TG_TUI_NONE;
    o->pub.addr = addr;
    o->pub.process = process;
    o->pub.kind = (uint8_t)kind;
    o->pub.pshared = pshared;
    o->pub.target_lane = TG_TUI_NONE;
    o->pub.lock_lane = TG_TUI_NONE;
    o->pub.cond_mutex = TG_TUI_NONE;
    uint32_t id = (uint32_t)m->nobj++;
    m->obj[id] = o;
    hash_put(m, id);
    return id;
}

/* The object for an event, created at first sight with its site. */
uint32_t tg_obj_get(struct tg_tui_model *m, unsigned kind, const struct tg_ev *ev,
                        uint64_t addr, bool is_init)
{
    uint32_t id = tg_obj_lookup(m, kind, ev->process, addr, ev->pshared);
    if (id == TG_TUI_NONE) {
        id = tg_obj_new(m, kind, ev->process, addr, ev->pshared);
        if (id == TG_TUI_NONE)
            return id;
        m->obj[id]->pub.site_stack = ev->stack;
        m->obj[id]->pub.site_is_init = is_init;
    } else if (is_init) {
        m->obj[id]->pub.site_stack = ev->stack;
        m->obj[id]->pub.site_is_init = true;
    }
    if (kind == TG_TUI_OBJ_MUTEX && ev->kind != TG_EV_COND_WAIT && ev->kind != TG_EV_COND_WOKE)
        m->obj[id]->pub.mtype = ev->mtype;
    return id;
}

int tg_tui_model_set_thread_name(struct tg_tui_model *m, size_t lane, const char *name)
{
    if (lane >= m->nthr)
        return -EINVAL;
    char *copy = strdup(name);
    if (copy == NULL)
        return -ENOMEM;
    struct tg_thr *t = m->thr[lane];
    free(t->name);
    t->name = copy;
    t->pub.name = copy;
    return 0;
}

int tg_tui_model_set_object_name(struct tg_tui_model *m, uint32_t id, const char *name)
{
    if (id >= m->nobj)
        return -EINVAL;
    char *copy = strdup(name);
    if (copy == NULL)
        return -ENOMEM;
    free(m->obj[id]->name);
    m->obj[id]->name = copy;
    m->obj[id]->pub.name = copy;
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* Puts (or takes back) the finding marks of C on the lanes of its threads
 * and locks, at its time. */
static void mark_finding(struct tg_tui_model *m, const struct tg_tui_finding *c, bool add)
{
    for (uint32_t i = 0; i < c->nthreads; i++) {
        uint32_t lane = tg_tui_model_thread_lane(m, c->threads[i]);
        if (lane == TG_TUI_NONE)
            continue;
        struct tg_thr *t = m->thr[lane];
        if (!add) {
            tg_marks_remove(&t->marks, c->ts, TG_TUI_MARK_FINDING);
            continue;
        }
        size_t seg = tg_series_at(&t->ser, c->ts);
        tg_marks_add(&t->marks, c->ts, seg == SIZE_MAX ? 0 : (uint32_t)seg, TG_TUI_MARK_FINDING);
    }
    for (uint32_t i = 0; i < c->naddrs; i++) {
        uint32_t id = tg_tui_model_find_object(m, c->process, c->addrs[i]);
        if (id == TG_TUI_NONE || m->obj[id]->pub.lock_lane == TG_TUI_NONE)
            continue;
        struct tg_lk *l = m->lk[m->obj[id]->pub.lock_lane];
        if (!add) {
            tg_marks_remove(&l->marks, c->ts, TG_TUI_MARK_FINDING);
            continue;
        }
        size_t seg = tg_series_at(&l->ser, c->ts);
        tg_marks_add(&l->marks, c->ts, seg == SIZE_MAX ? 0 : (uint32_t)seg, TG_TUI_MARK_FINDING);
    }
}

int tg_tui_model_add_finding(struct tg_tui_model *m, const struct tg_tui_finding *f)
{
    if (tg_grow((void **)&m->find, &m->capfind, m->nfind + 1, sizeof *m->find) < 0)
        return -ENOMEM;
    struct tg_tui_finding c = *f;
    c.summary = dup_or_null(f->summary);
    c.text = dup_or_null(f->text);
    if (c.nthreads > TG_TUI_FINDING_MAX)
        c.nthreads = TG_TUI_FINDING_MAX;
    if (c.naddrs > TG_TUI_FINDING_MAX)
        c.naddrs = TG_TUI_FINDING_MAX;
    m->find[m->nfind++] = c;
    mark_finding(m, &c, true);
    return 0;
}

void tg_tui_model_clear_findings(struct tg_tui_model *m)
{
    for (size_t i = 0; i < m->nfind; i++) {
        mark_finding(m, &m->find[i], false);
        free((char *)m->find[i].summary);
        free((char *)m->find[i].text);
    }
    m->nfind = 0;
}

uint32_t tg_tui_model_find_object(const struct tg_tui_model *m, uint32_t process, uint64_t addr)
{
    static const unsigned order[] = {
        TG_TUI_OBJ_MUTEX, TG_TUI_OBJ_RWLOCK, TG_TUI_OBJ_SPIN, TG_TUI_OBJ_SEM, TG_TUI_OBJ_COND,
        TG_TUI_OBJ_BARRIER, TG_TUI_OBJ_ONCE, TG_TUI_OBJ_MEMORY,
    };
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        uint32_t id = tg_obj_lookup(m, order[k], process, addr, false);
        if (id == TG_TUI_NONE)
            id = tg_obj_lookup(m, order[k], process, addr, true);
        if (id != TG_TUI_NONE)
            return id;
    }
    return TG_TUI_NONE;
}
