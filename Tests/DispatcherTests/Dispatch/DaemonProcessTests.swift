import Foundation
import HoraeRules
import HoraeTestSupport
import Testing

@testable import HoraeDispatcher

/// The `horae run` executable against the real Pub/Sub emulator: SIGKILL in the middle of a task,
/// SIGTERM with a task running, and the emulator going away for 20 s.
@Suite(.serialized, .enabled(if: HoraeExecutable.path != nil, "the horae executable is not built"))
struct DaemonProcessTests {
    /// A project directory with `horae.yaml`, `rules/` and a `step` program that logs its runs.
    struct Stack {
        let emulator: PubSubEmulator
        let project: String
        let client: PubSubClient
        let directory: String
        var stepsLog: String { directory + "/steps.log" }

        /// `rules` replaces the three-step pipeline; `config` is appended to horae.yaml.
        init(
            emulator: PubSubEmulator? = nil, shutdownGrace: String = "10s", rules: String? = nil,
            http: String = "off", config extra: String = ""
        ) async throws {
            if let emulator { self.emulator = emulator } else { self.emulator = try await PubSubEmulator.shared() }
            project = PubSubEmulator.uniqueProject()
            client = try self.emulator.client(project: project)
            directory =
                FileManager.default.temporaryDirectory.appendingPathComponent("horae-process-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory + "/rules", withIntermediateDirectories: true)
            // step NAME OBJECT [SLEEP]: logs "NAME start OBJECT", sleeps on its first run only, logs "NAME end".
            let step = """
                #!/bin/sh
                log="\(directory)/steps.log"
                printf '%s start %s\\n' "$1" "$2" >> "$log"
                if [ -n "$3" ] && [ ! -e "\(directory)/slept-$1" ]; then touch "\(directory)/slept-$1"; sleep "$3"; fi
                printf '%s end\\n' "$1" >> "$log"
                """
            try step.write(toFile: directory + "/step", atomically: true, encoding: .utf8)
            chmod(directory + "/step", 0o755)
            try
                (rules ?? """
                    rules:
                      - name: pipeline
                        on: { message: { attributes: { objectId: "gocc/*" } } }
                        dedup: { key: "{{ attributes.objectId }}#{{ attributes.objectGeneration }}", window: 1h }
                        actions:
                          - exec: { command: ["\(directory)/step", first, "{{ attributes.objectId }}"] }
                          - exec: { command: ["\(directory)/step", slow, "{{ attributes.objectId }}", "4"] }
                          - exec: { command: ["\(directory)/step", third, "{{ attributes.objectId }}"] }
                    """).write(toFile: directory + "/rules/pipeline.yaml", atomically: true, encoding: .utf8)
            try """
            project: \(project)
            rules: rules/
            state: var/
            subscriptions:
              events: { name: events-sub, ackDeadline: 10s }
            shutdownGrace: \(shutdownGrace)
            http: \(http)
            log: { format: text, level: info }
            \(extra)
            """.write(toFile: directory + "/horae.yaml", atomically: true, encoding: .utf8)
            try await createTopics()
        }

        func createTopics() async throws {
            let topic = try client.topic("events")
            try await client.createTopic(topic)
            var settings = PubSubClient.SubscriptionSettings(topic: topic)
            settings.ackDeadlineSeconds = 10
            try await client.createSubscription(try client.subscription("events-sub"), settings)
        }

        func startHorae() throws -> HoraeProcess {
            try HoraeExecutable.start(
                ["run", "--config", directory + "/horae.yaml"], in: directory,
                environment: ["PUBSUB_EMULATOR_HOST": emulator.host])
        }

        @discardableResult
        func publish(object: String) async throws -> String {
            try await client.publish(
                try client.topic("events"),
                messages: [
                    OutgoingMessage(attributes: ["objectId": object, "objectGeneration": "1", "bucketId": "b"])
                ])[0]
        }

        var steps: [String] {
            ((try? String(contentsOfFile: stepsLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func count(_ prefix: String) -> Int { steps.count { $0.hasPrefix(prefix) } }

        func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool)
            async throws
        {
            try await Polling.waitUntil(what, timeout: timeout, condition)
        }

        func task(_ messageID: String) async throws -> TaskRecord? {
            let store = try SQLiteStateStore(directory: directory + "/var")
            defer { store.close() }
            return try await store.task(TaskKey(messageID: messageID, rule: "pipeline"))
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test func killMinus9MidTaskResumesAtTheUnfinishedActionAfterRestart() async throws {
        let stack = try await Stack()
        defer { stack.remove() }
        let first = try stack.startHorae()
        let id = try await stack.publish(object: "gocc/acme.tar.gz")
        try await stack.waitUntil("the slow action is running") { stack.count("slow start") == 1 }
        first.signal(SIGKILL)
        #expect(await first.waitForExit() != nil)
        // The machine went down: the orphaned action dies with it.
        try await Task.sleep(for: .milliseconds(100))
        #expect(stack.count("slow end") == 0)
        let record = try await stack.task(id)
        #expect(record?.state == .running)
        #expect(record?.nextAction == 1)

        let second = try stack.startHorae()
        defer { second.signal(SIGKILL) }
        // Redelivered once the lease lapses (10 s), resumed at the slow action.
        try await stack.waitUntil("the task resumes and finishes", timeout: .seconds(60)) {
            stack.count("third end") == 1
        }
        try await stack.waitUntil("the task is recorded succeeded") { try await stack.task(id)?.state == .succeeded }
        #expect(stack.count("first start") == 1)
        #expect(stack.count("slow start") >= 1)
        #expect(stack.count("third start") == 1)
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0)
        // Acked: past the ack deadline nothing comes back.
        try await Task.sleep(for: .seconds(11))
        let back = try await Polling.pull(stack.client, try stack.client.subscription("events-sub"))
        #expect(back.isEmpty)
    }

    @Test func killMinus9KillsTheExecChildBeforeTheTaskResumes() async throws {
        let marks = FileManager.default.temporaryDirectory.appendingPathComponent("horae-child-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: marks, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: marks) }
        // First run: record the pid, then become a long sleep (same pid). The resumed run notes it ran.
        let script =
            "if [ -e \(marks)/pid ]; then echo $$ > \(marks)/resumed; exit 0; fi; "
            + "echo $$ > \(marks)/pid.tmp; mv \(marks)/pid.tmp \(marks)/pid; exec sleep 300"
        let stack = try await Stack(
            rules: """
                rules:
                  - name: pipeline
                    on: { message: { attributes: { objectId: "gocc/*" } } }
                    actions:
                      - exec: { command: ["/bin/sh", "-c", "\(script)"] }
                """)
        defer { stack.remove() }
        let first = try stack.startHorae()
        let id = try await stack.publish(object: "gocc/child.tar.gz")
        try await stack.waitUntil("the exec child is running") {
            ProcessTestSupport.pid(fromFile: marks + "/pid") != nil
        }
        let child = try #require(ProcessTestSupport.pid(fromFile: marks + "/pid"))
        let aliveBefore = !ProcessTestSupport.isDead(child)
        #expect(aliveBefore)

        first.signal(SIGKILL)
        #expect(await first.waitForExit() != nil)
        let gone = await ProcessTestSupport.eventually(within: .seconds(5)) { ProcessTestSupport.isDead(child) }
        if !gone { kill(-child, SIGKILL) }  // do not leave it behind
        #expect(gone, "the exec child \(child) outlived kill -9 of the daemon")
        let record = try await stack.task(id)
        #expect(record?.state == .running)
        #expect(record?.nextAction == 0)

        let second = try stack.startHorae()
        defer { second.signal(SIGKILL) }
        // Redelivered once the lease lapses (10 s), the task runs its action again, and succeeds.
        try await stack.waitUntil("the task resumes", timeout: .seconds(60)) {
            FileManager.default.fileExists(atPath: marks + "/resumed")
        }
        try await stack.waitUntil("the task is recorded succeeded") { try await stack.task(id)?.state == .succeeded }
        let resumedBy = ProcessTestSupport.pid(fromFile: marks + "/resumed")
        #expect(resumedBy != nil && resumedBy != child)
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0)
    }

    @Test func sigtermLetsTheRunningTaskFinishThenExitsZero() async throws {
        let stack = try await Stack()
        defer { stack.remove() }
        let horae = try stack.startHorae()
        try await stack.publish(object: "gocc/term.tar.gz")
        try await stack.waitUntil("the slow action is running") { stack.count("slow start") == 1 }
        horae.signal(SIGTERM)
        let status = await horae.waitForExit(timeout: .seconds(30))
        #expect(status == 0)
        #expect(stack.count("slow end") == 1)
        // The task's remaining action did not start after the shutdown began; the message comes back for it.
        #expect(horae.log.contains("shutting down"))
    }

    @Test func sigtermStopsAHangingScheduleTickWithinTheGrace() async throws {
        let started = FileManager.default.temporaryDirectory.appendingPathComponent("horae-tick-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: started) }
        let stack = try await Stack(
            shutdownGrace: "2s",
            rules: """
                rules:
                  - name: ticking
                    on: { schedule: { cron: "* * * * * *" } }
                    actions:
                      - exec: { command: ["/bin/sh", "-c", "touch \(started); exec sleep 1000"] }
                """)
        defer { stack.remove() }
        let horae = try stack.startHorae()
        defer { horae.signal(SIGKILL) }
        try await stack.waitUntil("a tick's action is running") { FileManager.default.fileExists(atPath: started) }
        let signalled = ContinuousClock.now
        horae.signal(SIGTERM)
        let status = await horae.waitForExit(timeout: .seconds(15))
        let took = ContinuousClock.now - signalled
        #expect(status == 0)
        #expect(took < .seconds(4), "horae run took \(took) to exit after SIGTERM with a 2 s grace")
    }

    @Test func aMissingDeadLetterTopicStopsHoraeRunNamingTheTopicAndTheRule() async throws {
        let stack = try await Stack(
            rules: """
                rules:
                  - name: pipeline
                    on: { message: { attributes: { objectId: "gocc/*" } } }
                    retry: { deadLetter: no-such-dead-letters }
                    actions:
                      - log: { message: "{{ attributes.objectId }}" }
                """)
        defer { stack.remove() }
        let horae = try stack.startHorae()
        let status = await horae.waitForExit(timeout: .seconds(20))
        if status == nil { horae.signal(SIGKILL) }
        #expect(status == 1)
        #expect(horae.log.contains("no-such-dead-letters"))
        #expect(horae.log.contains("pipeline"))
    }

    @Test func anEmulatorOutageIsRiddenOutWithLowCPUAndNothingLost() async throws {
        let emulator = try await PubSubEmulator.start()
        defer { emulator.stop() }
        let stack = try await Stack(emulator: emulator)
        defer { stack.remove() }
        try "".write(toFile: stack.directory + "/slept-slow", atomically: true, encoding: .utf8)  // no sleeping
        let horae = try stack.startHorae()
        defer { horae.signal(SIGKILL) }
        try await stack.publish(object: "gocc/before.tar.gz")
        try await stack.waitUntil("the first message is processed") { stack.count("third end") == 1 }

        emulator.stop()
        let cpuBefore = try #require(horae.cpuTime)
        try await Task.sleep(for: .seconds(20))
        let cpuDuring = try #require(horae.cpuTime) - cpuBefore
        #expect(horae.isRunning)
        // Backing off, not spinning: well under 5 % of one core over the 20 s.
        #expect(cpuDuring < .seconds(1))
        #expect(horae.log.contains("pull failed"))

        try await emulator.restart()
        try await stack.createTopics()  // the emulator keeps nothing across a restart
        // It also numbers messages from 1 again; the daemon rightly treats a message id it already
        // finished as done, so a filler (matching no rule) takes the id "before" had.
        try await stack.publish(object: "filler/not-a-match")
        try await stack.publish(object: "gocc/after.tar.gz")
        try await stack.waitUntil("the daemon recovers and processes the new message", timeout: .seconds(90)) {
            stack.count("third end") == 2
        }
        #expect(horae.log.contains("pulling works again"))
        print("emulator outage: horae used \(cpuDuring) of CPU in 20 s")
    }

    @Test func flowControlKeepsAtMostTheBudgetOutstandingAsMetricsShow() async throws {
        let port = try LoopbackPort.free()
        let stack = try await Stack(
            rules: """
                rules:
                  - name: pipeline
                    on: { message: { attributes: { objectId: "gocc/*" } } }
                    actions:
                      - log: { message: "{{ attributes.objectId }}", level: debug }
                """, http: "127.0.0.1:\(port)", config: "maxOutstandingMessages: 100")
        defer { stack.remove() }
        let topic = try stack.client.topic("events")
        var start = 0
        while start < 5000 {
            _ = try await stack.client.publish(
                topic,
                messages: (start..<start + 500).map {
                    OutgoingMessage(attributes: ["objectId": "gocc/\($0).tar.gz"])
                })
            start += 500
        }
        let horae = try stack.startHorae()
        defer { horae.signal(SIGKILL) }
        let http = try CurlHTTPClient()
        func metric(_ name: String) async throws -> Double? {
            let response = try await http.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/metrics"))
            let text = String(decoding: response.body, as: UTF8.self)
            return text.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
                .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        }
        var highest = 0.0
        try await stack.waitUntil("all 5 000 acked", timeout: .seconds(240)) {
            if let now = try? await metric("horae_outstanding_messages") { highest = Swift.max(highest, now) }
            return (try? await metric("horae_messages_acked_total")) == 5000
        }
        let highWater = try #require(try await metric("horae_outstanding_messages_max"))
        #expect(highWater <= 100)
        #expect(highWater >= 50)
        #expect(highest <= 100)
        #expect(try await metric("horae_tasks_total") == 5000)
    }
}
