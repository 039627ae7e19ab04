//! `reluverify encode` round trips: write a property's MILP as `.lp` and
//! `.mps` with the real binary, read each *written file* back with HiGHS's
//! own file readers (`Highs_readModel`, through `highs-sys`; the library
//! itself never reads these files), solve it, and compare with
//! `reluverify::verify` on the same model and property: infeasible file iff
//! the region holds, feasible iff it is violated, and then the file's `x_i`
//! must drive the network (f64 forward pass) into the unsafe set.
//!
//! The networks are built in code and saved with the project's ONNX
//! exporter, with weights exact in f32, so their ranges are known by hand:
//! the properties below sit well away from the boundary.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use highs_sys::{
    HighsInt, Highs_create, Highs_destroy, Highs_getColByName, Highs_getModelStatus, Highs_getNumCol,
    Highs_getSolution, Highs_readModel, Highs_run, Highs_setBoolOptionValue, Highs_setIntOptionValue,
    MODEL_STATUS_INFEASIBLE, MODEL_STATUS_OPTIMAL, STATUS_OK,
};
use reluverify::model::{onnx, Activation, Affine, Layer, Matrix, Network};
use reluverify::spec::{self, Property};
use reluverify::{model, verify, Settings, Verdict};

/// How far a solver point of a feasible file may be from the unsafe set
/// after the f64 forward pass: the file relaxes the unsafe rows by 1e-6 and
/// HiGHS solves to a 1e-6 feasibility tolerance, scaled by big-M constants
/// and weights of at most a few units here.
const POINT_TOL: f64 = 1e-4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch folder unique to this test process and `name`.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reluverify-encode-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reluverify")).args(args).current_dir(root()).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What HiGHS made of a written file.
#[derive(Debug)]
struct FileSolve {
    /// `Highs_readModel`'s status: OK, warning or error.
    read: HighsInt,
    /// The model status after solving.
    status: HighsInt,
    /// The values of `x_0 .. x_{n-1}` when a solution exists.
    inputs: Option<Vec<f64>>,
}

/// Read `path` with HiGHS, solve it and read back the `n` input columns by name.
fn solve_file(path: &Path, n: usize) -> FileSolve {
    let c = |s: &str| CString::new(s).unwrap();
    // SAFETY: `h` is a live HiGHS instance from `Highs_create` until the
    // `Highs_destroy` at the end; every string is a NUL-terminated CString
    // that outlives its call; `cols` has room for every column, as
    // `Highs_getSolution` requires, and the other outputs are null (not written).
    unsafe {
        let h = Highs_create();
        Highs_setBoolOptionValue(h, c("output_flag").as_ptr(), 0);
        // One thread, as the library's own HiGHS runs use in this process.
        Highs_setIntOptionValue(h, c("threads").as_ptr(), 1);
        let read = Highs_readModel(h, c(path.to_str().unwrap()).as_ptr());
        Highs_run(h);
        let status = Highs_getModelStatus(h);
        let mut inputs = None;
        if status == MODEL_STATUS_OPTIMAL {
            let mut cols = vec![0.0; Highs_getNumCol(h) as usize];
            let null = std::ptr::null_mut();
            assert_eq!(Highs_getSolution(h, cols.as_mut_ptr(), null, null, null), STATUS_OK);
            let x = (0..n)
                .map(|i| {
                    let mut col: HighsInt = -1;
                    assert_eq!(Highs_getColByName(h, c(&format!("x_{i}")).as_ptr(), &mut col), STATUS_OK, "x_{i}");
                    cols[col as usize]
                })
                .collect();
            inputs = Some(x);
        }
        Highs_destroy(h);
        FileSolve { read, status, inputs }
    }
}

fn layer(rows: usize, cols: usize, w: &[f64], b: &[f64], activation: Activation) -> Layer {
    Layer { affine: Affine { weights: Matrix::new(rows, cols, w.to_vec()).unwrap(), bias: b.to_vec() }, activation }
}

/// `y = leaky_0.25(clip(x0 + x1, 0, 1) - clip(x0 - x1, -0.5, 0.5))`, with
/// the second clip written `clip(x0 - x1 + 0.5, 0, 1) - 0.5` so one clip
/// layer holds both. On `[-1, 1]^2` its range is `[-0.125, 1.5]` (1.5 at
/// `x = (0.25, 1)`, -0.125 at `x = (0, -1)`). Both clip neurons straddle
/// both kinks (two binaries each), the leaky neuron its one.
fn clip_leaky_net() -> Network {
    Network::new(vec![
        layer(2, 2, &[1.0, 1.0, 1.0, -1.0], &[0.0, 0.5], Activation::Clip { lo: 0.0, hi: 1.0 }),
        layer(1, 2, &[1.0, -1.0], &[0.5], Activation::Leaky { slopes: vec![0.25] }),
        layer(1, 1, &[1.0], &[0.0], Activation::Identity),
    ])
    .unwrap()
}

/// `|x| = relu(x) + relu(-x)`.
fn abs_net() -> Network {
    Network::new(vec![
        layer(2, 1, &[1.0, -1.0], &[0.0, 0.0], Activation::Relu),
        layer(1, 2, &[1.0, 1.0], &[0.0], Activation::Identity),
    ])
    .unwrap()
}

/// The verdict of `verify` on one region of `prop`: `true` for holds.
fn region_holds(net: &Network, prop: &Property, r: usize) -> bool {
    let one = Property::new(vec![prop.regions[r].clone()]);
    match verify(net, &one, &Settings::default()).unwrap().verdict {
        Verdict::Holds { .. } => true,
        Verdict::Violated { .. } => false,
        Verdict::Unknown { reason } => panic!("unknown without a time limit: {reason}"),
    }
}

/// Encode `model` + `spec` to `.lp` and `.mps` with `bounds`, solve every
/// written file and compare with `verify`, region by region; returns the
/// per-region verdicts (`true` = holds).
fn round_trip(dir: &Path, model_path: &Path, spec_path: &Path, bounds: &str) -> Vec<bool> {
    let net = model::load(model_path).unwrap();
    let (prop, _) = spec::load(spec_path).unwrap();
    let expected: Vec<bool> = (0..prop.regions.len()).map(|r| region_holds(&net, &prop, r)).collect();
    let stem = spec_path.file_stem().unwrap().to_str().unwrap();
    for ext in ["lp", "mps"] {
        let out = dir.join(format!("{stem}.{bounds}.{ext}"));
        let o = run(&[
            "encode",
            model_path.to_str().unwrap(),
            spec_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--bounds",
            bounds,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        for (r, &holds) in expected.iter().enumerate() {
            let file =
                if prop.regions.len() == 1 { out.clone() } else { dir.join(format!("{stem}.{bounds}.r{r}.{ext}")) };
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(text.contains(&format!("spec: {}", spec_path.display())), "header of {}", file.display());
            assert!(text.contains(&format!("neuron bounds: {bounds}")), "header of {}", file.display());
            let solved = solve_file(&file, net.input_dim());
            let what = format!("{} region {r}: {solved:?}, verify says holds = {holds}", file.display());
            assert_eq!(solved.read, STATUS_OK, "read with errors or warnings: {what}");
            if holds {
                assert_eq!(solved.status, MODEL_STATUS_INFEASIBLE, "{what}");
            } else {
                assert_eq!(solved.status, MODEL_STATUS_OPTIMAL, "{what}");
                let region = &prop.regions[r];
                let x = solved.inputs.unwrap();
                assert!(region.input.contains(&region.input.clamp(&x)));
                let y = net.forward(&region.input.clamp(&x));
                let closest =
                    region.unsafe_set.disjuncts.iter().map(|d| d.max_violation(&y)).fold(f64::INFINITY, f64::min);
                assert!(closest <= POINT_TOL, "{what}: the file's point {x:?} gives {y:?}, not unsafe");
            }
        }
    }
    expected
}

/// Save `net` and each `(name, json)` spec in `dir`, round-trip each with
/// every bounds method in turn; returns all per-region verdicts.
fn round_trip_all(dir: &Path, net: &Network, specs: &[(&str, &str)]) -> Vec<Vec<bool>> {
    let model_path = dir.join("net.onnx");
    onnx::save(net, &model_path).unwrap();
    specs
        .iter()
        .enumerate()
        .map(|(k, (name, json))| {
            let spec_path = dir.join(format!("{name}.json"));
            std::fs::write(&spec_path, json).unwrap();
            round_trip(dir, &model_path, &spec_path, ["interval", "symbolic", "lp"][k % 3])
        })
        .collect()
}

const BOX: &str = r#""inputs": [{"lower": -1, "upper": 1}, {"lower": -1, "upper": 1}]"#;

#[test]
fn clip_and_leaky_network_round_trips() {
    let dir = scratch("clip");
    let specs = [
        ("above_max", format!(r#"{{{BOX}, "unsafe": "y0 >= 1.6"}}"#)),
        ("near_max", format!(r#"{{{BOX}, "unsafe": "y0 >= 1.4"}}"#)),
        ("outside_both_ends", format!(r#"{{{BOX}, "unsafe": {{"any": ["y0 <= -0.2", "y0 >= 1.6"]}}}}"#)),
        // Only the second disjunct is reachable: a big-M too small for the first would hide it.
        ("second_reachable", format!(r#"{{{BOX}, "unsafe": {{"any": ["y0 <= -0.2", "y0 >= 1.4"]}}}}"#)),
        // A conjunction inside the range, after an unreachable disjunct.
        ("band", format!(r#"{{{BOX}, "unsafe": {{"any": ["y0 >= 1.6", {{"all": ["y0 >= 0.5", "y0 <= 0.6"]}}]}}}}"#)),
        // Two regions: y <= 0.5 where x0 + x1 <= 0; up to 1.5 at (0.25, 1).
        // (No neuron bound sits exactly on a kink: the encoder's bound
        // padding would turn it into a big-M of 1e-9, which HiGHS drops with
        // a warning.)
        (
            "two_regions",
            r#"{"input_boxes": [[{"lower": -1, "upper": -0.25}, {"lower": -1, "upper": 0}],
                                [{"lower": 0.125, "upper": 1}, {"lower": 0, "upper": 1}]],
                "unsafe": {"any": ["y0 <= -0.2", "y0 >= 1.4"]}}"#
                .to_string(),
        ),
    ];
    let specs: Vec<(&str, &str)> = specs.iter().map(|(n, j)| (*n, j.as_str())).collect();
    let verdicts = round_trip_all(&dir, &clip_leaky_net(), &specs);
    // The hand-derived answers: verify and the files agreed on these above.
    let expected = vec![vec![true], vec![false], vec![true], vec![false], vec![false], vec![true, false]];
    assert_eq!(verdicts, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn abs_network_and_shipped_specs_round_trip() {
    let dir = scratch("abs");
    let violated = r#"{"inputs": [{"lower": -1, "upper": 1}], "unsafe": {"any": ["y0 <= -0.5", "y0 >= 0.9"]}}"#;
    let verdicts = round_trip_all(&dir, &abs_net(), &[("violated", violated)]);
    assert_eq!(verdicts, vec![vec![false]]);
    // The shipped model and specs: one region, and two regions of two disjuncts each.
    let model_path = root().join("models/abs.onnx");
    assert_eq!(round_trip(&dir, &model_path, &root().join("specs/abs_nonneg.json"), "symbolic"), vec![true]);
    assert_eq!(round_trip(&dir, &model_path, &root().join("specs/abs_union.json"), "lp"), vec![true, true]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_output_paths_are_usage_or_io_errors() {
    let dir = scratch("errors");
    let txt = dir.join("p.txt");
    let o = run(&["encode", "models/abs.onnx", "specs/abs_nonneg.json", "--out", txt.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("p.txt") && stderr(&o).contains(".lp"), "{}", stderr(&o));
    assert!(!txt.exists());
    let missing = dir.join("no/such/folder/p.lp");
    let o = run(&["encode", "models/abs.onnx", "specs/abs_nonneg.json", "--out", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(missing.to_str().unwrap()), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}
