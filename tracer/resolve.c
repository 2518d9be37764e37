/* tracer/: the real functions behind the hooks, found with dlsym/dlvsym on
 * RTLD_NEXT (the next object after libtangle.so in the lookup order: libc,
 * or another interposer preloaded after us).
 *
 * All are resolved eagerly by the constructor; a hook called before it (from
 * another library's constructor) resolves its own pointer lazily. dlsym can
 * allocate and so call back into hooks: a thread-local flag turns such
 * re-entrant lookups into failures instead of a recursion.
 */
#include <dlfcn.h>

#include "tracer/internal.h"

/* Each row is also a redeclaration of the libc prototype: a row that does
 * not match it ("conflicting types") fails the build here instead of
 * passing wrong arguments at run time. */
#define TG_HOOK(name, ret, params, args, version) \
    extern ret name params; \
    TG_HIDDEN ret (*tg_real_##name) params;
#define TG_HOOK_VOID(name, params, args, version) \
    extern void name params; \
    TG_HIDDEN void (*tg_real_##name) params;
#define TG_HOOK_VARARGS(name, ret, params, version) \
    extern ret name params; \
    TG_HIDDEN ret (*tg_real_##name) params;
#include "tracer/hooks.def"

const struct tg_hook_info tg_tracer_hooks[] = {
#define TG_HOOK(name, ret, params, args, version) { #name, version },
#define TG_HOOK_VOID(name, params, args, version) { #name, version },
#define TG_HOOK_VARARGS(name, ret, params, version) { #name, version },
#include "tracer/hooks.def"
};
const size_t tg_tracer_nhooks = sizeof tg_tracer_hooks / sizeof tg_tracer_hooks[0];
_Static_assert(sizeof tg_tracer_hooks / sizeof tg_tracer_hooks[0] == TG_HOOK_COUNT,
               "one table");

static void **const real_slot[TG_HOOK_COUNT] = {
#define TG_HOOK(name, ret, params, args, version) (void **)&tg_real_##name,
#define TG_HOOK_VOID(name, params, args, version) (void **)&tg_real_##name,
#define TG_HOOK_VARARGS(name, ret, params, version) (void **)&tg_real_##name,
#include "tracer/hooks.def"
};

static TG_TLS int resolving;

void *tg_resolve(enum tg_hook_id id)
{
    void *fn = __atomic_load_n(real_slot[id], __ATOMIC_ACQUIRE);
    if (fn != NULL || resolving)
        return fn;
    resolving = 1;
    int saved = errno;
    const struct tg_hook_info *h = &tg_tracer_hooks[id];
    fn = h->version ? dlvsym(RTLD_NEXT, h->name, h->version)
                    : dlsym(RTLD_NEXT, h->name);
    errno = saved;
    resolving = 0;
    if (fn != NULL)
        __atomic_store_n(real_slot[id], fn, __ATOMIC_RELEASE);
    return fn;
}

int tg_resolve_all(void)
{
    int missing = 0;
    for (int i = 0; i < TG_HOOK_COUNT; i++)
        if (tg_resolve((enum tg_hook_id)i) == NULL)
            missing++;
    return missing;
}

void *tg_tracer_real(size_t i)
{
    return i < TG_HOOK_COUNT ? tg_resolve((enum tg_hook_id)i) : NULL;
}
