import HoraeRules

/// The notification Cloud Storage would have sent for an object that exists, for `horae
/// backfill` (docs/operations.md): an `OBJECT_FINALIZE` message with the attributes of a real one
/// (`bucketId`, `objectId`, `objectGeneration`, `eventType`, `eventTime`, `payloadFormat`), the
/// object resource as its JSON data and the object's creation time as its `publishTime`, so
/// rules, templates and dedup keys see what a late real notification would show. Only
/// `notificationConfig` is missing: no notification configuration sent it.
public enum BackfillNotification {
    /// The message for `object` (a resource from a bucket listing); nil when the resource lacks a
    /// bucket, a name or a numeric generation.
    ///
    /// Its id, `backfill:BUCKET/OBJECT#GENERATION`, keys its tasks: a second backfill of the same
    /// generation finds them done.
    public static func message(for object: JSONValue) -> PubSubMessage? {
        guard let bucket = object["bucket"]?.string, !bucket.isEmpty, let name = object["name"]?.string,
            !name.isEmpty, let generation = object["generation"]?.text, !generation.isEmpty,
            generation.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        var message = PubSubMessage(id: "backfill:\(bucket)/\(name)#\(generation)")
        message.attributes = [
            "bucketId": bucket, "objectId": name, "objectGeneration": generation, "eventType": "OBJECT_FINALIZE",
            "payloadFormat": "JSON_API_V1",
        ]
        // The notification would have been published as the object was finalized.
        if let time = object["timeCreated"]?.string ?? object["updated"]?.string {
            message.attributes["eventTime"] = time
            message.publishTime = time
        }
        message.data = Array(object.compactJSON.utf8)
        return message
    }
}
