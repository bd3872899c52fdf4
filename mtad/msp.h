/* msp: the mail submission program's side of the privilege model.
 * Installed setgid smmsp (make install), `sendmail` run by an ordinary
 * user (mail(1), cron's `sendmail -t -oi`) queues into the MSP queue
 * (/var/spool/clientmqueue, group smmsp, 2770) when no daemon takes it,
 * and the daemon hands that queue over to itself when it starts and on
 * each queue run. */
#ifndef MTAD_MSP_H
#define MTAD_MSP_H
#include <stddef.h>
#include <sys/types.h>

/* Run setgid by someone other than root: keeps the group only for a plain
 * submission (mode 'm', no queue run, -C only with a configuration file
 * root owns that no one else can write, -O/-o only DeliveryMode) and then
 * returns 1 (use the MSP queue); otherwise gives the group up, returns 0. */
int msp_setgid_policy(char mode, int queue_flags, const char *conf_file, char **oopts, size_t noopts);

/* In the daemon (root): forks a run of the MSP queue, as RunAsUser with the
 * MSP queue's group, that relays each message to the MTA.  The pid, or -1
 * when there is nothing to do. */
pid_t msp_handover(void);

#endif
