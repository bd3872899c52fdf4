/* globals: the daemon's one global state (mtad.h). */
#include "mtad.h"

struct mtad_globals G;
