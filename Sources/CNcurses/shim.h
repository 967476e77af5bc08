#pragma once
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <langinfo.h>
#include <string.h>
#include <wchar.h>
#include <ncursesw/curses.h>
// Macros and globals Swift cannot import directly.
static inline WINDOW *cmat_stdscr(void) { return stdscr; }
static inline int cmat_lines(void) { return LINES; }
static inline int cmat_cols(void) { return COLS; }
static inline int cmat_a_bold(void) { return (int)A_BOLD; }
static inline int cmat_a_reverse(void) { return (int)A_REVERSE; }
static inline int cmat_a_underline(void) { return (int)A_UNDERLINE; }
static inline int cmat_a_dim(void) { return (int)A_DIM; }
static inline int cmat_color_pair(int n) { return (int)COLOR_PAIR(n); }
static inline int cmat_wcwidth(wchar_t c) { return wcwidth(c); }
static inline int cmat_key_resize(void) { return KEY_RESIZE; }
static inline int cmat_a_italic(void) { return (int)A_ITALIC; }
static inline int cmat_a_normal(void) { return (int)A_NORMAL; }
static inline int cmat_key_f(int n) { return KEY_F(n); }
static inline int cmat_colors(void) { return COLORS; }
static inline int cmat_color_pairs(void) { return COLOR_PAIRS; }
// Puts one cell: a grapheme given as wide characters, with attributes and a color pair.
static inline int cmat_put_cell(int y, int x, const wchar_t *wch, int attrs, int pair) {
    cchar_t c;
    if (setcchar(&c, wch, (attr_t)attrs, (short)pair, NULL) != OK) return ERR;
    return mvwadd_wch(stdscr, y, x, &c);
}
// Reads one key: returns 0 and sets *ch for a character, 1 and sets *ch for a function key, -1 on timeout.
static inline int cmat_get_key(int *ch) {
    wint_t w = 0;
    int r = wget_wch(stdscr, &w);
    *ch = (int)w;
    if (r == ERR) return -1;
    return r == KEY_CODE_YES ? 1 : 0;
}
static inline int cmat_utf8_locale(void) {
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}
