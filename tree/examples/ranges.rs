//! Two allocators on `MapleMap`, the typed API over the maple tree port
//! (`src/typed.rs`):
//!
//! - a toy process address space: mappings placed top-down in free space
//!   (as `mmap()` does), one mapped at a fixed address over part of another
//!   (which splits it), an unmap, a search for a free hole;
//! - an ID allocator: the lowest free ID, freed IDs reused.
//!
//! Run it with `cargo run -p maple-tree --example ranges`.

use maple_tree::{Errno, MapleMap};

const PAGE: u64 = 0x1000;
/// The part of the address space mappings may use.
const LOW: u64 = 0x1_0000;
const HIGH: u64 = 0x7fff_ffff_ffff;

/// A mapping's description. It says when it is dropped, to show that the
/// map drops a value when no range refers to it any more, and only then
/// (and a value it refuses at once).
struct Mapping {
    name: &'static str,
    prot: &'static str,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        println!("    dropped {}", self.name);
    }
}

fn mapping(name: &'static str, prot: &'static str) -> Mapping {
    Mapping { name, prot }
}

fn show(mm: &MapleMap<Mapping>) {
    println!("  {} ranges:", mm.len());
    for (r, m) in mm {
        let pages = (r.end() - r.start()) / PAGE + 1;
        println!(
            "    {:012x}-{:012x} {} {:>4} pages  {}",
            r.start(),
            r.end() + 1,
            m.prot,
            pages,
            m.name
        );
    }
}

fn address_space() -> Result<(), Errno> {
    println!("== a process address space");
    let mut mm = MapleMap::with_alloc_ranges();

    // The program and its heap at fixed addresses; insert refuses overlaps.
    mm.insert(0x5555_5555_4000..=0x5555_5555_8fff, mapping("a.out", "r-x"))?;
    mm.insert(
        0x5555_5556_0000..=0x5555_5558_0fff,
        mapping("[heap]", "rw-"),
    )?;
    let clash = mm.insert(0x5555_5555_8000..=0x5555_5555_8fff, mapping("clash", "r--"));
    println!("  insert over a.out: {clash:?} (the refused value is dropped)");

    // Libraries and an anonymous mapping, top-down in the free space.
    let libc = mm.alloc_rrange(0x1d0 * PAGE, LOW..=HIGH, mapping("libc.so.6", "r-x"))?;
    let ld = mm.alloc_rrange(0x2c * PAGE, LOW..=HIGH, mapping("ld.so", "r-x"))?;
    let anon = mm.alloc_rrange(0x40 * PAGE, LOW..=HIGH, mapping("[anon]", "rw-"))?;
    println!("  libc at {libc:#x}, ld.so at {ld:#x}, anon at {anon:#x}");
    show(&mm);

    // A fixed mapping over the middle of libc (mprotect would do the same):
    // libc is split in two and both halves keep the same value.
    let relro = libc + 0x100 * PAGE;
    println!("  map [relro] at {relro:#x}, inside libc");
    mm.store(
        relro..=relro + 0x10 * PAGE - 1,
        mapping("libc.so.6 relro", "r--"),
    )?;
    show(&mm);

    // Unmapping the upper half of libc does not drop it: the lower half is
    // still mapped. Unmapping the lower half too does.
    println!("  unmap libc's upper half");
    mm.remove_range(relro + 0x10 * PAGE..=libc + 0x1d0 * PAGE - 1)?;
    println!("  unmap libc's lower half");
    mm.remove_range(libc..=relro - 1)?;

    // Where the lowest and highest free 1 MiB holes are now.
    let hole = mm.empty_area(0x100 * PAGE, LOW..=HIGH)?;
    let top = mm.empty_area_rev(0x100 * PAGE, LOW..=HIGH)?;
    println!(
        "  lowest free 1 MiB: {:#x}..={:#x}",
        hole.start(),
        hole.end()
    );
    println!(
        "  highest free 1 MiB: {:#x}..={:#x}",
        top.start(),
        top.end()
    );

    // What holds an address, and the mappings around a range.
    let at = 0x5555_5556_8123;
    if let Some((r, m)) = mm.get_range(at) {
        println!(
            "  {at:#x} is in {} ({:#x}..={:#x})",
            m.name,
            r.start(),
            r.end()
        );
    }
    let near: Vec<_> = mm
        .range(0x5555_5555_0000..0x5555_5560_0000)
        .map(|(_, m)| m.name)
        .collect();
    println!("  mappings in 0x555555550000..0x555555600000: {near:?}");
    show(&mm);
    mm.core().validate().expect("a sound tree");
    println!("  exit: the map drops what is left");
    Ok(())
}

fn id_allocator() -> Result<(), Errno> {
    println!("== an ID allocator (lowest free ID, from 1)");
    let mut ids: MapleMap<String> = MapleMap::with_alloc_ranges();
    let max = u64::from(u32::MAX);
    for user in ["alice", "bob", "carol", "dave"] {
        let id = ids.alloc_range(1, 1..=max, user.to_string())?;
        println!("  {user} gets {id}");
    }
    for id in [2, 3] {
        let gone = ids.erase(id).and_then(|e| e.value);
        println!("  free {id} ({})", gone.as_deref().unwrap_or("?"));
    }
    let id = ids.alloc_range(1, 1..=max, "erin".to_string())?;
    println!("  erin gets {id}");
    // A block of 16 consecutive IDs, wherever the lowest fit is.
    let block = ids.alloc_range(16, 1..=max, "batch".to_string())?;
    println!("  a block of 16 from {block}");
    let all: Vec<String> = ids
        .iter()
        .map(|(r, name)| {
            if r.start() == r.end() {
                format!("{}={name}", r.start())
            } else {
                format!("{}..={}={name}", r.start(), r.end())
            }
        })
        .collect();
    println!("  in use: {}", all.join(" "));
    Ok(())
}

fn main() -> Result<(), Errno> {
    address_space()?;
    id_allocator()
}
