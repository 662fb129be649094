/* API key shapes: auth_key_wellformed takes exactly "ik_" and 40
 * lowercase hex digits, and generated keys. */
#include <string.h>

#include "../testhelp.h"
#include "auth.h"

int main(void)
{
    const char *ok = "ik_0123456789abcdef0123456789abcdef01234567";
    test_cond("a key", strlen(ok) == AUTH_KEY_LEN && auth_key_wellformed(ok));
    char key[AUTH_KEY_LEN + 1], prefix[AUTH_PREFIX_LEN + 1];
    test_cond("a generated key", auth_key_generate(key, prefix) == 0 && auth_key_wellformed(key));
    test_cond("empty", !auth_key_wellformed(""));
    test_cond("the prefix alone", !auth_key_wellformed("ik_"));
    test_cond("one digit short", !auth_key_wellformed("ik_0123456789abcdef0123456789abcdef0123456"));
    test_cond("one digit more", !auth_key_wellformed("ik_0123456789abcdef0123456789abcdef012345678"));
    test_cond("uppercase hex", !auth_key_wellformed("ik_0123456789ABCDEF0123456789abcdef01234567"));
    test_cond("a g", !auth_key_wellformed("ik_0123456789abcdeg0123456789abcdef01234567"));
    test_cond("a space", !auth_key_wellformed("ik_0123456789abcdef 123456789abcdef01234567"));
    test_cond("a slash (below '0')", !auth_key_wellformed("ik_/123456789abcdef0123456789abcdef01234567"));
    test_cond("a colon (above '9')", !auth_key_wellformed("ik_:123456789abcdef0123456789abcdef01234567"));
    test_cond("a backquote (below 'a')", !auth_key_wellformed("ik_`123456789abcdef0123456789abcdef01234567"));
    test_cond("a high byte", !auth_key_wellformed("ik_\xe9" "123456789abcdef0123456789abcdef01234567"));
    test_cond("another prefix", !auth_key_wellformed("ij_0123456789abcdef0123456789abcdef01234567"));
    test_cond("no underscore", !auth_key_wellformed("ik-0123456789abcdef0123456789abcdef01234567"));
    test_cond("uppercase prefix", !auth_key_wellformed("IK_0123456789abcdef0123456789abcdef01234567"));
    test_report();
}
