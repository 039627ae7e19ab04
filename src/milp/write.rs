//! Write a [`Milp`] as a CPLEX LP file or a free-format MPS file, so that any
//! MILP solver (Gurobi, CPLEX, SCIP, HiGHS, ...) can solve the problem
//! reluverify would solve.
//!
//! Both writers work from our own [`Milp`], not through a solver, and share
//! one normalisation of the rows, so both formats hold the same rows:
//!
//! * a row with two finite, different sides `l <= a·x <= u` becomes two rows
//!   `cN_lo: a·x >= l` and `cN_hi: a·x <= u` (the LP format has no portable
//!   ranged row; splitting keeps both files identical); `l == u` is an
//!   equality `cN`; a row with no finite side constrains nothing and is left
//!   out;
//! * repeated variables in a row are summed and zero coefficients dropped
//!   (readers warn about or reject repeats); a row left with no term keeps a
//!   `0 x` term so its constant condition (possibly infeasible) stays;
//! * every variable bound is written explicitly, infinite sides as `-inf` /
//!   `+inf` / `free` (LP) or `MI` / `PL` / `FR` (MPS), never relying on a
//!   reader's defaults (MPS readers disagree on the default upper bound of
//!   integer columns); `[0, 1]` integers are binaries;
//! * numbers use Rust's shortest round-trip form (`{:?}`: every digit needed
//!   to read back the same `f64`, exponent notation for very large or small
//!   magnitudes), with `-0` written as `0`;
//! * names are made legal in both formats: characters other than ASCII
//!   letters, digits and `_` become `_`, a name must start with a letter
//!   other than `e`/`E` (those read as exponents in some LP readers), a name
//!   of letters only gets a trailing `_` (so no name is a section keyword
//!   such as `free`, `end` or `MARKER`), and a name that is too long or
//!   repeats an earlier one is replaced by `v_INDEX`. The encoder's names
//!   (`x_0`, `z_1_2`, `d_1_2_lo`, ...) pass unchanged.
//!
//! The MPS file is free MPS (fields separated by whitespace): every name is
//! free of spaces, but numbers carry all their digits, so a strict
//! fixed-column reader (12-character number fields) would not fit them.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use super::Milp;
use crate::error::{Error, ErrorKind, Result};

/// The longest name written; longer ones are replaced by `v_INDEX` (CPLEX
/// LP limits names to 255 characters).
pub const MAX_NAME_LEN: usize = 255;

/// LP rows are wrapped before this many characters: CPLEX reads lines of up
/// to 510 characters, and rows of wide layers have hundreds of terms.
pub const LP_LINE_WIDTH: usize = 250;

/// A file format for [`write()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// CPLEX LP (`.lp`).
    Lp,
    /// Free-format MPS (`.mps`).
    Mps,
}

impl FileFormat {
    /// The format named by a file's extension, `.lp` or `.mps` (any case).
    pub fn from_path(path: &Path) -> Result<FileFormat> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("lp") => Ok(FileFormat::Lp),
            Some("mps") => Ok(FileFormat::Mps),
            _ => Err(Error::new(ErrorKind::Usage, "unknown MILP file format: expected a .lp or .mps file name")
                .with_path(path)),
        }
    }
}

/// What a file holds, counted as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Variables (columns).
    pub vars: usize,
    /// Integer variables (all binaries in reluverify's encodings).
    pub integers: usize,
    /// Rows, after splitting ranged rows and leaving out free ones.
    pub rows: usize,
}

/// Write `milp` to `out` in `format`, with each line of `header` as a
/// comment at the top. Errors (kind [`ErrorKind::Network`]) on NaN or
/// infinite coefficients, bounds that exclude every value (`lower = +inf`,
/// `upper = -inf`) or a MILP without variables, and (kind [`ErrorKind::Io`],
/// without a path: the caller adds it) when writing fails.
pub fn write(milp: &Milp, format: FileFormat, header: &str, mut out: impl Write) -> Result<Written> {
    let names = var_names(milp);
    let rows = file_rows(milp)?;
    let written = Written { vars: milp.vars.len(), integers: milp.integer_count(), rows: rows.len() };
    let text = match format {
        FileFormat::Lp => lp_text(milp, &names, &rows, header),
        FileFormat::Mps => mps_text(milp, &names, &rows, header),
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write the MILP file: {e}")))?;
    Ok(written)
}

/// The sense of a written row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sense {
    Le,
    Ge,
    Eq,
}

/// A row as written: `name: coeffs sense rhs`, coefficients merged and non-zero.
#[derive(Debug, Clone, PartialEq)]
struct FileRow {
    name: String,
    sense: Sense,
    rhs: f64,
    coeffs: Vec<(usize, f64)>,
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::Network, message)
}

/// Check `milp` and normalise its rows (see the module doc).
fn file_rows(milp: &Milp) -> Result<Vec<FileRow>> {
    if milp.vars.is_empty() {
        return Err(invalid("cannot write a MILP with no variables".into()));
    }
    for (i, v) in milp.vars.iter().enumerate() {
        if v.lower.is_nan() || v.upper.is_nan() || v.lower == f64::INFINITY || v.upper == f64::NEG_INFINITY {
            return Err(invalid(format!("variable {i} ({}) has unusable bounds [{}, {}]", v.name, v.lower, v.upper)));
        }
    }
    let n = milp.vars.len();
    let check_coeffs =
        |what: &str, coeffs: &[(super::VarId, f64)]| match coeffs.iter().find(|(id, c)| id.0 >= n || !c.is_finite()) {
            Some((id, c)) => Err(invalid(format!("{what}: coefficient {c} of variable {} (of {n})", id.0))),
            None => Ok(()),
        };
    check_coeffs("objective", &milp.objective)?;
    let mut rows = Vec::with_capacity(milp.rows.len());
    for (i, row) in milp.rows.iter().enumerate() {
        check_coeffs(&format!("row {i}"), &row.coeffs)?;
        let (l, u) = (row.lower, row.upper);
        if l.is_nan() || u.is_nan() || l == f64::INFINITY || u == f64::NEG_INFINITY {
            return Err(invalid(format!("row {i} has unusable sides [{l}, {u}]")));
        }
        let coeffs = merge(row.coeffs.iter().map(|&(id, c)| (id.0, c)));
        let mut push = |name: String, sense, rhs| rows.push(FileRow { name, sense, rhs, coeffs: coeffs.clone() });
        match (l.is_finite(), u.is_finite()) {
            (false, false) => {}
            (true, true) if l == u => push(format!("c{i}"), Sense::Eq, l),
            (true, true) => {
                push(format!("c{i}_lo"), Sense::Ge, l);
                push(format!("c{i}_hi"), Sense::Le, u);
            }
            (true, false) => push(format!("c{i}"), Sense::Ge, l),
            (false, true) => push(format!("c{i}"), Sense::Le, u),
        }
    }
    Ok(rows)
}

/// Sum repeated variables (first-occurrence order) and drop zero sums.
fn merge(terms: impl Iterator<Item = (usize, f64)>) -> Vec<(usize, f64)> {
    let mut slot: HashMap<usize, usize> = HashMap::new();
    let mut merged: Vec<(usize, f64)> = Vec::new();
    for (v, c) in terms {
        match slot.get(&v) {
            Some(&s) => merged[s].1 += c,
            None => {
                slot.insert(v, merged.len());
                merged.push((v, c));
            }
        }
    }
    merged.retain(|&(_, c)| c != 0.0);
    merged
}

/// A legal, unique name for every variable (see the module doc).
fn var_names(milp: &Milp) -> Vec<String> {
    let mut seen = HashSet::new();
    milp.vars
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut name = legal_name(&v.name);
            if name.len() > MAX_NAME_LEN || !seen.insert(name.clone()) {
                name = format!("v_{i}");
                while !seen.insert(name.clone()) {
                    name.push('_');
                }
            }
            name
        })
        .collect()
}

/// `raw` with illegal characters replaced, a safe first letter and no
/// keyword clash (see the module doc).
fn legal_name(raw: &str) -> String {
    let mut name: String = raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') {
        name.insert_str(0, "v_");
    }
    if name.chars().all(|c| c.is_ascii_alphabetic()) {
        name.push('_');
    }
    name
}

/// A finite number with every digit needed to read back the same `f64`.
fn num(v: f64) -> String {
    debug_assert!(v.is_finite(), "num() of {v}");
    if v == 0.0 {
        return "0".into(); // also for -0.0
    }
    let s = format!("{v:?}");
    match s.strip_suffix(".0") {
        Some(int) => int.to_string(),
        None => s,
    }
}

/// `true` for an integer variable with bounds exactly `[0, 1]`.
fn is_binary(v: &super::Var) -> bool {
    v.integer && v.lower == 0.0 && v.upper == 1.0
}

/// Each header line as a comment line with `prefix`.
fn comment(header: &str, prefix: &str) -> String {
    header.lines().map(|l| format!("{prefix} {l}").trim_end().to_string() + "\n").collect()
}

/// `start`, `terms` as an LP expression, then `end`, wrapped before
/// [`LP_LINE_WIDTH`] characters. Coefficients of magnitude 1 are implied; an
/// empty expression is `0 x` with the first variable.
fn lp_expression(out: &mut String, start: &str, terms: &[(usize, f64)], names: &[String], end: &str) {
    let mut pieces: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(k, &(v, c))| {
            let sign = match (k, c < 0.0) {
                (0, false) => "",
                (_, false) => "+ ",
                (_, true) => "- ",
            };
            let coeff = if c.abs() == 1.0 { String::new() } else { num(c.abs()) + " " };
            format!(" {sign}{coeff}{}", names[v])
        })
        .collect();
    if pieces.is_empty() {
        pieces.push(format!(" 0 {}", names[0]));
    }
    pieces.push(end.to_string());
    let mut line = start.to_string();
    for piece in pieces {
        if line.len() + piece.len() > LP_LINE_WIDTH && line.len() > start.len() {
            out.push_str(&line);
            out.push('\n');
            line = " ".repeat(start.len());
        }
        line += &piece;
    }
    out.push_str(&line);
    out.push('\n');
}

/// The whole LP file.
fn lp_text(milp: &Milp, names: &[String], rows: &[FileRow], header: &str) -> String {
    let mut out = comment(header, "\\");
    out += "Minimize\n";
    lp_expression(&mut out, " obj:", &merge(milp.objective.iter().map(|&(id, c)| (id.0, c))), names, "");
    out += "Subject To\n";
    for r in rows {
        let op = match r.sense {
            Sense::Le => "<=",
            Sense::Ge => ">=",
            Sense::Eq => "=",
        };
        lp_expression(&mut out, &format!(" {}:", r.name), &r.coeffs, names, &format!(" {op} {}", num(r.rhs)));
    }
    out += "Bounds\n";
    for (v, name) in milp.vars.iter().zip(names) {
        if is_binary(v) {
            continue; // declared in Binaries, which implies [0, 1]
        }
        out += &match (v.lower.is_finite(), v.upper.is_finite()) {
            (false, false) => format!(" {name} free\n"),
            (false, true) => format!(" -inf <= {name} <= {}\n", num(v.upper)),
            (true, false) => format!(" {name} >= {}\n", num(v.lower)),
            (true, true) if v.lower == v.upper => format!(" {name} = {}\n", num(v.lower)),
            (true, true) => format!(" {} <= {name} <= {}\n", num(v.lower), num(v.upper)),
        };
    }
    for (section, pick) in [("Binaries", true), ("Generals", false)] {
        let list: Vec<&String> =
            milp.vars.iter().zip(names).filter(|(v, _)| v.integer && is_binary(v) == pick).map(|(_, n)| n).collect();
        if !list.is_empty() {
            out += section;
            out += "\n";
            for n in list {
                out += &format!(" {n}\n");
            }
        }
    }
    out + "End\n"
}

/// The whole MPS file (objective row `obj`, RHS set `RHS`, bound set `BND`).
fn mps_text(milp: &Milp, names: &[String], rows: &[FileRow], header: &str) -> String {
    let mut out = comment(header, "*");
    out += "NAME          reluverify\nROWS\n N  obj\n";
    for r in rows {
        let sense = match r.sense {
            Sense::Le => "L",
            Sense::Ge => "G",
            Sense::Eq => "E",
        };
        out += &format!(" {sense}  {}\n", r.name);
    }
    // Column-major entries: the objective first, then rows in order.
    let mut columns: Vec<Vec<(&str, f64)>> = vec![Vec::new(); milp.vars.len()];
    for (v, c) in merge(milp.objective.iter().map(|&(id, c)| (id.0, c))) {
        columns[v].push(("obj", c));
    }
    for r in rows {
        for &(v, c) in &r.coeffs {
            columns[v].push((&r.name, c));
        }
    }
    out += "COLUMNS\n";
    let mut in_integer_block = false;
    for (k, ((v, name), entries)) in milp.vars.iter().zip(names).zip(&columns).enumerate() {
        if v.integer != in_integer_block {
            let marker = if v.integer { "INTORG" } else { "INTEND" };
            out += &format!("    MARKER    'MARKER'    '{marker}'\n");
            in_integer_block = v.integer;
        }
        if entries.is_empty() {
            // A column in no row must still be declared before BOUNDS names it.
            out += &format!("    {name:<10} {:<10} 0\n", "obj");
        }
        for (row, c) in entries {
            out += &format!("    {name:<10} {row:<10} {}\n", num(*c));
        }
        if in_integer_block && k + 1 == milp.vars.len() {
            out += "    MARKER    'MARKER'    'INTEND'\n";
        }
    }
    out += "RHS\n";
    for r in rows.iter().filter(|r| r.rhs != 0.0) {
        out += &format!("    RHS        {:<10} {}\n", r.name, num(r.rhs));
    }
    out += "BOUNDS\n";
    for (v, name) in milp.vars.iter().zip(names) {
        // MI before UP: old readers take a negative UP alone to mean lower -inf.
        out += &match (v.lower.is_finite(), v.upper.is_finite()) {
            (false, false) => format!(" FR BND       {name}\n"),
            (false, true) => format!(" MI BND       {name}\n UP BND       {name:<10} {}\n", num(v.upper)),
            (true, false) => format!(" LO BND       {name:<10} {}\n PL BND       {name}\n", num(v.lower)),
            (true, true) if v.lower == v.upper => format!(" FX BND       {name:<10} {}\n", num(v.lower)),
            (true, true) => {
                format!(" LO BND       {name:<10} {}\n UP BND       {name:<10} {}\n", num(v.lower), num(v.upper))
            }
        };
    }
    out + "ENDATA\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::milp::VarId;

    #[test]
    fn numbers_round_trip_exactly() {
        for v in [
            1.0,
            -1.0,
            0.1,
            1.0 / 3.0,
            -2.5e-300,
            f64::MIN_POSITIVE,
            5e-324,
            1e300,
            f64::MAX,
            -f64::MAX,
            123456789.12345679,
            1e16,
            1e17 + 16.0,
            0.30000000000000004,
        ] {
            let s = num(v);
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{v:?} written as {s}");
            assert!(!s.contains(' ') && !s.contains("inf") && !s.contains("NaN"), "{s}");
        }
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(-1e-7), "-1e-7");
    }

    #[test]
    fn names_are_legal_and_unique() {
        for (raw, want) in [
            ("z_1_2", "z_1_2"),
            ("x_0", "x_0"),
            ("d_3_4_lo", "d_3_4_lo"),
            ("2x", "v_2x"),
            ("e1", "v_e1"),
            ("E_2", "v_E_2"),
            ("a b:c+d", "a_b_c_d"),
            ("free", "free_"),
            ("MARKER", "MARKER_"),
            ("", "v_"),
            (".5", "v__5"),
        ] {
            assert_eq!(legal_name(raw), want, "{raw:?}");
        }
        let mut m = Milp::default();
        for name in ["a b", "a_b", "v_1", &"y".repeat(300)] {
            m.add_var(name, 0.0, 1.0);
        }
        // "a b" -> a_b; "a_b" repeats it -> v_1; "v_1" then repeats that -> v_2; too long -> v_3.
        assert_eq!(var_names(&m), ["a_b", "v_1", "v_2", "v_3"]);
    }

    /// A MILP with every kind of bound and row, written in both formats.
    fn edge_milp() -> Milp {
        let mut m = Milp::default();
        let inf = f64::INFINITY;
        let free = m.add_var("free", -inf, inf);
        let below = m.add_var("below", -inf, -2.5);
        let above = m.add_var("above", 1e-7, inf);
        let fixed = m.add_var("fixed", -0.0, -0.0);
        let boxed = m.add_var("boxed", -1e300, 3.0);
        let bin = m.add_binary("d_0_0");
        m.add_row(vec![(free, 1.0), (below, -0.5), (free, 2.0)], -1.0, 4.0); // ranged, repeated variable
        m.add_eq(vec![(above, 1.0), (bin, -3.0)], 0.0);
        m.add_row(vec![(boxed, 1.0)], -inf, inf); // free row: left out
        m.add_le(vec![(fixed, 0.0)], -1.0); // no term left: 0 <= -1, infeasible
        m.add_ge(vec![(bin, 1.0), (boxed, -1.0)], 2.0);
        m
    }

    fn text(m: &Milp, format: FileFormat) -> (String, Written) {
        let mut buf = Vec::new();
        let w = write(m, format, "line one\nline two", &mut buf).unwrap();
        (String::from_utf8(buf).unwrap(), w)
    }

    #[test]
    fn lp_file_has_every_bound_kind() {
        let (lp, w) = text(&edge_milp(), FileFormat::Lp);
        assert_eq!(w, Written { vars: 6, integers: 1, rows: 5 });
        for line in [
            "\\ line one",
            "\\ line two",
            " obj: 0 free_",
            " c0_lo: 3 free_ - 0.5 below_ >= -1\n",
            " c0_hi: 3 free_ - 0.5 below_ <= 4\n",
            " c1: above_ - 3 d_0_0 = 0",
            " c3: 0 free_ <= -1",
            " c4: d_0_0 - boxed_ >= 2",
            " free_ free",
            " -inf <= below_ <= -2.5",
            " above_ >= 1e-7",
            " fixed_ = 0",
            " -1e300 <= boxed_ <= 3",
            "Binaries\n d_0_0\nEnd",
        ] {
            assert!(lp.contains(line), "missing {line:?} in\n{lp}");
        }
        assert!(!lp.contains("c2"), "a free row is left out:\n{lp}");
        assert!(!lp.contains("d_0_0 >=") && !lp.contains("Generals"), "binaries have no bounds line:\n{lp}");
    }

    #[test]
    fn mps_file_has_every_bound_kind() {
        let (mps, w) = text(&edge_milp(), FileFormat::Mps);
        assert_eq!(w.rows, 5);
        let lines: Vec<Vec<&str>> = mps.lines().map(|l| l.split_whitespace().collect()).collect();
        let has = |want: &[&str]| assert!(lines.iter().any(|l| l == want), "missing {want:?} in\n{mps}");
        has(&["*", "line", "one"]);
        has(&["G", "c0_lo"]);
        has(&["L", "c0_hi"]);
        has(&["E", "c1"]);
        has(&["L", "c3"]);
        has(&["free_", "c0_lo", "3"]);
        has(&["fixed_", "obj", "0"]); // in no row: declared through the objective
        has(&["MARKER", "'MARKER'", "'INTORG'"]);
        has(&["d_0_0", "c1", "-3"]);
        has(&["MARKER", "'MARKER'", "'INTEND'"]);
        has(&["RHS", "c0_hi", "4"]);
        has(&["RHS", "c3", "-1"]);
        has(&["FR", "BND", "free_"]);
        has(&["MI", "BND", "below_"]);
        has(&["UP", "BND", "below_", "-2.5"]);
        has(&["LO", "BND", "above_", "1e-7"]);
        has(&["PL", "BND", "above_"]);
        has(&["FX", "BND", "fixed_", "0"]);
        has(&["LO", "BND", "d_0_0", "0"]);
        has(&["UP", "BND", "d_0_0", "1"]);
        assert!(!mps.contains("RHS        c1 "), "zero right-hand sides are implied:\n{mps}");
        assert!(mps.ends_with("ENDATA\n"));
        // The integer block closes before the next continuous column or at the end.
        let (_, opens) = mps.split_once("'INTORG'").unwrap();
        assert!(opens.contains("'INTEND'"));
    }

    #[test]
    fn long_rows_are_wrapped() {
        let mut m = Milp::default();
        let vars: Vec<VarId> = (0..100).map(|i| m.add_var(format!("x_{i}"), 0.0, 1.0)).collect();
        m.add_le(vars.iter().map(|&v| (v, -0.123456789012345)).collect(), 1.0);
        let (lp, _) = text(&m, FileFormat::Lp);
        assert!(lp.lines().all(|l| l.len() <= LP_LINE_WIDTH), "{lp}");
        assert_eq!(lp.matches("- 0.123456789012345 x_").count(), 100);
    }

    #[test]
    fn unusable_values_are_errors() {
        let base = edge_milp();
        let mut nan_coeff = base.clone();
        nan_coeff.rows[0].coeffs[0].1 = f64::NAN;
        let mut inf_coeff = base.clone();
        inf_coeff.objective = vec![(VarId(0), f64::INFINITY)];
        let mut bad_bound = base.clone();
        bad_bound.vars[2].lower = f64::INFINITY;
        let mut bad_side = base.clone();
        bad_side.rows[1].upper = f64::NAN;
        let mut bad_id = base.clone();
        bad_id.rows[1].coeffs.push((VarId(99), 1.0));
        for (k, m) in [nan_coeff, inf_coeff, bad_bound, bad_side, bad_id, Milp::default()].iter().enumerate() {
            for format in [FileFormat::Lp, FileFormat::Mps] {
                let err = write(m, format, "", Vec::new()).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Network, "case {k}");
            }
        }
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(FileFormat::from_path(Path::new("a/b.lp")).unwrap(), FileFormat::Lp);
        assert_eq!(FileFormat::from_path(Path::new("b.MPS")).unwrap(), FileFormat::Mps);
        for bad in ["b.txt", "b", "b.mps.gz"] {
            assert_eq!(FileFormat::from_path(Path::new(bad)).unwrap_err().kind(), ErrorKind::Usage, "{bad}");
        }
    }
}
