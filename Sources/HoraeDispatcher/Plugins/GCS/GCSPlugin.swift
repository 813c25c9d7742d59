import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `gcs` action: copies, moves, deletes or downloads one Cloud Storage object through the
/// JSON API (`storage/v1`) (docs/rules.md, "Actions").
///
/// Options (rendered):
/// - `operation` (required): `copy`, `move`, `delete` or `download`.
/// - `bucket`, `object` (required): the object. The bucket must be a valid bucket name
///   (3–222 characters of `a–z 0–9 - _ .`, starting and ending with a letter or digit, dot-separated
///   parts of at most 63); the object name 1–1024 bytes without CR or LF, not `.` or `..`.
/// - `toBucket`, `toObject` (copy, move): the destination [the source's bucket, the source's
///   name]; at least one must differ from the source.
/// - `directory` (download, required there): where the object is written, at its name
///   (`a/b.csv` → `DIRECTORY/a/b.csv`), created if missing; see ``DownloadDestination`` for how
///   a name can never lead out of it. A template value in `directory` may fill in names but not
///   add `/` or `..` (``TemplatedPath``).
/// An option that the operation does not use is a permanent failure (a rule mistake).
///
/// Object and bucket names are attacker-controlled: each goes into the URL as ONE encoded path
/// segment (``URLBuilder/appendingPath(_:)``: `/` → `%2F`, `?` → `%3F`, `#` → `%23`), so no name
/// can change which resource a request addresses.
///
/// Calls: copy is `rewriteTo` (repeated with the `rewriteToken` until `done`, as large or
/// cross-location copies need); move is copy, then `DELETE` of the source; delete is `DELETE`;
/// download is a `GET` of the object's metadata (its size and generation G), then
/// `GET …?alt=media&generation=G` (the bytes of the object that was sized), the body streamed into a temporary file next to the
/// final one (``HTTPRequest/responseBodyFile``), which is flushed and renamed into place once
/// complete. The object is never held in memory, whatever its size; the download's size counts
/// against the daemon's ``DownloadBudget`` (`downloadBytesInFlight`) from before its body is
/// requested until its file is in place or removed.
///
/// Generations: when the source is the object the message notifies of (its `bucketId` and
/// `objectId` attributes name it) and the message has an `objectGeneration`, copy and move send
/// `ifSourceGenerationMatch`, every delete of the source and the metadata `GET` of a download
/// `ifGenerationMatch` with it, so a retry never copies, deletes, overwrites or downloads a newer
/// upload of the same name. A 412 is then permanent: the object changed since the notification.
///
/// Outcome, as `http`: 2xx → success (the output says what was done); 408, 429, 5xx, network
/// trouble, cancellation → retryable; other 4xx → permanent. A `DELETE` answered 404 counts as
/// success — the object is gone, which is what was asked, and a retry after a crash that
/// followed the delete must not fail — for `delete` and for the second step of `move`. A source
/// missing for `copy`, `move` or `download` (404) is permanent. Local file-system errors: out of
/// space and I/O errors retryable, others permanent. A download that fails, however, leaves no
/// file behind (neither a partial one at the final name nor its temporary file), and one that is
/// tried again starts from the first byte.
///
/// Endpoint: `https://storage.googleapis.com` with credentials (scope ``scope``), or the
/// emulator named by `STORAGE_EMULATOR_HOST` without credentials (``emulatorEndpoint(environment:)``).
/// The whole run, every call included, is limited by ``ActionInvocation/timeout`` or
/// ``defaultTimeout``. Nothing is logged; messages never contain header values.
public struct GCSPlugin: ActionPlugin {
    public var plugin: Plugin { .gcs }

    public static let defaultEndpoint = "https://storage.googleapis.com"
    /// The OAuth scope the plugin's credentials need.
    public static let scope = "https://www.googleapis.com/auth/devstorage.read_write"
    /// The environment variable that switches to an emulator, as Google's client libraries read it.
    public static let emulatorVariable = "STORAGE_EMULATOR_HOST"
    public static let defaultTimeout: Duration = .seconds(300)
    /// `rewriteTo` calls for one copy, at most (each copies at least a few hundred MiB).
    static let maxRewriteCalls = 1000

    let caller: GoogleAPICaller
    let endpoint: String
    private let defaultTimeout: Duration
    /// Download bytes in flight, daemon-wide.
    let downloadBudget: DownloadBudget
    public var ownDefaultTimeout: Duration? { defaultTimeout }

    /// - Parameters:
    ///   - transport: ``CurlHTTPClient`` in the daemon.
    ///   - credentials: for Google (scope ``scope``); ``NoCredentials`` for an emulator.
    ///   - endpoint: the JSON API's origin, without `/storage/v1` [``defaultEndpoint``]. An invalid
    ///     one makes every run fail permanently, saying so.
    ///   - defaultTimeout: for actions without a timeout [5 min].
    ///   - downloadBudget: the limit on download bytes in flight, shared by every download
    ///     [a budget of its own, ``DownloadBudget/defaultCapacity``].
    public init(
        transport: any HTTPTransport, credentials: any CredentialsProvider,
        endpoint: String = GCSPlugin.defaultEndpoint, defaultTimeout: Duration = GCSPlugin.defaultTimeout,
        downloadBudget: DownloadBudget = DownloadBudget()
    ) {
        self.caller = GoogleAPICaller(label: "gcs", transport: transport, credentials: credentials)
        self.endpoint = endpoint
        self.defaultTimeout = defaultTimeout
        self.downloadBudget = downloadBudget
    }

    /// The emulator's endpoint when `STORAGE_EMULATOR_HOST` is set (non-empty), read as Google's
    /// client libraries read it: `http://host:port` (or `https://…`) as given, a bare `host:port`
    /// as `http://host:port`. Nil when not set.
    public static func emulatorEndpoint(environment: [String: String]) -> String? {
        guard let value = environment[emulatorVariable]?.trimmingBlanks(), !value.isEmpty else {
            return nil
        }
        return value.contains("://") ? value : "http://\(value)"
    }

    public func run(_ invocation: ActionInvocation) async -> ActionOutcome {
        do {
            return .success(output: try await perform(invocation))
        } catch {
            return error.outcome
        }
    }

    // MARK: - Operations

    struct ObjectRef {
        var bucket: String
        var name: String
        /// The generation calls must find (`ifGenerationMatch`), for the notified object.
        var generation: String?
        /// `"gs://bucket/name"`, quoted and escaped for messages.
        var shown: String { PluginText.quoted("gs://\(bucket)/\(name)") }
    }

    func perform(_ invocation: ActionInvocation) async throws(PluginFailure) -> String {
        let options = invocation.options
        guard let operation = options["operation"]?.string else {
            throw .permanent("gcs: `operation` must be a string")
        }
        var source = ObjectRef(
            bucket: try Self.bucketName(options, "bucket"), name: try Self.objectName(options, "object"))
        source.generation = Self.notifiedGeneration(of: source, in: invocation.message)
        let deadline = ContinuousClock.now + (invocation.timeout ?? defaultTimeout)
        let api: URLBuilder
        do {
            api = try URLBuilder(base: endpoint).appendingRawPath("storage/v1")
        } catch {
            throw .permanent(
                "gcs: the Cloud Storage endpoint is not valid: \((error as? HTTPTransportError)?.message ?? "\(error)")"
            )
        }

        switch operation {
        case "copy", "move":
            try Self.refuse(["directory"], in: options, for: operation)
            let destination = ObjectRef(
                bucket: options["toBucket"] == nil ? source.bucket : try Self.bucketName(options, "toBucket"),
                name: options["toObject"] == nil ? source.name : try Self.objectName(options, "toObject"))
            guard destination.bucket != source.bucket || destination.name != source.name else {
                throw .permanent(
                    "gcs \(operation): the destination is the source \(source.shown); set `toBucket` or `toObject`")
            }
            let size = try await rewrite(source, to: destination, api: api, deadline: deadline)
            let sizeText = size.map { " (\($0) bytes)" } ?? ""
            if operation == "copy" { return "copied \(source.shown) to \(destination.shown)\(sizeText)" }
            let existed = try await delete(source, api: api, deadline: deadline)
            return "moved \(source.shown) to \(destination.shown)\(sizeText)"
                + (existed ? "" : "; the source was already gone when deleting it")
        case "delete":
            try Self.refuse(["toBucket", "toObject", "directory"], in: options, for: operation)
            let existed = try await delete(source, api: api, deadline: deadline)
            return existed ? "deleted \(source.shown)" : "\(source.shown) was already gone (HTTP 404)"
        case "download":
            try Self.refuse(["toBucket", "toObject"], in: options, for: operation)
            guard let directory = options["directory"]?.string else {
                throw .permanent("gcs download: `directory` is required, a string")
            }
            guard case .template(let template)? = invocation.action?["directory"] else {
                throw .permanent(
                    "gcs download: cannot check `directory`: the invocation does not carry the rule's "
                        + "action (ActionInvocation.action); refusing to write")
            }
            do {
                try TemplatedPath.check(directory, template: template)
            } catch {
                throw .permanent("gcs download: `directory`: \(error.outcome.message)")
            }
            let destination: DownloadDestination
            do {
                destination = try DownloadDestination(directory: directory, objectName: source.name)
            } catch {
                throw .permanent("gcs download \(source.shown): \(error.outcome.message)")
            }
            let (path, size) = try await download(source, to: destination, api: api, deadline: deadline)
            return "downloaded \(source.shown) to \(PluginText.quoted(path)) (\(size) bytes)"
        default:
            throw .permanent(
                "gcs: unknown operation \(PluginText.quoted(operation)); use copy, move, delete or download")
        }
    }

    /// `rewriteTo` until done; returns the object's size when the answer gives it.
    func rewrite(_ source: ObjectRef, to destination: ObjectRef, api: URLBuilder, deadline: ContinuousClock.Instant)
        async throws(PluginFailure) -> String?
    {
        var base = try Self.url {
            try Self.objectURL(api, source).appendingRawPath("rewriteTo/b").appendingPath(destination.bucket)
                .appendingRawPath("o").appendingPath(destination.name)
        }
        if let generation = source.generation { base = base.query([("ifSourceGenerationMatch", generation)]) }
        var token: String?
        for _ in 0..<Self.maxRewriteCalls {
            let url = token.map { base.query([("rewriteToken", $0)]) } ?? base
            let timeout = try PluginHTTP.remaining(until: deadline, label: "gcs", doing: "copying \(source.shown)")
            let (request, response) = try await caller.send("POST", url.string, timeout: timeout)
            guard response.isSuccess else { throw Self.failure(response, request: request, object: source) }
            let answer = try PluginHTTP.json(response, request: request, label: "gcs")
            if answer["done"] == .bool(true) { return answer["resource"]?["size"]?.text }
            guard let next = answer["rewriteToken"]?.string, !next.isEmpty else {
                throw .retryable("gcs copy \(source.shown): the rewrite is not done and the answer has no rewriteToken")
            }
            token = next
        }
        throw .retryable("gcs copy \(source.shown): not done after \(Self.maxRewriteCalls) rewrite calls")
    }

    /// `DELETE`; returns whether the object was there (false for 404).
    func delete(_ object: ObjectRef, api: URLBuilder, deadline: ContinuousClock.Instant) async throws(PluginFailure)
        -> Bool
    {
        var url = try Self.url { try Self.objectURL(api, object) }
        if let generation = object.generation { url = url.query([("ifGenerationMatch", generation)]) }
        let timeout = try PluginHTTP.remaining(until: deadline, label: "gcs", doing: "deleting \(object.shown)")
        let (request, response) = try await caller.send("DELETE", url.string, timeout: timeout)
        if response.isSuccess { return true }
        if response.status == 404 { return false }
        throw Self.failure(response, request: request, object: object)
    }

    /// The failure for a non-2xx answer to a call on `object`; a 412 to a pinned generation says
    /// the object changed since the notification (permanent: retrying cannot bring it back).
    static func failure(_ response: HTTPResponse, request: HTTPRequest, object: ObjectRef) -> PluginFailure {
        if response.status == 412, let generation = object.generation {
            return .permanent(
                "gcs \(PluginHTTP.target(request)): HTTP 412: the object changed since the notification: "
                    + "generation \(generation) is no longer current")
        }
        return PluginHTTP.statusFailure(response, request: request, label: "gcs")
    }

    /// The message's `objectGeneration` when `object` is the object the message notifies of
    /// (its `bucketId` and `objectId` attributes); nil otherwise, or when it is not a number.
    static func notifiedGeneration(of object: ObjectRef, in message: PubSubMessage?) -> String? {
        guard let attributes = message?.attributes, attributes["bucketId"] == object.bucket,
            attributes["objectId"] == object.name, let generation = attributes["objectGeneration"],
            !generation.isEmpty, generation.utf8.count <= 20, generation.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        return generation
    }

    /// The object's metadata (size, generation, …), then its bytes streamed into a temporary
    /// file that is renamed into place once complete; returns the final path and the size.
    func download(
        _ object: ObjectRef, to destination: DownloadDestination, api: URLBuilder, deadline: ContinuousClock.Instant
    ) async throws(PluginFailure) -> (path: String, bytes: Int) {
        let metadata = try await self.metadata(object, api: api, deadline: deadline)
        let grant: DownloadBudget.Grant
        do {
            grant = try await downloadBudget.acquire(metadata.size, deadline: deadline)
        } catch .timedOut {
            throw .retryable(
                "gcs download \(object.shown): timed out waiting for room among the downloads in flight "
                    + "(downloadBytesInFlight \(downloadBudget.capacity) bytes, \(metadata.size) needed)")
        } catch {
            throw .retryable("gcs download \(object.shown): cancelled")
        }
        defer { downloadBudget.release(grant) }

        let file: DownloadFile
        do {
            file = try await DownloadDestination.offPool { () throws(PluginFailure) in try destination.prepare() }
        } catch {
            throw Self.inDownload(object, error)
        }
        let written: Int
        do throws(PluginFailure) {
            let url = try Self.url {
                try Self.objectURL(api, object).query([("alt", "media"), ("generation", metadata.generation)])
            }
            let timeout = try PluginHTTP.remaining(until: deadline, label: "gcs", doing: "downloading \(object.shown)")
            let (request, response) = try await caller.send(
                "GET", url.string, timeout: timeout,
                responseBodyFile: HTTPResponseBodyFile(descriptor: file.descriptor))
            guard response.isSuccess else {
                if response.status == 404, object.generation == nil {
                    // The metadata was just read: the object was replaced (or deleted) since.
                    throw PluginFailure.retryable(
                        "gcs \(PluginHTTP.target(request)): HTTP 404: generation \(metadata.generation) was replaced "
                            + "or deleted while downloading it")
                }
                throw Self.failure(response, request: request, object: object)
            }
            guard let bytes = response.bodyFileBytes else {
                throw PluginFailure.permanent(
                    "gcs \(PluginHTTP.target(request)): the HTTP transport did not stream the body into the file")
            }
            // A transcoded object (stored gzip-compressed) arrives decompressed, at another size.
            if !metadata.transcoded, bytes != metadata.size {
                throw PluginFailure.retryable(
                    "gcs \(PluginHTTP.target(request)): got \(bytes) bytes of an object of \(metadata.size)")
            }
            written = bytes
        } catch {
            file.discard()
            throw Self.inDownload(object, error)
        }
        do {
            // commit() removes the temporary file itself when it fails.
            let path = try await DownloadDestination.offPool { () throws(PluginFailure) in try file.commit() }
            return (path, written)
        } catch {
            throw Self.inDownload(object, error)
        }
    }

    /// `failure` with `gcs download OBJECT: ` in front, unless it already names the call.
    static func inDownload(_ object: ObjectRef, _ failure: PluginFailure) -> PluginFailure {
        let message = failure.outcome.message
        if message.hasPrefix("gcs ") { return failure }
        return PluginFailure(outcome: failure.outcome.withMessage("gcs download \(object.shown): \(message)"))
    }

    struct ObjectMetadata {
        var size: Int
        var generation: String
        /// Stored with a `contentEncoding` (gzip): served decompressed unless asked otherwise.
        var transcoded: Bool
    }

    /// `GET …/o/OBJECT` (with `ifGenerationMatch` for the notified generation).
    func metadata(_ object: ObjectRef, api: URLBuilder, deadline: ContinuousClock.Instant) async throws(PluginFailure)
        -> ObjectMetadata
    {
        var url = try Self.url { try Self.objectURL(api, object) }
        if let generation = object.generation { url = url.query([("ifGenerationMatch", generation)]) }
        let timeout = try PluginHTTP.remaining(until: deadline, label: "gcs", doing: "downloading \(object.shown)")
        let (request, response) = try await caller.send("GET", url.string, timeout: timeout)
        guard response.isSuccess else { throw Self.failure(response, request: request, object: object) }
        let answer = try PluginHTTP.json(response, request: request, label: "gcs")
        guard let size = answer["size"]?.text.flatMap({ Int($0) }), size >= 0,
            let generation = answer["generation"]?.text, !generation.isEmpty
        else {
            throw .retryable(
                "gcs \(PluginHTTP.target(request)): the object's metadata has no size or generation: "
                    + PluginText.head(response.body, limit: HTTPPlugin.failureBodyBytes))
        }
        let encoding = answer["contentEncoding"]?.string ?? ""
        return ObjectMetadata(size: size, generation: generation, transcoded: !encoding.isEmpty)
    }

    // MARK: - Names and URLs

    /// `…/storage/v1/b/BUCKET/o/OBJECT`, each name one encoded segment.
    static func objectURL(_ api: URLBuilder, _ object: ObjectRef) throws -> URLBuilder {
        try api.appendingRawPath("b").appendingPath(object.bucket).appendingRawPath("o").appendingPath(object.name)
    }

    static func url(_ build: () throws -> URLBuilder) throws(PluginFailure) -> URLBuilder {
        do { return try build() } catch {
            throw .permanent(
                "gcs: cannot build the request URL: \((error as? HTTPTransportError)?.message ?? "\(error)")")
        }
    }

    static func refuse(_ unused: [String], in options: RenderedValue, for operation: String) throws(PluginFailure) {
        for name in unused where options[name] != nil {
            throw .permanent("gcs \(operation): `\(name)` is not used by \(operation); remove it")
        }
    }

    static func bucketName(_ options: RenderedValue, _ option: String) throws(PluginFailure) -> String {
        guard let name = options[option]?.string else { throw .permanent("gcs: `\(option)` must be a string") }
        guard isValidBucketName(name) else {
            throw .permanent(
                "gcs: `\(option)` \(PluginText.quoted(name)) is not a bucket name (3–222 characters of "
                    + "a–z 0–9 - _ ., starting and ending with a letter or digit)")
        }
        return name
    }

    static func objectName(_ options: RenderedValue, _ option: String) throws(PluginFailure) -> String {
        guard let name = options[option]?.string else { throw .permanent("gcs: `\(option)` must be a string") }
        guard (1...1024).contains(name.utf8.count), name != ".", name != "..",
            !name.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D })
        else {
            throw .permanent(
                "gcs: `\(option)` \(PluginText.quoted(name)) is not an object name "
                    + "(1–1024 bytes, no CR or LF, not `.` or `..`)")
        }
        return name
    }

    /// Cloud Storage's bucket naming rules.
    static func isValidBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...222).contains(bytes.count) else { return false }
        func isAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard isAlnum(bytes.first!), isAlnum(bytes.last!) else { return false }
        guard
            bytes.allSatisfy({
                isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            })
        else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            (1...63).contains($0.utf8.count)
        }
    }
}
