/* cmd: one file per subcommand (flags, --help, wiring) and the helpers
 * they share. main.c only dispatches through cmd_table. */
#ifndef INGOT_CMD_H
#define INGOT_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

struct cmd_def {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *usage;                 /* full --help text */
};

extern const struct cmd_def cmd_table[];
const struct cmd_def *cmd_find(const char *name);
void cmd_print_usage(FILE *f);
/* A command's --help text (and the settings note where it applies). */
void cmd_print_help(const struct cmd_def *def, FILE *f);

/* A flag of the command itself (settings flags are handled generically). */
struct cmd_flag {
    const char *name;    /* without dashes */
    bool takes_value;
    const char **value;  /* where the value goes (takes_value) */
    bool *set;           /* set to true when present */
};

struct cmd_args {
    const char *positional[8];
    int npositional;
    const char *env_file;
    bool env_file_given;
};

/* Parses argv[1..]: the command's own flags, --env-file, every setting as
 * --name-in-lower-case, positionals. --help prints usage and exits 0; an
 * unknown flag prints a line and exits EXIT_USAGE. Raw setting values land in c. */
void cmd_parse(const struct cmd_def *def, int argc, char **argv, const struct cmd_flag *flags,
               struct cmd_args *a, struct config *c);
/* Loads .env and the environment into c, validates, sets up logging.
 * On a bad value prints one line per problem and exits EXIT_CONFIG. */
void cmd_load_config(const struct cmd_def *def, const struct cmd_args *a, struct config *c,
                     bool require);

/* Logs a warning per secret that is a placeholder or has low entropy
 * (never the value). Long-running roles call it at start. */
void cmd_warn_weak_secrets(const struct config *c);

int cmd_serve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_work(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

#endif
