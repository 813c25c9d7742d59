import Foundation
import HoraeRules
import HoraeTestSupport
import Testing

@testable import HoraeDispatcher

/// A `horae run` daemon downloads a 300 MB object from fake-gcs-server (`gcs download`, the
/// message published to the Pub/Sub emulator) with its peak resident memory under 100 MB: the
/// body is streamed into the file, never held in memory.
@Suite(.serialized, .enabled(if: HoraeExecutable.path != nil, "the horae executable is not built"))
struct BigDownloadProcessTests {
    static let objectBytes = 300_000_000
    static let peakLimit = 100 << 20

    /// Runs `python3 -c script arguments…`; returns its standard output, trimmed.
    static func python(_ script: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PluginTestSupport.Failure(description: "python3 exited with \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes `count` pseudo-random bytes to `path` a MiB at a time; prints their SHA-256.
    static let generate = """
        import hashlib, random, sys
        path, count = sys.argv[1], int(sys.argv[2])
        rng, digest, left = random.Random(20190115), hashlib.sha256(), count
        with open(path, "wb") as f:
            while left > 0:
                chunk = rng.randbytes(min(left, 1 << 20))
                f.write(chunk)
                digest.update(chunk)
                left -= len(chunk)
        print(digest.hexdigest())
        """

    /// Uploads the file at `path` from disk (`uploadType=media`, the body streamed in blocks);
    /// prints the object's generation.
    static let upload = """
        import json, os, sys, urllib.parse, urllib.request
        endpoint, bucket, name, path = sys.argv[1:5]
        url = f"{endpoint}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={urllib.parse.quote(name, safe='')}"
        with open(path, "rb") as f:
            request = urllib.request.Request(url, data=f, method="POST", headers={
                "Content-Type": "application/octet-stream", "Content-Length": str(os.path.getsize(path))})
            with urllib.request.urlopen(request, timeout=120) as response:
                print(json.load(response)["generation"])
        """

    /// The SHA-256 of the file at `path`, read a MiB at a time.
    static let hash = """
        import hashlib, sys
        digest = hashlib.sha256()
        with open(sys.argv[1], "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        print(digest.hexdigest())
        """

    /// `VmHWM` (peak resident memory) of process `pid`, in bytes.
    static func peakResidentBytes(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
        }
        return nil
    }

    @Test func a300MBObjectDownloadsWithThePeakResidentMemoryUnder100MB() async throws {
        let emulator = try await PubSubEmulator.shared()
        // A server of its own: it holds the object in memory, and goes away with it.
        let storage = try await FakeGCSServer.start()
        defer { storage.stop() }
        let bucket = FakeGCSServer.uniqueBucket("big")
        try await storage.createBucket(bucket)
        let objectName = "gocc/sohappy_gocc_20190115.tar.gz"

        let stack = try await DaemonProcessTests.Stack(
            emulator: emulator, rules: "")  // the rules are written below, once the directory is known
        defer { stack.remove() }
        let downloads = stack.directory + "/downloads"
        try """
        rules:
          - name: fetch
            on: { message: { attributes: { objectId: "gocc/*" } } }
            actions:
              - gcs:
                  operation: download
                  bucket: "{{ attributes.bucketId }}"
                  object: "{{ attributes.objectId }}"
                  directory: "\(downloads)"
        """.write(toFile: stack.directory + "/rules/pipeline.yaml", atomically: true, encoding: .utf8)

        let source = stack.directory + "/source.bin"
        let expectedHash = try Self.python(Self.generate, [source, String(Self.objectBytes)])
        let generation = try Self.python(Self.upload, [storage.endpoint, bucket, objectName, source])
        try FileManager.default.removeItem(atPath: source)

        let horae = try HoraeExecutable.start(
            ["run", "--config", stack.directory + "/horae.yaml"], in: stack.directory,
            environment: ["PUBSUB_EMULATOR_HOST": emulator.host, "STORAGE_EMULATOR_HOST": storage.host])
        defer { horae.signal(SIGKILL) }
        let messageID = try await stack.client.publish(
            try stack.client.topic("events"),
            messages: [
                OutgoingMessage(
                    attributes: [
                        "bucketId": bucket, "objectId": objectName, "objectGeneration": generation,
                        "eventType": "OBJECT_FINALIZE",
                    ])
            ])[0]

        let target = downloads + "/" + objectName
        let started = ContinuousClock.now
        var peak = 0
        var finished: TaskState?
        while ContinuousClock.now - started < .seconds(120) {
            peak = max(peak, Self.peakResidentBytes(horae.pid) ?? 0)
            let store = try SQLiteStateStore(directory: stack.directory + "/var")
            let record = try await store.task(TaskKey(messageID: messageID, rule: "fetch"))
            store.close()
            // A retryable failure (`waiting`) is an end here too: the first attempt must succeed.
            if let state = record?.state, state.isFinal || state == .waiting {
                finished = state
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Read while the daemon still runs: VmHWM is the peak over its whole life so far.
        peak = max(peak, Self.peakResidentBytes(horae.pid) ?? 0)
        let elapsed = ContinuousClock.now - started
        let log = horae.log
        #expect(finished == .succeeded, "the download task ended \(String(describing: finished)):\n\(log)")
        #expect(peak > 0, "VmHWM was read")
        #expect(peak < Self.peakLimit, "peak resident memory \(peak >> 20) MiB for a 300 MB download")
        print("300 MB download: peak resident memory \(peak >> 20) MiB, \(elapsed)")

        let size = (try? FileManager.default.attributesOfItem(atPath: target)[.size] as? Int) ?? -1
        #expect(size == Self.objectBytes)
        if size == Self.objectBytes {
            #expect(try Self.python(Self.hash, [target]) == expectedHash)
        }
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: downloads + "/gocc")) ?? [])
            .filter { $0.hasPrefix(".horae-download-") }
        #expect(leftovers.isEmpty, "no temporary file is left")

        horae.signal(SIGTERM)
        #expect(await horae.waitForExit(timeout: .seconds(30)) == 0)
    }
}
