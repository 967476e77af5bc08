// Varied text for round trips and twin checks.

enum Corpus {
    static let varied: [String] = [
        "Hello world",
        "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
        "  leading and trailing spaces  ",
        "tabs\tand\nnewlines\r\n\r\nand \n \n mixed   \t whitespace",
        "don't won't it's I'm we'll they've you'd HE'S WE'LL 'tis o'clock",
        "SELECT u.name, COUNT(*) AS n FROM users u JOIN orders o ON o.user_id = u.id GROUP BY u.name HAVING n > 3;",
        "for i in range(10):\n    print(f\"{i:03d} -> {i**2}\")  # squares\n",
        "ls -la /var/log | grep -E '^d' && echo \"done\" > /tmp/x.txt 2>&1",
        "Numbers 0 1 12 123 1234 12345 3.14159 -2.5e-10 1,000,000 0x1F 1_000",
        "Unicode: café naïve résumé — “quotes” ‘single’ ñ ü ß æ ø å",
        "日本語のテキスト、中文文本。한국어 텍스트 Русский текст Ελληνικά עברית العربية हिन्दी",
        "Emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ ✅ ⚠︎ 🚀✨",
        "Math: ∑ᵢ xᵢ² ≤ ∞, α+β=γ, ½ ¾ ² ³ ⅓ Ⅻ ①",
        "Symbols: @#$%^&*()_+-=[]{}|\\:;\"'<>,.?/~`",
        "<|im_start|>user\nhi<|im_end|>\n<|endoftext|> <tag attr=\"v\">x</tag>",
        "a",
        " ",
        "\n",
        "   ",
        "x\u{00A0}y\u{2003}z\u{3000}w",
        "combining: e\u{0301} a\u{0308} n\u{0303}, zero\u{200B}width, soft\u{00AD}hyphen",
        String(repeating: "spaces    and\ttabs\t\t", count: 3),
        "https://example.com/path?q=1&b=2#frag user@mail.org C:\\Windows\\System32",
        "{\"json\": [1, 2, {\"k\": null}], \"s\": \"a\\nb\"}",
        "ALLCAPS lowercase MixedCase camelCaseWord snake_case_word kebab-case-word",
        "’s ‘t ʼm  ’ll", "123abc456def", "a1b2c3 ٣٤٥ ๑๒๓",
    ]
}
