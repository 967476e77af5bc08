// Module Workbench: see README.md (Layout). Filled in by its issue.
