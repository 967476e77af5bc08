// swift-tools-version:6.0
// cmat: a terminal workbench for Collaborative Multi-Agent Tuning (CMAT).
// Layers (dependencies point down only): C shims → Kernels → GGUF → Tokenizer → LLM → Tuning;
// ChatModel (the LanguageModel protocol) ← LLM, Agents; Environments, Sessions ← Agents ← Workbench ← cmat.
import PackageDescription

let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "cmat",
    platforms: [.macOS(.v13)],
    products: [.executable(name: "cmat", targets: ["cmat"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C shims: each imported by exactly one Swift module.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses"),
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // Numerics and model files.
        .target(name: "Kernels", dependencies: ["COpenBLAS", "CKernels"], swiftSettings: optimize),
        .target(name: "GGUF", dependencies: ["Kernels"], swiftSettings: optimize),
        .target(name: "Tokenizer", dependencies: ["GGUF", "ChatModel"], swiftSettings: optimize),

        // The LanguageModel protocol shared by the engine and the agents.
        .target(name: "ChatModel"),
        .target(name: "LLM", dependencies: ["Kernels", "GGUF", "Tokenizer", "ChatModel"], swiftSettings: optimize),
        .target(name: "Tuning", dependencies: ["Kernels", "GGUF", "Tokenizer", "LLM", "ChatModel"], swiftSettings: optimize),

        // CMAT.
        .target(name: "Environments", dependencies: ["CSQLite"]),
        .target(name: "Sessions", dependencies: ["ChatModel"]),
        .target(name: "Agents", dependencies: ["ChatModel", "Environments", "Sessions"]),
        // Training data: synthetic DB tasks and OS trajectories rendered as SFT JSONL.
        .target(name: "TrainingData", dependencies: ["Environments", "ChatModel", "Agents"]),

        // Presentation.
        .target(name: "TerminalUI"),
        .target(name: "TerminalNcurses", dependencies: ["CNcurses", "TerminalUI"]),
        .target(name: "Workbench", dependencies: ["TerminalUI", "Sessions", "Agents", "ChatModel"]),

        .executableTarget(
            name: "cmat",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "Kernels", "GGUF", "Tokenizer", "LLM", "Tuning", "ChatModel",
                "Environments", "Sessions", "Agents", "TrainingData", "TerminalUI", "TerminalNcurses", "Workbench",
            ],
            swiftSettings: optimize),

        // Helpers shared by test targets (the cmat binary next to the bundle, tiny GGUF model metadata).
        .target(name: "TestSupport", dependencies: ["GGUF"], path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "Kernels"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "GGUF", "ChatModel"]),
        .testTarget(name: "LLMTests", dependencies: ["LLM", "GGUF", "Tokenizer", "Kernels", "ChatModel", "TestSupport"]),
        .testTarget(name: "TuningTests", dependencies: ["Tuning", "LLM", "GGUF", "Kernels", "TestSupport", "Environments"]),
        .testTarget(name: "EnvironmentsTests", dependencies: ["Environments"]),
        .testTarget(name: "SessionsTests", dependencies: ["Sessions"]),
        .testTarget(name: "AgentsTests", dependencies: ["Agents", "Environments", "Sessions", "ChatModel", "TestSupport"]),
        .testTarget(name: "TrainingDataTests", dependencies: ["TrainingData", "Environments"]),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI"]),
        .testTarget(name: "WorkbenchTests", dependencies: ["Workbench", "TerminalUI", "Sessions", "Agents", "Environments", "TestSupport"], exclude: ["__Snapshots__"]),
    ],
    swiftLanguageModes: [.v5]
)
