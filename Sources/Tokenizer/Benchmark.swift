// A figure for `cmat bench`: how fast a long prompt is encoded.

import Foundation

public struct EncodeBenchmark: Sendable {
    /// Words and tokens of the prompt.
    public var words: Int
    public var tokens: Int
    /// First encode with an empty word cache, in milliseconds.
    public var coldMilliseconds: Double
    /// Median of the repeated encodes (the word cache warm, as when a growing dialogue is re-encoded), in ms.
    public var warmMilliseconds: Double
    /// Tokens per second of the warm encodes.
    public var tokensPerSecond: Double { warmMilliseconds > 0 ? Double(tokens) * 1000 / warmMilliseconds : 0 }
    /// Tokens per second of the cold encode.
    public var coldTokensPerSecond: Double { coldMilliseconds > 0 ? Double(tokens) * 1000 / coldMilliseconds : 0 }
}

extension Tokenizer {
    /// A deterministic prompt of `words` words: an agent dialogue mixing prose, SQL, shell, code and numbers.
    public static func benchmarkPrompt(words: Int = 2000) -> String {
        let parts = [
            "<|im_start|>user\nWrite a SQL query that returns the name and email of every customer who placed more than 3 orders in 2024.<|im_end|>\n",
            "<|im_start|>assistant\nThink: I need to join customers with orders, group by customer and filter the count.\nAct: operation\n```sql\nSELECT c.name, c.email FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.order_date >= '2024-01-01' GROUP BY c.id HAVING COUNT(*) > 3;\n```<|im_end|>\n",
            "<|im_start|>user\n[('Alice Smith', 'alice@example.com'), ('Bob Jones', 'bob@example.org'), (\"O'Brien\", None)] 1,234 rows in 0.012 s<|im_end|>\n",
            "<|im_start|>assistant\nThink: the output is right, but let me check the files first.\nAct: bash\n```bash\nfind /var/log -name '*.log' -mtime -7 | xargs wc -l | sort -n | tail -5\n```<|im_end|>\n",
            "The checker reviewed the action before it ran: the query is correct, the quoting is safe, and the answer matches the question. Réponse validée — naïve café résumé, 日本語 テキスト, emoji 👍🏽.\n",
            "def score(episode):\n    total = 0.0\n    for step, reward in enumerate(episode.rewards):\n        total += (0.99 ** step) * reward\n    return round(total, 4)\n",
        ]
        var out = ""
        var count = 0
        var i = 0
        while count < words {
            let p = parts[i % parts.count]
            out += p
            count += p.split(whereSeparator: { $0 == " " || $0 == "\n" }).count
            i += 1
        }
        return out
    }

    /// Encodes `benchmarkPrompt(words:)` with special tokens parsed: once cold (word cache cleared), then
    /// `iterations` times warm. Prints nothing; `cmat bench` prints `tokenize_tok_s=` from `tokensPerSecond`.
    public func benchmarkEncode(words: Int = 2000, iterations: Int = 20) -> EncodeBenchmark {
        let text = Self.benchmarkPrompt(words: words)
        let wordCount = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).count
        clearWordCache()
        var t0 = DispatchTime.now().uptimeNanoseconds
        let ids = encode(text, parseSpecial: true)
        let cold = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        var times: [Double] = []
        for _ in 0..<max(1, iterations) {
            t0 = DispatchTime.now().uptimeNanoseconds
            _ = encode(text, parseSpecial: true)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        times.sort()
        return EncodeBenchmark(words: wordCount, tokens: ids.count, coldMilliseconds: cold,
                               warmMilliseconds: times[times.count / 2])
    }
}
