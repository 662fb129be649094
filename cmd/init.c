#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "config_lint.h"
#include "url.h"

extern char **environ;

/* 32 random bytes as 64 hex characters into out (>= 65). 0/-1. */
static int random_hex(char *out)
{
    unsigned char rnd[32];
    if (util_random_bytes(rnd, sizeof rnd) < 0)
        return -1;
    util_hex(rnd, sizeof rnd, out);
    return 0;
}

/* The part of .env only deploy/docker-compose.yml reads: the passwords it
 * gives MariaDB (ingot's own DATABASE_URL is built from them there). */
static int write_compose_extras(FILE *f)
{
    char pw[65], root[65];
    if (random_hex(pw) < 0 || random_hex(root) < 0)
        return -1;
    fprintf(f, "\n# For deploy/docker-compose.yml only (ingot ignores these): the passwords\n"
               "# of the MariaDB container; the compose file builds DATABASE_URL from\n"
               "# MARIADB_PASSWORD. INGOT_PUBLISH is where serve is published (default\n"
               "# 127.0.0.1:8080; put a TLS proxy in front before opening it wider).\n"
               "MARIADB_PASSWORD=%s\nMARIADB_ROOT_PASSWORD=%s\n", pw, root);
    return ferror(f) ? -1 : 0;
}

/* A double-quoted YAML scalar. */
static void yaml_str(FILE *f, const char *v)
{
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fprintf(f, "\\%c", *v);
        else if ((unsigned char)*v < 0x20)
            fprintf(f, "\\x%02x", (unsigned char)*v);
        else
            fputc(*v, f);
    }
    fputc('"', f);
}

/* --k8s-secret: the Secret ingot-secrets with the secret settings only
 * (from .env, the environment and flags), so the ConfigMap keeps the rest
 * and nothing in the Secret overrides it with a dev value. */
static int print_k8s_secret(const struct cmd_def *def, const struct cmd_args *a, struct config *c)
{
    char err[512];
    if (config_load_env_file(c, a->env_file, a->env_file_given, err, sizeof err) < 0) {
        fprintf(stderr, "ingot init: %s\n", err);
        return EXIT_CONFIG;
    }
    config_load_environ(c, environ);
    struct sbuf errs;
    sbuf_init(&errs);
    int problems = config_finalize(c, true, &errs);
    for (int i = 0; i < CFG_COUNT; i++) {
        char why[256];
        if (config_lint_secret((enum cfg_id)i, c->raw[i], why, sizeof why)) {
            sbuf_printf(&errs, "%s\n", why);
            problems++;
        }
    }
    if (problems) {
        fprintf(stderr, "ingot %s: refusing to write a Secret:\n%s", def->name, errs.data);
        sbuf_deinit(&errs);
        return EXIT_CONFIG;
    }
    sbuf_deinit(&errs);
    /* A .env from `make run` points at this machine: pods cannot reach it. */
    struct db_dsn d;
    if (db_dsn_parse(c->database_url, &d, err, sizeof err) == 0) {
        if (d.socket || strcmp(d.host, "localhost") == 0 || strncmp(d.host, "127.", 4) == 0 ||
            strcmp(d.host, "::1") == 0)
            fprintf(stderr, "ingot init: warning: DATABASE_URL points at this machine; pass the "
                            "cluster's with --database-url\n");
        db_dsn_deinit(&d);
    }
    if (strstr(c->redis_url, "127.0.0.1") || strstr(c->redis_url, "localhost") ||
        strncmp(c->redis_url, "unix:", 5) == 0)
        fprintf(stderr, "ingot init: warning: REDIS_URL points at this machine; pass the cluster's "
                        "with --redis-url\n");
    /* serve pods listen on every interface: an unset token leaves /metrics
     * (tenant ids, queue names) open to whoever reaches a pod. */
    if (!*c->metrics_bearer_token)
        fprintf(stderr, "ingot init: warning: METRICS_BEARER_TOKEN is unset, so /metrics of every "
                        "serve pod is open; pass one with --metrics-bearer-token "
                        "\"$(openssl rand -hex 32)\"\n");
    printf("# The secret settings of ingot only; the ConfigMap (configmap.yaml) holds\n"
           "# the rest. Written by `ingot init --k8s-secret`; apply it with\n"
           "#   ingot init --k8s-secret --database-url ... | kubectl apply -f -\n"
           "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ingot-secrets\ntype: Opaque\n"
           "stringData:\n");
    for (int i = 0; i < CFG_COUNT; i++) {
        const struct cfg_info *info = config_info((enum cfg_id)i);
        if (!info->secret || !*c->raw[i])
            continue;
        printf("  %s: ", info->name);
        yaml_str(stdout, c->raw[i]);
        putchar('\n');
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_IOERR;
}

int cmd_init(int argc, char **argv)
{
    const struct cmd_def *def = cmd_find("init");
    struct config cfg;
    struct cmd_args a;
    const char *path = ".env";
    bool force = false, example = false, compose = false, k8s = false;
    const struct cmd_flag flags[] = {{"output", true, &path, NULL},
                                     {"force", false, NULL, &force},
                                     {"example", false, NULL, &example},
                                     {"compose", false, NULL, &compose},
                                     {"k8s-secret", false, NULL, &k8s},
                                     {NULL, false, NULL, NULL}};
    config_init(&cfg);
    cmd_parse(def, argc, argv, flags, &a, &cfg);
    if (a.npositional || example + compose + k8s > 1) {
        if (a.npositional)
            fprintf(stderr, "ingot init: unexpected argument %s\n", a.positional[0]);
        else
            fprintf(stderr, "ingot init: --example, --compose and --k8s-secret exclude each other\n");
        config_deinit(&cfg);
        return EXIT_USAGE;
    }
    if (example) { /* .env.example is this output, checked by a test */
        int rc = config_write_env(&cfg, stdout, false) < 0 ? EXIT_IOERR : EXIT_OK;
        config_deinit(&cfg);
        return rc;
    }
    if (k8s) {
        int rc = print_k8s_secret(def, &a, &cfg);
        config_deinit(&cfg);
        return rc;
    }
    char token[65];
    if (compose && cfg.source[CFG_METRICS_BEARER_TOKEN] != CFG_SRC_FLAG) {
        /* The compose stack publishes serve: /metrics is never open there. */
        if (random_hex(token) < 0) {
            fprintf(stderr, "ingot init: no randomness available\n");
            config_deinit(&cfg);
            return EXIT_SOFTWARE;
        }
        config_set_raw(&cfg, CFG_METRICS_BEARER_TOKEN, token, CFG_SRC_FLAG);
    }
    /* Flag values are validated before they are written. */
    struct sbuf errs;
    sbuf_init(&errs);
    if (config_finalize(&cfg, false, &errs) > 0) {
        fprintf(stderr, "ingot init: config: %s", errs.data);
        sbuf_deinit(&errs);
        config_deinit(&cfg);
        return EXIT_CONFIG;
    }
    sbuf_deinit(&errs);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "ingot init: cannot write %s: %s\n", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        config_deinit(&cfg);
        return EXIT_CANTCREAT;
    }
    int rc = EXIT_OK;
    if (config_write_env(&cfg, f, true) < 0 || (compose && write_compose_extras(f) < 0) ||
        fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fprintf(stderr, "ingot init: cannot write %s: %s\n", tmp, strerror(errno));
        rc = EXIT_IOERR;
    }
    fclose(f);
    if (rc == EXIT_OK) {
        /* link() fails if the target exists: no overwrite without --force. */
        if (force ? rename(tmp, path) != 0 : link(tmp, path) != 0) {
            if (errno == EEXIST)
                fprintf(stderr, "ingot init: %s exists; use --force to replace it (its secrets "
                                "would change)\n", path);
            else
                fprintf(stderr, "ingot init: cannot create %s: %s\n", path, strerror(errno));
            rc = EXIT_CANTCREAT;
        }
    }
    unlink(tmp);
    if (rc == EXIT_OK)
        fprintf(stderr, "wrote %s with fresh secrets (mode 0600)%s\n", path,
                compose ? ", MariaDB passwords and a METRICS_BEARER_TOKEN for docker compose" : "");
    config_deinit(&cfg);
    return rc;
}
