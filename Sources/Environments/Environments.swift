// Module Environments: see README.md (Layout). Filled in by its issue.
import CSQLite
