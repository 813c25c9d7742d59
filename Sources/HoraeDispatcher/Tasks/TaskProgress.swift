/// A task's record as ``TaskRunner`` advances it, with the state the store holds for it, so that
/// each save tells the store what it replaces (``StateStore/save(_:replacing:transitionDetail:dedup:)``)
/// and the store need not read it back first. Reads and writes the record's fields directly
/// (`progress.attempt += 1`).
@dynamicMemberLookup
struct TaskProgress {
    private(set) var record: TaskRecord
    /// The state last read from or written to the store; nil while nothing is stored.
    private(set) var storedState: TaskState?

    /// A record read from the store.
    init(stored: TaskRecord) {
        record = stored
        storedState = stored.state
    }

    /// A record not in the store yet.
    init(new: TaskRecord) {
        record = new
        storedState = nil
    }

    subscript<Value>(dynamicMember keyPath: WritableKeyPath<TaskRecord, Value>) -> Value {
        get { record[keyPath: keyPath] }
        set { record[keyPath: keyPath] = newValue }
    }

    /// Saves the record; on return the store holds it.
    mutating func save(to store: any StateStore, transitionDetail: String?, dedup: DedupSettlement? = nil)
        async throws
    {
        try await store.save(record, replacing: storedState, transitionDetail: transitionDetail, dedup: dedup)
        storedState = record.state
    }
}
