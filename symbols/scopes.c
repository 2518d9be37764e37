/* Function scopes of one compilation unit, indexed by address.
 *
 * dwarf_getscopes walks the CU's DIE tree from its root on every call, which
 * for a large CU costs milliseconds per address. Here the tree is walked once
 * per CU: every subprogram and inlined instance with code becomes a node
 * (with its parent, the function it was inlined into), and every address
 * range of a node goes into one array sorted by start. The innermost scope
 * of an address is then a binary search and a short walk up the parents.
 */
#include <dwarf.h>
#include <stdlib.h>

#include "symbols/internal.h"

struct span {
    Dwarf_Addr lo, hi;
    uint32_t node;
    uint32_t depth;
};

struct cuscopes {
    struct scope_node *nodes;
    size_t nnodes, capnodes;
    struct span *own;           /* each node's ranges, in node order */
    size_t nown, capown;
    struct span *sorted;        /* the same, by (lo, depth) */
    size_t nsorted;
};

static bool is_scope_with_code(int tag)
{
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

static bool add_node(struct cuscopes *c, Dwarf_Die *die, int32_t parent, uint32_t depth,
                     int32_t *index)
{
    size_t first = c->nown;
    Dwarf_Addr base, lo, hi;
    ptrdiff_t off = 0;
    while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
        if (lo >= hi)
            continue;
        if (!tg_symbols_grow_array(&c->own, &c->capown, c->nown + 1, sizeof *c->own))
            return false;
        c->own[c->nown++] = (struct span){ .lo = lo, .hi = hi, .node = (uint32_t)c->nnodes,
                                           .depth = depth };
    }
    if (c->nown == first) {
        *index = -1;            /* abstract instance or declaration: no code */
        return true;
    }
    if (!tg_symbols_grow_array(&c->nodes, &c->capnodes, c->nnodes + 1, sizeof *c->nodes))
        return false;
    c->nodes[c->nnodes] = (struct scope_node){ .die = *die, .parent = parent,
                                               .first_range = (uint32_t)first,
                                               .nranges = (uint32_t)(c->nown - first) };
    *index = (int32_t)c->nnodes++;
    return true;
}

static bool walk(struct cuscopes *c, Dwarf_Die *parent_die, int32_t parent, uint32_t depth)
{
    Dwarf_Die child;
    if (dwarf_child(parent_die, &child) != 0)
        return true;
    do {
        int tag = dwarf_tag(&child);
        if (is_scope_with_code(tag)) {
            int32_t index;
            if (!add_node(c, &child, parent, depth, &index))
                return false;
            if (index >= 0 && !walk(c, &child, index, depth + 1))
                return false;
        } else if (tag == DW_TAG_lexical_block || tag == DW_TAG_namespace) {
            if (!walk(c, &child, parent, depth))
                return false;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return true;
}

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->depth < y->depth ? -1 : x->depth > y->depth;
}

struct cuscopes *tg_symbols_cuscopes_new(Dwarf_Die *cudie)
{
    struct cuscopes *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!walk(c, cudie, -1, 0) || (c->nown && !(c->sorted = malloc(c->nown * sizeof *c->sorted)))) {
        tg_symbols_cuscopes_free(c);
        return NULL;
    }
    for (size_t i = 0; i < c->nown; i++)
        c->sorted[i] = c->own[i];
    c->nsorted = c->nown;
    if (c->nsorted)
        qsort(c->sorted, c->nsorted, sizeof *c->sorted, cmp_span);
    return c;
}

void tg_symbols_cuscopes_free(struct cuscopes *c)
{
    if (!c)
        return;
    free(c->nodes);
    free(c->own);
    free(c->sorted);
    free(c);
}

static bool node_contains(const struct cuscopes *c, int32_t node, Dwarf_Addr addr)
{
    const struct scope_node *n = &c->nodes[node];
    for (uint32_t i = 0; i < n->nranges; i++) {
        const struct span *s = &c->own[n->first_range + i];
        if (addr >= s->lo && addr < s->hi)
            return true;
    }
    return false;
}

int32_t tg_symbols_cuscopes_find(const struct cuscopes *c, Dwarf_Addr addr)
{
    size_t lo = 0, hi = c->nsorted;     /* first span starting above addr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->sorted[mid].lo <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    /* The last span starting at or below ADDR is the innermost if it holds
     * ADDR; if not, the innermost scope holding ADDR contains its start, so
     * it is one of its ancestors (DWARF scopes nest). */
    int32_t node = (int32_t)c->sorted[lo - 1].node;
    while (node >= 0 && !node_contains(c, node, addr))
        node = c->nodes[node].parent;
    return node;
}

const struct scope_node *tg_symbols_cuscopes_node(const struct cuscopes *c, int32_t index)
{
    return index >= 0 && (size_t)index < c->nnodes ? &c->nodes[index] : NULL;
}
