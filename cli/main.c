/* tangle: the command-line entry point. Expands cli/commands.def into the
 * dispatch table and the --help listing; every subcommand parses its own
 * options (`tangle COMMAND --help`). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "tangle_config.h"

struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
#define X(name, summary) { #name, summary, tg_cmd_##name },
#include "cli/commands.def"
#undef X
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *out)
{
    fputs("usage: tangle COMMAND [OPTIONS] [ARGS]\n"
          "       tangle run [OPTIONS] -- PROGRAM [ARGS]\n"
          "\n"
          "Finds concurrency bugs in pthread programs and shows what their threads did.\n"
          "\n"
          "commands:\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "options:\n"
          "  -h, --help     this help; `tangle COMMAND --help` for a command's\n"
          "  -V, --version  print the version\n"
          "\n"
          "Exit status: see `man tangle` (docs/tangle.1.md).\n", out);
}

/* The version, then what this build contains, for scripts and tests:
 * `commands:` the subcommands built in, `findings:` the detectors. */
static void print_version(void)
{
    unsigned found = tg_run_detectors();

    printf("tangle %s\ncommands:", TANGLE_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++)
        printf(" %s", commands[i].name);
    printf("\nfindings:");
    for (unsigned k = 0; k < TG_FIND_KIND_COUNT; k++)
        if (found & TG_FIND_BIT(k))
            printf(" %s", tg_finding_kind_name(k));
    printf("\n");
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}


int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return TG_STATUS_USAGE;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        print_help(stdout);
        return tg_cli_flush_stdout();
    }
    if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
        print_version();
        return tg_cli_flush_stdout();
    }
    if (strcmp(arg, "help") == 0) {
        /* `tangle help COMMAND` is `tangle COMMAND --help`, as git does */
        if (argc < 3) {
            print_help(stdout);
            return tg_cli_flush_stdout();
        }
        const struct command *c = find_command(argv[2]);
        if (!c)
            return tg_cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        char *help_argv[] = { argv[2], "--help", NULL };
        return c->run(2, help_argv);
    }
    if (arg[0] == '-')
        return tg_cli_usage_error(NULL, "unknown option '%s'", arg);

    const struct command *c = find_command(arg);
    if (!c)
        return tg_cli_usage_error(NULL, "unknown command '%s'", arg);
    return c->run(argc - 1, argv + 1);
}
