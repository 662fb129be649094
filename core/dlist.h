/* dlist: intrusive doubly linked lists: structs with `prev` and `next`
 * members, reached from one head pointer. Macros, so every list of the
 * project (connections, transfers, runs, waiters...) unlinks the same way
 * (and no <sys/queue.h>, which musl lacks). */
#ifndef INGOT_DLIST_H
#define INGOT_DLIST_H

#include <stddef.h>

/* Puts n first. */
#define DLIST_PUSH(head, n)                                                                  \
    do {                                                                                     \
        (n)->prev = NULL;                                                                    \
        (n)->next = (head);                                                                  \
        if (head)                                                                            \
            (head)->prev = (n);                                                              \
        (head) = (n);                                                                        \
    } while (0)

/* Takes n (which is on the list) out, leaving its links NULL. */
#define DLIST_REMOVE(head, n)                                                                \
    do {                                                                                     \
        if ((n)->prev)                                                                       \
            (n)->prev->next = (n)->next;                                                     \
        else                                                                                 \
            (head) = (n)->next;                                                              \
        if ((n)->next)                                                                       \
            (n)->next->prev = (n)->prev;                                                     \
        (n)->prev = (n)->next = NULL;                                                        \
    } while (0)

#endif
