#pragma once
#include <sqlite3.h>
// SQLITE_TRANSIENT is a macro cast Swift cannot import.
static inline sqlite3_destructor_type cmat_sqlite_transient(void) { return SQLITE_TRANSIENT; }
// MySQL semantics: a double-quoted name that does not resolve is an error, never a string literal
// (sqlite3_db_config is variadic, so Swift calls it through this wrapper).
static inline int cmat_sqlite_disable_dqs(sqlite3 *db) {
    int a = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)0);
    int b = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)0);
    return a == SQLITE_OK && b == SQLITE_OK ? SQLITE_OK : SQLITE_ERROR;
}
