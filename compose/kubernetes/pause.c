/* The pod sandbox's process: sleeps until SIGTERM/SIGINT and reaps orphans. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void down(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, NULL, WNOHANG) > 0) {} }

int main(void) {
    struct sigaction a = {0}, r = {0};
    a.sa_handler = down;
    sigaction(SIGINT, &a, NULL);
    sigaction(SIGTERM, &a, NULL);
    r.sa_handler = reap;
    r.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &r, NULL);
    for (;;) pause();
}
