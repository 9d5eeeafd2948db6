/* ev_yaml — YAML scalars for the manifests evload writes (`evload k8s
 * render`): any UTF-8 string written so that YAML 1.1 and 1.2 parsers (the
 * Go parser behind kubectl included) read back exactly that string, never a
 * number, a boolean, a null or a different text.
 *
 *   plain          only when unmistakably a string: a letter, '_' or '/' first
 *                  (or "--" and a letter), then letters, digits and _ . / = + -,
 *                  and not a word YAML 1.1 reads as a boolean or null (y, yes,
 *                  n, no, true, false, on, off, null, in any case);
 *   double-quoted  everything else, one line: \" \\ \t \n \r, other C0 and C1
 *                  controls and DEL as \xXX, U+0085/U+2028/U+2029 (line breaks
 *                  in YAML 1.1) as \N \L \P, U+FEFF, U+FFFE and U+FFFF as \uXXXX;
 *                  every other character as it is;
 *   literal block  (ev_yaml_block) for multi-line text such as a scenario file:
 *                  "|" with the chomping indicator its trailing newlines need
 *                  and an indentation indicator when it starts with a space or
 *                  a newline; text a literal block cannot carry exactly (CR, a
 *                  character that must be escaped, a line of only blanks) is
 *                  double-quoted instead.
 * Text that is not valid UTF-8 cannot be a YAML string at all: -1. */
#ifndef EV_YAML_H
#define EV_YAML_H

#include "ev_buf.h"

#include <stddef.h>

/* Appends s[0..n) as one scalar (plain or double-quoted, on one line).
 * 0, or -1 when s is not UTF-8 or out of memory (b may hold part of it). */
int ev_yaml_scalar(ev_buf *b, const char *s, size_t n);

/* Appends s[0..n) as the node after what the caller has just written ("key:"
 * or "-"): " |…\n" and every line indented by `indent` spaces, or " \"…\"\n"
 * when a literal block cannot carry it. `parent` is the indentation of the
 * line the block starts on (the key's, or the '-''s column), less than
 * indent. Ends with a newline either way. 0, or -1 as ev_yaml_scalar. */
int ev_yaml_block(ev_buf *b, const char *s, size_t n, int parent, int indent);

#endif
