//! reluverify proves properties of piecewise-linear neural networks, or finds
//! the input that breaks them.
//!
//! A network of affine layers and ReLU, Leaky ReLU, PReLU and clipped ReLU
//! activations is a piecewise-linear function, so "is there an input in this
//! box whose output is unsafe?" is a Mixed-Integer Linear Program. The
//! pipeline runs one way:
//!
//! ```text
//! load (model::onnx) -> Network -> spec (JSON / VNN-LIB) -> Property
//!   -> bounds (interval, ...) -> search (falsify, encode + solve)
//!   -> Verdict (holds | violated with a checked witness | unknown)
//! ```
//!
//! # Example
//!
//! ```
//! use reluverify::model::{Activation, Affine, Layer, Matrix, Network};
//! use reluverify::spec::{Conjunction, Dnf, InputBox, LinearConstraint, Property, Region};
//! use reluverify::{verify, Settings, Verdict};
//!
//! // |x| = relu(x) + relu(-x)
//! let net = Network::new(vec![
//!     Layer {
//!         affine: Affine { weights: Matrix::new(2, 1, vec![1.0, -1.0])?, bias: vec![0.0, 0.0] },
//!         activation: Activation::Relu,
//!     },
//!     Layer {
//!         affine: Affine { weights: Matrix::new(1, 2, vec![1.0, 1.0])?, bias: vec![0.0] },
//!         activation: Activation::Identity,
//!     },
//! ])?;
//! // Unsafe if y <= -0.1 somewhere on [-1, 1]: it never is.
//! let prop = Property::new(vec![Region {
//!     input: InputBox::new(vec![-1.0], vec![1.0])?,
//!     input_constraints: vec![],
//!     unsafe_set: Dnf {
//!         disjuncts: vec![Conjunction {
//!             constraints: vec![LinearConstraint { coeffs: vec![(0, 1.0)], rhs: -0.1 }],
//!         }],
//!     },
//! }]);
//! let outcome = verify(&net, &prop, &Settings::default())?;
//! assert!(matches!(outcome.verdict, Verdict::Holds { .. }));
//! # Ok::<(), reluverify::Error>(())
//! ```
#![deny(missing_docs)]
// One audited exception: the back-substitution kernels
// (`bounds::symbolic::kernels`: their AVX2 dispatch and the call into
// `matrixmultiply`'s raw-pointer product).
#![deny(unsafe_code)]

pub mod bounds;
pub mod cancel;
pub mod cli;
pub mod error;
pub mod limits;
pub mod margins;
pub mod milp;
pub mod model;
pub mod query;
pub(crate) mod rng;
pub mod search;
pub mod settings;
pub mod spec;
#[cfg(test)]
pub(crate) mod testutil;
pub mod verdict;

pub use error::{Error, ErrorKind, Result};
pub use limits::LoadLimits;
pub use rng::Rng;
pub use search::verify;
pub use settings::Settings;
pub use verdict::{Outcome, Verdict};
