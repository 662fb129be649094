/* roles: runs any set of the long-running roles in one process. */
#ifndef INGOT_CMD_ROLES_H
#define INGOT_CMD_ROLES_H

#include "cmd.h"

#define ROLE_SERVE 1u
#define ROLE_WORK 2u
#define ROLE_SCHEDULE 4u

int cmd_roles_main(const struct cmd_def *def, int argc, char **argv, unsigned roles);

#endif
