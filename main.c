/* ingot: dispatches argv[1] to its command in cmd/; nothing else. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        cmd_print_usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        cmd_print_usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    const struct cmd_def *d = cmd_find(name);
    if (!d) {
        fprintf(stderr, "ingot: unknown command '%s'\n\n", name);
        cmd_print_usage(stderr);
        return EXIT_USAGE;
    }
    return d->run(argc - 1, argv + 1);
}
