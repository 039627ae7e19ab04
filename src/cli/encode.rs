//! `reluverify encode`: write the MILP of each region of a property as a
//! CPLEX LP or MPS file, so that Gurobi, CPLEX, SCIP, HiGHS or any other
//! MILP solver can decide the property.
//!
//! One file per region (a property holds iff every region is safe): `--out
//! NAME.lp` for one region, `NAME.r0.lp`, `NAME.r1.lp`, ... for several. Each
//! file is the network encoding over the region's box with the neuron bounds
//! of `--bounds`, plus the region's whole unsafe set (all its disjuncts, joined
//! by selector binaries: `milp::dnf`), so **feasible means the property is
//! violated on that region and infeasible means it holds there**. The unsafe
//! rows are relaxed by [`UNSAFE_RELAX`], as in the search's own proofs, so the
//! file is a relaxation and infeasibility is a proof; a feasible point is a
//! candidate counterexample to confirm with a forward pass. The header
//! comment of every file says all this, with the model, spec and bounds used.
//!
//! For a network with an output activation the files encode the logits and
//! the property restated on them (`spec::logits`); a region that can never
//! be unsafe there gets no file.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::args::EncodeArgs;
use super::exit::Exit;
use crate::bounds::BoundMethod;
use crate::error::{Error, ErrorKind, Result};
use crate::margins::UNSAFE_RELAX;
use crate::margins::{BOUND_PAD_ABS, BOUND_PAD_REL};
use crate::milp::dnf::encode_region;
use crate::milp::write::{write, FileFormat};
use crate::spec::{logits, Region};

/// Run `encode`: write one file per region and print what each holds.
pub fn encode(args: &EncodeArgs) -> Result<Exit> {
    let format = FileFormat::from_path(&args.out)?;
    if args.threads == 0 {
        return Err(Error::new(ErrorKind::Usage, "--threads must be at least 1"));
    }
    let (net, prop, _) = super::load_problem(&args.model, &args.spec, &args.limits)?;
    let method = args.bounds.method();
    let count = prop.regions.len();
    let (regions, activation) = match net.output_activation() {
        Some(act) => {
            let t = logits::translate(&prop, act)?;
            let regions: Vec<(usize, Region)> = t.regions.into_iter().zip(t.property.regions).collect();
            println!(
                "the network ends in {}: the files encode the logits before it and the property restated on them",
                act.op_name()
            );
            (regions, Some(act.op_name()))
        }
        None => (prop.regions.into_iter().enumerate().collect(), None),
    };
    for (k, region) in regions {
        let nb = crate::search::neuron_bounds::compute_until(&net, &region.input, method, None, args.threads);
        let enc = encode_region(&net, &region, &nb, -UNSAFE_RELAX)?;
        let path = region_path(&args.out, k, count);
        let counts = (region.unsafe_set.disjuncts.len(), region.input_constraints.len());
        let header = header(args, method, k, count, counts, activation);
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let w = write(&enc.milp, format, &header, BufWriter::new(file)).map_err(|e| e.with_path(&path))?;
        super::output::stdout(&format!(
            "wrote {}: region {k}, {} variables ({} binary), {} rows; {} of {} neurons unstable ({} bounds)\n",
            path.display(),
            w.vars,
            w.integers,
            w.rows,
            enc.stats.unstable,
            enc.stats.neurons,
            method.name()
        ));
    }
    Ok(Exit::Holds)
}

/// The file for region `k` of `count`: `out` itself for one region, else
/// `out` with `.rK` inserted before the extension.
pub fn region_path(out: &Path, k: usize, count: usize) -> PathBuf {
    if count == 1 {
        return out.to_path_buf();
    }
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = out.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
    out.with_file_name(format!("{stem}.r{k}.{ext}"))
}

/// The comment at the top of every file: provenance, meaning, names; `(disjuncts,
/// input_rows)` counts the region's unsafe disjuncts and input constraints (and,
/// for a network ending in the output activation `activation`, that the
/// file encodes its logits).
fn header(
    args: &EncodeArgs,
    method: BoundMethod,
    k: usize,
    count: usize,
    (disjuncts, input_rows): (usize, usize),
    activation: Option<&str>,
) -> String {
    let logits = match activation {
        Some(op) => format!(
            "\noutputs: the network ends in {op}; this file encodes the logits before it, with the property \
             restated exactly on them"
        ),
        None => String::new(),
    };
    format!(
        "written by reluverify {version} (reluverify encode)
model: {model}
spec: {spec}
region {k} (of {count}; the property holds iff the file of every region is infeasible){logits}
neuron bounds: {bounds}, padded by {pad_abs:e} + {pad_rel:e} * |bound|
unsafe disjuncts: {disjuncts}; unsafe rows c.y <= d are relaxed to c.y <= d + {relax:e}
input constraints: {input_rows}; their rows a.x <= b are relaxed to a.x <= b + {relax:e}

INFEASIBLE = the property HOLDS on this region (the MILP is a relaxation, so this is a proof).
FEASIBLE = the property is VIOLATED on this region: the x_i of a solution are a counterexample
  up to the solver's tolerances; confirm it with a forward pass of the network.
No objective: this is a feasibility problem.

variables: x_i = input i; z_L_i = pre-activation of neuron i of layer L (from 0; the last
  layer's z_L_i are the network outputs); y_L_i = its activation; r_L_i = relu part and
  d_L_i = its binary (1 = active; suffix _lo/_hi for the two kinks of a clip);
  s_k = selector of unsafe disjunct k (sum of s_k = 1; none for a single disjunct).",
        version = env!("CARGO_PKG_VERSION"),
        model = args.model.display(),
        spec = args.spec.display(),
        bounds = method.name(),
        pad_abs = BOUND_PAD_ABS,
        pad_rel = BOUND_PAD_REL,
        relax = UNSAFE_RELAX,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_files_are_suffixed_only_for_several_regions() {
        let out = Path::new("/tmp/dir/p1.lp");
        assert_eq!(region_path(out, 0, 1), out);
        assert_eq!(region_path(out, 0, 2), Path::new("/tmp/dir/p1.r0.lp"));
        assert_eq!(region_path(Path::new("a.b.mps"), 3, 4), Path::new("a.b.r3.mps"));
    }
}
