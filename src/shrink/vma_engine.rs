//! The reproducer of an address-space program for the kernel's own VMA
//! code in userspace: a C program on the kernel VMA engine
//! (`kernel/csrc/vma`: a tree's mm/vma.c on its lib/maple_tree.c), making
//! the same calls through the engine's flat API, `fail_at` included, each
//! answer printed beside the oracle's, the engine's validate_mm after
//! every call, then the VMAs. `ci/check-vma-snippet.sh` builds it in a
//! kernel tree with ASan and UBSan, as the kernel's own
//! tools/testing/vma does, so a VMA finding is confirmed on the kernel's
//! code and not only on the harness.

use super::Reproducer;
use crate::engine::vma::{kernel_call, OracleEngine, VmaEngine};
use crate::ops::vma::text::format_op;
use crate::ops::vma::{VmaOp, VmaProgram};
use std::fmt::Write;

const PRELUDE: &str = r#"#ifndef MFV_ENGINE
#define MFV_ENGINE "engine-6.12.c"
#endif
/* The glue's fixes of kernel findings (MFV_FIX_*): none, the exact kernel. */
#ifndef MFV_FIXES
#define MFV_FIXES 0
#endif
#include MFV_ENGINE

static int differ;

/* The engine's answer as maplefuzz prints it, beside the oracle's. */
static void show(void *h, int step, const char *call, int kind, int64_t r, const char *oracle)
{
	char got[64], report[4096];

	if (kind == 2)
		snprintf(got, sizeof(got), "%#lx", (unsigned long)r);
	else if (r < 0 && r >= -4095)
		snprintf(got, sizeof(got), "-%s", mfv_errname((int)-r));
	else if (kind == 1)
		snprintf(got, sizeof(got), "%#lx", (unsigned long)r);
	else
		snprintf(got, sizeof(got), "ok");
	printf("%2d %-10s %-20s (oracle: %s)%s\n", step, call, got, oracle,
	       strcmp(got, oracle) ? "  <-- differs" : "");
	if (strcmp(got, oracle))
		differ = 1;
	if (mfv_vtable.validate(h, report, sizeof(report))) {
		printf("   validate_mm: %s\n", report);
		differ = 1;
	}
}

static void show_vmas(void *h)
{
	struct mfv_row rows[256];
	size_t n = mfv_vtable.rows(h, rows, 256);

	printf("VMAs (%zu, map_count %lu):\n", n, (unsigned long)mfv_vtable.map_count(h));
	for (size_t i = 0; i < n && i < 256; i++) {
		printf("  %#lx-%#lx flags %#lx pgoff %#lx", (unsigned long)rows[i].start,
		       (unsigned long)rows[i].end, (unsigned long)rows[i].flags,
		       (unsigned long)rows[i].pgoff);
		if (rows[i].file != UINT32_MAX)
			printf(" file %u", rows[i].file);
		if (rows[i].anon)
			printf(" anon %lu chain %u", (unsigned long)rows[i].anon, rows[i].chain);
		printf("\n");
	}
}
"#;

/// The C program for `r`'s address-space program.
pub fn vma_engine_program(r: &Reproducer<'_, VmaProgram>) -> String {
    let p = &r.shrunk.program;
    let mut s = String::from("/*\n");
    for line in r.summary() {
        let _ = writeln!(s, " * {}", line.replace("*/", "* /"));
    }
    s.push_str(
        " *\n * The program on the kernel's own mm/vma.c and lib/maple_tree.c (the\n \
         * maplefuzz kernel VMA engine), each answer beside the oracle's, the\n \
         * engine's validate_mm after every call, then the VMAs. Build and run it\n \
         * with ASan and UBSan in a Linux tree:\n \
         *   KERNEL_SRC=/path/to/linux-6.12 bash ci/check-vma-snippet.sh THIS_FILE\n \
         * It exits 1 if an answer differs from the oracle's or validate_mm\n \
         * complains.\n */\n",
    );
    s.push_str(PRELUDE);
    let _ = writeln!(
        s,
        "\nint main(void)\n{{\n\tvoid *h = mfv_vtable.create({}, MFV_FIXES);\n\tint32_t unsupported;",
        p.setup.max_map_count
    );
    let mut oracle = OracleEngine::new(p.setup);
    for (step, op) in p.ops.iter().enumerate() {
        let expect = oracle.apply(op).to_string();
        let _ = writeln!(
            s,
            "\n\t/* {step}: {} */",
            format_op(op).replace("*/", "* /")
        );
        match kernel_call(op) {
            None => {
                if let VmaOp::FailAt { nth } = *op {
                    let _ = writeln!(s, "\tmfv_vtable.fail_at(h, {nth});");
                }
            }
            Some((kind, args)) => {
                let words: Vec<String> = args.iter().map(|a| format!("{a:#x}UL")).collect();
                let shape = match op {
                    VmaOp::Brk { .. } => 2,
                    VmaOp::Mmap { .. } | VmaOp::Mremap { .. } => 1,
                    _ => 0,
                };
                let _ = writeln!(
                    s,
                    "\t{{\n\t\tconst uint64_t a[6] = {{ {} }};\n\n\t\tshow(h, {step}, \"{}\", {shape}, \
                     mfv_vtable.apply(h, {}, a, &unsupported), \"{expect}\");\n\t}}",
                    words.join(", "),
                    op.kind(),
                    kind as u32
                );
            }
        }
    }
    s.push_str("\n\tshow_vmas(h);\n\tmfv_vtable.destroy(h);\n\treturn differ;\n}\n");
    s
}
