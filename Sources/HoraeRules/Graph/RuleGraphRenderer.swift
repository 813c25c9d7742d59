/// Writes a ``RuleGraph`` as Mermaid (for Markdown) or Graphviz DOT (`dot -Tsvg`).
///
/// Both draw subscriptions as rounded boxes, schedules as parallelograms, rules as boxes and
/// topics as hexagons. A dead-letter edge (labelled `dead letter`) and an edge only assumed from
/// equal names (``RuleGraph/Edge/Kind/sameName``, labelled `same name?`) are dotted in Mermaid;
/// DOT draws the first dashed and red, the second dotted.
public enum RuleGraphRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case mermaid, dot
    }

    public static func render(_ graph: RuleGraph, as format: Format) -> String {
        switch format {
        case .mermaid: return mermaid(graph)
        case .dot: return dot(graph)
        }
    }

    static let fills: [(RuleGraph.NodeKind, fill: String, stroke: String)] = [
        (.subscription, "#e8f0fe", "#1a73e8"),
        (.schedule, "#fef7e0", "#f9ab00"),
        (.rule, "#ffffff", "#3c4043"),
        (.topic, "#e6f4ea", "#188038"),
    ]

    // MARK: Mermaid

    public static func mermaid(_ graph: RuleGraph) -> String {
        var out = "flowchart LR\n"
        for node in graph.nodes {
            let text = ([node.label] + node.details).map(mermaidText).joined(separator: "<br/>")
            let (open, close): (String, String)
            switch node.kind {
            case .subscription: (open, close) = ("([", "])")
            case .schedule: (open, close) = ("[/", "/]")
            case .rule: (open, close) = ("[", "]")
            case .topic: (open, close) = ("{{", "}}")
            }
            out += "    \(node.id)\(open)\"\(text)\"\(close)\n"
        }
        for edge in graph.edges {
            let arrow: String
            switch edge.kind {
            case .triggers, .publishes, .delivers: arrow = "-->"
            case .deadLetter, .sameName: arrow = "-.->"
            }
            let label = edge.label.map { "|\"\(mermaidText($0))\"|" } ?? ""
            out += "    \(edge.from) \(arrow)\(label) \(edge.to)\n"
        }
        for (kind, fill, stroke) in fills {
            let ids = graph.nodes.filter { $0.kind == kind }.map(\.id)
            guard !ids.isEmpty else { continue }
            out += "    classDef \(kind.rawValue) fill:\(fill),stroke:\(stroke),color:#202124\n"
            out += "    class \(ids.joined(separator: ",")) \(kind.rawValue)\n"
        }
        return out
    }

    /// Text inside a quoted Mermaid label: quotes, `#`, `<` and `>` as Mermaid entity codes.
    static func mermaidText(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "#": out += "#35;"
            case "\"": out += "#quot;"
            case "<": out += "#lt;"
            case ">": out += "#gt;"
            case "\n": out += " "
            default: out.append(c)
            }
        }
        return out
    }

    // MARK: DOT

    public static func dot(_ graph: RuleGraph) -> String {
        var out = """
            digraph horae {
                rankdir=LR;
                node [fontname="Helvetica", fontsize=11, style=filled];
                edge [fontname="Helvetica", fontsize=9];

            """
        for node in graph.nodes {
            let text = ([node.label] + node.details).map(dotText).joined(separator: "\\n")
            let shape: String
            switch node.kind {
            case .subscription: shape = "shape=box, style=\"rounded,filled\""
            case .schedule: shape = "shape=parallelogram"
            case .rule: shape = "shape=box"
            case .topic: shape = "shape=hexagon"
            }
            let colors = fills.first { $0.0 == node.kind }!
            out +=
                "    \(node.id) [label=\"\(text)\", \(shape), fillcolor=\"\(colors.fill)\", color=\"\(colors.stroke)\"];\n"
        }
        for edge in graph.edges {
            var attributes: [String] = []
            if let label = edge.label { attributes.append("label=\"\(dotText(label))\"") }
            switch edge.kind {
            case .triggers, .publishes, .delivers: break
            case .deadLetter: attributes.append("style=dashed, color=\"#c5221f\", fontcolor=\"#c5221f\"")
            case .sameName: attributes.append("style=dotted")
            }
            let list = attributes.isEmpty ? "" : " [\(attributes.joined(separator: ", "))]"
            out += "    \(edge.from) -> \(edge.to)\(list);\n"
        }
        out += "}\n"
        return out
    }

    /// Text inside a quoted DOT string: backslashes and quotes escaped (so `\n`, `\l` or `\N`
    /// in a name stay text), line breaks as spaces.
    static func dotText(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n", "\r": out += " "
            default: out.append(c)
            }
        }
        return out
    }
}
