// Module LLM: see README.md (Layout). Filled in by its issue.
