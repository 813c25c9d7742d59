import CHoraeSpawn
import HoraeRules
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one thread that starts, watches and reaps every child of every ``ProcessRunner`` in the
/// process, however many run at once.
///
/// - Spawning happens on this thread, which is never left while the process lives: a child's
///   parent-death signal (`PR_SET_PDEATHSIG`, see ``ChildSpawner``) fires when the thread that
///   forked it ends, so it fires exactly when the daemon dies.
/// - One `epoll` set holds every child's stdin, stdout, stderr and pidfd plus a wake-up pipe;
///   each ready descriptor and each due deadline advances that child's ``SupervisedChild``
///   state machine. The thread count does not grow with the number of children.
/// - Other threads (a new run, task cancellation, ``ProcessRunner/terminateAll(grace:)``) only
///   queue a request here and wake the thread; every signal and every reap happens on it.
/// - Each child holds three or four descriptors, so when the loop starts it raises the
///   process's soft `RLIMIT_NOFILE` to the hard limit; children get the original soft limit back.
final class SupervisionLoop: Sendable {
    struct StartFailure: Error {
        var code: Int32
        var what: String
    }

    private struct Inbox {
        var admitted: [ChildSupervisor] = []
        var attention: [ChildSupervisor] = []
        var wakePending = false
    }

    private let inbox = Mutex(Inbox())
    private let wakeReadFD: Int32
    private let wakeWriteFD: Int32
    private let epollFD: Int32
    /// The soft `RLIMIT_NOFILE` before it was raised, for the children; -1 when unchanged.
    private let childNofileSoftLimit: Int64

    private static let instance = Mutex<SupervisionLoop?>(nil)

    /// The process's loop, started on first use (and again on the next use if it could not be).
    static func shared() throws(StartFailure) -> SupervisionLoop {
        try instance.withLock { (current: inout SupervisionLoop?) throws(StartFailure) -> SupervisionLoop in
            if let current { return current }
            let loop = try SupervisionLoop()
            current = loop
            return loop
        }
    }

    private init() throws(StartFailure) {
        guard let wake = FileDescriptors.makePipe(nonBlocking: true) else {
            throw StartFailure(code: errno, what: "cannot create a pipe")
        }
        let epollFD = horae_epoll_create()
        guard epollFD >= 0 else {
            let code = errno
            _ = close(wake.read)
            _ = close(wake.write)
            throw StartFailure(code: code, what: "cannot create an epoll set")
        }
        wakeReadFD = wake.read
        wakeWriteFD = wake.write
        self.epollFD = epollFD
        childNofileSoftLimit = horae_raise_nofile_limit()
        if horae_epoll_add(epollFD, wakeReadFD, HORAE_EPOLLIN, State.wakeToken) != 0 {
            throw StartFailure(code: errno, what: "cannot watch the wake-up pipe")
        }

        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 1 << 20)
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, &attributes,
            { context in
                let loop = Unmanaged<SupervisionLoop>.fromOpaque(context!).takeRetainedValue()
                loop.threadMain()
                return nil
            }, context)
        if rc != 0 {
            Unmanaged<SupervisionLoop>.fromOpaque(context).release()
            _ = close(wakeReadFD)
            _ = close(wakeWriteFD)
            _ = close(epollFD)
            throw StartFailure(code: rc, what: "cannot start the supervision thread")
        }
    }

    /// Queues a child to be spawned and supervised.
    func submit(_ supervisor: ChildSupervisor) {
        let wake = inbox.withLock { inbox in
            inbox.admitted.append(supervisor)
            return Self.claimWake(&inbox)
        }
        if wake { self.wake() }
    }

    /// Another thread recorded a request for this child (``ChildSupervisor/Requests``).
    func attention(_ supervisor: ChildSupervisor) {
        let wake = inbox.withLock { inbox in
            inbox.attention.append(supervisor)
            return Self.claimWake(&inbox)
        }
        if wake { self.wake() }
    }

    private static func claimWake(_ inbox: inout Inbox) -> Bool {
        if inbox.wakePending { return false }
        inbox.wakePending = true
        return true
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)  // EAGAIN: a wake-up is already pending
    }

    // MARK: - Thread

    /// What only the supervision thread touches.
    final class State {
        static let wakeToken: UInt64 = 0

        let epollFD: Int32
        /// One read buffer for every child's output.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        var children: [ObjectIdentifier: SupervisedChild] = [:]
        private var owners: [UInt64: (child: SupervisedChild, role: SupervisedChild.Role)] = [:]
        private var nextToken: UInt64 = 1

        init(epollFD: Int32) { self.epollFD = epollFD }

        /// Watches `fd`; nil when epoll refused (the child then polls).
        func register(_ fd: Int32, events: UInt32, child: SupervisedChild, role: SupervisedChild.Role) -> UInt64? {
            let token = nextToken
            nextToken += 1
            guard horae_epoll_add(epollFD, fd, events, token) == 0 else { return nil }
            owners[token] = (child, role)
            return token
        }

        /// Called before `fd` is closed. A token is never reused, so an event already fetched for
        /// a descriptor closed meanwhile is recognised and dropped.
        func unregister(_ fd: Int32, token: UInt64) {
            _ = horae_epoll_remove(epollFD, fd)
            owners[token] = nil
        }

        func owner(of token: UInt64) -> (child: SupervisedChild, role: SupervisedChild.Role)? {
            owners[token]
        }
    }

    private func threadMain() {
        // Signals go to the daemon's other threads; a SIGPIPE raised by writing to the stdin of
        // a child that went away stays pending here and is consumed (see SupervisedChild).
        var all = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, nil)

        let state = State(epollFD: epollFD)
        let capacity = 256
        var tokens = [UInt64](repeating: 0, count: capacity)
        var events = [UInt32](repeating: 0, count: capacity)
        var dirty: [SupervisedChild] = []
        var timeout: Int32 = -1

        while true {
            let ready = horae_epoll_wait(epollFD, &tokens, &events, Int32(capacity), timeout)
            for index in 0..<max(0, Int(ready)) {
                if tokens[index] == State.wakeToken {
                    var sink = [UInt8](repeating: 0, count: 64)
                    while read(wakeReadFD, &sink, sink.count) > 0 {}
                    continue
                }
                guard let (child, role) = state.owner(of: tokens[index]) else { continue }
                child.handle(role)
                dirty.append(child)
            }

            let (admitted, attention) = inbox.withLock { inbox in
                defer {
                    inbox.admitted = []
                    inbox.attention = []
                    inbox.wakePending = false
                }
                return (inbox.admitted, inbox.attention)
            }
            for supervisor in admitted {
                if let child = admit(supervisor, state: state) { dirty.append(child) }
            }
            for supervisor in attention {
                if let child = state.children[ObjectIdentifier(supervisor)] { dirty.append(child) }
            }

            var now = ContinuousClock.now
            for child in state.children.values {
                if let wakeAt = child.wakeAt, wakeAt <= now { dirty.append(child) }
            }
            for child in dirty {
                child.advance(now: now)
                if let outcome = child.outcome,
                    state.children.removeValue(forKey: ObjectIdentifier(child.supervisor)) != nil
                {
                    child.supervisor.finish(outcome)
                }
            }
            dirty.removeAll(keepingCapacity: true)

            now = ContinuousClock.now
            var next: ContinuousClock.Instant?
            for child in state.children.values {
                guard let wakeAt = child.wakeAt else { continue }
                if let current = next, current <= wakeAt { continue }
                next = wakeAt
            }
            timeout = next.map { Self.milliseconds(until: $0, from: now) } ?? -1
        }
    }

    /// Spawns a queued child; nil when it was not started (its run is then finished).
    private func admit(_ supervisor: ChildSupervisor, state: State) -> SupervisedChild? {
        if supervisor.pendingRequests().cancel {
            supervisor.finish(.cancelledBeforeStart)
            return nil
        }
        let spec = supervisor.spec
        let start = ContinuousClock.now
        let spawned: ChildSpawner.Spawned
        do {
            spawned = try ChildSpawner.spawn(
                path: supervisor.path, argv: [spec.executable] + spec.arguments, environment: spec.environment,
                directory: spec.directory, withStdin: spec.stdin != nil, executable: spec.executable,
                nofileSoftLimit: childNofileSoftLimit)
        } catch {
            supervisor.finish(.failed(error))
            return nil
        }
        let child = SupervisedChild(supervisor: supervisor, spawned: spawned, start: start, loop: state)
        state.children[ObjectIdentifier(supervisor)] = child
        return child
    }

    private static func milliseconds(until instant: ContinuousClock.Instant, from now: ContinuousClock.Instant) -> Int32
    {
        let remaining = now.duration(to: instant)
        if remaining <= .zero { return 0 }
        return Int32(clamping: remaining.millisecondsRoundedUp)
    }
}
