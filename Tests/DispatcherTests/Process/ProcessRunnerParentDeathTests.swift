import Foundation
import Testing

@testable import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#endif

/// The child's side of dying with the daemon.
struct ProcessRunnerParentDeathTests {
    typealias T = ProcessTestSupport

    @Test func childIsSentSIGKILLWhenItsParentDies() async throws {
        let script = """
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            signal = ctypes.c_int(-1)
            libc.prctl(2, ctypes.byref(signal), 0, 0, 0)  # PR_GET_PDEATHSIG
            print(signal.value)
            """
        let result = try await ProcessRunner().run(ProcessSpec(executable: T.python, arguments: ["-c", script]))
        #expect(result.termination == .exited(0), "\(T.text(result.stderr))")
        #expect(T.text(result.stdout) == "\(SIGKILL)\n")
    }

    @Test func childrenOfEveryRunnerAreForkedByTheSameThread() async throws {
        // PR_SET_PDEATHSIG fires when the forking *thread* ends, so every child, whichever runner
        // and task started it, must have been forked by the one thread that lives with the process.
        let dir = try T.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tasks = (0..<3).map { index in
            Task {
                try await ProcessRunner().run(T.sh("echo $$ > '\(dir)/\(index)'; exec sleep 30"))
            }
        }
        defer { for task in tasks { task.cancel() } }
        #expect(await T.eventually { (0..<3).allSatisfy { T.pid(fromFile: "\(dir)/\($0)") != nil } })
        let pids = (0..<3).compactMap { T.pid(fromFile: "\(dir)/\($0)") }
        var forkers: Set<String> = []
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
            let text = (try? String(contentsOfFile: "/proc/self/task/\(tid)/children", encoding: .utf8)) ?? ""
            let children = Set(text.split(separator: " ").compactMap { pid_t($0) })
            if pids.contains(where: children.contains) { forkers.insert(tid) }
        }
        #expect(pids.count == 3)
        #expect(forkers.count == 1, "children \(pids) forked by threads \(forkers)")
    }
}
