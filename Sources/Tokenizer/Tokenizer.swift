// Module Tokenizer: see README.md (Layout). Filled in by its issue.
