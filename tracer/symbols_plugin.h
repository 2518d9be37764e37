/* tracer/: what libtangle.so needs of libdw and libelf, kept in a module of
 * its own, libtangle-symbols.so, next to libtangle.so and loaded on first
 * use: symbols for a `tangle cc` race report, and the addresses of
 * `--watch` variables. Linking libdw into libtangle.so made every traced
 * process load it and the libraries it needs (libelf, liblzma, libz,
 * libbz2): ~1.1 ms of each process's start here, for what most never use.
 */
#ifndef TG_TRACER_SYMBOLS_PLUGIN_H
#define TG_TRACER_SYMBOLS_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbols/symbols.h"

#define TG_SYMBOLS_PLUGIN_FILE  "libtangle-symbols.so"
#define TG_SYMBOLS_PLUGIN_TABLE "tg_symbols_plugin_table"

/* symbols/ functions, as symbols/symbols.h has them, and one for --watch. */
struct tg_symbols_plugin {
    struct tg_symbols *(*new_modules)(const struct tg_module_info *mods, size_t n);
    bool (*frame)(struct tg_symbols *s, uint32_t process, uint64_t ret_addr,
                  struct tg_frame *out);
    const char *(*format_frame)(const struct tg_frame *f, char *buf, size_t len);
    bool (*data)(struct tg_symbols *s, uint32_t process, uint64_t addr, char *name,
                 size_t namelen, char *type, size_t typelen);
    /* The value and size of the data symbol NAME in the ELF file PATH
     * (.symtab, then .dynsym). */
    bool (*global)(const char *path, const char *name, uint64_t *value, size_t *len);
};

/* The plugin, loaded on the first call (from libtangle.so's directory, else
 * the loader's search path); NULL if it cannot be (counted as a failure). */
__attribute__((visibility("hidden")))
const struct tg_symbols_plugin *tg_symbols_plugin(void);

#endif
