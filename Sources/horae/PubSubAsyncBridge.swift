import Foundation
import Synchronization

/// Runs async work to completion from a synchronous `run()`: the root `horae` command is a
/// `ParsableCommand`, under which argument-parser does not run `AsyncParsableCommand`s. The
/// calling thread blocks; the work runs on the global executor.
enum AsyncBridge {
    static func wait<T: Sendable, E: Error>(_ work: @escaping @Sendable () async throws(E) -> T) -> Result<T, E> {
        let outcome = Outcome<T, E>()
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<T, E>
            do throws(E) { result = .success(try await work()) } catch { result = .failure(error) }
            outcome.value.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return outcome.value.withLock { $0! }
    }

    private final class Outcome<T: Sendable, E: Error>: Sendable {
        let value = Mutex<Result<T, E>?>(nil)
    }
}
