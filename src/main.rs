//! The `maplefuzz` command line.

fn main() {
    eprintln!("maplefuzz: the fuzz driver lands with the harness issue");
    std::process::exit(2);
}
