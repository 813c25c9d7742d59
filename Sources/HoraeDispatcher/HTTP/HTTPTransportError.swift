#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an ``HTTPTransport`` got no response.
///
/// `message` is libcurl's error text followed by the URL's host; it never contains credentials,
/// header values, the path's query or the body.
public struct HTTPTransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The host could not be resolved or the TCP connection failed (refused, unreachable).
        case connect
        /// The request's timeout (or the client's connect timeout) ran out.
        case timeout
        /// TLS failed: handshake, certificate verification, CA file.
        case tls
        /// The response body exceeded the client's `maxResponseBytes`.
        case tooLarge
        /// The calling task was cancelled or the client was shut down.
        case cancelled
        /// The request can never succeed as written: bad URL, scheme, method or header.
        case invalidRequest
        /// Any other failure: the connection dropped, the server sent garbage, an HTTP/2 error, …
        case other
        /// Writing the body into the request's ``HTTPRequest/responseBodyFile`` failed
        /// (``fileErrno`` says why: out of space, an I/O error, …).
        case file
    }

    public var kind: Kind
    public var message: String
    /// libcurl's `CURLcode` (0 when the error did not come from libcurl).
    public var curlCode: Int32
    /// For `.file`: the `errno` of the failed write (or truncation); 0 otherwise.
    public var fileErrno: Int32

    public init(kind: Kind, message: String, curlCode: Int32 = 0, fileErrno: Int32 = 0) {
        self.kind = kind
        self.message = message
        self.curlCode = curlCode
        self.fileErrno = fileErrno
    }

    /// Whether sending the same request again may succeed: true for `.connect`, `.timeout` and
    /// `.other` (network trouble), and for a `.tls` handshake that failed on the way (curl code
    /// 35, often a reset connection); for `.file` when the disk may recover (out of space or
    /// quota, an I/O error, an interrupted or busy call); false for certificate problems,
    /// `.invalidRequest`, `.tooLarge` and `.cancelled`.
    public var isRetryable: Bool {
        switch kind {
        case .connect, .timeout, .other: true
        case .tls: curlCode == 35  // CURLE_SSL_CONNECT_ERROR
        case .file: Self.isPassingFileError(fileErrno)
        case .tooLarge, .cancelled, .invalidRequest: false
        }
    }

    /// Whether a file-system error may go away by itself: out of space or quota, I/O errors, and
    /// calls that were interrupted or found something busy.
    public static func isPassingFileError(_ code: Int32) -> Bool {
        switch code {
        case ENOSPC, EDQUOT, EIO, EAGAIN, EINTR, ENFILE, EMFILE, ENOMEM, EBUSY, ETXTBSY: true
        default: false
        }
    }

    public var description: String {
        curlCode == 0 ? "HTTP \(kind): \(message)" : "HTTP \(kind) (curl \(curlCode)): \(message)"
    }
}
