//! Value simplification for address-space programs: addresses and lengths
//! toward 0 and page-aligned, protection and flag bits dropped one at a
//! time, files turned into anonymous memory, fault points moved earlier,
//! a fork that goes on in the child turned into one that stays in the parent,
//! the 6.1 profile and a non-default map count limit dropped. Every
//! candidate is a valid program; whether it still fails is the search's
//! business.

use super::values::{num_cost, smaller};
use super::{each_op_in, without_ops, Shrinkable};
use crate::diff::{Divergence, RunStats};
use crate::ops::vma::{Backing, ForkKeep, VmaOp, VmaProfile, VmaProgram, VmaSetup};

/// Each set bit of `bits` cleared, one at a time.
fn fewer_bits(bits: u32) -> Vec<u32> {
    (0..32)
        .map(|b| 1u32 << b)
        .filter(|m| bits & m != 0)
        .map(|m| bits & !m)
        .collect()
}

/// Smaller lengths: one page first, then the generic smaller values
/// (0 is an `EINVAL` case of its own and is not offered).
fn shorter(len: u64) -> Vec<u64> {
    let mut v = vec![0x1000];
    v.extend(smaller(len));
    v.retain(|&l| l > 0 && l < len);
    v.dedup();
    v
}

/// An op's cost: (numbers; bits and choices).
fn op_cost(op: &VmaOp) -> (u64, u64) {
    let n = |xs: &[u64]| xs.iter().map(|&x| num_cost(x)).sum::<u64>();
    let bits = |x: u32| u64::from(x.count_ones());
    match *op {
        VmaOp::Mmap {
            addr,
            len,
            prot,
            flags,
            backing,
        } => {
            let (file, pgoff) = match backing {
                Backing::Anon => (0, 0),
                Backing::File { file, pgoff } => (u64::from(file) + 1, pgoff),
            };
            (n(&[addr, len, pgoff]), bits(prot) + bits(flags) + file)
        }
        VmaOp::Munmap { addr, len } => (n(&[addr, len]), 0),
        VmaOp::Mprotect { addr, len, prot } => (n(&[addr, len]), bits(prot)),
        VmaOp::Madvise { addr, len, advice } => (n(&[addr, len]), u64::from(advice)),
        VmaOp::Brk { addr } => (n(&[addr]), 0),
        VmaOp::Mremap {
            addr,
            old_len,
            new_len,
            flags,
            new_addr,
        } => (n(&[addr, old_len, new_len, new_addr]), bits(flags)),
        VmaOp::Touch { addr, write } => (n(&[addr]), u64::from(write)),
        VmaOp::FailAt { nth } => (num_cost(u64::from(nth)), 0),
        VmaOp::Fork { keep } => (0, u64::from(keep == ForkKeep::Child)),
    }
}

/// Simpler versions of one op, same kind, in the order they are tried.
fn op_candidates(op: &VmaOp) -> Vec<VmaOp> {
    let mut out = Vec::new();
    match *op {
        VmaOp::Mmap {
            addr,
            len,
            prot,
            flags,
            backing,
        } => {
            let with = |addr, len, prot, flags, backing| VmaOp::Mmap {
                addr,
                len,
                prot,
                flags,
                backing,
            };
            if let Backing::File { pgoff, .. } = backing {
                out.push(with(addr, len, prot, flags, Backing::Anon));
                for p in smaller(pgoff) {
                    if let Backing::File { file, .. } = backing {
                        out.push(with(
                            addr,
                            len,
                            prot,
                            flags,
                            Backing::File { file, pgoff: p },
                        ));
                    }
                }
            }
            out.extend(
                smaller(addr)
                    .into_iter()
                    .map(|a| with(a, len, prot, flags, backing)),
            );
            out.extend(
                shorter(len)
                    .into_iter()
                    .map(|l| with(addr, l, prot, flags, backing)),
            );
            out.extend(
                fewer_bits(prot)
                    .into_iter()
                    .map(|p| with(addr, len, p, flags, backing)),
            );
            out.extend(
                fewer_bits(flags)
                    .into_iter()
                    .map(|f| with(addr, len, prot, f, backing)),
            );
        }
        VmaOp::Munmap { addr, len } => {
            out.extend(
                smaller(addr)
                    .into_iter()
                    .map(|addr| VmaOp::Munmap { addr, len }),
            );
            out.extend(
                shorter(len)
                    .into_iter()
                    .map(|len| VmaOp::Munmap { addr, len }),
            );
        }
        VmaOp::Mprotect { addr, len, prot } => {
            let with = |addr, len, prot| VmaOp::Mprotect { addr, len, prot };
            out.extend(smaller(addr).into_iter().map(|a| with(a, len, prot)));
            out.extend(shorter(len).into_iter().map(|l| with(addr, l, prot)));
            out.extend(fewer_bits(prot).into_iter().map(|p| with(addr, len, p)));
        }
        VmaOp::Madvise { addr, len, advice } => {
            let with = |addr, len| VmaOp::Madvise { addr, len, advice };
            out.extend(smaller(addr).into_iter().map(|a| with(a, len)));
            out.extend(shorter(len).into_iter().map(|l| with(addr, l)));
        }
        VmaOp::Brk { addr } => {
            out.extend(smaller(addr).into_iter().map(|addr| VmaOp::Brk { addr }))
        }
        VmaOp::Mremap {
            addr,
            old_len,
            new_len,
            flags,
            new_addr,
        } => {
            let with = |addr, old_len, new_len, flags, new_addr| VmaOp::Mremap {
                addr,
                old_len,
                new_len,
                flags,
                new_addr,
            };
            out.extend(
                smaller(addr)
                    .into_iter()
                    .map(|a| with(a, old_len, new_len, flags, new_addr)),
            );
            out.extend(
                shorter(old_len)
                    .into_iter()
                    .map(|l| with(addr, l, new_len, flags, new_addr)),
            );
            out.extend(
                shorter(new_len)
                    .into_iter()
                    .map(|l| with(addr, old_len, l, flags, new_addr)),
            );
            out.extend(
                fewer_bits(flags)
                    .into_iter()
                    .map(|f| with(addr, old_len, new_len, f, new_addr)),
            );
            out.extend(
                smaller(new_addr)
                    .into_iter()
                    .map(|n| with(addr, old_len, new_len, flags, n)),
            );
        }
        VmaOp::Touch { addr, write } => {
            if write {
                out.push(VmaOp::Touch { addr, write: false });
            }
            out.extend(
                smaller(addr)
                    .into_iter()
                    .map(|addr| VmaOp::Touch { addr, write }),
            );
        }
        VmaOp::FailAt { nth } => out.extend(
            smaller(u64::from(nth))
                .into_iter()
                .map(|n| VmaOp::FailAt { nth: n as u32 }),
        ),
        VmaOp::Fork { keep } => {
            if keep == ForkKeep::Child {
                out.push(VmaOp::Fork {
                    keep: ForkKeep::Parent,
                });
            }
        }
    }
    out
}

impl Shrinkable for VmaProgram {
    fn len(&self) -> usize {
        self.ops.len()
    }

    fn truncate(&mut self, n: usize) {
        self.ops.truncate(n);
    }

    fn without(&self, at: usize, n: usize) -> Self {
        without_ops(self, &self.ops, at, n, |p| &mut p.ops)
    }

    /// The setup counts as choices: the 6.1 profile and a map count limit
    /// other than the default each cost one.
    fn cost(&self) -> (usize, u64, u64) {
        let d = VmaSetup::default();
        let mut nums = 0u64;
        let mut choices = u64::from(self.setup.profile != d.profile)
            + u64::from(self.setup.max_map_count != d.max_map_count);
        for op in &self.ops {
            let (n, c) = op_cost(op);
            nums = nums.saturating_add(n);
            choices = choices.saturating_add(c);
        }
        (self.ops.len(), nums, choices)
    }

    fn global_candidates(&self) -> Vec<Self> {
        let d = VmaSetup::default();
        let mut out = Vec::new();
        if self.setup.profile != VmaProfile::V6_12 {
            let mut p = self.clone();
            p.setup.profile = VmaProfile::V6_12;
            out.push(p);
        }
        if self.setup.max_map_count != d.max_map_count {
            let mut p = self.clone();
            p.setup.max_map_count = d.max_map_count;
            out.push(p);
        }
        out
    }

    fn op_candidates(&self, i: usize) -> Vec<Self> {
        each_op_in(self, i, op_candidates(&self.ops[i]), |p| &mut p.ops)
    }

    fn text(&self) -> String {
        crate::ops::vma::text::format_program(self)
    }

    /// The oracle, the model, and the kernel VMA engines of `engines`'
    /// trees.
    fn run_fast(&self, engines: &crate::engine::EngineSet) -> Result<RunStats, Box<Divergence>> {
        crate::diff::vma::run_set(self, engines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every op kind offers a simpler version of itself (the search keeps
    /// only cheaper ones, so a cheaper one must be among them), and no
    /// candidate changes the op's kind.
    #[test]
    fn every_op_has_a_cheaper_candidate_of_its_kind() {
        let ops = [
            VmaOp::Mmap {
                addr: 0x7f00_0000_3000,
                len: 0x5000,
                prot: 7,
                flags: 0x12,
                backing: Backing::File { file: 3, pgoff: 9 },
            },
            VmaOp::Munmap {
                addr: 0x13000,
                len: 0x3000,
            },
            VmaOp::Mprotect {
                addr: 0x13000,
                len: 0x3000,
                prot: 1,
            },
            VmaOp::Madvise {
                addr: 0x13000,
                len: 0x3000,
                advice: 10,
            },
            VmaOp::Brk {
                addr: 0x5555_5600_3000,
            },
            VmaOp::Mremap {
                addr: 0x40000,
                old_len: 0x3000,
                new_len: 0x9000,
                flags: 3,
                new_addr: 0x90000,
            },
            VmaOp::Touch {
                addr: 0x10fff,
                write: true,
            },
            VmaOp::FailAt { nth: 5 },
            VmaOp::Fork {
                keep: ForkKeep::Child,
            },
        ];
        for op in ops {
            let cands = op_candidates(&op);
            assert!(
                cands.iter().any(|c| op_cost(c) < op_cost(&op)),
                "{op:?} has no cheaper version"
            );
            for c in cands {
                assert_eq!(c.kind(), op.kind());
                assert_ne!(c, op);
            }
        }
    }

    #[test]
    fn the_setup_simplifies_to_the_default() {
        let p = VmaProgram {
            setup: VmaSetup {
                max_map_count: 7,
                profile: VmaProfile::V6_1,
            },
            ops: vec![VmaOp::FailAt { nth: 0 }],
        };
        let cands = p.global_candidates();
        assert_eq!(cands.len(), 2);
        assert!(cands.iter().all(|c| c.cost() < p.cost()));
        assert_eq!(cands[0].setup.profile, VmaProfile::V6_12);
        assert_eq!(
            cands[1].setup.max_map_count,
            VmaSetup::default().max_map_count
        );
    }
}
