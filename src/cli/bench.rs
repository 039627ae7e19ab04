//! `reluverify bench`: run a VNN-COMP instance list and report like the
//! competition does.
//!
//! Each `onnx,vnnlib,timeout` row is checked in turn (every model and
//! property file is loaded once, however many rows share it; file names are
//! relative to `--root`, by default the list's folder, and errors name the
//! file as opened). A first row `onnx,vnnlib,timeout` is a header and
//! skipped: VNN-COMP lists have none, but people add one. A summary table
//! is printed, and with `--expected` every disagreement is marked.
//!
//! The exit code is the run's worst outcome, so that neither a wrong answer
//! nor a typo in a path can make a run pass:
//!
//! | code | when |
//! |---|---|
//! | 0 | every instance answered (holds, violated or unknown) and none contradicts `--expected` |
//! | 1 | some answer contradicts `--expected` (holds where violated is expected, or the reverse); takes precedence over errors |
//! | 2 | some instance is an `error` (a file that does not load, a property that does not fit its network), or the list or options are unusable |
//!
//! **Nothing is lost when a run is killed.** Harnesses and CI runners kill
//! long runs, so `--out` is not written at the end: the header goes to the
//! file first and each instance's row is appended as soon as it ends, with
//! one `write` call of the whole line on an unbuffered file, so a reader
//! (and a run killed by SIGTERM or SIGKILL) sees only whole rows.
//! `--resume` reads such a file back, drops a last line left without its
//! newline (a write cut short by a full disk or a power loss), keeps the
//! rows of instances already there and runs only the rest; the summary and
//! exit code then cover every instance of the list, as one uninterrupted
//! run would. Rows are matched by `onnx,vnnlib` as written in the list,
//! once each (a list naming an instance twice needs two rows).
//!
//! **Past one machine.** `--shard I/N` runs part `I` of `N` of the list
//! ([`assign_shards`]: deterministic, balanced by estimated cost), each part
//! a job-array task writing its own `--out`; `bench-merge` ([`bench_merge`])
//! reads those files back as `--resume` does, matches their rows to the
//! list as `--resume` does, and reports through the same [`conclude`] as a
//! single run, with missing and duplicated instances as errors.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::args::{BenchArgs, BenchMergeArgs, Shard};
use super::exit::Exit;
use super::output;
use crate::bounds::BoundMethod;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::LoadLimits;
use crate::model::{self, Network};
use crate::spec::{self, Property};
use crate::verdict::{check_witness, Verdict};
use crate::verify;

/// The header of an instance list, when it has one (skipped).
const LIST_HEADER: [&str; 3] = ["onnx", "vnnlib", "timeout"];

/// The first line of a `--out` file: the columns of [`Row::csv_line`].
const OUT_HEADER: &str = "onnx,vnnlib,verdict,seconds,witness_validated,expected,agrees,falsify_s,bounds_s,search_s";

/// The verdicts a row may hold.
const VERDICTS: [&str; 4] = ["holds", "violated", "unknown", "error"];

/// One instance of the list.
struct Instance {
    onnx: String,
    vnnlib: String,
    timeout: f64,
    /// The 1-based line of the list it came from, for error messages.
    line: usize,
}

/// One finished instance.
struct Row {
    onnx: String,
    vnnlib: String,
    verdict: String,
    seconds: f64,
    /// Falsification, root bounds and search seconds inside `verify` (zero
    /// after an error): where an instance's time went, and, against
    /// `seconds`, how much went outside `verify`.
    phases: [f64; 3],
    witness_validated: bool,
    expected: Option<String>,
}

impl Row {
    /// `true` when the verdict contradicts a known expected answer.
    fn wrong(&self) -> bool {
        matches!(
            (self.verdict.as_str(), self.expected.as_deref()),
            ("holds", Some("violated")) | ("violated", Some("holds"))
        )
    }

    /// The row as one line of the `--out` file ([`OUT_HEADER`]), newline
    /// included.
    fn csv_line(&self) -> String {
        let agrees = match self.expected.as_deref() {
            None | Some("unknown") => "",
            Some(e) if e == self.verdict => "yes",
            Some(_) if self.wrong() => "WRONG",
            Some(_) => "no",
        };
        format!(
            "{},{},{},{:.4},{},{},{},{:.4},{:.4},{:.4}\n",
            self.onnx,
            self.vnnlib,
            self.verdict,
            self.seconds,
            self.witness_validated,
            self.expected.as_deref().unwrap_or(""),
            agrees,
            self.phases[0],
            self.phases[1],
            self.phases[2]
        )
    }

    /// Read back a line written by [`Row::csv_line`] (without its newline);
    /// `None` when it is not one.
    fn parse(line: &str) -> Option<Row> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 10 || !VERDICTS.contains(&f[2]) {
            return None;
        }
        let secs = |s: &str| s.parse::<f64>().ok().filter(|t| t.is_finite() && *t >= 0.0);
        Some(Row {
            onnx: f[0].to_string(),
            vnnlib: f[1].to_string(),
            verdict: f[2].to_string(),
            seconds: secs(f[3])?,
            witness_validated: f[4].parse().ok()?,
            expected: Some(f[5].to_string()).filter(|e| !e.is_empty()),
            phases: [secs(f[7])?, secs(f[8])?, secs(f[9])?],
        })
    }
}

/// The `--out` file of a run: the header first, then one row appended per
/// finished instance (see the module doc for why rows survive a kill).
struct OutFile {
    path: PathBuf,
    /// Unbuffered, so that each [`OutFile::append`] is one `write` call.
    file: File,
}

impl OutFile {
    /// Create (or replace) the file at `path` and write the header; the
    /// folder is created if missing.
    fn create(path: &Path) -> Result<OutFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        output::check_writable(path)?;
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut out = OutFile { path: path.to_path_buf(), file };
        out.write_line(&format!("{OUT_HEADER}\n"))?;
        Ok(out)
    }

    /// Open the file a killed run left at `path` and read its rows back, to
    /// append the rest; a missing or empty file starts afresh. A last line
    /// without its newline was cut short: it is cut off the file too.
    fn resume(path: &Path) -> Result<(OutFile, Vec<Row>)> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((OutFile::create(path)?, Vec::new())),
            Err(e) => return Err(Error::io(path, e)),
        };
        // Only whole lines count: up to and including the last newline.
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if whole == 0 {
            return Ok((OutFile::create(path)?, Vec::new()));
        }
        let rows = parse_rows(path, &String::from_utf8_lossy(&bytes[..whole]))?;
        let mut file = OpenOptions::new().write(true).open(path).map_err(|e| Error::io(path, e))?;
        let cut = |e| Error::io(path, e);
        file.set_len(whole as u64).map_err(cut)?;
        file.seek(SeekFrom::End(0)).map_err(cut)?;
        Ok((OutFile { path: path.to_path_buf(), file }, rows))
    }

    /// Append `row` with one write of the whole line.
    fn append(&mut self, row: &Row) -> Result<()> {
        self.write_line(&row.csv_line())
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        self.file.write_all(line.as_bytes()).and_then(|()| self.file.flush()).map_err(|e| Error::io(&self.path, e))
    }
}

/// The rows of a file written by `bench --out` (whole lines: the caller cuts
/// a torn last line off), after its header.
fn parse_rows(path: &Path, text: &str) -> Result<Vec<Row>> {
    let mut lines = text.lines().enumerate();
    let not_ours = |line: usize, what: &str| {
        Error::new(
            ErrorKind::Usage,
            format!(
                "{what}; expected a file written by `reluverify bench --out`, whose first line is `{OUT_HEADER}` \
                 (for --resume: give another --out, or drop --resume to replace it)"
            ),
        )
        .with_path(path)
        .at(line, 1)
    };
    if lines.next().map(|(_, l)| l) != Some(OUT_HEADER) {
        return Err(not_ours(1, "the first line is not the header of a bench result file"));
    }
    lines.map(|(i, l)| Row::parse(l).ok_or_else(|| not_ours(i + 1, "not a result row of 10 fields"))).collect()
}

/// Print a line above the progress bar, or straight to stderr when the bar is
/// hidden (stderr is not a terminal, as in CI logs), where `println` on the
/// bar would drop it.
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        output::stderr(&format!("{line}\n"));
    } else {
        bar.println(line);
    }
}

/// The models and properties of an instance list, each file loaded once
/// however many instances share it; a file that fails to load keeps its error.
#[derive(Default)]
struct Files {
    /// The `--max-*` limits every file is loaded within.
    limits: LoadLimits,
    models: HashMap<String, Result<Network>>,
    props: HashMap<String, Result<Property>>,
}

impl Files {
    /// The model and property of `inst`, loading each file on first use from
    /// its path under `root` (which errors name).
    /// A property with a pending `argmax` is expanded for the model
    /// ([`Property::fit`]); others are borrowed as loaded.
    fn get(&mut self, root: &Path, inst: &Instance) -> Result<(&Network, Cow<'_, Property>)> {
        let limits = &self.limits;
        self.models.entry(inst.onnx.clone()).or_insert_with(|| model::load_with(&root.join(&inst.onnx), limits));
        self.props
            .entry(inst.vnnlib.clone())
            .or_insert_with(|| spec::load_with(&root.join(&inst.vnnlib), limits).map(|(p, _)| p));
        match (&self.models[&inst.onnx], &self.props[&inst.vnnlib]) {
            (Ok(net), Ok(prop)) if prop.argmax.is_some() => Ok((net, Cow::Owned(prop.clone().fit(net)?))),
            (Ok(net), Ok(prop)) => Ok((net, Cow::Borrowed(prop))),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        }
    }
}

impl Files {
    /// The instances of part `shard` of the list, in list order
    /// ([`assign_shards`] by each instance's [`Files::cost`]); models of
    /// the other parts are not kept.
    fn shard(&mut self, root: &Path, instances: Vec<Instance>, shard: Shard) -> Vec<Instance> {
        let costs: Vec<f64> = instances.iter().map(|inst| self.cost(root, inst)).collect();
        let parts = assign_shards(&costs, shard.count);
        let mine: Vec<Instance> =
            instances.into_iter().zip(parts).filter(|&(_, p)| p == shard.index).map(|(inst, _)| inst).collect();
        self.models.retain(|onnx, _| mine.iter().any(|inst| &inst.onnx == onnx));
        mine
    }

    /// The cost estimate of an instance: the network's inputs times its
    /// weights (each layer's rows x columns), loading the model on first use;
    /// 0 for a model that does not load (its row will be an `error`).
    fn cost(&mut self, root: &Path, inst: &Instance) -> f64 {
        let limits = &self.limits;
        let net =
            self.models.entry(inst.onnx.clone()).or_insert_with(|| model::load_with(&root.join(&inst.onnx), limits));
        net.as_ref().map_or(0.0, |net| {
            let weights: f64 =
                net.layers().iter().map(|l| (l.affine.weights.rows() * l.affine.weights.cols()) as f64).sum();
            net.input_dim() as f64 * weights
        })
    }
}

/// The part, `0 .. count`, of each of the instances whose estimated costs
/// are `costs`: longest processing time first (greedy by falling cost, ties
/// in list order, each to the part with the least cost so far, ties to the
/// lowest part). Deterministic, so each shard computes its own part alone;
/// no part's total exceeds another's by more than the largest single cost.
fn assign_shards(costs: &[f64], count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let mut load = vec![0.0f64; count];
    let mut part = vec![0; costs.len()];
    for i in order {
        let p = (0..count).fold(0, |best, p| if load[p] < load[best] { p } else { best });
        load[p] += costs[i];
        part[i] = p;
    }
    part
}

/// `bench-merge`: the rows of the shards' `--out` files as one run's: every
/// instance of `--instances` (or of `--expected`) must have exactly one row;
/// a missing instance, a second row and a row of no listed instance are
/// errors. The summary and exit code are those of `bench`
/// ([`conclude`]); with `--expected`, each row's expected answer is taken
/// from it, else the shards' own column stands.
pub fn bench_merge(args: &BenchMergeArgs) -> Result<Exit> {
    let expected = args.expected.as_deref().map(read_expected).transpose()?;
    let list = match (&args.instances, &expected) {
        (Some(p), _) => read_instances(p)?,
        (None, Some(e)) => {
            let mut keys: Vec<&(String, String)> = e.keys().collect();
            keys.sort();
            keys.into_iter()
                .map(|(onnx, vnnlib)| Instance { onnx: onnx.clone(), vnnlib: vnnlib.clone(), timeout: 0.0, line: 0 })
                .collect()
        }
        (None, None) => return Err(Error::new(
            ErrorKind::Usage,
            "bench-merge needs --instances (the list the shards ran) or --expected to know which instances to expect",
        )),
    };
    let mut rows = Vec::new();
    for path in &args.parts {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        // Only whole lines: a shard killed mid-write leaves its instance missing.
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        rows.extend(parse_rows(path, &String::from_utf8_lossy(&bytes[..whole]))?);
    }
    let total = list.len();
    let (mut kept, missing, stray) = match_done(list, rows);
    for inst in &missing {
        let at = args.instances.as_ref().map_or(String::new(), |p| format!(" ({}:{})", p.display(), inst.line));
        output::stderr(&format!("error: no shard answered {} {}{at}\n", inst.onnx, inst.vnnlib));
    }
    for row in &stray {
        output::stderr(&format!(
            "error: a second row, or a row of an instance not in the list: {} {} ({})\n",
            row.onnx, row.vnnlib, row.verdict
        ));
    }
    if let Some(e) = &expected {
        for row in &mut kept {
            row.expected = e.get(&(row.onnx.clone(), row.vnnlib.clone())).cloned();
        }
    }
    if let Some(out) = &args.out {
        let text: String = std::iter::once(format!("{OUT_HEADER}\n")).chain(kept.iter().map(Row::csv_line)).collect();
        output::write_atomic(out, text.as_bytes())?;
    }
    for row in kept.iter().filter(|r| r.wrong()) {
        output::stderr(&format!(
            "WRONG ANSWER: {} {}: got {}, expected {}\n",
            row.onnx,
            row.vnnlib,
            row.verdict,
            row.expected.as_deref().unwrap_or("?")
        ));
    }
    let problems = missing.len() + stray.len();
    if problems > 0 {
        output::stderr(&format!(
            "error: {} instance(s) missing, {} row(s) duplicated or not in the list\n",
            missing.len(),
            stray.len()
        ));
    }
    Ok(conclude(&kept, total, problems))
}

/// Read a CSV file with no quoting into rows of fields; lines starting with
/// `#` and blank lines are skipped.
fn read_csv(path: &Path) -> Result<Vec<(usize, Vec<String>)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split(',').map(|f| f.trim().to_string()).collect()))
        .collect())
}

/// The instances of a list, a first row `onnx,vnnlib,timeout` skipped.
fn read_instances(path: &Path) -> Result<Vec<Instance>> {
    let mut rows = read_csv(path)?;
    if rows.first().is_some_and(|(_, f)| f.iter().map(|s| s.to_ascii_lowercase()).eq(LIST_HEADER)) {
        rows.remove(0);
    }
    rows.into_iter()
        .map(|(line, f)| {
            let bad = |msg: &str| Error::new(ErrorKind::Usage, msg.to_string()).with_path(path).at(line, 1);
            if f.len() != 3 {
                return Err(bad("expected `onnx,vnnlib,timeout`"));
            }
            let timeout: f64 = f[2].parse().map_err(|_| bad("timeout must be a number of seconds"))?;
            Ok(Instance { onnx: f[0].clone(), vnnlib: f[1].clone(), timeout, line })
        })
        .collect()
}

/// `expected.csv`: `onnx,vnnlib,expected,...` with a header line.
fn read_expected(path: &Path) -> Result<HashMap<(String, String), String>> {
    Ok(read_csv(path)?
        .into_iter()
        .filter(|(_, f)| f.len() >= 3 && f[2] != "expected")
        .map(|(_, f)| ((f[0].clone(), f[1].clone()), f[2].clone()))
        .collect())
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Split `instances` into those with a row in `done` (the rows, in list
/// order) and those still to run; each row answers one instance with its
/// `onnx,vnnlib`. Also returns the rows that answer no instance of the list
/// (of another instance, or one answered already).
fn match_done(instances: Vec<Instance>, done: Vec<Row>) -> (Vec<Row>, Vec<Instance>, Vec<Row>) {
    let mut by_key: HashMap<(String, String), Vec<Row>> = HashMap::new();
    for row in done.into_iter().rev() {
        by_key.entry((row.onnx.clone(), row.vnnlib.clone())).or_default().push(row);
    }
    let (mut kept, mut todo) = (Vec::new(), Vec::new());
    for inst in instances {
        match by_key.get_mut(&(inst.onnx.clone(), inst.vnnlib.clone())).and_then(Vec::pop) {
            Some(row) => kept.push(row),
            None => todo.push(inst),
        }
    }
    let mut stray: Vec<Row> = by_key.into_values().flatten().collect();
    stray.sort_by(|a, b| (&a.onnx, &a.vnnlib).cmp(&(&b.onnx, &b.vnnlib)));
    (kept, todo, stray)
}

/// Run the benchmark and print its summary; the exit code is in the module doc.
pub fn bench(args: &BenchArgs) -> Result<Exit> {
    let instances = read_instances(&args.instances)?;
    let root = args.root.clone().unwrap_or_else(|| args.instances.parent().map(Path::to_path_buf).unwrap_or_default());
    if args.bounds_table {
        return bounds_table(args, &instances, &root);
    }
    let expected = match &args.expected {
        Some(p) => read_expected(p)?,
        None => HashMap::new(),
    };
    let mut files = Files { limits: args.limits.limits()?, ..Files::default() };
    let instances = match args.shard {
        Some(shard) => files.shard(&root, instances, shard),
        None => instances,
    };
    let (mut out, done) = match &args.out {
        Some(p) if args.resume => {
            let (out, done) = OutFile::resume(p)?;
            (Some(out), done)
        }
        Some(p) => (Some(OutFile::create(p)?), Vec::new()),
        None => (None, Vec::new()),
    };
    let total = instances.len();
    let (mut rows, todo, stray) = match_done(instances, done);
    if let (Some(out), true) = (&args.out, args.resume) {
        let mut note =
            format!("resuming {}: {} of {total} instances done, {} to run", out.display(), rows.len(), todo.len());
        if !stray.is_empty() {
            let _ = write!(note, "; {} row(s) of other instances stay in the file, outside the summary", stray.len());
        }
        output::stderr(&format!("{note}\n"));
    }
    for row in &mut rows {
        row.expected = expected.get(&(row.onnx.clone(), row.vnnlib.clone())).cloned();
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_position(rows.len() as u64);
    let count = |rows: &[Row], v: &str| rows.iter().filter(|r| r.verdict == v).count();
    let (mut n_holds, mut n_violated) = (count(&rows, "holds"), count(&rows, "violated"));
    let list = args.instances.display();
    for inst in &todo {
        let timeout = args.timeout_cap.map_or(inst.timeout, |c| c.min(inst.timeout));
        let settings = args.search.settings(Some(timeout.max(0.001)))?;
        let start = Instant::now();
        let (verdict, validated, phases) = match files.get(&root, inst) {
            Ok((net, prop)) => match verify(net, &prop, &settings) {
                Ok(o) => {
                    let validated = match &o.verdict {
                        Verdict::Violated { witness } => {
                            check_witness(net, &prop, witness.region(), witness.input()).is_some()
                        }
                        _ => false,
                    };
                    let p = &o.stats.phases;
                    let phases = [p.falsify, p.bounds, p.search].map(|d| d.as_secs_f64());
                    (o.verdict.name().to_string(), validated, phases)
                }
                Err(e) => {
                    let (onnx, vnnlib) = (root.join(&inst.onnx), root.join(&inst.vnnlib));
                    say(
                        &bar,
                        format!("error: {list}:{}: {} with {}: {e}", inst.line, onnx.display(), vnnlib.display()),
                    );
                    ("error".to_string(), false, [0.0; 3])
                }
            },
            // Load errors name the file as opened (under `root`).
            Err(e) => {
                say(&bar, format!("error: {list}:{}: {e}", inst.line));
                ("error".to_string(), false, [0.0; 3])
            }
        };
        let row = Row {
            onnx: inst.onnx.clone(),
            vnnlib: inst.vnnlib.clone(),
            verdict,
            seconds: start.elapsed().as_secs_f64(),
            phases,
            witness_validated: validated,
            expected: expected.get(&(inst.onnx.clone(), inst.vnnlib.clone())).cloned(),
        };
        if let Some(out) = &mut out {
            out.append(&row)?;
        }
        if row.wrong() {
            say(
                &bar,
                format!(
                    "WRONG ANSWER: {} {}: got {}, expected {}",
                    row.onnx,
                    row.vnnlib,
                    row.verdict,
                    row.expected.as_deref().unwrap_or("?")
                ),
            );
        }
        n_holds += usize::from(row.verdict == "holds");
        n_violated += usize::from(row.verdict == "violated");
        bar.set_message(format!(
            "{} {}: {} | holds {n_holds} violated {n_violated}",
            row.onnx, row.vnnlib, row.verdict
        ));
        bar.inc(1);
        rows.push(row);
    }
    bar.finish_and_clear();
    Ok(conclude(&rows, total, 0))
}

/// Print the summary of `rows` (answers to `total` instances), then what
/// went wrong: wrong answers, `error` rows and `other_errors` problems
/// already printed (instances missing or answered twice); the exit code is
/// in the module doc.
fn conclude(rows: &[Row], total: usize, other_errors: usize) -> Exit {
    output::stdout(&summary(rows));
    let count = |v: &str| rows.iter().filter(|r| r.verdict == v).count();
    let wrong = rows.iter().filter(|r| r.wrong()).count();
    let errors = count("error");
    if wrong > 0 {
        output::stderr(&format!("error: {wrong} WRONG ANSWER(S) against the expected results\n"));
        return Exit::Violated;
    }
    if errors > 0 {
        output::stderr(&format!(
            "error: {errors} of {total} instance(s) could not be checked (the `error` rows; messages above)\n"
        ));
        return Exit::Error;
    }
    if other_errors > 0 {
        return Exit::Error;
    }
    Exit::Holds
}

/// The summary table: one line per property file and a total line.
fn summary(rows: &[Row]) -> String {
    let mut groups: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        groups.entry(&r.vnnlib).or_default().push(r);
    }
    let mut out = format!(
        "{:<24} {:>5} {:>6} {:>8} {:>7} {:>5} {:>5} {:>9} {:>9}\n",
        "property", "n", "holds", "violated", "unknown", "error", "wrong", "total s", "median s"
    );
    let mut line = |name: &str, rs: &[&Row]| {
        let count = |v: &str| rs.iter().filter(|r| r.verdict == v).count();
        let mut secs: Vec<f64> = rs.iter().map(|r| r.seconds).collect();
        let total: f64 = secs.iter().sum();
        let _ = writeln!(
            out,
            "{:<24} {:>5} {:>6} {:>8} {:>7} {:>5} {:>5} {:>9.2} {:>9.3}",
            name,
            rs.len(),
            count("holds"),
            count("violated"),
            count("unknown"),
            count("error"),
            rs.iter().filter(|r| r.wrong()).count(),
            total,
            median(&mut secs)
        );
    };
    for (name, rs) in &groups {
        line(name, rs);
    }
    let all: Vec<&Row> = rows.iter().collect();
    line("TOTAL", &all);
    out
}

/// Unstable neurons and milliseconds per bounding method
/// ([`BoundMethod::ALL`]), for one instance.
type BoundsRow = ([usize; METHODS], [f64; METHODS]);

/// How many bounding methods `bench --bounds-table` compares.
const METHODS: usize = BoundMethod::ALL.len();

/// `bench --bounds-table`: per instance and bounding method, the unstable
/// neurons (summed over regions) and the time to compute the bounds; LP
/// tightening gets the instance's (capped) timeout as its budget.
/// `--out` is written atomically once the table is complete, and checked
/// writable before the work.
fn bounds_table(args: &BenchArgs, instances: &[Instance], root: &Path) -> Result<Exit> {
    if let Some(out) = &args.out {
        output::check_writable(out)?;
    }
    let mut files = Files { limits: args.limits.limits()?, ..Files::default() };
    let bar = ProgressBar::new(instances.len() as u64);
    let names = BoundMethod::ALL.map(BoundMethod::name);
    let mut csv = format!(
        "onnx,vnnlib,{},{}\n",
        names.map(|n| format!("unstable_{n}")).join(","),
        names.map(|n| format!("ms_{n}")).join(",")
    );
    let mut groups: BTreeMap<&str, Vec<BoundsRow>> = BTreeMap::new();
    for inst in instances {
        let (net, prop) = files.get(root, inst)?;
        let timeout = args.timeout_cap.map_or(inst.timeout, |c| c.min(inst.timeout));
        let (mut unstable, mut ms) = ([0; METHODS], [0.0; METHODS]);
        for (m, method) in BoundMethod::ALL.into_iter().enumerate() {
            let start = Instant::now();
            let deadline = start + Duration::from_secs_f64(timeout.max(0.001));
            for region in &prop.regions {
                let nb = crate::search::neuron_bounds::compute_until(
                    net,
                    &region.input,
                    method,
                    Some(deadline),
                    args.search.threads,
                );
                unstable[m] += nb.unstable_count(net);
            }
            ms[m] = start.elapsed().as_secs_f64() * 1e3;
        }
        let _ = writeln!(
            csv,
            "{},{},{},{}",
            inst.onnx,
            inst.vnnlib,
            unstable.map(|u| u.to_string()).join(","),
            ms.map(|t| format!("{t:.3}")).join(",")
        );
        groups.entry(&inst.vnnlib).or_default().push((unstable, ms));
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(out) = &args.out {
        output::write_atomic(out, csv.as_bytes())?;
    }
    let columns = names.map(|n| format!("{n:>9}")).join(" ");
    output::stdout(&format!("{:<24} {:>4} | mean unstable: {columns} | median ms: {columns}\n", "property", "n"));
    let line = |name: &str, rows: &[BoundsRow]| {
        let cells =
            |f: &dyn Fn(usize) -> f64| (0..METHODS).map(|m| format!("{:>9.1}", f(m))).collect::<Vec<_>>().join(" ");
        let mean = cells(&|m| rows.iter().map(|r| r.0[m] as f64).sum::<f64>() / rows.len().max(1) as f64);
        let med = cells(&|m| median(&mut rows.iter().map(|r| r.1[m]).collect::<Vec<_>>()));
        output::stdout(&format!("{:<24} {:>4} | {:>15}{mean} | {:>11}{med}\n", name, rows.len(), "", ""));
    };
    let mut all = Vec::new();
    for (name, rows) in &groups {
        line(name, rows);
        all.extend_from_slice(rows);
    }
    line("TOTAL", &all);
    Ok(Exit::Holds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(onnx: &str, vnnlib: &str, verdict: &str) -> Row {
        Row {
            onnx: onnx.into(),
            vnnlib: vnnlib.into(),
            verdict: verdict.into(),
            seconds: 1.25,
            phases: [0.25, 0.5, 0.5],
            witness_validated: verdict == "violated",
            expected: Some("holds".into()),
        }
    }

    fn inst(onnx: &str, vnnlib: &str) -> Instance {
        Instance { onnx: onnx.into(), vnnlib: vnnlib.into(), timeout: 1.0, line: 1 }
    }

    #[test]
    fn rows_read_back_as_written() {
        for verdict in VERDICTS {
            let r = row("m.onnx", "p.vnnlib", verdict);
            let line = r.csv_line();
            assert!(line.ends_with('\n') && line.matches('\n').count() == 1, "{line:?}");
            let back = Row::parse(line.trim_end()).expect("a written row parses");
            assert_eq!(back.csv_line(), line);
        }
        // Cut short, or not a row at all.
        let line = row("m.onnx", "p.vnnlib", "holds").csv_line();
        assert!(Row::parse(&line[..line.len() - 8]).is_none());
        assert!(Row::parse(OUT_HEADER).is_none());
    }

    #[test]
    fn done_rows_answer_one_instance_each() {
        let list = vec![inst("a", "p"), inst("a", "p"), inst("a", "q"), inst("b", "p")];
        let done = vec![row("a", "p", "holds"), row("b", "p", "violated"), row("c", "p", "holds")];
        let (kept, todo, stray) = match_done(list, done);
        let keys =
            |v: Vec<(&str, &str)>| v.into_iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        assert_eq!(
            kept.iter().map(|r| (r.onnx.clone(), r.vnnlib.clone())).collect::<Vec<_>>(),
            keys(vec![("a", "p"), ("b", "p")])
        );
        // The second `a,p` has no row of its own: it runs.
        assert_eq!(
            todo.iter().map(|i| (i.onnx.clone(), i.vnnlib.clone())).collect::<Vec<_>>(),
            keys(vec![("a", "p"), ("a", "q")])
        );
        assert_eq!(stray.len(), 1);
    }

    /// Every instance in exactly one part; the parts' totals within the
    /// largest single cost of each other (the LPT bound); the same answer
    /// on every call; equal costs dealt out evenly.
    #[test]
    fn shards_balance_cost_not_count() {
        let mut rng = crate::rng::Rng::new(4);
        for n in 1..6 {
            let costs: Vec<f64> = (0..37).map(|_| rng.range(0.0, 10.0).powi(3)).collect();
            let parts = assign_shards(&costs, n);
            assert_eq!(parts, assign_shards(&costs, n));
            assert!(parts.iter().all(|&p| p < n));
            let load: Vec<f64> = (0..n).map(|p| (0..37).filter(|&i| parts[i] == p).map(|i| costs[i]).sum()).collect();
            let top = costs.iter().copied().fold(0.0, f64::max);
            let (lo, hi) =
                (load.iter().copied().fold(f64::INFINITY, f64::min), load.iter().copied().fold(0.0, f64::max));
            assert!(hi - lo <= top + 1e-9, "{load:?}");
        }
        // One costly instance against many cheap ones: it is alone in its part.
        let costs = [100.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(assign_shards(&costs, 2), vec![0, 1, 1, 1, 1, 1]);
        let even = assign_shards(&[1.0; 8], 4);
        assert!((0..4).all(|p| even.iter().filter(|&&q| q == p).count() == 2));
    }

    #[test]
    fn a_header_row_is_skipped_only_first() {
        let dir = std::env::temp_dir().join(format!("reluverify-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let list = dir.join("list.csv");
        std::fs::write(&list, "# comment\nONNX, vnnlib ,timeout\nm.onnx,p.vnnlib,10\n").unwrap();
        let got = read_instances(&list).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].onnx.as_str(), got[0].line), ("m.onnx", 3));
        std::fs::write(&list, "m.onnx,p.vnnlib,10\nonnx,vnnlib,timeout\n").unwrap();
        assert_eq!(read_instances(&list).map(|_| ()).unwrap_err().kind(), ErrorKind::Usage);
    }

    #[test]
    fn resume_keeps_whole_rows_and_cuts_a_torn_one() {
        let dir = std::env::temp_dir().join(format!("reluverify-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.csv");
        let mut out = OutFile::create(&path).unwrap();
        out.append(&row("a", "p", "holds")).unwrap();
        let torn = row("b", "p", "violated").csv_line();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&torn.as_bytes()[..20]).unwrap();
        let (mut out, rows) = OutFile::resume(&path).unwrap();
        assert_eq!(rows.len(), 1);
        out.append(&row("b", "p", "violated")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{OUT_HEADER}\n{}{torn}", row("a", "p", "holds").csv_line()));
        // A file that is not a bench result file is refused, not overwritten.
        std::fs::write(&path, "verdict\nholds\n").unwrap();
        assert_eq!(OutFile::resume(&path).map(|_| ()).unwrap_err().kind(), ErrorKind::Usage);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "verdict\nholds\n");
    }
}
