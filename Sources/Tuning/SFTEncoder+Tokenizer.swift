// The SFT encoder over the model's own tokenizer and chat template.
import Tokenizer

extension SFTEncoder {
    public init(tokenizer: Tokenizer, template: ChatTemplate) {
        self.init(render: { template.render($0, addGenerationPrompt: $1) },
                  encode: { tokenizer.encode($0, parseSpecial: true) },
                  bosID: tokenizer.addBOS ? tokenizer.bosID : nil, endIDs: tokenizer.endOfGenerationIDs)
    }
}
