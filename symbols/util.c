/* Small containers for symbols/: a bump arena and a u64 -> u32 hash map. */
#include <stdlib.h>
#include <string.h>

#include "symbols/internal.h"

struct arena_block {
    struct arena_block *next;
    max_align_t data[];
};

enum { ARENA_BLOCK = 64 * 1024 };

void *tg_symbols_arena_alloc(struct arena *a, size_t size)
{
    size_t align = _Alignof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    if (size > a->left) {
        size_t cap = size > ARENA_BLOCK / 4 ? size : ARENA_BLOCK;
        struct arena_block *b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        if (size == cap && a->blocks) {
            /* A big request gets its own block behind the current one, so
             * the space left in the current block is not wasted. */
            b->next = a->blocks->next;
            a->blocks->next = b;
            return b->data;
        }
        b->next = a->blocks;
        a->blocks = b;
        a->next = (char *)b->data;
        a->left = cap;
    }
    void *p = a->next;
    a->next += size;
    a->left -= size;
    return p;
}

char *tg_symbols_arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = tg_symbols_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *tg_symbols_arena_strdup(struct arena *a, const char *s)
{
    return tg_symbols_arena_strndup(a, s, strlen(s));
}

void tg_symbols_arena_free(struct arena *a)
{
    while (a->blocks) {
        struct arena_block *next = a->blocks->next;
        free(a->blocks);
        a->blocks = next;
    }
    a->left = 0;
    a->next = NULL;
}

/* Keys are stored as key + 1 so that 0 can mark an empty slot; the one key
 * that would wrap (UINT64_MAX) is never a code or data address. */
static size_t slot_of(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

bool tg_symbols_u64map_get(const struct u64map *m, uint64_t key, uint32_t *val)
{
    if (!m->cap)
        return false;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == 0)
            return false;
        if (m->keys[i] == key + 1) {
            *val = m->vals[i];
            return true;
        }
    }
}

static bool rehash(struct u64map *m, size_t cap)
{
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *vals = malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = slot_of(m->keys[i] - 1, cap);
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

bool tg_symbols_u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
    if ((m->count + 1) * 4 > m->cap * 3 && !rehash(m, m->cap ? m->cap * 2 : 64))
        return false;
    size_t i = slot_of(key, m->cap);
    while (m->keys[i] && m->keys[i] != key + 1)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->count++;
    m->keys[i] = key + 1;
    m->vals[i] = val;
    return true;
}

void tg_symbols_u64map_free(struct u64map *m)
{
    free(m->keys);
    free(m->vals);
    *m = (struct u64map){0};
}

bool tg_symbols_grow_array(void *items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *p = realloc(*(void **)items, n * size);
    if (!p)
        return false;
    *(void **)items = p;
    *cap = n;
    return true;
}

size_t tg_symbols_copy_str(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (len) {
        size_t k = n < len - 1 ? n : len - 1;
        memcpy(dst, src, k);
        dst[k] = '\0';
    }
    return n;
}
