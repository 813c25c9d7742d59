import Foundation

#if canImport(Glibc)
import Glibc
#endif
#if os(Linux) && canImport(CoreFoundation)
// Glibc's module map leaves out <malloc.h>; the toolchain's CoreFoundation module includes it.
import CoreFoundation
#endif

/// Clocks, memory figures and repeat-until-long-enough timing.
enum Measurement {
    /// Monotonic time in nanoseconds.
    @inline(__always)
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// CPU time of the calling thread in nanoseconds.
    @inline(__always)
    static func threadCPU() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Seconds taken by `body`, and its result.
    static func time<T>(_ body: () throws -> T) rethrows -> (seconds: Double, result: T) {
        let start = now()
        let result = try body()
        return (Double(now() - start) / 1e9, result)
    }

    /// Resident set size of the process, from `/proc/self/statm`, in bytes (0 when unavailable).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Peak resident set size (VmHWM) in bytes.
    static func peakResidentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb =
                line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? 0
            return kb * 1024
        }
        return 0
    }

    /// Bytes the allocator has handed out and not taken back (all arenas), from `mallinfo2`.
    static func heapInUse() -> Int {
        #if os(Linux) && canImport(CoreFoundation)
        let info = mallinfo2()
        return Int(info.uordblks) + Int(info.hblkhd)
        #else
        return 0
        #endif
    }

    /// Gives freed memory back to the system, so RSS growth afterwards is a fair figure.
    static func trimHeap() {
        #if os(Linux) && canImport(CoreFoundation)
        malloc_trim(0)
        #endif
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Runs `pass` (one pass over the message pool, returning its number of matches) until at
    /// least `minSeconds` of wall time have passed, `repeats` times; returns the best wall and
    /// thread-CPU seconds per pass and the matches of one pass (-1 when passes disagree).
    static func bestPassTime(minSeconds: Double, repeats: Int, _ pass: () -> Int)
        -> (wallSecondsPerPass: Double, cpuSecondsPerPass: Double, matches: Int, passes: Int)
    {
        var bestWall = Double.infinity
        var bestCPU = Double.infinity
        var matches: Int?
        var totalPasses = 0
        for _ in 0..<max(1, repeats) {
            let start = now()
            let cpuStart = threadCPU()
            var passes = 0
            var elapsed = 0.0
            repeat {
                let m = pass()
                if matches == nil { matches = m } else if matches != m { matches = -1 }
                passes += 1
                elapsed = Double(now() - start) / 1e9
            } while elapsed < minSeconds
            let cpu = Double(threadCPU() - cpuStart) / 1e9
            totalPasses += passes
            bestWall = min(bestWall, elapsed / Double(passes))
            bestCPU = min(bestCPU, cpu / Double(passes))
        }
        return (bestWall, bestCPU, matches ?? 0, totalPasses)
    }
}
