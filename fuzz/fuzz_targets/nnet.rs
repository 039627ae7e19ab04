//! Any text given to the `.nnet` parser yields a network or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = reluverify::model::nnet::parse(text);
    }
});
