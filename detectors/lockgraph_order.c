/* Keeping cycle searches cheap with thousands of locks: an incremental
 * topological order of the lock graph's strongly connected components
 * (Pearce & Kelly, "A dynamic topological sort algorithm for directed
 * acyclic graphs", 2006), with the components merged as cycles appear.
 *
 * A real program's lock graph is almost a DAG: locks are taken in a
 * consistent order, and the few inversions are the bugs. An edge that
 * agrees with the current order costs nothing; one that does not costs a
 * search bounded by the two ends' positions, and a reordering of just that
 * region. A cycle can only run through an edge whose ends are in one
 * component, so the breadth-first search for it (lockgraph_check.c) stays
 * inside that component. */
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

enum { IN_F = 1, IN_B = 2 };

struct pk {
    uint32_t *stack, nstack, capstack;
    uint32_t *df, ndf, capdf;       /* reached forward from the edge's target */
    uint32_t *db, ndb, capdb;       /* reaching the edge's source, backward */
    struct ordid { uint32_t ord, id; } *sorted;
    uint32_t nsorted, capsorted;
    uint32_t *pool, npool, cappool;
};

void lg_order_node(struct tg_analysis *a, uint32_t id)
{
    struct dobj *o = OBJ(a, id);
    if (o->ordered)
        return;
    o->ordered = true;
    o->ord = a->next_ord++;
    o->scc = id;
}

static const uint32_t *members(struct tg_analysis *a, uint32_t rep, uint32_t *n)
{
    struct dobj *o = OBJ(a, rep);
    if (o->nmembers) {
        *n = o->nmembers;
        return o->members;
    }
    *n = 1;
    return &o->scc;             /* a component of one: itself */
}

static bool mark(struct tg_analysis *a, uint32_t rep, uint8_t flag)
{
    struct dobj *o = OBJ(a, rep);
    if (o->pk_epoch != a->pk_epoch) {
        o->pk_epoch = a->pk_epoch;
        o->pk_flags = 0;
    }
    if (o->pk_flags & flag)
        return false;
    o->pk_flags |= flag;
    return true;
}

static uint8_t flags(const struct tg_analysis *a, uint32_t rep)
{
    const struct dobj *o = OBJ(a, rep);
    return o->pk_epoch == a->pk_epoch ? o->pk_flags : 0;
}

static int push(uint32_t **arr, uint32_t *n, uint32_t *cap, uint32_t v)
{
    if (GROW(*arr, *cap, *n + 1) < 0)
        return -1;
    (*arr)[(*n)++] = v;
    return 0;
}

/* Forward from Y through components ordered below UB; true if X is reached. */
static int search_forward(struct tg_analysis *a, struct pk *p, uint32_t X, uint32_t Y, uint32_t ub)
{
    bool found = false;
    p->nstack = 0;
    mark(a, Y, IN_F);
    if (push(&p->stack, &p->nstack, &p->capstack, Y) < 0 || push(&p->df, &p->ndf, &p->capdf, Y) < 0)
        return -1;
    while (p->nstack) {
        uint32_t R = p->stack[--p->nstack], n;
        const uint32_t *m = members(a, R, &n);
        for (uint32_t i = 0; i < n; i++) {
            const struct dobj *o = OBJ(a, m[i]);
            for (uint32_t k = 0; k < o->nout; k++) {
                uint32_t T = OBJ(a, EDGE(a, o->out[k])->to)->scc;
                if (T == R)
                    continue;
                if (T == X) {
                    found = true;
                    continue;
                }
                if (OBJ(a, T)->ord >= ub || !mark(a, T, IN_F))
                    continue;
                if (push(&p->stack, &p->nstack, &p->capstack, T) < 0 ||
                    push(&p->df, &p->ndf, &p->capdf, T) < 0)
                    return -1;
            }
        }
    }
    return found;
}

/* Backward from X through components ordered above LB. */
static int search_backward(struct tg_analysis *a, struct pk *p, uint32_t X, uint32_t lb)
{
    p->nstack = 0;
    mark(a, X, IN_B);
    if (push(&p->stack, &p->nstack, &p->capstack, X) < 0 || push(&p->db, &p->ndb, &p->capdb, X) < 0)
        return -1;
    while (p->nstack) {
        uint32_t R = p->stack[--p->nstack], n;
        const uint32_t *m = members(a, R, &n);
        for (uint32_t i = 0; i < n; i++) {
            const struct dobj *o = OBJ(a, m[i]);
            for (uint32_t k = 0; k < o->nin; k++) {
                uint32_t S = OBJ(a, EDGE(a, o->in[k])->from)->scc;
                if (S == R || OBJ(a, S)->ord < lb || !mark(a, S, IN_B))
                    continue;
                if (push(&p->stack, &p->nstack, &p->capstack, S) < 0 ||
                    push(&p->db, &p->ndb, &p->capdb, S) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

static int cmp_ordid(const void *x, const void *y)
{
    const struct ordid *a = x, *b = y;
    return a->ord < b->ord ? -1 : a->ord > b->ord;
}
static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static int sorted_add(struct tg_analysis *a, struct pk *p, uint32_t id)
{
    if (GROW(p->sorted, p->capsorted, p->nsorted + 1) < 0)
        return -1;
    p->sorted[p->nsorted++] = (struct ordid){ OBJ(a, id)->ord, id };
    return 0;
}

/* Folds the components in MERGE[0..n-1] into the largest of them. */
static uint32_t merge(struct tg_analysis *a, const uint32_t *merge, uint32_t n)
{
    uint32_t rep = merge[0], best = 0, total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t sz;
        members(a, merge[i], &sz);
        total += sz;
        if (sz > best) {
            best = sz;
            rep = merge[i];
        }
    }
    struct dobj *r = OBJ(a, rep);
    if (!r->nmembers) {
        if (GROW(r->members, r->capmembers, 1) < 0)
            return NONE;
        r->members[r->nmembers++] = rep;
    }
    if (GROW(r->members, r->capmembers, total) < 0)
        return NONE;
    for (uint32_t i = 0; i < n; i++) {
        if (merge[i] == rep)
            continue;
        uint32_t sz;
        const uint32_t *m = members(a, merge[i], &sz);
        uint32_t copy[1];
        if (sz == 1) {          /* members() points into the object itself */
            copy[0] = m[0];
            m = copy;
        }
        for (uint32_t k = 0; k < sz; k++) {
            OBJ(a, m[k])->scc = rep;
            r->members[r->nmembers++] = m[k];
        }
        struct dobj *o = OBJ(a, merge[i]);
        free(o->members);
        o->members = NULL;
        o->nmembers = o->capmembers = 0;
    }
    return rep;
}

/* The edge FROM -> TO was just added. Keeps the order; returns true when
 * both ends are now in one component (a cycle through the edge exists). */
bool lg_order_edge(struct tg_analysis *a, uint32_t from, uint32_t to)
{
    lg_order_node(a, from);
    lg_order_node(a, to);
    uint32_t X = OBJ(a, from)->scc, Y = OBJ(a, to)->scc;
    if (X == Y)
        return true;
    uint32_t ub = OBJ(a, X)->ord, lb = OBJ(a, Y)->ord;
    if (ub < lb)
        return false;           /* agrees with the order: no cycle, nothing to move */
    if (!a->pk && !(a->pk = calloc(1, sizeof *a->pk))) {
        a->oom = true;
        return false;
    }
    struct pk *pp = a->pk, p = *pp;     /* buffers kept between calls */
    p.ndf = p.ndb = p.nsorted = p.npool = p.nstack = 0;
    bool same = false;
    a->pk_epoch++;
    int found = search_forward(a, &p, X, Y, ub);
    if (found < 0 || search_backward(a, &p, X, lb) < 0)
        goto oom;
    /* the ords of everything that moves, reused in a new arrangement */
    for (uint32_t i = 0; i < p.ndf; i++)
        if (push(&p.pool, &p.npool, &p.cappool, OBJ(a, p.df[i])->ord) < 0)
            goto oom;
    for (uint32_t i = 0; i < p.ndb; i++)
        if (!(flags(a, p.db[i]) & IN_F) &&
            push(&p.pool, &p.npool, &p.cappool, OBJ(a, p.db[i])->ord) < 0)
            goto oom;
    qsort(p.pool, p.npool, sizeof *p.pool, cmp_u32);
    uint32_t next = 0, rep = NONE;
    if (found) {
        /* everything on a path Y ~> X is now one component with X and Y */
        uint32_t *in = NULL, nin = 0, capin = 0;
        for (uint32_t i = 0; i < p.ndf; i++)
            if ((flags(a, p.df[i]) & IN_B) && push(&in, &nin, &capin, p.df[i]) < 0) {
                free(in);
                goto oom;
            }
        if (push(&in, &nin, &capin, X) < 0) {
            free(in);
            goto oom;
        }
        rep = merge(a, in, nin);
        free(in);
        if (rep == NONE)
            goto oom;
        same = true;
    }
    /* new order: what reaches X, then (the merged component), then what Y reaches */
    p.nsorted = 0;
    for (uint32_t i = 0; i < p.ndb; i++)
        if (!(flags(a, p.db[i]) & IN_F) && p.db[i] != X && sorted_add(a, &p, p.db[i]) < 0)
            goto oom;
    qsort(p.sorted, p.nsorted, sizeof *p.sorted, cmp_ordid);
    if (!found && sorted_add(a, &p, X) < 0)     /* X last of the backward set */
        goto oom;
    for (uint32_t i = 0; i < p.nsorted; i++)
        OBJ(a, p.sorted[i].id)->ord = p.pool[next++];
    if (found)
        OBJ(a, rep)->ord = p.pool[next++];
    p.nsorted = 0;
    for (uint32_t i = 0; i < p.ndf; i++)
        if (!(flags(a, p.df[i]) & IN_B) && sorted_add(a, &p, p.df[i]) < 0)
            goto oom;
    qsort(p.sorted, p.nsorted, sizeof *p.sorted, cmp_ordid);
    for (uint32_t i = 0; i < p.nsorted && next < p.npool; i++)
        OBJ(a, p.sorted[i].id)->ord = p.pool[next++];
    goto out;
oom:
    a->oom = true;
    same = OBJ(a, from)->scc == OBJ(a, to)->scc;
out:
    *pp = p;
    return same;
}

void lg_order_free(struct tg_analysis *a)
{
    struct pk *p = a->pk;
    if (!p)
        return;
    free(p->stack);
    free(p->df);
    free(p->db);
    free(p->sorted);
    free(p->pool);
    free(p);
    a->pk = NULL;
}
