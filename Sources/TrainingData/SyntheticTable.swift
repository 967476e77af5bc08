// A synthetic table drawn from a domain: header names, value kinds and text rows.

/// A generated table. Column 0 is the key (its values are unique).
public struct SyntheticTable: Sendable {
    public let domainID: String
    public let entity: String
    public let entities: String
    public let name: String
    public let columns: [String]
    public let phrases: [String]
    public let kinds: [ValueKind]
    /// Other header names the domain uses for each column (a plausible wrong column for recovery examples).
    public let alternatives: [[String]]
    public var rows: [[String]]

    public func isNumeric(_ column: Int) -> Bool { kinds[column].isNumeric }
    public func isCategory(_ column: Int) -> Bool {
        if case .category = kinds[column] { return true }
        return false
    }
    /// The AgentBench `add_description` line for this table.
    public var addDescription: String {
        "The name of this table is \(name), and the headers of this table are \(columns.joined(separator: ","))."
    }
}

enum ValueFormat {
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                         "October", "November", "December"]

    /// `value` with exactly `places` digits after the point (no Foundation, same output everywhere).
    static func decimal(_ value: Double, places: Int) -> String {
        var scale = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = Int((abs(value) * Double(scale)).rounded())
        let sign = value < 0 && scaled != 0 ? "-" : ""
        if places == 0 { return sign + String(scaled) }
        var frac = String(scaled % scale)
        while frac.count < places { frac = "0" + frac }
        return sign + String(scaled / scale) + "." + frac
    }
}

enum TableBuilder {
    /// Row counts: mostly small tables as in AgentBench (5-40), some up to 100.
    static func rowCount(_ rng: inout SeededRandom) -> Int {
        switch rng.weightedIndex([0.6, 0.3, 0.1]) {
        case 0: return rng.int(5...30)
        case 1: return rng.int(31...60)
        default: return rng.int(61...100)
        }
    }

    static func build(_ domain: Domain, _ rng: inout SeededRandom) -> SyntheticTable {
        // Keep the key, then a random subset of the other columns (at least one numeric and one category).
        var chosen = [0]
        let rest = Array(1..<domain.columns.count)
        let numeric = rest.filter { domain.columns[$0].kind.isNumeric }
        let category = rest.filter { if case .category = domain.columns[$0].kind { return true } else { return false } }
        var keep = Set<Int>()
        if let n = numeric.isEmpty ? nil : rng.pick(numeric) { keep.insert(n) }
        if let c = category.isEmpty ? nil : rng.pick(category) { keep.insert(c) }
        for c in rest where !keep.contains(c) && rng.chance(0.75) { keep.insert(c) }
        chosen += rest.filter { keep.contains($0) }

        let specs = chosen.map { domain.columns[$0] }
        var names: [String] = []
        for spec in specs {
            var name = rng.pick(spec.names)
            if names.contains(name) { name = spec.names.first { !names.contains($0) } ?? (name + " 2") }
            names.append(name)
        }
        var count = rowCount(&rng)
        // Keys drawn from a finite list limit the row count.
        if case .pool(let p) = specs[0].kind { count = min(count, p.count) }

        var columnsValues: [[String]] = []
        for (i, spec) in specs.enumerated() {
            columnsValues.append(values(spec.kind, count: count, unique: i == 0, &rng))
        }
        count = columnsValues[0].count
        var rows: [[String]] = []
        for r in 0..<count { rows.append(columnsValues.map { $0[r] }) }
        return SyntheticTable(domainID: domain.id, entity: domain.entity, entities: domain.entities,
                              name: rng.pick(domain.tableNames), columns: names,
                              phrases: specs.map(\.phrase), kinds: specs.map(\.kind),
                              alternatives: specs.map(\.names), rows: rows)
    }

    /// One value of a kind (for new rows and updates).
    static func value(_ kind: ValueKind, _ rng: inout SeededRandom) -> String {
        switch kind {
        case .person: return rng.pick(Pools.firstNames) + " " + rng.pick(Pools.lastNames)
        case .pool(let p): return rng.pick(p)
        case .compound(let a, let b): return rng.pick(a) + " " + rng.pick(b)
        case .category(let c): return rng.pick(c)
        case .int(let lo, let hi): return String(rng.int(lo...hi))
        case .decimal(let lo, let hi, let places): return ValueFormat.decimal(lo + (hi - lo) * rng.unit(), places: places)
        case .year(let lo, let hi): return String(rng.int(lo...hi))
        case .date(let lo, let hi):
            let m = rng.int(0...11)
            let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m]
            return "\(ValueFormat.months[m]) \(rng.int(1...days)), \(rng.int(lo...hi))"
        case .code(let pattern):
            let letters = Array("ABCDEFGHJKLMNPQRSTUVWXYZ")
            var s = ""
            for ch in pattern {
                switch ch {
                case "?": s.append(rng.pick(letters))
                case "#": s.append(String(rng.int(0...9)))
                default: s.append(ch)
                }
            }
            return s
        }
    }

    static func values(_ kind: ValueKind, count: Int, unique: Bool, _ rng: inout SeededRandom) -> [String] {
        if case .category(let all) = kind, !unique {
            // A handful of categories per table so that filters select several rows.
            let subset = rng.sample(all, rng.int(min(3, all.count)...min(6, all.count)))
            return (0..<count).map { _ in rng.pick(subset) }
        }
        if case .pool(let p) = kind, unique { return rng.sample(p, count) }
        guard unique else { return (0..<count).map { _ in value(kind, &rng) } }
        var seen = Set<String>()
        var out: [String] = []
        var attempts = 0
        while out.count < count && attempts < count * 50 {
            attempts += 1
            let v = value(kind, &rng)
            if seen.insert(v).inserted { out.append(v) }
        }
        return out
    }
}
