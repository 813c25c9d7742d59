#define _GNU_SOURCE
#include "CHoraeSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

const uint32_t HORAE_EPOLLIN = EPOLLIN;
const uint32_t HORAE_EPOLLOUT = EPOLLOUT;
const uint32_t HORAE_EPOLLERR = EPOLLERR;
const uint32_t HORAE_EPOLLHUP = EPOLLHUP;

/// In the child: report why it could not run the program, and leave. Async-signal-safe.
static void child_fail(int report_fd, int stage) {
    int message[2] = {stage, errno};
    ssize_t ignored = write(report_fd, message, sizeof message);
    (void)ignored;
    _exit(127);
}

/// The child's side, between `vfork` and `execve`: system calls only (the child shares the
/// parent's memory until it executes, so it must not allocate, lock or return).
static void child_main(
    const char *path, char *const argv[], char *const envp[], const char *directory, int stdin_fd,
    int stdout_fd, int stderr_fd, long long nofile_soft, pid_t parent, int report_fd) {
    if (setpgid(0, 0) != 0) child_fail(report_fd, HORAE_SPAWN_STAGE_SETUP);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(report_fd, HORAE_SPAWN_STAGE_SETUP);
    // The parent may have died before the line above: then no signal will ever come.
    if (getppid() != parent) _exit(127);

    // Every signal to its default while all are still blocked (so no handler of the parent can
    // run here); glibc refuses its two internal signals, which keep their handlers until exec.
    struct sigaction dfl;
    dfl.sa_handler = SIG_DFL;
    dfl.sa_flags = 0;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) (void)sigaction(sig, &dfl, NULL);
    }

    if (stdin_fd < 0) {
        stdin_fd = open("/dev/null", O_RDONLY);
        if (stdin_fd < 0) child_fail(report_fd, HORAE_SPAWN_STAGE_SETUP);
    }
    if (stdin_fd != 0 && dup2(stdin_fd, 0) != 0) child_fail(report_fd, HORAE_SPAWN_STAGE_SETUP);
    if (dup2(stdout_fd, 1) != 1) child_fail(report_fd, HORAE_SPAWN_STAGE_SETUP);
    if (dup2(stderr_fd, 2) != 2) child_fail(report_fd, HORAE_SPAWN_STAGE_SETUP);
    // Everything else closes, also what the daemon opened without O_CLOEXEC; the report pipe
    // is O_CLOEXEC and closes at exec. Without close_range (Linux < 5.9) only O_CLOEXEC
    // descriptors are kept out.
    if (report_fd > 3) (void)syscall(SYS_close_range, 3u, (unsigned)report_fd - 1, 0u);
    (void)syscall(SYS_close_range, (unsigned)report_fd + 1, ~0u, 0u);

    if (directory != NULL && chdir(directory) != 0) child_fail(report_fd, HORAE_SPAWN_STAGE_CHDIR);
    if (nofile_soft >= 0) {
        struct rlimit limit;
        if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && (rlim_t)nofile_soft < limit.rlim_cur) {
            limit.rlim_cur = (rlim_t)nofile_soft;
            (void)setrlimit(RLIMIT_NOFILE, &limit);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    child_fail(report_fd, HORAE_SPAWN_STAGE_EXEC);
}

int horae_spawn(
    const char *path, char *const argv[], char *const envp[], const char *directory, int stdin_fd,
    int stdout_fd, int stderr_fd, long long nofile_soft, pid_t *pid, int *stage) {
    *stage = HORAE_SPAWN_STAGE_PARENT;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    // Numbered 3 or above, so the child's dup2 onto 0, 1, 2 cannot close it.
    for (int index = 0; index < 2; index++) {
        if (report[index] >= 3) continue;
        int moved = fcntl(report[index], F_DUPFD_CLOEXEC, 3);
        int code = errno;
        close(report[index]);
        if (moved < 0) {
            close(report[1 - index]);
            return code;
        }
        report[index] = moved;
    }

    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t parent = getpid();
    pid_t child = vfork();
    if (child == 0) {
        child_main(
            path, argv, envp, directory, stdin_fd, stdout_fd, stderr_fd, nofile_soft, parent, report[1]);
        _exit(127);  // not reached
    }
    int fork_error = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    close(report[1]);
    if (child < 0) {
        close(report[0]);
        return fork_error;
    }

    int message[2];
    size_t got = 0;
    while (got < sizeof message) {
        ssize_t count = read(report[0], (char *)message + got, sizeof message - got);
        if (count > 0) {
            got += (size_t)count;
        } else if (count < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    close(report[0]);
    if (got == 0) {
        *pid = child;
        return 0;
    }
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    if (got < sizeof message) {
        *stage = HORAE_SPAWN_STAGE_SETUP;
        return EIO;
    }
    *stage = message[0];
    return message[1] != 0 ? message[1] : EIO;
}

long long horae_raise_nofile_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return -1;
    rlim_t original = limit.rlim_cur;
    // An unlimited hard limit still stops at the kernel's fs.nr_open (1 << 20 by default).
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    return (long long)original;
}

int horae_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int horae_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int horae_epoll_add(int epfd, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int horae_epoll_remove(int epfd, int fd) {
    struct epoll_event event = {0};
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event);
}

int horae_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event ready[256];
    if (max > 256) max = 256;
    int count = epoll_wait(epfd, ready, max, timeout_ms);
    for (int index = 0; index < count; index++) {
        tokens[index] = ready[index].data.u64;
        events[index] = ready[index].events;
    }
    return count;
}
