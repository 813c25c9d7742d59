import NIOCore
import NIOPosix

/// The daemon's one SwiftNIO event loop thread, shared by the status server and the gRPC
/// transport: neither needs more than one for its traffic, and every event loop thread is a stack
/// and a malloc arena of resident memory (the idle target is 40 MB). Started on first use and
/// kept for the life of the process, like NIO's singletons, so no user's shutdown races work
/// still scheduled on it.
enum DaemonEventLoop {
    static let group: any EventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
}
