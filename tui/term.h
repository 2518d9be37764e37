/* tui/term.h (internal): taking over and restoring the terminal (term.c). */
#ifndef TG_TUI_TERM_H
#define TG_TUI_TERM_H

#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "tui/tui.h"

struct tg_term {
    SCREEN *screen;
    bool headless;
    bool utf8;
    bool colour;
};

int tg_term_open(struct tg_term *t, const struct tg_tui_live_options *o, char *err,
                 size_t errlen);
void tg_term_close(struct tg_term *t);
/* The quit signal that arrived (no handler of the caller's), or 0. */
int tg_term_quit_requested(void);
/* After a signal handler restored the terminal and we live on: take it
 * back. True if it did (redraw everything). */
bool tg_term_retake(struct tg_term *t);

#endif
