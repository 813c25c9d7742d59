import ArgumentParser
import HoraeDispatcher
import HoraeRules

/// `horae schema rules|config`: the JSON Schema of rule files or of `horae.yaml`, for editors
/// (docs/rules.md, "Editor support").
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema (draft 2020-12) of rule files or of horae.yaml, for editors that check YAML.",
        discussion: """
            Built from the tables `horae validate` uses, so it names every key, plugin option and \
            word the loader accepts. Save it and point your editor at it, e.g. with the first line \
            `# yaml-language-server: $schema=horae-rules.schema.json` in each rules file.
            """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case rules, config
    }

    @Argument(help: "What to describe: rules (rules/*.yaml) or config (horae.yaml).")
    var kind: Kind

    func run() throws {
        switch kind {
        case .rules: Console.out(RuleFileSchema.json.prettyJSON)
        case .config: Console.out(DaemonConfigSchema.json.prettyJSON)
        }
    }
}
