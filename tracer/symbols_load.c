/* tracer/: loading libtangle-symbols.so on first use (symbols_plugin.h). */
#include <dlfcn.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "tracer/internal.h"
#include "tracer/symbols_plugin.h"

enum { NOT_LOADED, LOADING, LOADED };
static int state;
static const struct tg_symbols_plugin *plugin;

static const struct tg_symbols_plugin *load(void)
{
    void *h = NULL;
    Dl_info info;
    if (dladdr((void *)&tg_symbols_plugin, &info) != 0 && info.dli_fname != NULL) {
        char path[PATH_MAX];
        const char *slash = strrchr(info.dli_fname, '/');
        int dir = slash != NULL ? (int)(slash - info.dli_fname + 1) : 0;
        if (snprintf(path, sizeof path, "%.*s%s", dir, info.dli_fname, TG_SYMBOLS_PLUGIN_FILE)
            < (int)sizeof path)
            h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    }
    if (h == NULL)
        h = dlopen(TG_SYMBOLS_PLUGIN_FILE, RTLD_NOW | RTLD_LOCAL);
    const struct tg_symbols_plugin *p = h != NULL ? dlsym(h, TG_SYMBOLS_PLUGIN_TABLE) : NULL;
    if (p == NULL)
        tg_failure("cannot load " TG_SYMBOLS_PLUGIN_FILE, ENOENT);
    return p;
}

const struct tg_symbols_plugin *tg_symbols_plugin(void)
{
    int seen = NOT_LOADED;
    if (__atomic_compare_exchange_n(&state, &seen, LOADING, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        plugin = load();
        __atomic_store_n(&state, LOADED, __ATOMIC_RELEASE);
        return plugin;
    }
    while (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != LOADED)
        sched_yield();          /* another thread is loading it: rare, and short */
    return plugin;
}
