/* tui/details.c: the Details view — the event under the cursor on the
 * selected lane: its thread, object, how long it waited or held, its
 * symbolised stack, and the lane's events around it. */
#include "tui/ui.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "trace/trace.h"

static bool is_req(unsigned k)
{
    return k == TG_EV_MUTEX_REQ || k == TG_EV_RD_REQ || k == TG_EV_WR_REQ || k == TG_EV_SPIN_REQ
           || k == TG_EV_SEM_REQ;
}

static bool is_acq(unsigned k)
{
    return k == TG_EV_MUTEX_ACQ || k == TG_EV_RD_ACQ || k == TG_EV_WR_ACQ || k == TG_EV_SPIN_ACQ
           || k == TG_EV_SEM_ACQ || k == TG_EV_MUTEX_TRY || k == TG_EV_RD_TRY
           || k == TG_EV_WR_TRY || k == TG_EV_SPIN_TRY || k == TG_EV_SEM_TRY
           || k == TG_EV_COND_WOKE;
}

static bool is_rel(unsigned k)
{
    return k == TG_EV_MUTEX_REL || k == TG_EV_RW_REL || k == TG_EV_SPIN_REL || k == TG_EV_SEM_POST
           || k == TG_EV_COND_WAIT;
}

static bool is_blocking(unsigned k)
{
    return is_req(k) || k == TG_EV_COND_WAIT || k == TG_EV_BARRIER_WAIT || k == TG_EV_JOIN_REQ
           || k == TG_EV_SLEEP_BEGIN;
}

/* The event at or before the cursor on a thread lane (skipping the
 * changes made by other threads). */
static size_t current_event(struct tg_ui *ui, uint32_t lane)
{
    size_t i = tg_tui_model_thread_step(ui->m, lane, ui->ax.cursor + 1, -1);
    if (i == SIZE_MAX)
        i = tg_tui_model_thread_step(ui->m, lane, ui->ax.cursor, 1);
    return i;
}

static const char *ev_name(unsigned kind)
{
    const char *n = tg_event_name(kind);
    return n ? n : "?";
}

/* One line about event I: "1.254003112s  MUTEX_ACQ  mutexA  waited 2s". */
static void event_line(struct tg_ui *ui, uint32_t lane, size_t i, char *buf, size_t len)
{
    struct tg_tui_seg s;
    char t[40], d[32];

    tg_tui_model_seg(ui->m, lane, i, &s);
    size_t at = (size_t)snprintf(buf, len, "%-14s %-14s %s", tg_fmt_time(ui, s.ts, 1, t, sizeof t),
                                 ev_name(s.kind),
                                 s.obj != TG_TUI_NONE ? tg_ui_object_name(ui, s.obj) : "");
    if (s.result != TG_OK && at < len)
        at += (size_t)snprintf(buf + at, len - at, "  → %s", tg_result_name(s.result));
    if (is_blocking(s.kind) && at < len) {
        uint64_t end = tg_tui_model_seg_end(ui->m, lane, i);
        uint64_t dur = end - s.ts;
        size_t n = tg_tui_model_thread(ui->m, lane)->nsegs;
        bool open = true;
        for (size_t k = i + 1; k < n && k < i + 64; k++) {
            struct tg_tui_seg o;
            tg_tui_model_seg(ui->m, lane, k, &o);
            if (o.kind != TG_EV_NONE) {
                dur = o.ts - s.ts;
                open = false;
                break;
            }
        }
        if (open && ui->ended) {
            snprintf(buf + at, len - at, "  still blocked when the trace ended");
            return;
        }
        if (open)
            dur = tg_tui_model_end(ui->m) - s.ts;
        snprintf(buf + at, len - at, "  %s %s", open ? "blocked for" : "blocked",
                 tg_fmt_time(ui, dur, dur / 100 + 1, d, sizeof d));
    }
}

/* How long the hold that event I starts lasted, or that a wait took. */
static void hold_info(struct tg_ui *ui, uint32_t lane, size_t i, char *buf, size_t len)
{
    struct tg_tui_seg s, o;
    char d[32], t[40];
    size_t n = tg_tui_model_thread(ui->m, lane)->nsegs;

    buf[0] = '\0';
    tg_tui_model_seg(ui->m, lane, i, &s);
    if (!is_acq(s.kind) || (s.result != TG_OK && s.kind != TG_EV_COND_WOKE))
        return;
    size_t at = 0;
    if (i > 0) {
        tg_tui_model_seg(ui->m, lane, i - 1, &o);
        if (is_req(o.kind) && o.obj == s.obj) {
            uint64_t w = s.ts - o.ts;
            at += (size_t)snprintf(buf, len, "acquired after waiting %s; ",
                                   tg_fmt_time(ui, w, w / 100 + 1, d, sizeof d));
        }
    }
    uint32_t lock = s.kind == TG_EV_COND_WOKE ? s.shown : s.obj;
    int depth = 1;
    for (size_t k = i + 1; k < n && k < i + 200000; k++) {
        tg_tui_model_seg(ui->m, lane, k, &o);
        bool same = o.obj == lock;
        if (is_acq(o.kind) && o.obj == lock && o.result == TG_OK)
            depth++;
        if (is_rel(o.kind) && same && o.result == TG_OK && --depth == 0) {
            uint64_t h = o.ts - s.ts;
            snprintf(buf + at, len - at, "held %s (released at %s)",
                     tg_fmt_time(ui, h, h / 100 + 1, d, sizeof d), tg_fmt_time(ui, o.ts, 1, t, sizeof t));
            return;
        }
    }
    snprintf(buf + at, len - at, "still held at the end of the trace");
}

static int draw_stack(struct tg_ui *ui, uint32_t process, uint32_t stack, int y, int maxy,
                      const char *title)
{
    char f[512];
    tg_paint_set(ui, TG_P_DIM);
    tg_draw_text(y, 2, 12, title, false);
    tg_paint_set(ui, TG_P_TEXT);
    if (stack == 0 || !tg_ui_frame(ui, process, stack, 0, f, sizeof f)) {
        tg_draw_text(y, 14, ui->cols - 15, stack ? "(stack not in the trace)" : "(no stack recorded)",
                     false);
        return y + 1;
    }
    for (uint32_t i = 0; y < maxy && tg_ui_frame(ui, process, stack, i, f, sizeof f); i++, y++)
        tg_draw_printf(y, 14, ui->cols - 15, "#%-2u %s", i, f);
    return y;
}

static void thread_details(struct tg_ui *ui, uint32_t lane, int top, int h)
{
    const struct tg_tui_thread *t = tg_tui_model_thread(ui->m, lane);
    const struct tg_thread_info *ti = ui->trace ? tg_trace_thread(ui->trace, t->index) : NULL;
    const struct tg_process_info *pi = ui->trace ? tg_trace_process(ui->trace, t->process) : NULL;
    char line[512], a[40];
    int y = top;

    tg_paint_set(ui, TG_P_TITLE);
    snprintf(line, sizeof line, " %s  T%" PRIu32 "%s%s", tg_ui_thread_name(ui, lane), t->index,
             ti ? "  tid " : "", "");
    if (ti)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%" PRIu32, ti->os_tid);
    if (pi)
        snprintf(line + strlen(line), sizeof line - strlen(line), "  pid %" PRIu32, pi->pid);
    snprintf(line + strlen(line), sizeof line - strlen(line), "  started %s",
             tg_fmt_time(ui, t->start_ts, 1, a, sizeof a));
    if (t->end_ts)
        snprintf(line + strlen(line), sizeof line - strlen(line), ", ended %s",
                 tg_fmt_time(ui, t->end_ts, 1, a, sizeof a));
    tg_draw_text(y++, 0, ui->cols, line, true);
    tg_paint_set(ui, TG_P_TEXT);

    size_t i = current_event(ui, lane);
    if (i == SIZE_MAX) {
        tg_draw_text(y + 1, 2, ui->cols - 4, "no event of this thread yet", false);
        return;
    }
    struct tg_tui_seg s;
    tg_tui_model_seg(ui->m, lane, i, &s);
    y++;
    event_line(ui, lane, i, line, sizeof line);
    tg_paint_set(ui, TG_P_DIM);
    tg_draw_text(y, 2, 12, "event", false);
    tg_paint_set(ui, TG_P_TEXT);
    tg_draw_text(y++, 14, ui->cols - 15, line, false);
    if (s.obj != TG_TUI_NONE) {
        const struct tg_tui_object *o = tg_tui_model_object(ui->m, s.obj);
        tg_paint_set(ui, TG_P_DIM);
        tg_draw_text(y, 2, 12, "object", false);
        tg_paint_set(ui, TG_P_TEXT);
        tg_draw_printf(y++, 14, ui->cols - 15, "%s: %s at %#" PRIx64 "%s",
                       tg_ui_object_name(ui, s.obj), tg_tui_objkind_name(o->kind), o->addr,
                       o->kind == TG_TUI_OBJ_MUTEX
                       ? (const char *[]){ "", " (recursive)", " (errorcheck)", " (adaptive)" }[o->mtype & 3]
                       : "");
    }
    hold_info(ui, lane, i, line, sizeof line);
    if (line[0]) {
        tg_paint_set(ui, TG_P_DIM);
        tg_draw_text(y, 2, 12, "hold", false);
        tg_paint_set(ui, TG_P_TEXT);
        tg_draw_text(y++, 14, ui->cols - 15, line, false);
    }
    /* stacks take up to half the view, the lane's events the rest */
    y = draw_stack(ui, t->process, s.stack, y, top + h / 2, "stack");
    if (ti && ti->create_stack && y < top + h / 2)
        y = draw_stack(ui, t->process, ti->create_stack, y, top + h / 2 + 2, "created at");
    int ly = y + 2;
    int list_rows = top + h - ly;
    if (list_rows < 1)
        return;
    tg_paint_set(ui, TG_P_DIM);
    tg_draw_printf(ly - 1, 0, ui->cols, "events of %s (↑↓ to step)", tg_ui_thread_name(ui, lane));
    tg_paint_set(ui, TG_P_TEXT);
    size_t n = t->nsegs, first = i > (size_t)list_rows / 2 ? i - (size_t)list_rows / 2 : 0;
    for (int r = 0; r < list_rows && first < n; first++) {
        struct tg_tui_seg o;
        tg_tui_model_seg(ui->m, lane, first, &o);
        if (o.kind == TG_EV_NONE)
            continue;
        event_line(ui, lane, first, line, sizeof line);
        tg_paint_set(ui, first == i ? TG_P_SELECT : TG_P_TEXT);
        tg_draw_text(ly + r, 0, 2, first == i ? (ui->utf8 ? "▶ " : "> ") : "  ", true);
        tg_draw_text(ly + r, 2, ui->cols - 2, line, true);
        r++;
    }
    tg_paint_set(ui, TG_P_TEXT);
}

static void lock_details(struct tg_ui *ui, uint32_t lock, int top, int h)
{
    uint32_t obj = tg_tui_model_lock_object(ui->m, lock);
    const struct tg_tui_object *o = tg_tui_model_object(ui->m, obj);
    char line[512], t[40];
    int y = top;

    tg_paint_set(ui, TG_P_TITLE);
    tg_draw_printf(y++, 0, ui->cols, " %s  %s at %#" PRIx64, tg_ui_object_name(ui, obj),
                   tg_tui_objkind_name(o->kind), o->addr);
    tg_paint_set(ui, TG_P_TEXT);
    y++;
    y = draw_stack(ui, o->process, o->site_stack, y, top + h / 2,
                   o->site_is_init ? "initialised" : "first used");
    int list_rows = top + h - y - 2;
    size_t i = tg_tui_model_lockseg_at(ui->m, lock, ui->ax.cursor);
    if (i == SIZE_MAX)
        i = 0;
    size_t n = tg_tui_model_lock_nsegs(ui->m, lock);
    tg_paint_set(ui, TG_P_DIM);
    tg_draw_text(y++, 0, ui->cols, "changes of this lock (↑↓ to step)", true);
    tg_paint_set(ui, TG_P_TEXT);
    size_t first = i > (size_t)list_rows / 2 ? i - (size_t)list_rows / 2 : 0;
    for (int r = 0; r < list_rows && first < n; r++, first++) {
        struct tg_tui_lockseg s;
        tg_tui_model_lockseg(ui->m, lock, first, &s);
        size_t at = (size_t)snprintf(line, sizeof line, "%-14s ", tg_fmt_time(ui, s.ts, 1, t, sizeof t));
        if (s.owner != TG_TUI_NONE)
            at += (size_t)snprintf(line + at, sizeof line - at, "held by %s",
                                   tg_ui_thread_name(ui, s.owner));
        else if (s.holders)
            at += (size_t)snprintf(line + at, sizeof line - at, "%u %s", s.holders,
                                   o->kind == TG_TUI_OBJ_SEM ? "units taken" : "readers");
        else
            at += (size_t)snprintf(line + at, sizeof line - at, "free");
        if (s.waiters)
            at += (size_t)snprintf(line + at, sizeof line - at, ", %u waiting", s.waiters);
        if (s.actor != TG_TUI_NONE && at < sizeof line)
            snprintf(line + at, sizeof line - at, "   (%s)", tg_ui_thread_name(ui, s.actor));
        tg_paint_set(ui, first == i ? TG_P_SELECT : TG_P_TEXT);
        tg_draw_text(y + r, 0, 2, first == i ? (ui->utf8 ? "▶ " : "> ") : "  ", true);
        tg_draw_text(y + r, 2, ui->cols - 2, line, true);
    }
    tg_paint_set(ui, TG_P_TEXT);
}

static void draw(struct tg_ui *ui, int top, int h)
{
    const struct tg_row *r = ui->sel < ui->nrows ? &ui->rows_v[ui->sel] : NULL;
    if (r == NULL || r->kind == TG_ROW_SEP) {
        tg_draw_text(top + 1, 2, ui->cols - 4, "select a thread or a lock on the timeline", false);
        return;
    }
    if (r->kind == TG_ROW_THREAD)
        thread_details(ui, r->lane, top, h);
    else
        lock_details(ui, r->lane, top, h);
}

static unsigned request(struct tg_ui *ui, enum tg_req req)
{
    const struct tg_row *r = ui->sel < ui->nrows ? &ui->rows_v[ui->sel] : NULL;
    switch (req) {
    case TG_REQ_UP: case TG_REQ_PREV_EVENT:
        if (r != NULL && r->kind == TG_ROW_THREAD) {
            /* from the event shown, not from the cursor's column */
            size_t i = current_event(ui, r->lane);
            struct tg_tui_seg s;
            if (i == SIZE_MAX)
                return TG_DRAW_NONE;
            tg_tui_model_seg(ui->m, r->lane, i, &s);
            ui->ax.cursor = s.ts;
        }
        return tg_ui_step_event(ui, r, -1);
    case TG_REQ_DOWN: case TG_REQ_NEXT_EVENT:
        return tg_ui_step_event(ui, r, 1);
    case TG_REQ_ENTER:
        ui->view = TG_VIEW_TIMELINE;
        return TG_DRAW_ALL;
    default:
        return TG_DRAW_UNHANDLED;
    }
}

const struct tg_view_ops tg_details_view = {
    .name = "Details",
    .draw = draw,
    .request = request,
    .hint = "?:help q:quit j/k or n/N:previous/next event h/l:cursor Enter:timeline Tab:views",
};
