/* tests/tui: cells at a zoom level — dominant state, marks, the ends, and
 * the block prefix sums against a plain sum. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "events.h"

#define A 0xa000
#define B 0xb000

static struct tg_tui_model *m;

static void setup(void) { m = tg_tui_model_new(); cr_assert_not_null(m); }
static void teardown(void) { tg_tui_model_free(m); }

TestSuite(bin, .init = setup, .fini = teardown);

/* Thread 1: running [0,100), holding A [100,130), waiting for B [130,1000). */
static void run_hold_wait(void)
{
    start(m, 0, 1);
    ev(m, 100, 1, TG_EV_MUTEX_ACQ, A);
    ev(m, 130, 1, TG_EV_MUTEX_REQ, B);
    tg_tui_model_set_now(m, 1000);
}

Test(bin, exact_at_a_fine_zoom)
{
    run_hold_wait();
    struct tg_tui_cell c[100];
    tg_tui_model_bin_thread(m, 0, 0, 10, c, 100);
    for (int i = 0; i < 10; i++)
        cr_expect_eq(c[i].state, TG_TUI_ST_RUN, "cell %d", i);
    for (int i = 10; i < 13; i++) {
        cr_expect_eq(c[i].state, TG_TUI_ST_HOLD, "cell %d", i);
        cr_expect_eq(tg_tui_model_object(m, c[i].obj)->addr, A);
    }
    for (int i = 13; i < 100; i++) {
        cr_expect_eq(c[i].state, TG_TUI_ST_WAIT_LOCK, "cell %d", i);
        cr_expect_eq(tg_tui_model_object(m, c[i].obj)->addr, B);
    }
}

Test(bin, the_state_covering_most_of_a_slice_wins)
{
    run_hold_wait();
    struct tg_tui_cell c[10];
    tg_tui_model_bin_thread(m, 0, 0, 100, c, 10);
    cr_expect_eq(c[0].state, TG_TUI_ST_RUN);
    cr_expect_eq(c[1].state, TG_TUI_ST_WAIT_LOCK, "30 holding < 70 waiting");
    tg_tui_model_bin_thread(m, 0, 0, 1000, c, 1);
    cr_expect_eq(c[0].state, TG_TUI_ST_WAIT_LOCK);
    tg_tui_model_bin_thread(m, 0, 90, 50, c, 1);
    cr_expect_eq(c[0].state, TG_TUI_ST_HOLD, "10 running, 30 holding, 10 waiting");
}

Test(bin, ties_go_to_the_more_telling_state)
{
    start(m, 0, 1);
    ev(m, 50, 1, TG_EV_MUTEX_REQ, A);
    tg_tui_model_set_now(m, 100);
    struct tg_tui_cell c;
    tg_tui_model_bin_thread(m, 0, 0, 100, &c, 1);
    cr_expect_eq(c.state, TG_TUI_ST_WAIT_LOCK);
}

Test(bin, before_the_start_and_after_the_end_are_empty)
{
    start(m, 100, 1);
    ev(m, 150, 1, TG_EV_THREAD_EXIT, 0);
    tg_tui_model_set_now(m, 200);
    struct tg_tui_cell c[5];
    tg_tui_model_bin_thread(m, 0, 0, 50, c, 5);
    cr_expect_eq(c[0].state, TG_TUI_ST_NONE);
    cr_expect_eq(c[1].state, TG_TUI_ST_NONE);
    cr_expect_eq(c[2].state, TG_TUI_ST_RUN);
    cr_expect_eq(c[3].state, TG_TUI_ST_EXITED);
    cr_expect_eq(c[4].state, TG_TUI_ST_NONE, "beyond the end of the trace");
}

Test(bin, the_last_cell_of_a_trace_shows_its_state)
{
    start(m, 0, 1);
    ev(m, 10, 1, TG_EV_MUTEX_REQ, A);
    tg_tui_model_set_now(m, 95);
    struct tg_tui_cell c[2];
    tg_tui_model_bin_thread(m, 0, 0, 50, c, 2);
    cr_expect_eq(c[1].state, TG_TUI_ST_WAIT_LOCK, "the part after the end does not count");
}

Test(bin, short_failures_and_findings_stay_visible_zoomed_out)
{
    start(m, 0, 1);
    start(m, 0, 2);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev_res(m, 5000, 2, TG_EV_MUTEX_TRY, A, TG_BUSY);
    ev(m, 900000, 1, TG_EV_MUTEX_REL, A);
    tg_tui_model_set_now(m, 1000000);
    struct tg_tui_cell c[10];
    tg_tui_model_bin_thread(m, 1, 0, 100000, c, 10);
    cr_expect_eq(c[0].mark, TG_TUI_MARK_FAIL);
    cr_expect_eq(c[0].state, TG_TUI_ST_RUN);
    for (int i = 1; i < 10; i++)
        cr_expect_eq(c[i].mark, TG_TUI_MARK_NONE);
    tg_tui_model_bin_thread(m, 1, 0, 1000000, c, 1);
    cr_expect_eq(c[0].mark, TG_TUI_MARK_FAIL, "one cell for the whole trace");
}

Test(bin, lock_lanes_count_waiters)
{
    for (uint32_t t = 1; t <= 4; t++)
        start(m, 0, t);
    ev(m, 10, 1, TG_EV_MUTEX_ACQ, A);
    ev(m, 20, 2, TG_EV_MUTEX_REQ, A);
    ev(m, 30, 3, TG_EV_MUTEX_REQ, A);
    ev(m, 40, 4, TG_EV_MUTEX_REQ, A);
    ev(m, 100, 1, TG_EV_MUTEX_REL, A);
    ev(m, 101, 2, TG_EV_MUTEX_ACQ, A);
    tg_tui_model_set_now(m, 200);
    struct tg_tui_cell c[20];
    tg_tui_model_bin_lock(m, 0, 0, 10, c, 20);
    cr_expect_eq(c[0].state, TG_TUI_LK_NONE);
    cr_expect_eq(c[1].state, TG_TUI_LK_HELD);
    cr_expect_eq(c[1].obj, tg_tui_model_thread_lane(m, 1));
    cr_expect_eq(c[2].state, TG_TUI_LK_CONTENDED);
    cr_expect_eq(c[2].count, 1);
    cr_expect_eq(c[5].count, 3);
    cr_expect_eq(c[12].obj, tg_tui_model_thread_lane(m, 2));
    cr_expect_eq(c[12].count, 2);
}

/* A long lane with random states: the prefix sums must match a plain sum
 * over the segments for any window. */
Test(bin, prefix_sums_match_a_plain_sum)
{
    srand(42);
    start(m, 0, 1);
    uint64_t ts = 0;
    bool held = false, waiting = false;
    for (int i = 0; i < 20000; i++) {
        ts += 1 + (uint64_t)(rand() % 50);
        if (waiting) {
            ev(m, ts, 1, TG_EV_MUTEX_ACQ, A);
            waiting = false;
            held = true;
        } else if (held) {
            ev(m, ts, 1, TG_EV_MUTEX_REL, A);
            held = false;
        } else if (rand() % 2) {
            ev(m, ts, 1, TG_EV_MUTEX_REQ, A);
            waiting = true;
        } else {
            ev(m, ts, 1, TG_EV_SLEEP_BEGIN, 0);
            ts += (uint64_t)(rand() % 30);
            ev(m, ts, 1, TG_EV_SLEEP_END, 0);
        }
    }
    uint64_t end = ts + 100;
    tg_tui_model_set_now(m, end);
    size_t n = tg_tui_model_thread(m, 0)->nsegs;
    for (int k = 0; k < 200; k++) {
        uint64_t a = (uint64_t)rand() % end, b = a + (uint64_t)rand() % (end - a) + 1;
        uint64_t got[TG_TUI_ST_COUNT], want[TG_TUI_ST_COUNT] = { 0 };
        tg_tui_model_thread_time(m, 0, a, b, got);
        for (size_t i = 0; i < n; i++) {
            struct tg_tui_seg s;
            tg_tui_model_seg(m, 0, i, &s);
            uint64_t lo = s.ts, hi = tg_tui_model_seg_end(m, 0, i);
            lo = lo < a ? a : lo;
            hi = hi > b ? b : hi;
            if (hi > lo)
                want[s.state] += hi - lo;
        }
        for (int st = 1; st < TG_TUI_ST_COUNT; st++)
            cr_assert_eq(got[st], want[st], "window %d [%lu,%lu) state %d", k,
                         (unsigned long)a, (unsigned long)b, st);
    }
}

Test(bin, several_zooms_of_one_lane_agree)
{
    /* a thread that holds A 3/4 of every 400 ns */
    start(m, 0, 1);
    for (uint64_t t = 0; t < 400000; t += 400) {
        ev(m, t + 50, 1, TG_EV_MUTEX_ACQ, A);
        ev(m, t + 350, 1, TG_EV_MUTEX_REL, A);
    }
    tg_tui_model_set_now(m, 400000);
    struct tg_tui_cell c[100];
    static const uint64_t steps[] = { 4000, 2000, 1000, 400 };
    for (size_t k = 0; k < 4; k++) {
        tg_tui_model_bin_thread(m, 0, 0, steps[k], c, 100);
        for (int i = 0; i < 100; i++)
            cr_expect_eq(c[i].state, TG_TUI_ST_HOLD, "step %lu cell %d",
                         (unsigned long)steps[k], i);
    }
    tg_tui_model_bin_thread(m, 0, 0, 50, c, 8);
    cr_expect_eq(c[0].state, TG_TUI_ST_RUN);
    cr_expect_eq(c[1].state, TG_TUI_ST_HOLD);
    cr_expect_eq(c[7].state, TG_TUI_ST_RUN);
}

Test(bin, long_idle_lanes_keep_exact_times)
{
    /* more than 4.29 s between segments of one block of 64 */
    start(m, 0, 1);
    uint64_t ts = 0;
    for (int i = 0; i < 200; i++) {
        ts += i % 7 == 3 ? 6000000000ull : 1000;
        ev(m, ts, 1, i % 2 ? TG_EV_MUTEX_REL : TG_EV_MUTEX_ACQ, A);
    }
    tg_tui_model_set_now(m, ts + 10);
    uint64_t t = 0;
    for (size_t i = 0; i < 201; i++) {
        struct tg_tui_seg s;
        tg_tui_model_seg(m, 0, i, &s);
        cr_assert_geq(s.ts, t);
        t = s.ts;
        cr_assert_eq(tg_tui_model_seg_at(m, 0, s.ts), i, "segment %zu found at its time", i);
    }
    cr_expect_eq(t, ts);
    uint64_t got[TG_TUI_ST_COUNT];
    tg_tui_model_thread_time(m, 0, 0, ts + 10, got);
    cr_expect_eq(got[TG_TUI_ST_HOLD] + got[TG_TUI_ST_RUN], ts + 10);
}

/* A semaphore a thread held across thousands of segments is only known
 * when it posts it: the segments are rewritten then, and a wide zoom (read
 * from block rows) must show the semaphore as a narrow one does. */
Test(bin, wide_zooms_show_a_semaphore_held_all_along)
{
    const uint64_t S = 0x5000;
    start(m, 0, 1);
    ev_p0(m, 1, 1, TG_EV_SEM_INIT, S, 1);
    ev(m, 10, 1, TG_EV_SEM_ACQ, S);
    uint64_t t = 100;
    for (int i = 0; i < 20000; i++, t += 100) {
        ev(m, t, 1, TG_EV_SLEEP_BEGIN, 0);
        ev(m, t + 1, 1, TG_EV_SLEEP_END, 0);
    }
    ev(m, t, 1, TG_EV_SEM_POST, S);
    tg_tui_model_set_now(m, t + 100);
    struct tg_tui_cell wide[20], narrow[4];
    uint64_t step = t / 20;         /* 1000 segments a cell */
    tg_tui_model_bin_thread(m, 0, 0, step, wide, 20);
    for (int c = 1; c < 19; c++) {
        tg_tui_model_bin_thread(m, 0, (uint64_t)c * step, step / 4, narrow, 4);
        cr_expect_eq(wide[c].state, TG_TUI_ST_HOLD, "cell %d", c);
        cr_expect_eq(wide[c].state, narrow[0].state, "cell %d", c);
        cr_assert_neq(wide[c].obj, TG_TUI_NONE, "cell %d", c);
        cr_expect_eq(tg_tui_model_object(m, wide[c].obj)->addr, S, "cell %d", c);
        cr_expect_eq(wide[c].obj, narrow[0].obj, "cell %d", c);
        cr_expect_neq(wide[c].seg, SIZE_MAX);
    }
}
