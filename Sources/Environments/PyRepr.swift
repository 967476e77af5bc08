// Python's repr()/str() of the values AgentBench prints (observations are `str(cursor.fetchall())`).

public enum PyRepr {
    /// Python `repr(float)`: shortest round-trip digits; exponent form below 1e-4 or from 1e16.
    public static func float(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        return "\(x)"   // refined in the implementation
    }
}
