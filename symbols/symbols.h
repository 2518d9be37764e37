/* symbols/: turning addresses from a trace into names a person reads.
 *
 * Code addresses become `function file:line` (elfutils libdw, DWARF line
 * tables; ELF symbol tables when there is no debug info). Data addresses
 * become variable names: a global by its symbol (`mutexA`), a member or
 * element of a global with the path the debug info gives (`fork_[3]`,
 * `pool.lock`). Works after the program is gone: modules come from the
 * trace's module map, files are opened from disk.
 *
 * Used by cli (dump, reports), detectors' renderers and the TUI. Lookups are
 * cached; the strings returned stay valid until tg_symbols_free.
 */
#ifndef TG_SYMBOLS_H
#define TG_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tg_trace;
struct tg_symbols;

struct tg_frame {
    uint64_t pc;                /* the address asked for */
    const char *function;       /* "func" or NULL if unknown */
    const char *file;           /* source file (basename-relative as in DWARF) or NULL */
    int line;                   /* 0 if unknown */
    const char *module;         /* module path or NULL */
    uint64_t offset;            /* pc - module base */
};

struct tg_symbols *tg_symbols_new(struct tg_trace *t);
void tg_symbols_free(struct tg_symbols *s);

/* A return address from a stack (frames[] of a STACK record): looks up
 * pc - 1 so the line is the call's, and reports pc as given. Returns false
 * if the address is in no known module (out->function etc. NULL). */
bool tg_symbols_frame(struct tg_symbols *s, uint32_t process, uint64_t ret_addr,
                      struct tg_frame *out);

/* Formats a frame as a person reads it: "func file:line", "func+0x1c
 * (module)", or "0x7f... (module)". Returns buf. */
const char *tg_symbols_format_frame(const struct tg_frame *f, char *buf, size_t len);

/* Names a data address: "mutexA", "fork_[3]", "pool.lock", "counter+8".
 * TYPE (optional) gets the variable's C type ("pthread_mutex_t", "int").
 * Returns false if no global covers the address. */
bool tg_symbols_data(struct tg_symbols *s, uint32_t process, uint64_t addr,
                     char *name, size_t namelen, char *type, size_t typelen);

/* The name reports use for a sync object: its global name if it has one,
 * otherwise "<what> initialised at func file:line" from SITE_STACK (the
 * stack of its init, or first use: say which with FIRST_USE). */
const char *tg_symbols_object_name(struct tg_symbols *s, uint32_t process,
                                   uint64_t addr, const char *what,
                                   uint32_t site_stack, bool first_use,
                                   char *buf, size_t len);

#endif
