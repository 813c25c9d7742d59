#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Linux C-library functions that Swift's Glibc module does not import (they sit behind
/// `_GNU_SOURCE` or in headers outside the module), looked up once at run time so that an older
/// C library degrades instead of failing to load.
enum LibcExtras {
    typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32

    /// `posix_spawn_file_actions_addchdir_np` (glibc ≥ 2.29, musl ≥ 1.1.24).
    static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np", as: AddChdir.self)
    /// `posix_spawn_file_actions_addclosefrom_np` (glibc ≥ 2.34).
    static let addClosefrom: AddClosefrom? = symbol("posix_spawn_file_actions_addclosefrom_np", as: AddClosefrom.self)
    /// `pipe2` (glibc ≥ 2.9).
    static let pipe2: Pipe2? = symbol("pipe2", as: Pipe2.self)
    /// `pidfd_open` (glibc ≥ 2.36; Linux ≥ 5.3).
    static let pidfdOpen: PidfdOpen? = symbol("pidfd_open", as: PidfdOpen.self)

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: type)
    }
}
