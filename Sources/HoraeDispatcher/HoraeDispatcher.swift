import HoraeRules

/// The daemon side of Horae (Pub/Sub client, leases, state store, tasks, plugins) lands with
/// issue 3; this target exists now so the package layout already shows where it goes.
public enum HoraeDispatcher {
    /// The rules-language version this dispatcher understands.
    public static let rulesLanguageVersion = 1
}
