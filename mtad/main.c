/* placeholder replaced by the real command line in the next commit */
#include <stdio.h>
int main(void) { fputs("mtad: not built yet\n", stderr); return 69; }
