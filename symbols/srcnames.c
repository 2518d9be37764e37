/* Short source file names: the shortest trailing part of a path (whole
 * components) that no other source file of the same module ends with.
 * "abba.c" in a program with one abba.c; "a/util.c" and "b/util.c" when
 * there are two. Decided over every file the module's line tables list, so
 * a name does not depend on which addresses were looked up first (a live
 * report and a rerun on the saved trace print the same text).
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/internal.h"

struct srcname {
    const char *full;           /* normalised */
    const char *shortname;
};

struct srcnames {
    struct arena *arena;
    struct srcname *names;      /* sorted by full */
    size_t count;
};

/* Lexically resolves "." and ".." and repeated slashes, as the compiler's
 * "build/../src/x.c" names the same file as "src/x.c". Never reads the disk
 * (the files may be gone). Writes into OUT, at least strlen(path)+1 bytes. */
static void normalise(const char *path, char *out)
{
    bool absolute = path[0] == '/';
    char *o = out;
    if (absolute)
        *o++ = '/';
    char *base = o;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        bool dot = n == 1 && p[0] == '.';
        bool dotdot = n == 2 && p[0] == '.' && p[1] == '.';
        if (dotdot) {
            char *last = o;
            while (last > base && last[-1] != '/')
                last--;
            bool parent = o > base && !(o - last == 2 && last[0] == '.' && last[1] == '.');
            if (parent) {
                o = last > base ? last - 1 : last;   /* drop it and its slash */
                dot = true;
            } else if (absolute) {
                dot = true;                         /* "/.." is "/" */
            }
        }
        if (n && !dot) {
            if (o > base)
                *o++ = '/';
            memcpy(o, p, n);
            o += n;
        }
        p = end;
    }
    *o = '\0';
}

/* PATH as an absolute name where the CU tells its directory: libdw 0.188
 * leaves DWARF 5 paths relative to the compilation directory (clang's
 * "../src/x.c"), while the same file's entry 0 is absolute. Returns a
 * malloc'd normalised copy, NULL when out of memory. */
static char *resolve(const char *comp_dir, const char *path)
{
    bool join = path[0] != '/' && comp_dir && *comp_dir;
    size_t n = strlen(path) + (join ? strlen(comp_dir) + 1 : 0) + 2;
    char *joined = malloc(n), *out = malloc(n);
    if (!joined || !out) {
        free(joined);
        free(out);
        return NULL;
    }
    snprintf(joined, n, "%s%s%s", join ? comp_dir : "", join ? "/" : "", path);
    normalise(joined, out);
    free(joined);
    return out;
}

static const char *comp_dir_of(Dwarf_Die *cudie)
{
    Dwarf_Attribute attr;
    return dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr));
}

static int cmp_full(const void *a, const void *b)
{
    return strcmp(((const struct srcname *)a)->full, ((const struct srcname *)b)->full);
}

struct suffix {
    const char *s;
    size_t path;
};

static int cmp_suffix(const void *a, const void *b)
{
    return strcmp(((const struct suffix *)a)->s, ((const struct suffix *)b)->s);
}

static bool add_name(struct srcnames *n, size_t *cap, const char *comp_dir, const char *path)
{
    if (!tg_symbols_grow_array(&n->names, cap, n->count + 1, sizeof *n->names))
        return false;
    char *tmp = resolve(comp_dir, path);
    char *norm = tmp ? tg_symbols_arena_strdup(n->arena, tmp) : NULL;
    free(tmp);
    if (!norm)
        return false;
    n->names[n->count++] = (struct srcname){ .full = norm, .shortname = norm };
    return true;
}

static bool collect(struct srcnames *n, Dwarf *dw)
{
    size_t cap = 0;
    Dwarf_CU *cu = NULL;
    Dwarf_Die cudie;
    while (dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL) == 0) {
        Dwarf_Files *files;
        size_t nfiles;
        if (dwarf_getsrcfiles(&cudie, &files, &nfiles) != 0)
            continue;
        const char *comp_dir = comp_dir_of(&cudie);
        for (size_t i = 0; i < nfiles; i++) {
            const char *path = dwarf_filesrc(files, i, NULL, NULL);
            if (path && *path && !add_name(n, &cap, comp_dir, path))
                return false;
        }
    }
    if (n->count == 0)
        return true;
    qsort(n->names, n->count, sizeof *n->names, cmp_full);
    size_t out = 1;
    for (size_t i = 1; i < n->count; i++)
        if (strcmp(n->names[i].full, n->names[out - 1].full) != 0)
            n->names[out++] = n->names[i];
    n->count = out;
    return true;
}

static bool shorten(struct srcnames *n)
{
    size_t count = 0, cap = 0;
    struct suffix *sfx = NULL;
    for (size_t i = 0; i < n->count; i++) {
        const char *full = n->names[i].full;
        for (const char *p = full + strlen(full); p > full; p--) {
            if (p[-1] != '/')
                continue;
            if (!tg_symbols_grow_array(&sfx, &cap, count + 1, sizeof *sfx)) {
                free(sfx);
                return false;
            }
            sfx[count++] = (struct suffix){ .s = p, .path = i };
        }
    }
    if (count)
        qsort(sfx, count, sizeof *sfx, cmp_suffix);
    /* A suffix shared by no other path is a candidate; the paths are
     * distinct, so a group of one means unique. Keep the shortest. */
    for (size_t i = 0; i < count;) {
        size_t j = i + 1;
        while (j < count && strcmp(sfx[j].s, sfx[i].s) == 0)
            j++;
        if (j == i + 1) {
            struct srcname *name = &n->names[sfx[i].path];
            if (strlen(sfx[i].s) < strlen(name->shortname))
                name->shortname = sfx[i].s;
        }
        i = j;
    }
    free(sfx);
    return true;
}

struct srcnames *tg_symbols_srcnames_new(Dwarf *dw, struct arena *a)
{
    struct srcnames *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->arena = a;
    if (dw && (!collect(n, dw) || !shorten(n))) {
        tg_symbols_srcnames_free(n);
        return NULL;
    }
    return n;
}

const char *tg_symbols_srcnames_get(struct srcnames *n, Dwarf_Die *cudie, const char *full)
{
    char *norm = resolve(comp_dir_of(cudie), full);
    if (!norm)
        return NULL;
    struct srcname key = { .full = norm };
    struct srcname *hit = n->count ? bsearch(&key, n->names, n->count, sizeof *n->names, cmp_full)
                                   : NULL;
    const char *name;
    if (hit) {
        name = hit->shortname;
    } else {
        /* In no file table (should not happen): its base name. */
        const char *slash = strrchr(norm, '/');
        name = tg_symbols_arena_strdup(n->arena, slash && slash[1] ? slash + 1 : norm);
    }
    free(norm);
    return name;
}

void tg_symbols_srcnames_free(struct srcnames *n)
{
    if (!n)
        return;
    free(n->names);
    free(n);
}
