/* tui/axis.c: zoom, pan and cursor arithmetic (see axis.h). */
#include "tui/axis.h"

#define NICE_MAX 5000000000000000000ull

uint64_t tg_axis_nice_up(uint64_t v)
{
    uint64_t p = 1;

    if (v <= 1)
        return 1;
    for (;;) {
        if (v <= p)
            return p;
        if (v <= 2 * p)
            return 2 * p;
        if (v <= 5 * p || p >= NICE_MAX / 10)
            return 5 * p;
        p *= 10;
    }
}

uint64_t tg_axis_nice_down(uint64_t v)
{
    uint64_t n = tg_axis_nice_up(v);

    if (n == v || n == 1)
        return n;
    /* the 1-2-5 value just below n */
    uint64_t p = 1;
    while (p * 10 <= n)
        p *= 10;
    uint64_t lead = n / p;
    return lead == 1 ? p / 2 : lead == 2 ? p : 2 * p;
}

static void align(struct tg_axis *ax)
{
    ax->t0 -= ax->t0 % ax->step;
}

static int width_of(const struct tg_axis *ax)
{
    return ax->width > 1 ? ax->width : 1;
}

void tg_axis_fit(struct tg_axis *ax, uint64_t start, uint64_t end)
{
    int w = width_of(ax);
    uint64_t span = end > start ? end - start : 1;
    /* leave a column to spare so the end is visible after aligning */
    uint64_t need = (span + (uint64_t)(w > 2 ? w - 2 : 1) - 1) / (uint64_t)(w > 2 ? w - 2 : 1);

    ax->step = tg_axis_nice_up(need);
    ax->t0 = start;
    align(ax);
    if (ax->cursor < start || ax->cursor > end)
        ax->cursor = start;
}

/* One 1-2-5 step finer or coarser, time T staying at column COL. */
static void zoom_keeping(struct tg_axis *ax, int dir, int col, uint64_t t)
{
    uint64_t step = dir > 0 ? tg_axis_nice_down(ax->step > 1 ? ax->step - 1 : 1)
                            : tg_axis_nice_up(ax->step + 1);

    ax->step = step;
    uint64_t back = (uint64_t)col * step;
    ax->t0 = t > back ? t - back : 0;
    align(ax);
}

void tg_axis_zoom(struct tg_axis *ax, int dir)
{
    int col = tg_axis_col(ax, ax->cursor);

    if (col < 0)
        col = width_of(ax) / 2;     /* an off-screen cursor comes back, in the middle */
    zoom_keeping(ax, dir, col, ax->cursor);
}

void tg_axis_zoom_at(struct tg_axis *ax, int dir, int col)
{
    if (col < 0 || col >= width_of(ax))
        col = width_of(ax) / 2;
    zoom_keeping(ax, dir, col, tg_axis_time(ax, col) + ax->step / 2);
}

static void keep_visible(struct tg_axis *ax)
{
    uint64_t span = (uint64_t)width_of(ax) * ax->step;

    if (ax->cursor < ax->t0) {
        ax->t0 = ax->cursor;
        align(ax);
    } else if (ax->cursor >= ax->t0 + span) {
        ax->t0 = ax->cursor - span + ax->step;
        align(ax);
        while (ax->cursor >= ax->t0 + span)
            ax->t0 += ax->step;
    }
}

static uint64_t add_clamped(uint64_t t, long cols, uint64_t step, uint64_t end)
{
    if (cols < 0) {
        uint64_t d = (uint64_t)(-cols) * step;
        return t > d ? t - d : 0;
    }
    uint64_t d = (uint64_t)cols * step;
    return t + d > end ? (end > t ? end : t) : t + d;
}

void tg_axis_move(struct tg_axis *ax, long cols, uint64_t end)
{
    ax->cursor = add_clamped(ax->cursor, cols, ax->step, end);
    keep_visible(ax);
}

void tg_axis_pan(struct tg_axis *ax, long cols, uint64_t end)
{
    uint64_t span = (uint64_t)width_of(ax) * ax->step;
    uint64_t t0 = add_clamped(ax->t0, cols, ax->step, end + span);

    /* never pan the end of the trace past the middle of the screen */
    if (cols > 0 && t0 + span / 2 > end)
        t0 = end > span / 2 ? end - span / 2 : 0;
    if (cols > 0 && t0 < ax->t0)
        t0 = ax->t0;
    long moved = (long)(((int64_t)t0 - (int64_t)ax->t0) / (int64_t)ax->step);
    ax->t0 = t0;
    align(ax);
    ax->cursor = add_clamped(ax->cursor, moved, ax->step, end);
    keep_visible(ax);
}

void tg_axis_goto(struct tg_axis *ax, uint64_t t)
{
    ax->cursor = t;
    if (tg_axis_col(ax, t) >= 0)
        return;
    uint64_t half = (uint64_t)width_of(ax) / 2 * ax->step;
    ax->t0 = t > half ? t - half : 0;
    align(ax);
}

void tg_axis_resize(struct tg_axis *ax, int width)
{
    ax->width = width;
    if (ax->step == 0)
        ax->step = 1;
    keep_visible(ax);
}

int tg_axis_col(const struct tg_axis *ax, uint64_t t)
{
    if (t < ax->t0 || ax->step == 0)
        return -1;
    uint64_t c = (t - ax->t0) / ax->step;
    return c < (uint64_t)width_of(ax) ? (int)c : -1;
}

uint64_t tg_axis_time(const struct tg_axis *ax, int col)
{
    return ax->t0 + (uint64_t)(col > 0 ? col : 0) * ax->step;
}

uint64_t tg_axis_tick(const struct tg_axis *ax, int mincols)
{
    return tg_axis_nice_up(ax->step * (uint64_t)(mincols > 1 ? mincols : 1));
}
