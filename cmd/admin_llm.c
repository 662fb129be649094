/* Placeholder until the LLM gateway's admin commands land (issue 10). */
#include <stdio.h>

#include "admin_int.h"
#include "cmd.h"

int admin_llm(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "ingot admin: %s: not available in this build\n", argv[1]);
    return EXIT_USAGE;
}
