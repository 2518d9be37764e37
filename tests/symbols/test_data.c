/* Data addresses to variable names and types. */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"

static struct fixture fix;
static struct tg_symbols *syms;

static void expect(const char *key, const char *name, const char *type)
{
    char n[128], t[128];
    cr_assert(tg_symbols_data(syms, 0, fixture_addr(&fix, key), n, sizeof n, t, sizeof t),
              "%s: no name", key);
    cr_assert_str_eq(n, name, "%s", key);
    cr_assert_str_eq(t, type, "%s: type", key);
}

static void expect_none(const char *key)
{
    char n[128] = "x", t[128] = "x";
    cr_assert_not(tg_symbols_data(syms, 0, fixture_addr(&fix, key), n, sizeof n, t, sizeof t),
                  "%s named %s", key, n);
    cr_assert_str_eq(n, "");
    cr_assert_str_eq(t, "");
}

static void check_data(const char *program)
{
    fixture_run(&fix, program);
    syms = fixture_symbols(&fix, NULL, NULL);
    expect("mutexA", "mutexA", "pthread_mutex_t");
    expect("mutexA_inside", "mutexA+0x8", "pthread_mutex_t");
    expect("fork_3", "fork_[3]", "pthread_mutex_t");
    expect("fork_0", "fork_[0]", "pthread_mutex_t");
    expect("pool_lock", "pool.lock", "pthread_mutex_t");
    expect("pool_count", "pool.count", "int");
    expect("pool_padding", "pool+0x4", "struct pool");
    expect("phil_2_left", "philosophers[2].left", "pthread_mutex_t");
    expect("phil_4_right", "philosophers[4].right", "pthread_mutex_t");
    expect("counter", "counter", "int");
    expect("counter_2", "counter+0x2", "int");
    expect("grid_1_2", "grid[1][2]", "int");
    expect("head_ptr", "head_ptr", "struct node *");
    expect("tagged_f", "tagged.i", "int");     /* an anonymous union's first member */
    expect("bump_calls", "bump::calls", "int");
    expect("lib_lock", "lib_lock", "pthread_mutex_t");
    expect_none("tls_var");
    expect_none("stack");
    expect_none("heap");
    expect_none("known_function");          /* code is not a variable */
    tg_symbols_free(syms);
}

Test(symbols_data, pie_program)
{
    check_data(SYMTARGET);
}

Test(symbols_data, program_without_pie)
{
    check_data(SYMTARGET_NOPIE);
}

#ifdef SYMTARGET_CLANG
Test(symbols_data, clang_dwarf5_addrx)
{
    check_data(SYMTARGET_CLANG);
}
#endif

Test(symbols_data, buffers_truncate_and_type_is_optional)
{
    fixture_run(&fix, SYMTARGET);
    syms = fixture_symbols(&fix, NULL, NULL);
    char n[8];
    cr_assert(tg_symbols_data(syms, 0, fixture_addr(&fix, "phil_2_left"), n, sizeof n, NULL, 0));
    cr_assert_str_eq(n, "philoso");
    cr_assert(tg_symbols_data(syms, 0, fixture_addr(&fix, "mutexA"), n, sizeof n, NULL, 0));
    cr_assert_str_eq(n, "mutexA");
    tg_symbols_free(syms);
}
