#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "config_lint.h"
#include "cron.h"
#include "log.h"

extern char **environ;

static const char settings_note[] =
    "\nEvery setting (see .env.example) is also a flag: --name-in-lower-case VALUE,\n"
    "e.g. --database-url mysql://... ; flags override the environment, which\n"
    "overrides the .env file (--env-file PATH, default ./.env).\n";

void cmd_print_help(const struct cmd_def *def, FILE *f)
{
    fputs(def->usage, f);
    if (strcmp(def->name, "help") != 0 && strcmp(def->name, "version") != 0)
        fputs(settings_note, f);
}

static void usage_exit(const struct cmd_def *def, const char *fmt, ...) ATTR_FMT(2, 3);
static void usage_exit(const struct cmd_def *def, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ingot %s: ", def->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee `ingot %s --help`\n", def->name);
    exit(EXIT_USAGE);
}

void cmd_parse(const struct cmd_def *def, int argc, char **argv, const struct cmd_flag *flags,
               struct cmd_args *a, struct config *c)
{
    memset(a, 0, sizeof *a);
    a->env_file = ".env";
    /* A flag given twice is a mistake (which one was meant?), never
     * silently the last: seen[] marks own flags, settings and --env-file. */
    bool seen_own[64] = {false}, seen_setting[CFG_COUNT] = {false}, seen_env_file = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cmd_print_help(def, stdout);
            exit(EXIT_OK);
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (arg[0] == '-' && arg[1] != '\0' && strcmp(arg, "--") != 0)
                usage_exit(def, "unknown flag %s", arg);
            if (a->npositional >= (int)ARRAY_LEN(a->positional))
                usage_exit(def, "too many arguments at %s", arg);
            a->positional[a->npositional++] = arg;
            continue;
        }
        char name[64];
        const char *eq = strchr(arg + 2, '=');
        size_t nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (nlen >= sizeof name)
            usage_exit(def, "unknown flag %s", arg);
        memcpy(name, arg + 2, nlen);
        name[nlen] = '\0';
        const struct cmd_flag *own = NULL;
        for (const struct cmd_flag *f = flags; f && f->name; f++)
            if (strcmp(f->name, name) == 0)
                own = f;
        int setting = own ? -1 : config_find_flag(name);
        bool is_env_file = strcmp(name, "env-file") == 0;
        bool takes_value = is_env_file || setting >= 0 || (own && own->takes_value);
        if (!own && setting < 0 && !is_env_file)
            usage_exit(def, "unknown flag --%s", name);
        bool *seen = is_env_file ? &seen_env_file
                     : own       ? (own - flags < (long)ARRAY_LEN(seen_own) ? &seen_own[own - flags] : NULL)
                                 : &seen_setting[setting];
        if (seen && *seen)
            usage_exit(def, "flag --%s is given twice", name);
        if (seen)
            *seen = true;
        const char *value = NULL;
        if (takes_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                usage_exit(def, "flag --%s needs a value", name);
        } else if (eq) {
            usage_exit(def, "flag --%s takes no value", name);
        }
        if (is_env_file) {
            a->env_file = value;
            a->env_file_given = true;
        } else if (own) {
            if (own->value)
                *own->value = value;
            if (own->set)
                *own->set = true;
        } else {
            config_set_raw(c, (enum cfg_id)setting, value, CFG_SRC_FLAG);
        }
    }
}

void cmd_load_config(const struct cmd_def *def, const struct cmd_args *a, struct config *c,
                     bool require)
{
    char err[512];
    if (config_load_env_file(c, a->env_file, a->env_file_given, err, sizeof err) < 0) {
        fprintf(stderr, "ingot %s: config: %s\n", def->name, err);
        exit(EXIT_CONFIG);
    }
    config_load_environ(c, environ);
    struct sbuf errs;
    sbuf_init(&errs);
    int n = config_finalize(c, require, &errs);
    if (n > 0) {
        for (char *line = errs.data; line && *line;) {
            char *nl = strchr(line, '\n');
            fprintf(stderr, "ingot %s: config: %.*s\n", def->name,
                    (int)(nl ? nl - line : (long)strlen(line)), line);
            line = nl ? nl + 1 : line + strlen(line);
        }
        sbuf_deinit(&errs);
        exit(EXIT_CONFIG);
    }
    sbuf_deinit(&errs);
    cron_use_zoneinfo(c->zoneinfo_dir);
    enum log_level lvl = LOG_INFO;
    if (log_parse_level(c->log_level, &lvl) < 0)
        lvl = LOG_INFO;
    bool json = strcmp(c->log_format, "json") == 0 ||
                (strcmp(c->log_format, "auto") == 0 && !isatty(STDERR_FILENO));
    log_setup(lvl, json);
    if (c->warnings.len) {
        for (char *line = c->warnings.data; *line;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            log_warn("%s", line);
            if (!nl)
                break;
            line = nl + 1;
        }
    }
}

void cmd_warn_weak_secrets(const struct config *c)
{
    char why[256];
    for (int i = 0; i < CFG_COUNT; i++)
        if (config_lint_secret((enum cfg_id)i, c->raw[i], why, sizeof why))
            log_warn("%s (`ingot doctor` fails on it)", why);
}
