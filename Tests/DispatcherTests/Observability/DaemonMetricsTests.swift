import Prometheus
import Testing

@testable import HoraeDispatcher

struct DaemonMetricsTests {
    /// The value of the series `series` (name and labels exactly as rendered) in `text`.
    private func value(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func countersRenderWithTheirLabels() {
        let metrics = DaemonMetrics()
        metrics.messagesPulled(subscription: "bucket-events", count: 3)
        metrics.messagesPulled(subscription: "bucket-events")
        metrics.messagesPulled(subscription: "other", count: 2)
        metrics.messagesAcked(subscription: "bucket-events", count: 4)
        metrics.messagesNacked(subscription: "bucket-events")
        metrics.messagesUnmatched(subscription: "bucket-events", count: 2)
        metrics.messagesDuplicate(subscription: "bucket-events")
        metrics.messagesInvalid(subscription: "bucket-events", reason: "bad_json")
        metrics.taskFinished(rule: "thumbs", outcome: .succeeded)
        metrics.taskFinished(rule: "thumbs", outcome: .deadLettered)
        metrics.taskFinished(rule: "thumbs", outcome: .deadLettered)
        metrics.taskAttempted(rule: "thumbs")
        metrics.leaseExtended(subscription: "bucket-events", count: 10)
        metrics.leaseExpired(subscription: "bucket-events")
        metrics.pullFailed(subscription: "bucket-events", status: .http(503))
        metrics.pullFailed(subscription: "bucket-events", status: .transport)
        metrics.rulesReloaded(ruleCount: 7)
        metrics.rulesReloaded(ruleCount: nil)
        metrics.scheduleTicked(rule: "hourly")
        let text = metrics.prometheusText()
        let expected: [(String, Double)] = [
            (#"horae_messages_pulled_total{subscription="bucket-events"}"#, 4),
            (#"horae_messages_pulled_total{subscription="other"}"#, 2),
            (#"horae_messages_acked_total{subscription="bucket-events"}"#, 4),
            (#"horae_messages_nacked_total{subscription="bucket-events"}"#, 1),
            (#"horae_messages_unmatched_total{subscription="bucket-events"}"#, 2),
            (#"horae_messages_duplicate_total{subscription="bucket-events"}"#, 1),
            (#"horae_messages_invalid_total{subscription="bucket-events",reason="bad_json"}"#, 1),
            (#"horae_tasks_total{rule="thumbs",outcome="succeeded"}"#, 1),
            (#"horae_tasks_total{rule="thumbs",outcome="dead_lettered"}"#, 2),
            (#"horae_task_attempts_total{rule="thumbs"}"#, 1),
            (#"horae_lease_extensions_total{subscription="bucket-events"}"#, 10),
            (#"horae_lease_expirations_total{subscription="bucket-events"}"#, 1),
            (#"horae_pull_errors_total{subscription="bucket-events",status="503"}"#, 1),
            (#"horae_pull_errors_total{subscription="bucket-events",status="transport"}"#, 1),
            (#"horae_rules_reloads_total{result="ok"}"#, 1),
            (#"horae_rules_reloads_total{result="failed"}"#, 1),
            (#"horae_schedule_ticks_total{rule="hourly"}"#, 1),
            ("horae_rules_loaded", 7),
        ]
        for (series, number) in expected {
            #expect(value(series, in: text) == number, "\(series)")
        }
        #expect(text.contains("# TYPE horae_messages_pulled_total counter"))
        #expect(text.contains("# TYPE horae_outstanding_messages gauge"))
    }

    @Test func gaugesExistFromTheStart() {
        let text = DaemonMetrics().prometheusText()
        for name in [
            "horae_outstanding_messages", "horae_outstanding_bytes", "horae_outstanding_messages_max",
            "horae_running_tasks", "horae_rules_loaded",
        ] {
            #expect(value(name, in: text) == 0, "\(name)")
        }
    }

    @Test func outstandingMaxIsTheHighWaterMark() {
        let metrics = DaemonMetrics()
        metrics.setOutstanding(messages: 5, bytes: 500)
        metrics.setOutstanding(messages: 12, bytes: 1_200)
        metrics.setOutstanding(messages: 3, bytes: 300)
        #expect(metrics.outstandingMessagesMax == 12)
        let text = metrics.prometheusText()
        #expect(value("horae_outstanding_messages", in: text) == 3)
        #expect(value("horae_outstanding_bytes", in: text) == 300)
        #expect(value("horae_outstanding_messages_max", in: text) == 12)
    }

    @Test func outstandingMaxUnderConcurrentUpdates() async {
        let metrics = DaemonMetrics()
        let values = (0..<2_000).map { _ in Int.random(in: 0...100_000) }
        await withTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: values.count, by: 250) {
                group.addTask {
                    for value in values[chunk..<min(chunk + 250, values.count)] {
                        metrics.setOutstanding(messages: value, bytes: value * 10)
                    }
                }
            }
        }
        #expect(metrics.outstandingMessagesMax == values.max())
        #expect(value("horae_outstanding_messages_max", in: metrics.prometheusText()) == Double(values.max()!))
    }

    @Test func runningTasksGoUpAndDown() {
        let metrics = DaemonMetrics()
        metrics.taskStarted()
        metrics.taskStarted()
        metrics.taskStarted()
        metrics.taskStopped()
        #expect(value("horae_running_tasks", in: metrics.prometheusText()) == 2)
    }

    @Test func actionDurationsFillTheHistogram() {
        let metrics = DaemonMetrics()
        metrics.actionFinished(plugin: "exec", duration: .microseconds(500))
        metrics.actionFinished(plugin: "exec", duration: .milliseconds(40))
        metrics.actionFinished(plugin: "exec", duration: .seconds(400))
        metrics.actionFinished(plugin: "http", duration: .seconds(2))
        let text = metrics.prometheusText()
        #expect(text.contains("# TYPE horae_action_duration_seconds histogram"))
        #expect(value(#"horae_action_duration_seconds_bucket{plugin="exec",le="0.001"}"#, in: text) == 1)
        #expect(value(#"horae_action_duration_seconds_bucket{plugin="exec",le="0.05"}"#, in: text) == 2)
        #expect(value(#"horae_action_duration_seconds_bucket{plugin="exec",le="300.0"}"#, in: text) == 2)
        #expect(value(#"horae_action_duration_seconds_bucket{plugin="exec",le="600.0"}"#, in: text) == 3)
        #expect(value(#"horae_action_duration_seconds_bucket{plugin="exec",le="+Inf"}"#, in: text) == 3)
        #expect(value(#"horae_action_duration_seconds_count{plugin="exec"}"#, in: text) == 3)
        #expect(value(#"horae_action_duration_seconds_count{plugin="http"}"#, in: text) == 1)
        let sum = value(#"horae_action_duration_seconds_sum{plugin="exec"}"#, in: text) ?? 0
        #expect(abs(sum - 400.0405) < 1e-6)
        // 1 ms … 10 min: 18 buckets plus +Inf per plugin.
        #expect(
            text.split(separator: "\n").filter { $0.hasPrefix(#"horae_action_duration_seconds_bucket{plugin="http""#) }
                .count == 19)
    }

    @Test func registriesAreIndependentAndNothingGoesToTheGlobalOne() {
        let first = DaemonMetrics()
        let second = DaemonMetrics()
        first.messagesPulled(subscription: "s", count: 5)
        #expect(value(#"horae_messages_pulled_total{subscription="s"}"#, in: first.prometheusText()) == 5)
        #expect(!second.prometheusText().contains("horae_messages_pulled_total"))
        #expect(!PrometheusMetricsFactory.defaultRegistry.emitToString().contains("horae_"))
    }

    @Test func givenRegistryIsUsed() {
        let registry = PrometheusCollectorRegistry()
        let metrics = DaemonMetrics(registry: registry)
        metrics.scheduleTicked(rule: "r")
        #expect(registry.emitToString().contains(#"horae_schedule_ticks_total{rule="r"} 1"#))
    }

    @Test func zeroAndNegativeCountsAreIgnored() {
        let metrics = DaemonMetrics()
        metrics.messagesAcked(subscription: "s", count: 0)
        metrics.messagesAcked(subscription: "s", count: -3)
        metrics.messagesAcked(subscription: "s", count: 2)
        #expect(value(#"horae_messages_acked_total{subscription="s"}"#, in: metrics.prometheusText()) == 2)
    }

    @Test func labelValuesAreEscaped() {
        let metrics = DaemonMetrics()
        metrics.messagesPulled(subscription: "a\"b\nc\\d")
        let text = metrics.prometheusText()
        #expect(value(#"horae_messages_pulled_total{subscription="a\"b\nc\\d"}"#, in: text) == 1)
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("c") })
    }
}
