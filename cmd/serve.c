#include "cmd.h"
#include "roles.h"

int cmd_serve(int argc, char **argv)
{
    return cmd_roles_main(cmd_find("serve"), argc, argv, ROLE_SERVE);
}
