import ArgumentParser
import HoraeDispatcher

/// A `--state` value: a task state as the store and `/status` name it (`dead-lettered`), or
/// `dead_lettered`/`deadLettered` as people also type it.
struct TaskStateArgument: ExpressibleByArgument, Hashable, Sendable {
    let state: TaskState

    init?(argument: String) {
        let spelled = argument.lowercased().replacing("_", with: "-").replacing("deadlettered", with: "dead-lettered")
        guard let state = TaskState(rawValue: spelled) else { return nil }
        self.state = state
    }

    static var allValueStrings: [String] { TaskState.allCases.map(\.rawValue) }
}
