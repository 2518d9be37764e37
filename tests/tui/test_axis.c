/* tests/tui: the time axis (zoom, pan, cursor), time formatting, search. */
#include <criterion/criterion.h>
#include <string.h>

#include "tui/axis.h"
#include "tui/search.h"
#include "tui/tui.h"

Test(axis, one_two_five)
{
    cr_expect_eq(tg_axis_nice_up(0), 1);
    cr_expect_eq(tg_axis_nice_up(3), 5);
    cr_expect_eq(tg_axis_nice_up(5), 5);
    cr_expect_eq(tg_axis_nice_up(6), 10);
    cr_expect_eq(tg_axis_nice_up(101), 200);
    cr_expect_eq(tg_axis_nice_down(101), 100);
    cr_expect_eq(tg_axis_nice_down(9), 5);
    cr_expect_eq(tg_axis_nice_down(20), 20);
    cr_expect_eq(tg_axis_nice_down(1), 1);
}

Test(axis, fit_shows_the_whole_trace)
{
    struct tg_axis ax = { .width = 80 };
    tg_axis_fit(&ax, 1234, 3000000000ull);
    cr_expect_eq(tg_axis_col(&ax, 1234), 0);
    cr_expect_geq(tg_axis_col(&ax, 3000000000ull), 0, "the end is on screen");
    cr_expect_eq(ax.t0 % ax.step, 0, "the left edge is a round time");
    cr_expect_eq(ax.step, 50000000ull, "3 s in 78 columns: 50 ms a column");
}

Test(axis, zoom_keeps_the_cursor_column)
{
    struct tg_axis ax = { .width = 100 };
    tg_axis_fit(&ax, 0, 1000000);
    ax.cursor = 423000;
    int col = tg_axis_col(&ax, ax.cursor);
    cr_expect_eq(ax.step, 20000);
    tg_axis_zoom(&ax, +1);
    cr_expect_eq(ax.step, 10000);
    cr_expect_eq(tg_axis_col(&ax, ax.cursor), col);
    tg_axis_zoom(&ax, +1);
    tg_axis_zoom(&ax, -1);
    tg_axis_zoom(&ax, -1);
    cr_expect_eq(ax.step, 20000);
    cr_expect_eq(tg_axis_col(&ax, ax.cursor), col);
}

Test(axis, the_wheel_zooms_around_the_pointer)
{
    struct tg_axis ax = { .width = 100 };
    tg_axis_fit(&ax, 0, 1000000);
    ax.cursor = 100000;                 /* column 5: the cursor is not where the pointer is */
    for (int i = 0; i < 3; i++) {
        uint64_t under = tg_axis_time(&ax, 70) + ax.step / 2;
        tg_axis_zoom_at(&ax, +1, 70);
        cr_expect_eq(tg_axis_col(&ax, under), 70, "zoom in %d: the time under the pointer moved", i);
    }
    cr_expect_eq(ax.step, 2000);
    cr_expect_eq(ax.cursor, 100000, "the cursor stays where it was (off screen now)");
    cr_expect_eq(tg_axis_col(&ax, ax.cursor), -1);
    for (int i = 0; i < 3; i++) {
        uint64_t under = tg_axis_time(&ax, 70) + ax.step / 2;
        tg_axis_zoom_at(&ax, -1, 70);
        cr_expect_eq(tg_axis_col(&ax, under), 70, "zoom out %d: the time under the pointer moved", i);
    }
    cr_expect_eq(ax.step, 20000);
    cr_expect_eq(ax.t0 % ax.step, 0, "the left edge stays a round time");
    /* zooming out near the start stops at 0 rather than wrapping */
    tg_axis_zoom_at(&ax, -1, 99);
    tg_axis_zoom_at(&ax, -1, 99);
    cr_expect_eq(ax.t0, 0);
}

Test(axis, the_view_follows_the_cursor)
{
    struct tg_axis ax = { .width = 10, .step = 10 };
    tg_axis_move(&ax, 9, 1000);
    cr_expect_eq(ax.cursor, 90);
    cr_expect_eq(ax.t0, 0);
    tg_axis_move(&ax, 1, 1000);
    cr_expect_eq(ax.cursor, 100);
    cr_expect_eq(tg_axis_col(&ax, 100), 9, "scrolled by one column");
    tg_axis_move(&ax, -50, 1000);
    cr_expect_eq(ax.cursor, 0);
    cr_expect_eq(ax.t0, 0);
    tg_axis_move(&ax, 500, 1000);
    cr_expect_eq(ax.cursor, 1000, "not past the end");
}

Test(axis, pan_moves_view_and_cursor)
{
    struct tg_axis ax = { .width = 10, .step = 10, .cursor = 30 };
    tg_axis_pan(&ax, 5, 10000);
    cr_expect_eq(ax.t0, 50);
    cr_expect_eq(ax.cursor, 80);
    tg_axis_pan(&ax, -100, 10000);
    cr_expect_eq(ax.t0, 0);
    tg_axis_pan(&ax, 10000, 300);
    cr_expect_leq(ax.t0, 300, "the end stays on screen");
    cr_expect_geq(tg_axis_col(&ax, 300), 0);
}

Test(axis, goto_recentres_only_when_off_screen)
{
    struct tg_axis ax = { .width = 10, .step = 10 };
    tg_axis_goto(&ax, 50);
    cr_expect_eq(ax.t0, 0);
    tg_axis_goto(&ax, 5000);
    cr_expect_eq(tg_axis_col(&ax, 5000), 5);
}

Test(axis, ruler_ticks_are_round_multiples)
{
    struct tg_axis ax = { .width = 80, .step = 20 };
    uint64_t tick = tg_axis_tick(&ax, 8);
    cr_expect_eq(tick, 200);
    ax.step = 5000;
    cr_expect_eq(tg_axis_tick(&ax, 8) % ax.step, 0);
}

Test(format, units_follow_the_step)
{
    char b[32];
    cr_expect_str_eq(tg_tui_format_time(1250000000, 50000000, true, b, sizeof b), "1.25s");
    cr_expect_str_eq(tg_tui_format_time(1000000000, 50000000, true, b, sizeof b), "1s");
    cr_expect_str_eq(tg_tui_format_time(0, 50000000, true, b, sizeof b), "0ms");
    cr_expect_str_eq(tg_tui_format_time(450000000, 50000000, true, b, sizeof b), "450ms");
    cr_expect_str_eq(tg_tui_format_time(12500, 500, true, b, sizeof b), "12.5µs");
    cr_expect_str_eq(tg_tui_format_time(12500, 500, false, b, sizeof b), "12.5us");
    cr_expect_str_eq(tg_tui_format_time(42, 1, true, b, sizeof b), "42ns");
    cr_expect_str_eq(tg_tui_format_time(1999999999, 10000000, true, b, sizeof b), "2s");
}

static const char *const names[] = { "main", "Thread-1", NULL, "mutexA", "Thread-10" };

static const char *name_of(size_t i, void *ctx)
{
    (void)ctx;
    return names[i];
}

Test(search, next_match_wraps_and_ignores_case)
{
    cr_expect_eq(tg_search_next(5, 0, "thread", name_of, NULL), 1);
    cr_expect_eq(tg_search_next(5, 1, "thread", name_of, NULL), 4);
    cr_expect_eq(tg_search_next(5, 4, "thread", name_of, NULL), 1, "wraps");
    cr_expect_eq(tg_search_next(5, 0, "MUTEX", name_of, NULL), 3);
    cr_expect_eq(tg_search_next(5, 0, "nothing", name_of, NULL), (size_t)-1);
    cr_expect_eq(tg_search_next(5, 3, "mutexa", name_of, NULL), 3, "itself, last");
}
