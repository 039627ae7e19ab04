//! `reluverify bounds`: per layer (and the ONNX node that closed it), how
//! many neurons each bounding method proves always active, always inactive
//! (dead over the whole input region) or leaves unstable, and the output
//! ranges it gives. For a network with an
//! output activation these are the ranges of the logits before it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::args::{BoundsArgs, MethodArg};
use super::exit::Exit;
use super::output;
use super::report::stamped;
use crate::bounds::{layer_report, BoundMethod, NetworkBounds};
use crate::error::Result;
use crate::model::Network;
use crate::spec::InputBox;

/// The report of one method on one input box, as JSON.
pub fn method_report(net: &Network, input: &InputBox, method: BoundMethod, threads: usize) -> Value {
    let start = Instant::now();
    let nb = crate::search::neuron_bounds::compute_until(net, input, method, None, threads);
    bounds_report(net, &nb, method, start.elapsed())
}

/// The report of bounds `nb`, computed by `method` in `time`, as JSON.
pub fn bounds_report(net: &Network, nb: &NetworkBounds, method: BoundMethod, time: Duration) -> Value {
    let layers: Vec<Value> = layer_report(net, nb)
        .iter()
        .zip(net.layers())
        .enumerate()
        .map(|(k, (c, l))| {
            json!({"activation": l.activation.name(), "neurons": l.output_dim(),
                   "active": c.active, "inactive": c.inactive, "unstable": c.unstable,
                   "node": net.layer_name(k)})
        })
        .collect();
    let out = nb.output();
    json!({
        "method": method.name(),
        "seconds": time.as_secs_f64(),
        "unstable": nb.unstable_count(net),
        "layers": layers,
        "output_ranges": out.lower.iter().zip(&out.upper).map(|(l, u)| [*l, *u]).collect::<Vec<_>>(),
    })
}

/// Run `bounds` and print the report.
pub fn bounds(args: &BoundsArgs) -> Result<Exit> {
    let (net, prop, _) = super::load_problem(&args.model, &args.spec, &args.limits)?;
    let methods: Vec<BoundMethod> = match args.method {
        MethodArg::Interval => vec![BoundMethod::Interval],
        MethodArg::Symbolic => vec![BoundMethod::Symbolic],
        MethodArg::Optimised => vec![BoundMethod::Optimised],
        MethodArg::Lp => vec![BoundMethod::Lp],
        MethodArg::All => BoundMethod::ALL.to_vec(),
    };
    let regions: Vec<Value> = prop
        .regions
        .iter()
        .map(|r| json!({ "methods": methods.iter().map(|&m| method_report(&net, &r.input, m, args.threads)).collect::<Vec<_>>() }))
        .collect();
    let activation = net.output_activation().map(|a| a.op_name());
    if args.json {
        output::stdout(&format!("{}\n", stamped(json!({ "regions": regions, "output_activation": activation }))));
        return Ok(Exit::Holds);
    }
    let mut text = String::new();
    if let Some(op) = activation {
        text += &format!("the network ends in {op}: the output ranges below are of the logits before it\n");
    }
    for (k, region) in regions.iter().enumerate() {
        text += &format!("region {k}:\n");
        for m in region["methods"].as_array().into_iter().flatten() {
            text += &format_method(m);
        }
    }
    output::stdout(&text);
    Ok(Exit::Holds)
}

/// One method's report as indented text: a heading, one line per layer
/// (with the model node it comes from, when the loader named it), the
/// output ranges.
pub fn format_method(m: &Value) -> String {
    use std::fmt::Write as _;
    let count = |v: &Value| v.as_u64().unwrap_or(0);
    let layers = m["layers"].as_array().map_or(&[][..], Vec::as_slice);
    let named = layers.iter().any(|l| l["node"].is_string());
    let mut out = format!(
        "  {} bounds ({:.3} ms): {} unstable\n    {:<6} {:<9} {:>7} {:>7} {:>9} {:>9}{}\n",
        m["method"].as_str().unwrap_or("?"),
        m["seconds"].as_f64().unwrap_or(0.0) * 1e3,
        m["unstable"],
        "layer",
        "act",
        "neurons",
        "active",
        "inactive",
        "unstable",
        if named { "  node" } else { "" }
    );
    for (i, l) in layers.iter().enumerate() {
        let _ = write!(
            out,
            "    {:<6} {:<9} {:>7} {:>7} {:>9} {:>9}",
            i,
            l["activation"].as_str().unwrap_or("?"),
            count(&l["neurons"]),
            count(&l["active"]),
            count(&l["inactive"]),
            count(&l["unstable"])
        );
        out += &l["node"].as_str().map_or(String::new(), |n| format!("  {n}"));
        out += "\n";
    }
    for (i, r) in m["output_ranges"].as_array().into_iter().flatten().enumerate() {
        let _ = writeln!(out, "    output {i}: [{}, {}]", r[0], r[1]);
    }
    out
}
