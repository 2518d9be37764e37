/* tui/axis.h (internal): the time axis shared by the lane views — which
 * time is at the left edge, how much time a column is, and the cursor.
 * Pure arithmetic (unit-tested): columns are always a 1-2-5 number of
 * nanoseconds and the left edge a multiple of it, so ruler ticks fall on
 * round times. */
#ifndef TG_TUI_AXIS_H
#define TG_TUI_AXIS_H

#include <stdint.h>

struct tg_axis {
    uint64_t t0;        /* time at the left edge of column 0 */
    uint64_t step;      /* ns per column: 1, 2, 5, 10, 20, 50... */
    uint64_t cursor;    /* time under the cursor */
    int width;          /* columns */
};

/* The smallest 1-2-5 value >= V (>= 1), the largest <= V. */
uint64_t tg_axis_nice_up(uint64_t v);
uint64_t tg_axis_nice_down(uint64_t v);

/* The whole of [start, end] in WIDTH columns; the cursor stays if it is
 * inside, else goes to START. */
void tg_axis_fit(struct tg_axis *ax, uint64_t start, uint64_t end);
/* One 1-2-5 step finer (dir > 0) or coarser, the cursor's column fixed. */
void tg_axis_zoom(struct tg_axis *ax, int dir);
/* The same around column COL (the mouse): the time under it stays there. */
void tg_axis_zoom_at(struct tg_axis *ax, int dir, int col);
/* The cursor moves COLS columns (negative: back); the view follows it. */
void tg_axis_move(struct tg_axis *ax, long cols, uint64_t end);
/* The view and the cursor move COLS columns together. */
void tg_axis_pan(struct tg_axis *ax, long cols, uint64_t end);
/* The cursor to T; the view recentres on it if it was off screen. */
void tg_axis_goto(struct tg_axis *ax, uint64_t t);
/* A new width; the cursor stays visible. */
void tg_axis_resize(struct tg_axis *ax, int width);
/* Column of T, or -1 if off screen. */
int tg_axis_col(const struct tg_axis *ax, uint64_t t);
uint64_t tg_axis_time(const struct tg_axis *ax, int col);
/* Ruler ticks: every tick_step ns (a multiple of step, >= MINCOLS columns). */
uint64_t tg_axis_tick(const struct tg_axis *ax, int mincols);

#endif
