import XCTest
import ChatModel
@testable import Tokenizer

final class ChatTemplateTests: XCTestCase {
    let dialogue: [ChatMessage] = [.system("Be brief."), .user(" Hi "), .assistant("Hello."), .user("Bye")]

    func testDetection() {
        XCTAssertEqual(ChatTemplate.detect("{{ '<|im_start|>' + m.role }}")?.name, "chatml")
        XCTAssertEqual(ChatTemplate.detect("{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}")?.style,
                       .llama2(bosInsideHistory: true, strip: true))
        XCTAssertEqual(ChatTemplate.detect("<|start_header_id|>{{ role }}<|end_header_id|>")?.name, "llama3")
        XCTAssertEqual(ChatTemplate.detect("{% if m.role == 'user' %}{{ '<|user|>\n' + m.content + eos_token }}")?.style,
                       .zephyr(endOfTurn: "</s>"))
        XCTAssertNil(ChatTemplate.detect("plain"))
        for n in ChatTemplate.supportedNames { XCTAssertEqual(ChatTemplate.named(n)?.name, n) }
    }

    func testRenderings() {
        XCTAssertEqual(ChatTemplate.named("chatml")!.render(dialogue, addGenerationPrompt: true),
                       "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n Hi <|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(ChatTemplate.named("llama2")!.render(dialogue, addGenerationPrompt: true),
                       "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]Hello.</s><s>[INST] Bye [/INST]")
        XCTAssertEqual(ChatTemplate.named("llama3")!.render(dialogue, addGenerationPrompt: true),
                       "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(ChatTemplate.named("zephyr")!.render(dialogue, addGenerationPrompt: true),
                       "<|system|>\nBe brief.</s>\n<|user|>\n Hi </s>\n<|assistant|>\nHello.</s>\n<|user|>\nBye</s>\n<|assistant|>\n")
        XCTAssertEqual(ChatTemplate.named("chatml")!.render([.user("x")], addGenerationPrompt: false),
                       "<|im_start|>user\nx<|im_end|>\n")
    }

    func testDefaultSystemPromptExtraction() {
        let smol = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
        XCTAssertEqual(ChatTemplate.defaultSystemPrompt(inChatML: smol), "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        let t = ChatTemplate.detect(smol)!
        XCTAssertEqual(t.render([.user("q")], addGenerationPrompt: false),
                       "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nq<|im_end|>\n")
        XCTAssertNil(ChatTemplate.defaultSystemPrompt(inChatML: "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>'}}"))
    }
}
