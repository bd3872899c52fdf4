/* version: see version.h. */
#include "version.h"

void version_print(FILE *out, const char *prog)
{
	fprintf(out, "%s %s\n", prog, MTA_VERSION);
}
