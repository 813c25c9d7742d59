import CCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One libcurl multi handle driven by one dedicated thread.
///
/// Other threads talk to it only through `inbox` (under its lock): they queue transfers to start
/// and ids to cancel, then call `curl_multi_wakeup`, the one multi-handle function libcurl allows
/// from any thread. The thread adds queued handles, runs `curl_multi_perform`, finishes completed
/// transfers (resuming their continuations) and sleeps in `curl_multi_poll` until a socket is
/// ready, a libcurl timer is due or it is woken. No blocking call ever runs on Swift's
/// cooperative pool, and an idle engine sleeps in `poll` without waking.
///
/// Thread ownership: `multi` (except for `curl_multi_wakeup`) and `active` belong to the engine
/// thread while it runs. The multi handle is cleaned up in `deinit`, when no thread can be calling
/// `curl_multi_wakeup` any more (each caller holds a reference to the engine).
final class CurlEngine: @unchecked Sendable {
    private struct Inbox {
        var started: [CurlTransfer] = []
        var cancelled: [UInt64] = []
        var stopping = false
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    /// The engine thread, until someone joins it.
    private let thread = Mutex<pthread_t?>(nil)
    /// Transfers attached to the multi handle, by id (engine thread only).
    private var active: [UInt64: CurlTransfer] = [:]
    private let nextID = Atomic<UInt64>(1)
    /// Sum of CURLINFO_NUM_CONNECTS over finished transfers.
    let connectionsOpened = Atomic<Int>(0)
    /// The engine thread's kernel thread id (Linux), 0 until it runs; lets tests read its CPU time.
    let kernelThreadID = Atomic<Int32>(0)

    /// The earliest deadline among attached transfers (may be stale-early after they finish).
    private var earliestDeadline: ContinuousClock.Instant?
    /// How long after a request's deadline the engine fails it itself if libcurl has not (libcurl
    /// 7.x does not time out transfers queued for a connection under MAX_TOTAL_CONNECTIONS).
    private static let deadlineGrace: Duration = .milliseconds(20)

    /// Longest sleep in `curl_multi_poll` when libcurl has no timer due. Only bounds how long an
    /// idle engine sleeps between two checks that cost nothing; wakeups are immediate.
    private static let idlePollMilliseconds: Int32 = 60_000

    init(maxConnections: Int) throws(HTTPTransportError) {
        guard CurlGlobal.initialized else {
            throw HTTPTransportError(kind: .other, message: "curl_global_init failed", curlCode: 2)
        }
        guard let multi = curl_multi_init() else {
            throw HTTPTransportError(kind: .other, message: "curl_multi_init failed", curlCode: 2)
        }
        self.multi = multi
        let limit = max(1, maxConnections)
        // At most `limit` connections in use and kept idle in the cache; further transfers wait
        // inside libcurl for a free connection. HTTP/2 streams share a connection.
        _ = horae_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, limit)
        _ = horae_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, limit)
        _ = horae_multi_setopt_long(multi, CURLMOPT_PIPELINING, 2)  // CURLPIPE_MULTIPLEX
        try startThread()  // on failure deinit cleans the multi handle up
    }

    deinit {
        curl_multi_cleanup(multi)
    }

    func makeID() -> UInt64 {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    // MARK: - Any thread

    /// Queues `transfer` to start; when the engine is stopping it is finished with `.cancelled`.
    func start(_ transfer: CurlTransfer) {
        let (accepted, wake) = inbox.withLock { inbox -> (Bool, Bool) in
            if inbox.stopping { return (false, false) }
            // A non-empty inbox means a wakeup is already on its way: the thread empties the inbox
            // only after waking, and whoever found it empty wakes it after queueing.
            let wasEmpty = inbox.started.isEmpty && inbox.cancelled.isEmpty
            inbox.started.append(transfer)
            return (true, wasEmpty)
        }
        if wake { curl_multi_wakeup(multi) }
        if !accepted { transfer.completion.resume(.failure(Self.shutDownError(host: transfer.host))) }
    }

    /// Asks the engine thread to detach the transfer `id` (if it still runs).
    func cancel(_ id: UInt64) {
        let wake = inbox.withLock { inbox -> Bool in
            if inbox.stopping { return false }
            let wasEmpty = inbox.started.isEmpty && inbox.cancelled.isEmpty
            inbox.cancelled.append(id)
            return wasEmpty
        }
        if wake { curl_multi_wakeup(multi) }
    }

    /// Stops the thread and waits for it; transfers queued or running fail with `.cancelled`.
    /// Idempotent.
    func shutdown() {
        let wake = inbox.withLock { inbox -> Bool in
            defer { inbox.stopping = true }
            return !inbox.stopping
        }
        if wake { curl_multi_wakeup(multi) }
        let handle = thread.withLock { thread -> pthread_t? in
            defer { thread = nil }
            return thread
        }
        if let handle { pthread_join(handle, nil) }
    }

    static func shutDownError(host: String) -> HTTPTransportError {
        HTTPTransportError(kind: .cancelled, message: "the HTTP client was shut down (host \(host))", curlCode: 42)
    }

    static func cancelledError(host: String) -> HTTPTransportError {
        HTTPTransportError(kind: .cancelled, message: "the request was cancelled (host \(host))", curlCode: 42)
    }

    // MARK: - Engine thread

    private func startThread() throws(HTTPTransportError) {
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Darwin)
        var handle: pthread_t?
        let code = pthread_create(
            &handle, nil,
            { context in
                Unmanaged<CurlEngine>.fromOpaque(context).takeRetainedValue().run()
                return nil
            }, context)
        #else
        var handle = pthread_t()
        let code = pthread_create(
            &handle, nil,
            { context in
                Unmanaged<CurlEngine>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
        #endif
        guard code == 0 else {
            Unmanaged<CurlEngine>.fromOpaque(context).release()
            throw HTTPTransportError(kind: .other, message: "cannot start the HTTP thread (error \(code))")
        }
        thread.withLock { $0 = handle }
    }

    private func run() {
        #if os(Linux)
        nameThisThread()
        #endif
        var running: Int32 = 0
        while true {
            let (started, cancelled, stopping) = inbox.withLock { inbox in
                defer {
                    inbox.started.removeAll()
                    inbox.cancelled.removeAll()
                }
                return (inbox.started, inbox.cancelled, inbox.stopping)
            }
            if stopping {
                stop(alsoFailing: started)
                return
            }
            for transfer in started { attach(transfer) }
            for id in cancelled { detachCancelled(id) }
            _ = curl_multi_perform(multi, &running)
            finishCompleted()
            expireOverdue()
            _ = curl_multi_poll(multi, nil, 0, pollMilliseconds(), nil)
        }
    }

    #if os(Linux)
    /// Names the thread "horae-http" (shown by `top -H`, `ps -L`) and records its kernel id, both
    /// through /proc (Glibc's module hides `gettid` and `pthread_setname_np`).
    private func nameThisThread() {
        var buffer = [CChar](repeating: 0, count: 128)
        let count = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        if count > 0 {
            let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = path.lastIndex(of: "/"), let tid = Int32(path[path.index(after: slash)...]) {
                kernelThreadID.store(tid, ordering: .relaxed)
            }
        }
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        if fd >= 0 {
            _ = "horae-http".withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
    }
    #endif

    private func attach(_ transfer: CurlTransfer) {
        if transfer.completion.isDone { return }  // cancelled while queued: never attached
        let code = curl_multi_add_handle(multi, transfer.easy)
        if code == CURLM_OK {
            active[transfer.id] = transfer
            if earliestDeadline.map({ transfer.deadline < $0 }) ?? true { earliestDeadline = transfer.deadline }
        } else {
            let text = String(cString: curl_multi_strerror(code))
            transfer.completion.resume(
                .failure(
                    HTTPTransportError(
                        kind: .other, message: "\(text) (host \(transfer.host))", curlCode: Int32(code.rawValue))))
        }
    }

    /// Fails the transfers whose deadline (plus grace) has passed and that libcurl still holds.
    private func expireOverdue() {
        guard let earliest = earliestDeadline else { return }
        let now = ContinuousClock.now
        guard now >= earliest.advanced(by: Self.deadlineGrace) else { return }
        var next: ContinuousClock.Instant?
        for (id, transfer) in active {
            if now >= transfer.deadline.advanced(by: Self.deadlineGrace) {
                active.removeValue(forKey: id)
                _ = curl_multi_remove_handle(multi, transfer.easy)
                connectionsOpened.add(transfer.connectionsOpened, ordering: .relaxed)
                let milliseconds = CurlTransfer.milliseconds(transfer.timeout)
                let message =
                    "Operation timed out after \(milliseconds) milliseconds, still waiting for a connection"
                    + " (host \(transfer.host))"
                transfer.completion.resume(
                    .failure(HTTPTransportError(kind: .timeout, message: message, curlCode: 28)))
            } else if next.map({ transfer.deadline < $0 }) ?? true {
                next = transfer.deadline
            }
        }
        earliestDeadline = next
    }

    /// How long `curl_multi_poll` may sleep: until the next deadline check, at most a minute
    /// (libcurl shortens it further for its own timers).
    private func pollMilliseconds() -> Int32 {
        guard let earliest = earliestDeadline else { return Self.idlePollMilliseconds }
        let wait = ContinuousClock.now.duration(to: earliest.advanced(by: Self.deadlineGrace))
        if wait <= .zero { return 0 }
        return Int32(min(Int(Self.idlePollMilliseconds), CurlTransfer.milliseconds(wait) + 1))
    }

    private func detachCancelled(_ id: UInt64) {
        guard let transfer = active.removeValue(forKey: id) else { return }  // already finished
        _ = curl_multi_remove_handle(multi, transfer.easy)
        connectionsOpened.add(transfer.connectionsOpened, ordering: .relaxed)
        transfer.completion.resume(.failure(Self.cancelledError(host: transfer.host)))
    }

    private func finishCompleted() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            // The message is invalid once the handle is removed: read it first.
            let code = horae_msg_result(message)
            var context: UnsafeMutableRawPointer?
            guard horae_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &context) == CURLE_OK, let context else {
                continue
            }
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
            _ = curl_multi_remove_handle(multi, easy)
            active.removeValue(forKey: transfer.id)
            connectionsOpened.add(transfer.connectionsOpened, ordering: .relaxed)
            transfer.completion.resume(transfer.takeResult(code))
        }
        if active.isEmpty { earliestDeadline = nil }
    }

    private func stop(alsoFailing queued: [CurlTransfer]) {
        for transfer in queued {
            transfer.completion.resume(.failure(Self.shutDownError(host: transfer.host)))
        }
        for transfer in active.values {
            _ = curl_multi_remove_handle(multi, transfer.easy)
            transfer.completion.resume(.failure(Self.shutDownError(host: transfer.host)))
        }
        active.removeAll()
        earliestDeadline = nil
        // The multi handle itself (and its cached connections) goes in deinit: other threads may
        // still be about to call curl_multi_wakeup on it.
    }
}
