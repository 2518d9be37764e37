/* Object names for reports, and frame formatting. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <inttypes.h>
#include <string.h>

#include "fixture.h"

static struct fixture fix;

/* A source with stacks: stack 1 = { "known" }, stack 2 = { unknown, "known" },
 * stack 3 = { unknown address }. */
struct stacks {
    struct fixture *fix;
    uint64_t s1[1], s2[2], s3[1];
};

static size_t fix_modules(void *ctx, uint32_t process, const struct tg_module_info **mods)
{
    struct stacks *st = ctx;
    *mods = st->fix->mods;
    return process == 0 ? (size_t)st->fix->nmods : 0;
}

static bool fix_stack(void *ctx, uint32_t id, const uint64_t **frames, uint32_t *n)
{
    struct stacks *st = ctx;
    switch (id) {
    case 1: *frames = st->s1; *n = 1; return true;
    case 2: *frames = st->s2; *n = 2; return true;
    case 3: *frames = st->s3; *n = 1; return true;
    default: return false;
    }
}

static struct tg_symbols *with_stacks(struct stacks *st)
{
    fixture_run(&fix, SYMTARGET);
    *st = (struct stacks){ .fix = &fix };
    uint64_t known = fixture_addr(&fix, "known");
    st->s1[0] = known;
    st->s2[0] = 0x10;
    st->s2[1] = known;
    st->s3[0] = 0x10;
    struct tg_symbols_source src = { .ctx = st, .modules = fix_modules, .stack = fix_stack };
    struct tg_symbols *s = tg_symbols_new_source(&src);
    cr_assert(s);
    return s;
}

Test(symbols_names, global_objects_by_name)
{
    struct stacks st;
    struct tg_symbols *s = with_stacks(&st);
    char buf[128];
    cr_assert_str_eq(tg_symbols_object_name(s, 0, fixture_addr(&fix, "mutexA"), "mutex", 1, false,
                                            buf, sizeof buf), "mutexA");
    cr_assert_str_eq(tg_symbols_object_name(s, 0, fixture_addr(&fix, "fork_3"), "mutex", 0, false,
                                            buf, sizeof buf), "fork_[3]");
    tg_symbols_free(s);
}

Test(symbols_names, heap_objects_by_site)
{
    struct stacks st;
    struct tg_symbols *s = with_stacks(&st);
    char buf[256], want[256];
    uint64_t heap = fixture_addr(&fix, "heap");
    int line = fixture_line(&fix, "known");

    snprintf(want, sizeof want, "mutex initialised at known_function target.c:%d", line);
    cr_assert_str_eq(tg_symbols_object_name(s, 0, heap, "mutex", 1, false, buf, sizeof buf), want);
    snprintf(want, sizeof want, "mutex first locked at known_function target.c:%d", line);
    cr_assert_str_eq(tg_symbols_object_name(s, 0, heap, "mutex", 1, true, buf, sizeof buf), want);
    snprintf(want, sizeof want, "rwlock first locked at known_function target.c:%d", line);
    cr_assert_str_eq(tg_symbols_object_name(s, 0, heap, "rwlock", 1, true, buf, sizeof buf), want);
    snprintf(want, sizeof want, "condition variable first used at known_function target.c:%d", line);
    cr_assert_str_eq(tg_symbols_object_name(s, 0, heap, "condition variable", 1, true, buf,
                                            sizeof buf), want);
    /* The site is the first frame with a source line, past unknown ones. */
    snprintf(want, sizeof want, "mutex initialised at known_function target.c:%d", line);
    cr_assert_str_eq(tg_symbols_object_name(s, 0, heap, "mutex", 2, false, buf, sizeof buf), want);
    /* A stack of unknown frames still says where, by address. */
    cr_assert_str_eq(tg_symbols_object_name(s, 0, heap, "mutex", 3, false, buf, sizeof buf),
                     "mutex initialised at 0x10");
    /* No stack, or one the source does not have: by address. */
    snprintf(want, sizeof want, "mutex 0x%" PRIx64, heap);
    cr_assert_str_eq(tg_symbols_object_name(s, 0, heap, "mutex", 0, false, buf, sizeof buf), want);
    cr_assert_str_eq(tg_symbols_object_name(s, 0, heap, "mutex", 99, false, buf, sizeof buf), want);
    /* Truncation keeps a terminated string. */
    char small[6];
    cr_assert_str_eq(tg_symbols_object_name(s, 0, heap, "mutex", 1, false, small, sizeof small),
                     "mutex");
    tg_symbols_free(s);
}

Test(symbols_names, without_stacks_names_by_address)
{
    fixture_run(&fix, SYMTARGET);
    struct tg_symbols *s = fixture_symbols(&fix, NULL, NULL);
    char buf[128], want[128];
    uint64_t heap = fixture_addr(&fix, "heap");
    snprintf(want, sizeof want, "semaphore 0x%" PRIx64, heap);
    cr_assert_str_eq(tg_symbols_object_name(s, 0, heap, "semaphore", 1, false, buf, sizeof buf),
                     want);
    tg_symbols_free(s);
}

Test(symbols_names, format_each_shape)
{
    char buf[128];
    struct tg_frame f = { .pc = 0x7f0000001c40, .function = "worker", .file = "abba.c",
                          .line = 23, .module = "/usr/lib/libfoo.so", .offset = 0x1c40,
                          .has_fn_offset = true, .fn_offset = 0x1c };
    cr_assert_str_eq(tg_symbols_format_frame(&f, buf, sizeof buf), "worker abba.c:23");
    f.file = NULL;
    cr_assert_str_eq(tg_symbols_format_frame(&f, buf, sizeof buf), "worker+0x1c (libfoo.so)");
    f.has_fn_offset = false;
    cr_assert_str_eq(tg_symbols_format_frame(&f, buf, sizeof buf), "worker (libfoo.so)");
    f.function = NULL;
    cr_assert_str_eq(tg_symbols_format_frame(&f, buf, sizeof buf),
                     "0x7f0000001c40 (libfoo.so+0x1c40)");
    f.module = NULL;
    cr_assert_str_eq(tg_symbols_format_frame(&f, buf, sizeof buf), "0x7f0000001c40");
    struct tg_frame g = { .pc = 1, .function = "helper", .file = "h.c", .line = 2,
                          .inlined_into = "main", .call_file = "m.c", .call_line = 9 };
    cr_assert_str_eq(tg_symbols_format_frame(&g, buf, sizeof buf),
                     "helper h.c:2 (inlined into main m.c:9)");
    char small[10];
    cr_assert_str_eq(tg_symbols_format_frame(&g, small, sizeof small), "helper h.");
    cr_assert_str_eq(tg_symbols_format_frame(&g, small, 0), small);
}
