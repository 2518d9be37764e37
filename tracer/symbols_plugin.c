/* tracer/: libtangle-symbols.so, the part of the tracer that needs libdw
 * and libelf (tracer/symbols_plugin.h). Exports one table. */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "tracer/symbols_plugin.h"

/* Looks NAME up among the data symbols of ELF. */
static bool lookup(Elf *elf, const char *name, uint64_t *value, size_t *len)
{
    for (int pass = 0; pass < 2; pass++) {
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(elf, scn)) != NULL) {
            GElf_Shdr sh;
            if (gelf_getshdr(scn, &sh) == NULL ||
                sh.sh_type != (pass == 0 ? SHT_SYMTAB : SHT_DYNSYM) || sh.sh_entsize == 0)
                continue;
            Elf_Data *data = elf_getdata(scn, NULL);
            size_t n = data ? sh.sh_size / sh.sh_entsize : 0;
            for (size_t i = 0; i < n; i++) {
                GElf_Sym sym;
                if (gelf_getsym(data, (int)i, &sym) == NULL || GELF_ST_TYPE(sym.st_info) != STT_OBJECT ||
                    sym.st_shndx == SHN_UNDEF)
                    continue;
                const char *s = elf_strptr(elf, sh.sh_link, sym.st_name);
                if (s != NULL && strcmp(s, name) == 0) {
                    *value = sym.st_value;
                    *len = sym.st_size ? sym.st_size : 1;
                    return true;
                }
            }
        }
    }
    return false;
}

static bool global(const char *path, const char *name, uint64_t *value, size_t *len)
{
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    bool found = elf != NULL && lookup(elf, name, value, len);
    if (elf != NULL)
        elf_end(elf);
    close(fd);
    return found;
}

__attribute__((visibility("default")))
const struct tg_symbols_plugin tg_symbols_plugin_table = {
    .new_modules = tg_symbols_new_modules,
    .frame = tg_symbols_frame,
    .format_frame = tg_symbols_format_frame,
    .data = tg_symbols_data,
    .global = global,
};
