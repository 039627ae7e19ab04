//! VNN-LIB property format (in progress).

use super::Property;
use crate::error::{Error, ErrorKind, Result};

/// Parse a VNN-LIB property.
pub fn parse(_text: &str) -> Result<Property> {
    Err(Error::new(ErrorKind::Spec, "VNN-LIB properties are not implemented yet"))
}
