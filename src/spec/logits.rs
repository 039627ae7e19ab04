//! Properties on activated outputs, restated exactly on the logits.
//!
//! A network that ends in an [`OutputActivation`] computes `y = act(z)`
//! from the logits `z` of its last layer. The searches only handle the
//! piecewise-linear part, so [`translate`] turns a property on `y` into one
//! on `z` whose unsafe set is the same (or, where f64 cannot represent a
//! threshold exactly, a slightly larger one, so that `holds` on the logits
//! still implies `holds` on the outputs). Every form it accepts, and why it
//! is exact:
//!
//! - **LogSoftmax**, `y_i = z_i - L(z)` with `L(z) = ln sum_j exp(z_j)`: a
//!   row `sum_k c_k y_k <= d` is `sum_k c_k z_k - (sum_k c_k) L(z) <= d`, so
//!   when the coefficients sum to zero it is the very same row on the logits.
//!   Any other row depends on `L(z)`, which is not linear: rejected.
//! - **Softmax**, `p_i = exp(z_i) / S(z)` with `S(z) > 0`: for `a, b > 0`,
//!   `a p_i - b p_j <= 0` iff `exp(z_i) <= (b / a) exp(z_j)` iff
//!   `z_i - z_j <= ln b - ln a` (0 exactly when `a = b`, which covers every
//!   "the class is not i" property). Thresholds on one probability and
//!   sums of several depend on `S(z)`: rejected.
//! - **Tanh and Sigmoid**, `y_k = s(z_k)` with `s` strictly increasing
//!   onto `(lo, hi)` = `(-1, 1)` or `(0, 1)`: for `c > 0`, `c y_k <= t` iff
//!   `s(z_k) <= t / c`, which is always true when `t / c >= hi`, never when
//!   `t / c <= lo`, and otherwise iff `z_k <= s^-1(t / c)`; for `c < 0` the
//!   comparison flips (`s(z_k) >= t / c`). An order `c y_i - c y_j <= 0` is
//!   `c z_i - c z_j <= 0` (strict monotonicity). Other rows mixing outputs:
//!   rejected.
//!
//! A row that is always true is dropped from its conjunction; a row that is
//! never true drops its disjunct, and a region left without disjuncts can
//! never be unsafe and is dropped ([`LogitProperty::regions`] maps the
//! remaining ones back).
//!
//! # Padding
//!
//! `ln b - ln a`, `t / c` and `s^-1` are rounded in f64. The threshold's
//! argument is widened by one ulp on the side that enlarges the unsafe set
//! whenever `t / c` is not exact (checked with a fused multiply-add), and
//! the logit threshold `r` is then moved outward by
//! [`OUTPUT_INVERSE_PAD`]` * (1 + |r|)`. So the unsafe set on the logits
//! contains the true one, and a proof on the logits is a proof on the
//! outputs. The converse direction needs no padding: a counterexample found
//! on the logits is checked again on the activated outputs against the
//! original property (`search::verify`), and one that fails there gives
//! `unknown`, never `violated`.

use super::{Conjunction, Dnf, LinearConstraint, Property, Region};
use crate::error::{Error, ErrorKind, Result};
use crate::margins::OUTPUT_INVERSE_PAD;
use crate::model::OutputActivation;

/// Rows shown one by one in [`LogitProperty::notes`]; more are counted.
const NOTE_ROWS: usize = 8;

/// A property restated on the logits.
#[derive(Debug, Clone, PartialEq)]
pub struct LogitProperty {
    /// The property on the logits: same boxes, translated rows, regions
    /// that can never be unsafe left out. It has no regions when no input
    /// can be unsafe.
    pub property: Property,
    /// For each region of `property`, the index of the original region.
    pub regions: Vec<usize>,
    /// What was translated, for people (`check -v`).
    pub notes: Vec<String>,
}

/// One row on the logits.
#[derive(Debug, Clone, PartialEq)]
enum LogitRow {
    /// This row (exact, or padded outward).
    Row(LinearConstraint),
    /// True for every output: drop the row.
    Always,
    /// True for no output: drop the disjunct.
    Never,
}

/// Restate `prop`, a property on the outputs of `act`, on the logits before
/// it. Errors ([`ErrorKind::Spec`]) name the first constraint that has no
/// exact linear form on the logits, say why and what to write instead.
pub fn translate(prop: &Property, act: OutputActivation) -> Result<LogitProperty> {
    let mut regions = Vec::new();
    let mut map = Vec::new();
    let mut shown = Vec::new();
    let (mut rows, mut always, mut never) = (0, 0, 0);
    for (r, region) in prop.regions.iter().enumerate() {
        let mut disjuncts = Vec::new();
        for (d, conj) in region.unsafe_set.disjuncts.iter().enumerate() {
            let mut constraints = Vec::new();
            let mut possible = true;
            for row in &conj.constraints {
                rows += 1;
                let logit = translate_row(row, act).map_err(|why| {
                    Error::new(
                        ErrorKind::Spec,
                        format!(
                            "constraint `{}` (region {r}, unsafe disjunct {d}) {why}",
                            row_text(&row.coeffs, row.rhs, "y")
                        ),
                    )
                })?;
                let shown_as = match &logit {
                    LogitRow::Row(l) => row_text(&l.coeffs, l.rhs, "z"),
                    LogitRow::Always => "always true (dropped)".into(),
                    LogitRow::Never => "never true (its disjunct is dropped)".into(),
                };
                if shown.len() < NOTE_ROWS {
                    shown.push(format!("  {}  ->  {shown_as}", row_text(&row.coeffs, row.rhs, "y")));
                }
                match logit {
                    LogitRow::Row(l) => constraints.push(l),
                    LogitRow::Always => always += 1,
                    LogitRow::Never => {
                        never += 1;
                        possible = false;
                    }
                }
            }
            if possible {
                disjuncts.push(Conjunction { constraints });
            }
        }
        if !disjuncts.is_empty() {
            regions.push(Region {
                input: region.input.clone(),
                input_constraints: region.input_constraints.clone(),
                unsafe_set: Dnf { disjuncts },
            });
            map.push(r);
        }
    }
    let mut notes = vec![format!(
        "the network ends in {op}: the property is checked on the logits z before the {op} \
         ({rows} constraint(s) restated exactly, {always} always true, {never} never true; \
         thresholds padded outward by {OUTPUT_INVERSE_PAD:e} * (1 + |r|)); \
         counterexamples are checked on the outputs after it",
        op = act.op_name()
    )];
    notes.extend(shown);
    if rows > NOTE_ROWS {
        notes.push(format!("  ... and {} more", rows - NOTE_ROWS));
    }
    if map.len() < prop.regions.len() {
        notes.push(format!("{} region(s) can never be unsafe and are not searched", prop.regions.len() - map.len()));
    }
    let property = Property {
        regions,
        declared_inputs: prop.declared_inputs,
        declared_outputs: prop.declared_outputs,
        input_names: prop.input_names.clone(),
        output_names: prop.output_names.clone(),
        argmax: None,
    };
    Ok(LogitProperty { property, regions: map, notes })
}

/// One row on the outputs of `act` as a row on the logits, or why it has
/// no exact form there (the end of a sentence starting with the row).
fn translate_row(row: &LinearConstraint, act: OutputActivation) -> std::result::Result<LogitRow, String> {
    let op = act.op_name();
    let coeffs = row.coeffs.as_slice();
    // A row without outputs does not depend on the activation.
    if coeffs.is_empty() {
        return Ok(LogitRow::Row(row.clone()));
    }
    match act {
        OutputActivation::LogSoftmax if sums_to_zero(coeffs) => Ok(LogitRow::Row(row.clone())),
        OutputActivation::LogSoftmax => Err(format!(
            "is not linear in the logits: the network ends in {op}, which subtracts the same log-sum-exp of \
             all logits from every one, so only constraints whose coefficients sum to zero (such as `y_i <= y_j` \
             or `y_i - y_j <= 2`) do not depend on it. Write comparisons between outputs, or cut the model \
             before the {op} and write a threshold on the logits"
        )),
        OutputActivation::Softmax => match coeffs {
            &[(i, a), (j, b)] if row.rhs == 0.0 && a.signum() != b.signum() => {
                // a p_i + b p_j <= 0 with opposite signs: the positive term
                // is at most the negative one, p_pos <= (c_neg / c_pos) p_neg.
                let ((pos, cp), (neg, cn)) = if a > 0.0 { ((i, a), (j, -b)) } else { ((j, b), (i, -a)) };
                let rhs = if cp == cn { 0.0 } else { pad_up(cn.ln() - cp.ln()) };
                Ok(LogitRow::Row(LinearConstraint { coeffs: vec![(pos, 1.0), (neg, -1.0)], rhs }))
            }
            _ => Err(format!(
                "is not linear in the logits: the network ends in {op}, and a probability \
                 p_k = exp(z_k) / sum_j exp(z_j) depends on every logit, so a threshold on one probability or a \
                 sum of several cannot be verified exactly. Comparisons between two outputs are exact on the \
                 logits: write `y_i <= y_j`, or `y_i <= c * y_j` with c > 0 (\"the class is not i\" as \
                 `y_i <= y_j` for some j). For a threshold on a score, cut the model before the {op} and write \
                 it on the logits"
            )),
        },
        OutputActivation::Tanh | OutputActivation::Sigmoid => match coeffs {
            [(k, c)] => Ok(threshold(*k, *c, row.rhs, act)),
            [(_, a), (_, b)] if row.rhs == 0.0 && *a == -*b => Ok(LogitRow::Row(row.clone())),
            _ => Err(format!(
                "mixes several outputs of the final {op}: only a threshold on one output (`c * y_k <= t`) or an \
                 order between two (`y_i <= y_j`) has an exact form on the pre-activations. Split it into \
                 single-output constraints, or cut the model before the {op} and write it on the pre-activations"
            )),
        },
    }
}

/// `c s(z_k) <= t` for the strictly increasing `s` of `act` (tanh or
/// sigmoid) as a row on `z_k`, padded so that its unsafe set contains the
/// true one (module documentation).
fn threshold(k: usize, c: f64, t: f64, act: OutputActivation) -> LogitRow {
    let (lo, hi, inverse): (f64, f64, fn(f64) -> f64) = match act {
        OutputActivation::Tanh => (-1.0, 1.0, atanh),
        _ => (0.0, 1.0, logit),
    };
    // s(z_k) <= t / c for c > 0, >= for c < 0. The quotient is exact when
    // the fused residual s c - t vanishes (for normal numbers, where it
    // cannot underflow); otherwise the true quotient lies within one ulp.
    let s = t / c;
    let exact = s.is_finite() && (t == 0.0 || (t.is_normal() && s.is_normal())) && s.mul_add(c, -t) == 0.0;
    let (s_lo, s_hi) = if exact { (s, s) } else { (s.next_down(), s.next_up()) };
    if c > 0.0 {
        // Unsafe: s(z) <= s*, with s* <= s_hi.
        if s_hi >= hi {
            LogitRow::Always
        } else if s_hi <= lo {
            LogitRow::Never
        } else {
            LogitRow::Row(LinearConstraint { coeffs: vec![(k, 1.0)], rhs: pad_up(inverse(s_hi)) })
        }
    } else {
        // Unsafe: s(z) >= s*, with s* >= s_lo.
        if s_lo <= lo {
            LogitRow::Always
        } else if s_lo >= hi {
            LogitRow::Never
        } else {
            LogitRow::Row(LinearConstraint { coeffs: vec![(k, -1.0)], rhs: -pad_down(inverse(s_lo)) })
        }
    }
}

/// `r` moved up by [`OUTPUT_INVERSE_PAD`]` * (1 + |r|)`.
fn pad_up(r: f64) -> f64 {
    r + OUTPUT_INVERSE_PAD * (1.0 + r.abs())
}

/// `r` moved down by [`OUTPUT_INVERSE_PAD`]` * (1 + |r|)`.
fn pad_down(r: f64) -> f64 {
    r - OUTPUT_INVERSE_PAD * (1.0 + r.abs())
}

/// `atanh(s)` for `s` in `(-1, 1)`, as `0.5 ln(1 + 2a / (1 - a))` on
/// `a = |s|`: for `a >= 1/2`, `1 - a` is exact, so the result keeps a few
/// ulps of relative accuracy up to the ends of the range (the textbook
/// formula on negative `s` loses it near -1).
pub fn atanh(s: f64) -> f64 {
    let a = s.abs();
    (0.5 * (2.0 * a / (1.0 - a)).ln_1p()).copysign(s)
}

/// The inverse of the sigmoid, `ln(s / (1 - s))` for `s` in `(0, 1)`
/// (`1 - s` is exact for `s >= 1/2`, and accurate to an ulp below).
pub fn logit(s: f64) -> f64 {
    (s / (1.0 - s)).ln()
}

/// `true` when the coefficients sum to exactly zero, summed with
/// Neumaier's compensation (so `0.1 + 0.2 - 0.3`, whose f64 values do not
/// cancel, is not taken for zero, and `1 + 1e-20 - 1` neither).
fn sums_to_zero(coeffs: &[(usize, f64)]) -> bool {
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for &(_, c) in coeffs {
        let t = sum + c;
        comp += if sum.abs() >= c.abs() { (sum - t) + c } else { (c - t) + sum };
        sum = t;
    }
    sum == 0.0 && comp == 0.0
}

/// A row as people write it: `y0 - 2*y1 <= 0.5` (with `var` for `y`).
fn row_text(coeffs: &[(usize, f64)], rhs: f64, var: &str) -> String {
    let mut s = String::new();
    for (n, &(k, c)) in coeffs.iter().enumerate() {
        let sign = if c < 0.0 { "-" } else { "+" };
        match n {
            0 if c < 0.0 => s.push('-'),
            0 => {}
            _ => s += &format!(" {sign} "),
        }
        if c.abs() != 1.0 {
            s += &format!("{}*", c.abs());
        }
        s += &format!("{var}{k}");
    }
    if coeffs.is_empty() {
        s.push('0');
    }
    format!("{s} <= {rhs}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::InputBox;

    fn row(coeffs: &[(usize, f64)], rhs: f64) -> LinearConstraint {
        LinearConstraint { coeffs: coeffs.to_vec(), rhs }
    }

    /// One region on `[0, 1]` per entry, each with the given disjuncts.
    fn prop(regions: &[&[&[LinearConstraint]]]) -> Property {
        Property::new(
            regions
                .iter()
                .map(|disjuncts| Region {
                    input: InputBox::new(vec![0.0], vec![1.0]).unwrap(),
                    input_constraints: vec![],
                    unsafe_set: Dnf {
                        disjuncts: disjuncts.iter().map(|c| Conjunction { constraints: c.to_vec() }).collect(),
                    },
                })
                .collect(),
        )
    }

    fn one(r: LinearConstraint, act: OutputActivation) -> std::result::Result<LogitRow, String> {
        translate_row(&r, act)
    }

    fn logit_row(coeffs: &[(usize, f64)], rhs: f64) -> LogitRow {
        LogitRow::Row(row(coeffs, rhs))
    }

    #[test]
    fn log_softmax_keeps_rows_whose_coefficients_cancel() {
        let act = OutputActivation::LogSoftmax;
        for r in [row(&[(0, 1.0), (1, -1.0)], 0.0), row(&[(2, 0.5), (0, -1.0), (1, 0.5)], -3.0)] {
            assert_eq!(one(r.clone(), act), Ok(LogitRow::Row(r)));
        }
        // A log-probability threshold, and coefficients whose f64 values do not cancel.
        for r in [row(&[(0, 1.0)], -0.1), row(&[(0, 0.1), (1, 0.2), (2, -0.3)], 0.0)] {
            assert!(one(r, act).is_err());
        }
    }

    #[test]
    fn softmax_comparisons_become_logit_differences() {
        let act = OutputActivation::Softmax;
        // p0 <= p1, written either way round and scaled.
        assert_eq!(one(row(&[(0, 1.0), (1, -1.0)], 0.0), act), Ok(logit_row(&[(0, 1.0), (1, -1.0)], 0.0)));
        assert_eq!(one(row(&[(1, -3.0), (0, 3.0)], 0.0), act), Ok(logit_row(&[(0, 1.0), (1, -1.0)], 0.0)));
        // p0 <= 2 p1 (as 0.5 p0 - p1 <= 0): z0 - z1 <= ln 2, padded up.
        let Ok(LogitRow::Row(r)) = one(row(&[(0, 0.5), (1, -1.0)], 0.0), act) else { panic!() };
        assert_eq!(r.coeffs, vec![(0, 1.0), (1, -1.0)]);
        assert!(r.rhs > 2f64.ln() && r.rhs < 2f64.ln() + 1e-8, "{}", r.rhs);
        // Thresholds, sums, a non-zero right-hand side, equal signs: not linear in the logits.
        for r in [
            row(&[(0, -1.0)], -0.9),
            row(&[(0, 1.0), (1, -1.0)], 0.1),
            row(&[(0, 1.0), (1, 1.0)], 0.0),
            row(&[(0, 2.0), (1, -1.0), (2, -1.0)], 0.0),
        ] {
            assert!(one(r, act).is_err());
        }
    }

    #[test]
    fn tanh_and_sigmoid_thresholds() {
        let tanh = OutputActivation::Tanh;
        let Ok(LogitRow::Row(r)) = one(row(&[(1, 1.0)], 0.5), tanh) else { panic!() };
        assert_eq!(r.coeffs, vec![(1, 1.0)]);
        assert!(r.rhs > 0.5f64.atanh() && r.rhs < 0.5f64.atanh() + 1e-8);
        // y1 >= 0.5 as -2 y1 <= -1: z1 >= atanh(0.5), padded down.
        let Ok(LogitRow::Row(r)) = one(row(&[(1, -2.0)], -1.0), tanh) else { panic!() };
        assert_eq!(r.coeffs, vec![(1, -1.0)]);
        assert!(-r.rhs < 0.5f64.atanh() && -r.rhs > 0.5f64.atanh() - 1e-8);
        // The ends of the range, exactly: y <= 1 always, y >= 1 and y <= -1 never, y >= -1 always.
        assert_eq!(one(row(&[(0, 1.0)], 1.0), tanh), Ok(LogitRow::Always));
        assert_eq!(one(row(&[(0, -1.0)], -1.0), tanh), Ok(LogitRow::Never));
        assert_eq!(one(row(&[(0, 1.0)], -1.0), tanh), Ok(LogitRow::Never));
        assert_eq!(one(row(&[(0, -1.0)], 1.0), tanh), Ok(LogitRow::Always));
        assert_eq!(one(row(&[(0, 1.0)], 7.0), tanh), Ok(LogitRow::Always));
        let sigmoid = OutputActivation::Sigmoid;
        assert_eq!(one(row(&[(0, 1.0)], 0.0), sigmoid), Ok(LogitRow::Never));
        assert_eq!(one(row(&[(0, -1.0)], 0.0), sigmoid), Ok(LogitRow::Always));
        assert_eq!(one(row(&[(0, 1.0)], 1.0), sigmoid), Ok(LogitRow::Always));
        let Ok(LogitRow::Row(r)) = one(row(&[(0, 1.0)], 0.25), sigmoid) else { panic!() };
        assert!(r.rhs > (1f64 / 3.0).ln() && r.rhs < (1f64 / 3.0).ln() + 1e-8);
        // Orders are exact; other mixtures are rejected.
        for act in [tanh, sigmoid] {
            let order = row(&[(0, 2.0), (1, -2.0)], 0.0);
            assert_eq!(one(order.clone(), act), Ok(LogitRow::Row(order)));
            for r in
                [row(&[(0, 1.0), (1, 1.0)], 0.0), row(&[(0, 1.0), (1, -1.0)], 0.5), row(&[(0, 1.0), (1, -2.0)], 0.0)]
            {
                assert!(one(r, act).is_err());
            }
        }
    }

    /// The padded logit threshold `r` of `c s(z) <= t` must contain the true
    /// unsafe set: `s(r) >= t / c` for `c > 0` (every `z` with `s(z) <= t / c`
    /// has `z <= r`) and `s(r) <= t / c` for `c < 0`. Checked through `exp`,
    /// independently of the `ln`-based inverses, on the ratio
    /// `E(s) = (1 + s) / (1 - s) = (c + t) / (c - t)` for tanh (`tanh(r) >= s`
    /// iff `exp(2 r) >= E`) and `s / (1 - s) = t / (c - t)` for the sigmoid
    /// (`sigmoid(r) >= s` iff `exp(r) >= that`), with a relative margin of
    /// `1e-12`: far above the few-ulp error of both sides, far below what
    /// the padding gives, so the test fails without it.
    #[test]
    fn padding_keeps_the_unsafe_set_near_the_ends_of_the_range() {
        const MARGIN: f64 = 1e-12;
        let eps = f64::EPSILON;
        let mut thresholds = vec![0.0, 0.3, -0.7, 0.5, 1e-300, 1e-8];
        for k in [1.0, 2.0, 3.0, 7.0, 1e3, 1e6, 1e10] {
            thresholds.extend([1.0 - k * eps / 2.0, -1.0 + k * eps / 2.0, k * 1e-300]);
        }
        let mut checked = 0;
        for act in [OutputActivation::Tanh, OutputActivation::Sigmoid] {
            for &s in &thresholds {
                // Exact quotients (c = +-1) and inexact ones (c = +-3).
                for c in [1.0, -1.0, 3.0, -3.0] {
                    let t = s * c;
                    let Ok(LogitRow::Row(r)) = one(row(&[(0, c)], t), act) else { continue };
                    let (z, ratio) = match act {
                        OutputActivation::Tanh => (2.0 * r.rhs * r.coeffs[0].1, (c + t) / (c - t)),
                        _ => (r.rhs * r.coeffs[0].1, t / (c - t)),
                    };
                    if c > 0.0 {
                        assert!(z.exp() >= ratio * (1.0 + MARGIN), "{act:?} {c} y <= {t}: threshold {}", r.rhs);
                    } else {
                        assert!(z.exp() <= ratio * (1.0 - MARGIN), "{act:?} {c} y <= {t}: threshold {}", -r.rhs);
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }

    /// The softmax ratio threshold `ln b - ln a` is padded up: `exp(r) >= b / a`.
    #[test]
    fn softmax_ratio_padding() {
        for (a, b) in [(1.0, 3.0), (3.0, 1.0), (0.1, 0.7), (1e-300, 1e300), (1e300, 1e-300), (1.0, 1.0 + 1e-15)] {
            let Ok(LogitRow::Row(r)) = one(row(&[(0, a), (1, -b)], 0.0), OutputActivation::Softmax) else { panic!() };
            let bound = if a > 1e299 || b > 1e299 { (b.ln() - a.ln()).exp() } else { b / a };
            assert!(r.rhs.exp() >= bound * (1.0 + 1e-12), "{a} {b}: {}", r.rhs);
        }
    }

    #[test]
    fn never_true_rows_drop_disjuncts_and_regions() {
        let never = row(&[(0, -1.0)], -1.0); // tanh >= 1
        let always = row(&[(0, 1.0)], 1.0); // tanh <= 1
        let real = row(&[(1, 1.0)], 0.0); // tanh <= 0
        let p = prop(&[&[std::slice::from_ref(&never)], &[&[never.clone(), real.clone()], &[always, real.clone()]]]);
        let t = translate(&p, OutputActivation::Tanh).unwrap();
        assert_eq!(t.regions, vec![1]);
        let dnf = &t.property.regions[0].unsafe_set;
        assert_eq!(dnf.disjuncts.len(), 1);
        assert_eq!(dnf.disjuncts[0].constraints.len(), 1);
        assert!(t.notes[0].contains("Tanh") && t.notes.iter().any(|n| n.contains("never be unsafe")), "{:?}", t.notes);
        // The error names the constraint, where it is, and why.
        let bad = prop(&[&[&[real]]]);
        let e = translate(&bad, OutputActivation::Softmax).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Spec);
        assert!(e.message().contains("`y1 <= 0`") && e.message().contains("region 0, unsafe disjunct 0"), "{e}");
    }

    #[test]
    fn rows_print_as_written() {
        assert_eq!(row_text(&[(0, 1.0), (2, -2.5)], 0.5, "y"), "y0 - 2.5*y2 <= 0.5");
        assert_eq!(row_text(&[(1, -1.0)], -3.0, "z"), "-z1 <= -3");
    }
}
