/* version: the one version string of mtad and its tools; every binary
 * prints it for --version (mtad also for -d0.1). */
#ifndef MTA_VERSION_H
#define MTA_VERSION_H
#include <stdio.h>

#define MTA_VERSION "0.1.0"

/* Prints "<prog> 0.1.0" and a newline on out. */
void version_print(FILE *out, const char *prog);

#endif
