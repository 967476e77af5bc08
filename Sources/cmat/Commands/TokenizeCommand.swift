import ArgumentParser
import Foundation
import GGUF
import Tokenizer

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of TEXT (as llama.cpp tokenizes it; no BOS is added).")

    @Option(name: .long, help: "GGUF model file (default: $CMAT_MODEL or models/\(DefaultPaths.modelFileName)).")
    var model: String?

    @Flag(name: .long, help: "Parse special tokens such as <|im_start|> in TEXT.")
    var special = false

    @Flag(name: .long, help: "Print the ids as one JSON array (otherwise one id and its piece per line).")
    var json = false

    @Argument(help: "The text to tokenize ('-' reads standard input).")
    var text: String

    func run() throws {
        let path = model ?? DefaultPaths.model
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(gguf: try GGUFFile(path: path))
        } catch {
            throw UserFacingError("cannot load the tokenizer of \(path): \(error)")
        }
        var input = text
        if text == "-" {
            input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        let ids = tokenizer.encode(input, parseSpecial: special)
        if json {
            print("[" + ids.map(String.init).joined(separator: ", ") + "]")
        } else {
            for id in ids {
                print("\(id)\t\(String(decoding: tokenizer.piece(id), as: UTF8.self).debugDescription)")
            }
        }
    }
}
