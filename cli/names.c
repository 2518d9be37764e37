/* Names a person reads for threads, objects and callers, symbolised once and
 * cached: `tangle dump` asks for them on every line. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "symbols/symbols.h"
#include "trace/trace.h"

struct tg_names {
    struct tg_trace *trace;
    struct tg_symbols *syms;
    char **threads;               /* by thread index */
    size_t nthreads;
    char **callers;               /* by stack id */
    size_t ncallers;
    struct tg_u64map objects;     /* (process << 48 | addr) → char * */
};

struct tg_names *tg_names_new(struct tg_trace *t, struct tg_symbols *s)
{
    struct tg_names *n = calloc(1, sizeof *n);

    if (n) {
        n->trace = t;
        n->syms = s;
    }
    return n;
}

void tg_names_free(struct tg_names *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nthreads; i++)
        free(n->threads[i]);
    for (size_t i = 0; i < n->ncallers; i++)
        free(n->callers[i]);
    for (size_t i = 0; i < n->objects.cap; i++)
        if (n->objects.keys[i])
            free((char *)(uintptr_t)n->objects.vals[i]);
    if (n->objects.has_zero)
        free((char *)(uintptr_t)n->objects.zero_val);
    free(n->threads);
    free(n->callers);
    tg_u64map_free(&n->objects);
    free(n);
}

/* Makes ARR hold at least INDEX + 1 entries; false if out of memory. */
static bool grow(char ***arr, size_t *len, size_t index)
{
    if (index < *len)
        return true;
    size_t cap = *len ? *len : 64;
    while (cap <= index)
        cap *= 2;
    char **p = realloc(*arr, cap * sizeof *p);
    if (!p)
        return false;
    memset(p + *len, 0, (cap - *len) * sizeof *p);
    *arr = p;
    *len = cap;
    return true;
}

static char *thread_name(struct tg_names *n, uint32_t thread)
{
    const struct tg_thread_info *ti = tg_trace_thread(n->trace, thread);
    char buf[64];

    if (ti && ti->name && ti->name[0])
        return strdup(ti->name);
    if (ti && ti->start_routine) {
        struct tg_frame f;
        if (n->syms && tg_symbols_pc(n->syms, ti->process, ti->start_routine, &f)
            && f.function)
            return strdup(f.function);
        snprintf(buf, sizeof buf, "0x%" PRIx64, ti->start_routine);
        return strdup(buf);
    }
    if (ti)
        return strdup("main");
    snprintf(buf, sizeof buf, "T%" PRIu32, thread);
    return strdup(buf);
}

const char *tg_names_thread(struct tg_names *n, uint32_t thread)
{
    if (!grow(&n->threads, &n->nthreads, thread))
        return "?";
    if (!n->threads[thread])
        n->threads[thread] = thread_name(n, thread);
    return n->threads[thread] ? n->threads[thread] : "?";
}

void tg_names_forget_thread(struct tg_names *n, uint32_t thread)
{
    if (thread < n->nthreads) {
        free(n->threads[thread]);
        n->threads[thread] = NULL;
    }
}

const char *tg_names_object(struct tg_names *n, uint32_t process, uint64_t addr)
{
    uint64_t key = (uint64_t)process << 48 | (addr & 0xffffffffffffull);
    uint64_t *slot = tg_u64map_slot(&n->objects, key);
    char name[256];

    if (!slot)
        return "?";
    if (!*slot) {
        if (!n->syms || !tg_symbols_data(n->syms, process, addr, name, sizeof name, NULL, 0))
            snprintf(name, sizeof name, "0x%" PRIx64, addr);
        *slot = (uint64_t)(uintptr_t)strdup(name);
    }
    return *slot ? (const char *)(uintptr_t)*slot : "?";
}

const char *tg_names_caller(struct tg_names *n, uint32_t process, uint32_t stack)
{
    const uint64_t *frames;
    uint32_t nframes;
    char buf[512];

    if (stack == 0 || !grow(&n->callers, &n->ncallers, stack))
        return "";
    if (!n->callers[stack]) {
        if (!tg_trace_stack(n->trace, stack, &frames, &nframes) || nframes == 0) {
            snprintf(buf, sizeof buf, "stack#%" PRIu32, stack);
        } else {
            struct tg_frame f;
            if (n->syms)
                tg_symbols_frame(n->syms, process, frames[0], &f);
            else
                f = (struct tg_frame){ .pc = frames[0] };
            tg_symbols_format_frame(&f, buf, sizeof buf);
        }
        n->callers[stack] = strdup(buf);
    }
    return n->callers[stack] ? n->callers[stack] : "";
}
