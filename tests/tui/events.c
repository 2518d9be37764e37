/* tests/tui: synthetic events (see events.h). */
#include "events.h"

#include <criterion/criterion.h>
#include <string.h>

static void feed(struct tg_tui_model *m, const struct tg_ev *e)
{
    cr_assert_eq(tg_tui_model_add(m, e), 0, "model_add failed");
}

void ev_res(struct tg_tui_model *m, uint64_t ts, uint32_t thread, unsigned kind, uint64_t obj,
            unsigned result)
{
    struct tg_ev e = { .ts = ts, .obj = obj, .thread = thread, .kind = (uint16_t)kind,
                       .result = (uint8_t)result };
    feed(m, &e);
}

void ev(struct tg_tui_model *m, uint64_t ts, uint32_t thread, unsigned kind, uint64_t obj)
{
    ev_res(m, ts, thread, kind, obj, TG_OK);
}

void ev_p0(struct tg_tui_model *m, uint64_t ts, uint32_t thread, unsigned kind, uint64_t obj,
           uint64_t p0)
{
    struct tg_ev e = { .ts = ts, .obj = obj, .p0 = p0, .thread = thread, .kind = (uint16_t)kind };
    feed(m, &e);
}

void start(struct tg_tui_model *m, uint64_t ts, uint32_t thread)
{
    ev(m, ts, thread, TG_EV_THREAD_START, 0x1000 + thread);
}

unsigned state_at(const struct tg_tui_model *m, uint32_t thread, uint64_t t)
{
    uint32_t lane = tg_tui_model_thread_lane(m, thread);
    cr_assert_neq(lane, TG_TUI_NONE, "thread %u has no lane", thread);
    size_t i = tg_tui_model_seg_at(m, lane, t);
    if (i == SIZE_MAX)
        return TG_TUI_ST_NONE;
    struct tg_tui_seg s;
    tg_tui_model_seg(m, lane, i, &s);
    return s.state;
}

uint64_t shown_at(const struct tg_tui_model *m, uint32_t thread, uint64_t t)
{
    uint32_t lane = tg_tui_model_thread_lane(m, thread);
    size_t i = tg_tui_model_seg_at(m, lane, t);
    if (i == SIZE_MAX)
        return 0;
    struct tg_tui_seg s;
    tg_tui_model_seg(m, lane, i, &s);
    const struct tg_tui_object *o = tg_tui_model_object(m, s.shown);
    return o ? o->addr : 0;
}

size_t lock_lane(const struct tg_tui_model *m, uint64_t addr)
{
    uint32_t id = tg_tui_model_find_object(m, 0, addr);
    cr_assert_neq(id, TG_TUI_NONE, "no object at %#lx", (unsigned long)addr);
    const struct tg_tui_object *o = tg_tui_model_object(m, id);
    cr_assert_neq(o->lock_lane, TG_TUI_NONE, "object %#lx has no lock lane", (unsigned long)addr);
    return o->lock_lane;
}
