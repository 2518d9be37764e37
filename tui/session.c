/* tui/session.c: what the views share — the rows of the timeline and their
 * order, the time axis, search, and the keys: the binding table, requests
 * every view understands (views, help, search, follow), the mouse. */
#include "tui/search.h"
#include "tui/ui.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace/trace.h"

const struct tg_view_ops *const tg_views[TG_VIEW_COUNT] = {
    [TG_VIEW_TIMELINE] = &tg_timeline_view, [TG_VIEW_LOCKS] = &tg_locks_view,
    [TG_VIEW_FINDINGS] = &tg_findings_view, [TG_VIEW_DETAILS] = &tg_details_view,
    [TG_VIEW_OUTPUT] = &tg_output_view,     [TG_VIEW_STATS] = &tg_stats_view,
};

/* Key bindings; the help overlay shows keys.def's descriptions. */
static const struct { int key; enum tg_req req; } keymap[] = {
    { 'q', TG_REQ_QUIT }, { 'Q', TG_REQ_QUIT }, { 3, TG_REQ_QUIT },   /* Ctrl-C */
    { '?', TG_REQ_HELP }, { KEY_F(1), TG_REQ_HELP },
    { '\t', TG_REQ_NEXT_VIEW }, { KEY_BTAB, TG_REQ_PREV_VIEW },
    { '1', TG_REQ_VIEW_1 }, { '2', TG_REQ_VIEW_2 }, { '3', TG_REQ_VIEW_3 },
    { '4', TG_REQ_VIEW_4 }, { '5', TG_REQ_VIEW_5 }, { '6', TG_REQ_VIEW_6 },
    { KEY_UP, TG_REQ_UP }, { 'k', TG_REQ_UP }, { KEY_DOWN, TG_REQ_DOWN }, { 'j', TG_REQ_DOWN },
    { KEY_LEFT, TG_REQ_LEFT }, { 'h', TG_REQ_LEFT }, { KEY_RIGHT, TG_REQ_RIGHT },
    { 'l', TG_REQ_RIGHT }, { 'H', TG_REQ_PAN_LEFT }, { KEY_SLEFT, TG_REQ_PAN_LEFT },
    { 'L', TG_REQ_PAN_RIGHT }, { KEY_SRIGHT, TG_REQ_PAN_RIGHT },
    { KEY_PPAGE, TG_REQ_PAGE_UP }, { KEY_NPAGE, TG_REQ_PAGE_DOWN },
    { KEY_HOME, TG_REQ_HOME }, { 'g', TG_REQ_HOME }, { KEY_END, TG_REQ_END },
    { 'G', TG_REQ_END },
    { '+', TG_REQ_ZOOM_IN }, { '=', TG_REQ_ZOOM_IN }, { '-', TG_REQ_ZOOM_OUT },
    { '_', TG_REQ_ZOOM_OUT }, { 'z', TG_REQ_ZOOM_FIT }, { '0', TG_REQ_ZOOM_FIT },
    { 'n', TG_REQ_NEXT_EVENT }, { 'N', TG_REQ_PREV_EVENT }, { '/', TG_REQ_SEARCH },
    { 'f', TG_REQ_FOLLOW }, { '\r', TG_REQ_ENTER }, { '\n', TG_REQ_ENTER },
    { KEY_ENTER, TG_REQ_ENTER }, { 's', TG_REQ_SORT }, { 'r', TG_REQ_REVERSE },
    { 12, TG_REQ_REDRAW },                                            /* Ctrl-L */
};

void tg_ui_message(struct tg_ui *ui, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ui->message, sizeof ui->message, fmt, ap);
    va_end(ap);
    ui->message_warn = false;
}

/* ---- rows of the timeline ---- */

static int cmp_u32_by_key(const void *a, const void *b, void *ctx);

struct sort_ctx {
    struct tg_ui *ui;
};

static uint64_t lock_key(struct tg_ui *ui, uint32_t lock, int col)
{
    const struct tg_tui_object *o = tg_tui_model_object(ui->m, tg_tui_model_lock_object(ui->m, lock));
    switch (col) {
    case 0: return o->wait_total;
    case 1: return o->contended;
    case 2: return o->acquisitions;
    case 3: return o->wait_max;
    case 4: return o->hold_max;
    default: return 0;
    }
}

static int cmp_u32_by_key(const void *a, const void *b, void *ctx)
{
    struct tg_ui *ui = ((struct sort_ctx *)ctx)->ui;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int r;

    if (ui->lock_sort == 5) {
        r = strcmp(tg_ui_object_name(ui, tg_tui_model_lock_object(ui->m, x)),
                   tg_ui_object_name(ui, tg_tui_model_lock_object(ui->m, y)));
    } else {
        uint64_t kx = lock_key(ui, x, ui->lock_sort), ky = lock_key(ui, y, ui->lock_sort);
        r = kx > ky ? -1 : kx < ky ? 1 : 0;
        if (r == 0)     /* then by contended count, then first seen */
            r = lock_key(ui, x, 1) > lock_key(ui, y, 1) ? -1
                : lock_key(ui, x, 1) < lock_key(ui, y, 1) ? 1 : (x > y) - (x < y);
    }
    return ui->lock_sort_rev ? -r : r;
}

void tg_ui_sort_locks(struct tg_ui *ui)
{
    size_t n = tg_tui_model_nlocks(ui->m);
    uint32_t *p = realloc(ui->lock_order, (n ? n : 1) * sizeof *p);
    if (p == NULL)
        return;
    ui->lock_order = p;
    ui->nlock_order = n;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint32_t)i;
    struct sort_ctx c = { ui };
    qsort_r(p, n, sizeof *p, cmp_u32_by_key, &c);
}

static int cmp_threads(const void *a, const void *b, void *ctx)
{
    const struct tg_tui_model *m = ctx;
    const struct tg_tui_thread *x = tg_tui_model_thread(m, ((const struct tg_row *)a)->lane);
    const struct tg_tui_thread *y = tg_tui_model_thread(m, ((const struct tg_row *)b)->lane);
    if (x->process != y->process)
        return x->process < y->process ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

void tg_ui_rebuild_rows(struct tg_ui *ui)
{
    size_t nt = tg_tui_model_nthreads(ui->m), nl = tg_tui_model_nlocks(ui->m);
    size_t need = nt + (nl ? nl + 1 : 0);
    struct tg_row keep = { TG_ROW_THREAD, TG_TUI_NONE };

    if (ui->sel < ui->nrows)
        keep = ui->rows_v[ui->sel];
    if (need > ui->caprows) {
        struct tg_row *r = realloc(ui->rows_v, need * sizeof *r);
        if (r == NULL)
            return;
        ui->rows_v = r;
        ui->caprows = need;
    }
    for (size_t i = 0; i < nt; i++)
        ui->rows_v[i] = (struct tg_row){ TG_ROW_THREAD, (uint32_t)i };
    qsort_r(ui->rows_v, nt, sizeof *ui->rows_v, cmp_threads, ui->m);
    ui->nrows = nt;
    if (nl) {
        tg_ui_sort_locks(ui);
        ui->rows_v[ui->nrows++] = (struct tg_row){ TG_ROW_SEP, 0 };
        for (size_t i = 0; i < ui->nlock_order; i++)
            ui->rows_v[ui->nrows++] = (struct tg_row){ TG_ROW_LOCK, ui->lock_order[i] };
    }
    ui->model_threads = nt;
    ui->model_locks = nl;
    ui->sel = 0;
    for (size_t i = 0; i < ui->nrows; i++)
        if (ui->rows_v[i].kind == keep.kind && ui->rows_v[i].lane == keep.lane)
            ui->sel = i;
}

void tg_ui_select_thread(struct tg_ui *ui, uint32_t lane)
{
    for (size_t i = 0; i < ui->nrows; i++)
        if (ui->rows_v[i].kind == TG_ROW_THREAD && ui->rows_v[i].lane == lane)
            ui->sel = i;
}

void tg_ui_select_lock(struct tg_ui *ui, uint32_t lock)
{
    for (size_t i = 0; i < ui->nrows; i++)
        if (ui->rows_v[i].kind == TG_ROW_LOCK && ui->rows_v[i].lane == lock)
            ui->sel = i;
}

bool tg_ui_is_hilited_thread(const struct tg_ui *ui, uint32_t lane)
{
    const struct tg_tui_thread *t = tg_tui_model_thread(ui->m, lane);
    for (size_t i = 0; ui->hilite && t && i < ui->nhilite_threads; i++)
        if (ui->hilite_threads[i] == t->index)
            return true;
    return false;
}

bool tg_ui_is_hilited_obj(const struct tg_ui *ui, uint32_t obj)
{
    for (size_t i = 0; ui->hilite && i < ui->nhilite_objs; i++)
        if (ui->hilite_objs[i] == obj)
            return true;
    return false;
}

/* ---- sizes ---- */

int tg_ui_label_width(const struct tg_ui *ui)
{
    int w = ui->cols / 5;
    return w < 16 ? 16 : w > 28 ? 28 : w;
}

int tg_ui_lane_width(const struct tg_ui *ui)
{
    int w = ui->cols - tg_ui_label_width(ui) - 1;
    return w > 1 ? w : 1;
}

void tg_ui_resize(struct tg_ui *ui)
{
    getmaxyx(stdscr, ui->rows, ui->cols);
    tg_axis_resize(&ui->ax, tg_ui_lane_width(ui));
    ui->need_clear = true;
}

/* ---- the time axis ---- */

void tg_ui_fit(struct tg_ui *ui)
{
    ui->ax.width = tg_ui_lane_width(ui);
    tg_axis_fit(&ui->ax, tg_tui_model_start(ui->m), tg_tui_model_end(ui->m));
}

void tg_ui_goto(struct tg_ui *ui, uint64_t t)
{
    ui->ax.width = tg_ui_lane_width(ui);
    tg_axis_goto(&ui->ax, t);
}

/* Live: keep the newest time at the right, zooming out while autofit. */
void tg_ui_follow_end(struct tg_ui *ui)
{
    uint64_t end = tg_tui_model_end(ui->m);
    ui->ax.width = tg_ui_lane_width(ui);
    if (ui->autofit) {
        tg_ui_fit(ui);
        ui->ax.cursor = end;
        return;
    }
    ui->ax.cursor = end;
    uint64_t span = (uint64_t)ui->ax.width * ui->ax.step;
    if (end >= ui->ax.t0 + span - ui->ax.step || end < ui->ax.t0) {
        uint64_t t0 = end > span * 9 / 10 ? end - span * 9 / 10 : 0;
        ui->ax.t0 = t0 - t0 % ui->ax.step;
    }
}

unsigned tg_ui_axis_request(struct tg_ui *ui, enum tg_req req)
{
    struct tg_axis *ax = &ui->ax;
    uint64_t end = tg_tui_model_end(ui->m);
    long w = tg_ui_lane_width(ui);

    ax->width = (int)w;
    bool moved = ui->user_moved;
    ui->user_moved = true;
    switch (req) {
    case TG_REQ_LEFT: tg_axis_move(ax, -1, end); break;
    case TG_REQ_RIGHT: tg_axis_move(ax, 1, end); break;
    case TG_REQ_PAN_LEFT: tg_axis_pan(ax, -w / 2, end); break;
    case TG_REQ_PAN_RIGHT: tg_axis_pan(ax, w / 2, end); break;
    case TG_REQ_PAGE_UP: tg_axis_pan(ax, -w, end); break;
    case TG_REQ_PAGE_DOWN: tg_axis_pan(ax, w, end); break;
    case TG_REQ_HOME:
        ax->cursor = tg_tui_model_start(ui->m);
        ax->t0 = ax->cursor - ax->cursor % ax->step;
        break;
    case TG_REQ_END:
        tg_axis_goto(ax, end);
        if (!ui->ended && ui->live) {
            ui->follow = true;
            return TG_DRAW_ALL;
        }
        break;
    case TG_REQ_ZOOM_IN: tg_axis_zoom(ax, 1); ui->autofit = false; break;
    case TG_REQ_ZOOM_OUT: tg_axis_zoom(ax, -1); ui->autofit = false; break;
    case TG_REQ_ZOOM_FIT: tg_ui_fit(ui); ui->autofit = ui->follow; return TG_DRAW_BODY;
    default: ui->user_moved = moved; return TG_DRAW_UNHANDLED;
    }
    if (req != TG_REQ_ZOOM_IN && req != TG_REQ_ZOOM_OUT)
        ui->follow = false;
    return TG_DRAW_ALL;
}

/* ---- search ---- */

static const char *row_name(size_t i, void *ctx)
{
    struct tg_ui *ui = ctx;
    const struct tg_row *r = &ui->rows_v[i];
    if (r->kind == TG_ROW_THREAD)
        return tg_ui_thread_name(ui, r->lane);
    if (r->kind == TG_ROW_LOCK)
        return tg_ui_object_name(ui, tg_tui_model_lock_object(ui->m, r->lane));
    return NULL;
}

static void search(struct tg_ui *ui)
{
    if (ui->search[0] == '\0')
        return;
    size_t i = tg_search_next(ui->nrows, ui->sel, ui->search, row_name, ui);
    if (i == (size_t)-1) {
        tg_ui_message(ui, "no thread or lock named like \"%s\"", ui->search);
        return;
    }
    ui->sel = i;
    if (ui->view != TG_VIEW_TIMELINE && ui->view != TG_VIEW_LOCKS)
        ui->view = TG_VIEW_TIMELINE;
    if (ui->view == TG_VIEW_LOCKS && ui->rows_v[i].kind != TG_ROW_LOCK)
        ui->view = TG_VIEW_TIMELINE;
    tg_ui_message(ui, "%s", row_name(i, ui));
}

static unsigned prompt_key(struct tg_ui *ui, wint_t ch, bool keycode)
{
    if (!keycode && (ch == '\r' || ch == '\n')) {
        ui->prompting = false;
        if (ui->nprompt > 0) {
            memcpy(ui->search, ui->prompt, ui->nprompt);
            ui->search[ui->nprompt] = '\0';
        }
        search(ui);
        return TG_DRAW_ALL;
    }
    if (!keycode && (ch == 27 || ch == 3 || ch == 7)) {     /* Esc, Ctrl-C, Ctrl-G */
        ui->prompting = false;
        return TG_DRAW_ALL;
    }
    if ((keycode && ch == KEY_BACKSPACE) || (!keycode && (ch == 127 || ch == 8))) {
        while (ui->nprompt > 0 && ((unsigned char)ui->prompt[--ui->nprompt] & 0xc0) == 0x80)
            ;
        return TG_DRAW_ALL;
    }
    if (!keycode && ch >= 32) {
        char mb[8];
        int n = wctomb(mb, (wchar_t)ch);
        if (n > 0 && ui->nprompt + (size_t)n < sizeof ui->prompt - 1) {
            memcpy(ui->prompt + ui->nprompt, mb, (size_t)n);
            ui->nprompt += (size_t)n;
        }
    }
    return TG_DRAW_ALL;
}

/* ---- requests every view shares ---- */

static void switch_view(struct tg_ui *ui, int v)
{
    ui->view = (enum tg_view_id)((v + TG_VIEW_COUNT) % TG_VIEW_COUNT);
    if (tg_views[ui->view]->enter)
        tg_views[ui->view]->enter(ui);
}

static unsigned session_request(struct tg_ui *ui, enum tg_req req)
{
    switch (req) {
    case TG_REQ_QUIT: ui->quit = true; return TG_DRAW_NONE;
    case TG_REQ_HELP: ui->help = true; return TG_DRAW_ALL;
    case TG_REQ_NEXT_VIEW: switch_view(ui, (int)ui->view + 1); return TG_DRAW_ALL;
    case TG_REQ_PREV_VIEW: switch_view(ui, (int)ui->view - 1); return TG_DRAW_ALL;
    case TG_REQ_VIEW_1: case TG_REQ_VIEW_2: case TG_REQ_VIEW_3:
    case TG_REQ_VIEW_4: case TG_REQ_VIEW_5: case TG_REQ_VIEW_6:
        switch_view(ui, req - TG_REQ_VIEW_1);
        return TG_DRAW_ALL;
    case TG_REQ_SEARCH:
        ui->prompting = true;
        ui->nprompt = 0;
        return TG_DRAW_ALL;
    case TG_REQ_FOLLOW:
        if (ui->ended || !ui->live) {
            tg_ui_message(ui, "nothing to follow: the trace is complete");
            return TG_DRAW_ALL;
        }
        ui->follow = !ui->follow;
        tg_ui_message(ui, "follow %s", ui->follow ? "on" : "off");
        return TG_DRAW_ALL;
    case TG_REQ_REDRAW: ui->need_clear = true; return TG_DRAW_ALL;
    default: return tg_ui_axis_request(ui, req) & ~(unsigned)TG_DRAW_UNHANDLED;
    }
}

static unsigned mouse(struct tg_ui *ui)
{
    MEVENT me;
    if (getmouse(&me) != OK)
        return TG_DRAW_NONE;
    if (me.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
        bool up = (me.bstate & BUTTON4_PRESSED) != 0;
        enum tg_req req = up ? TG_REQ_ZOOM_IN : TG_REQ_ZOOM_OUT;
        bool lanes = ui->view == TG_VIEW_TIMELINE || ui->view == TG_VIEW_LOCKS;
        int col = me.x - tg_ui_label_width(ui) - 1;
        if (lanes && me.y > 0 && col >= 0 && col < tg_ui_lane_width(ui)) {
            /* over the lanes: the time under the pointer stays under it */
            ui->ax.width = tg_ui_lane_width(ui);
            tg_axis_zoom_at(&ui->ax, up ? 1 : -1, col);
            ui->autofit = false;
            ui->user_moved = true;
            return TG_DRAW_ALL;
        }
        if (!lanes)
            req = up ? TG_REQ_UP : TG_REQ_DOWN;
        unsigned f = tg_views[ui->view]->request(ui, req);
        return f & TG_DRAW_UNHANDLED ? session_request(ui, req) : f;
    }
    if (!(me.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED)))
        return TG_DRAW_NONE;
    if (me.y == 0) {    /* the tabs */
        for (int v = 0; v < TG_VIEW_COUNT; v++) {
            if (me.x >= ui->tab_x[v] && me.x < ui->tab_x[v + 1]) {
                switch_view(ui, v);
                return TG_DRAW_ALL;
            }
        }
        return TG_DRAW_NONE;
    }
    if (tg_views[ui->view]->click)
        return tg_views[ui->view]->click(ui, me.y, me.x, (me.bstate & BUTTON1_DOUBLE_CLICKED) != 0);
    return TG_DRAW_NONE;
}

unsigned tg_ui_handle(struct tg_ui *ui, wint_t ch, bool keycode)
{
    if (keycode && ch == KEY_RESIZE) {
        tg_ui_resize(ui);
        return TG_DRAW_ALL;
    }
    if (ui->help) {
        ui->help = false;
        return TG_DRAW_ALL;
    }
    if (ui->prompting)
        return prompt_key(ui, ch, keycode);
    if (keycode && ch == KEY_MOUSE)
        return mouse(ui);
    ui->message[0] = '\0';
    enum tg_req req = TG_REQ_NONE;
    for (size_t i = 0; i < sizeof keymap / sizeof keymap[0]; i++) {
        /* character keys and KEY_* codes do not overlap below KEY_MIN */
        if ((unsigned)keymap[i].key == ch && (keycode == (keymap[i].key >= KEY_MIN))) {
            req = keymap[i].req;
            break;
        }
    }
    if (req == TG_REQ_NONE)
        return TG_DRAW_NONE;
    if (req == TG_REQ_SEARCH && ui->prompting == false && ch == '/') {
        /* `/` then Enter with nothing typed repeats the last search */
    }
    unsigned f = tg_views[ui->view]->request(ui, req);
    if (f & TG_DRAW_UNHANDLED)
        f = session_request(ui, req);
    return f;
}

/* ---- the frame ---- */
