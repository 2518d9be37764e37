/* tui/search.c: finding a lane by name (see search.h). */
#include "tui/search.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

static bool contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    if (n == 0)
        return false;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i]
               && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

size_t tg_search_next(size_t n, size_t from, const char *query,
                      const char *(*name)(size_t i, void *ctx), void *ctx)
{
    for (size_t k = 1; k <= n; k++) {
        size_t i = (from + k) % n;
        const char *s = name(i, ctx);
        if (s != NULL && contains(s, query))
            return i;
    }
    return (size_t)-1;
}
