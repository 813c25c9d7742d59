#include <libpq-fe.h>

/* libpq's default notice processor prints the server's notices (e.g. "relation … already exists,
   skipping") on stderr, beside the daemon's structured logs: drop them. */
static void horae_pq_ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static inline void horae_pq_silence_notices(PGconn *connection) {
    PQsetNoticeProcessor(connection, horae_pq_ignore_notice, NULL);
}
