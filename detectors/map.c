/* A small open-addressing hash map from a pair of u64 to a u32, linear
 * probing, no deletion: the detectors overwrite a value when an address
 * gets a new object, so they never need to remove one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/internal.h"

#define EMPTY UINT64_MAX

int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint64_t n = *cap ? *cap : 4;
    while (n < need)
        n *= 2;
    if (n > UINT32_MAX)
        return -ENOMEM;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = (uint32_t)n;
    return 0;
}

static uint32_t slot_of(uint64_t a, uint64_t b, uint32_t cap)
{
    return (uint32_t)(mix64(b + a * 0x9e3779b97f4a7c15ull) & (cap - 1));
}

int dmap_init(struct dmap *m, uint32_t cap)
{
    uint32_t c = 16;
    while (c < cap)
        c *= 2;
    m->ka = malloc((size_t)c * sizeof *m->ka);
    m->kb = malloc((size_t)c * sizeof *m->kb);
    m->val = malloc((size_t)c * sizeof *m->val);
    if (!m->ka || !m->kb || !m->val) {
        dmap_free(m);
        return -ENOMEM;
    }
    memset(m->ka, 0xff, (size_t)c * sizeof *m->ka);
    memset(m->kb, 0xff, (size_t)c * sizeof *m->kb);
    m->cap = c;
    m->count = 0;
    return 0;
}

void dmap_free(struct dmap *m)
{
    free(m->ka);
    free(m->kb);
    free(m->val);
    memset(m, 0, sizeof *m);
}

uint32_t *dmap_find(const struct dmap *m, uint64_t a, uint64_t b)
{
    if (!m->cap)
        return NULL;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = slot_of(a, b, m->cap);; i = (i + 1) & mask) {
        if (m->ka[i] == a && m->kb[i] == b)
            return &m->val[i];
        if (m->ka[i] == EMPTY && m->kb[i] == EMPTY)
            return NULL;
    }
}

static void put_nocheck(struct dmap *m, uint64_t a, uint64_t b, uint32_t val)
{
    uint32_t mask = m->cap - 1;
    for (uint32_t i = slot_of(a, b, m->cap);; i = (i + 1) & mask) {
        if (m->ka[i] == a && m->kb[i] == b) {
            m->val[i] = val;
            return;
        }
        if (m->ka[i] == EMPTY && m->kb[i] == EMPTY) {
            m->ka[i] = a;
            m->kb[i] = b;
            m->val[i] = val;
            m->count++;
            return;
        }
    }
}

int dmap_put(struct dmap *m, uint64_t a, uint64_t b, uint32_t val)
{
    if (a == EMPTY && b == EMPTY)
        return -EINVAL;
    uint32_t *v = dmap_find(m, a, b);
    if (v) {
        *v = val;
        return 0;
    }
    if ((uint64_t)(m->count + 1) * 4 > (uint64_t)m->cap * 3) {   /* keep load under 3/4 */
        struct dmap n;
        if (m->cap > UINT32_MAX / 2 || dmap_init(&n, m->cap * 2) < 0)
            return -ENOMEM;
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->ka[i] != EMPTY || m->kb[i] != EMPTY)
                put_nocheck(&n, m->ka[i], m->kb[i], m->val[i]);
        dmap_free(m);
        *m = n;
    }
    put_nocheck(m, a, b, val);
    return 0;
}

uint32_t page_alloc(void ***pages, uint32_t *cappages, uint32_t *n, size_t elem)
{
    uint32_t id = *n, page = id >> PAGE_BITS;
    if (id == NONE)
        return NONE;
    if ((id & (PAGE_SIZE_ - 1)) == 0) {
        if (grow((void **)pages, cappages, page + 1, sizeof **pages) < 0)
            return NONE;
        (*pages)[page] = calloc(PAGE_SIZE_, elem);
        if (!(*pages)[page])
            return NONE;
    }
    (*n)++;
    return id;
}
