// SPDX-License-Identifier: GPL-2.0-or-later
//! Which engines a program runs on: `--engines oracle,rust,kernel` on the
//! command line, `MAPLEFUZZ_ENGINES` for cargo-fuzz and honggfuzz targets
//! and tests, and by default every engine this build has. There is no
//! engine set in force behind the caller's back: the CLI parses one and
//! hands it to the command, and every run takes the set it runs on.
//!
//! Kernel engines are named by their tree: `kernel@6.1`, `kernel@7.1:exact`
//! (a variant after the colon, `fixed` when none is given); plain `kernel`
//! is the build's default tree (the first of `LINUX_SRC`, else 6.12), and
//! is what reports call that tree's engine.

use super::{KernelEngine, OracleEngine, RustEngine, TreeEngine};
use crate::ops::TreeConfig;

/// The environment variable that selects engines where no flag can.
pub const ENV: &str = "MAPLEFUZZ_ENGINES";

/// One kernel engine: a compiled tree and one of its variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelChoice {
    /// The `X.Y` of the tree (`maplefuzz_kernel::trees`).
    pub tree: &'static str,
    /// The variant (see `maplefuzz_kernel::VARIANTS`).
    pub variant: &'static str,
}

impl KernelChoice {
    /// The default tree's `variant`, if this build has it.
    pub fn default_tree(variant: &str) -> Option<KernelChoice> {
        maplefuzz_kernel::variant(variant).map(|v| KernelChoice {
            tree: v.tree,
            variant: v.name,
        })
    }

    /// Parses `kernel`, `kernel:VARIANT`, `kernel@X.Y` or
    /// `kernel@X.Y:VARIANT`; the error names what this build has.
    pub fn parse(name: &str) -> Result<KernelChoice, String> {
        let (engine, variant) = match name.split_once(':') {
            Some((e, v)) => (e, v),
            None => (name, "fixed"),
        };
        let tree = match engine.strip_prefix("kernel") {
            Some("") => None,
            Some(t) if t.starts_with('@') => Some(&t[1..]),
            _ => return Err(format!("`{name}` is not a kernel engine")),
        };
        if let Some(why) = super::kernel::unavailable_reason() {
            return Err(why);
        }
        let tree = match tree {
            Some(t) => t,
            None => maplefuzz_kernel::default_tree().expect("a build with variants has a default"),
        };
        let trees = maplefuzz_kernel::trees();
        if !trees.contains(&tree) {
            if let Some((_, why)) = maplefuzz_kernel::refused().iter().find(|(t, _)| *t == tree) {
                return Err(format!("kernel@{tree} was not built: {why}"));
            }
            let names: Vec<String> = trees.iter().map(|t| format!("kernel@{t}")).collect();
            return Err(format!(
                "no kernel tree {tree} in this build (it has {}); name the tree in LINUX_SRC \
                 (several separated by `:`) and rebuild",
                names.join(", ")
            ));
        }
        let Some(found) = maplefuzz_kernel::variant_of(tree, variant) else {
            let names: Vec<&str> = maplefuzz_kernel::variants()
                .iter()
                .filter(|v| v.tree == tree)
                .map(|v| v.name)
                .collect();
            return Err(format!(
                "no variant `{variant}` of kernel@{tree}; this build has: {}",
                names.join(", ")
            ));
        };
        Ok(KernelChoice {
            tree: found.tree,
            variant: found.name,
        })
    }

    /// The compiled variant.
    pub fn info(&self) -> maplefuzz_kernel::VariantInfo {
        maplefuzz_kernel::variant_of(self.tree, self.variant)
            .expect("a kernel choice names a compiled variant")
    }
}

/// A set of engines. The oracle is always in it and always first: it is the
/// reference every other engine is compared with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSet {
    /// The Rust port.
    pub rust: bool,
    /// The kernel engines, at most one per tree.
    pub kernels: Vec<KernelChoice>,
}

impl EngineSet {
    /// Every engine this build has: the oracle, the port, and the `fixed`
    /// variant of every kernel tree built.
    pub fn all_available() -> EngineSet {
        EngineSet {
            rust: true,
            kernels: super::kernel::variants()
                .iter()
                .filter(|v| v.name == "fixed")
                .map(|v| KernelChoice {
                    tree: v.tree,
                    variant: v.name,
                })
                .collect(),
        }
    }

    /// The oracle, the port if `rust`, and the default tree's `variant`
    /// if one is named (for tests and benches; panics if this build lacks
    /// it, so that a kernel run cannot silently become a port-only one).
    pub fn with_default_kernel(rust: bool, variant: Option<&str>) -> EngineSet {
        EngineSet {
            rust,
            kernels: variant
                .map(|v| {
                    KernelChoice::default_tree(v)
                        .unwrap_or_else(|| panic!("this build has no kernel variant `{v}`"))
                })
                .into_iter()
                .collect(),
        }
    }

    /// The trees whose kernel VMA engine a `vma_ops` program runs on: every
    /// kernel of the set whose tree has one ([`vma_kernels`](Self::vma_kernels)).
    pub fn vma_trees(&self) -> Vec<&'static str> {
        self.vma_kernels().iter().map(|v| v.tree).collect()
    }

    /// The kernel VMA engine builds a `vma_ops` program runs on, one per
    /// kernel of the set whose tree has a VMA engine with a profile:
    /// `kernel@X.Y:exact` names the tree's `exact` VMA build, any other
    /// variant (the maple tree build) the default one, `fixed` where the
    /// tree has one ([`vma_engines`](maplefuzz_kernel::vma::vma_engines)).
    pub fn vma_kernels(&self) -> Vec<maplefuzz_kernel::vma::VmaEngineInfo> {
        let defaults = maplefuzz_kernel::vma::vma_engines();
        self.kernels
            .iter()
            .filter(|k| super::vma::tree_profile(k.tree).is_some())
            .filter_map(|k| {
                let default = defaults.iter().find(|v| v.tree == k.tree).copied();
                if k.variant == "exact" {
                    maplefuzz_kernel::vma::vma_build(k.tree, "exact").or(default)
                } else {
                    default
                }
            })
            .collect()
    }

    /// The profiles of the `vma_ops` programs this set runs: those of its
    /// kernel VMA engines, or every profile with a kernel
    /// ([`DEFAULT_PROFILES`](super::vma::DEFAULT_PROFILES)) if it has none.
    pub fn vma_profiles(&self) -> Vec<crate::ops::vma::VmaProfile> {
        let mut v: Vec<_> = self
            .vma_trees()
            .iter()
            .filter_map(|t| super::vma::tree_profile(t))
            .collect();
        v.dedup();
        if v.is_empty() {
            v = super::vma::DEFAULT_PROFILES.to_vec();
        }
        v
    }

    /// Why each kernel of the set without a VMA engine has none (for a
    /// `vma_ops` run that names it).
    pub fn vma_missing(&self) -> Vec<String> {
        let have = self.vma_trees();
        self.kernels
            .iter()
            .filter(|k| !have.contains(&k.tree))
            .map(|k| {
                if let Some(why) = maplefuzz_kernel::vma::vma_engines()
                    .iter()
                    .any(|v| v.tree == k.tree)
                    .then(|| super::vma::unprofiled_reason(k.tree))
                    .flatten()
                {
                    return format!("kernel@{} does not run vma_ops: {why}", k.tree);
                }
                let why = maplefuzz_kernel::vma::vma_refused()
                    .iter()
                    .find(|(t, _)| *t == k.tree)
                    .map_or("it was not built", |(_, w)| w);
                format!("kernel@{} has no VMA engine: {why}", k.tree)
            })
            .collect()
    }

    /// Whether any kernel engine is in the set.
    pub fn has_kernel(&self) -> bool {
        !self.kernels.is_empty()
    }

    /// Parses `oracle,rust,kernel[@X.Y][:VARIANT],...` (or `all`).
    pub fn parse(spec: &str) -> Result<EngineSet, String> {
        if spec.trim() == "all" {
            return Ok(EngineSet::all_available());
        }
        let mut set = EngineSet {
            rust: false,
            kernels: Vec::new(),
        };
        let mut oracle = false;
        for name in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "oracle" => oracle = true,
                "rust" => set.rust = true,
                k if k.starts_with("kernel") => {
                    let choice = KernelChoice::parse(k)?;
                    if set.kernels.iter().any(|c| c.tree == choice.tree) {
                        return Err(format!(
                            "kernel@{} is named twice: one variant per tree",
                            choice.tree
                        ));
                    }
                    set.kernels.push(choice);
                }
                _ => {
                    return Err(format!(
                        "unknown engine `{name}` (engines: oracle, rust, \
                         kernel[@X.Y][:VARIANT], or all)"
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
        if !set.rust && set.kernels.is_empty() {
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

    /// Fresh engines for a program with `config`, the oracle first; each
    /// further oracle heads the group of kernels compared with it (see
    /// `diff::run_with`).
    ///
    /// The kernels of the port's generation (6.12) run in the first group,
    /// beside the port: they build the same nodes, which the structural
    /// check compares word by word. Each other generation runs in a group
    /// of its own, against its own oracle of its version's profile (6.1's
    /// API answers differently; 6.18 and 7.1 split their leaves elsewhere,
    /// so a search resumed from the program's maple state may rightly
    /// answer otherwise there, and the cursor then stands elsewhere: one
    /// oracle could follow only one of them).
    pub fn build(&self, config: TreeConfig) -> Vec<Box<dyn TreeEngine>> {
        let mut v: Vec<Box<dyn TreeEngine>> = vec![Box::new(OracleEngine::new(config))];
        if self.rust {
            v.push(Box::new(RustEngine::new(config)));
        }
        let default = maplefuzz_reference::TreeProfile::Linux6_12;
        let group = |k: &KernelChoice| {
            (
                super::reference::profile_of_tree(k.tree),
                k.info().generation,
            )
        };
        let first = (default, super::PORT_GENERATION);
        for k in self.kernels.iter().filter(|k| group(k) == first) {
            v.push(Box::new(KernelEngine::new(&k.info(), config)));
        }
        let mut others = Vec::new();
        for g in self.kernels.iter().map(group) {
            if g != first && !others.contains(&g) {
                others.push(g);
            }
        }
        for g in others {
            v.push(Box::new(OracleEngine::with_profile(config, g.0)));
            for k in self.kernels.iter().filter(|k| group(k) == g) {
                v.push(Box::new(KernelEngine::new(&k.info(), config)));
            }
        }
        v
    }

    /// The set in the form [`EngineSet::parse`] reads.
    pub fn describe(&self) -> String {
        let mut parts = vec!["oracle".to_string()];
        if self.rust {
            parts.push("rust".to_string());
        }
        for k in &self.kernels {
            parts.push(format!("kernel@{}:{}", k.tree, k.variant));
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
                kernels: vec![]
            }
        );
        assert_eq!(EngineSet::parse(&s.describe()).unwrap(), s);
        match super::super::kernel::unavailable_reason() {
            Some(why) => {
                assert_eq!(EngineSet::parse("oracle,kernel").unwrap_err(), why);
            }
            None => {
                let default = maplefuzz_kernel::default_tree().unwrap();
                let k = EngineSet::parse("oracle,kernel").unwrap();
                assert_eq!(
                    k.kernels,
                    vec![KernelChoice {
                        tree: default,
                        variant: "fixed"
                    }]
                );
                assert_eq!(EngineSet::parse(&k.describe()).unwrap(), k);
                assert!(EngineSet::parse("oracle,kernel:nope")
                    .unwrap_err()
                    .contains("no variant `nope`"));
                assert_eq!(
                    EngineSet::parse("oracle,kernel:exact").unwrap().kernels[0].variant,
                    "exact"
                );
                let named = format!("oracle,kernel@{default}:exact");
                assert_eq!(
                    EngineSet::parse(&named).unwrap().kernels[0],
                    KernelChoice {
                        tree: default,
                        variant: "exact"
                    }
                );
                assert!(
                    EngineSet::parse(&format!("oracle,kernel,kernel@{default}:exact"))
                        .unwrap_err()
                        .contains("named twice")
                );
                let missing = EngineSet::parse("oracle,kernel@2.6").unwrap_err();
                assert!(missing.contains("no kernel tree 2.6"), "{missing}");
                assert!(missing.contains(&format!("kernel@{default}")), "{missing}");
            }
        }
    }
}
