/* version: what this build is (set by the Makefile). */
#ifndef INGOT_VERSION_H
#define INGOT_VERSION_H

const char *ingot_version(void);
const char *ingot_commit(void);

#endif
