import CHoraeBuildInfo

/// What `horae --version` prints: the release and the git commit the binary was built from.
enum HoraeVersion {
    /// The release; scripts/package.sh names the Debian package after it.
    static let number = "0.1.0"
    static var commit: String { String(cString: horae_git_commit()) }
    static var description: String { "\(number) (commit \(commit))" }
}
