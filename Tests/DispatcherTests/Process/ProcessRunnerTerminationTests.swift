import Foundation
import Testing

@testable import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#endif

/// Timeouts, the termination grace, Task cancellation and `terminateAll`.
struct ProcessRunnerTerminationTests {
    typealias T = ProcessTestSupport

    @Test func timeoutKillsTheWholeProcessGroup() async throws {
        let runner = ProcessRunner()
        let result = try await runner.run(T.sh("sleep 100 & echo $!; sleep 100; wait", timeout: .milliseconds(500)))
        // `duration` is measured by the supervisor thread when the child is reaped, so a busy
        // test machine delaying this task's resumption does not skew it.
        #expect(result.duration < .seconds(4))
        #expect(result.timedOut)
        #expect(result.termination == .signaled(SIGTERM))
        let grandchild = try #require(pid_t(T.text(result.stdout).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await T.eventually { T.isDead(grandchild) }, "grandchild \(grandchild) survived the timeout")
        #expect(runner.runningCount == 0)
    }

    @Test func leftoversInTheGroupDieWhenTheChildExits() async throws {
        let result = try await ProcessRunner().run(T.sh("sleep 100 & echo $!"))
        #expect(result.duration < .seconds(4), "waited for the background job's stdout")
        #expect(result.termination == .exited(0) && !result.timedOut)
        let grandchild = try #require(pid_t(T.text(result.stdout).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await T.eventually { T.isDead(grandchild) })
    }

    @Test func escapedProcessHoldingThePipeDoesNotBlockTheRun() async throws {
        let result = try await ProcessRunner().run(T.sh("setsid sleep 2 & echo started"))
        #expect(result.duration < .milliseconds(1800))
        #expect(T.text(result.stdout) == "started\n")
    }

    @Test func childIgnoringSIGTERMIsKilledAfterTheGrace() async throws {
        let result = try await ProcessRunner().run(
            T.sh(
                "trap '' TERM; echo ready; sleep 100", timeout: .milliseconds(300), grace: .milliseconds(700)))
        let elapsed = result.duration
        #expect(result.timedOut)
        #expect(result.termination == .signaled(SIGKILL))
        #expect(T.text(result.stdout) == "ready\n")
        #expect(elapsed >= .milliseconds(1000) && elapsed < .seconds(4), "\(elapsed)")
    }

    @Test func childHandlingSIGTERMCanExitCleanly() async throws {
        let result = try await ProcessRunner().run(
            T.sh(
                "trap 'echo bye; exit 7' TERM; sleep 100 & wait", timeout: .milliseconds(300)))
        #expect(result.timedOut)
        #expect(result.termination == .exited(7))
        #expect(T.text(result.stdout) == "bye\n")
        #expect(result.duration < .seconds(4))
    }

    @Test func zeroTimeoutTerminatesAtOnce() async throws {
        let result = try await ProcessRunner().run(
            ProcessSpec(
                executable: "/bin/sleep", arguments: ["100"], timeout: .zero, terminationGrace: .zero))
        #expect(result.timedOut)
        #expect(result.termination == .signaled(SIGTERM) || result.termination == .signaled(SIGKILL))
        #expect(result.duration < .seconds(4))
    }

    @Test func cancellationTerminatesTheGroupAndThrows() async throws {
        let dir = try T.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = dir + "/pid"
        let runner = ProcessRunner()
        let task = Task { try await runner.run(T.sh("sleep 100 & echo $! > '\(pidFile)'; sleep 100; wait")) }
        #expect(await T.eventually { T.pid(fromFile: pidFile) != nil })
        let grandchild = try #require(T.pid(fromFile: pidFile))
        #expect(runner.runningCount == 1)

        let clock = ContinuousClock()
        let start = clock.now
        task.cancel()
        let outcome = await task.result
        #expect(clock.now - start < .seconds(4))
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(runner.runningCount == 0)
        #expect(await T.eventually { T.isDead(grandchild) })
    }

    @Test func cancellationOfAChildIgnoringSIGTERMUsesTheGrace() async throws {
        let runner = ProcessRunner()
        let task = Task {
            try await runner.run(T.sh("trap '' TERM; sleep 100", grace: .milliseconds(300)))
        }
        #expect(await T.eventually { runner.runningCount == 1 })
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(runner.runningCount == 0)
    }

    @Test func alreadyCancelledTaskSpawnsNothing() async throws {
        let marker = "/tmp/horae-never-\(UUID().uuidString)"
        let runner = ProcessRunner()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await runner.run(ProcessSpec(executable: "/usr/bin/touch", arguments: [marker]))
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func terminateAllStopsEveryRunningGroup() async throws {
        let runner = ProcessRunner()
        let specs = [
            ProcessSpec(executable: "/bin/sleep", arguments: ["100"]),
            T.sh("trap '' TERM; sleep 100"),
            T.sh("sleep 100 & sleep 100; wait"),
        ]
        let tasks = specs.map { spec in Task { try await runner.run(spec) } }
        #expect(await T.eventually { runner.runningCount == specs.count })
        try await Task.sleep(for: .milliseconds(100))  // let the shells install their traps

        let clock = ContinuousClock()
        let start = clock.now
        await runner.terminateAll(grace: .milliseconds(400))
        let elapsed = clock.now - start
        #expect(runner.runningCount == 0)
        #expect(elapsed >= .milliseconds(350) && elapsed < .seconds(4), "\(elapsed)")

        var terminations: [ProcessResult.Termination] = []
        for task in tasks {
            let result = try await task.value
            #expect(!result.timedOut)
            terminations.append(result.termination)
        }
        #expect(terminations == [.signaled(SIGTERM), .signaled(SIGKILL), .signaled(SIGTERM)])

        await runner.terminateAll(grace: .zero)  // nothing running: returns at once
    }

    @Test func runningCountFollowsChildren() async throws {
        let runner = ProcessRunner()
        #expect(runner.runningCount == 0)
        let tasks = (0..<2).map { _ in
            Task { try await runner.run(ProcessSpec(executable: "/bin/sleep", arguments: ["30"])) }
        }
        #expect(await T.eventually { runner.runningCount == 2 })
        tasks[0].cancel()
        await #expect(throws: CancellationError.self) { try await tasks[0].value }
        #expect(runner.runningCount == 1)
        await runner.terminateAll(grace: .seconds(1))
        #expect(runner.runningCount == 0)
        #expect(try await tasks[1].value.termination == .signaled(SIGTERM))
    }
}
