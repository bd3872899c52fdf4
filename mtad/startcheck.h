/* startcheck: the start-up checks of -bC and the daemon (startcheck.c). */
#ifndef MTAD_STARTCHECK_H
#define MTAD_STARTCHECK_H

/* Prints every problem with its file and fix; 0, or EX_CONFIG (78).
 * daemon: the queue is first given to RunAsUser, as the daemon does. */
int startup_check(int daemon);

#endif
