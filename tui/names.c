/* tui/names.c: names a person reads — threads by pthread_setname_np's name,
 * else their start routine, else "main" for a process's first thread; sync
 * objects by the variable that holds them (symbols/), else where they were
 * initialised or first used; frames as "function file:line". Resolved once
 * and kept in the model. */
#include "tui/ui.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "symbols/symbols.h"
#include "trace/trace.h"

const char *tg_ui_thread_name(struct tg_ui *ui, uint32_t lane)
{
    const struct tg_tui_thread *t = tg_tui_model_thread(ui->m, lane);
    char buf[128];

    if (t == NULL)
        return "?";
    if (t->name != NULL)
        return t->name;
    const struct tg_thread_info *ti = ui->trace ? tg_trace_thread(ui->trace, t->index) : NULL;
    if (ti != NULL && ti->name != NULL && ti->name[0]) {
        snprintf(buf, sizeof buf, "%s", ti->name);
    } else if (ti != NULL && ti->parent == TG_NO_THREAD) {
        snprintf(buf, sizeof buf, "main");
    } else {
        struct tg_frame f;
        if (ti != NULL && ti->start_routine && ui->syms
            && tg_symbols_pc(ui->syms, t->process, ti->start_routine, &f) && f.function)
            snprintf(buf, sizeof buf, "%s", f.function);
        else if (ti == NULL && t->index == 0)
            snprintf(buf, sizeof buf, "main");
        else
            snprintf(buf, sizeof buf, "T%" PRIu32, t->index);
    }
    /* kept; a later THREAD_NAME event replaces it */
    tg_tui_model_set_thread_name(ui->m, lane, buf);
    return t->name ? t->name : "?";
}

const char *tg_ui_object_name(struct tg_ui *ui, uint32_t obj)
{
    const struct tg_tui_object *o = tg_tui_model_object(ui->m, obj);
    char buf[256];

    if (o == NULL)
        return "?";
    if (o->name != NULL)
        return o->name;
    if (o->kind == TG_TUI_OBJ_THREAD) {
        if (o->target_lane != TG_TUI_NONE)
            return tg_ui_thread_name(ui, o->target_lane);
        snprintf(buf, sizeof buf, "thread %#" PRIx64, o->addr);
    } else if (ui->syms != NULL) {
        tg_symbols_object_name(ui->syms, o->process, o->addr, tg_tui_objkind_name(o->kind),
                               o->site_stack, !o->site_is_init, buf, sizeof buf);
    } else {
        snprintf(buf, sizeof buf, "%s %#" PRIx64, tg_tui_objkind_name(o->kind), o->addr);
    }
    tg_tui_model_set_object_name(ui->m, obj, buf);
    return o->name ? o->name : "?";
}

const char *tg_ui_object_short(struct tg_ui *ui, uint32_t obj, char *buf, size_t len)
{
    const char *name = tg_ui_object_name(ui, obj);
    if (strlen(name) <= 16)
        return name;
    /* "mutex initialised at worker foo.c:33" -> "mutex@worker" */
    const char *at = strstr(name, " at ");
    const struct tg_tui_object *o = tg_tui_model_object(ui->m, obj);
    if (at != NULL) {
        const char *fn = at + 4;
        size_t n = strcspn(fn, " (+");
        snprintf(buf, len, "%s@%.*s", o ? tg_tui_objkind_name(o->kind) : "lock",
                 (int)(n > 20 ? 20 : n), fn);
        return buf;
    }
    snprintf(buf, len, "%.15s…", name);
    return buf;
}

/* The frames of the last stack asked for, formatted: inlined calls expanded
 * (as gdb and TSan show them), the tracer's own frames (libtangle.so's
 * thread trampoline) left out, as reports do. */
#define MAX_FRAMES 64
static struct {
    uint32_t process, stack;
    size_t n;
    char text[MAX_FRAMES][256];
} frames_cache = { .stack = 0 };

static bool tracer_frame(const struct tg_frame *f)
{
    const char *mod = f->module ? strrchr(f->module, '/') : NULL;
    mod = mod ? mod + 1 : f->module;
    return mod != NULL && strncmp(mod, "libtangle.", 10) == 0;
}

static void load_frames(struct tg_ui *ui, uint32_t process, uint32_t stack)
{
    const uint64_t *pcs;
    uint32_t npcs;

    frames_cache.process = process;
    frames_cache.stack = stack;
    frames_cache.n = 0;
    if (ui->trace == NULL || stack == 0 || !tg_trace_stack(ui->trace, stack, &pcs, &npcs))
        return;
    for (uint32_t i = 0; i < npcs && frames_cache.n < MAX_FRAMES; i++) {
        struct tg_frame f[8];
        size_t got = ui->syms ? tg_symbols_frames(ui->syms, process, pcs[i], f, 8) : 0;
        if (got == 0) {
            snprintf(frames_cache.text[frames_cache.n++], 256, "%#" PRIx64, pcs[i]);
            continue;
        }
        if (tracer_frame(&f[0]))
            continue;
        for (size_t k = 0; k < got && k < 8 && frames_cache.n < MAX_FRAMES; k++)
            tg_symbols_format_frame(&f[k], frames_cache.text[frames_cache.n++], 256);
    }
}

bool tg_ui_frame(struct tg_ui *ui, uint32_t process, uint32_t stack, uint32_t i, char *buf,
                 size_t len)
{
    if (stack == 0)
        return false;
    if (frames_cache.stack != stack || frames_cache.process != process)
        load_frames(ui, process, stack);
    if (i >= frames_cache.n)
        return false;
    snprintf(buf, len, "%s", frames_cache.text[i]);
    return true;
}

const char *tg_ui_finding_summary(struct tg_ui *ui, const struct tg_tui_finding *f, char *buf,
                                  size_t len)
{
    if (f->summary != NULL)
        return f->summary;
    size_t at = (size_t)snprintf(buf, len, "%s", tg_tui_finding_kind_name(f->kind));
    for (uint32_t i = 0; i < f->naddrs && at < len; i++) {
        uint32_t id = tg_tui_model_find_object(ui->m, f->process, f->addrs[i]);
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : " on ",
                               id != TG_TUI_NONE ? tg_ui_object_name(ui, id) : "?");
    }
    for (uint32_t i = 0; i < f->nthreads && at < len; i++) {
        uint32_t lane = tg_tui_model_thread_lane(ui->m, f->threads[i]);
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : " — ",
                               lane != TG_TUI_NONE ? tg_ui_thread_name(ui, lane) : "?");
    }
    return buf;
}
