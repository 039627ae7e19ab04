//! Linear expressions, the common ground of the two property parsers.
//!
//! Both front ends read comparisons `lhs OP rhs` between linear expressions
//! and must turn them into [`LinearConstraint`] rows `sum_k c_k y_k <= rhs`.
//! [`LinearExpr`] accumulates terms and a constant while parsing;
//! [`LinearExpr::normalize`] merges repeated variables and drops zero
//! coefficients, keeping the variables in the order they first appear (so
//! `y1 <= y0` reads back as `[(1, 1.0), (0, -1.0)]`). The parsers decide what
//! a variable is (an output index in JSON, an input or output in VNN-LIB).

use std::collections::HashMap;
use std::hash::Hash;

use super::LinearConstraint;

/// Rows with more terms than this merge repeated variables through a hash
/// map; shorter rows (all real properties) use a linear scan, which is faster
/// for a handful of terms.
const LINEAR_SCAN_MAX_TERMS: usize = 32;

/// `sum_k terms[k].1 * var(terms[k].0) + constant`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinearExpr<V> {
    /// `(variable, coefficient)`, possibly with repeats until [`normalize`](Self::normalize).
    pub terms: Vec<(V, f64)>,
    /// The constant part.
    pub constant: f64,
}

/// How the two sides of a comparison relate. Strict comparisons are read as
/// their non-strict closure before they get here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    /// `lhs <= rhs`.
    Le,
    /// `lhs >= rhs`.
    Ge,
}

impl<V: Copy + Eq + Hash> LinearExpr<V> {
    /// The constant `c`.
    pub fn constant(c: f64) -> Self {
        LinearExpr { terms: Vec::new(), constant: c }
    }

    /// The single variable `v`.
    pub fn var(v: V) -> Self {
        LinearExpr { terms: vec![(v, 1.0)], constant: 0.0 }
    }

    /// `self += factor * other`.
    pub fn add_scaled(&mut self, other: &LinearExpr<V>, factor: f64) {
        self.terms.extend(other.terms.iter().map(|&(v, c)| (v, c * factor)));
        self.constant += other.constant * factor;
    }

    /// `self *= factor`.
    pub fn scale(&mut self, factor: f64) {
        for t in &mut self.terms {
            t.1 *= factor;
        }
        self.constant *= factor;
    }

    /// `true` when no variable term is left (call after [`normalize`](Self::normalize)).
    pub fn is_constant(&self) -> bool {
        self.terms.is_empty()
    }

    /// Merge repeated variables (summing their coefficients) and drop zero
    /// coefficients, keeping first-appearance order.
    pub fn normalize(&mut self) {
        let mut merged: Vec<(V, f64)> = Vec::with_capacity(self.terms.len());
        if self.terms.len() <= LINEAR_SCAN_MAX_TERMS {
            for &(v, c) in &self.terms {
                match merged.iter_mut().find(|(w, _)| *w == v) {
                    Some(t) => t.1 += c,
                    None => merged.push((v, c)),
                }
            }
        } else {
            let mut slot: HashMap<V, usize> = HashMap::with_capacity(self.terms.len());
            for &(v, c) in &self.terms {
                match slot.get(&v) {
                    Some(&i) => merged[i].1 += c,
                    None => {
                        slot.insert(v, merged.len());
                        merged.push((v, c));
                    }
                }
            }
        }
        merged.retain(|&(_, c)| c != 0.0);
        self.terms = merged;
    }

    /// The normalized expression `lhs - rhs` oriented so that the comparison
    /// reads `result <= 0`.
    pub fn difference(lhs: &LinearExpr<V>, rel: Relation, rhs: &LinearExpr<V>) -> LinearExpr<V> {
        let mut d = lhs.clone();
        d.add_scaled(rhs, -1.0);
        if rel == Relation::Ge {
            d.scale(-1.0);
        }
        d.normalize();
        d
    }
}

impl LinearExpr<usize> {
    /// The row `terms <= -constant` of a normalized expression read as `expr <= 0`.
    pub fn into_row(self) -> LinearConstraint {
        // `+ 0.0` turns a `-0.0` right-hand side into `0.0`.
        LinearConstraint { coeffs: self.terms, rhs: -self.constant + 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_repeats_drops_zeros_and_keeps_order() {
        let mut e = LinearExpr { terms: vec![(3, 1.0), (0, 2.0), (3, -1.0), (1, 0.5), (0, 1.0)], constant: 1.0 };
        e.normalize();
        assert_eq!(e.terms, vec![(0, 3.0), (1, 0.5)]);
    }

    #[test]
    fn long_rows_merge_like_short_ones() {
        let terms: Vec<(usize, f64)> = (0..100).map(|i| (i % 40, 1.0)).collect();
        let mut e = LinearExpr { terms, constant: 0.0 };
        e.normalize();
        assert_eq!(e.terms.len(), 40);
        assert_eq!(e.terms[0], (0, 3.0));
        assert_eq!(e.terms[39], (39, 2.0));
    }

    #[test]
    fn ge_becomes_a_negated_le_row() {
        // y0 >= 3.99  ->  -y0 <= -3.99
        let row = LinearExpr::difference(&LinearExpr::var(0), Relation::Ge, &LinearExpr::constant(3.99)).into_row();
        assert_eq!(row, LinearConstraint { coeffs: vec![(0, -1.0)], rhs: -3.99 });
        // y1 <= y0  ->  y1 - y0 <= 0
        let row = LinearExpr::difference(&LinearExpr::var(1), Relation::Le, &LinearExpr::var(0)).into_row();
        assert_eq!(row, LinearConstraint { coeffs: vec![(1, 1.0), (0, -1.0)], rhs: 0.0 });
        assert!(row.rhs.is_sign_positive());
    }
}
