/* tui/live.c: the session's API (tui.h) — what the caller feeds, the pump
 * that reads keys and redraws at most ten times a second, and the frame
 * around the views: tabs and state on top, hints or messages at the bottom. */
#include "tui/ui.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace/trace.h"

struct tg_tui_live {
    struct tg_ui ui;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void draw_tabs(struct tg_ui *ui)
{
    size_t nf = tg_tui_model_nfindings(ui->m);
    int x = 0;

    tg_draw_fill(0, 0, ui->cols, tg_paint(ui, TG_P_TAB));
    for (int v = 0; v < TG_VIEW_COUNT; v++) {
        char label[48];
        const char *pad = ui->cols < 100 ? "" : " ";    /* 80 columns: room for the state */
        if (v == TG_VIEW_FINDINGS && nf > 0)
            snprintf(label, sizeof label, " %d %s:%zu%s", v + 1, tg_views[v]->name, nf, pad);
        else
            snprintf(label, sizeof label, " %d %s%s", v + 1, tg_views[v]->name, pad);
        tg_paint_set(ui, v == (int)ui->view ? TG_P_TAB_ACTIVE : TG_P_TAB);
        ui->tab_x[v] = x;
        x += tg_draw_text(0, x, ui->cols - x, label, false);
    }
    ui->tab_x[TG_VIEW_COUNT] = x;

    /* right: what this is and how it stands; the state wins the room */
    char state[64] = "";
    if (!ui->ended && ui->live)
        snprintf(state, sizeof state, "%s live", ui->follow ? (ui->utf8 ? "▶" : ">") : "||");
    else if (!ui->ended)
        snprintf(state, sizeof state, "reading %llu events%s",
                 (unsigned long long)tg_tui_model_events(ui->m), ui->utf8 ? "…" : "...");
    else if (ui->ended && ui->exit_status >= 0 && (ui->exit_status & 0x7f) == 0)
        snprintf(state, sizeof state, "exit %d", (ui->exit_status >> 8) & 0xff);
    else if (ui->ended && ui->exit_status >= 0 && sigabbrev_np(ui->exit_status & 0x7f))
        snprintf(state, sizeof state, "killed by SIG%s", sigabbrev_np(ui->exit_status & 0x7f));
    else if (ui->ended && ui->exit_status >= 0)
        snprintf(state, sizeof state, "killed by signal %d", ui->exit_status & 0x7f);
    const char *slash = strrchr(ui->title, '/');
    const char *title = slash && slash[1] ? slash + 1 : ui->title;
    char right[400];
    int room = ui->cols - x - 2;
    snprintf(right, sizeof right, "%s%s%s", title, state[0] ? "  " : "", state);
    if ((int)strlen(right) > room)
        snprintf(right, sizeof right, "%s", state);
    tg_paint_set(ui, TG_P_TAB);
    int w = 0;
    for (const char *p = right; *p; p++)
        w += ((unsigned char)*p & 0xc0) != 0x80;
    if (w <= room && w > 0)
        tg_draw_text(0, ui->cols - w - 1, w, right, false);
    if (ui->warning[0] && room - w > 12) {
        tg_paint_set(ui, TG_P_WARN);
        tg_draw_text(0, x + 1, room - w - 2, ui->warning, false);
    }
    tg_paint_set(ui, TG_P_TEXT);
}

static void draw_hint(struct tg_ui *ui)
{
    int y = ui->rows - 1;
    if (ui->prompting) {
        tg_paint_set(ui, TG_P_STATUS);
        tg_draw_fill(y, 0, ui->cols, tg_paint(ui, TG_P_STATUS));
        char line[128];
        snprintf(line, sizeof line, "find thread or lock: %.*s_", (int)ui->nprompt, ui->prompt);
        tg_draw_text(y, 0, ui->cols, line, true);
    } else if (ui->message[0]) {
        tg_paint_set(ui, ui->message_warn ? TG_P_WARN : TG_P_STATUS);
        tg_draw_fill(y, 0, ui->cols, tg_paint(ui, ui->message_warn ? TG_P_WARN : TG_P_STATUS));
        tg_draw_text(y, 0, ui->cols, ui->message, true);
    } else {
        tg_paint_set(ui, TG_P_DIM);
        tg_draw_text(y, 0, ui->cols, tg_views[ui->view]->hint, true);
    }
    tg_paint_set(ui, TG_P_TEXT);
}

static void draw(struct tg_ui *ui)
{
    getmaxyx(stdscr, ui->rows, ui->cols);
    if (ui->need_clear) {
        clearok(curscr, TRUE);
        ui->need_clear = false;
    }
    erase();
    if (ui->rows < 6 || ui->cols < 30) {
        tg_draw_text(0, 0, ui->cols, "terminal too small", false);
    } else {
        draw_tabs(ui);
        tg_views[ui->view]->draw(ui, 1, ui->rows - 2);
        draw_hint(ui);
        if (ui->help)
            tg_help_draw(ui);
    }
    wnoutrefresh(stdscr);
    doupdate();
    ui->last_draw_ns = mono_ns();
    ui->dirty = false;
}

/* Model changes since the last frame: new lanes, the clock, following. */
static void catch_up(struct tg_ui *ui)
{
    if (!ui->ended && ui->live && ui->trace != NULL)
        tg_tui_model_set_now(ui->m, tg_trace_now(ui->trace));
    if (tg_tui_model_nthreads(ui->m) != ui->model_threads
        || tg_tui_model_nlocks(ui->m) != ui->model_locks)
        tg_ui_rebuild_rows(ui);
    if (!ui->fitted && tg_tui_model_events(ui->m) > 0) {
        tg_ui_fit(ui);
        ui->fitted = true;
    }
    if (ui->follow && !ui->ended)
        tg_ui_follow_end(ui);
}

/* ---- the API ---- */

int tg_tui_live_start(struct tg_tui_live **out, struct tg_trace *trace,
                      struct tg_symbols *symbols, const struct tg_tui_live_options *o,
                      char *err, size_t errlen)
{
    struct tg_tui_live_options none = { 0 };
    struct tg_tui_live *l = calloc(1, sizeof *l);
    char dummy[8];

    if (err == NULL) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (o == NULL)
        o = &none;
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct tg_ui *ui = &l->ui;
    ui->m = o->model;
    if (ui->m == NULL) {
        ui->m = tg_tui_model_new();
        ui->own_model = true;
        if (ui->m == NULL) {
            free(l);
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
    }
    int rc = tg_term_open(&ui->term, o, err, errlen);
    if (rc < 0) {
        if (ui->own_model)
            tg_tui_model_free(ui->m);
        free(l);
        return rc;
    }
    ui->trace = trace;
    ui->syms = symbols;
    ui->utf8 = ui->term.utf8;
    ui->colour = ui->term.colour;
    ui->follow = o->follow;
    ui->live = o->follow;
    ui->autofit = o->follow;
    ui->exit_status = -1;
    ui->out_pinned = true;
    snprintf(ui->title, sizeof ui->title, "%s", o->title ? o->title : "tangle");
    if (o->warning)
        snprintf(ui->warning, sizeof ui->warning, "%s", o->warning);
    tg_draw_init_colours(ui);
    tg_ui_resize(ui);
    catch_up(ui);
    draw(ui);
    *out = l;
    return 0;
}

void tg_tui_live_event(struct tg_tui_live *l, const struct tg_ev *ev)
{
    if (tg_tui_model_add(l->ui.m, ev) < 0)
        snprintf(l->ui.warning, sizeof l->ui.warning, "out of memory: events dropped");
    l->ui.dirty = true;
}

void tg_tui_live_finding(struct tg_tui_live *l, const struct tg_tui_finding *f)
{
    tg_tui_model_add_finding(l->ui.m, f);
    l->ui.dirty = true;
}

static bool same_finding(const struct tg_tui_finding *a, const struct tg_tui_finding *b)
{
    return a->ts == b->ts && a->kind == b->kind && a->process == b->process
           && (a->summary == NULL) == (b->summary == NULL)
           && (a->summary == NULL || strcmp(a->summary, b->summary) == 0);
}

void tg_tui_live_set_findings(struct tg_tui_live *l, const struct tg_tui_finding *fs, size_t n)
{
    struct tg_ui *ui = &l->ui;
    const struct tg_tui_finding *sel = tg_tui_model_finding(ui->m, ui->find_sel);
    struct tg_tui_finding keep = { 0 };
    char *keep_summary = NULL;
    bool had = sel != NULL;

    if (had) {
        keep = *sel;
        keep.summary = keep_summary = sel->summary ? strdup(sel->summary) : NULL;
        keep.text = NULL;
    }
    tg_tui_model_clear_findings(ui->m);
    for (size_t i = 0; i < n; i++) {
        tg_tui_model_add_finding(ui->m, &fs[i]);
        if (had && same_finding(&fs[i], &keep))
            ui->find_sel = i;
    }
    free(keep_summary);
    ui->dirty = true;
}

void tg_tui_live_output(struct tg_tui_live *l, const char *data, size_t len, uint64_t ts)
{
    tg_ui_output(&l->ui, data, len, ts);
}

const char *tg_tui_live_output_text(struct tg_tui_live *l, size_t *len)
{
    if (len != NULL)
        *len = l->ui.nout_all;
    return l->ui.out_all ? l->ui.out_all : "";
}

/* How often new events redraw: ten times a second live; a saved trace
 * being read shows its progress twice a second (a frame of a large trace
 * fitted whole reads every lane end to end, and reading is what the user
 * waits for). Keys always redraw at once. */
static uint64_t frame_interval_ns(const struct tg_ui *ui)
{
    return !ui->live && !ui->ended ? 500000000ull : 100000000ull;
}

int tg_tui_live_pump(struct tg_tui_live *l, int timeout_ms)
{
    struct tg_ui *ui = &l->ui;
    unsigned flags = TG_DRAW_NONE;
    uint64_t interval = frame_interval_ns(ui);
    wint_t ch;

    if (tg_term_retake(&ui->term))
        flags |= TG_DRAW_ALL;
    if (tg_term_quit_requested())
        ui->quit = true;
    if (ui->compact_due && !ui->dirty) {     /* the final frame is on the screen */
        tg_tui_model_compact(ui->m);
        ui->compact_due = false;
    }
    catch_up(ui);
    /* wait for a key, but not past the next frame that is due */
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (ui->dirty) {
        uint64_t since = mono_ns() - ui->last_draw_ns;
        int due = since >= interval ? 0 : (int)((interval - since) / 1000000ull) + 1;
        if (due < timeout_ms)
            timeout_ms = due;
    }
    wtimeout(stdscr, timeout_ms);
    for (int n = 0; n < 256 && !ui->quit; n++) {
        int r = wget_wch(stdscr, &ch);
        if (r == ERR)
            break;
        flags |= tg_ui_handle(ui, ch, r == KEY_CODE_YES);
        wtimeout(stdscr, 0);
    }
    if (tg_term_quit_requested())
        ui->quit = true;
    if (ui->quit)
        return TG_TUI_QUIT;
    if (flags != TG_DRAW_NONE) {
        if (flags & TG_DRAW_ALL)
            catch_up(ui);
        draw(ui);
    } else if (ui->dirty && mono_ns() - ui->last_draw_ns >= interval) {
        draw(ui);
    }
    return TG_TUI_CONTINUE;
}

int tg_tui_live_key(struct tg_tui_live *l, int key)
{
    struct tg_ui *ui = &l->ui;
    bool keycode = key >= KEY_MIN;
    if (key == KEY_RESIZE)
        ui->ax.width = 0;
    tg_ui_handle(ui, (wint_t)key, keycode);
    if (tg_term_quit_requested())
        ui->quit = true;
    return ui->quit ? TG_TUI_QUIT : TG_TUI_CONTINUE;
}

void tg_tui_live_draw(struct tg_tui_live *l)
{
    catch_up(&l->ui);
    draw(&l->ui);
}

void tg_tui_live_ended(struct tg_tui_live *l, int wait_status)
{
    struct tg_ui *ui = &l->ui;
    if (ui->trace != NULL)
        tg_tui_model_set_now(ui->m, tg_trace_now(ui->trace));
    catch_up(ui);
    ui->ended = true;
    ui->follow = false;
    ui->exit_status = wait_status;
    /* Threads still blocked or running when the trace ends (a killed or
     * hung program): their last state lasted until the process died, some
     * time after the last event. Show it for a twentieth of the trace more,
     * so a deadlock at the very end is not one column wide. */
    uint64_t end = tg_tui_model_end(ui->m), start = tg_tui_model_start(ui->m);
    ui->trace_end = end;
    for (size_t i = 0; i < tg_tui_model_nthreads(ui->m); i++) {
        const struct tg_tui_thread *t = tg_tui_model_thread(ui->m, i);
        struct tg_tui_seg last;
        if (t->nsegs == 0)
            continue;
        tg_tui_model_seg(ui->m, i, t->nsegs - 1, &last);
        if (last.state != TG_TUI_ST_EXITED) {
            tg_tui_model_set_now(ui->m, end + ((end - start) / 20 > 0 ? (end - start) / 20 : 1));
            break;
        }
    }
    if (ui->autofit || !ui->user_moved)
        tg_ui_fit(ui);
    ui->dirty = true;
    /* the final state is what the user waits for: drawn at the next pump,
     * not when the next frame of the reading would have been due; the
     * model's room for growth goes back at the pump after that one (a few
     * tens of ms of unmapping on a large trace, not before the frame) */
    ui->last_draw_ns = 0;
    ui->compact_due = true;
}

void tg_tui_live_warn(struct tg_tui_live *l, const char *warning)
{
    /* in the title bar when there is room, and on the message line until a key */
    snprintf(l->ui.warning, sizeof l->ui.warning, "%s", warning ? warning : "");
    tg_ui_message(&l->ui, "%s%s", warning && *warning ? (l->ui.utf8 ? "⚠ " : "! ") : "",
                  warning ? warning : "");
    l->ui.message_warn = true;
    l->ui.dirty = true;
}

struct tg_tui_model *tg_tui_live_model(struct tg_tui_live *l)
{
    return l->ui.m;
}

int tg_tui_live_quit_signal(struct tg_tui_live *l)
{
    return l->ui.term.headless ? 0 : tg_term_quit_requested();
}

void tg_tui_live_stop(struct tg_tui_live *l)
{
    if (l == NULL)
        return;
    struct tg_ui *ui = &l->ui;
    tg_term_close(&ui->term);
    for (size_t i = 0; i < ui->nout; i++)
        free(ui->out[i].text);
    free(ui->out);
    free(ui->partial);
    free(ui->out_all);
    free(ui->rows_v);
    free(ui->lock_order);
    if (ui->own_model)
        tg_tui_model_free(ui->m);
    free(l);
}
