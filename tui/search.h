/* tui/search.h (internal): `/` — the next lane whose name contains the
 * query, case-insensitively, after FROM and wrapping around. Pure. */
#ifndef TG_TUI_SEARCH_H
#define TG_TUI_SEARCH_H

#include <stddef.h>

/* NAME(i, ctx) gives the name of candidate i (NULL: skip it). Returns the
 * index of the match, or (size_t)-1 if none. */
size_t tg_search_next(size_t n, size_t from, const char *query,
                      const char *(*name)(size_t i, void *ctx), void *ctx);

#endif
