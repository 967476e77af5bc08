#pragma once
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#define NCURSES_WIDECHAR 1
#include <locale.h>
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
