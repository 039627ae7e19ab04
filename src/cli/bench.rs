//! `reluverify bench`: run a VNN-COMP instance list and report like the
//! competition does.
//!
//! Each `onnx,vnnlib,timeout` row is checked in turn (every model and
//! property file is loaded once, however many rows share it). One CSV row is
//! written per instance, a summary table is printed, and with `--expected`
//! every disagreement is marked; a wrong answer (holds where violated is
//! expected, or the reverse) makes the run exit with code 1.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::args::BenchArgs;
use super::exit::Exit;
use crate::bounds::{self, BoundMethod};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::LoadLimits;
use crate::model::{self, Network};
use crate::spec::{self, Property};
use crate::verdict::{check_witness, Verdict};
use crate::verify;

/// One instance of the list.
struct Instance {
    onnx: String,
    vnnlib: String,
    timeout: f64,
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
}

/// Print a line above the progress bar, or straight to stderr when the bar is
/// hidden (stderr is not a terminal, as in CI logs), where `println` on the
/// bar would drop it.
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
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
    /// The model and property of `inst`, loading each file on first use.
    fn get(&mut self, root: &Path, inst: &Instance) -> Result<(&Network, &Property)> {
        let limits = &self.limits;
        self.models.entry(inst.onnx.clone()).or_insert_with(|| model::load_with(&root.join(&inst.onnx), limits));
        self.props
            .entry(inst.vnnlib.clone())
            .or_insert_with(|| spec::load_with(&root.join(&inst.vnnlib), limits).map(|(p, _)| p));
        match (&self.models[&inst.onnx], &self.props[&inst.vnnlib]) {
            (Ok(net), Ok(prop)) => Ok((net, prop)),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        }
    }
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

fn read_instances(path: &Path) -> Result<Vec<Instance>> {
    read_csv(path)?
        .into_iter()
        .map(|(line, f)| {
            let bad = |msg: &str| Error::new(ErrorKind::Usage, msg.to_string()).with_path(path).at(line, 1);
            if f.len() != 3 {
                return Err(bad("expected `onnx,vnnlib,timeout`"));
            }
            let timeout: f64 = f[2].parse().map_err(|_| bad("timeout must be a number of seconds"))?;
            Ok(Instance { onnx: f[0].clone(), vnnlib: f[1].clone(), timeout })
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

/// Run the benchmark and print its summary.
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
    let bar = ProgressBar::new(instances.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut rows = Vec::with_capacity(instances.len());
    let (mut n_holds, mut n_violated) = (0, 0);
    for inst in &instances {
        let timeout = args.timeout_cap.map_or(inst.timeout, |c| c.min(inst.timeout));
        let settings = args.search.settings(Some(timeout.max(0.001)))?;
        let start = Instant::now();
        let (verdict, validated, phases) = match files.get(&root, inst) {
            Ok((net, prop)) => match verify(net, prop, &settings) {
                Ok(o) => {
                    let validated = match &o.verdict {
                        Verdict::Violated { witness } => {
                            check_witness(net, prop, witness.region, &witness.input).is_some()
                        }
                        _ => false,
                    };
                    let p = &o.stats.phases;
                    let phases = [p.falsify, p.bounds, p.search].map(|d| d.as_secs_f64());
                    (o.verdict.name().to_string(), validated, phases)
                }
                Err(e) => {
                    say(&bar, format!("error: {}/{}: {e}", inst.onnx, inst.vnnlib));
                    ("error".to_string(), false, [0.0; 3])
                }
            },
            Err(e) => {
                say(&bar, format!("error: {e}"));
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
    if let Some(out) = &args.out {
        write_results(out, &rows)?;
    }
    print!("{}", summary(&rows));
    let wrong = rows.iter().filter(|r| r.wrong()).count();
    if wrong > 0 {
        eprintln!("error: {wrong} WRONG ANSWER(S) against the expected results");
        return Ok(Exit::Violated);
    }
    Ok(Exit::Holds)
}

fn write_results(path: &PathBuf, rows: &[Row]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut text =
        String::from("onnx,vnnlib,verdict,seconds,witness_validated,expected,agrees,falsify_s,bounds_s,search_s\n");
    for r in rows {
        let agrees = match r.expected.as_deref() {
            None | Some("unknown") => "",
            Some(e) if e == r.verdict => "yes",
            Some(_) if r.wrong() => "WRONG",
            Some(_) => "no",
        };
        let _ = writeln!(
            text,
            "{},{},{},{:.4},{},{},{},{:.4},{:.4},{:.4}",
            r.onnx,
            r.vnnlib,
            r.verdict,
            r.seconds,
            r.witness_validated,
            r.expected.as_deref().unwrap_or(""),
            agrees,
            r.phases[0],
            r.phases[1],
            r.phases[2]
        );
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
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
fn bounds_table(args: &BenchArgs, instances: &[Instance], root: &Path) -> Result<Exit> {
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
                let nb = bounds::compute_until(net, &region.input, method, Some(deadline), args.search.threads);
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
        std::fs::write(out, &csv).map_err(|e| Error::io(out, e))?;
    }
    let columns = names.map(|n| format!("{n:>9}")).join(" ");
    println!("{:<24} {:>4} | mean unstable: {columns} | median ms: {columns}", "property", "n");
    let line = |name: &str, rows: &[BoundsRow]| {
        let cells = |f: &dyn Fn(usize) -> f64| (0..METHODS).map(|m| format!("{:>9.1}", f(m))).collect::<Vec<_>>().join(" ");
        let mean = cells(&|m| rows.iter().map(|r| r.0[m] as f64).sum::<f64>() / rows.len().max(1) as f64);
        let med = cells(&|m| median(&mut rows.iter().map(|r| r.1[m]).collect::<Vec<_>>()));
        println!("{:<24} {:>4} | {:>15}{mean} | {:>11}{med}", name, rows.len(), "", "");
    };
    let mut all = Vec::new();
    for (name, rows) in &groups {
        line(name, rows);
        all.extend_from_slice(rows);
    }
    line("TOTAL", &all);
    Ok(Exit::Holds)
}
