//! S-expressions with source positions, the syntax layer under VNN-LIB.
//!
//! [`parse`] reads SMT-LIB text into a list of top-level [`Sexpr`]s. Atoms
//! borrow their text from the input; every node remembers the byte offset
//! where it starts, and [`line_col`] turns an offset into the 1-based line and
//! column an error message needs (computed only when an error is reported, so
//! the hot path stays a single pass over the bytes).
//!
//! Lexical rules: `;` starts a comment that runs to the end of the line;
//! `(` and `)` delimit lists; `"..."` (with `""` as an escaped quote) and
//! `|...|` are single atoms that may contain spaces; any other run of
//! characters up to whitespace, a parenthesis, `;` or `"` is an atom. A
//! `[` inside an atom (or starting one) opens a bracket that runs to the
//! next `]`, whitespace included, so VNN-LIB 2.0's tensor elements
//! `X[0, 3]` and shapes `[1, 5]` are single atoms (VNN-LIB 1.0 has no
//! brackets). The
//! parser is iterative and refuses nesting deeper than the caller's limit
//! ([`LoadLimits::max_nesting`](crate::LoadLimits::max_nesting), at most
//! [`NESTING_CEILING`](crate::limits::NESTING_CEILING)), so a hostile file
//! cannot overflow the stack of the recursive passes that follow (including
//! dropping the tree).

use crate::error::{Error, ErrorKind, Result};
use crate::limits::limit_error;

/// A node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Sexpr<'a> {
    /// A symbol, number, string or keyword, as written.
    Atom {
        /// The atom's text (strings keep their quotes, quoted symbols their bars).
        text: &'a str,
        /// Byte offset of the first character.
        offset: usize,
    },
    /// A parenthesised list.
    List {
        /// The elements.
        items: Vec<Sexpr<'a>>,
        /// Byte offset of the opening parenthesis.
        offset: usize,
    },
}

impl<'a> Sexpr<'a> {
    /// Byte offset where the node starts.
    pub fn offset(&self) -> usize {
        match self {
            Sexpr::Atom { offset, .. } | Sexpr::List { offset, .. } => *offset,
        }
    }

    /// The atom's text, or `None` for a list.
    pub fn atom(&self) -> Option<&'a str> {
        match self {
            Sexpr::Atom { text, .. } => Some(text),
            Sexpr::List { .. } => None,
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// A [`ErrorKind::Spec`] error pointing at byte `offset` of `text`.
pub(crate) fn error_at(text: &str, offset: usize, message: impl Into<String>) -> Error {
    let (line, col) = line_col(text, offset);
    Error::new(ErrorKind::Spec, message).at(line, col)
}

/// Parse all top-level expressions of `text`, refusing lists nested more
/// than `max_depth` levels deep with an [`ErrorKind::Limit`] error at the
/// first `(` too deep.
pub(crate) fn parse(text: &str, max_depth: usize) -> Result<Vec<Sexpr<'_>>> {
    let bytes = text.as_bytes();
    // Open lists: (offset of `(`, items so far). The bottom entry collects
    // the top-level expressions.
    let mut stack: Vec<(usize, Vec<Sexpr<'_>>)> = vec![(0, Vec::new())];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => i += 1,
            b';' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' => {
                if stack.len() > max_depth {
                    let (line, col) = line_col(text, i);
                    let msg = format!("lists are nested more than {max_depth} levels deep");
                    return Err(limit_error(msg, "max-nesting").at(line, col));
                }
                stack.push((i, Vec::new()));
                i += 1;
            }
            b')' => {
                if stack.len() == 1 {
                    return Err(error_at(text, i, "unbalanced parentheses: this `)` has no matching `(`"));
                }
                let (offset, items) = stack.pop().expect("stack holds an open list");
                stack.last_mut().expect("bottom entry stays").1.push(Sexpr::List { items, offset });
                i += 1;
            }
            b'"' | b'|' => {
                let quote = bytes[i];
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            let what = if quote == b'"' { "string" } else { "quoted symbol" };
                            return Err(error_at(text, start, format!("this {what} is never closed")));
                        }
                        // `""` inside a string is an escaped quote.
                        Some(&b'"') if quote == b'"' && bytes.get(i + 1) == Some(&b'"') => i += 2,
                        Some(&b) if b == quote => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                stack
                    .last_mut()
                    .expect("bottom entry stays")
                    .1
                    .push(Sexpr::Atom { text: &text[start..i], offset: start });
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'(' | b')' | b';' | b'"')
                {
                    if bytes[i] == b'[' {
                        let open = i;
                        while i < bytes.len() && !matches!(bytes[i], b']' | b'(' | b')' | b';') {
                            i += 1;
                        }
                        if bytes.get(i) != Some(&b']') {
                            return Err(error_at(text, open, "this `[` is never closed: expected `]`"));
                        }
                    }
                    i += 1;
                }
                stack
                    .last_mut()
                    .expect("bottom entry stays")
                    .1
                    .push(Sexpr::Atom { text: &text[start..i], offset: start });
            }
        }
    }
    if stack.len() > 1 {
        let (offset, _) = stack.pop().expect("stack holds an open list");
        return Err(error_at(text, offset, "unbalanced parentheses: this `(` is never closed"));
    }
    Ok(stack.pop().expect("bottom entry stays").1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default nesting limit.
    const DEPTH: usize = 256;

    fn err_pos(text: &str) -> (usize, usize) {
        let e = parse(text, DEPTH).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Spec);
        e.line_col().expect("position")
    }

    #[test]
    fn atoms_lists_comments_and_offsets() {
        let t = "; c (\n(a (b \"x y\") |q r|) ; tail\nz";
        let v = parse(t, DEPTH).unwrap();
        assert_eq!(v.len(), 2);
        let Sexpr::List { items, offset } = &v[0] else { panic!("list") };
        assert_eq!(*offset, 6);
        assert_eq!(items[0].atom(), Some("a"));
        assert_eq!(items[2].atom(), Some("|q r|"));
        let Sexpr::List { items: inner, .. } = &items[1] else { panic!("list") };
        assert_eq!(inner[1].atom(), Some("\"x y\""));
        assert_eq!(v[1].atom(), Some("z"));
        assert_eq!(line_col(t, v[1].offset()), (3, 1));
        assert_eq!(line_col(t, items[1].offset()), (2, 4));
    }

    #[test]
    fn unbalanced_parentheses_point_at_the_culprit() {
        assert_eq!(err_pos("(a)\n  (b (c)"), (2, 3));
        assert_eq!(err_pos("(a))"), (1, 4));
        assert_eq!(err_pos("\n \"abc"), (2, 2));
    }

    #[test]
    fn deep_nesting_is_refused() {
        for depth in [1, 5, DEPTH] {
            let deep = "(".repeat(depth + 1) + &")".repeat(depth + 1);
            let e = parse(&deep, depth).unwrap_err();
            assert_eq!((e.kind(), e.line_col()), (ErrorKind::Limit, Some((1, depth + 1))));
            let ok = "(".repeat(depth) + &")".repeat(depth);
            assert!(parse(&ok, depth).is_ok());
        }
    }

    #[test]
    fn brackets_keep_tensor_elements_whole() {
        let v = parse("(<= X[0, 3] [1,\n 5])", DEPTH).unwrap();
        let Sexpr::List { items, .. } = &v[0] else { panic!("list") };
        assert_eq!(items.iter().map(|a| a.atom().unwrap()).collect::<Vec<_>>(), ["<=", "X[0, 3]", "[1,\n 5]"]);
        assert_eq!(err_pos("(a X[0, 1)"), (1, 5));
        assert_eq!(err_pos("\n X[0"), (2, 3));
    }

    #[test]
    fn columns_count_characters() {
        let t = "; é\n  é x";
        assert_eq!(line_col(t, t.find('x').unwrap()), (2, 5));
    }
}
