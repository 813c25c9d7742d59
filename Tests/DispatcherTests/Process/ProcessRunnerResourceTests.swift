import Foundation
import Testing

@testable import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#endif

/// Descriptors and concurrency.
struct ProcessRunnerResourceTests {
    typealias T = ProcessTestSupport

    @Test func childInheritsOnlyStandardDescriptors() async throws {
        // Opened WITHOUT O_CLOEXEC, as careless code elsewhere in a daemon might.
        let stray = open("/dev/null", O_RDONLY)
        #expect(stray >= 3)
        defer { close(stray) }
        let script = """
            import os
            fds = []
            for fd in range(0, 4096):
                try:
                    os.fstat(fd); fds.append(fd)
                except OSError:
                    pass
            print(fds)
            """
        let result = try await ProcessRunner().run(
            ProcessSpec(executable: T.python, arguments: ["-c", script], stdin: [1]))
        #expect(T.text(result.stdout) == "[0, 1, 2]\n", "\(T.text(result.stderr))")
    }

    @Test func noDescriptorLeakAcross200Runs() async throws {
        let runner = ProcessRunner()
        _ = try await runner.run(ProcessSpec(executable: "/bin/true"))  // warm-up (dlopen etc.)
        let before = T.openDescriptorCount()
        for index in 0..<200 {
            let stdin: [UInt8]? = index % 2 == 0 ? [UInt8](repeating: 1, count: 100) : nil
            let result = try await runner.run(ProcessSpec(executable: "/bin/true", stdin: stdin))
            #expect(result.termination == .exited(0))
        }
        for _ in 0..<10 {
            _ = try? await runner.run(ProcessSpec(executable: "/nonexistent/x"))
            _ = try? await runner.run(ProcessSpec(executable: "/bin/true", directory: "/nonexistent"))
            _ = try? await runner.run(
                ProcessSpec(executable: "/bin/sleep", arguments: ["5"], timeout: .milliseconds(1)))
        }
        // Other tests run in parallel and hold descriptors for a while; a leak here would be
        // hundreds, and permanent.
        let settled = await T.eventually(within: .seconds(30)) { T.openDescriptorCount() <= before + 24 }
        #expect(settled, "descriptors: \(before) before, \(T.openDescriptorCount()) after")
    }

    @Test func hundredConcurrentRunsOverlap() async throws {
        let runner = ProcessRunner()
        let clock = ContinuousClock()
        let start = clock.now
        let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
            for _ in 0..<100 {
                group.addTask { try await runner.run(ProcessSpec(executable: "/bin/sleep", arguments: ["0.2"])) }
            }
            var all: [ProcessResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        let elapsed = clock.now - start
        #expect(results.count == 100)
        #expect(results.allSatisfy { $0.termination == .exited(0) })
        #expect(elapsed < .seconds(5), "100 × sleep 0.2 took \(elapsed)")
        #expect(runner.runningCount == 0)
    }
}
