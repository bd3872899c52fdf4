/* lda: the local delivery agent, the one part of delivery that keeps root.
 *
 * Started as root, a delivery process (a runner, -q, a submission that
 * delivers at once) calls lda_start(): it forks the agent, which stays
 * root, and becomes RunAsUser itself; from then on it reads and rewrites
 * the queue, expands aliases and speaks SMTP unprivileged, and asks the
 * agent over a socket for each local delivery.  The agent trusts nothing
 * in a request but a name: it re-derives what to do from files root
 * trusts (passwd, LocalUserFile, the aliases, :include: files, the user's
 * .forward), and becomes the right user before it opens a mailbox or a
 * file or reads a .forward (its effective ids only, back to root after
 * each request, as Postfix's local(8)) or runs a program (a forked worker
 * that setuid()s):
 *   mailbox  the recipient (the mailbox directory's group added, for the
 *            dotlock), O_NOFOLLOW, regular, one link, owned by the recipient
 *   file, program from an alias: the owner of the aliases or :include:
 *            file, DefaultUser when that is root; from a .forward: its user
 * A file or program the agent cannot find in those files is refused.
 * Not root (or RunAsUser root, or a queue RunAsUser does not own): the
 * same code runs in the process itself (as root, the user's part in a
 * forked worker: only the agent is known to have one thread). */
#ifndef MTAD_LDA_H
#define MTAD_LDA_H
#include <stddef.h>

int lda_start(void);

/* Before a fork whose child delivers too (a queue run's worker): a socket
 * to an agent of the child's own, -1 when this process has no agent (the
 * child, still root, starts its own) or none could be made.  The child
 * passes it to lda_channel_use(); the parent closes it. */
int lda_channel_new(void);
void lda_channel_use(int fd);
/* 1 when this process delivers through an agent (it gave up root). */
int lda_has_agent(void);

/* One local delivery.  kind: 'M' the mailbox of user name ("\user" skips
 * nothing: .forward is the expander's business), 'm' the same without the
 * fsync (the caller makes it durable with a syncfs: deliver.c's group
 * sync), 'F' the file target or
 * 'P' the program target that the local name (alias or user) expanded to.
 * Returns 0 sent, 1 temporary failure, 2 permanent, with err. */
int lda_deliver(char kind, const char *name, const char *target, const char *sender, const char *rcpt,
		const char *headers, size_t hlen, int df_fd, char *err, size_t errsize);

/* The user's .forward, read as the user under sendmail's rules (regular
 * file, owned by the user or root, not group- or world-writable, in a
 * home directory that is not either).  1 with *text (malloc'd), 0 when
 * there is none to use (logged when unsafe), -1 temporary failure. */
int lda_forward(const char *user, char **text, char *err, size_t errsize);

#endif
