// SPDX-License-Identifier: GPL-2.0-or-later
//! Which engines a program runs on: `--engines oracle,rust,kernel` on the
//! command line, `MAPLEFUZZ_ENGINES` for cargo-fuzz and honggfuzz targets
//! and tests, and by default every engine this build has. There is no
//! engine set in force behind the caller's back: the CLI parses one and
//! hands it to the command, and every run takes the set it runs on.

use super::{KernelEngine, OracleEngine, RustEngine, TreeEngine};
use crate::ops::TreeConfig;

/// The environment variable that selects engines where no flag can.
pub const ENV: &str = "MAPLEFUZZ_ENGINES";

/// A set of engines. The oracle is always in it and always first: it is the
/// reference every other engine is compared with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSet {
    /// The Rust port.
    pub rust: bool,
    /// The kernel's C code, and which variant of it (see
    /// `maplefuzz_kernel::VARIANTS`).
    pub kernel: Option<&'static str>,
}

impl EngineSet {
    /// Every engine this build has: the oracle, the port, and the kernel's
    /// `fixed` variant if the kernel engine was built.
    pub fn all_available() -> EngineSet {
        EngineSet {
            rust: true,
            kernel: super::kernel::variants()
                .iter()
                .find(|v| v.name == "fixed")
                .map(|v| v.name),
        }
    }

    /// Parses `oracle,rust,kernel[:VARIANT]` (or `all`).
    pub fn parse(spec: &str) -> Result<EngineSet, String> {
        if spec.trim() == "all" {
            return Ok(EngineSet::all_available());
        }
        let mut set = EngineSet {
            rust: false,
            kernel: None,
        };
        let mut oracle = false;
        for name in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (engine, variant) = match name.split_once(':') {
                Some((e, v)) => (e, Some(v)),
                None => (name, None),
            };
            match (engine, variant) {
                ("oracle", None) => oracle = true,
                ("rust", None) => set.rust = true,
                ("kernel", v) => {
                    if let Some(why) = super::kernel::unavailable_reason() {
                        return Err(why);
                    }
                    let want = v.unwrap_or("fixed");
                    let vars = super::kernel::variants();
                    let Some(found) = vars.iter().find(|x| x.name == want) else {
                        let names: Vec<&str> = vars.iter().map(|x| x.name).collect();
                        return Err(format!(
                            "no kernel variant `{want}`; this build has: {}",
                            names.join(", ")
                        ));
                    };
                    set.kernel = Some(found.name);
                }
                _ => {
                    return Err(format!(
                        "unknown engine `{name}` (engines: oracle, rust, kernel[:VARIANT], or all)"
                    ))
                }
            }
        }
        if !oracle {
            return Err(
                "the engine list must include `oracle`: it is the reference the others are \
                 compared with"
                    .to_string(),
            );
        }
        if !set.rust && set.kernel.is_none() {
            return Err("name at least one engine to test besides the oracle".to_string());
        }
        Ok(set)
    }

    /// The set `MAPLEFUZZ_ENGINES` names, else [`EngineSet::all_available`]:
    /// what the fuzz targets, the generated reproducers and the tests run
    /// on. A bad value panics with the reason (fuzz targets have no other
    /// way to say it); the CLI parses it with [`EngineSet::from_env_checked`].
    pub fn from_env() -> EngineSet {
        EngineSet::from_env_checked().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`EngineSet::from_env`], with a bad value as an error.
    pub fn from_env_checked() -> Result<EngineSet, String> {
        match std::env::var(ENV) {
            Ok(spec) => EngineSet::parse(&spec).map_err(|e| format!("{ENV}={spec}: {e}")),
            Err(_) => Ok(EngineSet::all_available()),
        }
    }

    /// Fresh engines for a program with `config`, the oracle first.
    pub fn build(&self, config: TreeConfig) -> Vec<Box<dyn TreeEngine>> {
        let mut v: Vec<Box<dyn TreeEngine>> = vec![Box::new(OracleEngine::new(config))];
        if self.rust {
            v.push(Box::new(RustEngine::new(config)));
        }
        if let Some(name) = self.kernel {
            let variant = maplefuzz_kernel::variant(name).expect("variant chosen from this build");
            v.push(Box::new(KernelEngine::new(&variant, config)));
        }
        v
    }

    /// The set in the form [`EngineSet::parse`] reads.
    pub fn describe(&self) -> String {
        let mut parts = vec!["oracle".to_string()];
        if self.rust {
            parts.push("rust".to_string());
        }
        if let Some(k) = self.kernel {
            parts.push(format!("kernel:{k}"));
        }
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_requires_the_oracle_and_knows_the_engines() {
        assert!(EngineSet::parse("rust").unwrap_err().contains("oracle"));
        assert!(EngineSet::parse("oracle").is_err());
        assert!(EngineSet::parse("oracle,rust,bogus")
            .unwrap_err()
            .contains("bogus"));
        let s = EngineSet::parse("oracle, rust").unwrap();
        assert_eq!(
            s,
            EngineSet {
                rust: true,
                kernel: None
            }
        );
        assert_eq!(EngineSet::parse(&s.describe()).unwrap(), s);
        match super::super::kernel::unavailable_reason() {
            Some(why) => {
                assert_eq!(EngineSet::parse("oracle,kernel").unwrap_err(), why);
            }
            None => {
                let k = EngineSet::parse("oracle,kernel").unwrap();
                assert_eq!(k.kernel, Some("fixed"));
                assert!(EngineSet::parse("oracle,kernel:nope")
                    .unwrap_err()
                    .contains("no kernel variant"));
                assert_eq!(
                    EngineSet::parse("oracle,kernel:exact").unwrap().kernel,
                    Some("exact")
                );
            }
        }
    }
}
