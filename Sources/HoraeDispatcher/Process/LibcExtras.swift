#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Linux C-library functions that Swift's Glibc module does not import (they sit behind
/// `_GNU_SOURCE` or in headers outside the module), looked up once at run time so that an older
/// C library degrades instead of failing to load.
enum LibcExtras {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    /// `pipe2` (glibc ≥ 2.9).
    static let pipe2: Pipe2? = symbol("pipe2", as: Pipe2.self)

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: type)
    }
}
