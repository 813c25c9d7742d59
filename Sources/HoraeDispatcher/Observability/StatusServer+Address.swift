extension StatusServer {
    /// A listening address: `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`, or `:9464` for every
    /// IPv4 interface (`0.0.0.0`). Port 0 asks the kernel for a free port (tests); the bound one is
    /// reported to `onRunning`.
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        /// An IPv4 or IPv6 address (without brackets) or a host name.
        public var host: String
        /// 0…65535.
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses the config's `http:` value.
        /// - Throws: ``StatusServerError`` `.invalidAddress`, with a message naming the value and
        ///   the accepted forms.
        public init(parsing text: String) throws(StatusServerError) {
            func invalid(_ why: String) -> StatusServerError {
                StatusServerError(
                    kind: .invalidAddress,
                    message: "invalid http address \(Self.quoted(text)): \(why) "
                        + "(expected HOST:PORT, [IPV6]:PORT or :PORT, e.g. 127.0.0.1:9464)")
            }
            let host: Substring
            let portText: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else { throw invalid("missing ']'") }
                host = text[text.index(after: text.startIndex)..<close]
                let rest = text[text.index(after: close)...]
                guard rest.first == ":" else { throw invalid("missing ':PORT' after ']'") }
                portText = rest.dropFirst()
                guard !host.isEmpty, host.contains(":"),
                    host.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == ".") })
                else { throw invalid("not an IPv6 address in brackets") }
            } else {
                guard let colon = text.lastIndex(of: ":") else { throw invalid("missing ':PORT'") }
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
                if host.contains(":"), host.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == ".") }) {
                    throw invalid("an IPv6 address must be in brackets")
                }
                guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") })
                else { throw invalid("invalid host") }
            }
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                let port = Int(portText), port <= 65535
            else { throw invalid("the port must be a number from 0 to 65535") }
            self.host = host.isEmpty ? "0.0.0.0" : String(host)
            self.port = port
        }

        /// `host:port`, with an IPv6 host in brackets.
        public var description: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }

        /// The value quoted for an error message, control characters escaped.
        private static func quoted(_ text: String) -> String {
            var buffer = LogLineBuffer(capacity: text.utf8.count + 2)
            buffer.appendJSONString(String(text.prefix(200)))
            return String(decoding: buffer.bytes, as: UTF8.self)
        }
    }
}
