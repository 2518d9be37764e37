/* tui/locks.c: the Locks view — one lane per lock (owner over time, who
 * waits), sorted by contention, with the selected lock's figures. */
#include "tui/ui.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sort_names[] = {
    "total wait", "contended", "acquisitions", "longest wait", "longest hold", "name",
};
#define NSORT (sizeof sort_names / sizeof sort_names[0])

static int lanes_top, lanes_rows;
static struct tg_row *rows;
static size_t nrows_cap;

static size_t build_rows(struct tg_ui *ui)
{
    size_t n = ui->nlock_order;
    if (n > nrows_cap) {
        struct tg_row *r = realloc(rows, n * sizeof *r);
        if (r == NULL)
            return 0;
        rows = r;
        nrows_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        rows[i] = (struct tg_row){ TG_ROW_LOCK, ui->lock_order[i] };
    if (ui->lock_sel >= n)
        ui->lock_sel = n ? n - 1 : 0;
    return n;
}

static void figures(struct tg_ui *ui, uint32_t lock, int y, int h)
{
    uint32_t obj = tg_tui_model_lock_object(ui->m, lock);
    const struct tg_tui_object *o = tg_tui_model_object(ui->m, obj);
    char tw[32], mw[32], th[32], mh[32], line[512];

    tg_fmt_time(ui, o->wait_total, o->wait_total / 100 + 1, tw, sizeof tw);
    tg_fmt_time(ui, o->wait_max, o->wait_max / 100 + 1, mw, sizeof mw);
    tg_fmt_time(ui, o->hold_total, o->hold_total / 100 + 1, th, sizeof th);
    tg_fmt_time(ui, o->hold_max, o->hold_max / 100 + 1, mh, sizeof mh);
    unsigned pct = o->acquisitions ? (unsigned)(o->contended * 100 / o->acquisitions) : 0;
    snprintf(line, sizeof line,
             "%s (%s): %" PRIu64 " acquisitions, %" PRIu64 " contended (%u%%), %" PRIu64
             " failed tries, waited %s (longest %s), held %s (longest %s), %" PRIu64
             " owner changes, up to %u waiting",
             tg_ui_object_name(ui, obj), tg_tui_objkind_name(o->kind), o->acquisitions,
             o->contended, pct, o->try_failed, tw, mw, th, mh, o->owner_changes, o->max_waiters);
    /* wrap on spaces over H lines */
    const char *s = line;
    for (int r = 0; r < h && *s; r++) {
        size_t n = strlen(s);
        size_t cut = n;
        if ((int)n > ui->cols - 1) {
            cut = (size_t)ui->cols - 1;
            while (cut > 0 && s[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = (size_t)ui->cols - 1;
        }
        char part[512];
        snprintf(part, sizeof part, "%.*s", (int)cut, s);
        tg_draw_text(y + r, 0, ui->cols, part, true);
        s += cut;
        while (*s == ' ')
            s++;
    }
}

static void legend(struct tg_ui *ui, int y)
{
    static const struct { enum tg_paint p; const char *u, *a, *text; } items[] = {
        { TG_P_LOCK0, "━", "=", "held (owner)" }, { TG_P_RUN, "═", ":", "shared / units taken" },
        { TG_P_WAIT_LOCK, "▓", "#", "contended (+n waiting)" }, { TG_P_MARK_FAIL, "×", "x", "failed try" },
        { TG_P_MARK_FINDING, "◆", "*", "finding" },
    };
    int col = 0;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        if (col + (int)strlen(items[i].text) + 3 > ui->cols)
            break;
        tg_paint_set(ui, items[i].p);
        col += tg_draw_text(y, col, 1, ui->utf8 ? items[i].u : items[i].a, false);
        tg_paint_set(ui, TG_P_DIM);
        col += tg_draw_text(y, col, ui->cols - col, " ", false);
        col += tg_draw_text(y, col, ui->cols - col, items[i].text, false);
        col += tg_draw_text(y, col, ui->cols - col, "  ", false);
    }
    tg_paint_set(ui, TG_P_TEXT);
}

static void draw(struct tg_ui *ui, int top, int h)
{
    size_t n = build_rows(ui);
    char head[96];

    ui->ax.width = tg_ui_lane_width(ui);
    tg_draw_ruler_row(ui, top);
    snprintf(head, sizeof head, "%zu locks by %s%s", n, sort_names[ui->lock_sort],
             ui->lock_sort_rev ? " (reversed)" : "");
    lanes_top = top + 2;
    lanes_rows = h - 6;
    tg_paint_set(ui, TG_P_DIM);
    tg_draw_text(top + 1, 0, ui->cols, head, true);
    tg_paint_set(ui, TG_P_TEXT);
    if (n == 0) {
        tg_draw_text(top + 3, 2, ui->cols - 4, "no locks in this trace (yet)", false);
        return;
    }
    tg_draw_lanes(ui, rows, n, ui->lock_sel, &ui->lock_top, lanes_top, lanes_rows);
    /* what the selected lock does at the cursor, and its figures */
    struct tg_row *keep_rows = ui->rows_v;
    size_t keep_n = ui->nrows, keep_sel = ui->sel;
    ui->rows_v = &rows[ui->lock_sel];
    ui->nrows = 1;
    ui->sel = 0;
    tg_draw_cursor_status(ui, top + h - 4, 0, ui->cols);
    ui->rows_v = keep_rows;
    ui->nrows = keep_n;
    ui->sel = keep_sel;
    figures(ui, rows[ui->lock_sel].lane, top + h - 3, 2);
    legend(ui, top + h - 1);
}

static unsigned request(struct tg_ui *ui, enum tg_req req)
{
    size_t n = build_rows(ui);

    switch (req) {
    case TG_REQ_UP: case TG_REQ_DOWN:
        return tg_list_request(req, n, lanes_rows, &ui->lock_sel);
    case TG_REQ_NEXT_EVENT: case TG_REQ_PREV_EVENT:
        return n ? tg_ui_step_event(ui, &rows[ui->lock_sel], req == TG_REQ_NEXT_EVENT ? 1 : -1)
                 : TG_DRAW_NONE;
    case TG_REQ_SORT: case TG_REQ_REVERSE: {
        uint32_t keep = n ? rows[ui->lock_sel].lane : 0;
        if (req == TG_REQ_SORT)
            ui->lock_sort = (ui->lock_sort + 1) % (int)NSORT;
        else
            ui->lock_sort_rev = !ui->lock_sort_rev;
        tg_ui_rebuild_rows(ui);
        n = build_rows(ui);
        for (size_t i = 0; i < n; i++)
            if (rows[i].lane == keep)
                ui->lock_sel = i;
        tg_ui_message(ui, "locks by %s%s", sort_names[ui->lock_sort],
                      ui->lock_sort_rev ? " (reversed)" : "");
        return TG_DRAW_ALL;
    }
    case TG_REQ_ENTER:
        if (n == 0)
            return TG_DRAW_NONE;
        tg_ui_select_lock(ui, rows[ui->lock_sel].lane);
        ui->view = TG_VIEW_DETAILS;
        return TG_DRAW_ALL;
    default:
        return TG_DRAW_UNHANDLED;
    }
}

static unsigned click(struct tg_ui *ui, int y, int x, bool dbl)
{
    size_t n = build_rows(ui);
    unsigned f = tg_ui_lane_click(ui, y, x, false, lanes_top, lanes_rows, &ui->lock_sel,
                                  ui->lock_top, n, rows);
    if (dbl && n) {
        tg_ui_select_lock(ui, rows[ui->lock_sel].lane);
        ui->view = TG_VIEW_DETAILS;
        return TG_DRAW_ALL;
    }
    return f;
}

static void enter(struct tg_ui *ui)
{
    size_t n = build_rows(ui);
    if (ui->sel < ui->nrows && ui->rows_v[ui->sel].kind == TG_ROW_LOCK)
        for (size_t i = 0; i < n; i++)
            if (rows[i].lane == ui->rows_v[ui->sel].lane)
                ui->lock_sel = i;
}

const struct tg_view_ops tg_locks_view = {
    .name = "Locks",
    .draw = draw,
    .request = request,
    .click = click,
    .enter = enter,
    .hint = "?:help q:quit j/k:lock s:sort r:reverse h/l:cursor +/-:zoom n/N:change"
            " Enter:details",
};
