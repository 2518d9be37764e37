/* tui/ui.h (internal): the terminal session shared by the views — the
 * request table, the view ops, the time axis, drawing helpers. Only tui/
 * includes it (and tests/tui for the pure parts: axis, search). */
#ifndef TG_TUI_UI_H
#define TG_TUI_UI_H

#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>
#include <stdbool.h>
#include <stdint.h>

#include "tui/axis.h"
#include "tui/term.h"
#include "tui/tui.h"

struct tg_symbols;

enum tg_req {
    TG_REQ_NONE = 0,
#define X(name, keys, help) TG_REQ_##name,
#include "tui/keys.def"
#undef X
    TG_REQ_COUNT
};

/* What a handler asks the session to do next (htop's reaction flags). */
enum tg_redraw {
    TG_DRAW_NONE = 0,
    TG_DRAW_BODY = 1u << 0,         /* the active view */
    TG_DRAW_ALL = 1u << 1,          /* everything, cleared first */
    TG_DRAW_UNHANDLED = 1u << 2,    /* not for this view: the session's default */
};

enum tg_view_id {
    TG_VIEW_TIMELINE, TG_VIEW_LOCKS, TG_VIEW_FINDINGS, TG_VIEW_DETAILS, TG_VIEW_OUTPUT,
    TG_VIEW_STATS, TG_VIEW_COUNT
};

struct tg_ui;

/* A view draws into rows [top, top + rows) of the screen and handles the
 * requests it knows; the session handles the rest. */
struct tg_view_ops {
    const char *name;
    void (*draw)(struct tg_ui *ui, int top, int rows);
    unsigned (*request)(struct tg_ui *ui, enum tg_req req);
    /* a click (button 1) at screen row Y, column X; wheel is zoom */
    unsigned (*click)(struct tg_ui *ui, int y, int x, bool dbl);
    /* the view becomes active */
    void (*enter)(struct tg_ui *ui);
    /* the key hint line's text */
    const char *hint;
};

extern const struct tg_view_ops tg_timeline_view, tg_locks_view, tg_findings_view,
    tg_details_view, tg_output_view, tg_stats_view;
extern const struct tg_view_ops *const tg_views[TG_VIEW_COUNT];

/* One row of the timeline: a thread lane, the separator, or a lock lane. */
enum tg_row_kind { TG_ROW_THREAD, TG_ROW_SEP, TG_ROW_LOCK };
struct tg_row {
    uint8_t kind;
    uint32_t lane;
};

/* Colour pairs / attributes for what we draw. */
enum tg_paint {
    TG_P_TEXT, TG_P_TITLE, TG_P_TAB, TG_P_TAB_ACTIVE, TG_P_STATUS, TG_P_DIM, TG_P_SELECT,
    TG_P_HILITE, TG_P_WARN, TG_P_CURSOR,
    TG_P_RUN, TG_P_WAIT_LOCK, TG_P_WAIT_COND, TG_P_WAIT_OTHER, TG_P_SLEEP,
    TG_P_MARK_FAIL, TG_P_MARK_FINDING, TG_P_FREE,
    TG_P_LOCK0,                     /* TG_NLOCK_COLOURS lock colours follow */
};
#define TG_NLOCK_COLOURS 5

struct tg_output_line {
    uint64_t ts;
    char *text;
};

struct tg_ui {
    struct tg_tui_model *m;
    struct tg_trace *trace;
    struct tg_symbols *syms;
    struct tg_term term;
    bool utf8, colour;
    bool own_model;
    int rows, cols;

    enum tg_view_id view;
    int tab_x[TG_VIEW_COUNT + 1];   /* where the last frame drew the tabs (clicks) */
    bool help;
    bool quit;
    bool follow;
    bool live;                      /* the trace is being written (follow, --live) */
    bool ended;
    int exit_status;
    uint64_t trace_end;             /* ended: the last event (the lanes may run on after it) */
    char title[256];
    char warning[256];
    char message[512];              /* one-shot line on the hint row */
    bool message_warn;              /* it is a warning (drawn as one) */

    /* the time axis and the selection, shared by Timeline, Locks, Details */
    struct tg_axis ax;
    struct tg_row *rows_v;          /* timeline rows */
    size_t nrows, caprows;
    size_t sel, top;                /* selected row, first row shown */
    size_t model_threads, model_locks;   /* lane counts the rows were built for */
    bool fitted;                    /* zoom set once there was something to fit */
    bool user_moved;                /* the user zoomed or moved: no refit at the end */

    /* lock order for the Locks view and the timeline's lock rows */
    uint32_t *lock_order;
    size_t nlock_order;
    size_t lock_sel, lock_top;      /* the Locks view's selection */
    int lock_sort;                  /* column */
    bool lock_sort_rev;

    /* findings */
    size_t find_sel, find_top;
    uint32_t hilite_threads[TG_TUI_FINDING_MAX];
    size_t nhilite_threads;
    uint32_t hilite_objs[TG_TUI_FINDING_MAX];
    size_t nhilite_objs;
    uint64_t hilite_ts;
    bool hilite;

    /* details: a segment of a thread or lock lane */
    size_t det_top;

    /* output (live) */
    struct tg_output_line *out;
    size_t nout, capout;
    char *partial;                  /* an unfinished last line */
    size_t npartial;
    size_t out_top;
    bool out_pinned;                /* follow the newest line */
    char *out_all;                  /* everything, for tg_tui_live_output_text */
    size_t nout_all, capout_all;

    /* stats: one list of lock rows then thread rows; each table sorts itself */
    int stats_sort, thread_sort;
    bool stats_sort_rev, thread_sort_rev;
    size_t stats_sel, stats_top;

    /* search: the prompt on the hint line while `prompting` */
    char search[64];
    char prompt[64];
    size_t nprompt;
    bool prompting;
    bool autofit;                   /* live: zoom out as the trace grows, until the user zooms */

    uint64_t last_draw_ns;
    bool dirty;
    bool compact_due;               /* ended: compact the model after the next frame */
    bool need_clear;
};

/* ---- session.c ---- */
/* A key (KEYCODE: an ncurses KEY_* code) through the help, the search
 * prompt, the active view and the shared requests; returns redraw flags. */
unsigned tg_ui_handle(struct tg_ui *ui, wint_t ch, bool keycode);
void tg_ui_resize(struct tg_ui *ui);
/* The whole trace on screen. */
void tg_ui_fit(struct tg_ui *ui);
/* Live: the newest time in view (zooming out while autofit). */
void tg_ui_follow_end(struct tg_ui *ui);
/* Time-axis requests shared by the lane views (cursor, pan, zoom). */
unsigned tg_ui_axis_request(struct tg_ui *ui, enum tg_req req);
/* The axis width for the lane views at the current size. */
int tg_ui_lane_width(const struct tg_ui *ui);
void tg_ui_rebuild_rows(struct tg_ui *ui);
/* Lane label width for the current terminal width. */
int tg_ui_label_width(const struct tg_ui *ui);
void tg_ui_message(struct tg_ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Moves the cursor to T and makes it visible. */
void tg_ui_goto(struct tg_ui *ui, uint64_t t);
void tg_ui_select_thread(struct tg_ui *ui, uint32_t lane);
void tg_ui_select_lock(struct tg_ui *ui, uint32_t lock);
bool tg_ui_is_hilited_thread(const struct tg_ui *ui, uint32_t lane);
bool tg_ui_is_hilited_obj(const struct tg_ui *ui, uint32_t obj);
void tg_ui_sort_locks(struct tg_ui *ui);

/* ---- names.c: names a person reads, cached in the model ---- */
const char *tg_ui_thread_name(struct tg_ui *ui, uint32_t lane);
const char *tg_ui_object_name(struct tg_ui *ui, uint32_t obj);
/* A short name for a lane cell's label (the object name if short, else "L<n>"). */
const char *tg_ui_object_short(struct tg_ui *ui, uint32_t obj, char *buf, size_t len);
/* Formats frame I of stack STACK of PROCESS; false past the last frame. */
bool tg_ui_frame(struct tg_ui *ui, uint32_t process, uint32_t stack, uint32_t i,
                 char *buf, size_t len);
/* The finding's one-line summary (its own, or made from its parts). */
const char *tg_ui_finding_summary(struct tg_ui *ui, const struct tg_tui_finding *f,
                                  char *buf, size_t len);

/* ---- draw.c ---- */
void tg_draw_init_colours(struct tg_ui *ui);
attr_t tg_paint(const struct tg_ui *ui, enum tg_paint p);
void tg_paint_set(const struct tg_ui *ui, enum tg_paint p);
attr_t tg_lock_paint(const struct tg_ui *ui, uint32_t obj);
/* Writes S at (Y, X), at most W columns (wide characters counted), padding
 * with spaces to W when PAD. Returns the columns written. */
int tg_draw_text(int y, int x, int w, const char *s, bool pad);
void tg_draw_fill(int y, int x, int w, attr_t attr);
/* printf into a line of width W at (Y, X), padded. */
void tg_draw_printf(int y, int x, int w, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The ruler for the axis at row Y from column X, W cells, with finding
 * markers. */
void tg_draw_ruler(struct tg_ui *ui, int y, int x, int w);
/* A thread lane / a lock lane's cells at row Y from column X. */
void tg_draw_thread_lane(struct tg_ui *ui, uint32_t lane, int y, int x, int w);
void tg_draw_lock_lane(struct tg_ui *ui, uint32_t lock, int y, int x, int w);
/* The legend of the timeline's glyphs, one line. */
void tg_draw_legend(struct tg_ui *ui, int y, int x, int w);
/* One line about what the selected lane does at the cursor. */
void tg_draw_cursor_status(struct tg_ui *ui, int y, int x, int w);
const char *tg_fmt_time(const struct tg_ui *ui, uint64_t ns, uint64_t step, char *buf, size_t len);
/* Scrolls a list of N lines with selection SEL in ROWS rows: adjusts *TOP. */
void tg_list_scroll(size_t n, size_t sel, int rows, size_t *top);
/* Common list requests (up/down/page/home/end) on *SEL of N lines. */
unsigned tg_list_request(enum tg_req req, size_t n, int rows, size_t *sel);

/* ---- timeline.c: shared with the Locks view ---- */
/* The ruler row: the cursor's time in the label column, ticks across. */
void tg_draw_ruler_row(struct tg_ui *ui, int y);
/* Rows of lanes (labels and cells) from Y0, NROWS high, scrolled to SEL. */
void tg_draw_lanes(struct tg_ui *ui, const struct tg_row *rows, size_t n, size_t sel,
                   size_t *top, int y0, int nrows);
/* n / N on a lane. */
unsigned tg_ui_step_event(struct tg_ui *ui, const struct tg_row *r, int dir);
unsigned tg_ui_lane_click(struct tg_ui *ui, int y, int x, bool dbl, int top, int rows,
                          size_t *sel, size_t listtop, size_t n, const struct tg_row *list);

/* ---- output.c ---- */
void tg_ui_output(struct tg_ui *ui, const char *data, size_t len, uint64_t ts);

/* ---- help.c ---- */
void tg_help_draw(struct tg_ui *ui);

#endif
