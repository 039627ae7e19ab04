//! Local robustness properties, built from a point instead of written input
//! by input: every input within `eps` of `center` (the L-infinity ball,
//! clipped to the valid input range) keeps output `label` the largest.
//!
//! The unsafe set is the VNN-COMP form of "the argmax changes": some other
//! output reaches the label's, `y_j >= y_label` for some `j != label`, one
//! disjunct per other output. Ties count as unsafe (the closure of the
//! strict set, as for every strict comparison; see [`super::json`]), so a
//! proof covers ties too.
//!
//! The number of outputs comes from the network: a property read from a
//! file with `"argmax": K` keeps `K` in [`Property::argmax`] until
//! [`Property::fit`] expands it for the network it is checked on.

use super::{Conjunction, Dnf, InputBox, LinearConstraint, Property, Region};
use crate::error::{Error, ErrorKind, Result};

/// The box of all points within `eps` of `center` in every coordinate,
/// clipped to `[lower, upper]` (each one value for every input, or one per
/// input; `None`: unclipped). Errors on a negative or non-finite `eps`, a
/// non-finite center, bounds of the wrong length, or a center outside the
/// clipping range (the ball would be empty or not around the point).
pub fn ball(center: &[f64], eps: f64, lower: Option<&[f64]>, upper: Option<&[f64]>) -> Result<InputBox> {
    let err = |m: String| Error::new(ErrorKind::Spec, m);
    if !(eps.is_finite() && eps >= 0.0) {
        return Err(err(format!("eps must be a finite number >= 0, got {eps}")));
    }
    if center.is_empty() {
        return Err(err("the center has no values".into()));
    }
    if let Some(i) = center.iter().position(|v| !v.is_finite()) {
        return Err(err(format!("center[{i}] is {}, not a finite number", center[i])));
    }
    let n = center.len();
    let pick = |b: Option<&[f64]>, what: &str, i: usize| -> Result<Option<f64>> {
        match b {
            None => Ok(None),
            Some([v]) => Ok(Some(*v)),
            Some(v) if v.len() == n => Ok(Some(v[i])),
            Some(v) => Err(err(format!("{what} has {} values; give one, or one per input ({n})", v.len()))),
        }
    };
    let (mut lo, mut hi) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (i, &c) in center.iter().enumerate() {
        let (l, u) = (pick(lower, "lower", i)?, pick(upper, "upper", i)?);
        if l.is_some_and(|l| l.is_nan() || c < l) || u.is_some_and(|u| u.is_nan() || c > u) {
            return Err(err(format!(
                "center[{i}] = {c} lies outside the valid range [{}, {}]",
                l.unwrap_or(f64::NEG_INFINITY),
                u.unwrap_or(f64::INFINITY)
            )));
        }
        lo.push(l.map_or(c - eps, |l| (c - eps).max(l)));
        hi.push(u.map_or(c + eps, |u| (c + eps).min(u)));
    }
    InputBox::new(lo, hi)
}

/// "Some output other than `label` is at least output `label`" over
/// `outputs` outputs: one disjunct `y_label - y_j <= 0` per `j != label`.
/// Errors when `label` is not an output or there is no other output.
pub fn argmax_changes(label: usize, outputs: usize) -> Result<Dnf> {
    if label >= outputs {
        return Err(Error::new(
            ErrorKind::Spec,
            format!(
                "argmax label {label} is not an output: the network has {outputs} outputs (0..{})",
                outputs.max(1) - 1
            ),
        ));
    }
    if outputs < 2 {
        return Err(Error::new(ErrorKind::Spec, "an argmax property needs a network with at least two outputs"));
    }
    Ok(Dnf {
        disjuncts: (0..outputs)
            .filter(|&j| j != label)
            .map(|j| Conjunction {
                constraints: vec![LinearConstraint { coeffs: vec![(label, 1.0), (j, -1.0)], rhs: 0.0 }],
            })
            .collect(),
    })
}

/// The property that every input of `ball(center, eps, lower, upper)` keeps
/// output `label` the largest, with the argmax pending until
/// [`Property::fit`] expands it for a network.
pub fn property(
    center: &[f64],
    eps: f64,
    label: usize,
    lower: Option<&[f64]>,
    upper: Option<&[f64]>,
) -> Result<Property> {
    let input = ball(center, eps, lower, upper)?;
    let mut prop = Property::new(vec![Region::boxed(input, Dnf { disjuncts: vec![] })]);
    prop.declared_inputs = Some(center.len());
    prop.argmax = Some(label);
    Ok(prop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ball_is_clipped_and_checked() {
        let b = ball(&[0.0, 0.5, 1.0], 0.1, Some(&[0.0]), Some(&[1.0])).unwrap();
        assert_eq!(b.lower, vec![0.0, 0.4, 0.9]);
        assert_eq!(b.upper, vec![0.1, 0.6, 1.0]);
        let per_input = ball(&[0.0, 0.0], 1.0, Some(&[-0.5, -2.0]), None).unwrap();
        assert_eq!(per_input.lower, vec![-0.5, -1.0]);
        assert_eq!(per_input.upper, vec![1.0, 1.0]);
        for bad in [
            ball(&[0.0], -0.1, None, None),
            ball(&[0.0], f64::NAN, None, None),
            ball(&[f64::INFINITY], 0.1, None, None),
            ball(&[2.0], 0.1, None, Some(&[1.0])),
            ball(&[0.0, 0.0], 0.1, Some(&[0.0, 0.0, 0.0]), None),
            ball(&[], 0.1, None, None),
        ] {
            assert_eq!(bad.unwrap_err().kind(), ErrorKind::Spec);
        }
    }

    #[test]
    fn argmax_has_one_disjunct_per_other_output() {
        let d = argmax_changes(1, 3).unwrap();
        assert_eq!(d.disjuncts.len(), 2);
        assert_eq!(d.disjuncts[0].constraints[0], LinearConstraint { coeffs: vec![(1, 1.0), (0, -1.0)], rhs: 0.0 });
        assert_eq!(d.disjuncts[1].constraints[0], LinearConstraint { coeffs: vec![(1, 1.0), (2, -1.0)], rhs: 0.0 });
        assert_eq!(argmax_changes(3, 3).unwrap_err().kind(), ErrorKind::Spec);
        assert_eq!(argmax_changes(0, 1).unwrap_err().kind(), ErrorKind::Spec);
    }
}
