/* tui/stats.c: the Stats view — `tangle stats` as tables: per lock
 * (mutrace's columns) and per thread (time in each state); `s` sorts the
 * table the selection is in by its next column, `r` reverses. */
#include "tui/ui.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LCOL_WAIT, LCOL_CONT, LCOL_ACQ, LCOL_WMAX, LCOL_HMAX, LCOL_HOLD, LCOL_FAIL, LCOL_CHG,
       LCOL_NAME, LCOL_N };
static const char *const lcol_names[LCOL_N] = {
    "total wait", "contended", "acquisitions", "longest wait", "longest hold", "total hold",
    "failed tries", "owner changes", "name",
};
enum { TCOL_WAIT, TCOL_RUN, TCOL_HOLD, TCOL_SLEEP, TCOL_EVENTS, TCOL_NAME, TCOL_N };
static const char *const tcol_names[TCOL_N] = {
    "waiting", "running", "holding", "sleeping", "events", "name",
};

struct trow {
    uint32_t lane;
    uint64_t t[TG_TUI_ST_COUNT];
};

static uint32_t *locks;
static struct trow *threads;
static size_t nlocks, nthreads;
static int list_top, list_rows;

static uint64_t lkey(const struct tg_tui_object *o, int col)
{
    switch (col) {
    case LCOL_WAIT: return o->wait_total;
    case LCOL_CONT: return o->contended;
    case LCOL_ACQ: return o->acquisitions;
    case LCOL_WMAX: return o->wait_max;
    case LCOL_HMAX: return o->hold_max;
    case LCOL_HOLD: return o->hold_total;
    case LCOL_FAIL: return o->try_failed;
    case LCOL_CHG: return o->owner_changes;
    default: return 0;
    }
}

static uint64_t waiting(const struct trow *r)
{
    return r->t[TG_TUI_ST_WAIT_LOCK] + r->t[TG_TUI_ST_WAIT_COND] + r->t[TG_TUI_ST_WAIT_SEM]
           + r->t[TG_TUI_ST_WAIT_BARRIER] + r->t[TG_TUI_ST_WAIT_JOIN];
}

static uint64_t tkey(struct tg_ui *ui, const struct trow *r, int col)
{
    switch (col) {
    case TCOL_WAIT: return waiting(r);
    case TCOL_RUN: return r->t[TG_TUI_ST_RUN] + r->t[TG_TUI_ST_HOLD];
    case TCOL_HOLD: return r->t[TG_TUI_ST_HOLD];
    case TCOL_SLEEP: return r->t[TG_TUI_ST_SLEEP];
    case TCOL_EVENTS: return tg_tui_model_thread(ui->m, r->lane)->nsegs;
    default: return 0;
    }
}

static int cmp_locks(const void *a, const void *b, void *ctx)
{
    struct tg_ui *ui = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int r;
    if (ui->stats_sort == LCOL_NAME) {
        r = strcmp(tg_ui_object_name(ui, x), tg_ui_object_name(ui, y));
    } else {
        uint64_t kx = lkey(tg_tui_model_object(ui->m, x), ui->stats_sort);
        uint64_t ky = lkey(tg_tui_model_object(ui->m, y), ui->stats_sort);
        r = kx > ky ? -1 : kx < ky ? 1 : (x > y) - (x < y);
    }
    return ui->stats_sort_rev ? -r : r;
}

static int cmp_threads(const void *a, const void *b, void *ctx)
{
    struct tg_ui *ui = ctx;
    const struct trow *x = a, *y = b;
    int r;
    if (ui->thread_sort == TCOL_NAME) {
        r = strcmp(tg_ui_thread_name(ui, x->lane), tg_ui_thread_name(ui, y->lane));
    } else {
        uint64_t kx = tkey(ui, x, ui->thread_sort), ky = tkey(ui, y, ui->thread_sort);
        r = kx > ky ? -1 : kx < ky ? 1 : (x->lane > y->lane) - (x->lane < y->lane);
    }
    return ui->thread_sort_rev ? -r : r;
}

static void collect(struct tg_ui *ui)
{
    size_t nl = tg_tui_model_nlocks(ui->m), nt = tg_tui_model_nthreads(ui->m);
    uint32_t *l = realloc(locks, (nl ? nl : 1) * sizeof *l);
    struct trow *t = realloc(threads, (nt ? nt : 1) * sizeof *t);
    if (l != NULL)
        locks = l;
    if (t != NULL)
        threads = t;
    if (l == NULL || t == NULL) {
        nlocks = nthreads = 0;
        return;
    }
    nlocks = nl;
    nthreads = nt;
    for (size_t i = 0; i < nl; i++)
        locks[i] = tg_tui_model_lock_object(ui->m, i);
    uint64_t start = tg_tui_model_start(ui->m);
    uint64_t end = ui->ended ? ui->trace_end : tg_tui_model_end(ui->m);
    for (size_t i = 0; i < nt; i++) {
        threads[i].lane = (uint32_t)i;
        tg_tui_model_thread_time(ui->m, i, start, end + 1, threads[i].t);
    }
    qsort_r(locks, nlocks, sizeof *locks, cmp_locks, ui);
    qsort_r(threads, nthreads, sizeof *threads, cmp_threads, ui);
}

static const char *dur(struct tg_ui *ui, uint64_t ns, char *buf, size_t len)
{
    if (ns == 0)
        return "-";
    return tg_fmt_time(ui, ns, ns / 100 + 1, buf, len);
}

/* Lines of the list: a header, the locks, a blank, a header, the threads. */
static size_t nlines(void)
{
    return 1 + nlocks + 2 + nthreads;
}

static bool selectable(size_t i)
{
    return (i >= 1 && i < 1 + nlocks) || (i >= nlocks + 3 && i < nlines());
}

static void line(struct tg_ui *ui, size_t i, int y)
{
    char a[32], b[32], c[32], d[32], e[32], buf[512];
    int nw = ui->cols - 62;
    if (nw < 12)
        nw = 12;
    bool sel = i == ui->stats_sel;
    tg_paint_set(ui, sel ? TG_P_SELECT : TG_P_TEXT);
    if (i == 0) {
        tg_paint_set(ui, TG_P_TITLE);
        snprintf(buf, sizeof buf, "%-*.*s %9s %9s %9s %9s %9s %9s", nw, nw, "lock",
                 "acquired", "contended", "waited", "max wait", "max hold", "changes");
    } else if (i < 1 + nlocks) {
        const struct tg_tui_object *o = tg_tui_model_object(ui->m, locks[i - 1]);
        char acq[24], cont[24], chg[24];
        snprintf(acq, sizeof acq, "%" PRIu64, o->acquisitions);
        snprintf(cont, sizeof cont, "%" PRIu64, o->contended);
        snprintf(chg, sizeof chg, "%" PRIu64, o->owner_changes);
        snprintf(buf, sizeof buf, "%-*.*s %9s %9s %9s %9s %9s %9s", nw, nw,
                 tg_ui_object_name(ui, locks[i - 1]), acq, cont, dur(ui, o->wait_total, a, sizeof a),
                 dur(ui, o->wait_max, b, sizeof b), dur(ui, o->hold_max, c, sizeof c), chg);
    } else if (i == 1 + nlocks) {
        buf[0] = '\0';
    } else if (i == 2 + nlocks) {
        tg_paint_set(ui, TG_P_TITLE);
        snprintf(buf, sizeof buf, "%-*.*s %9s %9s %9s %9s %9s %9s", nw, nw, "thread",
                 "running", "holding", "lock wait", "other wait", "sleeping", "events");
    } else {
        const struct trow *r = &threads[i - nlocks - 3];
        char ev[24];
        snprintf(ev, sizeof ev, "%zu", tg_tui_model_thread(ui->m, r->lane)->nsegs);
        snprintf(buf, sizeof buf, "%-*.*s %9s %9s %9s %9s %9s %9s", nw, nw,
                 tg_ui_thread_name(ui, r->lane),
                 dur(ui, r->t[TG_TUI_ST_RUN] + r->t[TG_TUI_ST_HOLD], a, sizeof a),
                 dur(ui, r->t[TG_TUI_ST_HOLD], b, sizeof b),
                 dur(ui, r->t[TG_TUI_ST_WAIT_LOCK], c, sizeof c),
                 dur(ui, waiting(r) - r->t[TG_TUI_ST_WAIT_LOCK], d, sizeof d),
                 dur(ui, r->t[TG_TUI_ST_SLEEP], e, sizeof e), ev);
    }
    tg_draw_text(y, 0, ui->cols, buf, true);
    tg_paint_set(ui, TG_P_TEXT);
}

static void draw(struct tg_ui *ui, int top, int h)
{
    collect(ui);
    size_t n = nlines();
    if (!selectable(ui->stats_sel))
        ui->stats_sel = nlocks ? 1 : nlocks + 3;
    list_top = top + 1;
    list_rows = h - 1;
    char head[160];
    snprintf(head, sizeof head, "locks by %s%s, threads by %s%s (s: sort the table, r: reverse)",
             lcol_names[ui->stats_sort], ui->stats_sort_rev ? " (reversed)" : "",
             tcol_names[ui->thread_sort], ui->thread_sort_rev ? " (reversed)" : "");
    tg_paint_set(ui, TG_P_DIM);
    tg_draw_text(top, 0, ui->cols, head, true);
    tg_paint_set(ui, TG_P_TEXT);
    tg_list_scroll(n, ui->stats_sel, list_rows, &ui->stats_top);
    for (int r = 0; r < list_rows && ui->stats_top + (size_t)r < n; r++)
        line(ui, ui->stats_top + (size_t)r, list_top + r);
}

static unsigned request(struct tg_ui *ui, enum tg_req req)
{
    size_t n = nlines(), i = ui->stats_sel;
    switch (req) {
    case TG_REQ_SORT: case TG_REQ_REVERSE:
        if (i < 1 + nlocks) {
            if (req == TG_REQ_SORT)
                ui->stats_sort = (ui->stats_sort + 1) % LCOL_N;
            else
                ui->stats_sort_rev = !ui->stats_sort_rev;
        } else if (req == TG_REQ_SORT) {
            ui->thread_sort = (ui->thread_sort + 1) % TCOL_N;
        } else {
            ui->thread_sort_rev = !ui->thread_sort_rev;
        }
        return TG_DRAW_BODY;
    case TG_REQ_UP:
        while (i > 0 && !selectable(--i))
            ;
        if (selectable(i))
            ui->stats_sel = i;
        return TG_DRAW_BODY;
    case TG_REQ_DOWN:
        while (i + 1 < n && !selectable(++i))
            ;
        if (selectable(i))
            ui->stats_sel = i;
        return TG_DRAW_BODY;
    case TG_REQ_HOME: case TG_REQ_END: case TG_REQ_PAGE_UP: case TG_REQ_PAGE_DOWN: {
        unsigned f = tg_list_request(req, n, list_rows, &i);
        while (i > 0 && !selectable(i))
            i--;
        while (i + 1 < n && !selectable(i))
            i++;
        if (selectable(i))
            ui->stats_sel = i;
        return f;
    }
    case TG_REQ_ENTER:
        if (i >= 1 && i < 1 + nlocks) {
            uint32_t lane = tg_tui_model_object(ui->m, locks[i - 1])->lock_lane;
            tg_ui_select_lock(ui, lane);
        } else if (i >= nlocks + 3 && i < n) {
            tg_ui_select_thread(ui, threads[i - nlocks - 3].lane);
        } else {
            return TG_DRAW_NONE;
        }
        ui->view = TG_VIEW_TIMELINE;
        return TG_DRAW_ALL;
    default:
        return TG_DRAW_UNHANDLED;
    }
}

static unsigned click(struct tg_ui *ui, int y, int x, bool dbl)
{
    (void)x;
    if (y < list_top || y >= list_top + list_rows)
        return TG_DRAW_NONE;
    size_t i = ui->stats_top + (size_t)(y - list_top);
    if (!selectable(i))
        return TG_DRAW_NONE;
    ui->stats_sel = i;
    return dbl ? request(ui, TG_REQ_ENTER) : TG_DRAW_BODY;
}

const struct tg_view_ops tg_stats_view = {
    .name = "Stats",
    .draw = draw,
    .request = request,
    .click = click,
    .hint = "?:help q:quit j/k:select s:sort r:reverse Enter:show on the timeline Tab:views",
};
