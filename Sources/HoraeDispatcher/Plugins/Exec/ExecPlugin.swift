import HoraeRules

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The `exec` action: runs `command: [argv…]` through ``ProcessRunner`` — `execve`, never a
/// shell, in a process group of its own, killed if the daemon dies (docs/rules.md, "Actions").
///
/// Options (rendered):
/// - `command` (required, list of strings): `argv`; `argv[0]` is a path or a name looked up in
///   the child's `PATH`. Each element reaches the program as exactly one argument, byte for byte.
/// - `env` (map): variables added to the child's environment; they override the inherited ones
///   and the `HORAE_*` ones.
/// - `dir` (string): the working directory (must exist).
/// - `stdin` (string): written to the child's standard input as UTF-8; without it stdin is
///   `/dev/null`.
/// - `retryExitCodes`, `permanentExitCodes` (number or list, 0–255): see the outcome below.
/// - `maxOutput` (number of bytes): how much of stdout and of stderr the runner keeps
///   [``ProcessSpec/defaultMaxOutputBytes``]; the outcome holds a shorter tail of it.
///
/// Environment: nothing of the daemon's environment is inherited but `PATH`, `HOME`, `LANG`, `TZ`
/// (``inheritedVariables``) — never its credentials (`GOOGLE_APPLICATION_CREDENTIALS`, tokens).
/// The message is given as `HORAE_MESSAGE_ID`, `HORAE_PUBLISH_TIME`, `HORAE_SUBSCRIPTION`,
/// `HORAE_ORDERING_KEY` (when the message has them), `HORAE_RULE`, `HORAE_ATTEMPT`, and one
/// `HORAE_ATTR_<NAME>` per attribute (see ``attributeVariableName(_:)``).
///
/// Outcome:
/// - exit 0: success; the output is the tail of stdout and stderr (a few KiB, marked when cut);
/// - an exit code in `permanentExitCodes`: permanent;
/// - an exit code in `retryExitCodes` — or, when that option is absent, any other non-zero code:
///   retryable; with `retryExitCodes` given, the codes it does not list are permanent;
/// - killed at the timeout (``ActionInvocation/timeout``; the whole group gets SIGTERM, then
///   SIGKILL after ``terminationGrace``): retryable; killed by another signal: retryable;
/// - the program cannot be found or executed, an argument or variable holding a NUL byte, a
///   missing `dir`: permanent; a spawn failing for lack of resources: retryable;
/// - the task cancelled (daemon shutdown): the group is terminated the same way, and the outcome
///   is retryable ("cancelled"), so a later delivery resumes at this action.
public struct ExecPlugin: ActionPlugin {
    public var plugin: Plugin { .exec }

    /// The only variables taken from the daemon's own environment.
    public static let inheritedVariables = ["PATH", "HOME", "LANG", "TZ"]
    /// `PATH` for the child when the daemon has none.
    public static let defaultPath = "/usr/local/bin:/usr/bin:/bin"
    /// Bytes of output kept in an outcome (stdout and stderr tails together).
    public static let defaultOutcomeOutputBytes = 4096

    private let runner: ProcessRunner
    private let baseEnvironment: [String: String]
    private let terminationGrace: Duration
    private let outcomeOutputBytes: Int

    /// - Parameters:
    ///   - runner: runs the children (shared with shutdown's ``ProcessRunner/terminateAll(grace:)``).
    ///   - baseEnvironment: what every child starts from; defaults to ``inheritedEnvironment(from:)``
    ///     of the daemon's environment. Pass your own to control it completely.
    ///   - terminationGrace: between SIGTERM and SIGKILL on timeout or cancellation [5s].
    ///   - outcomeOutputBytes: bytes of output kept in an outcome [4096].
    public init(
        runner: ProcessRunner, baseEnvironment: [String: String]? = nil,
        terminationGrace: Duration = ProcessSpec.defaultTerminationGrace,
        outcomeOutputBytes: Int = ExecPlugin.defaultOutcomeOutputBytes
    ) {
        self.runner = runner
        self.baseEnvironment = baseEnvironment ?? Self.inheritedEnvironment(from: Self.daemonEnvironment())
        self.terminationGrace = terminationGrace
        self.outcomeOutputBytes = max(64, outcomeOutputBytes)
    }

    /// The part of `environment` a child inherits: ``inheritedVariables`` only, with `PATH`
    /// defaulting to ``defaultPath``.
    public static func inheritedEnvironment(from environment: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        for name in inheritedVariables {
            if let value = environment[name], !value.isEmpty { out[name] = value }
        }
        if out["PATH"] == nil { out["PATH"] = defaultPath }
        return out
    }

    public func run(_ invocation: ActionInvocation) async -> ActionOutcome {
        let spec: ProcessSpec
        switch makeSpec(invocation) {
        case .success(let made): spec = made
        case .failure(let problem): return .permanent("exec: \(problem.message)")
        }
        let name = PluginText.quoted(spec.executable)
        let result: ProcessResult
        do {
            result = try await runner.run(spec)
        } catch is CancellationError {
            return .retryable("exec \(name): cancelled (the daemon is stopping); the process group was terminated")
        } catch let error as ProcessRunnerError {
            return Self.classify(error)
        } catch {
            return .retryable("exec \(name): \(error)")
        }
        return classify(result, invocation: invocation, executable: name)
    }

    // MARK: - Spec

    struct Problem: Error { var message: String }

    func makeSpec(_ invocation: ActionInvocation) -> Result<ProcessSpec, Problem> {
        let options = invocation.options
        guard let command = options["command"]?.strings, let executable = command.first else {
            return .failure(Problem(message: "`command` must be a non-empty list of strings"))
        }
        var environment = baseEnvironment
        for (name, value) in Self.messageEnvironment(invocation) { environment[name] = value }
        if let given = options["env"] {
            guard let pairs = given.stringPairs else {
                return .failure(Problem(message: "`env` must map names to strings"))
            }
            for pair in pairs { environment[pair.key] = pair.value }
        }
        var directory: String?
        if let dir = options["dir"] {
            guard let text = dir.string else { return .failure(Problem(message: "`dir` must be a string")) }
            directory = text
        }
        var input: [UInt8]?
        if let stdin = options["stdin"] {
            guard let text = stdin.string else { return .failure(Problem(message: "`stdin` must be a string")) }
            input = Array(text.utf8)
        }
        var maxOutput = ProcessSpec.defaultMaxOutputBytes
        if let given = options["maxOutput"] {
            guard let value = given.integer, value >= 0 else {
                return .failure(Problem(message: "`maxOutput` must be a number of bytes"))
            }
            maxOutput = value
        }
        return .success(
            ProcessSpec(
                executable: executable, arguments: Array(command.dropFirst()), environment: environment,
                directory: directory, stdin: input, maxOutputBytes: maxOutput, timeout: invocation.timeout,
                terminationGrace: terminationGrace))
    }

    /// The `HORAE_*` variables of one run.
    static func messageEnvironment(_ invocation: ActionInvocation) -> [String: String] {
        var out: [String: String] = [
            "HORAE_RULE": invocation.ruleName,
            "HORAE_ATTEMPT": String(invocation.attempt),
        ]
        guard let message = invocation.message else { return out }
        out["HORAE_MESSAGE_ID"] = message.id
        if let time = message.publishTime { out["HORAE_PUBLISH_TIME"] = time }
        if let subscription = message.subscription { out["HORAE_SUBSCRIPTION"] = subscription }
        if let key = message.orderingKey, !key.isEmpty { out["HORAE_ORDERING_KEY"] = key }

        // Attributes whose names map to the same variable are all left out: which one would win
        // is not something a rule should depend on. Values with a NUL byte cannot be passed.
        var byVariable: [String: [String]] = [:]
        for name in message.attributes.keys {
            guard let variable = attributeVariableName(name) else { continue }
            byVariable[variable, default: []].append(name)
        }
        for (variable, names) in byVariable where names.count == 1 {
            let value = message.attributes[names[0]]!
            if !value.utf8.contains(0) { out[variable] = value }
        }
        return out
    }

    /// `HORAE_ATTR_` followed by the attribute's name with ASCII letters uppercased, digits kept
    /// and every other character (including non-ASCII ones) replaced by `_`: `objectId` →
    /// `HORAE_ATTR_OBJECTID`, `x-goog-Trace.id` → `HORAE_ATTR_X_GOOG_TRACE_ID`. nil for an empty
    /// name.
    public static func attributeVariableName(_ name: String) -> String? {
        guard !name.isEmpty else { return nil }
        var out = "HORAE_ATTR_"
        for scalar in name.unicodeScalars {
            switch scalar.value {
            case 0x61...0x7A: out.unicodeScalars.append(Unicode.Scalar(scalar.value - 0x20)!)
            case 0x41...0x5A, 0x30...0x39: out.unicodeScalars.append(scalar)
            default: out += "_"
            }
        }
        return out
    }

    // MARK: - Outcome

    static func classify(_ error: ProcessRunnerError) -> ActionOutcome {
        switch error.kind {
        case .executableNotFound, .notExecutable, .invalidArgument:
            return .permanent("exec: \(error)")
        case .spawnFailed(let code):
            // Out of processes, memory or descriptors: may pass. Anything else (a missing `dir`,
            // a permission problem) will not.
            if [EAGAIN, ENOMEM, EMFILE, ENFILE, ETXTBSY, EINTR].contains(code) {
                return .retryable("exec: \(error)")
            }
            return .permanent("exec: \(error)")
        }
    }

    func classify(_ result: ProcessResult, invocation: ActionInvocation, executable: String) -> ActionOutcome {
        let output = outputSummary(result)
        let withOutput = output.isEmpty ? "" : "; output: \(output)"
        if result.timedOut {
            let limit = invocation.timeout.map { " after \(PluginText.duration($0))" } ?? ""
            return .retryable(
                "exec \(executable): timed out\(limit); its process group was terminated (SIGTERM, then SIGKILL)"
                    + withOutput)
        }
        switch result.termination {
        case .exited(0):
            // Standard output cut at its limit is text only: it is not the JSON the program wrote.
            var step = StepOutput(bytes: result.stdout)
            if result.stdoutTruncatedBytes > 0 { step.json = nil }
            return .success(output: output.isEmpty ? nil : output, step: step)
        case .exited(let code):
            let options = invocation.options
            if let permanent = options["permanentExitCodes"]?.integers, permanent.contains(Int(code)) {
                return .permanent("exec \(executable): exit status \(code) (listed in permanentExitCodes)\(withOutput)")
            }
            if let retry = options["retryExitCodes"]?.integers {
                if retry.contains(Int(code)) {
                    return .retryable("exec \(executable): exit status \(code) (listed in retryExitCodes)\(withOutput)")
                }
                return .permanent("exec \(executable): exit status \(code) (not in retryExitCodes)\(withOutput)")
            }
            return .retryable("exec \(executable): exit status \(code)\(withOutput)")
        case .signaled(let signal):
            return .retryable("exec \(executable): killed by signal \(signal)\(withOutput)")
        }
    }

    /// The tails of stdout and stderr, within ``outcomeOutputBytes`` together.
    func outputSummary(_ result: ProcessResult) -> String {
        let hasOut = !result.stdout.isEmpty || result.stdoutTruncatedBytes > 0
        let hasErr = !result.stderr.isEmpty || result.stderrTruncatedBytes > 0
        let share = hasOut && hasErr ? outcomeOutputBytes / 2 : outcomeOutputBytes
        var parts: [String] = []
        if hasOut {
            parts.append(PluginText.tail(result.stdout, limit: share, notKept: result.stdoutTruncatedBytes))
        }
        if hasErr {
            parts.append(
                "[stderr] " + PluginText.tail(result.stderr, limit: share, notKept: result.stderrTruncatedBytes))
        }
        return parts.joined(separator: "\n")
    }

    // MARK: - Daemon environment

    /// The daemon's environment (read once per plugin; only ``inheritedVariables`` are used).
    static func daemonEnvironment() -> [String: String] {
        var out: [String: String] = [:]
        for name in inheritedVariables {
            if let value = getenv(name) { out[name] = String(cString: value) }
        }
        return out
    }
}
