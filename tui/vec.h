/* tui/vec.h (internal): growable arrays for lanes. Small ones live in
 * malloc; from 256 KiB on they move to their own mapping, which grows with
 * mremap (no copying) and asks for transparent huge pages (one page fault
 * per 2 MiB instead of per 4 KiB): a 10-million-event trace fills about
 * half a gigabyte of lanes, and page faults were most of the cost of
 * building them. */
#ifndef TG_TUI_VEC_H
#define TG_TUI_VEC_H

#include <stddef.h>

/* Makes *P hold at least NEED elements of ELEM bytes; *CAP is in elements.
 * Returns 0 or -ENOMEM (then *P and *CAP are unchanged). */
int tg_vec_grow_slow(void **p, size_t *cap, size_t need, size_t elem);
static inline int tg_vec_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    return need <= *cap ? 0 : tg_vec_grow_slow(p, cap, need, elem);
}
/* Gives back what is not used: capacity N (at least 1). */
void tg_vec_shrink(void **p, size_t *cap, size_t n, size_t elem);
void tg_vec_free(void *p, size_t cap, size_t elem);

#endif
