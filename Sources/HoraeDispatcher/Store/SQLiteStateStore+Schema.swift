extension SQLiteStateStore {
    /// The schema version this build writes, kept in `PRAGMA user_version` (0 means an empty
    /// file); the versions and their migrations are ``StoreSchema``'s, shared with
    /// ``PostgresStateStore``.
    public static let schemaVersion = Int32(StoreSchema.version)
}
