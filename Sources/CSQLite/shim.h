#pragma once
#include <sqlite3.h>
// SQLITE_TRANSIENT is a macro cast Swift cannot import.
static inline sqlite3_destructor_type cmat_sqlite_transient(void) { return SQLITE_TRANSIENT; }
