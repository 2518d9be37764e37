/* tg_symbols_new(trace): modules and stacks from a trace reader. In a file
 * of its own so programs that only use tg_symbols_new_source (tests, tools
 * without a trace) do not pull in the reader. */
#include "symbols/symbols.h"
#include "trace/trace.h"

static size_t trace_modules(void *ctx, uint32_t process, const struct tg_module_info **mods)
{
    return tg_trace_modules(ctx, process, mods);
}

static bool trace_stack(void *ctx, uint32_t id, const uint64_t **frames, uint32_t *nframes)
{
    return tg_trace_stack(ctx, id, frames, nframes);
}

struct tg_symbols *tg_symbols_new(struct tg_trace *t)
{
    if (!t)
        return NULL;
    struct tg_symbols_source src = { .ctx = t, .modules = trace_modules, .stack = trace_stack };
    return tg_symbols_new_source(&src);
}
