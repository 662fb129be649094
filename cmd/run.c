#include "cmd.h"
#include "roles.h"

int cmd_run(int argc, char **argv)
{
    /* The single-node baseline: every role that exists, in one process. */
    return cmd_roles_main(cmd_find("run"), argc, argv, ROLE_SERVE | ROLE_WORK | ROLE_SCHEDULE);
}
