/* Runs a symbols test target and keeps what it printed. */
#ifndef SYMBOLS_FIXTURE_H
#define SYMBOLS_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "symbols/symbols.h"

enum { FIX_MAX = 64 };

struct fix_entry {
    char key[64];
    uint64_t addr;
    int line;
};

struct fixture {
    struct tg_module_info mods[FIX_MAX];
    char paths[FIX_MAX][512];
    int nmods;
    struct fix_entry entries[FIX_MAX];
    int nentries;
};

/* Runs PROGRAM and parses its output; fails the test on error. */
void fixture_run(struct fixture *f, const char *program);

/* The entry printed as "addr KEY ..." / "ret KEY ..." / "line KEY ...". */
const struct fix_entry *fixture_get(const struct fixture *f, const char *key);
uint64_t fixture_addr(const struct fixture *f, const char *key);
int fixture_line(const struct fixture *f, const char *key);

/* The index of the module whose path ends in SUFFIX, or -1. */
int fixture_module(const struct fixture *f, const char *suffix);

/* Symbols over the fixture's modules (all in process 0), with the module
 * whose path ends in REPLACE_SUFFIX (if not NULL) read from WITH instead. */
struct tg_symbols *fixture_symbols(struct fixture *f, const char *replace_suffix,
                                   const char *with);

#endif
