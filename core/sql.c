#include "sql.h"

#include <string.h>

void sql_str(struct sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        sbuf_puts(b, "NULL");
        return;
    }
    if (n == 0) {
        sbuf_puts(b, "''");
        return;
    }
    sbuf_reserve(b, 2 * n + 3);
    char *p = b->data + b->len;
    *p++ = 'X';
    *p++ = '\'';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        *p++ = hex[c >> 4];
        *p++ = hex[c & 15];
    }
    *p++ = '\'';
    b->len = (size_t)(p - b->data);
    b->data[b->len] = '\0';
}

void sql_cstr(struct sbuf *b, const char *s)
{
    sql_str(b, s, s ? strlen(s) : 0);
}
