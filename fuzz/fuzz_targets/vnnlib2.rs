//! Any text given to the VNN-LIB 2.0 reader yields a query or an error, and
//! a query evaluates any assignment without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reluverify::spec::vnnlib2::{self, Options};
use reluverify::LoadLimits;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let options = Options { assume_real: true };
        if let Ok(q) = vnnlib2::parse_with(text, &LoadLimits::default(), &options) {
            let inputs = q.property.declared_inputs.unwrap_or(0);
            let outputs = q.property.declared_outputs.unwrap_or(0);
            let _ = q.satisfied_by(&vec![0.0; inputs], &vec![0.0; outputs]);
        }
    }
});
