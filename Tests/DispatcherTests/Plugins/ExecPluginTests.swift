import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#endif

/// The `exec` plugin with real processes: environment, stdin, exit codes, timeouts, cancellation,
/// output bounds and argument injection.
struct ExecPluginTests {
    typealias S = PluginTestSupport
    typealias P = ProcessTestSupport

    static let environment = ["PATH": P.searchPath, "HOME": "/home/horae"]

    func plugin(grace: Duration = .milliseconds(300), environment: [String: String]? = ExecPluginTests.environment)
        -> ExecPlugin
    {
        ExecPlugin(runner: ProcessRunner(), baseEnvironment: environment, terminationGrace: grace)
    }

    /// `NAME=value` lines of `env`'s output (values in these tests hold no newline).
    static func parseEnvironment(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return out
    }

    @Test func messageIsGivenAsEnvironmentVariables() async throws {
        let action = try S.action(
            #"{ exec: { command: [/usr/bin/env], env: { EXTRA: "{{ attributes.objectId }}" } } }"#)
        let message = S.message([
            "objectId": "gocc/a b.tar.gz",
            "x-goog.Trace": "t-1",
            "dup-name": "first", "dup_name": "second",  // both map to HORAE_ATTR_DUP_NAME
            "": "empty name",
            "withNul": "a\u{0}b",
        ])
        let outcome = await plugin().run(try S.invocation(action, message: message, attempt: 3))
        #expect(outcome.isSuccess, "\(outcome)")
        let env = Self.parseEnvironment(outcome.text)
        #expect(env["HORAE_MESSAGE_ID"] == "m-1")
        #expect(env["HORAE_PUBLISH_TIME"] == "2026-11-29T04:17:46Z")
        #expect(env["HORAE_RULE"] == "plugin-test")
        #expect(env["HORAE_ATTEMPT"] == "3")
        #expect(env["HORAE_SUBSCRIPTION"] == "bucket-events")
        #expect(env["HORAE_ATTR_OBJECTID"] == "gocc/a b.tar.gz")
        #expect(env["HORAE_ATTR_X_GOOG_TRACE"] == "t-1")
        #expect(env["HORAE_ATTR_DUP_NAME"] == nil, "colliding attribute names must both be left out")
        #expect(env["HORAE_ATTR_WITHNUL"] == nil)
        #expect(env["HORAE_ATTR_"] == nil)
        #expect(env["EXTRA"] == "gocc/a b.tar.gz")
        #expect(env["PATH"] == P.searchPath && env["HOME"] == "/home/horae")
        #expect(
            Set(env.keys).subtracting(["PATH", "HOME", "EXTRA"]).allSatisfy { $0.hasPrefix("HORAE_") }, "\(env.keys)")
    }

    @Test func attributeNamesMapToVariableNames() {
        #expect(ExecPlugin.attributeVariableName("objectId") == "HORAE_ATTR_OBJECTID")
        #expect(ExecPlugin.attributeVariableName("x-goog.Trace_1") == "HORAE_ATTR_X_GOOG_TRACE_1")
        #expect(ExecPlugin.attributeVariableName("größe") == "HORAE_ATTR_GR__E")
        #expect(ExecPlugin.attributeVariableName("") == nil)
    }

    @Test func daemonSecretsAreNotInherited() async throws {
        let daemon = [
            "PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8", "TZ": "UTC",
            "GOOGLE_APPLICATION_CREDENTIALS": "/etc/horae/key.json", "HORAE_STATE": "/var/horae",
            "AWS_SECRET_ACCESS_KEY": "x",
        ]
        #expect(
            ExecPlugin.inheritedEnvironment(from: daemon)
                == ["PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8", "TZ": "UTC"])
        #expect(ExecPlugin.inheritedEnvironment(from: [:]) == ["PATH": ExecPlugin.defaultPath])

        // The default environment comes from this (test) process, which has more than the four
        // inherited variables: none of the others reach the child.
        let own = Set(ProcessInfo.processInfo.environment.keys)
        #expect(!own.subtracting(ExecPlugin.inheritedVariables).isEmpty)
        let outcome = await ExecPlugin(runner: ProcessRunner())
            .run(try S.invocation(#"{ exec: { command: [/usr/bin/env] } }"#))
        #expect(outcome.isSuccess, "\(outcome)")
        let names = Set(Self.parseEnvironment(outcome.text).keys)
        #expect(names.contains("PATH"))
        #expect(names.subtracting(ExecPlugin.inheritedVariables).allSatisfy { $0.hasPrefix("HORAE_") }, "\(names)")
    }

    @Test func stdinIsDelivered() async throws {
        let outcome = await plugin().run(
            try S.invocation(
                #"{ exec: { command: [/bin/cat], stdin: "id={{ message.id }} object={{ attributes.objectId }}\n" } }"#,
                attributes: ["objectId": "a\"b'c"]))
        #expect(outcome.withoutStep == .success(output: "id=m-1 object=a\"b'c\n"))
    }

    @Test func withoutStdinTheChildReadsEndOfFile() async throws {
        let outcome = await plugin().run(try S.invocation(#"{ exec: { command: [/bin/cat] } }"#))
        #expect(outcome.withoutStep == .success(output: nil))
    }

    @Test func workingDirectoryIsSet() async throws {
        let dir = try P.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outcome = await plugin().run(try S.invocation(#"{ exec: { command: [/bin/pwd], dir: "\#(dir)" } }"#))
        #expect(outcome.withoutStep == .success(output: dir + "\n"))
        // Standard output is the step's output: text, and JSON when it parses.
        #expect(outcome.step == StepOutput(json: nil, text: dir + "\n"))
    }

    struct ExitCase: Sendable, CustomTestStringConvertible {
        var code: Int
        var options: String
        var expected: String  // success / retryable / permanent
        var testDescription: String { "exit \(code) with {\(options)} → \(expected)" }
    }

    static let exitCases: [ExitCase] = [
        ExitCase(code: 0, options: "", expected: "success"),
        ExitCase(code: 0, options: "retryExitCodes: [0, 1]", expected: "success"),
        ExitCase(code: 1, options: "", expected: "retryable"),
        ExitCase(code: 75, options: "", expected: "retryable"),
        ExitCase(code: 3, options: "permanentExitCodes: [3, 4]", expected: "permanent"),
        ExitCase(code: 4, options: "permanentExitCodes: 4", expected: "permanent"),
        ExitCase(code: 5, options: "permanentExitCodes: [3, 4]", expected: "retryable"),
        ExitCase(code: 75, options: "retryExitCodes: [75]", expected: "retryable"),
        ExitCase(code: 2, options: "retryExitCodes: [75]", expected: "permanent"),
        ExitCase(code: 3, options: "retryExitCodes: [3], permanentExitCodes: [3]", expected: "permanent"),
    ]

    @Test(arguments: exitCases)
    func exitCodesAreClassified(_ c: ExitCase) async throws {
        let extra = c.options.isEmpty ? "" : ", \(c.options)"
        let outcome = await plugin().run(
            try S.invocation(
                #"{ exec: { command: [/bin/sh, -c, "echo out; echo err >&2; exit \#(c.code)"]\#(extra) } }"#))
        switch c.expected {
        case "success": #expect(outcome.isSuccess, "\(outcome)")
        case "retryable": #expect(outcome.isRetryable, "\(outcome)")
        default: #expect(outcome.isPermanent, "\(outcome)")
        }
        #expect(outcome.text.contains("out\n"))
        #expect(outcome.text.contains("[stderr] err\n"))
        if c.code != 0 { #expect(outcome.text.contains("exit status \(c.code)")) }
    }

    @Test func missingOrNonExecutableProgramIsPermanent() async throws {
        let dir = try P.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try P.writeFile(dir + "/script", "#!/bin/sh\nexit 0\n", mode: 0o644)
        for command in ["/nonexistent/horae-tool", "horae-no-such-tool", dir + "/script", dir] {
            let outcome = await plugin().run(try S.invocation(#"{ exec: { command: ["\#(command)"] } }"#))
            #expect(outcome.isPermanent, "\(command): \(outcome)")
        }
    }

    @Test func missingWorkingDirectoryIsPermanent() async throws {
        let outcome = await plugin().run(
            try S.invocation(
                #"{ exec: { command: [/bin/pwd], dir: "/nonexistent/horae-\#(UUID().uuidString)" } }"#))
        #expect(outcome.isPermanent, "\(outcome)")
    }

    @Test func argumentWithNulIsPermanent() async throws {
        let outcome = await plugin().run(
            try S.invocation(
                #"{ exec: { command: [/bin/echo, "{{ attributes.x }}"] } }"#, attributes: ["x": "a\u{0}b"]))
        #expect(outcome.isPermanent, "\(outcome)")
    }

    @Test func timeoutKillsTheProcessGroup() async throws {
        let dir = try P.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = dir + "/grandchild"
        // The child (sh) starts a grandchild (sleep) in the background, then waits.
        let action = try S.action(
            #"{ exec: { command: [/bin/sh, -c, "sleep 100 & echo $! > \"$1\"; echo started; wait", sh, "\#(pidFile)"] } }"#
        )
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = await plugin(grace: .milliseconds(300))
            .run(try S.invocation(action, timeout: .milliseconds(700)))
        #expect(clock.now - start < .seconds(5))
        #expect(outcome.isRetryable, "\(outcome)")
        #expect(outcome.text.contains("timed out after 700ms"), "\(outcome)")
        #expect(outcome.text.contains("started"))
        let grandchild = try #require(P.pid(fromFile: pidFile))
        #expect(await P.eventually { P.isDead(grandchild) }, "grandchild \(grandchild) survived the timeout")
    }

    @Test func cancellationKillsTheProcessGroup() async throws {
        let dir = try P.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = dir + "/grandchild"
        let action = try S.action(
            #"{ exec: { command: [/bin/sh, -c, "sleep 100 & echo $! > \"$1\"; wait", sh, "\#(pidFile)"] } }"#)
        let invocation = try S.invocation(action, timeout: nil)
        let runner = ProcessRunner()
        let plugin = ExecPlugin(runner: runner, baseEnvironment: Self.environment, terminationGrace: .milliseconds(300))
        let task = Task { await plugin.run(invocation) }
        #expect(await P.eventually { P.pid(fromFile: pidFile) != nil })
        let grandchild = try #require(P.pid(fromFile: pidFile))

        let clock = ContinuousClock()
        let start = clock.now
        task.cancel()
        let outcome = await task.value
        #expect(clock.now - start < .seconds(5))
        #expect(outcome.isRetryable && outcome.text.contains("cancelled"), "\(outcome)")
        #expect(runner.runningCount == 0)
        #expect(await P.eventually { P.isDead(grandchild) }, "grandchild \(grandchild) survived cancellation")
    }

    @Test func outputIsTruncatedAndMarked() async throws {
        // 20 000 bytes of stdout (within what the runner keeps): the outcome keeps a tail of a few KiB.
        let long = await plugin().run(
            try S.invocation(
                #"{ exec: { command: [/bin/sh, -c, "head -c 20000 /dev/zero | tr '\\0' x; echo END"] } }"#))
        #expect(long.isSuccess)
        #expect(long.text.utf8.count <= ExecPlugin.defaultOutcomeOutputBytes + 64, "\(long.text.utf8.count)")
        #expect(long.text.hasPrefix("[… "), "cut front not marked")
        #expect(long.text.hasSuffix("xxxxEND\n"))

        // `maxOutput` bounds what the runner keeps; the bytes it dropped are marked too.
        let capped = await plugin().run(
            try S.invocation(
                #"{ exec: { command: [/bin/sh, -c, "head -c 5000 /dev/zero | tr '\\0' y"], maxOutput: 1000 } }"#))
        #expect(capped.isSuccess)
        #expect(capped.text == String(repeating: "y", count: 1000) + " [… 4000 more bytes not kept]")
    }

    @Test func outputTailStartsOnACharacterBoundary() {
        let bytes = Array(String(repeating: "é", count: 100).utf8)  // 2 bytes each
        let tail = PluginText.tail(bytes, limit: 51)
        #expect(tail == "[… 150 bytes cut] " + String(repeating: "é", count: 25))
        #expect(PluginText.head(bytes, limit: 51) == String(repeating: "é", count: 25) + " [… 150 more bytes]")
    }

    /// An attribute crafted for a shell reaches the program as the same bytes, as one argument,
    /// in argv and in the environment — and nothing runs it.
    @Test func attributesCannotInjectCommands() async throws {
        let marker = "/tmp/pwned-\(UUID().uuidString)"
        let value = "$(touch \(marker)); x\".tar.gz `touch \(marker)` ; touch \(marker) | & > \(marker) *"
        let action = try S.action(
            #"{ exec: { command: [/bin/sh, -c, "printf '%s\\0' \"$@\"; printf '%s' \"$HORAE_ATTR_OBJECTID\"", sh, "{{ attributes.objectId }}", "gocc/{{ attributes.objectId }}"], stdin: "{{ attributes.objectId }}" } }"#
        )
        let outcome = await plugin().run(try S.invocation(action, message: S.message(["objectId": value])))
        #expect(outcome.isSuccess, "\(outcome)")
        let expected = value + "\0" + "gocc/" + value + "\0" + value
        #expect(outcome.text == expected)
        #expect(!FileManager.default.fileExists(atPath: marker), "the attribute was executed")
    }
}
