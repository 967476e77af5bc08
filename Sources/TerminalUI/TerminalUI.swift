// Module TerminalUI: see README.md (Layout). Filled in by its issue.
