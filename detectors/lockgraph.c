/* The lock graph: an edge A -> B for every lock A a thread held while it
 * called a blocking (or timed) acquisition of B. Each edge keeps a few
 * labels, one per distinct (thread, modes, other locks held): the cycle
 * check needs them to tell a real inversion from one that a single thread
 * or a common gate lock makes impossible (lockgraph_check.c).
 *
 * The per-event cost is one hash lookup per lock held and a comparison
 * with a handful of label keys; only a new edge or a new label runs a
 * cycle search, and only through that edge. */
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

static uint32_t edge_get(struct tg_analysis *a, uint32_t from, uint32_t to, bool *created)
{
    uint64_t k = (uint64_t)from << 32 | to;
    uint32_t *v = dmap_find(&a->edgemap, k, 0);
    *created = false;
    if (v)
        return *v;
    struct dobj *f = OBJ(a, from), *t = OBJ(a, to);
    if (GROW(f->out, f->capout, f->nout + 1) < 0 || GROW(t->in, t->capin, t->nin + 1) < 0)
        goto oom;
    uint32_t id = page_alloc((void ***)&a->edgepages, &a->capedgepages, &a->nedges,
                             sizeof(struct dedge));
    if (id == NONE)
        goto oom;
    struct dedge *e = EDGE(a, id);
    e->labels = malloc(LABELS_MAX * sizeof *e->labels);
    if (!e->labels || dmap_put(&a->edgemap, k, 0, id) < 0) {
        free(e->labels);
        e->labels = NULL;
        a->nedges--;
        goto oom;
    }
    e->from = from;
    e->to = to;
    f->out[f->nout++] = id;
    t->in[t->nin++] = id;
    a->counters.edges++;
    *created = true;
    lg_order_edge(a, from, to);
    return id;
oom:
    a->oom = true;
    return NONE;
}

static int cmp_held_obj(const void *x, const void *y)
{
    const struct dheld *a = x, *b = y;
    return a->obj < b->obj ? -1 : a->obj > b->obj;
}

/* Is every gate of SUB (same lock and mode) also in SUP? Both sorted. */
static bool gates_subset(const struct dlabel *sub, const struct dheld *sup, uint32_t nsup)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < sub->ngates; i++) {
        while (j < nsup && sup[j].obj < sub->gates[i].obj)
            j++;
        if (j == nsup || sup[j].obj != sub->gates[i].obj ||
            mode_bit(sup[j].mode) != mode_bit(sub->gates[i].mode))
            return false;
    }
    return true;
}

static void reject(struct dedge *e, uint64_t key)
{
    e->rejected[e->rejpos] = key;
    e->rejpos = (uint8_t)((e->rejpos + 1) % REJECTED_MAX);
}

/* THREAD (t) holds `h` and makes a blocking call for OBJ in MODE. */
static void add_edge(struct tg_analysis *a, const struct dthread *t, uint32_t thread,
                     const struct dheld *h, uint32_t obj, uint8_t mode, const struct tg_ev *ev)
{
    bool created;
    uint32_t id = edge_get(a, h->obj, obj, &created);
    if (id == NONE)
        return;
    struct dedge *e = EDGE(a, id);
    uint8_t hb = mode_bit(h->mode), rb = mode_bit(mode);
    uint64_t gatehash = t->heldhash ^ held_hash(h->obj, h->mode);
    uint64_t key = hash2(hash2(hash2(thread, hb * 2 + rb), gatehash), 0x6c6f636b);
    for (uint32_t i = 0; i < e->nlabels; i++)
        if (e->keys[i] == key)
            return;
    for (uint32_t i = 0; i < REJECTED_MAX; i++)
        if (e->rejected[i] == key && key)
            return;

    /* the other locks held: the candidate gates */
    uint32_t ngates = t->nheld - 1;
    struct dheld *gates = NULL;
    if (ngates) {
        gates = malloc(ngates * sizeof *gates);
        if (!gates) {
            a->oom = true;
            return;
        }
        uint32_t n = 0;
        for (uint32_t i = 0; i < t->nheld; i++)
            if (t->held[i].obj != h->obj)
                gates[n++] = t->held[i];
        ngates = n;
        qsort(gates, ngates, sizeof *gates, cmp_held_obj);
    }
    /* A label of the same thread and modes whose gates are a subset of
     * these is at least as good in any cycle: this one adds nothing. */
    for (uint32_t i = 0; i < e->nlabels; i++) {
        const struct dlabel *l = &e->labels[i];
        if (l->thread == thread && l->hmode == hb && l->rmode == rb &&
            gates_subset(l, gates, ngates)) {
            free(gates);
            reject(e, key);
            return;
        }
    }
    if (e->nlabels == LABELS_MAX) {
        free(gates);
        reject(e, key);
        a->counters.labels_dropped++;
        return;
    }
    e->keys[e->nlabels] = key;
    struct dlabel *l = &e->labels[e->nlabels++];
    *l = (struct dlabel){
        .key = key, .thread = thread, .hmode = hb, .rmode = rb, .revent = ev->kind,
        .hstack = h->stack, .rstack = ev->stack, .hts = h->ts, .rts = ev->ts,
        .ngates = ngates, .gates = gates,
    };
    e->combos |= (uint8_t)(1u << (hb * 2 + rb));
    a->counters.labels++;
    (void)created;
    lg_check(a, id, l, ev->ts);
}

void lg_blocking_acquire(struct tg_analysis *a, struct dthread *t, uint32_t thread,
                         uint32_t obj, uint8_t mode, const struct tg_ev *ev)
{
    if (t->nheld == 0 || (t->nheld == 1 && t->held[0].obj == obj))
        return;
    uint8_t kind = OBJ(a, obj)->kind;
    if (kind != TG_OBJ_MUTEX && kind != TG_OBJ_RWLOCK && kind != TG_OBJ_SPIN)
        return;
    uint64_t key = hash2(t->heldhash, (uint64_t)obj << 2 | mode_bit(mode)) | 1;
    uint64_t *slot = &t->seen_acq[key % 64];
    if (*slot == key)
        return;
    for (uint32_t i = 0; i < t->nheld; i++) {
        struct dheld h = t->held[i];        /* copy: add_edge may run long */
        if (h.obj != obj)
            add_edge(a, t, thread, &h, obj, mode, ev);
    }
    if (!a->oom)
        *slot = key;
}

void lg_free(struct tg_analysis *a)
{
    for (uint32_t i = 0; i < a->nedges; i++) {
        struct dedge *e = EDGE(a, i);
        for (uint32_t j = 0; j < e->nlabels; j++)
            free(e->labels[j].gates);
        free(e->labels);
    }
    for (uint32_t p = 0; p * PAGE_SIZE_ < a->nedges; p++)
        free(a->edgepages[p]);
    free(a->edgepages);
    dmap_free(&a->edgemap);
    free(a->scratch);
    lg_order_free(a);
}
