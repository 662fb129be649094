#include "cmd.h"
#include "roles.h"

int cmd_schedule(int argc, char **argv)
{
    return cmd_roles_main(cmd_find("schedule"), argc, argv, ROLE_SCHEDULE);
}
