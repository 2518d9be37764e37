/* tui/draw.c: colours with a monochrome fallback, text in columns, and the
 * pieces the lane views share: the ruler, a lane's cells, the legend. */
#include "tui/ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static attr_t paints[TG_P_LOCK0 + TG_NLOCK_COLOURS];

void tg_draw_init_colours(struct tg_ui *ui)
{
    /* monochrome: every state still has its own glyph; attributes help */
    static const attr_t mono[TG_P_LOCK0] = {
        [TG_P_TEXT] = A_NORMAL, [TG_P_TITLE] = A_BOLD, [TG_P_TAB] = A_REVERSE,
        [TG_P_TAB_ACTIVE] = A_BOLD, [TG_P_STATUS] = A_REVERSE, [TG_P_DIM] = A_DIM,
        [TG_P_SELECT] = A_REVERSE, [TG_P_HILITE] = A_BOLD | A_UNDERLINE,
        [TG_P_WARN] = A_BOLD, [TG_P_CURSOR] = A_REVERSE, [TG_P_RUN] = A_NORMAL,
        [TG_P_WAIT_LOCK] = A_BOLD, [TG_P_WAIT_COND] = A_NORMAL, [TG_P_WAIT_OTHER] = A_NORMAL,
        [TG_P_SLEEP] = A_DIM, [TG_P_MARK_FAIL] = A_BOLD, [TG_P_MARK_FINDING] = A_BOLD | A_REVERSE,
        [TG_P_FREE] = A_DIM,
    };
    static const struct { short fg, bg; attr_t extra; } col[TG_P_LOCK0 + TG_NLOCK_COLOURS] = {
        [TG_P_TEXT] = { -1, -1, 0 }, [TG_P_TITLE] = { COLOR_WHITE, COLOR_BLUE, A_BOLD },
        [TG_P_TAB] = { COLOR_WHITE, COLOR_BLUE, 0 },
        [TG_P_TAB_ACTIVE] = { COLOR_BLACK, COLOR_CYAN, A_BOLD },
        [TG_P_STATUS] = { COLOR_BLACK, COLOR_WHITE, 0 }, [TG_P_DIM] = { -1, -1, A_DIM },
        [TG_P_SELECT] = { COLOR_BLACK, COLOR_CYAN, 0 }, [TG_P_HILITE] = { COLOR_RED, -1, A_BOLD },
        [TG_P_WARN] = { COLOR_YELLOW, COLOR_BLUE, A_BOLD }, [TG_P_CURSOR] = { -1, -1, A_REVERSE },
        [TG_P_RUN] = { COLOR_GREEN, -1, 0 }, [TG_P_WAIT_LOCK] = { COLOR_RED, -1, A_BOLD },
        [TG_P_WAIT_COND] = { COLOR_YELLOW, -1, 0 }, [TG_P_WAIT_OTHER] = { COLOR_MAGENTA, -1, 0 },
        [TG_P_SLEEP] = { COLOR_BLUE, -1, A_BOLD }, [TG_P_MARK_FAIL] = { COLOR_RED, -1, A_BOLD },
        [TG_P_MARK_FINDING] = { COLOR_WHITE, COLOR_RED, A_BOLD }, [TG_P_FREE] = { -1, -1, A_DIM },
        [TG_P_LOCK0 + 0] = { COLOR_CYAN, -1, A_BOLD }, [TG_P_LOCK0 + 1] = { COLOR_MAGENTA, -1, A_BOLD },
        [TG_P_LOCK0 + 2] = { COLOR_YELLOW, -1, A_BOLD }, [TG_P_LOCK0 + 3] = { COLOR_BLUE, -1, A_BOLD },
        [TG_P_LOCK0 + 4] = { COLOR_WHITE, -1, A_BOLD },
    };
    for (int p = 0; p < TG_P_LOCK0 + TG_NLOCK_COLOURS; p++) {
        if (!ui->colour) {
            paints[p] = p < TG_P_LOCK0 ? mono[p] : A_BOLD;
            continue;
        }
        init_pair((short)(p + 1), col[p].fg, col[p].bg);
        paints[p] = COLOR_PAIR(p + 1) | col[p].extra;
    }
}

attr_t tg_paint(const struct tg_ui *ui, enum tg_paint p)
{
    (void)ui;
    return paints[p];
}

void tg_paint_set(const struct tg_ui *ui, enum tg_paint p)
{
    attrset(tg_paint(ui, p));
}

attr_t tg_lock_paint(const struct tg_ui *ui, uint32_t obj)
{
    const struct tg_tui_object *o = tg_tui_model_object(ui->m, obj);
    uint32_t k = o && o->lock_lane != TG_TUI_NONE ? o->lock_lane : obj;
    return paints[TG_P_LOCK0 + k % TG_NLOCK_COLOURS];
}

/* ---- text ---- */

int tg_draw_text(int y, int x, int w, const char *s, bool pad)
{
    mbstate_t st;
    int col = 0;

    memset(&st, 0, sizeof st);
    move(y, x);
    while (*s && col < w) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s, strlen(s), &st);
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
            wc = L'?';
            n = 1;
            memset(&st, 0, sizeof st);
        }
        int cw = wcwidth(wc);
        if (cw < 0) {
            wc = L'?';
            cw = 1;
        }
        if (col + cw > w)
            break;
        addnwstr(&wc, 1);
        col += cw;
        s += n;
    }
    if (pad)
        for (; col < w; col++)
            addch(' ');
    return col;
}

void tg_draw_fill(int y, int x, int w, attr_t attr)
{
    attr_t old;
    short pair;
    attr_get(&old, &pair, NULL);
    attrset(attr);
    mvhline(y, x, ' ', w);
    attr_set(old, pair, NULL);
}

void tg_draw_printf(int y, int x, int w, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tg_draw_text(y, x, w, buf, true);
}

const char *tg_fmt_time(const struct tg_ui *ui, uint64_t ns, uint64_t step, char *buf, size_t len)
{
    return tg_tui_format_time(ns, step, ui->utf8, buf, len);
}

/* ---- cells ---- */

static struct tg_tui_cell *cells;
static cchar_t *cch;
static size_t ncells;

static bool scratch(size_t n)
{
    if (n <= ncells)
        return true;
    struct tg_tui_cell *c = realloc(cells, n * sizeof *c);
    if (c == NULL)
        return false;
    cells = c;
    cchar_t *h = realloc(cch, n * sizeof *h);
    if (h == NULL)
        return false;
    cch = h;
    ncells = n;
    return true;
}

static wchar_t thread_glyph(const struct tg_ui *ui, unsigned st)
{
    static const wchar_t u[TG_TUI_ST_COUNT] = {
        L' ', L'─', L'━', L'░', L'┄', L'▒', L'▒', L'▒', L'·', L' ',
    };
    static const wchar_t a[TG_TUI_ST_COUNT] = {
        L' ', L'-', L'=', L'#', L'~', L'%', L'%', L'%', L'.', L' ',
    };
    return st < TG_TUI_ST_COUNT ? (ui->utf8 ? u : a)[st] : L'?';
}

static wchar_t lock_glyph(const struct tg_ui *ui, unsigned st)
{
    static const wchar_t u[TG_TUI_LK_COUNT] = { L' ', L' ', L'━', L'═', L'▓' };
    static const wchar_t a[TG_TUI_LK_COUNT] = { L' ', L' ', L'=', L':', L'#' };
    return st < TG_TUI_LK_COUNT ? (ui->utf8 ? u : a)[st] : L'?';
}

static wchar_t mark_glyph(const struct tg_ui *ui, unsigned mark)
{
    static const wchar_t u[] = { L' ', L'×', L'!', L'?', L'◆' };
    static const wchar_t a[] = { L' ', L'x', L'!', L'?', L'*' };
    return (ui->utf8 ? u : a)[mark];
}

static attr_t thread_attr(const struct tg_ui *ui, const struct tg_tui_cell *c)
{
    switch (c->state) {
    case TG_TUI_ST_RUN: return paints[TG_P_RUN];
    case TG_TUI_ST_HOLD: return tg_lock_paint(ui, c->obj);
    case TG_TUI_ST_WAIT_LOCK: return paints[TG_P_WAIT_LOCK];
    case TG_TUI_ST_WAIT_COND: return paints[TG_P_WAIT_COND];
    case TG_TUI_ST_WAIT_SEM: case TG_TUI_ST_WAIT_BARRIER: case TG_TUI_ST_WAIT_JOIN:
        return paints[TG_P_WAIT_OTHER];
    case TG_TUI_ST_SLEEP: return paints[TG_P_SLEEP];
    default: return paints[TG_P_TEXT];
    }
}

static attr_t mark_attr(unsigned mark)
{
    return mark == TG_TUI_MARK_FINDING ? paints[TG_P_MARK_FINDING] : paints[TG_P_MARK_FAIL];
}

/* The text written over a run of equal cells. */
static const char *thread_label(struct tg_ui *ui, const struct tg_tui_cell *c, char *buf,
                                size_t len)
{
    if (c->obj == TG_TUI_NONE)
        return NULL;
    switch (c->state) {
    case TG_TUI_ST_HOLD: case TG_TUI_ST_WAIT_LOCK: case TG_TUI_ST_WAIT_COND:
    case TG_TUI_ST_WAIT_SEM: case TG_TUI_ST_WAIT_BARRIER: case TG_TUI_ST_SLEEP:
        return tg_ui_object_short(ui, c->obj, buf, len);
    case TG_TUI_ST_WAIT_JOIN: {
        const struct tg_tui_object *o = tg_tui_model_object(ui->m, c->obj);
        if (o == NULL || o->target_lane == TG_TUI_NONE)
            return "join";
        snprintf(buf, len, "join %s", tg_ui_thread_name(ui, o->target_lane));
        return buf;
    }
    default:
        return NULL;
    }
}

/* WAITING: the most threads waiting during the run (0: not contended). */
static const char *lock_label(struct tg_ui *ui, uint32_t lock, const struct tg_tui_cell *c,
                              unsigned waiting, char *buf, size_t len)
{
    const struct tg_tui_object *o = tg_tui_model_object(ui->m, tg_tui_model_lock_object(ui->m, lock));
    const char *units = o->kind == TG_TUI_OBJ_SEM ? "held" : "readers";
    char wait[32] = "";

    if (waiting > 0)
        snprintf(wait, sizeof wait, " +%u waiting", waiting);
    switch (c->state) {
    case TG_TUI_LK_HELD: case TG_TUI_LK_SHARED: case TG_TUI_LK_CONTENDED:
        if (c->obj != TG_TUI_NONE)
            snprintf(buf, len, "%s%s", tg_ui_thread_name(ui, c->obj), wait);
        else if (c->holders > 0)
            snprintf(buf, len, "%u %s%s", c->holders, units, wait);
        else
            snprintf(buf, len, "%s", wait[0] ? wait + 2 : "");
        return buf[0] ? buf : NULL;
    default:
        return NULL;
    }
}

static void put(cchar_t *cc, wchar_t wc, attr_t attr)
{
    wchar_t s[2] = { wc, 0 };
    setcchar(cc, s, attr & ~A_COLOR, (short)PAIR_NUMBER(attr), NULL);
}

/* Writes LABEL into cells [at, at + its width) of the line. */
static void put_label(cchar_t *line, int at, int room, const char *label, attr_t attr)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    for (int k = 0; *label && k < room;) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, label, strlen(label), &st);
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0)
            break;
        if (wcwidth(wc) != 1)
            wc = L'?';
        put(&line[at + k], wc, attr | A_BOLD);
        label += n;
        k++;
    }
}

static int label_width(const char *s)
{
    int n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* Runs of equal cells get their label when it fits with a cell either side. */
typedef const char *(*label_fn)(struct tg_ui *ui, uint32_t lane, const struct tg_tui_cell *c,
                                char *buf, size_t len);

static const char *thread_label_fn(struct tg_ui *ui, uint32_t lane, const struct tg_tui_cell *c,
                                   char *buf, size_t len)
{
    (void)lane;
    return thread_label(ui, c, buf, len);
}

static unsigned run_waiting;        /* labels(): the most waiting in the lock run */

/* A run is cells of one state and object (and, on thread lanes, count);
 * a lock lane's run keeps the count of its first cell in its label. */
static void labels(struct tg_ui *ui, uint32_t lane, int w, label_fn fn, attr_t (*attr_of)(
                       const struct tg_ui *, const struct tg_tui_cell *), bool by_count)
{
    for (int s = 0; s < w;) {
        int e = s + 1;
        while (e < w && cells[e].state == cells[s].state && cells[e].obj == cells[s].obj
               && (!by_count || cells[e].count == cells[s].count)
               && (by_count || cells[e].state != TG_TUI_LK_SHARED
                   || cells[e].holders == cells[s].holders))
            e++;
        char buf[96];
        run_waiting = 0;
        for (int k = s; k < e; k++)
            if (cells[k].count > run_waiting)
                run_waiting = cells[k].count;
        const char *label = cells[s].state ? fn(ui, lane, &cells[s], buf, sizeof buf) : NULL;
        if (label != NULL) {
            int lw = label_width(label);
            if (e - s >= lw + 2)
                put_label(cch, s + 1, lw, label, attr_of(ui, &cells[s]));
        }
        s = e;
    }
}

static void finish_line(struct tg_ui *ui, int y, int x, int w)
{
    int cur = tg_axis_col(&ui->ax, ui->ax.cursor);
    for (int c = 0; c < w; c++) {
        if (cells[c].mark != TG_TUI_MARK_NONE)
            put(&cch[c], mark_glyph(ui, cells[c].mark), mark_attr(cells[c].mark));
    }
    if (cur >= 0 && cur < w) {
        wchar_t wc[CCHARW_MAX];
        attr_t a;
        short pair;
        getcchar(&cch[cur], wc, &a, &pair, NULL);
        setcchar(&cch[cur], wc, a | A_REVERSE, pair, NULL);
    }
    mvadd_wchnstr(y, x, cch, w);
}

void tg_draw_thread_lane(struct tg_ui *ui, uint32_t lane, int y, int x, int w)
{
    if (w <= 0 || !scratch((size_t)w))
        return;
    tg_tui_model_bin_thread(ui->m, lane, ui->ax.t0, ui->ax.step, cells, (size_t)w);
    for (int c = 0; c < w; c++)
        put(&cch[c], thread_glyph(ui, cells[c].state), thread_attr(ui, &cells[c]));
    labels(ui, lane, w, thread_label_fn, thread_attr, true);
    finish_line(ui, y, x, w);
}

static attr_t lock_attr(const struct tg_ui *ui, const struct tg_tui_cell *c)
{
    switch (c->state) {
    case TG_TUI_LK_HELD: case TG_TUI_LK_SHARED:
        return c->obj != TG_TUI_NONE ? paints[TG_P_LOCK0 + c->obj % TG_NLOCK_COLOURS]
                                     : paints[TG_P_RUN];
    case TG_TUI_LK_CONTENDED: return paints[TG_P_WAIT_LOCK];
    default: (void)ui; return paints[TG_P_FREE];
    }
}

static const char *lock_label_fn(struct tg_ui *ui, uint32_t lane, const struct tg_tui_cell *c,
                                 char *buf, size_t len)
{
    return lock_label(ui, lane, c, run_waiting, buf, len);
}

void tg_draw_lock_lane(struct tg_ui *ui, uint32_t lock, int y, int x, int w)
{
    if (w <= 0 || !scratch((size_t)w))
        return;
    tg_tui_model_bin_lock(ui->m, lock, ui->ax.t0, ui->ax.step, cells, (size_t)w);
    for (int c = 0; c < w; c++) {
        if (cells[c].state == TG_TUI_LK_FREE && cells[c].minor > TG_TUI_LK_FREE)
            /* mostly free, but taken for a moment: a dot, red if someone waited */
            put(&cch[c], ui->utf8 ? L'·' : L'.', cells[c].minor == TG_TUI_LK_CONTENDED
                ? paints[TG_P_WAIT_LOCK] : paints[TG_P_DIM]);
        else
            put(&cch[c], lock_glyph(ui, cells[c].state), lock_attr(ui, &cells[c]));
    }
    labels(ui, lock, w, lock_label_fn, lock_attr, false);
    finish_line(ui, y, x, w);
}

/* ---- the ruler ---- */

void tg_draw_ruler(struct tg_ui *ui, int y, int x, int w)
{
    struct tg_axis *ax = &ui->ax;
    uint64_t tick = tg_axis_tick(ax, 10);
    char buf[32];

    tg_paint_set(ui, TG_P_DIM);
    mvhline(y, x, ' ', w);
    for (int c = 0; c < w; c++) {
        uint64_t t = tg_axis_time(ax, c);
        if (t % tick != 0)
            continue;
        tg_fmt_time(ui, t, tick, buf, sizeof buf);
        int room = (int)(tick / ax->step) - 1;
        mvaddch(y, x + c, '|');
        if (room > 0)
            tg_draw_text(y, x + c + 1, room < w - c - 1 ? room : w - c - 1, buf, false);
    }
    /* findings, then the cursor, over the ticks */
    tg_paint_set(ui, TG_P_MARK_FINDING);
    for (size_t i = 0; i < tg_tui_model_nfindings(ui->m); i++) {
        int c = tg_axis_col(ax, tg_tui_model_finding(ui->m, i)->ts);
        if (c >= 0)
            tg_draw_text(y, x + c, 1, ui->utf8 ? "◆" : "*", false);
    }
    int cur = tg_axis_col(ax, ax->cursor);
    tg_paint_set(ui, TG_P_TITLE);
    if (cur >= 0)
        tg_draw_text(y, x + cur, 1, ui->utf8 ? "▼" : "v", false);
    tg_paint_set(ui, TG_P_TEXT);
}

/* ---- the legend ---- */

void tg_draw_legend(struct tg_ui *ui, int y, int x, int w)
{
    static const struct { enum tg_paint p; const char *u, *a, *text; } items[] = {
        { TG_P_RUN, "─", "-", "run" }, { TG_P_LOCK0, "━", "=", "hold" },
        { TG_P_WAIT_LOCK, "░", "#", "lock wait" }, { TG_P_WAIT_COND, "┄", "~", "cond" },
        { TG_P_WAIT_OTHER, "▒", "%", "sem/barrier/join" }, { TG_P_SLEEP, "·", ".", "sleep" },
        { TG_P_MARK_FAIL, "×", "x", "failed" }, { TG_P_MARK_FAIL, "!", "!", "error" },
        { TG_P_MARK_FINDING, "◆", "*", "finding" },
    };
    int col = x;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        int need = 1 + (int)strlen(items[i].text) + (w < 100 ? 1 : 2) - 1;
        if (col + need > x + w)
            break;
        tg_paint_set(ui, items[i].p);
        col += tg_draw_text(y, col, 1, ui->utf8 ? items[i].u : items[i].a, false);
        tg_paint_set(ui, TG_P_DIM);
        col += tg_draw_text(y, col, x + w - col, items[i].text, false);
        col += tg_draw_text(y, col, x + w - col, w < 100 ? " " : "  ", false);
    }
    tg_paint_set(ui, TG_P_TEXT);
}

/* ---- lists ---- */

void tg_list_scroll(size_t n, size_t sel, int rows, size_t *top)
{
    size_t r = rows > 0 ? (size_t)rows : 1;
    if (sel < *top)
        *top = sel;
    else if (sel >= *top + r)
        *top = sel - r + 1;
    if (n <= r)
        *top = 0;
    else if (*top > n - r)
        *top = n - r;
}

unsigned tg_list_request(enum tg_req req, size_t n, int rows, size_t *sel)
{
    size_t page = rows > 1 ? (size_t)rows - 1 : 1;
    if (n == 0)
        return req == TG_REQ_UP || req == TG_REQ_DOWN || req == TG_REQ_PAGE_UP
               || req == TG_REQ_PAGE_DOWN || req == TG_REQ_HOME || req == TG_REQ_END
               ? TG_DRAW_NONE : TG_DRAW_UNHANDLED;
    switch (req) {
    case TG_REQ_UP: if (*sel > 0) (*sel)--; break;
    case TG_REQ_DOWN: if (*sel + 1 < n) (*sel)++; break;
    case TG_REQ_PAGE_UP: *sel = *sel > page ? *sel - page : 0; break;
    case TG_REQ_PAGE_DOWN: *sel = *sel + page < n ? *sel + page : n - 1; break;
    case TG_REQ_HOME: *sel = 0; break;
    case TG_REQ_END: *sel = n - 1; break;
    default: return TG_DRAW_UNHANDLED;
    }
    return TG_DRAW_BODY;
}
