/* Suppression files: `KIND:PATTERN` lines, as TSan's (docs/ci.md).
 *
 *   # the vendored queue is known to take its locks in either order
 *   lock-order:vendor_queue_*
 *   race:legacy/stats.c
 *
 * A pattern is an fnmatch(3) glob without FNM_PATHNAME, so `*` also crosses
 * `/`; it must match a whole word of the finding (a function, a file as
 * shown or its basename, a module, an object's name). Any malformed line is
 * an error: a typo that silently suppressed nothing (or everything) is worse
 * than a failed CI job. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report_int.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int kind_of(const char *name)
{
    for (unsigned k = 0; k < TG_FIND_KIND_COUNT; k++)
        if (strcmp(name, tg_finding_kind_name(k)) == 0)
            return (int)k;
    return -1;
}

int tg_supp_add_line(struct tg_suppressions *s, const char *text, const char *file,
                     int line, char *err, size_t errlen)
{
    char *copy = strdup(text);
    if (!copy) {
        snprintf(err, errlen, "%s:%d: out of memory", file, line);
        return -1;
    }
    char *l = copy;
    char *hash = strchr(l, '#');
    if (hash)
        *hash = '\0';
    l = trim(l);
    if (!*l) {
        free(copy);
        return 0;
    }
    char *colon = strchr(l, ':');
    if (!colon) {
        snprintf(err, errlen, "%s:%d: not KIND:PATTERN: '%s'", file, line, l);
        free(copy);
        return -1;
    }
    *colon = '\0';
    char *kind = trim(l), *pattern = trim(colon + 1);
    int k = kind_of(kind);
    if (k < 0) {
        snprintf(err, errlen, "%s:%d: unknown finding kind '%s' (deadlock, lock-order, "
                 "misuse, race)", file, line, kind);
        free(copy);
        return -1;
    }
    if (!*pattern) {
        snprintf(err, errlen, "%s:%d: empty pattern after '%s:'", file, line, kind);
        free(copy);
        return -1;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct tg_supp_rule *p = realloc(s->rules, cap * sizeof *p);
        if (!p) {
            snprintf(err, errlen, "%s:%d: out of memory", file, line);
            free(copy);
            return -1;
        }
        s->rules = p;
        s->cap = cap;
    }
    struct tg_supp_rule *r = &s->rules[s->n];
    *r = (struct tg_supp_rule){ .kind = (unsigned)k, .pattern = strdup(pattern),
                                .file = strdup(file), .line = line };
    free(copy);
    if (!r->pattern || !r->file) {
        free(r->pattern);
        free(r->file);
        snprintf(err, errlen, "%s:%d: out of memory", file, line);
        return -1;
    }
    s->n++;
    return 0;
}

int tg_supp_load(struct tg_suppressions *s, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read suppressions: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)got != strlen(line)) {
            snprintf(err, errlen, "%s:%d: a NUL byte (not a text file?)", path, lineno);
            rc = -1;
            break;
        }
        if ((rc = tg_supp_add_line(s, line, path, lineno, err, errlen)) < 0)
            break;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: cannot read suppressions: %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

struct tg_supp_rule *tg_supp_match(struct tg_suppressions *s, unsigned kind,
                                   const char *const *words, size_t nwords)
{
    for (size_t i = 0; i < s->n; i++) {
        struct tg_supp_rule *r = &s->rules[i];
        if (r->kind != kind)
            continue;
        for (size_t w = 0; w < nwords; w++) {
            if (words[w] && fnmatch(r->pattern, words[w], 0) == 0) {
                r->hits++;
                return r;
            }
        }
    }
    return NULL;
}

void tg_supp_free(struct tg_suppressions *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->rules[i].pattern);
        free(s->rules[i].file);
    }
    free(s->rules);
    *s = (struct tg_suppressions){ 0 };
}
