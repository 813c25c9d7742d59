import Foundation
import HoraeTestSupport
import Testing

@testable import HoraeDispatcher

/// `horae backfill` against fake-gcs-server and the real Pub/Sub emulator while `horae run` runs:
/// objects already in a bucket run through the subscription's rules as their notifications, and
/// dedup keys make a backfill and a late real notification of the same object run once.
@Suite(.serialized, .enabled(if: HoraeExecutable.path != nil, "the horae executable is not built"))
struct BackfillCommandTests {
    @Test func existingObjectsRunOnceThroughTheSubscriptionsRules() async throws {
        let gcs = try await FakeGCSServer.shared()
        let bucket = FakeGCSServer.uniqueBucket("backfill")
        try await gcs.createBucket(bucket)
        for name in ["gocc/a.tar.gz", "gocc/b.tar.gz", "csv/c.csv"] { try await gcs.upload(bucket, name, "data") }
        var stack = try await OperatorStack(store: .sqlite, environment: ["STORAGE_EMULATOR_HOST": gcs.host])
        try stack.start()
        do {
            let dry = try stack.horae(["backfill", "gs://\(bucket)", "--subscription", "events", "--dry-run"])
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(dry.stdout.contains("message backfill:\(bucket)/gocc/a.tar.gz#"), "\(dry.stdout)")
            #expect(dry.stdout.contains("load  ("), "\(dry.stdout)")
            #expect(!dry.stdout.contains("csv/c.csv"), "\(dry.stdout)")
            #expect(dry.stderr.contains("backfill: 3 objects listed, 2 matched"), "\(dry.stderr)")
            #expect(try stack.tasks().isEmpty)

            let run = try stack.horae(["backfill", "gs://\(bucket)/gocc/", "--subscription", "events"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("backfill: 2 objects listed, 2 matched, 2 queued"), "\(run.stderr)")
            try await stack.waitUntil("both objects ran") { try stack.tasks(["--state", "succeeded"]).count == 2 }
            #expect(stack.count("second gocc/a.tar.gz") == 1 && stack.count("second gocc/b.tar.gz") == 1)

            // The late real notification of gocc/a (its generation from the bucket) is a duplicate.
            let listed = try stack.tasks(["--state", "succeeded"])
            let dedupKey = try #require(
                listed.compactMap { $0["dedupKey"] as? String }.first { $0.hasPrefix("gocc/a") })
            let generation = String(dedupKey.split(separator: "#").last ?? "")
            let late = try await stack.publish(object: "gocc/a.tar.gz", generation: generation)
            try await stack.waitUntil("the late notification was seen") { try stack.state(late) == "duplicate" }
            #expect(stack.count("first gocc/a.tar.gz") == 1)

            // Bad input: exit status 2 with a message.
            let noBucket = try stack.horae(["backfill", "gs://no-such-bucket-\(bucket)", "--subscription", "events"])
            #expect(noBucket.status == 2)
            #expect(noBucket.stderr.contains("does not exist"), "\(noBucket.stderr)")
            let noSubscription = try stack.horae(["backfill", "gs://\(bucket)", "--subscription", "nope"])
            #expect(noSubscription.status == 2)
            #expect(noSubscription.stderr.contains("no subscription `nope`"), "\(noSubscription.stderr)")
            let notGS = try stack.horae(["backfill", "s3://\(bucket)", "--subscription", "events"])
            #expect(notGS.status == 2)
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
    }
}
