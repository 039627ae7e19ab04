//! VNN-LIB 2.0 queries: typed network declarations over tensors.
//!
//! A 2.0 query starts with `(vnnlib-version <2.0>)`, declares one or more
//! networks, each with typed and shaped input and output tensors, and then
//! asserts conditions on their elements. As in 1.0 the conjunction of the
//! assertions describes the **unsafe** set: the query is `sat` when some
//! assignment satisfies it, which reluverify reports as `violated`.
//!
//! ```text
//! (vnnlib-version <2.0>)
//! (declare-network acas
//!     (declare-input  X real [1,5])
//!     (declare-output Y real [1,5]))
//! (assert (<= 0.6 X[0,0]))
//! ...
//! (assert (>= Y[0,0] 3.991125645861615))
//! ```
//!
//! # What is read, and how it becomes a [`Property`]
//!
//! - Tensor elements `X[0,3]` are flattened row-major over the declared
//!   shape (`X[i,j]` of a `[m,n]` tensor is element `i*n + j`); the number
//!   of indices must be the tensor's rank, each below its dimension. A
//!   scalar (shape `[]`) is written without brackets. Whitespace inside the
//!   brackets is allowed.
//! - Formulas are those of 1.0 (`and`, `or`, `<=`, `>=`, `<`, `>`) with
//!   equality written `==` and every comparison between exactly two terms;
//!   terms are numbers, elements, `(+ ...)`, `(- ...)` and `(* ...)` with at
//!   most one non-constant factor. The shared reader in `vnnlib.rs` turns
//!   them into regions exactly as for 1.0 (see there). Numbers may also
//!   carry an exponent (`1e-3`), which the 2.0 grammar itself does not
//!   allow; nothing else beyond the grammar is accepted.
//! - The declared element counts are checked against the network by
//!   [`Property::check_dims`] (the network's input and output are flat
//!   vectors, so shapes `[1,5]` and `[5]` both fit a network of 5 inputs).
//!
//! # Several networks
//!
//! A query may declare several networks. reluverify checks them as one
//! network computing all of them side by side on a **shared input**: every
//! network's input must be tied to the first network's, element by
//! element, by top-level assertions `(== U[i] X[i])` (directly or through
//! other networks). The property's inputs are the first network's input
//! elements, and its outputs are the networks' outputs one block after the
//! other in declaration order. A network declared `(equal-to f)` is the
//! model of `f` again (it takes no model file of its own);
//! `(isomorphic-to f)` is only a hint and is otherwise ignored.
//!
//! # Refused, with the line and what would work
//!
//! - Networks with several inputs or outputs (theory `MIO`), hidden-node
//!   declarations (`H`), separate untied inputs of several networks, a
//!   comparison mixing inputs and outputs (`MNC`), products of variables
//!   (`POLY`) and `!=` (its unsafe set is not closed; reluverify reads
//!   comparisons as closed sets).
//! - Element types other than `real`. reluverify reasons in real
//!   arithmetic (with f64 safety margins) and does not model the rounding of
//!   a `float32` network run, so, as the standard's solver interface
//!   requires, a query asking for floating-point semantics is an error
//!   unless the caller consents to real arithmetic ([`Options::assume_real`],
//!   `verify --assume-real`); integer, boolean and complex types cannot be
//!   expressed at all. `Real` is read as `real`.
//! - Any other version than 2.0.
//!
//! Strict comparisons are read as non-strict, as in 1.0; the solver
//! command (`reluverify verify`) re-checks a counterexample against the
//! query as written ([`Query::satisfied_by`], strict comparisons strict)
//! before it answers `sat`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::sexpr::{self, error_at, Sexpr};
use super::vnnlib::{number, Dialect, Parser, Scope, Terms, Var};
use super::Property;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::{limit_error, LoadLimits};

/// The version this reader implements.
const VERSION: &str = "<2.0>";

/// Element types that are floating point: accepted as `real` under
/// [`Options::assume_real`].
const FLOAT_TYPES: &[&str] = &[
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "float8e4m3fn",
    "float8e5m2",
    "float8e4m3fnuz",
    "float8e5m2fnuz",
    "float4e2m1",
];

/// Element types the standard defines that no real-valued encoding can
/// express.
const DISCRETE_TYPES: &[&str] =
    &["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "complex64", "complex128", "bool"];

/// How to read a query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Read floating-point element types (`float32`, ...) as `real`: the
    /// caller consents to analysis in real arithmetic. Without it such a
    /// declaration is an error.
    pub assume_real: bool,
}

/// One declared tensor: an input or output of a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorDecl {
    /// Its name in the query.
    pub name: String,
    /// Its element type as the standard writes it (`real`, `float32`, ...).
    pub element_type: String,
    /// Its shape (empty for a scalar).
    pub shape: Vec<usize>,
}

impl TensorDecl {
    /// The number of elements (1 for a scalar).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements (never, for a declaration that parsed).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One `declare-network`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDecl {
    /// The network's name (what `--network NAME=FILE` binds).
    pub name: String,
    /// `(equal-to NAME)`: this network is the model of `NAME` again.
    pub equal_to: Option<String>,
    /// Its input.
    pub input: TensorDecl,
    /// Its output.
    pub output: TensorDecl,
    /// The line of the declaration.
    pub line: usize,
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    /// The declared networks, in file order.
    pub networks: Vec<NetworkDecl>,
    /// The query as a property over the shared input and the networks'
    /// outputs side by side (network `k`'s block starts after the outputs of
    /// networks `0..k`).
    pub property: Property,
    /// The query's text, for [`Query::satisfied_by`].
    text: String,
    /// The declarations, for [`Query::satisfied_by`].
    scope: Tensors,
}

impl Query {
    /// Where network `k`'s outputs start in the property's output vector.
    pub fn output_offset(&self, k: usize) -> usize {
        self.networks[..k].iter().map(|n| n.output.len()).sum()
    }

    /// Whether the assignment of `input` to every network's input and of
    /// `outputs` (the networks' outputs side by side) satisfies every
    /// assertion as written: exact f64 arithmetic, strict comparisons
    /// strict, `==` exact. `false` for vectors of the wrong length.
    pub fn satisfied_by(&self, input: &[f64], outputs: &[f64]) -> bool {
        if input.len() != self.scope.inputs() || outputs.len() != self.scope.outputs() {
            return false;
        }
        // The text parsed before, so it parses again; nesting was checked
        // against the limit then and cannot exceed the ceiling now.
        let Ok(tree) = sexpr::parse(&self.text, crate::limits::NESTING_CEILING) else { return false };
        let eval = Evaluator { scope: &self.scope, input, outputs };
        tree.iter().filter_map(assertion).all(|f| eval.formula(f) == Some(true))
    }
}

/// The formula of an `(assert F)` command.
fn assertion<'s, 'a>(command: &'s Sexpr<'a>) -> Option<&'s Sexpr<'a>> {
    match command {
        Sexpr::List { items, .. } if items.len() == 2 && items[0].atom() == Some("assert") => Some(&items[1]),
        _ => None,
    }
}

/// Whether `text` is a VNN-LIB 2.0 query: its first command (after
/// comments and whitespace) is `(vnnlib-version ...)`.
pub fn is_vnnlib2(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        match rest.strip_prefix(';') {
            Some(comment) => rest = comment.split_once('\n').map_or("", |(_, after)| after),
            None => break,
        }
    }
    rest.strip_prefix('(').is_some_and(|r| r.trim_start().starts_with("vnnlib-version"))
}

/// Read the VNN-LIB 2.0 query at `path` within `limits` (a `.gz` file is
/// decompressed); errors carry the path. A VNN-LIB 1.0 file is an error
/// that says so.
pub fn load_with(path: &Path, limits: &LoadLimits, options: &Options) -> Result<Query> {
    let bytes = crate::limits::read_file(path, limits.max_spec_bytes, "max-spec-size")?;
    let text = crate::limits::utf8_text(&bytes, ErrorKind::Spec, "VNN-LIB").map_err(|e| e.with_path(path))?;
    if !is_vnnlib2(text) {
        return Err(Error::new(
            ErrorKind::Spec,
            "not a VNN-LIB 2.0 query (it does not start with `(vnnlib-version <2.0>)`); check a VNN-LIB 1.0 \
             property with `reluverify check MODEL PROPERTY`",
        )
        .with_path(path));
    }
    parse_with(text, limits, options).map_err(|e| e.with_path(path))
}

/// Parse a VNN-LIB 2.0 query within the default limits, refusing
/// floating-point element types (see the module documentation).
pub fn parse(text: &str) -> Result<Query> {
    parse_with(text, &LoadLimits::default(), &Options::default())
}

/// [`parse`] within `limits` and with `options`.
pub fn parse_with(text: &str, limits: &LoadLimits, options: &Options) -> Result<Query> {
    let tree = sexpr::parse(text, limits.max_nesting)?;
    let mut commands = tree.iter();
    version(text, commands.next())?;
    let mut networks: Vec<NetworkDecl> = Vec::new();
    let mut declared: HashMap<String, usize> = HashMap::new();
    let mut formulas: Vec<&Sexpr<'_>> = Vec::new();
    for command in commands {
        let Sexpr::List { items, offset } = command else {
            return Err(error_at(text, command.offset(), "expected `(declare-network ...)` or `(assert ...)`"));
        };
        match items.first().and_then(Sexpr::atom).unwrap_or("") {
            "declare-network" if formulas.is_empty() => {
                let net = network(text, items, *offset, &networks, &mut declared, limits, options)?;
                networks.push(net);
            }
            "declare-network" => {
                return Err(error_at(
                    text,
                    *offset,
                    "a network is declared after an assertion: VNN-LIB 2.0 declares every network first",
                ))
            }
            "assert" => match &items[1..] {
                [f] => formulas.push(f),
                _ => return Err(error_at(text, *offset, "`assert` takes exactly one formula")),
            },
            "vnnlib-version" => return Err(error_at(text, *offset, "the version is given twice")),
            head => {
                return Err(error_at(
                    text,
                    items.first().map_or(*offset, Sexpr::offset),
                    format!("unknown command `{head}`: expected `declare-network` or `assert`"),
                ))
            }
        }
    }
    if networks.is_empty() {
        return Err(Error::new(ErrorKind::Spec, "the query declares no network: expected `(declare-network ...)`"));
    }
    if formulas.is_empty() {
        return Err(Error::new(
            ErrorKind::Spec,
            "the query asserts nothing: expected `(assert ...)` after the networks",
        ));
    }
    let scope = Tensors::new(&networks, &declared, &formulas)?;
    let mut parser = Parser::new(text, limits, Dialect::V2, scope);
    let mut parts: Vec<(Terms, usize)> = Vec::new();
    for f in &formulas {
        parts.push((parser.formula(f)?, f.offset()));
    }
    let terms = parser.conjoin(parts)?;
    let mut property = parser.regions(&terms)?;
    let scope = parser.scope;
    property.input_names = (0..scope.inputs()).map(|i| scope.name(Var::Input(i))).collect();
    property.output_names = (0..scope.outputs()).map(|k| scope.name(Var::Output(k))).collect();
    Ok(Query { networks, property, text: text.to_string(), scope })
}

/// Check the `(vnnlib-version <2.0>)` header.
fn version(text: &str, first: Option<&Sexpr<'_>>) -> Result<()> {
    let found = match first {
        Some(Sexpr::List { items, offset }) if items.first().and_then(Sexpr::atom) == Some("vnnlib-version") => {
            match &items[1..] {
                [v] => (v.atom().unwrap_or(""), v.offset()),
                _ => return Err(error_at(text, *offset, "expected `(vnnlib-version <2.0>)`")),
            }
        }
        Some(other) => {
            return Err(error_at(text, other.offset(), "a VNN-LIB 2.0 query starts with `(vnnlib-version <2.0>)`"))
        }
        None => return Err(Error::new(ErrorKind::Spec, "the file is empty: expected `(vnnlib-version <2.0>)`")),
    };
    if found.0 != VERSION {
        return Err(error_at(
            text,
            found.1,
            format!("version `{}` is not supported: reluverify reads VNN-LIB 2.0 (`{VERSION}`)", found.0),
        ));
    }
    Ok(())
}

/// Read one `(declare-network NAME [(equal-to N) | (isomorphic-to N)] INPUT OUTPUT)`.
fn network(
    text: &str,
    items: &[Sexpr<'_>],
    offset: usize,
    earlier: &[NetworkDecl],
    declared: &mut HashMap<String, usize>,
    limits: &LoadLimits,
    options: &Options,
) -> Result<NetworkDecl> {
    let line = sexpr::line_col(text, offset).0;
    let name = match items.get(1) {
        Some(n) => identifier(text, n)?,
        None => return Err(error_at(text, offset, "expected `(declare-network NAME (declare-input ...) ...)`")),
    };
    if earlier.iter().any(|n| n.name == name) {
        return Err(error_at(text, items[1].offset(), format!("network `{name}` is declared twice")));
    }
    let mut equal_to = None;
    let mut inputs: Vec<TensorDecl> = Vec::new();
    let mut outputs: Vec<TensorDecl> = Vec::new();
    for item in &items[2..] {
        let (parts, at) = match item {
            Sexpr::List { items, offset } => (items, *offset),
            Sexpr::Atom { offset, .. } => {
                return Err(error_at(text, *offset, "expected `(declare-input ...)` or `(declare-output ...)`"))
            }
        };
        let head = parts.first().and_then(Sexpr::atom).unwrap_or("");
        let out_of_order = |what: &str| error_at(text, at, format!("`{what}` must come {}", order_hint(head)));
        let second = |kind: &str| {
            let what = "reluverify checks networks with one input tensor and one output tensor (theory SIO)";
            error_at(text, at, format!("network `{name}` declares a second {kind}: {what}"))
        };
        match head {
            "equal-to" | "isomorphic-to" => {
                if !inputs.is_empty() || !outputs.is_empty() {
                    return Err(out_of_order(head));
                }
                let [_, target] = parts.as_slice() else {
                    return Err(error_at(text, at, format!("expected `({head} NETWORK)`")));
                };
                let target_name = identifier(text, target)?;
                let Some(original) = earlier.iter().find(|n| n.name == target_name) else {
                    return Err(error_at(
                        text,
                        target.offset(),
                        format!("`{target_name}` is not a network declared before `{name}`"),
                    ));
                };
                if head == "equal-to" {
                    if equal_to.is_some() {
                        return Err(error_at(text, at, "only one `equal-to` per network"));
                    }
                    // A copy of a copy is a copy of the original.
                    equal_to = Some(original.equal_to.clone().unwrap_or(target_name));
                }
            }
            "declare-input" => {
                if !outputs.is_empty() {
                    return Err(out_of_order(head));
                }
                if !inputs.is_empty() {
                    return Err(second("input"));
                }
                inputs.push(tensor(text, parts, at, declared, limits, options)?);
            }
            "declare-hidden" => {
                return Err(error_at(
                    text,
                    at,
                    "hidden-node declarations are not supported (theory NH only): constrain the inputs and \
                     outputs, or cut the network at the hidden node",
                ))
            }
            "declare-output" => {
                if inputs.is_empty() {
                    return Err(out_of_order(head));
                }
                if !outputs.is_empty() {
                    return Err(second("output"));
                }
                outputs.push(tensor(text, parts, at, declared, limits, options)?);
            }
            _ => {
                return Err(error_at(
                    text,
                    parts.first().map_or(at, Sexpr::offset),
                    format!("unknown declaration `{head}`: expected declare-input, declare-output or equal-to"),
                ))
            }
        }
    }
    let (Some(input), Some(output)) = (inputs.pop(), outputs.pop()) else {
        return Err(error_at(
            text,
            offset,
            format!("network `{name}` needs one `(declare-input ...)` and one `(declare-output ...)`"),
        ));
    };
    if let Some(target) = &equal_to {
        let original = earlier.iter().find(|n| &n.name == target).expect("checked above");
        if original.input.shape != input.shape || original.output.shape != output.shape {
            return Err(error_at(
                text,
                offset,
                format!(
                    "network `{name}` is declared equal to `{target}` but its shapes differ ({} -> {} against {} -> {})",
                    shape_text(&input.shape),
                    shape_text(&output.shape),
                    shape_text(&original.input.shape),
                    shape_text(&original.output.shape)
                ),
            ));
        }
    }
    Ok(NetworkDecl { name, equal_to, input, output, line })
}

/// Where a declaration of kind `head` belongs in a network.
fn order_hint(head: &str) -> &'static str {
    match head {
        "equal-to" | "isomorphic-to" => "before the network's inputs and outputs",
        "declare-input" => "before the network's outputs",
        _ => "after the network's input",
    }
}

/// Read `(declare-input NAME TYPE SHAPE ["onnx-name"])` (or output).
fn tensor(
    text: &str,
    parts: &[Sexpr<'_>],
    at: usize,
    declared: &mut HashMap<String, usize>,
    limits: &LoadLimits,
    options: &Options,
) -> Result<TensorDecl> {
    let head = parts[0].atom().unwrap_or("");
    let (name_item, type_item, shape_item) = match parts {
        [_, n, t, s] => (n, t, s),
        [_, n, t, s, onnx] if onnx.atom().is_some_and(|o| o.starts_with('"')) => (n, t, s),
        _ => return Err(error_at(text, at, format!("expected `({head} NAME TYPE [d0,d1,...])`"))),
    };
    let name = identifier(text, name_item)?;
    if declared.insert(name.clone(), name_item.offset()).is_some() {
        return Err(error_at(
            text,
            name_item.offset(),
            format!("`{name}` is declared twice: names are unique in a query"),
        ));
    }
    let element_type = element_type(text, type_item, &name, options)?;
    let shape_at = shape_item.offset();
    let shape_text = shape_item.atom().unwrap_or("");
    let inner = shape_text
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| error_at(text, shape_at, format!("expected a shape such as `[1,5]`, found `{shape_text}`")))?;
    let shape = if inner.trim().is_empty() {
        vec![]
    } else {
        inner
            .split(',')
            .map(|d| match d.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(error_at(
                    text,
                    shape_at,
                    format!("dimension `{}` of `{shape_text}` is not a positive integer", d.trim()),
                )),
            })
            .collect::<Result<Vec<usize>>>()?
    };
    let elements = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if elements.is_none_or(|n| n > limits.max_elements) {
        let (line, col) = sexpr::line_col(text, shape_at);
        let msg = format!("`{name}` has more than {} elements", limits.max_elements);
        return Err(limit_error(msg, "max-elements").at(line, col));
    }
    Ok(TensorDecl { name, element_type, shape })
}

/// The element type of `name`, checked against what reluverify can analyse.
fn element_type(text: &str, item: &Sexpr<'_>, name: &str, options: &Options) -> Result<String> {
    let written = item.atom().unwrap_or("");
    match written {
        "real" | "Real" => Ok("real".to_string()),
        t if FLOAT_TYPES.contains(&t) && options.assume_real => Ok(t.to_string()),
        t if FLOAT_TYPES.contains(&t) => Err(error_at(
            text,
            item.offset(),
            format!(
                "`{name}` is declared {t}, which asks for sound analysis of {t} arithmetic: reluverify reasons in \
                 real arithmetic and does not model {t} rounding, so (VNN-LIB 2.0, section 5.3.2) it refuses the \
                 query; declare it `real` to consent to real-arithmetic analysis (or pass `--assume-real` to \
                 `verify`)"
            ),
        )),
        t if DISCRETE_TYPES.contains(&t) => Err(error_at(
            text,
            item.offset(),
            format!("`{name}` is declared {t}: reluverify analyses real-valued tensors only (declare it `real`)"),
        )),
        t => Err(error_at(
            text,
            item.offset(),
            format!(
                "unknown element type `{t}` for `{name}`: expected `real` or an ONNX type name such as `float32` \
                 (lower case)"
            ),
        )),
    }
}

/// A network or variable name: a letter, then letters, digits and `_`.
fn identifier(text: &str, item: &Sexpr<'_>) -> Result<String> {
    let name = item.atom().unwrap_or("");
    let mut chars = name.chars();
    let ok =
        chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(error_at(
            text,
            item.offset(),
            format!("`{name}` is not a name: names start with a letter and hold letters, digits and `_`"),
        ));
    }
    Ok(name.to_string())
}

/// `[1,5]`.
fn shape_text(shape: &[usize]) -> String {
    format!("[{}]", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(","))
}

/// Whether a tensor is a network's input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Input,
    Output,
}

/// The declared tensors as the shared reader sees them: every network's
/// input element `i` is property input `i` (the inputs are tied), network
/// `k`'s output element `j` is property output `offset_k + j`.
#[derive(Debug, Clone)]
struct Tensors {
    /// Name -> (network, role, shape).
    vars: HashMap<String, (usize, Role, Vec<usize>)>,
    /// The first network's input (names the shared inputs in messages).
    input: TensorDecl,
    /// Each network's output name, shape and offset.
    outputs: Vec<(TensorDecl, usize)>,
    /// Byte offset of the first network's input declaration.
    input_at: usize,
}

impl Tensors {
    /// The scope of `networks`, after checking that several networks share
    /// one input (top-level `==` assertions tie them element by element).
    fn new(networks: &[NetworkDecl], declared: &HashMap<String, usize>, formulas: &[&Sexpr<'_>]) -> Result<Tensors> {
        let mut vars = HashMap::new();
        let mut outputs = Vec::new();
        let mut offset = 0;
        for (k, n) in networks.iter().enumerate() {
            vars.insert(n.input.name.clone(), (k, Role::Input, n.input.shape.clone()));
            vars.insert(n.output.name.clone(), (k, Role::Output, n.output.shape.clone()));
            outputs.push((n.output.clone(), offset));
            offset += n.output.len();
        }
        let scope =
            Tensors { vars, input: networks[0].input.clone(), outputs, input_at: declared[&networks[0].input.name] };
        scope.check_ties(networks, formulas)?;
        Ok(scope)
    }

    /// Every network's input must be tied to the first network's, element
    /// by element: `(== A[i] B[i])` at the top level of an assertion (or of
    /// a top-level `and`), between inputs of two networks, ties element `i`
    /// of both; ties chain through other networks.
    fn check_ties(&self, networks: &[NetworkDecl], formulas: &[&Sexpr<'_>]) -> Result<()> {
        if networks.len() == 1 {
            return Ok(());
        }
        let n = networks[0].input.len();
        if let Some(other) = networks.iter().find(|k| k.input.len() != n) {
            return Err(Error::new(
                ErrorKind::Spec,
                format!(
                    "network `{}` takes {} inputs and `{}` takes {n}: reluverify checks several networks only on one \
                     shared input (of equal size, tied element by element with `==`)",
                    other.name,
                    other.input.len(),
                    networks[0].name
                ),
            ));
        }
        let mut ties: HashSet<(usize, usize, usize)> = HashSet::new();
        let mut stack: Vec<&Sexpr<'_>> = formulas.to_vec();
        while let Some(f) = stack.pop() {
            let Sexpr::List { items, .. } = f else { continue };
            match (items.first().and_then(Sexpr::atom), &items[1..]) {
                (Some("and"), args) => stack.extend(args),
                (Some("=="), [a, b]) => {
                    let element = |s: &Sexpr<'_>| s.atom().and_then(|t| self.element(t).ok());
                    if let (Some((na, Role::Input, i)), Some((nb, Role::Input, j))) = (element(a), element(b)) {
                        if na != nb && i == j {
                            ties.insert((i, na.min(nb), na.max(nb)));
                        }
                    }
                }
                _ => {}
            }
        }
        for i in 0..n {
            // Networks reachable from the first through ties of element i.
            let mut reached = vec![false; networks.len()];
            reached[0] = true;
            let mut grew = true;
            while grew {
                grew = false;
                for &(_, a, b) in ties.iter().filter(|t| t.0 == i) {
                    if reached[a] != reached[b] {
                        reached[a] = true;
                        reached[b] = true;
                        grew = true;
                    }
                }
            }
            if let Some(k) = reached.iter().position(|r| !r) {
                let (first, other) = (&networks[0], &networks[k]);
                let element = flat_name(&first.input.name, &first.input.shape, i);
                let theirs = flat_name(&other.input.name, &other.input.shape, i);
                return Err(Error::new(
                    ErrorKind::Spec,
                    format!(
                        "network `{}`'s input is not tied to `{}`'s: reluverify checks several networks only on one \
                         shared input, so every element must be asserted equal at the top level, e.g. \
                         `(assert (== {theirs} {element}))` (separate inputs are not supported)",
                        other.name, first.name
                    ),
                )
                .at(other.line, 1));
            }
        }
        Ok(())
    }

    /// The network, role and flat index of an element reference
    /// `NAME[i,j,...]` (or `NAME` for a scalar), or why it is none.
    fn element(&self, text: &str) -> std::result::Result<(usize, Role, usize), String> {
        let (name, indices) = match text.split_once('[') {
            Some((name, rest)) => (name, Some(rest)),
            None => (text, None),
        };
        let Some((net, role, shape)) = self.vars.get(name) else {
            return Err(match text.strip_prefix('-') {
                Some(rest) => format!("unknown symbol `{text}`: write `(- {rest})` to negate"),
                None => format!(
                    "undeclared variable `{name}`: expected a number or an element of a declared input or output"
                ),
            });
        };
        let indices: Vec<&str> = match indices {
            None => vec![],
            Some(rest) => match rest.strip_suffix(']') {
                Some(inner) if !inner.trim().is_empty() => inner.split(',').map(str::trim).collect(),
                _ => return Err(format!("malformed element `{text}`: expected `{name}[i,j,...]`")),
            },
        };
        if indices.len() != shape.len() {
            return Err(if shape.is_empty() {
                format!("`{name}` is a scalar: write `{name}` without indices")
            } else {
                format!(
                    "`{text}` has {} index(es) but `{name}` is declared with shape {}: write {} (partial indexing is \
                     not allowed)",
                    indices.len(),
                    shape_text(shape),
                    shape.len()
                )
            });
        }
        let mut flat = 0usize;
        for (axis, (idx, &dim)) in indices.iter().zip(shape).enumerate() {
            let i =
                idx.parse::<usize>().map_err(|_| format!("index `{idx}` of `{text}` is not a non-negative integer"))?;
            if i >= dim {
                return Err(format!(
                    "index {i} of `{text}` is out of range: dimension {axis} of `{name}` has size {dim} (0..{})",
                    dim - 1
                ));
            }
            flat = flat * dim + i;
        }
        Ok((*net, *role, flat))
    }
}

impl Scope for Tensors {
    fn variable(&self, text: &str) -> std::result::Result<Var, String> {
        let (net, role, flat) = self.element(text)?;
        Ok(match role {
            Role::Input => Var::Input(flat),
            Role::Output => Var::Output(self.outputs[net].1 + flat),
        })
    }

    fn name(&self, var: Var) -> String {
        match var {
            Var::Input(i) => flat_name(&self.input.name, &self.input.shape, i),
            Var::Output(k) => {
                let (t, offset) =
                    self.outputs.iter().rev().find(|(_, offset)| *offset <= k).expect("the first block starts at 0");
                flat_name(&t.name, &t.shape, k - offset)
            }
        }
    }

    fn inputs(&self) -> usize {
        self.input.len()
    }

    fn outputs(&self) -> usize {
        self.outputs.iter().map(|(t, _)| t.len()).sum()
    }

    fn input_offset(&self, _i: usize) -> usize {
        self.input_at
    }
}

/// `NAME[i,j]` for flat index `flat` of a tensor of `shape` (row-major).
fn flat_name(name: &str, shape: &[usize], mut flat: usize) -> String {
    if shape.is_empty() {
        return name.to_string();
    }
    let mut index = vec![0; shape.len()];
    for (slot, &dim) in index.iter_mut().zip(shape).rev() {
        *slot = flat % dim;
        flat /= dim;
    }
    format!("{name}[{}]", index.iter().map(usize::to_string).collect::<Vec<_>>().join(","))
}

/// Exact evaluation of a parsed query's assertions on one assignment.
struct Evaluator<'e> {
    scope: &'e Tensors,
    input: &'e [f64],
    outputs: &'e [f64],
}

impl Evaluator<'_> {
    /// The truth of a formula (`None`: not a formula of a query that parsed).
    fn formula(&self, f: &Sexpr<'_>) -> Option<bool> {
        let Sexpr::List { items, .. } = f else { return None };
        let args = &items[1..];
        let compare = |op: fn(f64, f64) -> bool| match args {
            [a, b] => Some(op(self.term(a)?, self.term(b)?)),
            _ => None,
        };
        match items.first()?.atom()? {
            "and" => args.iter().try_fold(true, |acc, a| Some(self.formula(a)? && acc)),
            "or" => args.iter().try_fold(false, |acc, a| Some(self.formula(a)? || acc)),
            "<=" => compare(|a, b| a <= b),
            ">=" => compare(|a, b| a >= b),
            "<" => compare(|a, b| a < b),
            ">" => compare(|a, b| a > b),
            "==" => compare(|a, b| a == b),
            _ => None,
        }
    }

    /// The value of a term.
    fn term(&self, t: &Sexpr<'_>) -> Option<f64> {
        match t {
            Sexpr::Atom { text, .. } => match number(text) {
                Some(v) => v.ok(),
                None => match self.scope.variable(text).ok()? {
                    Var::Input(i) => self.input.get(i).copied(),
                    Var::Output(k) => self.outputs.get(k).copied(),
                },
            },
            Sexpr::List { items, .. } => {
                let values = items[1..].iter().map(|a| self.term(a)).collect::<Option<Vec<f64>>>()?;
                match (items.first()?.atom()?, values.as_slice()) {
                    ("+", v) => Some(v.iter().sum()),
                    ("*", v) => Some(v.iter().product()),
                    ("-", [x]) => Some(-x),
                    ("-", [x, rest @ ..]) => Some(rest.iter().fold(*x, |acc, v| acc - v)),
                    _ => None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::settings::Settings;
    use crate::spec::vnnlib;
    use crate::testutil;
    use crate::verdict::Verdict;

    /// A query over one network `f` with input `X` and output `Y` of the
    /// given shapes, then `asserts`.
    fn one(input: &str, output: &str, asserts: &str) -> String {
        format!(
            "(vnnlib-version <2.0>)\n(declare-network f\n  (declare-input X real {input})\n  (declare-output Y real \
             {output}))\n{asserts}"
        )
    }

    /// The kind and line of the error `text` gives.
    fn err(text: &str) -> (ErrorKind, usize) {
        let e = parse(text).expect_err(text);
        (e.kind(), e.line_col().map_or(0, |(l, _)| l))
    }

    const BOX2: &str = "(assert (and (>= X[0,0] -1) (<= X[0,0] 1) (>= X[0,1] -1) (<= X[0,1] 1)))";

    #[test]
    fn elements_flatten_row_major() {
        // X is [2,3]: X[1,2] is input 5; Y is [2,2]: Y[1,0] is output 2.
        let mut asserts = String::new();
        for i in 0..2 {
            for j in 0..3 {
                asserts += &format!("(assert (<= -{i}.{j} X[ {i} , {j} ] 1))\n");
            }
        }
        // Chains are 1.0 only: the bounds above must be written twice.
        let asserts = asserts.replace("(<= -", "(<= (- 0 ").replace(" X[", ") X[");
        let text = one("[2,3]", "[2,2]", &asserts);
        assert_eq!(err(&text), (ErrorKind::Spec, 5), "chains are refused");
        let mut asserts = String::new();
        for i in 0..2 {
            for j in 0..3 {
                asserts += &format!("(assert (>= X[{i}, {j}] -{i}.{j}))\n(assert (<= X[{i},{j}] 1))\n");
            }
        }
        asserts += "(assert (>= Y[1,0] (* 2 Y[0,1])))\n";
        let q = parse(&one("[2,3]", "[2,2]", &asserts)).unwrap();
        let r = &q.property.regions[0];
        assert_eq!(r.input.lower, vec![-0.0, -0.1, -0.2, -1.0, -1.1, -1.2]);
        assert_eq!(r.input.upper, vec![1.0; 6]);
        let row = &r.unsafe_set.disjuncts[0].constraints[0];
        assert_eq!((row.coeffs.clone(), row.rhs), (vec![(2, -1.0), (1, 2.0)], 0.0));
        assert_eq!((q.property.declared_inputs, q.property.declared_outputs), (Some(6), Some(4)));
        assert_eq!(q.property.input_names[5], "X[1,2]");
        assert_eq!(q.property.output_names[2], "Y[1,0]");
    }

    #[test]
    fn scalars_are_written_without_indices() {
        let q = parse(&one("[]", "[3]", "(assert (>= X -1)) (assert (<= X 1)) (assert (>= Y[2] X))")).unwrap_err();
        assert_eq!(q.kind(), ErrorKind::Spec, "inputs and outputs never meet in one comparison");
        let q = parse(&one("[]", "[3]", "(assert (>= X -1)) (assert (<= X 1)) (assert (>= Y[2] 0.5))")).unwrap();
        assert_eq!(q.property.regions[0].input.dim(), 1);
        assert_eq!(err(&one("[]", "[3]", "(assert (>= X[0] -1))")), (ErrorKind::Spec, 5));
    }

    #[test]
    fn the_same_property_as_its_vnnlib_1_rewrite() {
        let v2 = parse(&one(
            "[1,2]",
            "[3]",
            &format!("{BOX2}\n(assert (<= (+ X[0,0] (* -2 X[0,1])) 0.5))\n(assert (or (>= Y[0] Y[1]) (and (<= Y[2] 0) (> Y[1] -0.5))))"),
        ))
        .unwrap();
        let v1 = vnnlib::parse(
            "(declare-const X_0 Real) (declare-const X_1 Real)
             (declare-const Y_0 Real) (declare-const Y_1 Real) (declare-const Y_2 Real)
             (assert (and (>= X_0 -1) (<= X_0 1) (>= X_1 -1) (<= X_1 1)))
             (assert (<= (+ X_0 (* -2 X_1)) 0.5))
             (assert (or (>= Y_0 Y_1) (and (<= Y_2 0) (> Y_1 -0.5))))",
        )
        .unwrap();
        assert_eq!(v2.property.regions, v1.regions);
    }

    #[test]
    fn header_errors_name_the_line() {
        let body = "(declare-network f (declare-input X real [1]) (declare-output Y real [1]))\n(assert (>= Y[0] 0))";
        assert_eq!(err(&format!("(vnnlib-version <2.1>)\n{body}")), (ErrorKind::Spec, 1));
        assert_eq!(err(&format!("\n(vnnlib-version <1.0>)\n{body}")), (ErrorKind::Spec, 2));
        assert_eq!(err(&format!("(vnnlib-version <2.0>)\n(assert (>= 1 0))\n{body}")), (ErrorKind::Spec, 3));
        assert_eq!(
            err("(vnnlib-version <2.0>)\n(declare-network f (declare-input X real [1]) (declare-output Y real [1]))").0,
            ErrorKind::Spec
        );
        assert!(is_vnnlib2("; c\n  ; d\n( vnnlib-version <2.0>)") && !is_vnnlib2("(declare-const X_0 Real)"));
    }

    #[test]
    fn element_types() {
        let typed = |t: &str| {
            format!(
                "(vnnlib-version <2.0>)\n(declare-network f\n(declare-input X {t} [1])\n(declare-output Y real [1]))\n\
                 (assert (>= X[0] 0)) (assert (<= X[0] 1)) (assert (>= Y[0] 0))"
            )
        };
        for ok in ["real", "Real"] {
            assert_eq!(parse(&typed(ok)).unwrap().networks[0].input.element_type, "real");
        }
        for float in ["float32", "float64", "float16", "bfloat16"] {
            assert_eq!(err(&typed(float)), (ErrorKind::Spec, 3), "{float} needs consent");
            let q = parse_with(&typed(float), &LoadLimits::default(), &Options { assume_real: true }).unwrap();
            assert_eq!(q.networks[0].input.element_type, float);
        }
        for bad in ["int8", "uint64", "bool", "complex64", "Float32", "double"] {
            let e = parse_with(&typed(bad), &LoadLimits::default(), &Options { assume_real: true }).unwrap_err();
            assert_eq!((e.kind(), e.line_col().map(|p| p.0)), (ErrorKind::Spec, Some(3)), "{bad}");
        }
    }

    #[test]
    fn declarations_beyond_the_engine_are_refused() {
        let net = |decls: &str| {
            format!("(vnnlib-version <2.0>)\n(declare-network f\n{decls})\n(assert (>= X[0] 0)) (assert (<= X[0] 1))")
        };
        let cases = [
            ("(declare-input X real [1])\n(declare-hidden H real [1] \"h\")\n(declare-output Y real [1])", 4),
            ("(declare-input X real [1])\n(declare-input Z real [1])\n(declare-output Y real [1])", 4),
            ("(declare-input X real [1])\n(declare-output Y real [1])\n(declare-output Z real [1])", 5),
            ("(declare-input X real [1])", 2),
            ("(declare-output Y real [1])\n(declare-input X real [1])", 3),
            ("(declare-input X real [0])\n(declare-output Y real [1])", 3),
            ("(declare-input X real [1,x])\n(declare-output Y real [1])", 3),
            ("(declare-input X real 1)\n(declare-output Y real [1])", 3),
            ("(declare-input X real [1])\n(declare-output X real [1])", 4),
            ("(declare-input 2X real [1])\n(declare-output Y real [1])", 3),
            ("(declare-input X real [1])\n(declare-output Y real [1])\n(equal-to g)", 5),
        ];
        for (decls, line) in cases {
            assert_eq!(err(&net(decls)), (ErrorKind::Spec, line), "{decls}");
        }
        // An ONNX name after the shape is accepted (and not needed: one input, one output).
        assert!(parse(&net("(declare-input X real [1] \"in\")\n(declare-output Y real [1] \"out\")")).is_ok());
    }

    #[test]
    fn formulas_beyond_the_engine_are_refused() {
        let cases = [
            "(assert (= Y[0] 1))",
            "(assert (!= Y[0] 1))",
            "(assert (<= 0 Y[0] 1))",
            "(assert true)",
            "(assert (<= (/ Y[0] 2) 1))",
            "(assert (<= (* Y[0] Y[1]) 1))",
            "(assert (<= Y[0] X[0,0]))",
            "(assert (<= Y[2] 1))",
            "(assert (<= Y[0,0] 1))",
            "(assert (<= Y 1))",
            "(assert (<= Y[-1] 1))",
            "(assert (<= Z[0] 1))",
            "(assert (not (<= Y[0] 1)))",
            "(assert (<= (exp Y[0]) 1))",
        ];
        for case in cases {
            let text = one("[1,2]", "[2]", &format!("{BOX2}\n{case}"));
            assert_eq!(err(&text), (ErrorKind::Spec, 6), "{case}");
        }
        // A missing bound names the element as the query writes it.
        let e = parse(&one("[1,2]", "[2]", "(assert (>= X[0,0] 0)) (assert (<= X[0,0] 1)) (assert (>= X[0,1] 0))"))
            .unwrap_err();
        assert!(e.message().contains("X[0,1] has no upper bound"), "{e}");
    }

    /// Networks `f` (input X) and `g` (input U), with `ties` asserted.
    fn two(g_decl: &str, ties: &str) -> String {
        format!(
            "(vnnlib-version <2.0>)\n(declare-network f (declare-input X real [2]) (declare-output Y real [1]))\n\
             (declare-network g {g_decl} (declare-input U real [2]) (declare-output V real [3]))\n\
             (assert (and (>= X[0] 0) (<= X[0] 1) (>= X[1] 0) (<= X[1] 1)))\n{ties}\n(assert (>= V[2] Y[0]))"
        )
    }

    #[test]
    fn several_networks_share_one_tied_input() {
        let q = parse(&two("", "(assert (and (== X[0] U[0]) (== U[1] X[1])))")).unwrap();
        assert_eq!((q.networks.len(), q.output_offset(1)), (2, 1));
        assert_eq!(q.property.declared_inputs, Some(2));
        assert_eq!(q.property.declared_outputs, Some(4));
        let row = &q.property.regions[0].unsafe_set.disjuncts[0].constraints[0];
        assert_eq!(row.coeffs, vec![(3, -1.0), (0, 1.0)], "V[2] is output 1 + 2");
        assert_eq!(q.property.output_names, ["Y[0]", "V[0]", "V[1]", "V[2]"]);
        let q = parse(&two("(equal-to f)", "(assert (== X[0] U[0])) (assert (== X[1] U[1]))"));
        assert_eq!(q.unwrap_err().kind(), ErrorKind::Spec, "equal-to needs equal shapes");
        // Untied, half tied, tied under an `or`, tied across positions.
        for ties in [
            "",
            "(assert (== X[0] U[0]))",
            "(assert (or (and (== X[0] U[0]) (== X[1] U[1])) (<= X[0] 2)))",
            "(assert (== X[0] U[1])) (assert (== X[1] U[0]))",
        ] {
            let e = parse(&two("", ties)).unwrap_err();
            assert_eq!((e.kind(), e.line_col().map(|p| p.0)), (ErrorKind::Spec, Some(3)), "{ties}");
        }
    }

    #[test]
    fn assignments_are_checked_as_written() {
        let q = parse(&one("[1]", "[2]", "(assert (>= X[0] 0)) (assert (<= X[0] 1)) (assert (< Y[0] (- Y[1] 1)))"))
            .unwrap();
        assert!(q.satisfied_by(&[0.5], &[0.0, 1.5]));
        assert!(!q.satisfied_by(&[0.5], &[0.0, 1.0]), "on the boundary of a strict comparison");
        assert!(!q.satisfied_by(&[1.5], &[0.0, 1.5]), "outside the box");
        assert!(!q.satisfied_by(&[0.5], &[0.0]), "wrong length");
    }

    /// `prop`'s only region written as a query: VNN-LIB 1.0 (`X_i`, `Y_k`)
    /// or 2.0 (a `[1,n]` input `X`, an `[m]` output `Y`).
    fn write(prop: &Property, outputs: usize, v2: bool) -> String {
        let x = |i: usize| if v2 { format!("X[0,{i}]") } else { format!("X_{i}") };
        let y = |k: usize| if v2 { format!("Y[{k}]") } else { format!("Y_{k}") };
        let r = &prop.regions[0];
        let n = r.input.dim();
        let mut s = if v2 {
            format!(
                "(vnnlib-version <2.0>)\n(declare-network f (declare-input X real [1,{n}]) (declare-output Y real [{outputs}]))\n"
            )
        } else {
            (0..n)
                .map(|i| format!("(declare-const X_{i} Real)\n"))
                .chain((0..outputs).map(|k| format!("(declare-const Y_{k} Real)\n")))
                .collect()
        };
        for i in 0..n {
            s += &format!("(assert (>= {} {}))\n(assert (<= {} {}))\n", x(i), r.input.lower[i], x(i), r.input.upper[i]);
        }
        let sum = |coeffs: &[(usize, f64)], name: &dyn Fn(usize) -> String| {
            let terms: Vec<String> = coeffs.iter().map(|&(i, a)| format!("(* {a} {})", name(i))).collect();
            format!("(+ {})", terms.join(" "))
        };
        for c in &r.input_constraints {
            s += &format!("(assert (<= {} {}))\n", sum(&c.coeffs, &x), c.rhs);
        }
        let disjuncts: Vec<String> = r
            .unsafe_set
            .disjuncts
            .iter()
            .map(|d| {
                let rows: Vec<String> =
                    d.constraints.iter().map(|c| format!("(<= {} {})", sum(&c.coeffs, &y), c.rhs)).collect();
                format!("(and {})", rows.join(" "))
            })
            .collect();
        s + &format!("(assert (or {}))\n", disjuncts.join(" "))
    }

    /// Random networks and properties written as 2.0 queries: the property
    /// read back equals the 1.0 rewrite's, and the verdict on it agrees with
    /// exhaustive activation-pattern enumeration (and a counterexample
    /// satisfies the query as written).
    #[test]
    fn verdicts_agree_with_vnnlib_1_and_the_reference() {
        let mut rng = Rng::new(2026);
        let (mut holds, mut violated) = (0, 0);
        for case in 0..40 {
            let net = testutil::random_network(&mut rng, 4);
            let mut prop = testutil::random_property(&mut rng, &net);
            if case % 3 == 0 {
                prop.regions[0].input_constraints =
                    testutil::random_input_constraints(&mut rng, &prop.regions[0].input);
            }
            // Every other case is moved to be violated: raising every
            // unsafe row's right-hand side by d lowers the margin by d.
            let margin = testutil::reference(&net, &prop).margin;
            if case % 2 == 1 && margin.is_finite() && margin > 0.0 {
                for c in prop.regions[0].unsafe_set.disjuncts.iter_mut().flat_map(|d| &mut d.constraints) {
                    c.rhs += margin + 0.05;
                }
            }
            let m = net.output_dim();
            let q = parse(&write(&prop, m, true)).unwrap();
            let v1 = vnnlib::parse(&write(&prop, m, false)).unwrap();
            assert_eq!(q.property.regions, v1.regions, "case {case}");
            let reference = testutil::reference(&net, &q.property);
            if reference.margin.abs() < 1e-3 {
                continue; // too close to call for either side
            }
            let settings = Settings { seed: case, ..Settings::default() };
            match crate::verify(&net, &q.property, &settings).unwrap().verdict {
                Verdict::Holds { .. } => {
                    assert!(reference.margin > 0.0, "case {case}: holds, reference margin {}", reference.margin);
                    holds += 1;
                }
                Verdict::Violated { witness } => {
                    assert!(reference.margin < 0.0, "case {case}: violated, reference margin {}", reference.margin);
                    assert!(q.satisfied_by(witness.input(), witness.output()), "case {case}");
                    violated += 1;
                }
                Verdict::Unknown { reason } => panic!("case {case}: unknown ({reason})"),
            }
        }
        assert!(holds >= 5 && violated >= 5, "both verdicts occur: {holds} holds, {violated} violated");
    }

    /// Two random networks on one tied input: a random property over their
    /// outputs side by side, written as a two-network query, reads back as
    /// written, and the verdict on the combined network
    /// ([`side_by_side`](crate::model::pair::side_by_side)) agrees with
    /// exhaustive enumeration; a counterexample satisfies the query on the
    /// two networks' own outputs.
    #[test]
    fn two_networks_agree_with_the_reference() {
        let mut rng = Rng::new(77);
        let (mut holds, mut violated) = (0, 0);
        for case in 0..24 {
            let inputs = 1 + rng.below(3);
            let (a, b) =
                (testutil::random_network_on(&mut rng, inputs, 4), testutil::random_network_on(&mut rng, inputs, 4));
            let combined = crate::model::pair::side_by_side(&[&a, &b]).unwrap();
            let mut prop = testutil::random_property(&mut rng, &combined);
            let margin = testutil::reference(&combined, &prop).margin;
            if case % 2 == 1 && margin.is_finite() && margin > 0.0 {
                for c in prop.regions[0].unsafe_set.disjuncts.iter_mut().flat_map(|d| &mut d.constraints) {
                    c.rhs += margin + 0.05;
                }
            }
            let ma = a.output_dim();
            let y = |k: usize| if k < ma { format!("Y[{k}]") } else { format!("V[{}]", k - ma) };
            let r = &prop.regions[0];
            let mut text = format!(
                "(vnnlib-version <2.0>)\n(declare-network f (declare-input X real [{inputs}]) (declare-output Y real [{ma}]))\n\
                 (declare-network g (declare-input U real [{inputs}]) (declare-output V real [{}]))\n",
                b.output_dim()
            );
            for i in 0..inputs {
                text += &format!(
                    "(assert (and (>= X[{i}] {}) (<= U[{i}] {}) (== U[{i}] X[{i}])))\n",
                    r.input.lower[i], r.input.upper[i]
                );
            }
            let disjuncts: Vec<String> = r
                .unsafe_set
                .disjuncts
                .iter()
                .map(|d| {
                    let rows: Vec<String> = d
                        .constraints
                        .iter()
                        .map(|c| {
                            let terms: Vec<String> =
                                c.coeffs.iter().map(|&(k, v)| format!("(* {v} {})", y(k))).collect();
                            format!("(<= (+ {}) {})", terms.join(" "), c.rhs)
                        })
                        .collect();
                    format!("(and {})", rows.join(" "))
                })
                .collect();
            text += &format!("(assert (or {}))\n", disjuncts.join(" "));
            let q = parse(&text).unwrap();
            assert_eq!(q.property.regions, prop.regions, "case {case}");
            let reference = testutil::reference(&combined, &q.property);
            if reference.margin.abs() < 1e-3 {
                continue;
            }
            let settings = Settings { seed: case, ..Settings::default() };
            match crate::verify(&combined, &q.property, &settings).unwrap().verdict {
                Verdict::Holds { .. } => {
                    assert!(reference.margin > 0.0, "case {case}: holds, reference margin {}", reference.margin);
                    holds += 1;
                }
                Verdict::Violated { witness } => {
                    assert!(reference.margin < 0.0, "case {case}: violated, reference margin {}", reference.margin);
                    let x = witness.input();
                    let outputs: Vec<f64> = a.forward(x).into_iter().chain(b.forward(x)).collect();
                    assert!(q.satisfied_by(x, &outputs), "case {case}");
                    violated += 1;
                }
                Verdict::Unknown { reason } => panic!("case {case}: unknown ({reason})"),
            }
        }
        assert!(holds >= 4 && violated >= 4, "both verdicts occur: {holds} holds, {violated} violated");
    }

    /// Mutated queries (bytes deleted, duplicated or replaced by syntax
    /// characters) give a query or an error, never a panic, and a query
    /// evaluates an assignment (the fuzz target `vnnlib2` does this at scale).
    #[test]
    fn mutated_queries_never_panic() {
        let seeds = [
            one("[1,2]", "[3]", &format!("{BOX2}\n(assert (or (>= Y[0] Y[1]) (and (<= Y[2] 0) (> Y[1] -0.5))))")),
            two("(equal-to f)", "(assert (and (== X[0] U[0]) (== U[1] X[1])))"),
        ];
        let pieces = ["(", ")", "[", "]", ",", " ", "==", "X[0,", "-", "1e9", "\"", ";", "<2.0>", "float32"];
        let mut rng = Rng::new(5);
        let options = Options { assume_real: true };
        for _ in 0..3000 {
            let mut text = seeds[rng.below(seeds.len())].clone().into_bytes();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(text.len() + 1);
                match rng.below(3) {
                    0 if at < text.len() => {
                        text.remove(at);
                    }
                    1 => {
                        let piece = pieces[rng.below(pieces.len())];
                        text.splice(at..at, piece.bytes());
                    }
                    _ => {
                        let end = (at + rng.below(20)).min(text.len());
                        let copy = text[at..end].to_vec();
                        text.splice(at..at, copy);
                    }
                }
            }
            let Ok(text) = String::from_utf8(text) else { continue };
            if let Ok(q) = parse_with(&text, &LoadLimits::default(), &options) {
                let (n, m) = (q.property.declared_inputs.unwrap(), q.property.declared_outputs.unwrap());
                let _ = q.satisfied_by(&vec![0.5; n], &vec![0.5; m]);
            }
        }
    }
}
