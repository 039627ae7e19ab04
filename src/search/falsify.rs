//! Cheap counterexample search before any proof is attempted.
//!
//! Samples the centre, corners and uniform random points of each region's
//! box and keeps the first input whose f64 output is unsafe. Every hit goes
//! through [`check_witness`], so a returned witness is always valid.

use crate::model::Network;
use crate::rng::Rng;
use crate::spec::Property;
use crate::verdict::{check_witness, Witness};

/// Inputs of at most this many dimensions get all `2^dim` corners tried;
/// larger ones get random corners instead.
const MAX_DIM_ALL_CORNERS: usize = 10;

/// Try up to `samples` points per region; return the first validated witness.
pub fn sample(net: &Network, prop: &Property, samples: usize, seed: u64) -> Option<Witness> {
    let mut rng = Rng::new(seed);
    for (r, region) in prop.regions.iter().enumerate() {
        let b = &region.input;
        if let Some(w) = check_witness(net, prop, r, &b.center()) {
            return Some(w);
        }
        let dim = b.dim();
        let corners = if dim <= MAX_DIM_ALL_CORNERS { (1usize << dim).min(samples) } else { 0 };
        for c in 0..corners {
            let x: Vec<f64> = (0..dim).map(|i| if c >> i & 1 == 1 { b.upper[i] } else { b.lower[i] }).collect();
            if let Some(w) = check_witness(net, prop, r, &x) {
                return Some(w);
            }
        }
        for s in corners..samples {
            let x: Vec<f64> = (0..dim)
                .map(|i| match (s % 4, rng.below(2)) {
                    // A quarter of the points are random corners, the rest uniform.
                    (0, 0) => b.lower[i],
                    (0, _) => b.upper[i],
                    _ => rng.range(b.lower[i], b.upper[i]),
                })
                .collect();
            if let Some(w) = check_witness(net, prop, r, &x) {
                return Some(w);
            }
        }
    }
    None
}
