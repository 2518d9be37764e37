/* tui/timeline.c: the Timeline view — a ruler, one lane per thread, then
 * one per lock, the cursor, what the selected lane does at the cursor, and
 * the legend. */
#include "tui/ui.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int lanes_top, lanes_rows;   /* where the last frame put the lanes (for clicks) */

/* Lane label: "▶ Thread-1      T1" — selection, finding highlight, name, id. */
static void draw_label(struct tg_ui *ui, const struct tg_row *r, bool selected, int y, int w)
{
    char name[160], id[24] = "";
    bool hilite = false;

    if (r->kind == TG_ROW_THREAD) {
        const struct tg_tui_thread *t = tg_tui_model_thread(ui->m, r->lane);
        snprintf(name, sizeof name, "%s", tg_ui_thread_name(ui, r->lane));
        snprintf(id, sizeof id, "T%" PRIu32, t->index);
        hilite = tg_ui_is_hilited_thread(ui, r->lane);
    } else {
        uint32_t obj = tg_tui_model_lock_object(ui->m, r->lane);
        snprintf(name, sizeof name, "%s", tg_ui_object_name(ui, obj));
        hilite = tg_ui_is_hilited_obj(ui, obj);
    }
    tg_paint_set(ui, selected ? TG_P_SELECT : hilite ? TG_P_HILITE : TG_P_TEXT);
    tg_draw_fill(y, 0, w, tg_paint(ui, selected ? TG_P_SELECT : TG_P_TEXT));
    const char *mark = hilite ? (ui->utf8 ? "◆" : "*") : selected ? (ui->utf8 ? "▶" : ">") : " ";
    tg_draw_text(y, 0, 1, mark, false);
    int idw = (int)strlen(id);
    tg_draw_text(y, 1, w - 1 - (idw ? idw + 1 : 0), name, false);
    if (idw) {
        if (!selected)
            tg_paint_set(ui, TG_P_DIM);
        tg_draw_text(y, w - idw, idw, id, false);
    }
    tg_paint_set(ui, TG_P_DIM);
    tg_draw_text(y, w, 1, ui->utf8 ? "│" : "|", false);
    tg_paint_set(ui, TG_P_TEXT);
}

static void draw_sep(struct tg_ui *ui, int y, int lw, int w)
{
    tg_paint_set(ui, TG_P_DIM);
    tg_draw_text(y, 0, lw, ui->utf8 ? "─ locks ──────────────────────────"
                                    : "- locks --------------------------", false);
    tg_draw_text(y, lw, 1, ui->utf8 ? "┼" : "+", false);
    for (int c = 0; c < w; c++)
        tg_draw_text(y, lw + 1 + c, 1, ui->utf8 ? "╌" : "-", false);
    tg_paint_set(ui, TG_P_TEXT);
}

void tg_draw_lanes(struct tg_ui *ui, const struct tg_row *rows, size_t n, size_t sel,
                   size_t *top, int y0, int nrows)
{
    int lw = tg_ui_label_width(ui), w = tg_ui_lane_width(ui);

    tg_list_scroll(n, sel, nrows, top);
    for (int r = 0; r < nrows && *top + (size_t)r < n; r++) {
        const struct tg_row *row = &rows[*top + (size_t)r];
        int y = y0 + r;
        if (row->kind == TG_ROW_SEP) {
            draw_sep(ui, y, lw, w);
            continue;
        }
        draw_label(ui, row, *top + (size_t)r == sel, y, lw);
        if (row->kind == TG_ROW_THREAD)
            tg_draw_thread_lane(ui, row->lane, y, lw + 1, w);
        else
            tg_draw_lock_lane(ui, row->lane, y, lw + 1, w);
    }
}

void tg_draw_ruler_row(struct tg_ui *ui, int y)
{
    int lw = tg_ui_label_width(ui);
    char t[32], label[96];

    tg_fmt_time(ui, ui->ax.cursor, ui->ax.step, t, sizeof t);
    char col[32];
    tg_fmt_time(ui, ui->ax.step, ui->ax.step, col, sizeof col);
    snprintf(label, sizeof label, "%s%s  %s/col", ui->utf8 ? "▼" : "v", t, col);
    tg_paint_set(ui, TG_P_TITLE);
    tg_draw_text(y, 0, lw, label, true);
    tg_paint_set(ui, TG_P_DIM);
    tg_draw_text(y, lw, 1, ui->utf8 ? "│" : "|", false);
    tg_draw_ruler(ui, y, lw + 1, tg_ui_lane_width(ui));
}

static void draw(struct tg_ui *ui, int top, int rows)
{
    ui->ax.width = tg_ui_lane_width(ui);
    tg_draw_ruler_row(ui, top);
    lanes_top = top + 1;
    lanes_rows = rows - 3;
    if (ui->nrows == 0) {
        tg_paint_set(ui, TG_P_DIM);
        tg_draw_text(top + 2, 2, ui->cols - 4,
                     ui->ended ? "no events in this trace"
                     : ui->live ? "waiting for the first events..." : "reading the trace...", false);
    } else {
        tg_draw_lanes(ui, ui->rows_v, ui->nrows, ui->sel, &ui->top, lanes_top, lanes_rows);
    }
    tg_draw_cursor_status(ui, top + rows - 2, 0, ui->cols);
    tg_draw_legend(ui, top + rows - 1, 0, ui->cols);
}

static void select_step(struct tg_ui *ui, int dir)
{
    size_t i = ui->sel;
    while ((dir < 0 && i > 0) || (dir > 0 && i + 1 < ui->nrows)) {
        i = dir < 0 ? i - 1 : i + 1;
        if (ui->rows_v[i].kind != TG_ROW_SEP) {
            ui->sel = i;
            return;
        }
    }
}

/* n / N: the next or previous event of the selected lane. */
unsigned tg_ui_step_event(struct tg_ui *ui, const struct tg_row *r, int dir)
{
    uint64_t t;
    size_t i;

    if (r == NULL || r->kind == TG_ROW_SEP)
        return TG_DRAW_NONE;
    if (r->kind == TG_ROW_THREAD) {
        i = tg_tui_model_thread_step(ui->m, r->lane, ui->ax.cursor, dir);
        if (i == SIZE_MAX) {
            tg_ui_message(ui, dir > 0 ? "no later event of this thread"
                                      : "no earlier event of this thread");
            return TG_DRAW_ALL;
        }
        struct tg_tui_seg s;
        tg_tui_model_seg(ui->m, r->lane, i, &s);
        t = s.ts;
    } else {
        i = tg_tui_model_lock_step(ui->m, r->lane, ui->ax.cursor, dir);
        if (i == SIZE_MAX) {
            tg_ui_message(ui, dir > 0 ? "no later change of this lock"
                                      : "no earlier change of this lock");
            return TG_DRAW_ALL;
        }
        struct tg_tui_lockseg s;
        tg_tui_model_lockseg(ui->m, r->lane, i, &s);
        t = s.ts;
    }
    ui->follow = false;
    ui->user_moved = true;
    tg_ui_goto(ui, t);
    return TG_DRAW_ALL;
}

static unsigned request(struct tg_ui *ui, enum tg_req req)
{
    const struct tg_row *r = ui->sel < ui->nrows ? &ui->rows_v[ui->sel] : NULL;

    switch (req) {
    case TG_REQ_UP: select_step(ui, -1); return TG_DRAW_BODY;
    case TG_REQ_DOWN: select_step(ui, 1); return TG_DRAW_BODY;
    case TG_REQ_NEXT_EVENT: return tg_ui_step_event(ui, r, 1);
    case TG_REQ_PREV_EVENT: return tg_ui_step_event(ui, r, -1);
    case TG_REQ_ENTER:
        ui->view = TG_VIEW_DETAILS;
        return TG_DRAW_ALL;
    default:
        return TG_DRAW_UNHANDLED;
    }
}

/* A click on a lane selects it and puts the cursor at that time. */
unsigned tg_ui_lane_click(struct tg_ui *ui, int y, int x, bool dbl, int top, int rows,
                          size_t *sel, size_t listtop, size_t n, const struct tg_row *list)
{
    int lw = tg_ui_label_width(ui);
    if (y < top || y >= top + rows)
        return TG_DRAW_NONE;
    size_t i = listtop + (size_t)(y - top);
    if (i >= n || list[i].kind == TG_ROW_SEP)
        return TG_DRAW_NONE;
    *sel = i;
    if (x > lw) {
        ui->follow = false;
        ui->ax.cursor = tg_axis_time(&ui->ax, x - lw - 1);
    }
    if (dbl) {
        ui->view = TG_VIEW_DETAILS;
        return TG_DRAW_ALL;
    }
    return TG_DRAW_ALL;
}

static unsigned click(struct tg_ui *ui, int y, int x, bool dbl)
{
    return tg_ui_lane_click(ui, y, x, dbl, lanes_top, lanes_rows, &ui->sel, ui->top, ui->nrows,
                            ui->rows_v);
}

/* ---- what the selected lane does at the cursor ---- */

static void thread_status(struct tg_ui *ui, uint32_t lane, char *buf, size_t len)
{
    const char *name = tg_ui_thread_name(ui, lane);
    uint64_t cur = ui->ax.cursor;
    size_t i = tg_tui_model_seg_at(ui->m, lane, cur);
    char a[32], b[32], d[32];

    if (i == SIZE_MAX) {
        snprintf(buf, len, "%s: not started yet", name);
        return;
    }
    struct tg_tui_seg s, o;
    tg_tui_model_seg(ui->m, lane, i, &s);
    /* the run of this state around the cursor */
    size_t first = i, last = i, n = tg_tui_model_thread(ui->m, lane)->nsegs;
    for (int k = 0; first > 0 && k < 100000; k++) {
        tg_tui_model_seg(ui->m, lane, first - 1, &o);
        if (o.state != s.state || o.shown != s.shown)
            break;
        first--;
    }
    for (int k = 0; last + 1 < n && k < 100000; k++) {
        tg_tui_model_seg(ui->m, lane, last + 1, &o);
        if (o.state != s.state || o.shown != s.shown)
            break;
        last++;
    }
    tg_tui_model_seg(ui->m, lane, first, &o);
    uint64_t from = o.ts, to = tg_tui_model_seg_end(ui->m, lane, last);
    bool open = last + 1 == n && s.state != TG_TUI_ST_EXITED;
    char what[200];
    const char *obj = s.shown != TG_TUI_NONE ? tg_ui_object_name(ui, s.shown) : "";
    switch (s.state) {
    case TG_TUI_ST_HOLD: snprintf(what, sizeof what, "holding %s", obj); break;
    case TG_TUI_ST_WAIT_LOCK: {
        const struct tg_tui_object *ob = tg_tui_model_object(ui->m, s.shown);
        const char *owner = NULL;
        if (ob && ob->lock_lane != TG_TUI_NONE) {
            size_t k = tg_tui_model_lockseg_at(ui->m, ob->lock_lane, cur);
            struct tg_tui_lockseg ls;
            if (k != SIZE_MAX) {
                tg_tui_model_lockseg(ui->m, ob->lock_lane, k, &ls);
                if (ls.owner != TG_TUI_NONE)
                    owner = tg_ui_thread_name(ui, ls.owner);
            }
        }
        snprintf(what, sizeof what, "waiting for %s%s%s%s", obj, owner ? " (held by " : "",
                 owner ? owner : "", owner ? ")" : "");
        break;
    }
    case TG_TUI_ST_WAIT_JOIN: snprintf(what, sizeof what, "joining %s", obj); break;
    case TG_TUI_ST_SLEEP:
        snprintf(what, sizeof what, "sleeping%s%s", *obj ? " holding " : "", obj);
        break;
    case TG_TUI_ST_WAIT_COND: case TG_TUI_ST_WAIT_SEM: case TG_TUI_ST_WAIT_BARRIER:
        snprintf(what, sizeof what, "%s on %s", tg_tui_state_name(s.state), obj);
        break;
    default: snprintf(what, sizeof what, "%s", tg_tui_state_name(s.state)); break;
    }
    uint64_t step = ui->ax.step;
    if (s.state == TG_TUI_ST_EXITED)
        snprintf(buf, len, "%s: exited at %s", name, tg_fmt_time(ui, from, step, a, sizeof a));
    else if (open && ui->ended)
        snprintf(buf, len, "%s: %s since %s, still when the trace ended", name, what,
                 tg_fmt_time(ui, from, step, a, sizeof a));
    else if (open)
        snprintf(buf, len, "%s: %s since %s (%s so far)", name, what,
                 tg_fmt_time(ui, from, step, a, sizeof a),
                 tg_fmt_time(ui, to - from, to - from ? (to - from) / 100 + 1 : 1, d, sizeof d));
    else
        snprintf(buf, len, "%s: %s %s → %s (%s)", name, what,
                 tg_fmt_time(ui, from, step, a, sizeof a), tg_fmt_time(ui, to, step, b, sizeof b),
                 tg_fmt_time(ui, to - from, to - from ? (to - from) / 100 + 1 : 1, d, sizeof d));
}

static void lock_status(struct tg_ui *ui, uint32_t lock, char *buf, size_t len)
{
    uint32_t obj = tg_tui_model_lock_object(ui->m, lock);
    const char *name = tg_ui_object_name(ui, obj);
    size_t i = tg_tui_model_lockseg_at(ui->m, lock, ui->ax.cursor);
    if (i == SIZE_MAX) {
        snprintf(buf, len, "%s: not used yet", name);
        return;
    }
    struct tg_tui_lockseg s;
    tg_tui_model_lockseg(ui->m, lock, i, &s);
    size_t at = (size_t)snprintf(buf, len, "%s: ", name);
    if (s.owner != TG_TUI_NONE)
        at += (size_t)snprintf(buf + at, len - at, "held by %s", tg_ui_thread_name(ui, s.owner));
    else if (s.holders > 0)
        at += (size_t)snprintf(buf + at, len - at, "%u %s", s.holders,
                               tg_tui_model_object(ui->m, obj)->kind == TG_TUI_OBJ_SEM
                               ? "units taken" : "readers");
    else
        at += (size_t)snprintf(buf + at, len - at, "free");
    if (s.waiters > 0 && at < len) {
        at += (size_t)snprintf(buf + at, len - at, ", %u waiting:", s.waiters);
        int shown = 0;
        for (size_t t = 0; t < tg_tui_model_nthreads(ui->m) && shown < 3 && at < len; t++) {
            size_t k = tg_tui_model_seg_at(ui->m, t, ui->ax.cursor);
            struct tg_tui_seg ts;
            if (k == SIZE_MAX)
                continue;
            tg_tui_model_seg(ui->m, t, k, &ts);
            if ((ts.state == TG_TUI_ST_WAIT_LOCK || ts.state == TG_TUI_ST_WAIT_SEM)
                && ts.shown == obj) {
                at += (size_t)snprintf(buf + at, len - at, " %s", tg_ui_thread_name(ui, (uint32_t)t));
                shown++;
            }
        }
        if (shown < s.waiters && at < len)
            snprintf(buf + at, len - at, " …");
    }
}

void tg_draw_cursor_status(struct tg_ui *ui, int y, int x, int w)
{
    char buf[512] = "";
    const struct tg_row *r = ui->sel < ui->nrows ? &ui->rows_v[ui->sel] : NULL;

    if (r != NULL && r->kind == TG_ROW_THREAD)
        thread_status(ui, r->lane, buf, sizeof buf);
    else if (r != NULL && r->kind == TG_ROW_LOCK)
        lock_status(ui, r->lane, buf, sizeof buf);
    tg_paint_set(ui, TG_P_STATUS);
    tg_draw_text(y, x, w, buf, true);
    tg_paint_set(ui, TG_P_TEXT);
}

const struct tg_view_ops tg_timeline_view = {
    .name = "Timeline",
    .draw = draw,
    .request = request,
    .click = click,
    .hint = "?:help q:quit h/l:cursor +/-:zoom z:fit n/N:event j/k:lane /:find Enter:details"
            " H/L:pan Tab:views",
};
