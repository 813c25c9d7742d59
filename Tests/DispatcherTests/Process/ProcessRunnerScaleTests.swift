import Foundation
import Synchronization
import Testing

@testable import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#endif

/// Many children at once: the supervision does not cost a thread per child.
struct ProcessRunnerScaleTests {
    typealias T = ProcessTestSupport

    static func threadCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
    }

    /// The highest thread count seen while the children run.
    final class Sampler: Sendable {
        private let state = Mutex((peak: 0, stop: false))
        var peak: Int { state.withLock { $0.peak } }
        func stop() { state.withLock { $0.stop = true } }

        func run() async {
            while true {
                let threads = ProcessRunnerScaleTests.threadCount()
                let stopped = state.withLock { state in
                    state.peak = max(state.peak, threads)
                    return state.stop
                }
                if stopped { return }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    @Test func thousandChildrenAreSupervisedWithoutAThreadEach() async throws {
        let runner = ProcessRunner()
        _ = try await runner.run(ProcessSpec(executable: "/bin/true"))  // warm-up: the supervision thread exists
        let baseline = Self.threadCount()
        let count = 1000
        let sampler = Sampler()
        let sampling = Task { await sampler.run() }
        let clock = ContinuousClock()
        let start = clock.now
        let statuses = try await withThrowingTaskGroup(of: ProcessResult.Termination.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await runner.run(ProcessSpec(executable: "/bin/sleep", arguments: ["3"])).termination
                }
            }
            var all: [ProcessResult.Termination] = []
            for try await status in group { all.append(status) }
            return all
        }
        let elapsed = clock.now - start
        sampler.stop()
        await sampling.value
        let peak = sampler.peak
        #expect(statuses.count == count)
        #expect(statuses.allSatisfy { $0 == .exited(0) })
        // Run one after another they would take 3 000 s: they overlapped.
        #expect(elapsed < .seconds(60), "\(count) × sleep 3 took \(elapsed)")
        #expect(peak - baseline < 64, "threads: \(baseline) before, \(peak) at the peak with \(count) children")
        #expect(runner.runningCount == 0)
    }
}

/// Kernels before 5.3 have no pidfd: each child's exit is then checked every 10 ms.
@Suite(.serialized)
struct ProcessRunnerWithoutPidfdTests {
    typealias T = ProcessTestSupport

    @Test func everyBehaviourHoldsWithoutPidfd() async throws {
        SupervisedChild.usePidfd.store(false, ordering: .relaxed)
        defer { SupervisedChild.usePidfd.store(true, ordering: .relaxed) }
        let runner = ProcessRunner()
        #expect(try await runner.run(T.sh("exit 3")).termination == .exited(3))
        let echoed = try await runner.run(ProcessSpec(executable: "/bin/cat", stdin: Array("hello".utf8)))
        #expect(T.text(echoed.stdout) == "hello")
        let timedOut = try await runner.run(T.sh("sleep 100 & sleep 100", timeout: .milliseconds(200)))
        #expect(timedOut.timedOut && timedOut.termination == .signaled(SIGTERM))
        #expect(timedOut.duration < .seconds(4))
        let many = try await withThrowingTaskGroup(of: ProcessResult.Termination.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await runner.run(ProcessSpec(executable: "/bin/sleep", arguments: ["0.2"])).termination
                }
            }
            var all: [ProcessResult.Termination] = []
            for try await status in group { all.append(status) }
            return all
        }
        #expect(many.count == 50 && many.allSatisfy { $0 == .exited(0) })
        #expect(runner.runningCount == 0)
    }
}
