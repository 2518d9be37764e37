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
    int n = (int)(sizeof entries / sizeof entries[0]);
    int w = ui->cols - 4 < 78 ? ui->cols - 4 : 78;
    int lines = n + 7;
    int h = ui->rows - 2 < lines ? ui->rows - 2 : lines;
    int y0 = (ui->rows - h) / 2, x0 = (ui->cols - w) / 2;

    tg_paint_set(ui, TG_P_STATUS);
    for (int y = 0; y < h; y++)
        tg_draw_fill(y0 + y, x0, w, tg_paint(ui, TG_P_STATUS));
    tg_draw_text(y0, x0 + 2, w - 4, "tangle — keys (any key closes this)", false);
    /* two columns when the list does not fit in one */
    int rows = h - 6, cols = n > rows ? 2 : 1;
    int per = (n + cols - 1) / cols, cw = (w - 2) / cols;
    for (int i = 0; i < n; i++) {
        int c = i / per, r = i % per;
        if (r >= rows)
            continue;
        char line[160];
        snprintf(line, sizeof line, "%-10s %s", entries[i].keys, entries[i].help);
        tg_draw_text(y0 + 2 + r, x0 + 2 + c * cw, cw - 2, line, false);
    }
    tg_draw_text(y0 + h - 4, x0 + 2, w - 4, "mouse: click a lane to select it and move the cursor; "
                 "wheel zooms; click a tab", false);
    tg_draw_text(y0 + h - 3, x0 + 2, w - 4, ui->utf8
                 ? "threads: ─ run ━ hold ░ lock wait ┄ cond ▒ sem/barrier/join · sleep"
                 : "threads: - run = hold # lock wait ~ cond % sem/barrier/join . sleep", false);
    tg_draw_text(y0 + h - 2, x0 + 2, w - 4, ui->utf8
                 ? "locks: ━ held ═ shared ▓ contended   marks: × failed ! error ◆ finding ▼ cursor"
                 : "locks: = held : shared # contended   marks: x failed ! error * finding v cursor",
                 false);
    tg_paint_set(ui, TG_P_TEXT);
}
