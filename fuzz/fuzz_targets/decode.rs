//! The binary codec: decoding is total, and encoding gives a canonical form
//! that decodes to the same program.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maplefuzz::ops::binary::{decode, encode};

fuzz_target!(|data: &[u8]| {
    let p = decode(data);
    let q = decode(&encode(&p));
    assert_eq!(p, q);
});
