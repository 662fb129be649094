#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"

int cmd_init(int argc, char **argv)
{
    const struct cmd_def *def = cmd_find("init");
    struct config cfg;
    struct cmd_args a;
    const char *path = ".env";
    bool force = false, example = false;
    const struct cmd_flag flags[] = {{"output", true, &path, NULL},
                                     {"force", false, NULL, &force},
                                     {"example", false, NULL, &example},
                                     {NULL, false, NULL, NULL}};
    config_init(&cfg);
    cmd_parse(def, argc, argv, flags, &a, &cfg);
    if (a.npositional) {
        fprintf(stderr, "ingot init: unexpected argument %s\n", a.positional[0]);
        config_deinit(&cfg);
        return EXIT_USAGE;
    }
    if (example) { /* .env.example is this output, checked by a test */
        int rc = config_write_env(&cfg, stdout, false) < 0 ? EXIT_IOERR : EXIT_OK;
        config_deinit(&cfg);
        return rc;
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
    if (config_write_env(&cfg, f, true) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
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
        fprintf(stderr, "wrote %s with fresh secrets (mode 0600)\n", path);
    config_deinit(&cfg);
    return rc;
}
