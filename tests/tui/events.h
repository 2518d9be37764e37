/* tests/tui: building synthetic event sequences for the model. */
#ifndef TG_TESTS_TUI_EVENTS_H
#define TG_TESTS_TUI_EVENTS_H

#include "tui/tui.h"

/* Feeds one event: THREAD at TS does KIND on OBJ (result OK). */
void ev(struct tg_tui_model *m, uint64_t ts, uint32_t thread, unsigned kind, uint64_t obj);
/* The same with a result (TRY, FAIL...). */
void ev_res(struct tg_tui_model *m, uint64_t ts, uint32_t thread, unsigned kind, uint64_t obj,
            unsigned result);
/* The same with payload slot p0 (COND_WAIT/WOKE: the mutex). */
void ev_p0(struct tg_tui_model *m, uint64_t ts, uint32_t thread, unsigned kind, uint64_t obj,
           uint64_t p0);
/* THREAD_START of THREAD with pthread_t 0x1000 + thread. */
void start(struct tg_tui_model *m, uint64_t ts, uint32_t thread);

/* State of thread lane of THREAD at time T. */
unsigned state_at(const struct tg_tui_model *m, uint32_t thread, uint64_t t);
/* The object shown at time T (its address, 0 if none). */
uint64_t shown_at(const struct tg_tui_model *m, uint32_t thread, uint64_t t);
/* Lock lane of the lock at ADDR (process 0). */
size_t lock_lane(const struct tg_tui_model *m, uint64_t addr);

#endif
