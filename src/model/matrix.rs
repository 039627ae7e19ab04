//! The weight matrix of an affine layer, stored densely or as compressed
//! sparse rows.
//!
//! Fully connected layers are dense, and their hot loops (back-substitution,
//! forward passes) run on contiguous rows through [`Matrix::dense`]. A
//! convolution, a pooling window or a pass-through neuron touches a handful
//! of inputs per neuron: stored densely, a 32-channel convolution of a
//! 28x28 image alone would be 23k x 784 values (146 MB), so such layers
//! keep only their nonzero entries (a few per row). Every reader goes
//! through [`Matrix::row`], which yields either form; the loader decides
//! the storage once per layer by density ([`Matrix::compact`]).

use crate::error::{Error, ErrorKind, Result};

/// A `rows x cols` matrix of f64 values, dense (row-major) or sparse
/// (compressed rows). Both forms represent the same kind of value: equality
/// compares entries, not storage.
#[derive(Debug, Clone)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    store: Store,
}

#[derive(Debug, Clone)]
enum Store {
    /// `rows * cols` values, row-major.
    Dense(Vec<f64>),
    /// Row `i`'s entries are `cols[starts[i]..starts[i + 1]]` (ascending
    /// column indices) with `values` at the same positions.
    Sparse { starts: Vec<usize>, cols: Vec<u32>, values: Vec<f64> },
}

/// A stored matrix with at most this fraction of nonzero entries is kept
/// sparse by [`Matrix::compact`]: a sparse entry costs 12 bytes (value and
/// column) against 8 for a dense one, and the dense kernels run several
/// times faster per entry, so sparse storage only pays below about a
/// quarter.
pub const SPARSE_MAX_DENSITY: f64 = 0.25;

/// One row of a [`Matrix`], in its storage form.
#[derive(Debug, Clone, Copy)]
pub enum Row<'a> {
    /// Every entry, column by column.
    Dense(&'a [f64]),
    /// The stored entries: ascending columns and their values.
    Sparse(&'a [u32], &'a [f64]),
}

impl<'a> Row<'a> {
    /// The stored entries as `(column, value)` (a dense row yields every
    /// column, zeros included).
    pub fn iter(self) -> RowIter<'a> {
        match self {
            Row::Dense(d) => RowIter::Dense(d.iter().enumerate()),
            Row::Sparse(c, v) => RowIter::Sparse(c.iter().zip(v.iter())),
        }
    }

    /// `row · x`.
    pub fn dot(self, x: &[f64]) -> f64 {
        match self {
            Row::Dense(d) => dot(d, x),
            Row::Sparse(c, v) => c.iter().zip(v).map(|(&j, w)| w * x[j as usize]).sum(),
        }
    }

    /// `out += factor * row`.
    pub fn add_scaled(self, factor: f64, out: &mut [f64]) {
        match self {
            Row::Dense(d) => {
                for (o, w) in out.iter_mut().zip(d) {
                    *o += factor * w;
                }
            }
            Row::Sparse(c, v) => {
                for (&j, w) in c.iter().zip(v) {
                    out[j as usize] += factor * w;
                }
            }
        }
    }

    /// The minimum of `row · x + constant` over the box `[lo, hi]` (with
    /// the ends swapped, the maximum).
    pub fn minimum(self, constant: f64, lo: &[f64], hi: &[f64]) -> f64 {
        let pick = |j: usize, w: f64| if w >= 0.0 { w * lo[j] } else { w * hi[j] };
        match self {
            Row::Dense(d) => d.iter().enumerate().map(|(j, &w)| pick(j, w)).sum::<f64>() + constant,
            Row::Sparse(c, v) => c.iter().zip(v).map(|(&j, &w)| pick(j as usize, w)).sum::<f64>() + constant,
        }
    }
}

/// The entries of a [`Row`] as `(column, value)`.
pub enum RowIter<'a> {
    /// Every column of a dense row.
    Dense(std::iter::Enumerate<std::slice::Iter<'a, f64>>),
    /// The stored entries of a sparse row.
    Sparse(std::iter::Zip<std::slice::Iter<'a, u32>, std::slice::Iter<'a, f64>>),
}

impl Iterator for RowIter<'_> {
    type Item = (usize, f64);

    #[inline]
    fn next(&mut self) -> Option<(usize, f64)> {
        match self {
            RowIter::Dense(it) => it.next().map(|(j, &w)| (j, w)),
            RowIter::Sparse(it) => it.next().map(|(&j, &w)| (j as usize, w)),
        }
    }
}

/// A dense matrix seen as contiguous rows (see [`Matrix::dense`]).
#[derive(Debug, Clone, Copy)]
pub struct Dense<'a> {
    cols: usize,
    data: &'a [f64],
}

impl<'a> Dense<'a> {
    /// Row `i` as a slice.
    pub fn row(&self, i: usize) -> &'a [f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// All entries, row-major.
    pub fn data(&self) -> &'a [f64] {
        self.data
    }
}

impl PartialEq for Matrix {
    fn eq(&self, other: &Matrix) -> bool {
        self.rows == other.rows
            && self.cols == other.cols
            && (0..self.rows).all(|i| {
                let (mut a, mut b) = (vec![0.0; self.cols], vec![0.0; self.cols]);
                self.row(i).add_scaled(1.0, &mut a);
                other.row(i).add_scaled(1.0, &mut b);
                a == b
            })
    }
}

impl Matrix {
    /// A dense matrix from row-major data; errors when
    /// `data.len() != rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Matrix> {
        if Some(data.len()) != rows.checked_mul(cols) {
            return Err(Error::new(
                ErrorKind::Network,
                format!("matrix of {rows}x{cols} needs {} values, got {}", rows.saturating_mul(cols), data.len()),
            ));
        }
        Ok(Matrix { rows, cols, store: Store::Dense(data) })
    }

    /// A sparse matrix from its rows, each a list of `(column, value)` with
    /// ascending columns below `cols`; errors otherwise.
    pub fn from_sparse_rows(cols: usize, rows: &[Vec<(usize, f64)>]) -> Result<Matrix> {
        let mut b = SparseBuilder::new(cols);
        for r in rows {
            b.push_row(r)?;
        }
        Ok(b.finish())
    }

    /// The `n x n` identity matrix (stored sparse).
    pub fn identity(n: usize) -> Matrix {
        let cols = (0..n).map(|i| i as u32).collect();
        Matrix { rows: n, cols: n, store: Store::Sparse { starts: (0..=n).collect(), cols, values: vec![1.0; n] } }
    }

    /// Number of rows (outputs of the affine map).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (inputs of the affine map).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` in its storage form.
    pub fn row(&self, i: usize) -> Row<'_> {
        match &self.store {
            Store::Dense(d) => Row::Dense(&d[i * self.cols..(i + 1) * self.cols]),
            Store::Sparse { starts, cols, values } => {
                let r = starts[i]..starts[i + 1];
                Row::Sparse(&cols[r.clone()], &values[r])
            }
        }
    }

    /// The dense view, when the matrix is stored densely.
    pub fn dense(&self) -> Option<Dense<'_>> {
        match &self.store {
            Store::Dense(data) => Some(Dense { cols: self.cols, data }),
            Store::Sparse { .. } => None,
        }
    }

    /// Row `i` written into `out` (all `cols` entries).
    pub fn row_into(&self, i: usize, out: &mut [f64]) {
        out.fill(0.0);
        self.row(i).add_scaled(1.0, out);
    }

    /// Entry at row `i`, column `j`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        match self.row(i) {
            Row::Dense(d) => d[j],
            Row::Sparse(c, v) => c.binary_search(&(j as u32)).map_or(0.0, |p| v[p]),
        }
    }

    /// Number of stored entries.
    pub fn stored(&self) -> usize {
        match &self.store {
            Store::Dense(d) => d.len(),
            Store::Sparse { values, .. } => values.len(),
        }
    }

    /// All entries, row-major (allocates for a sparse matrix).
    pub fn to_dense_data(&self) -> Vec<f64> {
        let mut data = vec![0.0; self.rows * self.cols];
        for (i, out) in data.chunks_exact_mut(self.cols.max(1)).enumerate().take(self.rows) {
            self.row(i).add_scaled(1.0, out);
        }
        data
    }

    /// The same matrix stored sparse when at most [`SPARSE_MAX_DENSITY`] of
    /// its entries are nonzero, dense otherwise.
    pub fn compact(self) -> Matrix {
        let nonzero = (0..self.rows).map(|i| self.row(i).iter().filter(|(_, w)| *w != 0.0).count()).sum::<usize>();
        let sparse = (nonzero as f64) <= SPARSE_MAX_DENSITY * (self.rows as f64) * (self.cols as f64);
        match (&self.store, sparse) {
            (Store::Dense(_), false) => self,
            (Store::Dense(_), true) | (Store::Sparse { .. }, true) => {
                let mut b = SparseBuilder::new(self.cols);
                for i in 0..self.rows {
                    b.push_entries(self.row(i).iter().filter(|(_, w)| *w != 0.0));
                }
                b.finish()
            }
            (Store::Sparse { .. }, false) => {
                Matrix { rows: self.rows, cols: self.cols, store: Store::Dense(self.to_dense_data()) }
            }
        }
    }

    /// The same matrix with `extra` zero columns appended (a wider input
    /// whose new entries this map ignores).
    pub fn widen(self, extra: usize) -> Matrix {
        if extra == 0 {
            return self;
        }
        let cols = self.cols + extra;
        match self.store {
            Store::Sparse { starts, cols: c, values } => {
                Matrix { rows: self.rows, cols, store: Store::Sparse { starts, cols: c, values } }
            }
            Store::Dense(d) => {
                let mut data = Vec::with_capacity(self.rows * cols);
                for row in d.chunks_exact(self.cols.max(1)).take(self.rows) {
                    data.extend_from_slice(row);
                    data.extend(std::iter::repeat_n(0.0, extra));
                }
                Matrix { rows: self.rows, cols, store: Store::Dense(data) }
            }
        }
    }

    /// The same matrix with the rows of `below` appended (same columns).
    pub fn append_rows(self, below: &Matrix) -> Matrix {
        debug_assert_eq!(self.cols, below.cols);
        let mut b = SparseBuilder::new(self.cols);
        for m in [&self, below] {
            for i in 0..m.rows {
                b.push_entries(m.row(i).iter().filter(|(_, w)| *w != 0.0));
            }
        }
        b.finish().compact()
    }

    /// `self * x`.
    pub fn mul_vec(&self, x: &[f64]) -> Vec<f64> {
        (0..self.rows).map(|i| self.row(i).dot(x)).collect()
    }

    /// The matrix product `self * other` (dense).
    pub fn matmul(&self, other: &Matrix) -> Matrix {
        assert_eq!(self.cols, other.rows, "matmul dimension mismatch");
        let mut data = vec![0.0; self.rows * other.cols];
        for (i, out) in data.chunks_exact_mut(other.cols.max(1)).enumerate().take(self.rows) {
            for (k, a) in self.row(i).iter().filter(|(_, a)| *a != 0.0) {
                other.row(k).add_scaled(a, out);
            }
        }
        Matrix { rows: self.rows, cols: other.cols, store: Store::Dense(data) }
    }

    /// The transpose (dense).
    pub fn transpose(&self) -> Matrix {
        let mut data = vec![0.0; self.rows * self.cols];
        for i in 0..self.rows {
            for (j, w) in self.row(i).iter() {
                data[j * self.rows + i] = w;
            }
        }
        Matrix { rows: self.cols, cols: self.rows, store: Store::Dense(data) }
    }

    /// The same matrix with every entry mapped by `f` (which must keep
    /// zeros zero, as scalings do, so that sparse storage stays exact).
    pub fn map_entries(&self, f: impl Fn(f64) -> f64) -> Matrix {
        debug_assert_eq!(f(0.0), 0.0);
        let store = match &self.store {
            Store::Dense(d) => Store::Dense(d.iter().map(|&v| f(v)).collect()),
            Store::Sparse { starts, cols, values } => Store::Sparse {
                starts: starts.clone(),
                cols: cols.clone(),
                values: values.iter().map(|&v| f(v)).collect(),
            },
        };
        Matrix { rows: self.rows, cols: self.cols, store }
    }

    /// Every stored value (for validation: a sparse matrix's absent entries
    /// are zero).
    pub fn values(&self) -> &[f64] {
        match &self.store {
            Store::Dense(d) => d,
            Store::Sparse { values, .. } => values,
        }
    }
}

/// Builds a sparse [`Matrix`] row by row.
#[derive(Debug)]
pub struct SparseBuilder {
    width: usize,
    starts: Vec<usize>,
    cols: Vec<u32>,
    values: Vec<f64>,
}

impl SparseBuilder {
    /// No rows yet, `width` columns.
    pub fn new(width: usize) -> SparseBuilder {
        SparseBuilder { width, starts: vec![0], cols: Vec::new(), values: Vec::new() }
    }

    /// Append a row given as `(column, value)` with ascending columns below
    /// the width; errors otherwise.
    pub fn push_row(&mut self, entries: &[(usize, f64)]) -> Result<()> {
        let ok = entries.windows(2).all(|w| w[0].0 < w[1].0) && entries.last().is_none_or(|e| e.0 < self.width);
        if !ok || self.width > u32::MAX as usize {
            return Err(Error::new(
                ErrorKind::Network,
                format!("a sparse row needs ascending columns below {}", self.width.min(u32::MAX as usize)),
            ));
        }
        self.push_entries(entries.iter().copied());
        Ok(())
    }

    /// Append a row from entries with ascending columns below the width.
    fn push_entries(&mut self, entries: impl Iterator<Item = (usize, f64)>) {
        for (j, v) in entries {
            self.cols.push(j as u32);
            self.values.push(v);
        }
        self.starts.push(self.cols.len());
    }

    /// Append the nonzero entries of a dense row of `width` values.
    pub fn push_dense(&mut self, row: &[f64]) {
        debug_assert_eq!(row.len(), self.width);
        self.push_entries(row.iter().copied().enumerate().filter(|(_, v)| *v != 0.0));
    }

    /// Entries stored so far.
    pub fn stored(&self) -> usize {
        self.values.len()
    }

    /// The matrix of the rows pushed.
    pub fn finish(self) -> Matrix {
        let rows = self.starts.len() - 1;
        Matrix {
            rows,
            cols: self.width,
            store: Store::Sparse { starts: self.starts, cols: self.cols, values: self.values },
        }
    }
}

/// The dot product of two equally long slices.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four partial sums, so that the additions pipeline and vectorise (a
    // single running sum fixes their order and forbids both).
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for t in 0..4 {
            acc[t] += x[t] * y[t];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_and_dense_agree() {
        let dense = Matrix::new(3, 4, vec![0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0]).unwrap();
        let sparse = dense.clone().compact();
        assert!(sparse.dense().is_none(), "2 of 12 nonzero is sparse");
        let x = [1.0, -2.0, 0.25, 4.0];
        assert_eq!(dense.mul_vec(&x), sparse.mul_vec(&x));
        assert_eq!(dense, sparse);
        assert_eq!(sparse.get(2, 2), 0.5);
        assert_eq!(sparse.get(0, 1), 2.0);
        assert_eq!(sparse.get(1, 3), 0.0);
        assert_eq!(sparse.transpose(), dense.transpose());
        let wide = sparse.clone().widen(2);
        assert_eq!(wide.mul_vec(&[1.0, -2.0, 0.25, 4.0, 9.0, 9.0]), dense.mul_vec(&x));
        let (lo, hi) = ([-1.0; 4], [1.0; 4]);
        for i in 0..3 {
            assert_eq!(dense.row(i).minimum(0.5, &lo, &hi), sparse.row(i).minimum(0.5, &lo, &hi));
        }
        let both = dense.clone().append_rows(&sparse);
        assert_eq!(both.rows(), 6);
        assert_eq!(both.row(4).dot(&x), dense.row(1).dot(&x));
        let full = Matrix::new(1, 2, vec![1.0, 2.0]).unwrap();
        assert!(full.clone().compact().dense().is_some());
        assert_eq!(Matrix::identity(3).mul_vec(&[1.0, 2.0, 3.0]), vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn rejects_bad_rows() {
        assert!(Matrix::from_sparse_rows(3, &[vec![(2, 1.0), (1, 1.0)]]).is_err());
        assert!(Matrix::from_sparse_rows(3, &[vec![(3, 1.0)]]).is_err());
        assert!(Matrix::new(2, 2, vec![1.0]).is_err());
    }
}
