/* tui/findings.c: the Findings view — deadlocks, lock-order inversions,
 * races and misuse; Enter shows one on the timeline with its threads and
 * locks highlighted. */
#include "tui/ui.h"

#include <stdio.h>
#include <string.h>

static int list_top, list_rows;

static void draw(struct tg_ui *ui, int top, int h)
{
    size_t n = tg_tui_model_nfindings(ui->m);
    char sum[512], t[32], line[640];

    if (n == 0) {
        tg_draw_text(top + 1, 2, ui->cols - 4,
                     ui->ended || !ui->live
                     ? "no findings: no deadlock, lock-order inversion, race or misuse was found"
                     : "no findings so far", false);
        return;
    }
    if (ui->find_sel >= n)
        ui->find_sel = n - 1;
    list_top = top;
    list_rows = h / 2 < (int)n ? (h / 2 > 3 ? h / 2 : 3) : (int)n;
    tg_list_scroll(n, ui->find_sel, list_rows, &ui->find_top);
    for (int r = 0; r < list_rows && ui->find_top + (size_t)r < n; r++) {
        size_t i = ui->find_top + (size_t)r;
        const struct tg_tui_finding *f = tg_tui_model_finding(ui->m, i);
        snprintf(line, sizeof line, "%s %-10s %9s  %s", ui->utf8 ? "◆" : "*",
                 tg_tui_finding_kind_name(f->kind), tg_fmt_time(ui, f->ts, 1000, t, sizeof t),
                 tg_ui_finding_summary(ui, f, sum, sizeof sum));
        tg_paint_set(ui, i == ui->find_sel ? TG_P_SELECT : TG_P_TEXT);
        tg_draw_text(top + r, 0, ui->cols, line, true);
    }
    tg_paint_set(ui, TG_P_DIM);
    int y = top + list_rows;
    tg_draw_text(y++, 0, ui->cols, ui->utf8 ? "──────── report (Enter: show on the timeline) ────────"
                                            : "-------- report (Enter: show on the timeline) --------",
                 true);
    tg_paint_set(ui, TG_P_TEXT);
    const struct tg_tui_finding *f = tg_tui_model_finding(ui->m, ui->find_sel);
    const char *text = f->text ? f->text : tg_ui_finding_summary(ui, f, sum, sizeof sum);
    for (; y < top + h && *text; y++) {
        size_t len = strcspn(text, "\n");
        snprintf(line, sizeof line, "%.*s", (int)len, text);
        tg_draw_text(y, 1, ui->cols - 1, line, true);
        text += len + (text[len] == '\n');
    }
}

/* Moves the timeline to the finding and highlights what it involves. */
static void show(struct tg_ui *ui, size_t i)
{
    const struct tg_tui_finding *f = tg_tui_model_finding(ui->m, i);
    if (f == NULL)
        return;
    ui->hilite = true;
    ui->hilite_ts = f->ts;
    ui->nhilite_threads = f->nthreads;
    memcpy(ui->hilite_threads, f->threads, f->nthreads * sizeof f->threads[0]);
    ui->nhilite_objs = 0;
    for (uint32_t k = 0; k < f->naddrs; k++) {
        uint32_t id = tg_tui_model_find_object(ui->m, f->process, f->addrs[k]);
        if (id != TG_TUI_NONE)
            ui->hilite_objs[ui->nhilite_objs++] = id;
    }
    ui->follow = false;
    ui->view = TG_VIEW_TIMELINE;
    tg_ui_goto(ui, f->ts);
    if (f->nthreads > 0) {
        uint32_t lane = tg_tui_model_thread_lane(ui->m, f->threads[0]);
        if (lane != TG_TUI_NONE)
            tg_ui_select_thread(ui, lane);
    }
    char sum[256];
    tg_ui_message(ui, "%s", tg_ui_finding_summary(ui, f, sum, sizeof sum));
}

static unsigned request(struct tg_ui *ui, enum tg_req req)
{
    size_t n = tg_tui_model_nfindings(ui->m);
    if (req == TG_REQ_ENTER) {
        if (n == 0)
            return TG_DRAW_NONE;
        show(ui, ui->find_sel);
        return TG_DRAW_ALL;
    }
    return tg_list_request(req, n, list_rows, &ui->find_sel);
}

static unsigned click(struct tg_ui *ui, int y, int x, bool dbl)
{
    (void)x;
    size_t n = tg_tui_model_nfindings(ui->m);
    if (y < list_top || y >= list_top + list_rows)
        return TG_DRAW_NONE;
    size_t i = ui->find_top + (size_t)(y - list_top);
    if (i >= n)
        return TG_DRAW_NONE;
    ui->find_sel = i;
    if (dbl)
        show(ui, i);
    return TG_DRAW_ALL;
}

const struct tg_view_ops tg_findings_view = {
    .name = "Findings",
    .draw = draw,
    .request = request,
    .click = click,
    .hint = "?:help q:quit j/k:select Enter:show on the timeline Tab:views",
};
