// SPDX-License-Identifier: GPL-2.0-or-later
//! The C set parser and the converter, on small hand-written sources.

use super::*;
use crate::ops::TreeConfig;

/// A source shaped like the kernel's: the caller creates the tree for the
/// first set, the sets' function re-creates it for the others, and another
/// function has an unrelated array also called `set`.
const GOOD: &str = r#"
/* A decoy: same name, another function, not replayed. */
static void other(struct maple_tree *mt)
{
	static const unsigned long set[] = { 5015, 5014, 5017 };
	char *s = "check_erase2_testset(mt, set, 3); } {";
	char c = '}';
}

static void check_erase2_testset(struct maple_tree *mt,
		const unsigned long *set, unsigned long size)
{
}

static void sets(struct maple_tree *mt)
{
	static const unsigned long set[] = {
STORE, 4096, 8191, // a comment
SNULL, 0x2000, 0x2fffUL,
/* a block
   comment */ ERASE, 4096, 8191,
	};
	static const unsigned long set2[] = {
STORE, 1, ULONG_MAX,
STORE, 010, 17lu	};

	check_erase2_testset(mt, set, ARRAY_SIZE(set));
	mtree_destroy(mt);
	mt_init_flags(mt, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU);
	check_erase2_testset(mt, set2, ARRAY_SIZE(set2));
	mt_init_flags(mt, MT_FLAGS_ALLOC_RANGE);
	check_erase2_testset(mt, set, ARRAY_SIZE(set));
}

#define X(a) \
	do { a; } while (0)

int main(void)
{
	struct maple_tree tree;
	mt_init_flags(&tree, MT_FLAGS_ALLOC_RANGE);
	mt_init_flags(&other_tree, 0);
	sets(&tree);
	return 0;
}
"#;

fn parse_err(src: &str) -> CError {
    parse_testsets(src).expect_err("the source must not parse")
}

#[test]
fn the_sets_their_triples_and_their_flags() {
    let sets = parse_testsets(GOOD).unwrap();
    let names: Vec<&str> = sets.iter().map(|s| s.name.as_str()).collect();
    // `set` runs twice on the same kind of tree: one program.
    assert_eq!(names, ["set", "set2"]);
    let set = &sets[0];
    assert_eq!(set.line, 17);
    assert_eq!(set.call_line, 27);
    assert_eq!(
        set.config,
        TreeConfig {
            alloc: true,
            rcu: false
        },
        "from the caller's mt_init_flags(&tree, ...)"
    );
    assert_eq!(
        set.steps,
        [
            SetStep {
                op: SetOp::Store,
                first: 4096,
                last: 8191,
                line: 18
            },
            SetStep {
                op: SetOp::Snull,
                first: 0x2000,
                last: 0x2fff,
                line: 19
            },
            SetStep {
                op: SetOp::Erase,
                first: 4096,
                last: 8191,
                line: 21
            },
        ]
    );
    let set2 = &sets[1];
    assert_eq!(
        set2.config,
        TreeConfig {
            alloc: true,
            rcu: true
        }
    );
    assert_eq!(
        set2.steps
            .iter()
            .map(|s| (s.first, s.last))
            .collect::<Vec<_>>(),
        [(1, u64::MAX), (8, 17)]
    );
}

#[test]
fn a_set_rerun_on_another_kind_of_tree_is_an_error() {
    let src = GOOD.replace(
        "mt_init_flags(mt, MT_FLAGS_ALLOC_RANGE);",
        "mt_init_flags(mt, 0);",
    );
    let e = parse_err(&src);
    assert_eq!(e.line, 32, "{e}");
    assert!(e.message.contains("different flags"), "{e}");
    let src = GOOD.replace(
        "mt_init_flags(mt, MT_FLAGS_ALLOC_RANGE);",
        "mt_init_flags(mt, 1);",
    );
    let e = parse_err(&src);
    assert_eq!(e.line, 31, "{e}");
    assert!(e.message.contains("unexpected `1`"), "{e}");
}

#[test]
fn the_converter_stores_the_kernels_values() {
    let sets = parse_testsets(GOOD).unwrap();
    let p = set_program(&sets[0]).unwrap();
    assert_eq!(p.config, sets[0].config);
    assert_eq!(
        p.ops,
        [
            TreeOp::Store {
                first: 4096,
                last: 8191,
                value: Some(4096)
            },
            TreeOp::Store {
                first: 0x2000,
                last: 0x2fff,
                value: None
            },
            TreeOp::Erase { index: 4096 },
        ]
    );
    // xa_mk_value(first) must fit: the top bit cannot be a token.
    let mut big = sets[1].clone();
    big.steps[0].first = MAX_TOKEN + 1;
    let e = set_program(&big).unwrap_err();
    assert_eq!(e.line, big.steps[0].line);
    assert!(e.message.contains("cannot be stored"), "{e}");
    big.steps[0].op = SetOp::Snull;
    assert!(set_program(&big).is_ok(), "SNULL stores no value");
}

#[test]
fn c_numbers() {
    assert_eq!(parse_c_number("0"), Some(0));
    assert_eq!(parse_c_number("140737488351231"), Some(140737488351231));
    assert_eq!(parse_c_number("0x1000UL"), Some(0x1000));
    assert_eq!(parse_c_number("0XFFull"), Some(255));
    assert_eq!(parse_c_number("017"), Some(15));
    assert_eq!(parse_c_number("18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_c_number("18446744073709551616"), None);
    assert_eq!(parse_c_number("09"), None);
    assert_eq!(parse_c_number("1.5"), None);
    assert_eq!(parse_c_number("0x"), None);
    assert_eq!(parse_c_number("UL"), None);
}

/// A one-set source with `body` as the initialiser of `set`.
fn one_set(body: &str) -> String {
    format!(
        "void f(struct maple_tree *mt)\n{{\n\
         static const unsigned long set[] = {{\n{body}\n}};\n\
         mt_init_flags(mt, 0);\n\
         check_erase2_testset(mt, set, ARRAY_SIZE(set));\n}}\n"
    )
}

#[test]
fn malformed_initialisers_name_the_line_and_the_token() {
    // Line 4 is the first line of `body`.
    let cases: &[(&str, usize, &str)] = &[
        ("STORE, 1, 2,\nSTORE, 3, x", 5, "unexpected `x`"),
        (
            "STORE, 1, 2,\nSTROE, 3, 4",
            5,
            "expected STORE, SNULL or ERASE",
        ),
        ("1, 1, 2", 4, "unexpected `1`"),
        ("STORE, ERASE, 2", 4, "the first index"),
        ("STORE, 1, -2", 4, "unexpected `-`"),
        ("STORE, 1, (unsigned long)2", 4, "unexpected `(`"),
        ("STORE, 1 2", 4, "expected `,` or `}`"),
        ("STORE, 1, 99999999999999999999", 4, "not a 64-bit"),
        ("STORE, 1, 0x1g", 4, "not a 64-bit"),
        ("STORE, 1, 2,\nSNULL, 3", 6, "middle of a triple (2 of 3"),
        ("STORE, 1, 2, \"s\"", 4, "unexpected `\"s\"`"),
        ("#if 0\nSTORE, 1, 2", 4, "unexpected `#`"),
    ];
    for (body, line, msg) in cases {
        let e = parse_err(&one_set(body));
        assert_eq!(e.line, *line, "{body:?}: {e}");
        assert!(e.message.contains(msg), "{body:?}: {e}");
        assert!(e.message.contains("set `set`"), "{body:?}: {e}");
    }
    // And the good version of the same shape parses.
    let ok = parse_testsets(&one_set("STORE, 1, 2,\nERASE, 1, 2,")).unwrap();
    assert_eq!(ok[0].steps.len(), 2);
    assert_eq!(ok[0].config, TreeConfig::default());
}

#[test]
fn broken_sources_are_errors_not_panics() {
    let cases: &[(&str, usize, &str)] = &[
        ("void f(void)\n{\n/* open", 3, "never closed"),
        ("void f(void)\n{\nchar *s = \"abc", 3, "never closed"),
        ("void f(void)\n{\n}\n}", 4, "without a matching"),
        ("void f(void)\n{\n{\n}", 2, "never closed"),
        (
            "void f(struct maple_tree *mt)\n{\nstatic const unsigned long set[] = {\nSTORE, 1, 2,\n",
            3,
            "never closed",
        ),
        (
            "void f(struct maple_tree *mt)\n{\ncheck_erase2_testset(mt, set, 3);\n}",
            3,
            "never defined",
        ),
        (
            "void f(struct maple_tree *mt)\n{\ncheck_erase2_testset(mt, set + 1, 3);\n}",
            3,
            "expected the name of a set array",
        ),
        (
            "void f(struct maple_tree *mt)\n{\ncheck_erase2_testset(mt, set);\n}",
            3,
            "2 arguments",
        ),
        (
            "void f(struct maple_tree *mt)\n{\ncheck_erase2_testset(mt, set, 3\n}",
            3,
            "closed by `}` at line 4",
        ),
    ];
    for (src, line, msg) in cases {
        let e = parse_err(src);
        assert_eq!(e.line, *line, "{src:?}: {e}");
        assert!(e.message.contains(msg), "{src:?}: {e}");
    }
    assert_eq!(parse_testsets("").unwrap(), []);
    assert_eq!(parse_testsets("int x = 1;\n").unwrap(), []);
}

#[test]
fn the_trees_flags_must_be_known() {
    let no_init = one_set("STORE, 1, 2").replace("mt_init_flags(mt, 0);\n", "");
    let e = parse_err(&no_init);
    assert_eq!(e.line, 6, "{e}");
    assert!(e.message.contains("cannot tell how the tree `mt`"), "{e}");

    // The caller's flags, when the function has one call site with them...
    let called =
        format!("{no_init}void g(void)\n{{\nmt_init_flags(&t, MT_FLAGS_USE_RCU);\nf(&t);\n}}\n");
    let sets = parse_testsets(&called).unwrap();
    assert!(sets[0].config.rcu && !sets[0].config.alloc);
    // ... but not a flag set on another tree ...
    let other = called.replace("f(&t)", "f(&u)");
    assert!(parse_err(&other).message.contains("cannot tell"));
    // ... and not two call sites that disagree.
    let two = format!("{called}void h(void)\n{{\nmt_init(&u);\nf(&u);\n}}\n");
    let e = parse_err(&two);
    assert!(e.message.contains("different flags"), "{e}");

    let bad_flag =
        one_set("STORE, 1, 2").replace("mt_init_flags(mt, 0)", "mt_init_flags(mt, MT_FLAGS_BOGUS)");
    let e = parse_err(&bad_flag);
    assert_eq!(e.line, 6, "{e}");
    assert!(e.message.contains("unexpected `MT_FLAGS_BOGUS`"), "{e}");
    let dangling = one_set("STORE, 1, 2").replace("mt_init_flags(mt, 0)", "mt_init_flags(mt, 0 |)");
    assert!(parse_err(&dangling).message.contains("incomplete"));
}
