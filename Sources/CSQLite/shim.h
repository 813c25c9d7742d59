#include <sqlite3.h>

/// Turns SQLite's memory statistics off: they take a process-wide mutex around every allocation.
/// Effective only before SQLite initializes (SQLITE_MISUSE afterwards, and nothing changes).
static inline int horae_sqlite3_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
