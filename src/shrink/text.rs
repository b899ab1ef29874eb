//! The text reproducer: the minimised program with a comment header, the
//! file that goes to `corpus/regressions/<target>/<signature>.txt` and is
//! replayed by `cargo test` (`tests/corpus.rs`) from then on.

use super::{Reproducer, Shrinkable};

/// The regression file's text: `#` comment lines saying what failed and
/// how to replay it, then the program. Parses back to the program.
pub fn regression<P: Shrinkable>(r: &Reproducer<'_, P>, path: &str) -> String {
    let mut s = String::new();
    for line in r.summary() {
        for part in line.lines() {
            s.push_str("# ");
            s.push_str(part);
            s.push('\n');
        }
    }
    s.push_str(&format!(
        "# replay: maplefuzz replay {path} --trace\n\
         # cargo test replays this file (tests/corpus.rs): it must run clean once the bug is fixed.\n"
    ));
    s.push_str(&r.shrunk.program.text());
    s
}
