//! JSON property format (in progress).

use super::Property;
use crate::error::{Error, ErrorKind, Result};

/// Parse a JSON property.
pub fn parse(_text: &str) -> Result<Property> {
    Err(Error::new(ErrorKind::Spec, "JSON properties are not implemented yet"))
}
