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
