//! The text form: parsing never panics, and every parsed program formats to
//! text that parses back to the same program.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maplefuzz::ops::text::{format_program, parse_program};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(p) = parse_program(&text) {
        let again = parse_program(&format_program(&p)).expect("formatted program parses");
        assert_eq!(p, again);
    }
});
