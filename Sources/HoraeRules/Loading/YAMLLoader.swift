#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads one YAML document into a `YAMLNode` tree whose nodes carry their 1-based line:column.
///
/// Built on libyaml's event API without recursion, so hostile input cannot overflow the stack;
/// every problem becomes a `Diagnostic` (`E001`–`E010`), nothing is thrown.
///
/// Positions are libyaml's start marks, plus one:
/// - Columns count characters (Unicode scalars), not bytes: in `é: x` the `x` is at column 4.
///   A UTF-8 byte-order mark is skipped and takes no column.
/// - A node with an anchor or tag starts at the anchor or tag (`a: &x [1]` → the list is at 1:4);
///   a block mapping starts at its first key, a block list at its first `-`, and an empty value
///   just after its key's colon.
/// - Aliases and merged keys are copies that keep the anchor's positions.
///
/// Semantics:
/// - Duplicate keys (E004, compared by scalar text) keep the first occurrence; the root is still
///   returned. Every other error withholds the root; unknown aliases (E008) and bad merges (E009)
///   do not stop parsing, so all of them are reported; the other errors stop at the first.
/// - `<<` (a plain, untagged or `!!merge`-tagged key) takes a mapping or a list of mappings. Their
///   keys go where `<<` was written, unless the mapping itself has the key (anywhere) or an
///   earlier mapping in the list had it.
/// - `maxDepth` counts nested lists and mappings, aliases expanded; `maxNodes` counts every node,
///   an alias as the size of what it copies (so an alias bomb ends in E007 after bounded work).
public struct YAMLLoader: Sendable {
    public struct Limits: Sendable {
        /// Larger input is rejected with E005 without being read or parsed.
        public var maxFileBytes = 16 << 20
        /// Levels of nested lists and mappings (the root collection is level 1); deeper → E006.
        public var maxDepth = 64
        /// Nodes after alias expansion (an alias counts as the size of its anchor's subtree) → E007.
        public var maxNodes = 1_000_000

        public init() {}
    }

    let limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Parses one YAML document. Returns the root (nil when there were fatal errors or the stream
    /// has no document) and all diagnostics, each with `path:line:col` (1-based).
    ///
    /// Duplicate keys (E004) are reported but keep the root (the first occurrence wins); every
    /// other error withholds it.
    public func load(_ bytes: [UInt8], path: String) -> (root: YAMLNode?, diagnostics: [Diagnostic]) {
        if bytes.count > limits.maxFileBytes {
            return (nil, [tooLarge(size: bytes.count, path: path)])
        }
        return bytes.withUnsafeBufferPointer { load($0, path: path) }
    }

    /// Reads and parses a file. I/O errors give E001 with the operating system's reason; a file
    /// over `maxFileBytes` gives E005 without being read.
    public func load(contentsOf path: String) -> (root: YAMLNode?, diagnostics: [Diagnostic]) {
        switch Self.readFile(path, limit: limits.maxFileBytes) {
        case .success(let bytes):
            return bytes.withUnsafeBufferPointer { load($0, path: path) }
        case .tooLarge(let size):
            return (nil, [tooLarge(size: size, path: path)])
        case .failure(let reason):
            return (
                nil,
                [
                    .error(
                        .unreadableFile, "cannot read the file: \(reason)",
                        at: SourceLocation(path: path, line: 1, column: 1))
                ]
            )
        }
    }

    // MARK: - Parsing

    private func load(_ bytes: UnsafeBufferPointer<UInt8>, path: String) -> (root: YAMLNode?, diagnostics: [Diagnostic])
    {
        // Skip a UTF-8 byte-order mark. A UTF-16 (or UTF-32) mark contains 0xFE or 0xFF, which
        // never occur in UTF-8, so such files fail the check below like any other non-UTF-8 file.
        let hasBOM = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        let start = hasBOM ? 3 : 0
        if let bad = YAMLTextScanner.firstInvalidUTF8(in: bytes, from: start) {
            let (line, column) = YAMLTextScanner.lineAndColumn(of: bad, in: bytes, from: start)
            let message =
                "file is not valid UTF-8 (byte 0x\(YAMLTreeBuilder.hex(Int(bytes[bad]), digits: 2)) at offset \(bad)); save it as UTF-8"
            return (nil, [.error(.invalidUTF8, message, at: SourceLocation(path: path, line: line, column: column))])
        }
        var builder = YAMLTreeBuilder(path: path, limits: limits)
        let root = builder.build(UnsafeBufferPointer(rebasing: bytes[start...]))
        return (root, builder.diagnostics)
    }

    private func tooLarge(size: Int?, path: String) -> Diagnostic {
        let size = size.map { "\($0) bytes" } ?? "more than \(limits.maxFileBytes) bytes"
        return .error(
            .fileTooLarge,
            "file is too large (\(size), the limit is \(limits.maxFileBytes)); split it into several files",
            at: SourceLocation(path: path, line: 1, column: 1))
    }

    // MARK: - Reading

    private enum ReadResult {
        case success([UInt8])
        /// The size, when known.
        case tooLarge(Int?)
        case failure(String)
    }

    private static func reason(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "error \(code)" }
        return String(cString: s)
    }

    /// Reads at most `limit` bytes: the size is checked with `stat` before anything is read, and
    /// input whose size `stat` does not know (pipes, devices) is cut off once it passes the limit.
    private static func readFile(_ path: String, limit: Int) -> ReadResult {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(reason(errno)) }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR { return .failure(reason(EISDIR)) }
        let isRegular = type == S_IFREG
        if isRegular, Int(info.st_size) > limit { return .tooLarge(Int(info.st_size)) }

        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { return .failure(reason(errno)) }
        defer { close(fd) }

        var bytes: [UInt8] = []
        if isRegular { bytes.reserveCapacity(Int(info.st_size)) }
        let chunkSize = 1 << 20
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = read(fd, chunk, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(reason(errno))
            }
            if n == 0 { return .success(bytes) }
            // A file that grew since `stat`, or a stream: its full size is unknown.
            if bytes.count + n > limit { return .tooLarge(nil) }
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: chunk, count: n))
        }
    }
}
