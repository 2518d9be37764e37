#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

void fixture_run(struct fixture *f, const char *program)
{
    memset(f, 0, sizeof *f);
    FILE *p = popen(program, "r");
    cr_assert(p, "cannot run %s", program);
    char line[1024];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        char kind[16], key[64];
        unsigned long long a, b, c;
        int n, num;
        if (sscanf(line, "module %llx %llx %llx %n", &a, &b, &c, &n) == 3) {
            cr_assert(f->nmods < FIX_MAX);
            int i = f->nmods++;
            snprintf(f->paths[i], sizeof f->paths[i], "%s", line + n);
            f->mods[i] = (struct tg_module_info){ .process = 0, .base = a, .lo = b, .hi = c,
                                                  .path = f->paths[i] };
        } else if (sscanf(line, "%15s %63s %n", kind, key, &n) == 2) {
            cr_assert(f->nentries < FIX_MAX);
            struct fix_entry *e = &f->entries[f->nentries++];
            snprintf(e->key, sizeof e->key, "%s", key);
            if (strcmp(kind, "line") == 0) {
                cr_assert(sscanf(line + n, "%d", &e->line) == 1, "bad line: %s", line);
            } else {
                cr_assert(sscanf(line + n, "%llx %d", &a, &num) >= 1, "bad line: %s", line);
                e->addr = a;
                if (strcmp(kind, "ret") == 0)
                    cr_assert(sscanf(line + n, "%llx %d", &a, &e->line) == 2);
            }
        }
    }
    int status = pclose(p);
    cr_assert_eq(status, 0, "%s exited with status %d", program, status);
    cr_assert_gt(f->nmods, 2, "%s printed no module map", program);
}

const struct fix_entry *fixture_get(const struct fixture *f, const char *key)
{
    for (int i = 0; i < f->nentries; i++)
        if (strcmp(f->entries[i].key, key) == 0)
            return &f->entries[i];
    cr_assert_fail("target printed no %s", key);
    return NULL;
}

uint64_t fixture_addr(const struct fixture *f, const char *key)
{
    return fixture_get(f, key)->addr;
}

int fixture_line(const struct fixture *f, const char *key)
{
    return fixture_get(f, key)->line;
}

int fixture_module(const struct fixture *f, const char *suffix)
{
    size_t n = strlen(suffix);
    for (int i = 0; i < f->nmods; i++) {
        size_t len = strlen(f->paths[i]);
        if (len >= n && strcmp(f->paths[i] + len - n, suffix) == 0)
            return i;
    }
    return -1;
}

struct tg_symbols *fixture_symbols(struct fixture *f, const char *replace_suffix,
                                   const char *with)
{
    struct tg_module_info mods[FIX_MAX];
    memcpy(mods, f->mods, sizeof mods);
    if (replace_suffix) {
        int i = fixture_module(f, replace_suffix);
        cr_assert_geq(i, 0, "no module %s", replace_suffix);
        mods[i].path = with;
    }
    struct tg_symbols *s = tg_symbols_new_modules(mods, (size_t)f->nmods);
    cr_assert(s);
    return s;
}
