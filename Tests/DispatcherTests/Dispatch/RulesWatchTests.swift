import Foundation
import HoraeRules
import HoraeTestSupport
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@testable import HoraeDispatcher

/// `watchRules`: the rule files are polled and a change reloads them as SIGHUP does (a valid set
/// swapped in, an invalid one refused with the running set kept), counted in the same metrics.
@Suite(.serialized) struct RulesWatchTests {
    static func names(_ h: DaemonHarness) -> [String] { h.daemon.rules.ruleSet.rules.map(\.name) }

    static let broken = "rules:\n  - name: broken\n    on: { message: { attributes: { objectId: { regx: x } } } }\n"

    @Test func aValidChangeIsPickedUpWithoutSIGHUP() async throws {
        try await withDaemon(
            DaemonHarness(
                rules: RulesReloadTests.rule("first", object: "a/*"), configure: { $0.watchRules = true })
        ) { h in
            h.start()
            #expect(h.metrics["reload.ok"] == 1)  // the first load

            try RulesReloadTests.rule("second", object: "b/*")
                .write(toFile: h.directory + "/rules/rules.yaml", atomically: true, encoding: .utf8)
            try await h.waitUntil("the changed rules are loaded", timeout: .seconds(20)) { Self.names(h) == ["second"] }
            #expect(h.metrics["reload.ok"] == 2)
            #expect(h.metrics["reload.failed"] == 0)

            // The running daemon matches with them.
            try await h.publish(["objectId": "b/x"])
            try await h.waitUntil("the new rule ran") {
                h.plugin.calls.contains { $0.rule == "second" && $0.text == "b/x" }
            }

            // A file added beside it is a change too.
            try RulesReloadTests.rule("third", object: "c/*")
                .write(toFile: h.directory + "/rules/more.yaml", atomically: true, encoding: .utf8)
            try await h.waitUntil("the added file is loaded", timeout: .seconds(20)) {
                Self.names(h) == ["third", "second"] || Self.names(h) == ["second", "third"]
            }
            #expect(h.metrics["reload.ok"] == 3)
        }
    }

    @Test func anInvalidChangeKeepsTheLastGoodSetUntilTheFilesChangeAgain() async throws {
        try await withDaemon(
            DaemonHarness(
                rules: RulesReloadTests.rule("first", object: "a/*"), configure: { $0.watchRules = true })
        ) { h in
            h.start()
            let file = h.directory + "/rules/rules.yaml"

            try Self.broken.write(toFile: file, atomically: true, encoding: .utf8)
            try await h.waitUntil("the invalid change is refused", timeout: .seconds(20)) {
                h.metrics["reload.failed"] == 1
            }
            #expect(Self.names(h) == ["first"])
            try await h.publish(["objectId": "a/x"])
            try await h.waitUntil("the running rule still runs") {
                h.plugin.calls.contains { $0.rule == "first" && $0.text == "a/x" }
            }
            // Not retried while the files stay as they are.
            try await Task.sleep(for: RuleWatcher.defaultInterval * 3)
            #expect(h.metrics["reload.failed"] == 1)
            #expect(h.metrics["reload.ok"] == 1)

            try RulesReloadTests.rule("fixed", object: "b/*").write(toFile: file, atomically: true, encoding: .utf8)
            try await h.waitUntil("the fixed rules are loaded", timeout: .seconds(20)) { Self.names(h) == ["fixed"] }
            #expect(h.metrics["reload.ok"] == 2)
        }
    }

    @Test func withoutWatchRulesNothingReloadsByItself() async throws {
        try await withDaemon(DaemonHarness(rules: RulesReloadTests.rule("first", object: "a/*"))) { h in
            #expect(h.config.watchRules == false)
            #expect(h.daemon.ruleWatcher() == nil)
            h.start()

            try RulesReloadTests.rule("second", object: "b/*")
                .write(toFile: h.directory + "/rules/rules.yaml", atomically: true, encoding: .utf8)
            try await Task.sleep(for: RuleWatcher.defaultInterval * 3)
            #expect(Self.names(h) == ["first"])
            #expect(h.metrics["reload.ok"] == 1)

            // The change was a valid one: SIGHUP's reload takes it.
            #expect(h.daemon.reload())
            #expect(Self.names(h) == ["second"])
        }
    }

    /// `horae run` itself: the watcher runs in the daemon's service group, reloads without SIGHUP,
    /// and SIGTERM still stops the group at once and cleanly.
    @Test(.enabled(if: HoraeExecutable.path != nil, "the horae executable is not built"))
    func horaeRunReloadsChangedFilesAndStillExitsCleanly() async throws {
        let stack = try await DaemonProcessTests.Stack(config: "watchRules: true")
        defer { stack.remove() }
        let horae = try stack.startHorae()
        try await stack.waitUntil("horae started") { horae.log.contains("horae started") }

        try """
        rules:
          - name: renamed
            on: { message: { attributes: { objectId: "gocc/*" } } }
            actions:
              - exec: { command: ["\(stack.directory)/step", renamed, "{{ attributes.objectId }}"] }
        """.write(toFile: stack.directory + "/rules/pipeline.yaml", atomically: true, encoding: .utf8)
        try await stack.waitUntil("the rules are reloaded", timeout: .seconds(20)) {
            horae.log.contains("rules reloaded")
        }
        #expect(horae.log.contains("rule files changed"))
        try await stack.publish(object: "gocc/watched.tar.gz")
        try await stack.waitUntil("the reloaded rule ran") { stack.count("renamed end") == 1 }
        #expect(stack.count("first start") == 0)

        let stopping = ContinuousClock.now
        horae.signal(SIGTERM)
        #expect(await horae.waitForExit(timeout: .seconds(10)) == 0, "\(horae.log)")
        #expect(ContinuousClock.now - stopping < .seconds(5))
        #expect(!horae.log.contains("finished unexpectedly"))
    }

    /// In a service group, as the daemon runs it: the group's graceful shutdown ends it at once.
    @Test func aGracefulShutdownStopsTheWatcher() async throws {
        let watcher = RuleWatcher(
            paths: [], loaded: RuleFilesFingerprint(paths: []), interval: .seconds(60), logger: Logger(label: "test")
        ) { true }
        let started = ContinuousClock.now
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    try await ServiceGroup(services: [watcher], logger: Logger(label: "test")).run()
                }
                try await Task.sleep(for: .milliseconds(100))
                trigger.triggerGracefulShutdown()
                try await tasks.next()
            }
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    // MARK: - Deciding when to reload

    static func fingerprint(_ sizes: [String: Int64]) -> RuleFilesFingerprint {
        RuleFilesFingerprint(
            files: sizes.sorted { $0.key < $1.key }.map {
                .init(
                    path: $0.key,
                    status: .init(size: $0.value, modifiedSeconds: 1, modifiedNanoseconds: 0, fileNumber: 1))
            })
    }

    @Test func aChangeIsLoadedOnceItHeldStillForOnePoll() {
        let a = Self.fingerprint(["r.yaml": 10])
        let b = Self.fingerprint(["r.yaml": 20])
        let c = Self.fingerprint(["r.yaml": 30, "s.yaml": 5])
        var settling = RuleWatcher.Settling(loaded: a)
        #expect(settling.changedFiles(a) == nil)
        #expect(settling.changedFiles(b) == nil)  // first seen
        #expect(settling.changedFiles(c) == nil)  // still being written
        #expect(settling.changedFiles(c) == ["r.yaml", "s.yaml"])  // held still
        #expect(settling.loaded == c)
        #expect(settling.changedFiles(c) == nil)  // loaded, whatever the outcome
        #expect(settling.changedFiles(a) == nil)
        #expect(settling.changedFiles(c) == nil)  // back as loaded before it settled: nothing to do
        #expect(settling.changedFiles(a) == nil)
        #expect(settling.changedFiles(a) == ["r.yaml", "s.yaml"])
    }

    @Test func theFingerprintCoversTheFilesTheLoaderReads() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("horae-watch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
        for name in ["a.yaml", "sub/b.yml", "_skipped.yaml", ".hidden.yaml", "notes.txt"] {
            try "rules: []\n".write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        }
        let first = RuleFilesFingerprint(paths: [directory])
        #expect(first.files.map(\.path) == ["\(directory)/a.yaml", "\(directory)/sub/b.yml"])
        #expect(RuleFilesFingerprint(paths: [directory]) == first)

        // Files the loader skips do not count.
        try "changed\n".write(toFile: directory + "/_skipped.yaml", atomically: true, encoding: .utf8)
        try "changed\n".write(toFile: directory + "/notes.txt", atomically: true, encoding: .utf8)
        #expect(RuleFilesFingerprint(paths: [directory]) == first)

        // Rewritten in place (same size; past the file system clock's tick), replaced, removed.
        usleep(50_000)
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/a.yaml"))
        try handle.write(contentsOf: Data("rules: {}\n".utf8))
        try handle.close()
        let written = RuleFilesFingerprint(paths: [directory])
        #expect(written.changedPaths(since: first) == ["\(directory)/a.yaml"])
        try "rules: [ ]\n".write(toFile: directory + "/sub/b.yml", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: directory + "/a.yaml")
        #expect(
            RuleFilesFingerprint(paths: [directory]).changedPaths(since: written)
                == ["\(directory)/a.yaml", "\(directory)/sub/b.yml"])
    }
}
