/// Byte-level checks on a YAML file before libyaml sees it: UTF-8 validation, and turning a byte
/// offset into the 1-based line:column that libyaml would report for it.
enum YAMLTextScanner {
    /// The offset of the first byte of the first invalid UTF-8 sequence at or after `start`, or nil
    /// when the bytes are valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
    static func firstInvalidUTF8(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let n = bytes.count
        var i = start
        while i < n {
            // ASCII fast path, eight bytes at a time.
            while i + 8 <= n {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            guard i < n else { break }
            let b0 = base[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            if b0 < 0xC2 { return i }  // stray continuation byte or overlong 2-byte form
            if b0 < 0xE0 {
                guard i + 1 < n, base[i + 1] & 0xC0 == 0x80 else { return i }
                i += 2
                continue
            }
            if b0 < 0xF0 {
                guard i + 2 < n else { return i }
                let b1 = base[i + 1]
                let b2 = base[i + 2]
                let low: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80  // no overlong forms
                let high: UInt8 = b0 == 0xED ? 0x9F : 0xBF  // no UTF-16 surrogates
                guard b1 >= low, b1 <= high, b2 & 0xC0 == 0x80 else { return i }
                i += 3
                continue
            }
            if b0 < 0xF5 {
                guard i + 3 < n else { return i }
                let b1 = base[i + 1]
                let b2 = base[i + 2]
                let b3 = base[i + 3]
                let low: UInt8 = b0 == 0xF0 ? 0x90 : 0x80  // no overlong forms
                let high: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF  // nothing above U+10FFFF
                guard b1 >= low, b1 <= high, b2 & 0xC0 == 0x80, b3 & 0xC0 == 0x80 else { return i }
                i += 4
                continue
            }
            return i  // 0xF5...0xFF never occur in UTF-8
        }
        return nil
    }

    /// The 1-based line and column of byte `offset`, counting from `start`, the way libyaml counts
    /// them: a column is a character (Unicode scalar), and CR LF, CR, LF, NEL, LS and PS each end a
    /// line. Bytes before `offset` should be valid UTF-8; invalid ones count as one character each.
    static func lineAndColumn(of offset: Int, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (
        line: Int, column: Int
    ) {
        var line = 1
        var column = 1
        var i = start
        let end = min(offset, bytes.count)
        while i < end {
            let b = bytes[i]
            switch b {
            case 0x0A:
                line += 1
                column = 1
                i += 1
            case 0x0D:
                i += (i + 1 < end && bytes[i + 1] == 0x0A) ? 2 : 1
                line += 1
                column = 1
            case 0xC2 where i + 1 < end && bytes[i + 1] == 0x85:  // NEL
                line += 1
                column = 1
                i += 2
            // U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR
            case 0xE2 where i + 2 < end && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                line += 1
                column = 1
                i += 3
            default:
                // One character: a lead byte and its continuation bytes (a stray byte counts alone).
                column += 1
                i += 1
                if b >= 0xC0 {
                    var k = 0
                    while k < 3, i < end, bytes[i] & 0xC0 == 0x80 {
                        i += 1
                        k += 1
                    }
                }
            }
        }
        return (line, column)
    }
}

extension YAMLTextScanner {
    /// The byte offset of 1-based `line` and `column` (counted as `lineAndColumn` counts them),
    /// or nil when the text has no such position.
    static func offset(ofLine line: Int, column: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var currentLine = 1
        var currentColumn = 1
        var i = 0
        let n = bytes.count
        while i < n {
            if currentLine == line, currentColumn == column { return i }
            if currentLine > line { return nil }
            let b = bytes[i]
            switch b {
            case 0x0A:
                currentLine += 1
                currentColumn = 1
                i += 1
            case 0x0D:
                i += (i + 1 < n && bytes[i + 1] == 0x0A) ? 2 : 1
                currentLine += 1
                currentColumn = 1
            case 0xC2 where i + 1 < n && bytes[i + 1] == 0x85:
                currentLine += 1
                currentColumn = 1
                i += 2
            case 0xE2 where i + 2 < n && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                currentLine += 1
                currentColumn = 1
                i += 3
            default:
                currentColumn += 1
                i += 1
                if b >= 0xC0 {
                    var k = 0
                    while k < 3, i < n, bytes[i] & 0xC0 == 0x80 {
                        i += 1
                        k += 1
                    }
                }
            }
        }
        return nil
    }
}
