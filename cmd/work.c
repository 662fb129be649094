#include "cmd.h"
#include "roles.h"

int cmd_work(int argc, char **argv)
{
    return cmd_roles_main(cmd_find("work"), argc, argv, ROLE_WORK);
}
