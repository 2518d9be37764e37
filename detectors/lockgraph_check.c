/* Looking for a lock-order cycle through a new edge (or a new label on an
 * edge), and deciding whether it could deadlock.
 *
 * The search runs over (lock, mode it was requested in) states, because a
 * read request on a lock the next edge holds for reading never blocks: a
 * step L -(h,r)-> M may follow an arrival at L in mode `am` unless both
 * `am` and `h` are read. Breadth-first with parent pointers gives the
 * shortest cycle (as lockdep does). A cycle is reported if one label per
 * edge can be chosen so that the labels come from at least two threads and
 * no lock is held on every edge with a write/exclusive hold on one of them
 * (a gate lock). If the shortest cycle fails that test, a bounded
 * depth-first enumeration tries the longer ones. */
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

#define VALIDATE_BUDGET 200000u
#define ENUM_BUDGET 20000u

struct cycle {
    uint32_t n;
    uint32_t *edges;
    uint8_t *combos;
    const struct dlabel **labels;
    uint32_t capedges, capcombos, caplabels;
    /* validation scratch, per depth */
    uint32_t *ci, *ioff, *ilen;
    bool *multi;
    uint32_t capci, capioff, capilen, capmulti;
    struct dheld *inter;
    uint32_t capinter;
};

static int cycle_room(struct cycle *c, uint32_t n)
{
    if (GROW(c->edges, c->capedges, n) < 0 || GROW(c->combos, c->capcombos, n) < 0 ||
        GROW(c->labels, c->caplabels, n) < 0)
        return -1;
    return 0;
}

static void cycle_free(struct cycle *c)
{
    free(c->edges);
    free(c->combos);
    free(c->labels);
    free(c->ci);
    free(c->ioff);
    free(c->ilen);
    free(c->multi);
    free(c->inter);
}

static bool conflicts(uint8_t arrive, uint8_t hold) { return arrive || hold; }

/* ---- choosing labels */

static const struct dlabel *first_label(const struct dedge *e, uint8_t combo, uint32_t from,
                                        uint32_t not_thread)
{
    for (uint32_t j = from; j < e->nlabels; j++) {
        const struct dlabel *l = &e->labels[j];
        if ((uint8_t)(l->hmode * 2 + l->rmode) == combo && l->thread != not_thread)
            return l;
    }
    return NULL;
}

/* Fills labels[d..n-1] with any label; one of them from a thread other than
 * FIRST unless MULTI already. */
static bool complete(struct tg_analysis *a, struct cycle *c, uint32_t d, bool multi,
                     uint32_t first)
{
    uint32_t differ = NONE;
    if (!multi) {
        for (uint32_t i = d; i < c->n && differ == NONE; i++)
            if (first_label(EDGE(a, c->edges[i]), c->combos[i], 0, first))
                differ = i;
        if (differ == NONE)
            return false;
    }
    for (uint32_t i = d; i < c->n; i++)
        c->labels[i] = first_label(EDGE(a, c->edges[i]), c->combos[i], 0,
                                   i == differ ? first : NONE);
    return true;
}

static bool validate(struct tg_analysis *a, struct cycle *c)
{
    uint32_t n = c->n;
    if (GROW(c->ci, c->capci, n) < 0 || GROW(c->ioff, c->capioff, n) < 0 ||
        GROW(c->ilen, c->capilen, n) < 0 || GROW(c->multi, c->capmulti, n) < 0) {
        a->oom = true;
        return false;
    }
    uint32_t budget = VALIDATE_BUDGET, first = NONE;
    int d = 0;
    c->ci[0] = 0;
    while (d >= 0) {
        if (--budget == 0)
            return false;       /* undecided: say nothing rather than cry wolf */
        const struct dedge *e = EDGE(a, c->edges[d]);
        const struct dlabel *l = first_label(e, c->combos[d], c->ci[d], NONE);
        if (!l) {
            d--;
            continue;
        }
        c->ci[d] = (uint32_t)(l - e->labels) + 1;
        c->labels[d] = l;
        /* intersection of the gates chosen so far, write bits or'ed */
        uint32_t off = d ? c->ioff[d - 1] + c->ilen[d - 1] : 0, len = 0;
        uint32_t need = off + l->ngates + 1;
        if (GROW(c->inter, c->capinter, need) < 0)
            return false;
        if (d == 0) {
            first = l->thread;
            c->multi[0] = false;
            for (uint32_t i = 0; i < l->ngates; i++)
                c->inter[off + len++] = l->gates[i];
        } else {
            c->multi[d] = c->multi[d - 1] || l->thread != first;
            const struct dheld *prev = c->inter + c->ioff[d - 1];
            uint32_t j = 0;
            for (uint32_t i = 0; i < c->ilen[d - 1]; i++) {
                while (j < l->ngates && l->gates[j].obj < prev[i].obj)
                    j++;
                if (j < l->ngates && l->gates[j].obj == prev[i].obj) {
                    struct dheld g = prev[i];
                    if (mode_bit(l->gates[j].mode))
                        g.mode = TG_MODE_EXCL;
                    c->inter[off + len++] = g;
                }
            }
        }
        c->ioff[d] = off;
        c->ilen[d] = len;
        if ((uint32_t)d == n - 1) {
            bool gated = false;
            for (uint32_t i = 0; i < len; i++)
                gated |= mode_bit(c->inter[off + i].mode);
            if (c->multi[d] && !gated)
                return true;
            continue;
        }
        if (len == 0 && complete(a, c, (uint32_t)d + 1, c->multi[d], first))
            return true;
        if (len == 0)
            continue;
        d++;
        c->ci[d] = 0;
    }
    return false;
}

/* ---- searching */

static bool bfs(struct tg_analysis *a, struct cycle *c, uint32_t start, uint8_t hb, uint8_t rb)
{
    const struct dedge *se = EDGE(a, start);
    uint32_t A = se->from, B = se->to, comp = OBJ(a, A)->scc;
    if (GROW(a->scratch, a->capscratch, a->nobjs * 2 + 2) < 0) {
        a->oom = true;
        return false;
    }
    uint32_t epoch = ++a->bfs_epoch, head = 0, tail = 0;
    struct dobj *oa = OBJ(a, A), *ob = OBJ(a, B);
    oa->bfs_epoch[0] = oa->bfs_epoch[1] = epoch;    /* A is only ever a goal */
    ob->bfs_epoch[rb] = epoch;
    ob->bfs_edge[rb] = NONE;
    a->scratch[tail++] = B * 2 + rb;
    uint32_t goal_edge = NONE, goal_state = 0;
    uint8_t goal_combo = 0;
    while (head < tail && goal_edge == NONE) {
        uint32_t s = a->scratch[head++], L = s >> 1;
        uint8_t am = s & 1;
        const struct dobj *ol = OBJ(a, L);
        for (uint32_t i = 0; i < ol->nout && goal_edge == NONE; i++) {
            const struct dedge *e = EDGE(a, ol->out[i]);
            for (uint8_t cb = 0; cb < 4; cb++) {
                if (!(e->combos >> cb & 1))
                    continue;
                uint8_t h = cb >> 1, r = cb & 1;
                if (!conflicts(am, h))
                    continue;
                if (e->to == A) {
                    if (!conflicts(r, hb))
                        continue;
                    goal_edge = ol->out[i];
                    goal_state = s;
                    goal_combo = cb;
                    break;
                }
                struct dobj *m = OBJ(a, e->to);
                if (m->bfs_epoch[r] == epoch || m->scc != comp)
                    continue;
                m->bfs_epoch[r] = epoch;
                m->bfs_edge[r] = ol->out[i];
                m->bfs_combo[r] = cb;
                m->bfs_from_mode[r] = am;
                a->scratch[tail++] = e->to * 2 + r;
            }
        }
    }
    if (goal_edge == NONE)
        return false;
    /* walk the parents back to B, then reverse into the cycle after START */
    uint32_t len = 1;
    for (uint32_t s = goal_state;;) {
        const struct dobj *o = OBJ(a, s >> 1);
        uint32_t pe = o->bfs_edge[s & 1];
        if (pe == NONE)
            break;
        len++;
        s = EDGE(a, pe)->from * 2 + o->bfs_from_mode[s & 1];
    }
    if (cycle_room(c, len + 1) < 0) {
        a->oom = true;
        return false;
    }
    c->n = len + 1;
    c->edges[0] = start;
    c->combos[0] = (uint8_t)(hb * 2 + rb);
    uint32_t pos = len;
    c->edges[pos] = goal_edge;
    c->combos[pos] = goal_combo;
    for (uint32_t s = goal_state;;) {
        const struct dobj *o = OBJ(a, s >> 1);
        uint32_t pe = o->bfs_edge[s & 1];
        if (pe == NONE)
            break;
        pos--;
        c->edges[pos] = pe;
        c->combos[pos] = o->bfs_combo[s & 1];
        s = EDGE(a, pe)->from * 2 + o->bfs_from_mode[s & 1];
    }
    return true;
}

/* Depth-first over simple paths B ~> A, validating each cycle found. */
struct frame { uint32_t lock, edge_i; uint8_t am, combo_i; };

static bool enumerate(struct tg_analysis *a, struct cycle *c, uint32_t start, uint8_t hb,
                      uint8_t rb)
{
    const struct dedge *se = EDGE(a, start);
    uint32_t A = se->from, B = se->to, budget = ENUM_BUDGET, depth = 0, capst = 0;
    uint32_t comp = OBJ(a, A)->scc;
    struct frame *st = NULL;
    uint32_t epoch = ++a->bfs_epoch;
    bool found = false;
    if (GROW(st, capst, 16) < 0 || cycle_room(c, 16) < 0)
        goto out;
    c->edges[0] = start;
    c->combos[0] = (uint8_t)(hb * 2 + rb);
    st[0] = (struct frame){ .lock = B, .am = rb };
    OBJ(a, B)->bfs_epoch[0] = epoch;
    while (!found && budget) {
        struct frame *f = &st[depth];
        const struct dobj *o = OBJ(a, f->lock);
        if (f->edge_i >= o->nout) {             /* exhausted: pop */
            OBJ(a, f->lock)->bfs_epoch[0] = 0;
            if (depth == 0)
                break;
            depth--;
            continue;
        }
        uint32_t eid = o->out[f->edge_i];
        const struct dedge *e = EDGE(a, eid);
        uint8_t cb = f->combo_i;
        if (++f->combo_i >= 4) {
            f->combo_i = 0;
            f->edge_i++;
        }
        if (!(e->combos >> cb & 1) || !conflicts(f->am, cb >> 1))
            continue;
        budget--;
        uint8_t r = cb & 1;
        if (cycle_room(c, depth + 3) < 0)
            break;
        c->edges[depth + 1] = eid;
        c->combos[depth + 1] = cb;
        if (e->to == A) {
            if (conflicts(r, hb)) {
                c->n = depth + 2;
                found = validate(a, c);
            }
            continue;
        }
        struct dobj *m = OBJ(a, e->to);
        if (m->bfs_epoch[0] == epoch || e->to == B || m->scc != comp)
            continue;
        if (GROW(st, capst, depth + 2) < 0)
            break;
        m->bfs_epoch[0] = epoch;
        st[++depth] = (struct frame){ .lock = e->to, .am = r };
    }
out:
    /* clear on-path marks left by an early exit */
    for (uint32_t i = 0; i <= depth && st; i++)
        OBJ(a, st[i].lock)->bfs_epoch[0] = 0;
    free(st);
    return found;
}

/* ---- reporting */

static uint8_t shown_mode(const struct dobj *o, uint8_t bit)
{
    if (o->kind != TG_OBJ_RWLOCK)
        return TG_MODE_EXCL;
    return bit ? TG_MODE_WRITE : TG_MODE_READ;
}

static void report(struct tg_analysis *a, struct cycle *c, uint64_t ts)
{
    uint32_t n = c->n;
    uint64_t *h = malloc(n * sizeof *h);
    if (!h) {
        a->oom = true;
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct dlabel *l = c->labels[i];
        struct tg_obj_ref ref;
        obj_ref_fill(a, EDGE(a, c->edges[i])->from, &ref);
        h[i] = hash2(hash2(hash2(fd_obj_key(a, &ref), fd_stack_key(a, l->hstack)),
                           fd_stack_key(a, l->rstack)), c->combos[i]);
    }
    uint32_t r = fd_min_rotation(h, n);
    free(h);
    struct fbuild b;
    fb_init(&b, TG_FIND_LOCK_ORDER, 0, OBJ(a, EDGE(a, c->edges[0])->from)->process, ts);
    for (uint32_t i = 0; i < n; i++)
        fb_obj(&b, a, EDGE(a, c->edges[(r + i) % n])->from);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = (r + i) % n;
        const struct dedge *e = EDGE(a, c->edges[k]);
        const struct dlabel *l = c->labels[k];
        struct tg_step *s = fb_step(&b);
        if (!s)
            break;
        s->role = TG_ROLE_EDGE;
        s->wait = TG_WAIT_LOCK;
        s->thread = l->thread;
        s->held.obj = i;
        s->held.mode = shown_mode(OBJ(a, e->from), l->hmode);
        s->held.stack = l->hstack;
        s->held.ts = l->hts;
        s->obj = (i + 1) % n;
        s->mode = shown_mode(OBJ(a, e->to), l->rmode);
        s->event = l->revent;
        s->stack = l->rstack;
        s->ts = l->rts;
        fb_others(&b, a, s, l->gates, l->ngates, NONE);
    }
    struct tg_finding *f = fb_done(&b, a);
    if (f)
        fd_commit(a, f);
}

void lg_check(struct tg_analysis *a, uint32_t edge, const struct dlabel *label, uint64_t ts)
{
    const struct dedge *e = EDGE(a, edge);
    /* a cycle through A -> B lies inside one component of the graph */
    if (OBJ(a, e->to)->scc != OBJ(a, e->from)->scc)
        return;
    a->counters.cycle_checks++;
    struct cycle c = { 0 };
    bool ok = bfs(a, &c, edge, label->hmode, label->rmode) && validate(a, &c);
    if (!ok && c.n)     /* the shortest cycle cannot deadlock; a longer one may */
        ok = enumerate(a, &c, edge, label->hmode, label->rmode);
    if (ok)
        report(a, &c, ts);
    cycle_free(&c);
}
