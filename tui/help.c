/* tui/help.c: the help overlay (`?`): every key from keys.def, and the
 * legend of the lanes. */
#include "tui/ui.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *keys, *help; } entries[] = {
#define X(name, keys, help) { keys, help },
#include "tui/keys.def"
#undef X
};

void tg_help_draw(struct tg_ui *ui)
{
    const struct { const char *keys, *help; } *list[sizeof entries / sizeof entries[0]];
    int n = 0;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        if (entries[i].help[0])
            list[n++] = (const void *)&entries[i];
    int w = ui->cols - 4 < 78 ? ui->cols - 4 : 78;
    int lines = (n + 1) / 2 + 8;
    int h = ui->rows - 2 < lines ? ui->rows - 2 : lines;
    int y0 = (ui->rows - h) / 2, x0 = (ui->cols - w) / 2;

    tg_paint_set(ui, TG_P_STATUS);
    for (int y = 0; y < h; y++)
        tg_draw_fill(y0 + y, x0, w, tg_paint(ui, TG_P_STATUS));
    tg_draw_text(y0, x0 + 2, w - 4, "tangle — keys (any key closes this)", false);
    int rows = h - 7, per = (n + 1) / 2, cw = (w - 2) / 2;
    for (int i = 0; i < n; i++) {
        int c = i / per, r = i % per;
        if (r >= rows)
            continue;
        char line[160];
        snprintf(line, sizeof line, "%-9s %s", list[i]->keys, list[i]->help);
        tg_draw_text(y0 + 2 + r, x0 + 2 + c * cw, cw - 1, line, false);
    }
    static const char *const u[] = {
        "mouse: a click selects a lane and a time; the wheel zooms",
        "threads: ─ run ━ hold ░ lock wait ┄ cond ▒ sem/barrier/join · sleep",
        "locks: ━ held (owner) ═ shared ▓ contended · taken briefly",
        "marks: × failed try ! error ◆ finding ▼ cursor",
    };
    static const char *const a[] = {
        "mouse: a click selects a lane and a time; the wheel zooms",
        "threads: - run = hold # lock wait ~ cond % sem/barrier/join . sleep",
        "locks: = held (owner) : shared # contended . taken briefly",
        "marks: x failed try ! error * finding v cursor",
    };
    for (int i = 0; i < 4; i++)
        tg_draw_text(y0 + h - 5 + i, x0 + 2, w - 4, (ui->utf8 ? u : a)[i], false);
    tg_paint_set(ui, TG_P_TEXT);
}
