/* Return addresses and code addresses to function, file and line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

static struct fixture fix;

static void frame_of(struct tg_symbols *s, const char *key, struct tg_frame *f)
{
    cr_assert(tg_symbols_frame(s, 0, fixture_addr(&fix, key), f), "%s not in any module", key);
    cr_assert_eq(f->pc, fixture_addr(&fix, key));
}

static void check_frames(const char *program, const char *module)
{
    fixture_run(&fix, program);
    struct tg_symbols *s = fixture_symbols(&fix, NULL, NULL);
    struct tg_frame f;
    char buf[256], want[256];

    frame_of(s, "known", &f);
    cr_assert_str_eq(f.function, "known_function");
    cr_assert_str_eq(f.file, "target.c");
    cr_assert_eq(f.line, fixture_line(&fix, "known"));
    cr_assert_null(f.inlined_into);
    cr_assert(strstr(f.module, module), "module %s", f.module);
    cr_assert_eq(f.offset, f.pc - fix.mods[fixture_module(&fix, module)].base);
    snprintf(want, sizeof want, "known_function target.c:%d", fixture_line(&fix, "known"));
    cr_assert_str_eq(tg_symbols_format_frame(&f, buf, sizeof buf), want);

    /* Two files called dup.c: the names keep the directory that tells them apart. */
    frame_of(s, "dup_one", &f);
    cr_assert_str_eq(f.function, "dup_one");
    cr_assert_str_eq(f.file, "one/dup.c");
    cr_assert_eq(f.line, fixture_line(&fix, "dup_one"));
    frame_of(s, "dup_two", &f);
    cr_assert_str_eq(f.file, "two/dup.c");

    /* A shared library with its own load bias. */
    frame_of(s, "lib", &f);
    cr_assert_str_eq(f.function, "symlib_call");
    cr_assert_str_eq(f.file, "symlib.c");
    cr_assert_eq(f.line, fixture_line(&fix, "lib"));
    cr_assert(strstr(f.module, "libsymlib.so"));

    /* libc: named by its debug info if installed, else its symbol table. */
    frame_of(s, "libc", &f);
    cr_assert(strstr(f.module, "libc.so"), "module %s", f.module);
    cr_assert_not_null(f.function);
    tg_symbols_format_frame(&f, buf, sizeof buf);
    cr_assert(strncmp(buf, f.function, strlen(f.function)) == 0, "%s", buf);

    /* A function's own address (not a return address) is the function. */
    cr_assert(tg_symbols_pc(s, 0, fixture_addr(&fix, "known_function"), &f));
    cr_assert_str_eq(f.function, "known_function");
    cr_assert(f.has_fn_offset);
    cr_assert_eq(f.fn_offset, 0);
    cr_assert_str_eq(f.file, "target.c");
    cr_assert_gt(f.line, 0);
    tg_symbols_free(s);
}

Test(symbols_code, pie_program)
{
    check_frames(SYMTARGET, "/symtarget");
}

Test(symbols_code, program_without_pie)
{
    check_frames(SYMTARGET_NOPIE, "/symtarget-nopie");
    cr_assert_eq(fix.mods[fixture_module(&fix, "/symtarget-nopie")].base, 0);
}

#ifdef SYMTARGET_CLANG
Test(symbols_code, clang_dwarf5)
{
    check_frames(SYMTARGET_CLANG, "/symtarget-clang");
}
#endif

Test(symbols_code, inlined_function_names_both)
{
    fixture_run(&fix, SYMTARGET);
    struct tg_symbols *s = fixture_symbols(&fix, NULL, NULL);
    struct tg_frame f;
    frame_of(s, "inlined", &f);
    cr_assert_str_eq(f.function, "inlined_helper");
    cr_assert_str_eq(f.file, "target.c");
    cr_assert_eq(f.line, fixture_line(&fix, "inlined"));
    cr_assert_str_eq(f.inlined_into, "known_function");
    cr_assert_str_eq(f.call_file, "target.c");
    cr_assert_eq(f.call_line, fixture_line(&fix, "inline_call"));
    cr_assert_not(f.has_fn_offset);
    char buf[256], want[256];
    snprintf(want, sizeof want, "inlined_helper target.c:%d (inlined into known_function target.c:%d)",
             fixture_line(&fix, "inlined"), fixture_line(&fix, "inline_call"));
    cr_assert_str_eq(tg_symbols_format_frame(&f, buf, sizeof buf), want);

    /* Expanded, as TSan and gdb show it: one frame per level. */
    struct tg_frame fr[4];
    size_t n = tg_symbols_frames(s, 0, fixture_addr(&fix, "inlined"), fr, 4);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(fr[0].function, "inlined_helper");
    cr_assert_eq(fr[0].line, fixture_line(&fix, "inlined"));
    cr_assert_str_eq(fr[1].function, "known_function");
    cr_assert_str_eq(fr[1].file, "target.c");
    cr_assert_eq(fr[1].line, fixture_line(&fix, "inline_call"));
    cr_assert_null(fr[1].inlined_into);
    cr_assert(fr[1].has_fn_offset);
    cr_assert_eq(fr[0].pc, fr[1].pc);

    /* MAX smaller than the depth: the count is still the depth. */
    cr_assert_eq(tg_symbols_frames(s, 0, fixture_addr(&fix, "inlined"), fr, 1), 2);
    cr_assert_str_eq(fr[0].function, "inlined_helper");

    /* Not inlined: one frame, the same as tg_symbols_frame. */
    cr_assert_eq(tg_symbols_frames(s, 0, fixture_addr(&fix, "known"), fr, 4), 1);
    cr_assert_str_eq(fr[0].function, "known_function");
    cr_assert_eq(tg_symbols_frames(s, 0, 0x10, fr, 4), 0);
    tg_symbols_free(s);
}

Test(symbols_code, repeated_lookups_are_cached)
{
    fixture_run(&fix, SYMTARGET);
    struct tg_symbols *s = fixture_symbols(&fix, NULL, NULL);
    struct tg_frame a, b;
    frame_of(s, "known", &a);
    frame_of(s, "known", &b);
    /* The cache hands back the same strings, not new copies. */
    cr_assert_eq(a.function, b.function);
    cr_assert_eq(a.file, b.file);
    cr_assert_eq(a.module, b.module);
    tg_symbols_free(s);
}
