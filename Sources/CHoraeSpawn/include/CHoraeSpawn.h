#ifndef CHORAE_SPAWN_H
#define CHORAE_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

/// Where a failed `horae_spawn` stopped.
enum {
    /// Before the child existed (pipe, fork): nothing was started.
    HORAE_SPAWN_STAGE_PARENT = 1,
    /// In the child, setting up its process group, descriptors or signals.
    HORAE_SPAWN_STAGE_SETUP = 2,
    /// In the child, changing to the working directory.
    HORAE_SPAWN_STAGE_CHDIR = 3,
    /// In the child, `execve`.
    HORAE_SPAWN_STAGE_EXEC = 4,
};

/// Starts `path` with `argv` and `envp` in a child that:
/// - leads a new process group (its pid is the group id);
/// - gets SIGKILL when the calling *thread* ends (`PR_SET_PDEATHSIG`), and exits at once if the
///   calling process already died before that was set;
/// - has `stdin_fd` (or `/dev/null` when it is -1), `stdout_fd` and `stderr_fd` as 0, 1, 2 and
///   every other descriptor closed;
/// - runs in `directory` when it is not NULL;
/// - gets `nofile_soft` as its soft RLIMIT_NOFILE when that is >= 0;
/// - starts with an empty signal mask and every signal at its default disposition.
///
/// Only async-signal-safe calls run between the fork and the exec. Returns 0 and the pid in
/// `*pid` once the program is executing; otherwise an errno value, with the stage in `*stage`,
/// and no child left behind (a child that failed was reaped).
int horae_spawn(
    const char *path, char *const argv[], char *const envp[], const char *directory, int stdin_fd,
    int stdout_fd, int stderr_fd, long long nofile_soft, pid_t *pid, int *stage);

/// Raises the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit it had, or -1 when it
/// was left as it was (already at the hard limit, or the change was refused).
long long horae_raise_nofile_limit(void);

/// `pidfd_open(pid, 0)` through the system call (Linux >= 5.3), close-on-exec; -1 with errno set
/// (ENOSYS on older kernels).
int horae_pidfd_open(pid_t pid);

/// Readiness bits, as `epoll_event.events` uses them.
extern const uint32_t HORAE_EPOLLIN;
extern const uint32_t HORAE_EPOLLOUT;
extern const uint32_t HORAE_EPOLLERR;
extern const uint32_t HORAE_EPOLLHUP;

/// `epoll_create1(EPOLL_CLOEXEC)`.
int horae_epoll_create(void);
/// Level-triggered registration of `fd` for `events`, reported with `token`.
int horae_epoll_add(int epfd, int fd, uint32_t events, uint64_t token);
int horae_epoll_remove(int epfd, int fd);
/// Waits up to `timeout_ms` (-1: no limit) and fills at most `max` pairs of tokens and events;
/// returns their number, or -1 with errno set.
int horae_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms);

#endif
