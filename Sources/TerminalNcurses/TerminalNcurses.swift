// Module TerminalNcurses: see README.md (Layout). Filled in by its issue.
import CNcurses
