//! Any byte string given to the ONNX loader yields a network or an error:
//! never a panic, a hang or an allocation beyond the load limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = reluverify::model::onnx::load_bytes(data);
});
