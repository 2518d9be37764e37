/* util/: the u64 → u64 map. */
#include <stdlib.h>
#include <string.h>

#include "util/u64map.h"

/* murmur3's finaliser: addresses differ mostly in their middle bits */
static size_t slot_of(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

uint64_t *tg_u64map_find(const struct tg_u64map *m, uint64_t key)
{
    if (key == 0)
        return m->has_zero ? (uint64_t *)&m->zero_val : NULL;
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return &m->vals[i];
        if (m->keys[i] == 0)
            return NULL;
    }
}

static bool grow(struct tg_u64map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = calloc(cap, sizeof *keys), *vals = malloc(cap * sizeof *vals);

    if (!keys || !vals) {
        free(keys);
        free(vals);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = slot_of(m->keys[i], cap);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return true;
}

uint64_t *tg_u64map_slot(struct tg_u64map *m, uint64_t key)
{
    if (key == 0) {
        if (!m->has_zero) {
            m->has_zero = true;
            m->zero_val = 0;
        }
        return &m->zero_val;
    }
    /* at most 3/4 full: probes stay short */
    if ((m->len + 1) * 4 > m->cap * 3 && !grow(m))
        return NULL;
    size_t i = slot_of(key, m->cap);
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->vals[i] = 0;
        m->len++;
    }
    return &m->vals[i];
}

size_t tg_u64map_len(const struct tg_u64map *m)
{
    return m->len + (m->has_zero ? 1 : 0);
}

void tg_u64map_free(struct tg_u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
