//! `reluverify split` and `join`: one instance cut into parts that a job
//! array runs side by side, and the verdict put back together.
//!
//! `split MODEL SPEC --parts N --out DIR` writes a folder that is complete
//! on its own (it can be copied to a cluster's shared storage):
//!
//! ```text
//! DIR/manifest.json       what was cut, how, and the content hash of every file
//! DIR/input/MODEL, SPEC   copies of the model and property
//! DIR/parts/part-K.*      one file per part, K = 000 .. N-1
//! DIR/commands.txt        line K+1 checks part K (run from DIR, `reluverify` on the PATH)
//! DIR/results/part-K.json each part's `check --json` object, written by its command
//! ```
//!
//! First `split` runs the whole check for `--search` seconds (default
//! [`SEARCH_SECONDS`]): root bounds, falsification and the start of the
//! search. An instance that settles in that time is not cut: its result is
//! `DIR/results/search.json`, the manifest lists no parts, `commands.txt`
//! is empty, and `join` reports that result (a counterexample re-checked
//! like a part's). A counterexample usually turns up in the falsification's
//! first second, and an instance that short needs no cluster.
//!
//! The parts cover the instance's inputs exactly, in one of two ways:
//!
//! - **Input boxes** (at most [`INPUT_SPLIT_MAX_DIM`] inputs, the threshold
//!   at which `--strategy auto` splits inputs): each region's box is halved,
//!   breadth first, along the input the search itself would choose
//!   ([`split_dimension`]), until there are N pieces; the two halves share
//!   the middle face, so together they are exactly the box. Each part is a
//!   VNN-LIB property of its pieces ([`to_vnnlib`]) with the region's input
//!   constraints and unsafe set unchanged. A property of at least N regions
//!   is dealt out in runs of whole regions instead.
//! - **Phase sets** (more inputs): the K unstable neurons the phase search
//!   ranks highest on the root bounds ([`branching_neurons`]) are fixed,
//!   breadth first, to either side of their kink (`z >= k` or `z <= k`),
//!   until there are N assignments; at every level both sides are taken, and
//!   every `z` is on one side, so the assignments cover every input. Each
//!   part is a small JSON file ([`PhasePart`]) that `check --phases` reads
//!   with the original model and property.
//!
//! `join DIR` checks the folder against its manifest (the copies of the
//! model and property, and every part file, hash as they did when written)
//! and reads the results: the property holds when every part holds; it is
//! violated when a part's counterexample passes [`check_witness`] on the
//! original model and property (the part's own check is not trusted for
//! that); otherwise it is unknown, and the parts still open are named.
//!
//! Hashes are 64-bit FNV-1a of the file bytes ([`content_hash`]): they catch
//! a part or result mixed up with another split's, not a forgery.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::args::{JoinArgs, SplitArgs, SplitBy};
use super::exit::Exit;
use super::output;
use super::report::outcome_json;
use crate::bounds::symbolic::{self, optimise::Constraint};
use crate::bounds::BoundMethod;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Network;
use crate::search::neuron_bounds;
use crate::search::phase_split::branching_neurons;
use crate::search::split::{split_box, split_dimension};
use crate::search::INPUT_SPLIT_MAX_DIM;
use crate::spec::{InputBox, LinearConstraint, Property};
use crate::verdict::{check_witness, Verdict};
use crate::Settings;

/// `format` of a manifest.
const MANIFEST_FORMAT: &str = "reluverify-split-1";

/// Default `--search`: seconds of the whole check before cutting. Long
/// enough for the falsification and the root bounds of the benchmark
/// networks (ACAS Xu's violated instances settle in under 0.3 s, MNIST-FC's
/// falsification takes a fraction of a second), short next to an instance
/// worth a cluster.
pub const SEARCH_SECONDS: f64 = 1.0;

/// Where the short search's result goes, relative to DIR.
const SEARCH_RESULT: &str = "results/search.json";

/// `format` of a phase part file.
const PHASES_FORMAT: &str = "reluverify-phases-1";

/// 64-bit FNV-1a of `bytes`, as `fnv1a64:` and 16 hex digits. Not a
/// cryptographic hash: it tells a file from another split's, which is all a
/// manifest needs (no new dependency for it).
pub fn content_hash(bytes: &[u8]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let h = bytes.iter().fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("fnv1a64:{h:016x}")
}

/// The [`content_hash`] of the file at `path`.
fn file_hash(path: &Path) -> Result<String> {
    Ok(content_hash(&std::fs::read(path).map_err(|e| Error::io(path, e))?))
}

/// What `split` writes as `DIR/manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// [`MANIFEST_FORMAT`].
    format: String,
    /// `input-boxes` or `phase-sets`.
    kind: String,
    /// The model as given to `split` (for people; `model` is what is used).
    source_model: String,
    /// The property as given to `split`.
    source_spec: String,
    /// The copy of the model, relative to DIR.
    model: String,
    /// The copy of the property, relative to DIR.
    spec: String,
    model_hash: String,
    spec_hash: String,
    /// The short search's result, relative to DIR, when it settled the
    /// instance (then there are no parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    settled: Option<String>,
    parts: Vec<PartEntry>,
}

/// One part in the manifest.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartEntry {
    id: usize,
    /// The part file, relative to DIR.
    file: String,
    hash: String,
    /// Where its command writes its result, relative to DIR.
    result: String,
}

/// A phase part file: the phases a part fixes, and the model and property
/// (by [`content_hash`]) they are phases of.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhasePart {
    /// [`PHASES_FORMAT`].
    format: String,
    /// This part's number and how many there are.
    part: usize,
    parts: usize,
    model_hash: String,
    spec_hash: String,
    /// Each fixed neuron: layer, neuron, the kink `at`, and `above`
    /// (`z >= at`, active for a ReLU) or `below` (`z <= at`).
    phases: Vec<PhaseFix>,
}

/// One fixed phase of a [`PhasePart`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseFix {
    layer: usize,
    neuron: usize,
    at: f64,
    side: Side,
}

/// The side of a kink a neuron is fixed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Side {
    Above,
    Below,
}

impl PhaseFix {
    fn constraint(&self) -> Constraint {
        let side = if self.side == Side::Above { 1.0 } else { -1.0 };
        Constraint { layer: self.layer, neuron: self.neuron, side, at: self.at }
    }
}

/// Read the JSON file at `path`, `what` `split` writes, as a `T` whose
/// `format` (given by `format_of`) must be `format`.
fn read_format<T: DeserializeOwned>(path: &Path, what: &str, format: &str, format_of: fn(&T) -> &String) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: T = serde_json::from_str(&text).map_err(|e| {
        Error::new(ErrorKind::Usage, format!("not {what} of `reluverify split`: {e}"))
            .with_path(path)
            .at(e.line(), e.column())
    })?;
    let found = format_of(&value);
    if found != format {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("format `{found}`, expected `{format}` (written by another version?)"),
        )
        .with_path(path));
    }
    Ok(value)
}

/// The fixed phases of the part file at `path` for `check --phases`, after
/// checking it was cut from the model and property files given (by hash).
pub fn read_phases(path: &Path, model: &Path, spec: &Path) -> Result<Vec<Constraint>> {
    let part: PhasePart = read_format(path, "a phase part file", PHASES_FORMAT, |p: &PhasePart| &p.format)?;
    for (what, file, want) in [("model", model, &part.model_hash), ("property", spec, &part.spec_hash)] {
        let got = file_hash(file)?;
        if &got != want {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "this part was cut from a {what} with hash {want}, but {} hashes to {got}: give the {what} \
                     the part was split from",
                    file.display()
                ),
            )
            .with_path(path));
        }
    }
    if part.phases.iter().any(|p| !p.at.is_finite()) {
        return Err(Error::new(ErrorKind::Usage, "a phase's `at` must be a finite number").with_path(path));
    }
    Ok(part.phases.iter().map(PhaseFix::constraint).collect())
}

/// A piece of a region: the region, with its box replaced by part of it.
struct Piece {
    region: usize,
    input: InputBox,
}

/// Cut `prop`'s regions into at most `n` parts, each a list of pieces that
/// together are exactly the regions (see the module doc). Fewer than `n`
/// parts only when every piece is a single point.
fn box_parts(net: &Network, prop: &Property, n: usize) -> Vec<Vec<Piece>> {
    let regions = prop.regions.len();
    if regions >= n {
        // Runs of whole regions, as even in count as can be.
        return (0..n)
            .map(|k| {
                (k * regions / n..(k + 1) * regions / n)
                    .map(|r| Piece { region: r, input: prop.regions[r].input.clone() })
                    .collect()
            })
            .collect();
    }
    let mut queue: VecDeque<Piece> =
        prop.regions.iter().enumerate().map(|(r, reg)| Piece { region: r, input: reg.input.clone() }).collect();
    while queue.len() < n {
        let Some(piece) = queue.pop_front() else { break };
        let bounds = symbolic::compute(net, &piece.input);
        let rows = prop.regions[piece.region].unsafe_set.disjuncts.iter().flat_map(|d| &d.constraints);
        let dim = split_dimension(net, &piece.input, &bounds, rows.map(|c| c.coeffs.as_slice()));
        if piece.input.upper[dim] <= piece.input.lower[dim] {
            // The widest input has no width: every piece left is a point.
            queue.push_front(piece);
            break;
        }
        let (a, b) = split_box(&piece.input, dim);
        queue.push_back(Piece { region: piece.region, input: a });
        queue.push_back(Piece { region: piece.region, input: b });
    }
    queue.into_iter().map(|p| vec![p]).collect()
}

/// The phase sets of at most `n` parts: neuron `d` of `neurons` fixed at
/// depth `d`, both sides at every level, breadth first. Fewer than `n` when
/// there are too few neurons (each set then fixes all of them).
fn phase_sets(neurons: &[(usize, usize, f64)], n: usize) -> Vec<Vec<PhaseFix>> {
    let mut queue: VecDeque<Vec<PhaseFix>> = VecDeque::from([Vec::new()]);
    while queue.len() < n {
        let Some(set) = queue.front() else { break };
        let Some(&(layer, neuron, at)) = neurons.get(set.len()) else { break };
        let set = queue.pop_front().expect("checked above");
        for side in [Side::Above, Side::Below] {
            let mut child = set.clone();
            child.push(PhaseFix { layer, neuron, at, side });
            queue.push_back(child);
        }
    }
    queue.into()
}

/// A number as VNN-LIB reads it back exactly (Rust prints the shortest
/// decimal that round-trips, never with an exponent).
fn num(v: f64) -> String {
    format!("{v}")
}

/// A linear term `sum a_k NAME_k` in VNN-LIB.
fn term(coeffs: &[(usize, f64)], var: &str) -> String {
    let parts: Vec<String> = coeffs.iter().map(|&(k, a)| format!("(* {} {var}_{k})", num(a))).collect();
    match parts.len() {
        0 => "0".to_string(),
        1 => parts[0].clone(),
        _ => format!("(+ {})", parts.join(" ")),
    }
}

/// `pieces` of `prop` as one VNN-LIB property over `inputs` inputs and
/// `outputs` outputs: a disjunction, per piece and unsafe disjunct, of the
/// piece's box, its region's input constraints and the disjunct's rows;
/// the reader groups the terms of one box back into one region. An input
/// constraint on a single input is folded into the box, rounded outwards
/// (the reader would divide by its coefficient, to nearest): the part can
/// only grow, which a proof covers and which `join` catches for a
/// counterexample by checking it on the original property.
fn to_vnnlib(prop: &Property, pieces: &[Piece], inputs: usize, outputs: usize, header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "; {line}");
    }
    for i in 0..inputs {
        let _ = writeln!(out, "(declare-const X_{i} Real)");
    }
    for k in 0..outputs {
        let _ = writeln!(out, "(declare-const Y_{k} Real)");
    }
    out += "(assert (or\n";
    for piece in pieces {
        let region = &prop.regions[piece.region];
        let mut bx = piece.input.clone();
        let mut multi: Vec<&LinearConstraint> = Vec::new();
        for c in &region.input_constraints {
            let nonzero: Vec<&(usize, f64)> = c.coeffs.iter().filter(|(_, a)| *a != 0.0).collect();
            match nonzero.as_slice() {
                [&(i, a)] if a > 0.0 => bx.upper[i] = bx.upper[i].min((c.rhs / a).next_up()),
                [&(i, a)] => bx.lower[i] = bx.lower[i].max((c.rhs / a).next_down()),
                _ => multi.push(c),
            }
        }
        let mut common = String::new();
        for i in 0..bx.dim() {
            let _ = write!(common, " (>= X_{i} {}) (<= X_{i} {})", num(bx.lower[i]), num(bx.upper[i]));
        }
        for c in multi {
            let _ = write!(common, " (<= {} {})", term(&c.coeffs, "X"), num(c.rhs));
        }
        for conj in &region.unsafe_set.disjuncts {
            let rows: String =
                conj.constraints.iter().map(|c| format!(" (<= {} {})", term(&c.coeffs, "Y"), num(c.rhs))).collect();
            let _ = writeln!(out, "  (and{common}{rows})");
        }
    }
    out += "))\n";
    out
}

/// Quote `s` for a POSIX shell when it holds anything but `[A-Za-z0-9._/-]`.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The file name of `path`, for its copy in `DIR/input`.
fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::new(ErrorKind::Usage, format!("{} names no file", path.display())))
}

/// `split`: write the folder described in the module doc.
pub fn split(args: &SplitArgs) -> Result<Exit> {
    if args.parts == 0 {
        return Err(Error::new(ErrorKind::Usage, "--parts must be at least 1"));
    }
    if let Some(t) = args.timeout.filter(|t| !(t.is_finite() && *t > 0.0)) {
        return Err(Error::new(ErrorKind::Usage, format!("--timeout must be a positive number of seconds, got {t}")));
    }
    // Checked before anything is written: a refused value leaves no folder.
    if let Some(t) = args.search.filter(|t| !(t.is_finite() && *t >= 0.0)) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("--search must be a positive number of seconds (0 to skip it), got {t}"),
        ));
    }
    let (net, prop, _) = super::load_problem(&args.model, &args.spec, &args.limits)?;
    let dir = &args.out;
    let manifest_path = dir.join("manifest.json");
    if manifest_path.exists() {
        return Err(Error::new(
            ErrorKind::Usage,
            "this folder holds an earlier split (manifest.json): remove it or give another --out",
        )
        .with_path(dir));
    }
    let (model_name, spec_name) = (file_name(&args.model)?, file_name(&args.spec)?);
    if model_name == spec_name {
        return Err(Error::new(ErrorKind::Usage, "the model and property files have the same name"));
    }
    for sub in ["input", "parts", "results"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
    }
    let model_bytes = std::fs::read(&args.model).map_err(|e| Error::io(&args.model, e))?;
    let spec_bytes = std::fs::read(&args.spec).map_err(|e| Error::io(&args.spec, e))?;
    let (model, spec) = (format!("input/{model_name}"), format!("input/{spec_name}"));
    output::write_atomic(&dir.join(&model), &model_bytes)?;
    output::write_atomic(&dir.join(&spec), &spec_bytes)?;
    let (model_hash, spec_hash) = (content_hash(&model_bytes), content_hash(&spec_bytes));

    let settled = match args.search {
        Some(0.0) => None,
        t => short_search(&net, &prop, t.unwrap_or(SEARCH_SECONDS), args.threads, dir)?,
    };
    let by_input = match args.by {
        SplitBy::Auto => net.input_dim() <= INPUT_SPLIT_MAX_DIM,
        SplitBy::Input => true,
        SplitBy::Phases => false,
    };
    let check = format!("reluverify check {} ", shell_quote(&model));
    let mut options = format!(" --json --threads {}", args.threads);
    if let Some(t) = args.timeout {
        let _ = write!(options, " --timeout {t}");
    }
    // (part file, its command's arguments after the model)
    let mut files: Vec<(String, Vec<u8>, String)> = Vec::new();
    if settled.is_some() {
        // Nothing to cut.
    } else if by_input {
        for (k, pieces) in box_parts(&net, &prop, args.parts).iter().enumerate() {
            let file = format!("parts/part-{k:03}.vnnlib");
            let header = format!(
                "part {k} of a split of {} on {} ({}, {}): input boxes",
                args.spec.display(),
                args.model.display(),
                spec_hash,
                model_hash
            );
            let text = to_vnnlib(&prop, pieces, net.input_dim(), net.output_dim(), &header);
            files.push((file.clone(), text.into_bytes(), shell_quote(&file)));
        }
    } else {
        // The bounds the phase search starts from, and its ranking there.
        let region = &prop.regions[0];
        let searched = net.clone().with_output_activation(None);
        let root = neuron_bounds::compute_until(&searched, &region.input, BoundMethod::Optimised, None, args.threads);
        let depth = args.parts.next_power_of_two().trailing_zeros() as usize;
        let neurons = branching_neurons(&searched, &prop, 0, &root, depth);
        let sets = phase_sets(&neurons, args.parts);
        for (k, set) in sets.iter().enumerate() {
            let file = format!("parts/part-{k:03}.json");
            let part = PhasePart {
                format: PHASES_FORMAT.to_string(),
                part: k,
                parts: sets.len(),
                model_hash: model_hash.clone(),
                spec_hash: spec_hash.clone(),
                phases: set.clone(),
            };
            let text = serde_json::to_string_pretty(&part).expect("JSON of plain values") + "\n";
            files.push((
                file.clone(),
                text.into_bytes(),
                format!("{} --phases {}", shell_quote(&spec), shell_quote(&file)),
            ));
        }
    }
    if settled.is_none() && files.len() < args.parts {
        output::stderr(&format!(
            "note: {} parts, not {}: {}\n",
            files.len(),
            args.parts,
            if by_input { "every piece is a single point" } else { "too few unstable neurons at the root" }
        ));
    }
    let mut commands = String::new();
    let mut parts = Vec::new();
    for (k, (file, bytes, call)) in files.iter().enumerate() {
        output::write_atomic(&dir.join(file), bytes)?;
        let result = format!("results/part-{k:03}.json");
        // The result appears whole or not at all; the line fails (exit 1)
        // only when the check could not run (exit 2), so a scheduler's
        // "after ok" dependency waits for every verdict, unknown included.
        let _ =
            writeln!(commands, "{check}{call}{options} > {result}.tmp; s=$?; mv {result}.tmp {result}; test $s -ne 2");
        parts.push(PartEntry { id: k, file: file.clone(), hash: content_hash(bytes), result });
    }
    output::write_atomic(&dir.join("commands.txt"), commands.as_bytes())?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        kind: if by_input { "input-boxes" } else { "phase-sets" }.to_string(),
        source_model: args.model.display().to_string(),
        source_spec: args.spec.display().to_string(),
        model,
        spec,
        model_hash,
        spec_hash,
        settled,
        parts,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("JSON of plain values") + "\n";
    output::write_atomic(&manifest_path, text.as_bytes())?;
    if manifest.settled.is_some() {
        output::stdout(&format!(
            "settled by the short search, no parts (commands.txt is empty): `reluverify join {}` reports it\n",
            dir.display()
        ));
        return Ok(Exit::Holds);
    }
    output::stdout(&format!(
        "{} parts ({}) in {}; run each line of {} from that folder, then `reluverify join {}`\n",
        manifest.parts.len(),
        manifest.kind,
        dir.display(),
        dir.join("commands.txt").display(),
        dir.display()
    ));
    Ok(Exit::Holds)
}

/// Run the whole check on `net` and `prop` for `seconds`; when it settles
/// the instance, write its `check --json` object to [`SEARCH_RESULT`] in
/// `dir`, say so, and return that path.
fn short_search(net: &Network, prop: &Property, seconds: f64, threads: usize, dir: &Path) -> Result<Option<String>> {
    let settings = Settings { timeout: Some(Duration::from_secs_f64(seconds)), threads, ..Settings::default() };
    let outcome = crate::search::verify(net, prop, &settings)?;
    if let Verdict::Unknown { .. } = outcome.verdict {
        return Ok(None);
    }
    let text = serde_json::to_string(&outcome_json(&outcome, prop)).expect("JSON of plain values") + "\n";
    output::write_atomic(&dir.join(SEARCH_RESULT), text.as_bytes())?;
    output::stdout(&format!(
        "{}: the short search settled the instance in {:.3} s\n",
        outcome.verdict.name(),
        outcome.stats.elapsed.as_secs_f64()
    ));
    Ok(Some(SEARCH_RESULT.to_string()))
}

/// What one part's result says.
enum PartResult {
    Holds,
    /// A counterexample that passes the check on the original problem:
    /// its input and output.
    Violated(Vec<f64>, Vec<f64>),
    /// Not settled: why.
    Open(String),
    /// The part's check could not run: its message.
    Failed(String),
}

/// Read `path`, the `check --json` object of a part, and judge it on the
/// original `net` and `prop`.
fn read_result(path: &Path, net: &Network, prop: &Property) -> (PartResult, Option<f64>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(_) => return (PartResult::Open("no result yet".into()), None),
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return (PartResult::Open("the result is not one JSON object (cut short?)".into()), None);
    };
    let seconds = v["seconds"].as_f64();
    let result = match v["verdict"].as_str() {
        Some("holds") => PartResult::Holds,
        Some("violated") => {
            let input: Option<Vec<f64>> =
                v["witness"]["input"].as_array().and_then(|a| a.iter().map(Value::as_f64).collect());
            let witness = input.and_then(|x| (0..prop.regions.len()).find_map(|r| check_witness(net, prop, r, &x)));
            match witness {
                Some(w) => PartResult::Violated(w.input().to_vec(), w.output().to_vec()),
                None => {
                    PartResult::Open("its counterexample fails the check on the original model and property".into())
                }
            }
        }
        Some("unknown") => PartResult::Open(v["reason"].as_str().unwrap_or("unknown").to_string()),
        Some("error") => PartResult::Failed(v["error"]["message"].as_str().unwrap_or("error").to_string()),
        _ => PartResult::Open("the result has no verdict".into()),
    };
    (result, seconds)
}

/// `join`: the verdict of a split instance (module doc; exit codes in
/// [`JoinArgs`]).
pub fn join(args: &JoinArgs) -> Result<Exit> {
    let dir = &args.dir;
    let path = dir.join("manifest.json");
    let manifest: Manifest = read_format(&path, "a manifest", MANIFEST_FORMAT, |m: &Manifest| &m.format)?;
    let mismatch = |file: &str, want: &str, got: &str| {
        Error::new(
            ErrorKind::Usage,
            format!("{file} hashes to {got}, but the manifest says {want}: the folder was changed after the split"),
        )
        .with_path(dir.join(file))
    };
    let files = [(&manifest.model, &manifest.model_hash), (&manifest.spec, &manifest.spec_hash)];
    for (file, want) in files.into_iter().chain(manifest.parts.iter().map(|p| (&p.file, &p.hash))) {
        let got = file_hash(&dir.join(file))?;
        if &got != want {
            return Err(mismatch(file, want, &got));
        }
    }
    if manifest.parts.iter().enumerate().any(|(k, p)| p.id != k) {
        return Err(Error::new(ErrorKind::Usage, "the manifest's parts are not numbered 0, 1, ...").with_path(&path));
    }
    let (net, prop, _) = super::load_problem(&dir.join(&manifest.model), &dir.join(&manifest.spec), &args.limits)?;
    if let Some(file) = &manifest.settled {
        let exit = match read_result(&dir.join(file), &net, &prop).0 {
            PartResult::Holds => {
                output::stdout("holds: settled by the short search before the split\n");
                Exit::Holds
            }
            PartResult::Violated(x, y) => {
                output::stdout(&format!(
                    "violated: the short search's counterexample passes the f64 check on the original model and \
                     property\n  input:  {x:?}\n  output: {y:?}\n"
                ));
                Exit::Violated
            }
            PartResult::Open(why) | PartResult::Failed(why) => {
                return Err(Error::new(ErrorKind::Usage, format!("the short search's result is not usable: {why}"))
                    .with_path(dir.join(file)));
            }
        };
        return Ok(exit);
    }
    let mut table = format!("{:>5} {:<9} {:>9}  note\n", "part", "verdict", "seconds");
    let (mut open, mut failed, mut violated) = (Vec::new(), Vec::new(), None);
    let (mut sum, mut longest) = (0.0f64, 0.0f64);
    for part in &manifest.parts {
        let (result, seconds) = read_result(&dir.join(&part.result), &net, &prop);
        sum += seconds.unwrap_or(0.0);
        longest = longest.max(seconds.unwrap_or(0.0));
        let secs = seconds.map_or("-".to_string(), |s| format!("{s:.3}"));
        let (name, note) = match &result {
            PartResult::Holds => ("holds", String::new()),
            PartResult::Violated(..) => ("violated", "counterexample checked on the original".to_string()),
            PartResult::Open(why) => ("open", why.clone()),
            PartResult::Failed(msg) => ("error", msg.clone()),
        };
        let _ = writeln!(table, "{:>5} {:<9} {:>9}  {note}", part.id, name, secs);
        match result {
            PartResult::Holds => {}
            PartResult::Violated(x, y) => {
                violated.get_or_insert((part.id, x, y));
            }
            PartResult::Open(_) => open.push(part.id),
            PartResult::Failed(_) => failed.push(part.id),
        }
    }
    let n = manifest.parts.len();
    let _ = writeln!(table, "parts: {n} ({}); sum of part seconds {sum:.3}, longest {longest:.3}", manifest.kind);
    output::stdout(&table);
    let list = |ids: &[usize]| ids.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
    if let Some((id, x, y)) = violated {
        output::stdout(&format!(
            "violated: the counterexample of part {id} passes the f64 check on the original model and property\n  \
             input:  {x:?}\n  output: {y:?}\n"
        ));
        return Ok(Exit::Violated);
    }
    if !failed.is_empty() {
        output::stderr(&format!("error: parts {} could not be checked (their results say why)\n", list(&failed)));
        return Ok(Exit::Error);
    }
    if !open.is_empty() {
        output::stdout(&format!("unknown: {} of {n} parts still open: {}\n", open.len(), list(&open)));
        return Ok(Exit::Unknown);
    }
    output::stdout(&format!("holds: all {n} parts hold\n"));
    Ok(Exit::Holds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::testutil;

    /// The FNV-1a test vectors of its authors.
    #[test]
    fn fnv1a_reference_values() {
        assert_eq!(content_hash(b""), "fnv1a64:cbf29ce484222325");
        assert_eq!(content_hash(b"a"), "fnv1a64:af63dc4c8601ec8c");
        assert_eq!(content_hash(b"foobar"), "fnv1a64:85944171f73967e8");
    }

    /// ACAS Xu property 6 (two regions) written back as VNN-LIB reads back
    /// as the same regions.
    #[test]
    fn parts_read_back_as_written() {
        let (prop, _) = crate::spec::load(Path::new("specs/acasxu_prop6.vnnlib")).unwrap();
        let pieces: Vec<Piece> =
            prop.regions.iter().enumerate().map(|(r, reg)| Piece { region: r, input: reg.input.clone() }).collect();
        let text = to_vnnlib(&prop, &pieces, 5, 5, "test");
        let back = crate::spec::vnnlib::parse(&text).unwrap();
        assert_eq!(back.regions, prop.regions);
    }

    /// Random networks and properties (with input constraints now and
    /// then): the parts' pieces lie in their regions, and every dense
    /// random point of a region lies in some piece of it.
    #[test]
    fn box_parts_cover_each_region_exactly() {
        let mut rng = Rng::new(26);
        for case in 0..40 {
            let net = testutil::random_network(&mut rng, 4);
            let prop = testutil::random_property(&mut rng, &net);
            let n = 1 + case % 7;
            let parts = box_parts(&net, &prop, n);
            assert_eq!(parts.len(), n.max(prop.regions.len().min(n)));
            let pieces: Vec<&Piece> = parts.iter().flatten().collect();
            for p in &pieces {
                let r = &prop.regions[p.region].input;
                assert!((0..r.dim()).all(|i| r.lower[i] <= p.input.lower[i] && p.input.upper[i] <= r.upper[i]));
            }
            for (r, region) in prop.regions.iter().enumerate() {
                for x in crate::bounds::tests::sample(&mut rng, &region.input, 200) {
                    assert!(pieces.iter().any(|p| p.region == r && p.input.contains(&x)), "case {case}: {x:?}");
                }
            }
        }
    }

    /// The phase sets of n parts: n of them, and every sign pattern of the
    /// neurons is in exactly one.
    #[test]
    fn phase_sets_cover_every_pattern_once() {
        let neurons = [(0, 3, 0.0), (1, 0, 0.0), (0, 1, 0.5)];
        for n in 1..=8 {
            let sets = phase_sets(&neurons, n);
            assert_eq!(sets.len(), n);
            for pattern in 0..8u32 {
                let z: Vec<f64> = (0..3).map(|d| if pattern >> d & 1 == 1 { 1.0 } else { -1.0 }).collect();
                let holds = |f: &PhaseFix| {
                    let d = neurons.iter().position(|&(l, i, _)| (l, i) == (f.layer, f.neuron)).unwrap();
                    (z[d] >= 0.0) == (f.side == Side::Above)
                };
                let within = sets.iter().filter(|s| s.iter().all(holds)).count();
                assert_eq!(within, 1, "n {n}, pattern {pattern}");
            }
        }
        assert_eq!(phase_sets(&neurons[..1], 8).len(), 2);
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_quote("input/a-1.onnx"), "input/a-1.onnx");
        assert_eq!(shell_quote("it's here"), "'it'\\''s here'");
    }
}
