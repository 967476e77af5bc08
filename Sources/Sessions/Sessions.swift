// Module Sessions: see README.md (Layout). Filled in by its issue.
