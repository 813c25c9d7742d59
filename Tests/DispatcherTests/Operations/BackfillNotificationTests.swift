import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// The notification `horae backfill` makes of an object resource is the one Cloud Storage sends:
/// the resource below is the data of a real notification captured from fake-gcs-server, and the
/// attributes are that notification's.
@Suite struct BackfillNotificationTests {
    static let object = """
        {"kind":"storage#object","id":"ven-cust-sohappy/gocc/sohappy_gocc_20190115.tar.gz#1795925866210475",\
        "name":"gocc/sohappy_gocc_20190115.tar.gz","bucket":"ven-cust-sohappy","generation":"1795925866210475",\
        "contentType":"application/x-www-form-urlencoded","timeCreated":"2026-11-29T04:17:46.210454Z",\
        "updated":"2026-11-29T04:17:46.210474Z","storageClass":"STANDARD","size":"6"}
        """

    @Test func anObjectBecomesItsFinalizeNotification() throws {
        let resource = try JSONParser.parse(Array(Self.object.utf8))
        let message = try #require(BackfillNotification.message(for: resource))
        #expect(message.id == "backfill:ven-cust-sohappy/gocc/sohappy_gocc_20190115.tar.gz#1795925866210475")
        #expect(
            message.attributes == [
                "bucketId": "ven-cust-sohappy", "objectId": "gocc/sohappy_gocc_20190115.tar.gz",
                "objectGeneration": "1795925866210475", "eventType": "OBJECT_FINALIZE", "payloadFormat": "JSON_API_V1",
                "eventTime": "2026-11-29T04:17:46.210454Z",
            ])
        #expect(message.publishTime == "2026-11-29T04:17:46.210454Z")
        // The data is the object resource, as a real notification's is.
        #expect(try JSONParser.parse(message.data) == resource)
    }

    @Test func aResourceWithoutBucketNameOrNumericGenerationIsNoNotification() throws {
        for broken in [
            #"{"name":"a","generation":"1"}"#, #"{"bucket":"b","generation":"1"}"#, #"{"bucket":"b","name":"a"}"#,
            #"{"bucket":"b","name":"a","generation":"1; rm"}"#,
        ] {
            #expect(BackfillNotification.message(for: try JSONParser.parse(Array(broken.utf8))) == nil, "\(broken)")
        }
    }

    @Test func taskIDsReadBackAsTheyArePrinted() {
        let key = TaskKey(messageID: "backfill:b/gocc/a.tar.gz#1", rule: "load")
        #expect(TaskKey(id: key.description) == key)
        #expect(TaskKey(id: "load") == nil)
        #expect(TaskKey(id: "/m1") == nil)
        #expect(TaskKey(id: "load/") == nil)
    }
}
