/* Unknown addresses, files that are gone or stripped, a growing module map. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

static struct fixture fix;

Test(symbols_robust, unknown_addresses)
{
    fixture_run(&fix, SYMTARGET);
    struct tg_symbols *s = fixture_symbols(&fix, NULL, NULL);
    struct tg_frame f;
    char buf[64], name[64];
    cr_assert_not(tg_symbols_frame(s, 0, 0x10, &f));
    cr_assert_null(f.function);
    cr_assert_null(f.module);
    cr_assert_str_eq(tg_symbols_format_frame(&f, buf, sizeof buf), "0x10");
    cr_assert_not(tg_symbols_frame(s, 0, 0, &f));
    cr_assert_not(tg_symbols_pc(s, 0, UINT64_MAX, &f));
    cr_assert_not(tg_symbols_data(s, 0, 0, name, sizeof name, NULL, 0));
    /* A process the source knows nothing about. */
    cr_assert_not(tg_symbols_frame(s, 7, fixture_addr(&fix, "known"), &f));
    cr_assert_not(tg_symbols_data(s, 7, fixture_addr(&fix, "mutexA"), name, sizeof name, NULL, 0));
    tg_symbols_free(s);
}

Test(symbols_robust, module_gone_from_disk)
{
    struct tg_module_info gone = { .process = 0, .base = 0x7f0000000000, .lo = 0x7f0000001000,
                                   .hi = 0x7f0000009000, .path = "/nonexistent/libgone.so" };
    struct tg_module_info text = { .process = 0, .base = 0x10000, .lo = 0x10000,
                                   .hi = 0x20000, .path = __FILE__ };  /* not ELF */
    struct tg_module_info mods[] = { gone, text };
    struct tg_symbols *s = tg_symbols_new_modules(mods, 2);
    cr_assert(s);
    struct tg_frame f;
    char buf[128], name[64];
    cr_assert(tg_symbols_frame(s, 0, 0x7f0000001c41, &f));
    cr_assert_null(f.function);
    cr_assert_str_eq(f.module, "/nonexistent/libgone.so");
    cr_assert_eq(f.offset, 0x1c41);
    cr_assert_str_eq(tg_symbols_format_frame(&f, buf, sizeof buf),
                     "0x7f0000001c41 (libgone.so+0x1c41)");
    cr_assert_not(tg_symbols_data(s, 0, 0x7f0000002000, name, sizeof name, NULL, 0));
    cr_assert(tg_symbols_frame(s, 0, 0x10100, &f));
    cr_assert_null(f.function);
    cr_assert_not(tg_symbols_data(s, 0, 0x10100, name, sizeof name, NULL, 0));
    tg_symbols_free(s);
}

Test(symbols_robust, file_deleted_after_first_lookup)
{
    fixture_run(&fix, SYMTARGET);
    char copy[] = "/tmp/tg-symbols-XXXXXX";
    int fd = mkstemp(copy);
    cr_assert_geq(fd, 0);
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", SYMTARGET, copy);
    cr_assert_eq(system(cmd), 0);
    struct tg_symbols *s = fixture_symbols(&fix, "/symtarget", copy);
    struct tg_frame f;
    cr_assert(tg_symbols_frame(s, 0, fixture_addr(&fix, "known"), &f));
    cr_assert_str_eq(f.function, "known_function");
    unlink(copy);
    /* Opened once, kept open: later lookups still work. */
    cr_assert(tg_symbols_frame(s, 0, fixture_addr(&fix, "dup_one"), &f));
    cr_assert_str_eq(f.function, "dup_one");
    char name[64];
    cr_assert(tg_symbols_data(s, 0, fixture_addr(&fix, "mutexA"), name, sizeof name, NULL, 0));
    cr_assert_str_eq(name, "mutexA");
    tg_symbols_free(s);
}

Test(symbols_robust, debug_info_stripped)
{
    fixture_run(&fix, SYMTARGET);
    struct tg_symbols *s = fixture_symbols(&fix, "/symtarget", SYMTARGET_NODEBUG);
    struct tg_frame f;
    char buf[128], name[64], type[64];
    cr_assert(tg_symbols_frame(s, 0, fixture_addr(&fix, "known"), &f));
    cr_assert_str_eq(f.function, "known_function");
    cr_assert_null(f.file);
    cr_assert_eq(f.line, 0);
    cr_assert(f.has_fn_offset);
    cr_assert_gt(f.fn_offset, 0);
    char want[128];
    snprintf(want, sizeof want, "known_function+0x%lx (symtarget-nodebug)",
             (unsigned long)f.fn_offset);
    cr_assert_str_eq(tg_symbols_format_frame(&f, buf, sizeof buf), want);

    /* The symbol table still names globals, without types or paths. */
    cr_assert(tg_symbols_data(s, 0, fixture_addr(&fix, "mutexA"), name, sizeof name, type,
                              sizeof type));
    cr_assert_str_eq(name, "mutexA");
    cr_assert_str_eq(type, "");
    cr_assert(tg_symbols_data(s, 0, fixture_addr(&fix, "fork_3"), name, sizeof name, NULL, 0));
    cr_assert_str_eq(name, "fork_+0x78");
    cr_assert(tg_symbols_data(s, 0, fixture_addr(&fix, "counter"), name, sizeof name, NULL, 0));
    cr_assert_str_eq(name, "counter");
    cr_assert(tg_symbols_data(s, 0, fixture_addr(&fix, "bump_calls"), name, sizeof name, NULL, 0));
    cr_assert(strstr(name, "calls"), "%s", name);   /* gcc: calls.0, clang: bump.calls */
    cr_assert_not(tg_symbols_data(s, 0, fixture_addr(&fix, "heap"), name, sizeof name, NULL, 0));
    tg_symbols_free(s);
}

Test(symbols_robust, fully_stripped)
{
    fixture_run(&fix, SYMTARGET);
    struct tg_symbols *s = fixture_symbols(&fix, "/symtarget", SYMTARGET_STRIPPED);
    struct tg_frame f;
    char buf[128], name[64];
    cr_assert(tg_symbols_frame(s, 0, fixture_addr(&fix, "known"), &f));
    cr_assert(f.function == NULL || strcmp(f.function, "known_function") != 0);
    tg_symbols_format_frame(&f, buf, sizeof buf);
    cr_assert(strstr(buf, "symtarget-stripped"), "%s", buf);
    cr_assert_not(tg_symbols_data(s, 0, fixture_addr(&fix, "mutexA"), name, sizeof name, NULL, 0),
                  "named %s", name);
    /* Libraries still have their names. */
    cr_assert(tg_symbols_frame(s, 0, fixture_addr(&fix, "lib"), &f));
    cr_assert_str_eq(f.function, "symlib_call");
    tg_symbols_free(s);
}

/* A source whose module map grows, like a live trace's. */
struct growing {
    struct fixture *fix;
    int calls;
    int shown;
};

static size_t growing_modules(void *ctx, uint32_t process, const struct tg_module_info **mods)
{
    struct growing *g = ctx;
    (void)process;
    g->calls++;
    *mods = g->fix->mods;
    return (size_t)g->shown;
}

Test(symbols_robust, module_map_refreshed_on_miss)
{
    fixture_run(&fix, SYMTARGET);
    int main_index = fixture_module(&fix, "/symtarget");
    cr_assert_geq(main_index, 0);
    struct growing g = { .fix = &fix, .shown = main_index };   /* main program not yet */
    struct tg_symbols_source src = { .ctx = &g, .modules = growing_modules };
    struct tg_symbols *s = tg_symbols_new_source(&src);
    struct tg_frame f;
    cr_assert_not(tg_symbols_frame(s, 0, fixture_addr(&fix, "known"), &f));
    g.shown = fix.nmods;
    int before = g.calls;
    cr_assert(tg_symbols_frame(s, 0, fixture_addr(&fix, "known"), &f));
    cr_assert_str_eq(f.function, "known_function");
    cr_assert_gt(g.calls, before);
    /* Found addresses do not ask the source again. */
    before = g.calls;
    cr_assert(tg_symbols_frame(s, 0, fixture_addr(&fix, "dup_one"), &f));
    cr_assert_eq(g.calls, before);
    tg_symbols_free(s);
}

Test(symbols_robust, processes_have_their_own_maps)
{
    fixture_run(&fix, SYMTARGET);
    struct tg_module_info mods[FIX_MAX];
    int n = fix.nmods;
    memcpy(mods, fix.mods, (size_t)n * sizeof *mods);
    /* Process 3 maps the program at another base. */
    int m = fixture_module(&fix, "/symtarget");
    mods[n] = mods[m];
    mods[n].process = 3;
    mods[n].base += 0x100000000;
    mods[n].lo += 0x100000000;
    mods[n].hi += 0x100000000;
    struct tg_symbols *s = tg_symbols_new_modules(mods, (size_t)n + 1);
    struct tg_frame a, b;
    cr_assert(tg_symbols_frame(s, 0, fixture_addr(&fix, "known"), &a));
    cr_assert(tg_symbols_frame(s, 3, fixture_addr(&fix, "known") + 0x100000000, &b));
    cr_assert_str_eq(b.function, "known_function");
    cr_assert_eq(a.line, b.line);
    cr_assert_eq(a.function, b.function);       /* one parse of the file, shared */
    cr_assert_not(tg_symbols_frame(s, 3, fixture_addr(&fix, "known"), &b));
    tg_symbols_free(s);
}

/* A fork child (process 5) that dlopened b.so where its parent (2) had
 * a.so, then c.so after dlclose of b.so: the nearest process and the newest
 * record win. */
static size_t forked_modules(void *ctx, uint32_t process, const struct tg_module_info **mods)
{
    static const struct tg_module_info view[] = {
        { .process = 5, .base = 0x1000000, .lo = 0x1000000, .hi = 0x1100000, .path = "/nonexistent/b.so" },
        { .process = 5, .base = 0x1000000, .lo = 0x1000000, .hi = 0x1080000, .path = "/nonexistent/c.so" },
        { .process = 2, .base = 0x1000000, .lo = 0x1000000, .hi = 0x1200000, .path = "/nonexistent/a.so" },
        { .process = 2, .base = 0x3000000, .lo = 0x3000000, .hi = 0x3100000, .path = "/nonexistent/d.so" },
        { .process = 1, .base = 0x3000000, .lo = 0x3000000, .hi = 0x3100000, .path = "/nonexistent/e.so" },
    };
    (void)ctx;
    *mods = view;
    return process == 5 ? 5 : 0;
}

Test(symbols_robust, nearest_process_and_newest_module_win)
{
    struct tg_symbols_source src = { .modules = forked_modules };
    struct tg_symbols *s = tg_symbols_new_source(&src);
    struct tg_frame f;
    cr_assert(tg_symbols_frame(s, 5, 0x1000100, &f));
    cr_assert_str_eq(f.module, "/nonexistent/c.so");
    cr_assert(tg_symbols_frame(s, 5, 0x1090000, &f));
    cr_assert_str_eq(f.module, "/nonexistent/b.so");
    cr_assert(tg_symbols_frame(s, 5, 0x1150000, &f));
    cr_assert_str_eq(f.module, "/nonexistent/a.so");
    cr_assert(tg_symbols_frame(s, 5, 0x3000100, &f));
    cr_assert_str_eq(f.module, "/nonexistent/d.so");
    tg_symbols_free(s);
}
