#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Detached POSIX threads for the test server (blocking I/O stays off Swift's cooperative pool).
enum TestThread {
    private final class Body: @unchecked Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Runs blocking `work` (waiting for a child process, reading a pipe) on a thread of its own
    /// and returns its result, so it cannot starve Swift's cooperative pool (2 threads on CI).
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            detach { continuation.resume(with: Result { try work() }) }
        }
    }

    static func detach(_ run: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(run)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        let code = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<Body>.fromOpaque(context).takeRetainedValue().run()
                return nil
            }, context)
        if code == 0, let thread { pthread_detach(thread) }
        #else
        var thread = pthread_t()
        let code = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
        if code == 0 { pthread_detach(thread) }
        #endif
        if code != 0 { Unmanaged<Body>.fromOpaque(context).release() }
    }
}
