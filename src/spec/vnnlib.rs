//! VNN-LIB 1.0 properties (the SMT-LIB subset used by VNN-COMP).
//!
//! A VNN-LIB file declares the network inputs `X_0 .. X_{n-1}` and outputs
//! `Y_0 .. Y_{m-1}` and asserts conditions on them. The assertions are
//! conjoined and describe the **unsafe** set: the property is violated iff
//! some input satisfies all of them together with its output.
//!
//! ```text
//! ; ACAS Xu property 1
//! (declare-const X_0 Real)  ...  (declare-const Y_4 Real)
//! (assert (<= X_0 0.679857769))
//! (assert (>= X_0 0.6))
//! ...
//! (assert (>= Y_0 3.991125645861615))
//! ```
//!
//! # Accepted syntax
//!
//! - Commands: `(declare-const NAME Real)` (or `(declare-fun NAME () Real)`)
//!   and `(assert FORMULA)`. `set-logic`, `set-info`, `set-option`,
//!   `check-sat`, `get-model` and `exit` are accepted and ignored. A variable
//!   must be declared before it is used; the declared `X_i` must be exactly
//!   `X_0 .. X_{n-1}` (likewise `Y_i`), so the count gives the dimension,
//!   which must be the network's ([`Property::check_dims`]).
//! - Formulas: `(and F ...)`, `(or F ...)` nested in any way, `true`,
//!   `false`, and comparisons `(<= a b)`, `(>= a b)`, `(< a b)`, `(> a b)`,
//!   `(= a b)`. Chains such as `(<= a b c)` mean `a <= b` and `b <= c`; `=`
//!   becomes the two rows `<=` and `>=`.
//! - Terms are linear: numbers (`3`, `-0.5`, `1e-3`, `5.0E+2`), variables,
//!   `(+ t ...)`, `(- t)` (negation), `(- t u ...)` (subtraction),
//!   `(* t ...)` with at most one non-constant factor (either side), and
//!   `(/ t c ...)` by non-zero constants.
//!
//! Strict comparisons are read as non-strict: the unsafe set becomes its
//! closure, which is what a MILP can encode. A proof that no input reaches
//! the closed set also covers the open one; a counterexample may sit on the
//! boundary that the strict comparison excludes.
//!
//! # From formulas to regions
//!
//! The conjunction of all assertions is expanded into disjunctive normal form
//! (each term a conjunction of comparisons). Assertions that are already
//! single terms (the usual `(assert (<= X_3 0.5))` lines) are gathered once
//! and only then copied into every term, so the cost is linear in the size
//! of the result. The expansion is bounded by [`LoadLimits`] before it is
//! built: at most `max_dnf_terms` terms beyond the disjuncts the file writes
//! out (the arguments of its `or`s: a flat disjunction of 60,000
//! conjunctions is 60,000 terms and no expansion, and is bounded by the file
//! size instead), at most `max_elements` comparisons in all terms together and at most `max_elements` input bounds in all
//! boxes together (terms x inputs); beyond them the error is
//! [`ErrorKind::Limit`]. Each comparison must be over inputs only or outputs
//! only:
//!
//! - an input comparison of one variable (`X_i <= c`, `c >= X_i`,
//!   `(* 2 X_i) <= c`, ...) is a bound of the input box;
//! - an input comparison relating several inputs (`(<= (+ X_0 (* -1 X_1))
//!   0)`) becomes one input constraint `sum_i a_i X_i <= b` of the region;
//! - an output comparison becomes one row `sum_k c_k Y_k <= rhs`;
//! - a comparison mixing inputs and outputs is an error;
//! - a comparison without variables is evaluated: true is dropped, false
//!   makes its term unsatisfiable.
//!
//! Each term yields an input box (the intersection of its bounds, which must
//! give every declared input a finite lower and upper bound: input
//! constraints do not replace bounds), its input constraints and a
//! [`Conjunction`] of its output rows (empty when the term has none: every
//! output is unsafe there). Terms whose box is empty (some lower bound above
//! its upper bound) or that contain a false constant are unsatisfiable and
//! are dropped. Terms with identical boxes and input constraints are grouped
//! into one [`Region`] whose [`Dnf`] lists their conjunctions, in file order;
//! VNN-COMP's `or` of input boxes (ACAS Xu property 6) thus becomes one
//! region per box. If every term is dropped the unsafe set is empty;
//! [`Property`] cannot express that, so it is reported as an error. (An
//! input polytope that is empty although its box is not is only found by
//! the verifier, which reports that the region holds vacuously.)
//!
//! Every error is [`ErrorKind::Spec`] (or [`ErrorKind::Limit`]) with the
//! line and column of the offending token or comparison.

use std::collections::HashMap;

use super::linear::{LinearExpr, Relation};
use super::sexpr::{self, error_at, Sexpr};
use super::{Conjunction, Dnf, InputBox, LinearConstraint, Property, Region};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::{limit_error, LoadLimits};

/// Parse a VNN-LIB property. See the module documentation for the accepted
/// syntax and how the assertions become regions.
///
/// ```
/// use reluverify::spec::vnnlib;
///
/// let prop = vnnlib::parse(
///     "(declare-const X_0 Real)
///      (declare-const Y_0 Real)
///      (declare-const Y_1 Real)
///      (assert (>= X_0 -1.0))
///      (assert (<= X_0 1.0))
///      (assert (or (<= Y_0 Y_1) (>= Y_0 1e3)))",
/// )?;
/// assert_eq!(prop.regions.len(), 1);
/// assert_eq!(prop.regions[0].unsafe_set.disjuncts.len(), 2);
/// # Ok::<(), reluverify::Error>(())
/// ```
pub fn parse(text: &str) -> Result<Property> {
    parse_with(text, &LoadLimits::default())
}

/// [`parse`] within `limits`: nesting depth, DNF terms, declared variables
/// and the size of the expansion (see the module documentation).
pub fn parse_with(text: &str, limits: &LoadLimits) -> Result<Property> {
    let tree = sexpr::parse(text, limits.max_nesting)?;
    let mut parser = Parser::new(text, limits, Dialect::V1, Declarations::default());
    let mut assertions: Vec<(Terms, usize)> = Vec::new();
    for command in &tree {
        if let Some(formula) = parser.command(command)? {
            assertions.push((parser.formula(formula)?, formula.offset()));
        }
    }
    parser.check_declarations()?;
    let terms = parser.conjoin(assertions)?;
    parser.regions(&terms)
}

/// A variable after name resolution: input `i` or output `k` of the
/// network the property is checked on (VNN-LIB 1.0: `X_i`, `Y_k`; 2.0: a
/// tensor element, flattened, see `vnnlib2.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Var {
    /// Input `i`.
    Input(usize),
    /// Output `k`.
    Output(usize),
}

/// Which VNN-LIB version's formula syntax the shared reader accepts. The
/// two differ only in details: 1.0 (SMT-LIB) writes equality `=`, allows
/// comparison chains, `true`, `false` and `/`; 2.0 writes `==`, compares
/// exactly two terms and has `!=` (which reluverify refuses: its unsafe
/// set is not closed, see `vnnlib2.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// VNN-LIB 1.0.
    V1,
    /// VNN-LIB 2.0.
    V2,
}

/// What a dialect's declarations say about variable names: the shared
/// reader ([`Parser`]) asks it to resolve a name and to name a variable in
/// messages.
pub(super) trait Scope {
    /// The variable an atom that is not a number names, or the message
    /// explaining why it names none.
    fn variable(&self, text: &str) -> std::result::Result<Var, String>;
    /// The variable as messages write it (`X_3`, `X[0,3]`).
    fn name(&self, var: Var) -> String;
    /// How many inputs are declared.
    fn inputs(&self) -> usize;
    /// How many outputs are declared.
    fn outputs(&self) -> usize;
    /// Byte offset of the declaration of input `i` (for errors about its bounds).
    fn input_offset(&self, i: usize) -> usize;
}

/// The VNN-LIB 1.0 declarations: `X_i` and `Y_i` scalars.
#[derive(Default)]
struct Declarations<'a> {
    /// Declared names.
    vars: HashMap<&'a str, Var>,
    /// Offset of each input's declaration, by index (`None`: not declared).
    input_decls: Vec<Option<usize>>,
    /// Offset of each output's declaration, by index.
    output_decls: Vec<Option<usize>>,
}

impl Scope for Declarations<'_> {
    fn variable(&self, text: &str) -> std::result::Result<Var, String> {
        if let Some(&var) = self.vars.get(text) {
            return Ok(var);
        }
        Err(if parse_var_name(text).is_some() {
            format!("undeclared variable `{text}`: declare it first with `(declare-const {text} Real)`")
        } else if let Some(rest) = text.strip_prefix('-') {
            format!("unknown symbol `{text}`: write `(- {rest})` to negate")
        } else {
            format!("unknown symbol `{text}`: expected a number or a declared X_i / Y_i")
        })
    }

    fn name(&self, var: Var) -> String {
        match var {
            Var::Input(i) => format!("X_{i}"),
            Var::Output(k) => format!("Y_{k}"),
        }
    }

    fn inputs(&self) -> usize {
        self.input_decls.len()
    }

    fn outputs(&self) -> usize {
        self.output_decls.len()
    }

    fn input_offset(&self, i: usize) -> usize {
        self.input_decls[i].expect("declarations checked")
    }
}

/// One comparison, reduced to its meaning.
#[derive(Debug, Clone, PartialEq)]
enum Atom {
    /// `X_input >= value`.
    Lower { input: usize, value: f64 },
    /// `X_input <= value`.
    Upper { input: usize, value: f64 },
    /// A row over the outputs.
    Output(LinearConstraint),
    /// A row over two or more inputs.
    Input(LinearConstraint),
}

/// A comparison `d <= 0` after normalization.
enum Reading {
    /// It constrains variables.
    Atom(Atom),
    /// It has no variables and is always true or always false.
    Constant(bool),
}

/// Index into [`Parser::atoms`].
type AtomId = u32;

/// A formula in DNF: a disjunction of terms, each a conjunction of atoms.
/// `vec![]` is false, `vec![vec![]]` is true.
pub(super) type Terms = Vec<Vec<AtomId>>;

/// State of one parse, shared by both VNN-LIB versions: the declarations
/// (`scope`) and the atoms that the DNF terms index into.
pub(super) struct Parser<'a, S> {
    /// The whole file, for error positions.
    text: &'a str,
    /// Which formula syntax is accepted.
    dialect: Dialect,
    /// The declarations.
    pub(super) scope: S,
    /// Every comparison read so far; [`Terms`] refer to them by index.
    atoms: Vec<Atom>,
    /// Arguments of the `or`s read so far: the disjuncts the file writes
    /// out, which `max_dnf_terms` comes on top of.
    written: usize,
    /// What the file may declare and expand to.
    limits: &'a LoadLimits,
}

impl<'a, S: Scope> Parser<'a, S> {
    /// A reader of `text`'s formulas in `dialect`, resolving names in `scope`.
    pub(super) fn new(text: &'a str, limits: &'a LoadLimits, dialect: Dialect, scope: S) -> Self {
        Parser { text, dialect, scope, atoms: Vec::new(), written: 0, limits }
    }

    fn err(&self, offset: usize, message: impl Into<String>) -> Error {
        error_at(self.text, offset, message)
    }

    /// A [`limit_error`] for option `--{flag}` at byte `offset`.
    fn limit_err(&self, offset: usize, message: String, flag: &str) -> Error {
        let (line, col) = sexpr::line_col(self.text, offset);
        limit_error(message, flag).at(line, col)
    }

    /// Refuse a DNF of `terms` terms holding `atoms` comparisons in all,
    /// reported at byte `offset`, beyond the limits: more terms than the
    /// disjuncts written so far plus `max_dnf_terms`.
    fn check_size(&self, terms: usize, atoms: usize, offset: usize) -> Result<()> {
        let max = self.limits.max_dnf_terms;
        if terms > max.saturating_add(self.written) {
            let msg = format!(
                "the assertions expand to {terms} disjuncts in disjunctive normal form, more than \
                 {max} beyond the {written} the file writes out; split the property into several files",
                written = self.written
            );
            return Err(self.limit_err(offset, msg, "max-dnf-terms"));
        }
        let max = self.limits.max_elements;
        if atoms > max {
            let msg = format!(
                "the assertions expand to more than {max} comparisons in disjunctive normal form \
                 ({terms} disjuncts); split the property into several files"
            );
            return Err(self.limit_err(offset, msg, "max-elements"));
        }
        Ok(())
    }

    /// A formula in DNF.
    pub(super) fn formula(&mut self, f: &Sexpr<'a>) -> Result<Terms> {
        let v1 = self.dialect == Dialect::V1;
        let items = match f {
            Sexpr::Atom { text: "true", .. } if v1 => return Ok(vec![Vec::new()]),
            Sexpr::Atom { text: "false", .. } if v1 => return Ok(Vec::new()),
            Sexpr::Atom { text, offset } => {
                return Err(self.err(*offset, format!("expected a formula such as `(<= X_0 1.0)`, found `{text}`")));
            }
            Sexpr::List { items, .. } => items,
        };
        let offset = f.offset();
        let head = items.first().and_then(Sexpr::atom).unwrap_or("");
        let args = items.get(1..).unwrap_or(&[]);
        match head {
            "and" => {
                let parts = args.iter().map(|a| Ok((self.formula(a)?, a.offset()))).collect::<Result<Vec<_>>>()?;
                self.conjoin(parts)
            }
            "or" => {
                let mut terms = Terms::new();
                let mut atoms = 0usize;
                self.written = self.written.saturating_add(args.len());
                for a in args {
                    let part = self.formula(a)?;
                    atoms = atoms.saturating_add(part.iter().map(Vec::len).sum());
                    terms.extend(part);
                    self.check_size(terms.len(), atoms, offset)?;
                }
                Ok(terms)
            }
            "<=" | ">=" | "<" | ">" => self.comparison(head, args, offset),
            "=" if v1 => self.comparison(head, args, offset),
            "==" if !v1 => self.comparison(head, args, offset),
            "=" => Err(self.err(items[0].offset(), "VNN-LIB 2.0 writes equality `==`, not `=`")),
            "!=" if !v1 => Err(self.err(
                items[0].offset(),
                "`!=` is not supported: its set is not closed (reluverify reads comparisons as closed sets); \
                 write the two sides of it as `(or (< a b) (> a b))`",
            )),
            "not" | "=>" | "xor" | "ite" | "distinct" => Err(self.err(
                items[0].offset(),
                format!("`{head}` is not supported: write the unsafe set with `and`, `or` and comparisons"),
            )),
            _ => Err(self.err(
                items.first().map_or(offset, Sexpr::offset),
                format!(
                    "unknown function `{head}` in a formula: expected and, or, <=, >=, <, >, {}",
                    if v1 { "=" } else { "==" }
                ),
            )),
        }
    }

    /// The conjunction of DNF formulas, each with the offset used to report
    /// an expansion beyond the limits.
    ///
    /// Single-term parts are concatenated once into a common prefix; only
    /// parts with several terms are multiplied out, so the cost is linear in
    /// the size of the result, which is checked before it is built.
    pub(super) fn conjoin(&self, parts: Vec<(Terms, usize)>) -> Result<Terms> {
        let mut common: Vec<AtomId> = Vec::new();
        let mut multi: Vec<(Terms, usize)> = Vec::new();
        for (terms, offset) in parts {
            match terms.len() {
                0 => return Ok(Vec::new()),
                1 => common.extend(terms.into_iter().next().expect("one term")),
                _ => multi.push((terms, offset)),
            }
        }
        let mut result: Terms = vec![common];
        for (terms, offset) in multi {
            // Every prefix is copied once per term and every term once per
            // prefix.
            let prefix_atoms: usize = result.iter().map(Vec::len).sum();
            let term_atoms: usize = terms.iter().map(Vec::len).sum();
            let atoms =
                prefix_atoms.saturating_mul(terms.len()).saturating_add(term_atoms.saturating_mul(result.len()));
            self.check_size(result.len().saturating_mul(terms.len()), atoms, offset)?;
            result = result
                .iter()
                .flat_map(|prefix| terms.iter().map(move |t| prefix.iter().chain(t).copied().collect()))
                .collect();
        }
        Ok(result)
    }

    /// A comparison chain `(op a b ...)`: one term of atoms, or no term when
    /// a constant comparison is false.
    fn comparison(&mut self, op: &str, args: &[Sexpr<'a>], offset: usize) -> Result<Terms> {
        if args.len() < 2 {
            return Err(self.err(offset, format!("`{op}` compares at least two terms")));
        }
        if self.dialect == Dialect::V2 && args.len() > 2 {
            return Err(self.err(args[2].offset(), format!("`{op}` compares exactly two terms in VNN-LIB 2.0")));
        }
        let relations: &[Relation] = match op {
            "<=" | "<" => &[Relation::Le],
            ">=" | ">" => &[Relation::Ge],
            _ => &[Relation::Le, Relation::Ge],
        };
        let exprs = args.iter().map(|a| self.term(a)).collect::<Result<Vec<_>>>()?;
        let mut atoms = Vec::new();
        let mut satisfiable = true;
        for pair in exprs.windows(2) {
            for &rel in relations {
                match self.atom(LinearExpr::difference(&pair[0], rel, &pair[1]), offset)? {
                    Reading::Atom(atom) => {
                        let id = AtomId::try_from(self.atoms.len()).map_err(|_| {
                            let msg = format!("more than {} comparisons in one file", AtomId::MAX);
                            Error::new(ErrorKind::Limit, msg)
                        })?;
                        atoms.push(id);
                        self.atoms.push(atom);
                    }
                    Reading::Constant(holds) => satisfiable &= holds,
                }
            }
        }
        Ok(if satisfiable { vec![atoms] } else { Vec::new() })
    }

    /// What `d <= 0` says.
    fn atom(&self, d: LinearExpr<Var>, offset: usize) -> Result<Reading> {
        let first_input = d.terms.iter().find_map(|&(v, _)| match v {
            Var::Input(i) => Some(i),
            Var::Output(_) => None,
        });
        let first_output = d.terms.iter().find_map(|&(v, _)| match v {
            Var::Output(k) => Some(k),
            Var::Input(_) => None,
        });
        match (first_input, first_output) {
            (None, None) => Ok(Reading::Constant(d.constant <= 0.0)),
            (Some(i), Some(k)) => Err(self.err(
                offset,
                format!(
                    "this comparison mixes inputs ({}) and outputs ({}): write linear constraints over inputs only or over outputs only",
                    self.scope.name(Var::Input(i)),
                    self.scope.name(Var::Output(k))
                ),
            )),
            (None, Some(_)) => {
                let coeffs = d
                    .terms
                    .iter()
                    .map(|&(v, c)| match v {
                        Var::Output(k) => (k, c),
                        Var::Input(_) => unreachable!("no input in an output row"),
                    })
                    .collect();
                Ok(Reading::Atom(Atom::Output(LinearConstraint { coeffs, rhs: -d.constant + 0.0 })))
            }
            (Some(_), None) if d.terms.len() > 1 => {
                let coeffs = d
                    .terms
                    .iter()
                    .map(|&(v, c)| match v {
                        Var::Input(i) => (i, c),
                        Var::Output(_) => unreachable!("no output in an input row"),
                    })
                    .collect();
                Ok(Reading::Atom(Atom::Input(LinearConstraint { coeffs, rhs: -d.constant + 0.0 })))
            }
            (Some(i), None) => {
                // a * x + k <= 0  ->  x <= -k/a (a > 0) or x >= -k/a (a < 0).
                let a = d.terms[0].1;
                let value = -d.constant / a + 0.0;
                if !value.is_finite() {
                    let name = self.scope.name(Var::Input(i));
                    return Err(self.err(offset, format!("the bound on {name} is not a finite number")));
                }
                Ok(Reading::Atom(if a > 0.0 { Atom::Upper { input: i, value } } else { Atom::Lower { input: i, value } }))
            }
        }
    }

    /// A linear term.
    fn term(&self, t: &Sexpr<'a>) -> Result<LinearExpr<Var>> {
        let (items, offset) = match t {
            Sexpr::Atom { text, offset } => return self.leaf(text, *offset),
            Sexpr::List { items, offset } => (items, *offset),
        };
        let head = items.first().and_then(Sexpr::atom).unwrap_or("");
        let args = items.get(1..).unwrap_or(&[]);
        if args.is_empty() && matches!(head, "+" | "-" | "*" | "/") {
            return Err(self.err(offset, format!("`{head}` needs at least one operand")));
        }
        match head {
            "+" => {
                let mut sum = LinearExpr::constant(0.0);
                for a in args {
                    sum.add_scaled(&self.term(a)?, 1.0);
                }
                Ok(sum)
            }
            "-" => {
                let mut first = self.term(&args[0])?;
                if args.len() == 1 {
                    first.scale(-1.0);
                }
                for a in &args[1..] {
                    first.add_scaled(&self.term(a)?, -1.0);
                }
                Ok(first)
            }
            "*" => {
                let mut factor = 1.0;
                let mut linear: Option<LinearExpr<Var>> = None;
                for a in args {
                    let mut e = self.term(a)?;
                    e.normalize();
                    if e.is_constant() {
                        factor *= e.constant;
                    } else if linear.is_none() {
                        linear = Some(e);
                    } else {
                        return Err(self.err(
                            offset,
                            "non-linear term: a product of two variables; only products with constants are supported",
                        ));
                    }
                }
                let mut product = linear.unwrap_or_else(|| LinearExpr::constant(1.0));
                product.scale(factor);
                Ok(product)
            }
            "/" if self.dialect == Dialect::V1 => {
                let mut quotient = self.term(&args[0])?;
                for a in &args[1..] {
                    let mut d = self.term(a)?;
                    d.normalize();
                    if !d.is_constant() {
                        return Err(self.err(a.offset(), "non-linear term: division by a variable"));
                    }
                    if d.constant == 0.0 {
                        return Err(self.err(a.offset(), "division by zero"));
                    }
                    quotient.scale(1.0 / d.constant);
                }
                Ok(quotient)
            }
            _ => Err(self.err(
                items.first().map_or(offset, Sexpr::offset),
                match self.dialect {
                    Dialect::V1 => format!("unknown function `{head}` in a term: expected +, -, * or /"),
                    Dialect::V2 => format!("unknown function `{head}` in a term: expected +, - or *"),
                },
            )),
        }
    }

    /// A number or a declared variable.
    fn leaf(&self, text: &str, offset: usize) -> Result<LinearExpr<Var>> {
        match number(text) {
            Some(Ok(v)) => Ok(LinearExpr::constant(v)),
            Some(Err(message)) => Err(self.err(offset, message)),
            None => self.scope.variable(text).map(LinearExpr::var).map_err(|message| self.err(offset, message)),
        }
    }

    /// Turn the DNF terms into regions: one input box and set of input
    /// constraints per term, terms with identical ones grouped.
    pub(super) fn regions(&self, terms: &Terms) -> Result<Property> {
        let n = self.scope.inputs();
        if terms.len().saturating_mul(n) > self.limits.max_elements {
            let msg = format!(
                "the assertions expand to {} disjuncts over {n} inputs, more than the limit of {} input bounds \
                 in all boxes together; split the property into several files",
                terms.len(),
                self.limits.max_elements
            );
            return Err(limit_error(msg, "max-elements"));
        }
        let mut regions: Vec<Region> = Vec::new();
        let mut by_box: HashMap<(Vec<u64>, Vec<AtomId>), usize> = HashMap::new();
        for (t, term) in terms.iter().enumerate() {
            let mut lower = vec![f64::NEG_INFINITY; n];
            let mut upper = vec![f64::INFINITY; n];
            let mut rows = Vec::new();
            let mut input_rows: Vec<AtomId> = Vec::new();
            for &a in term {
                match &self.atoms[a as usize] {
                    Atom::Lower { input, value } => lower[*input] = lower[*input].max(*value),
                    Atom::Upper { input, value } => upper[*input] = upper[*input].min(*value),
                    Atom::Output(row) => rows.push(row.clone()),
                    Atom::Input(_) => input_rows.push(a),
                }
            }
            if lower.iter().zip(&upper).any(|(l, u)| l > u) {
                continue; // an empty box: the term is unsatisfiable
            }
            for i in 0..n {
                let side = match (lower[i].is_finite(), upper[i].is_finite()) {
                    (true, true) => continue,
                    (false, true) => "lower bound",
                    (true, false) => "upper bound",
                    (false, false) => "bounds",
                };
                let disjunct = if terms.len() > 1 {
                    format!(" in disjunct {} (of {}) of the assertions in disjunctive normal form", t + 1, terms.len())
                } else {
                    String::new()
                };
                let at = self.scope.input_offset(i);
                let name = self.scope.name(Var::Input(i));
                let note = if input_rows.is_empty() {
                    ""
                } else {
                    " (linear constraints relating inputs do not count as bounds)"
                };
                return Err(self.err(
                    at,
                    format!(
                        "input {name} has no {side}{disjunct}: every input needs `(assert (>= {name} lo))` and `(assert (<= {name} hi))`{note}"
                    ),
                ));
            }
            // Identical comparisons read twice are distinct atoms, so the
            // key compares the rows' atoms, sorted, after deduplication.
            input_rows.sort_unstable();
            input_rows.dedup();
            let key = (lower.iter().chain(&upper).map(|v| (v + 0.0).to_bits()).collect::<Vec<u64>>(), input_rows);
            let conjunction = Conjunction { constraints: rows };
            match by_box.get(&key) {
                Some(&r) => regions[r].unsafe_set.disjuncts.push(conjunction),
                None => {
                    let input_constraints = key
                        .1
                        .iter()
                        .map(|&a| match &self.atoms[a as usize] {
                            Atom::Input(row) => row.clone(),
                            _ => unreachable!("only input rows are in the key"),
                        })
                        .collect();
                    by_box.insert(key, regions.len());
                    regions.push(Region {
                        input: InputBox::new(lower, upper)?,
                        input_constraints,
                        unsafe_set: Dnf { disjuncts: vec![conjunction] },
                    });
                }
            }
        }
        if regions.is_empty() {
            return Err(Error::new(
                ErrorKind::Spec,
                "the assertions are unsatisfiable (every disjunct has an empty input box or a false comparison), \
                 so no input is unsafe; a property needs at least one satisfiable disjunct",
            ));
        }
        Ok(Property {
            regions,
            declared_inputs: Some(self.scope.inputs()),
            declared_outputs: Some(self.scope.outputs()),
            input_names: vec![],
            output_names: vec![],
            argmax: None,
        })
    }
}

/// The VNN-LIB 1.0 commands.
impl<'a> Parser<'a, Declarations<'a>> {
    /// Handle one top-level command; returns the formula of an `assert`.
    fn command<'s>(&mut self, command: &'s Sexpr<'a>) -> Result<Option<&'s Sexpr<'a>>> {
        let Sexpr::List { items, offset } = command else {
            return Err(
                self.err(command.offset(), "expected a command such as `(assert ...)` or `(declare-const ...)`")
            );
        };
        let head = items.first().and_then(Sexpr::atom).unwrap_or("");
        match head {
            "declare-const" | "declare-fun" => {
                let sort_at = if head == "declare-fun" { 3 } else { 2 };
                let well_formed = items.len() == sort_at + 1
                    && (head == "declare-const" || matches!(&items[2], Sexpr::List { items, .. } if items.is_empty()));
                if !well_formed {
                    let form =
                        if head == "declare-fun" { "(declare-fun NAME () Real)" } else { "(declare-const NAME Real)" };
                    return Err(self.err(*offset, format!("malformed declaration: expected `{form}`")));
                }
                match items[sort_at].atom() {
                    Some("Real") => {}
                    _ => {
                        return Err(self.err(items[sort_at].offset(), "only variables of sort `Real` are supported"));
                    }
                }
                self.declare(&items[1])?;
                Ok(None)
            }
            "assert" => match &items[1..] {
                [formula] => Ok(Some(formula)),
                _ => Err(self.err(*offset, "`assert` takes exactly one formula")),
            },
            "set-logic" | "set-info" | "set-option" | "check-sat" | "get-model" | "exit" => Ok(None),
            _ => Err(self.err(
                items.first().map_or(*offset, Sexpr::offset),
                format!("unknown command `{head}`: expected `declare-const` or `assert`"),
            )),
        }
    }

    fn declare(&mut self, name: &Sexpr<'a>) -> Result<()> {
        let offset = name.offset();
        let text = name.atom().unwrap_or("");
        let var = parse_var_name(text).ok_or_else(|| {
            self.err(
                offset,
                format!(
                    "cannot declare `{text}`: variables must be named X_i (inputs) or Y_i (outputs), i = 0, 1, ..."
                ),
            )
        })?;
        if self.scope.vars.insert(text, var).is_some() {
            return Err(self.err(offset, format!("`{text}` is declared twice")));
        }
        let (Var::Input(i) | Var::Output(i)) = var;
        if i >= self.limits.max_elements {
            let msg = format!(
                "`{text}` has index {i}: a property may declare at most {} inputs and outputs",
                self.limits.max_elements
            );
            return Err(self.limit_err(offset, msg, "max-elements"));
        }
        let (decls, i) = match var {
            Var::Input(i) => (&mut self.scope.input_decls, i),
            Var::Output(i) => (&mut self.scope.output_decls, i),
        };
        if decls.len() <= i {
            decls.resize(i + 1, None);
        }
        decls[i] = Some(offset);
        Ok(())
    }

    /// The declared indices must be `0..n` with no gap.
    fn check_declarations(&self) -> Result<()> {
        if self.scope.input_decls.is_empty() {
            return Err(Error::new(
                ErrorKind::Spec,
                "no inputs declared: expected `(declare-const X_0 Real)` and so on",
            ));
        }
        for (decls, prefix) in [(&self.scope.input_decls, "X"), (&self.scope.output_decls, "Y")] {
            if let Some(missing) = decls.iter().position(Option::is_none) {
                let last = decls.len() - 1;
                let at = decls[last].expect("the highest index is declared");
                return Err(self.err(
                    at,
                    format!("{prefix}_{last} is declared but {prefix}_{missing} is not: indices must run 0, 1, ... without gaps"),
                ));
            }
        }
        Ok(())
    }
}

/// `X_i` or `Y_i` with `i` a decimal index without leading zeros.
fn parse_var_name(name: &str) -> Option<Var> {
    let (make, digits): (fn(usize) -> Var, &str) = if let Some(d) = name.strip_prefix("X_") {
        (Var::Input, d)
    } else if let Some(d) = name.strip_prefix("Y_") {
        (Var::Output, d)
    } else {
        return None;
    };
    let well_formed =
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    if !well_formed {
        return None;
    }
    digits.parse().ok().map(make)
}

/// The value of an atom meant as a number (`None`: it is not one; an error
/// message when it is malformed or not finite).
pub(super) fn number(text: &str) -> Option<std::result::Result<f64, String>> {
    if !looks_numeric(text) {
        return None;
    }
    Some(match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("number `{text}` is out of range")),
        Err(_) => Err(format!("malformed number `{text}`")),
    })
}

/// Whether an atom is meant as a number: a digit, or a sign or `.` followed
/// by a digit or `.`. (`inf` and `nan`, which Rust would parse, are not.)
fn looks_numeric(text: &str) -> bool {
    let b = text.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_digit() => true,
        Some(b'-' | b'+' | b'.') => matches!(b.get(1), Some(c) if c.is_ascii_digit() || *c == b'.'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two inputs in the unit box and two outputs; append assertions.
    const HEAD: &str = "(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(assert (>= X_0 0))
(assert (<= X_0 1))
(assert (>= X_1 0))
(assert (<= X_1 1))
";

    fn with_head(tail: &str) -> String {
        format!("{HEAD}{tail}")
    }

    fn row(coeffs: &[(usize, f64)], rhs: f64) -> LinearConstraint {
        LinearConstraint { coeffs: coeffs.to_vec(), rhs }
    }

    /// The rows of the single disjunct of the single region.
    fn only_rows(p: &Property) -> &[LinearConstraint] {
        assert_eq!(p.regions.len(), 1, "{p:?}");
        assert_eq!(p.regions[0].unsafe_set.disjuncts.len(), 1, "{p:?}");
        &p.regions[0].unsafe_set.disjuncts[0].constraints
    }

    /// A Spec error at `(line, col)`.
    fn error_at(text: &str, line: usize, col: usize) {
        let e = parse(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Spec, "{e}");
        assert_eq!(e.line_col(), Some((line, col)), "{e}");
    }

    #[test]
    fn acasxu_prop1() {
        let p = parse(include_str!("../../specs/acasxu_prop1.vnnlib")).unwrap();
        assert_eq!(only_rows(&p), &[row(&[(0, -1.0)], -3.991125645861615)]);
        let b = &p.regions[0].input;
        assert_eq!(b.lower, vec![0.6, -0.5, -0.5, 0.45, -0.5]);
        assert_eq!(b.upper, vec![0.679857769, 0.5, 0.5, 0.5, -0.45]);
    }

    #[test]
    fn acasxu_prop2_is_one_conjunction() {
        let p = parse(include_str!("../../specs/acasxu_prop2.vnnlib")).unwrap();
        let rows = only_rows(&p);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0], row(&[(1, 1.0), (0, -1.0)], 0.0));
        assert_eq!(rows[3], row(&[(4, 1.0), (0, -1.0)], 0.0));
    }

    #[test]
    fn acasxu_prop6_has_one_region_per_box() {
        let p = parse(include_str!("../../specs/acasxu_prop6.vnnlib")).unwrap();
        assert_eq!(p.regions.len(), 2);
        for r in &p.regions {
            assert_eq!(r.unsafe_set.disjuncts.len(), 4);
            assert_eq!(r.unsafe_set.disjuncts[2].constraints, vec![row(&[(3, 1.0), (0, -1.0)], 0.0)]);
        }
        assert_eq!(p.regions[0].input.lower[1], 0.11140846);
        assert_eq!(p.regions[1].input.lower[1], -0.499999896);
        assert_eq!(p.regions[1].input.upper[1], -0.11140846);
        assert_eq!(p.regions[1].input.upper[2], -0.499204121);
    }

    #[test]
    fn mnist_robustness_property() {
        let p = parse(include_str!("../../specs/mnistfc_prop_0_0.03.vnnlib")).unwrap();
        assert_eq!(p.regions.len(), 1);
        let r = &p.regions[0];
        assert_eq!(r.input.dim(), 784);
        assert_eq!((r.input.lower[783], r.input.upper[783]), (0.0, 0.029999999329447746));
        let d = &r.unsafe_set.disjuncts;
        assert_eq!(d.len(), 9);
        // (>= Y_0 Y_8) -> -Y_0 + Y_8 <= 0; the label 8 is skipped.
        assert_eq!(d[0].constraints, vec![row(&[(0, -1.0), (8, 1.0)], 0.0)]);
        assert_eq!(d[8].constraints, vec![row(&[(9, -1.0), (8, 1.0)], 0.0)]);
        assert!(p.check_dims(784, 10).is_ok());
    }

    #[test]
    fn same_property_as_the_json_translations() {
        use crate::spec::json;
        let pairs = [
            (include_str!("../../specs/acasxu_prop1.vnnlib"), include_str!("../../specs/acasxu_prop1.json")),
            (include_str!("../../specs/acasxu_prop2.vnnlib"), include_str!("../../specs/acasxu_prop2.json")),
            (include_str!("../../specs/acasxu_prop6.vnnlib"), include_str!("../../specs/acasxu_prop6.json")),
        ];
        for (vnnlib, json) in pairs {
            // The same property; only the JSON file names its inputs and outputs.
            let named = json::parse(json).unwrap();
            let unnamed = Property { input_names: vec![], output_names: vec![], ..named };
            assert_eq!(parse(vnnlib).unwrap(), unnamed);
        }
    }

    #[test]
    fn numbers_in_every_form() {
        let p = parse(&with_head(
            "; scientific and signed numbers
(assert (<= Y_0 1e-3))
(assert (>= Y_1 -0.5))
(assert (<= Y_0 5.0E+2))
(assert (<= Y_0 +2.))
(assert (<= Y_0 .25))
",
        ))
        .unwrap();
        let rhs: Vec<f64> = only_rows(&p).iter().map(|r| r.rhs).collect();
        assert_eq!(rhs, vec![1e-3, 0.5, 500.0, 2.0, 0.25]);
    }

    #[test]
    fn linear_terms() {
        let p = parse(&with_head(
            "(assert (<= (- Y_0) 1))
(assert (<= (+ Y_0 Y_1 Y_0 2) 3))
(assert (<= (* 2 Y_0) (* Y_1 -3)))
(assert (>= 0.5 (- Y_0 Y_1 1)))
(assert (<= (/ Y_0 4) (* 2 (+ Y_1 1))))
(assert (<= (- Y_1 Y_1) Y_0))
",
        ))
        .unwrap();
        assert_eq!(
            only_rows(&p),
            &[
                row(&[(0, -1.0)], 1.0),
                row(&[(0, 2.0), (1, 1.0)], 1.0),
                row(&[(0, 2.0), (1, 3.0)], 0.0),
                row(&[(0, 1.0), (1, -1.0)], 1.5),
                row(&[(0, 0.25), (1, -2.0)], 2.0),
                row(&[(0, -1.0)], 0.0),
            ]
        );
    }

    #[test]
    fn strict_equal_and_chained_comparisons() {
        let p = parse(&with_head(
            "(assert (< Y_0 1))
(assert (> Y_0 Y_1))
(assert (= Y_1 2))
(assert (<= 0 Y_0 Y_1))
",
        ))
        .unwrap();
        assert_eq!(
            only_rows(&p),
            &[
                row(&[(0, 1.0)], 1.0),
                row(&[(0, -1.0), (1, 1.0)], 0.0),
                row(&[(1, 1.0)], 2.0),
                row(&[(1, -1.0)], -2.0),
                row(&[(0, -1.0)], 0.0),
                row(&[(0, 1.0), (1, -1.0)], 0.0),
            ]
        );
    }

    #[test]
    fn input_bounds_on_either_side_and_scaled() {
        let text = "(declare-const X_0 Real)
(declare-fun X_1 () Real)
(declare-const Y_0 Real)
(set-logic QF_LRA)
(assert (<= 0.5 X_0))
(assert (>= 2 (* 2 X_0)))
(assert (and (<= (- X_1) 3) (<= (+ X_1 1) 0)))
(assert (<= Y_0 0))
(check-sat)
";
        let p = parse(text).unwrap();
        assert_eq!(p.regions[0].input.lower, vec![0.5, -3.0]);
        assert_eq!(p.regions[0].input.upper, vec![1.0, -1.0]);
    }

    #[test]
    fn nested_or_and_distributes() {
        // (Y_0 <= 0 or (Y_1 <= 0 and (Y_0 <= 1 or Y_1 <= 1))) and (Y_0 >= -1 or Y_1 >= -1)
        let p = parse(&with_head(
            "(assert (or (<= Y_0 0) (and (<= Y_1 0) (or (<= Y_0 1) (<= Y_1 1)))))
(assert (or (>= Y_0 -1) (>= Y_1 -1)))
",
        ))
        .unwrap();
        assert_eq!(p.regions.len(), 1);
        let d = &p.regions[0].unsafe_set.disjuncts;
        assert_eq!(d.len(), 6);
        assert_eq!(d[0].constraints, vec![row(&[(0, 1.0)], 0.0), row(&[(0, -1.0)], 1.0)]);
        assert_eq!(d[5].constraints, vec![row(&[(1, 1.0)], 0.0), row(&[(1, 1.0)], 1.0), row(&[(1, -1.0)], 1.0)]);
    }

    #[test]
    fn or_of_input_boxes_groups_by_box_and_drops_empty_boxes() {
        let text = "(declare-const X_0 Real)
(declare-const Y_0 Real)
(assert (or (and (>= X_0 0) (<= X_0 1))
            (and (>= X_0 2) (<= X_0 3))
            (and (>= X_0 5) (<= X_0 4))))
(assert (or (<= Y_0 0) (>= Y_0 10)))
";
        let p = parse(text).unwrap();
        assert_eq!(p.regions.len(), 2);
        assert_eq!(p.regions[1].input.lower, vec![2.0]);
        assert!(p.regions.iter().all(|r| r.unsafe_set.disjuncts.len() == 2));
    }

    #[test]
    fn terms_without_output_atoms_are_always_unsafe() {
        let text = "(declare-const X_0 Real)
(declare-const Y_0 Real)
(assert (>= X_0 0))
(assert (<= X_0 1))
(assert (or (<= Y_0 0) true (and (<= 1 0) (<= Y_0 5))))
";
        let p = parse(text).unwrap();
        let d = &p.regions[0].unsafe_set.disjuncts;
        assert_eq!(d.len(), 2, "the false term is dropped: {d:?}");
        assert!(d[1].constraints.is_empty());
    }

    #[test]
    fn unbalanced_parentheses() {
        error_at(&with_head("(assert (<= Y_0 1)\n"), 9, 1);
        error_at(&with_head("(assert (<= Y_0 1)))\n"), 9, 20);
    }

    #[test]
    fn undeclared_variable() {
        error_at(&with_head("(assert (<= Y_2 1))\n"), 9, 13);
        error_at(&with_head("(assert (<= -Y_0 1))\n"), 9, 13);
        // Use before declaration.
        error_at("(assert (<= X_0 1))\n(declare-const X_0 Real)", 1, 13);
    }

    #[test]
    fn non_linear_products() {
        error_at(&with_head("(assert (<= (* Y_0 Y_1) 1))\n"), 9, 13);
        error_at(&with_head("(assert (<= Y_0\n   (* 2 (+ X_0 1) X_1)))\n"), 10, 4);
        error_at(&with_head("(assert (<= (/ 1 Y_0) 1))\n"), 9, 18);
    }

    #[test]
    fn mixed_input_and_output() {
        error_at(&with_head("\n  (assert (<= X_0 Y_0))\n"), 10, 11);
    }

    #[test]
    fn linear_input_constraints() {
        let p = parse(&with_head(
            "(assert (<= (+ X_0 (* -1 X_1)) 0))
(assert (>= (+ X_0 X_1 0.5) (* 2 X_0)))
(assert (<= (- X_0 X_0) 1))
(assert (<= Y_0 0))
",
        ))
        .unwrap();
        let r = &p.regions[0];
        // x0 - x1 <= 0; x0 + x1 + 0.5 >= 2 x0 -> x0 - x1 <= 0.5; the third is a true constant.
        assert_eq!(r.input_constraints, vec![row(&[(0, 1.0), (1, -1.0)], 0.0), row(&[(0, 1.0), (1, -1.0)], 0.5)]);
        assert_eq!((r.input.lower.clone(), r.input.upper.clone()), (vec![0.0, 0.0], vec![1.0, 1.0]));
        assert_eq!(only_rows(&p), &[row(&[(0, 1.0)], 0.0)]);
        assert!(p.check_dims(2, 2).is_ok());
    }

    #[test]
    fn input_constraints_split_regions_per_disjunct() {
        // Same box, different input constraints: two regions; the same
        // constraint in both disjuncts: one region with two disjuncts.
        let p = parse(&with_head(
            "(assert (or (and (<= (- X_0 X_1) 0) (<= Y_0 0)) (and (<= (- X_1 X_0) 0) (<= Y_1 0))))\n",
        ))
        .unwrap();
        assert_eq!(p.regions.len(), 2);
        assert_eq!(p.regions[1].input_constraints, vec![row(&[(1, 1.0), (0, -1.0)], 0.0)]);
        let p = parse(&with_head("(assert (<= (- X_0 X_1) 0))\n(assert (or (<= Y_0 0) (<= Y_1 0)))\n")).unwrap();
        assert_eq!(p.regions.len(), 1);
        assert_eq!(p.regions[0].unsafe_set.disjuncts.len(), 2);
    }

    #[test]
    fn mixing_inputs_and_outputs_in_a_linear_term() {
        error_at(&with_head("(assert (<= (+ X_0 (* -1 Y_1)) 0))\n"), 9, 9);
        error_at(&with_head("(assert (or (<= Y_0 0)\n  (>= (+ X_0 X_1) Y_0)))\n"), 10, 3);
    }

    #[test]
    fn input_constraint_does_not_replace_a_bound() {
        // X_1 <= X_0 <= 1 would bound X_1 above, but only bounds count.
        let text = "(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(assert (>= X_0 0))
(assert (<= X_0 1))
(assert (>= X_1 0))
(assert (<= (- X_1 X_0) 0))
(assert (<= Y_0 0))
";
        error_at(text, 2, 16);
    }

    #[test]
    fn missing_bound_points_at_the_declaration() {
        let text = "(declare-const X_0 Real)
  (declare-const X_1 Real)
(declare-const Y_0 Real)
(assert (>= X_0 0))
(assert (<= X_0 1))
(assert (<= X_1 1))
(assert (<= Y_0 0))
";
        error_at(text, 2, 18);
        // Bounded in one disjunct only.
        let text = "(declare-const X_0 Real)
(declare-const Y_0 Real)
(assert (<= X_0 1))
(assert (or (>= X_0 0) (<= Y_0 0)))
";
        error_at(text, 1, 16);
    }

    #[test]
    fn bad_numbers_and_unknown_symbols() {
        error_at(&with_head("(assert (<= Y_0 1.2.3))\n"), 9, 17);
        error_at(&with_head("(assert (<= Y_0 1e999))\n"), 9, 17);
        error_at(&with_head("(assert (<= Y_0 (abs Y_1)))\n"), 9, 18);
        error_at(&with_head("(assert (not (<= Y_0 1)))\n"), 9, 10);
        error_at(&with_head("(assert (<= Y_0))\n"), 9, 9);
        error_at(&with_head("(check-model)\n"), 9, 2);
    }

    #[test]
    fn bad_declarations() {
        error_at("(declare-const X_0 Real)\n(declare-const X_0 Real)", 2, 16);
        error_at("(declare-const X_0 Real)\n(declare-const X_2 Real)", 2, 16);
        error_at("(declare-const X_0 Int)", 1, 20);
        error_at("(declare-const x Real)", 1, 16);
        error_at("(declare-const X_01 Real)", 1, 16);
    }

    #[test]
    fn dnf_expansion_is_capped() {
        let ors = |n: usize, var: &str| {
            let atoms: String = (0..n).map(|i| format!(" (<= {var} {i})")).collect();
            format!("(assert (or{atoms}))\n")
        };
        // 100 x 102 terms are 10,000 beyond the 202 written disjuncts.
        let ok = with_head(&(ors(100, "Y_0") + &ors(102, "Y_1")));
        assert_eq!(parse(&ok).unwrap().regions[0].unsafe_set.disjuncts.len(), 10_200);
        let e = parse(&with_head(&(ors(100, "Y_0") + &ors(103, "Y_1")))).unwrap_err();
        assert_eq!((e.kind(), e.line_col()), (ErrorKind::Limit, Some((10, 9))));
        assert!(e.message().contains("10300 disjuncts"), "{e}");
        // The limit is the configured one.
        let few = LoadLimits { max_dnf_terms: 99, ..LoadLimits::default() };
        let e = parse_with(&with_head(&(ors(12, "Y_0") + &ors(11, "Y_1"))), &few).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit);
        assert!(parse_with(&with_head(&(ors(10, "Y_0") + &ors(11, "Y_1"))), &few).is_ok());
    }

    /// A flat disjunction expands to no more terms than it writes out: its
    /// size is bounded by the file size limit, not by `max_dnf_terms`.
    #[test]
    fn written_disjuncts_are_not_an_expansion() {
        let few = LoadLimits { max_dnf_terms: 10, ..LoadLimits::default() };
        let terms: String = (0..5000)
            .map(|i| format!(" (and (>= X_0 {}) (<= X_0 {}) (>= Y_0 {i}))", i as f64 / 5e3, (i + 1) as f64 / 5e3))
            .collect();
        let prop = parse_with(&with_head(&format!("(assert (or{terms}))\n")), &few).unwrap();
        assert_eq!(prop.regions.len(), 5000);
    }

    /// Thousands of shared comparisons times thousands of disjuncts would
    /// copy the shared part into every disjunct: the size of the expansion
    /// is refused before it is built.
    #[test]
    fn dnf_expansion_size_is_capped() {
        let shared: String = (0..4000).map(|i| format!("(<= Y_0 {i}) ")).collect();
        let or: String = (0..5000).map(|i| format!(" (<= Y_1 {i})")).collect();
        let text = with_head(&format!("(assert (and {shared}(or{or})))\n"));
        let e = parse(&text).unwrap_err();
        let or_col = text.lines().nth(8).unwrap().find("(or").unwrap() + 1;
        assert_eq!((e.kind(), e.line_col()), (ErrorKind::Limit, Some((9, or_col))), "{e}");
        assert!(e.message().contains("--max-elements"), "{e}");
        // The limit is the configured one: 40 shared comparisons and an `or`
        // of 50, with the 4 input bounds, expand to 50 x 45 comparisons.
        let small = with_head(&format!(
            "(assert (and {}(or{})))\n",
            &shared[..shared.find("(<= Y_0 40)").unwrap()],
            &or[..or.find(" (<= Y_1 50)").unwrap()]
        ));
        let exact = LoadLimits { max_elements: 50 * 45, ..LoadLimits::default() };
        assert_eq!(parse_with(&small, &exact).unwrap().regions[0].unsafe_set.disjuncts[7].constraints.len(), 41);
        let below = LoadLimits { max_elements: 50 * 45 - 1, ..LoadLimits::default() };
        assert_eq!(parse_with(&small, &below).unwrap_err().kind(), ErrorKind::Limit);
    }

    /// The deepest nesting any setting allows fits the 2 MiB stack of a
    /// test thread, in terms, in `and`/`or` formulas and when dropping the
    /// tree ([`NESTING_CEILING`](crate::limits::NESTING_CEILING)).
    #[test]
    fn deepest_allowed_nesting_fits_the_stack() {
        let max = crate::limits::NESTING_CEILING;
        let limits = LoadLimits { max_nesting: max, ..LoadLimits::default() };
        // `assert` and `<=` take two levels.
        let depth = max - 2;
        let term = "(+ ".repeat(depth - 1) + "Y_0" + &")".repeat(depth - 1);
        let p = parse_with(&with_head(&format!("(assert (<= {term} 0))\n")), &limits).unwrap();
        assert_eq!(only_rows(&p), &[row(&[(0, 1.0)], 0.0)]);
        let formula = "(and ".repeat(depth - 1) + "(<= Y_0 0)" + &")".repeat(depth - 1);
        let p = parse_with(&with_head(&format!("(assert {formula})\n")), &limits).unwrap();
        assert_eq!(only_rows(&p), &[row(&[(0, 1.0)], 0.0)]);
        let too_deep = "(or ".repeat(depth + 1) + "(<= Y_0 0)" + &")".repeat(depth + 1);
        let e = parse_with(&with_head(&format!("(assert {too_deep})\n")), &limits).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit);
    }

    /// Found by the `vnnlib` fuzz target: declaring `Y_3333333333` made the
    /// parser allocate a declaration slot per index, 53 GB, and abort.
    #[test]
    fn fuzz_crash_huge_declared_index() {
        let input: &[u8] = b"(declare-const Y_3333333333 Real)\n";
        let e = parse(std::str::from_utf8(input).unwrap()).unwrap_err();
        assert_eq!((e.kind(), e.line_col()), (ErrorKind::Limit, Some((1, 16))));
    }

    #[test]
    fn huge_variable_index_is_refused_before_allocating() {
        let e = parse("(declare-const X_0 Real)\n(declare-const X_4000000000 Real)").unwrap_err();
        assert_eq!((e.kind(), e.line_col()), (ErrorKind::Limit, Some((2, 16))));
        let e = parse("(declare-const Y_99999999999999999999999 Real)").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Spec);
    }

    #[test]
    fn unsatisfiable_assertions() {
        let e = parse(&with_head("(assert (>= X_0 2))\n(assert (<= Y_0 0))\n")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Spec);
        let e = parse(&with_head("(assert false)\n")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Spec);
    }
}
