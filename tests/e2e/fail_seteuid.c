/* fail_seteuid.c: an LD_PRELOAD shim for test_lda.py (built by the test):
 * seteuid(0) fails with EPERM, as it would if the kernel refused it, so
 * that the local delivery agent's return to root fails after a mailbox
 * append.  Every other seteuid() goes to libc.  Only the agent calls
 * seteuid() in mtad. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

int seteuid(uid_t uid)
{
	if (uid == 0) {
		errno = EPERM;
		return -1;
	}
	int (*real)(uid_t) = (int (*)(uid_t))dlsym(RTLD_NEXT, "seteuid");
	return real ? real(uid) : -1;
}
