import ArgumentParser
import GGUF
import Kernels

struct InspectGGUFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect-gguf",
        abstract: "Print the metadata and the tensor table of a GGUF file.")

    @Argument(help: "The GGUF file (default: the default model).")
    var path: String?

    @Option(name: .long, help: "Array elements shown before an array is summarized.")
    var arrayItems = 8

    @Flag(name: .long, help: "Metadata only, no tensor table.")
    var noTensors = false

    func run() throws {
        let p = path ?? DefaultPaths.model
        let f: GGUFFile
        do { f = try GGUFFile(path: p) } catch { throw UserFacingError("\(error)") }
        print("file: \(p)")
        print("version: \(f.version)  size: \(f.fileSize) bytes  alignment: \(f.alignment)  data offset: \(f.dataOffset)")
        print("metadata: \(f.metadata.count) keys")
        let width = min(48, f.metadataOrder.map { $0.count }.max() ?? 0)
        for key in f.metadataOrder {
            guard let v = f.metadata[key] else { continue }
            print("  " + key.padding(width) + "  " + Self.describe(v, items: arrayItems))
        }
        guard !noTensors else { return }
        print("tensors: \(f.tensors.count)")
        let nameW = min(48, f.tensors.map { $0.name.count }.max() ?? 4)
        print("  " + "name".padding(nameW) + "  " + "type".padding(7) + "  " + "shape".padding(18) + "  " + "bytes".leftPad(12) + "  offset")
        var total = 0, params = 0
        var byType: [GGMLType: (Int, Int)] = [:]
        for t in f.tensors {
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            print("  " + t.name.padding(nameW) + "  " + t.type.name.padding(7) + "  " + shape.padding(18) + "  "
                  + String(t.byteCount).leftPad(12) + "  \(t.offset)")
            total += t.byteCount
            params += t.elementCount
            let c = byType[t.type] ?? (0, 0)
            byType[t.type] = (c.0 + 1, c.1 + t.byteCount)
        }
        let types = byType.sorted { $0.value.1 > $1.value.1 }.map { "\($0.key.name): \($0.value.0) tensors, \($0.value.1) bytes" }
        print("total: \(params) parameters, \(total) bytes of tensor data (\(types.joined(separator: "; ")))")
    }

    static func describe(_ v: GGUFValue, items: Int) -> String {
        switch v {
        case .string(let s):
            let esc = s.replacingNewlines()
            return esc.count > 120 ? "str \"\(esc.prefix(117))...\" (\(s.utf8.count) bytes)" : "str \"\(esc)\""
        case .array, .typedArray:
            let a = v.array ?? []
            let et = v.arrayElementType?.name ?? "?"
            let shown = a.prefix(items).map { describeScalar($0) }.joined(separator: ", ")
            return "arr[\(et)] len \(a.count): [\(shown)\(a.count > items ? ", ..." : "")]"
        default:
            return v.valueType.name + " " + describeScalar(v)
        }
    }

    static func describeScalar(_ v: GGUFValue) -> String {
        switch v {
        case .string(let s): return "\"\(s.replacingNewlines())\""
        case .bool(let b): return b ? "true" : "false"
        case .float32(let x): return "\(x)"
        case .float64(let x): return "\(x)"
        case .array, .typedArray: return "arr(\(v.array?.count ?? 0))"
        default: return v.int.map(String.init) ?? "?"
        }
    }
}

private extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
    func replacingNewlines() -> String {
        var out = ""
        for c in self {
            switch c {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out.append(c)
            }
        }
        return out
    }
}
