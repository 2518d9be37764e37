/* tui/output.c: the Output view — what the program printed, line by line,
 * with the trace time each line arrived at (live mode). */
#include "tui/ui.h"

#include <stdlib.h>
#include <string.h>

static void add_line(struct tg_ui *ui, const char *s, size_t n, uint64_t ts)
{
    if (ui->nout == ui->capout) {
        size_t cap = ui->capout ? ui->capout * 2 : 64;
        struct tg_output_line *p = realloc(ui->out, cap * sizeof *p);
        if (p == NULL)
            return;
        ui->out = p;
        ui->capout = cap;
    }
    char *text = malloc(n + 1);
    if (text == NULL)
        return;
    /* tabs to spaces, other control characters shown as '?' */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            continue;
        if (c == 27) {          /* skip ANSI escape sequences (colours) */
            if (i + 1 < n && s[i + 1] == '[') {
                i += 2;
                while (i < n && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e))
                    i++;
            }
            continue;
        }
        text[k++] = c == '\t' ? ' ' : c < 32 ? '?' : (char)c;
    }
    text[k] = '\0';
    ui->out[ui->nout++] = (struct tg_output_line){ ts, text };
}

void tg_ui_output(struct tg_ui *ui, const char *data, size_t len, uint64_t ts)
{
    /* everything, for the caller to print afterwards */
    if (ui->nout_all + len + 1 > ui->capout_all) {
        size_t cap = (ui->nout_all + len + 1) * 2;
        char *p = realloc(ui->out_all, cap);
        if (p != NULL) {
            ui->out_all = p;
            ui->capout_all = cap;
        }
    }
    if (ui->nout_all + len + 1 <= ui->capout_all) {
        memcpy(ui->out_all + ui->nout_all, data, len);
        ui->nout_all += len;
        ui->out_all[ui->nout_all] = '\0';
    }
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        char *p = realloc(ui->partial, ui->npartial + n + 1);
        if (p == NULL)
            return;
        ui->partial = p;
        memcpy(ui->partial + ui->npartial, data, n);
        ui->npartial += n;
        if (nl == NULL)
            break;
        add_line(ui, ui->partial, ui->npartial, ts);
        ui->npartial = 0;
        data += n + 1;
        len -= n + 1;
    }
    ui->dirty = true;
}

static void draw(struct tg_ui *ui, int top, int h)
{
    char t[32];
    size_t n = ui->nout;

    if (n == 0 && ui->npartial == 0) {
        tg_draw_text(top + 1, 2, ui->cols - 4,
                     ui->live && !ui->ended ? "the program has printed nothing yet"
                     : "no output: the program's output is shown here under tangle run --live",
                     false);
        return;
    }
    if (ui->out_pinned)
        ui->out_top = n > (size_t)h ? n - (size_t)h : 0;
    if (ui->out_top + (size_t)h > n)
        ui->out_top = n > (size_t)h ? n - (size_t)h : 0;
    for (int r = 0; r < h && ui->out_top + (size_t)r < n; r++) {
        const struct tg_output_line *l = &ui->out[ui->out_top + (size_t)r];
        tg_paint_set(ui, TG_P_DIM);
        tg_draw_printf(top + r, 0, 11, "%10s", tg_fmt_time(ui, l->ts, 1000000, t, sizeof t));
        tg_draw_text(top + r, 11, 1, ui->utf8 ? "│" : "|", false);
        tg_paint_set(ui, TG_P_TEXT);
        tg_draw_text(top + r, 13, ui->cols - 13, l->text, false);
    }
}

static unsigned request(struct tg_ui *ui, enum tg_req req)
{
    size_t sel = ui->out_top;
    unsigned f;
    int rows = ui->rows - 2;
    size_t max = ui->nout > (size_t)rows ? ui->nout - (size_t)rows : 0;

    switch (req) {
    case TG_REQ_UP: case TG_REQ_DOWN: case TG_REQ_PAGE_UP: case TG_REQ_PAGE_DOWN:
    case TG_REQ_HOME: case TG_REQ_END:
        f = tg_list_request(req, max + 1, rows, &sel);
        ui->out_top = sel;
        ui->out_pinned = req == TG_REQ_END || sel >= max;
        return f == TG_DRAW_UNHANDLED ? TG_DRAW_NONE : TG_DRAW_BODY;
    default:
        return TG_DRAW_UNHANDLED;
    }
}

const struct tg_view_ops tg_output_view = {
    .name = "Output",
    .draw = draw,
    .request = request,
    .hint = "?:help q:quit j/k PgUp/PgDn:scroll End:newest Tab:views",
};
