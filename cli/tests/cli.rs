//! The `fiche` binary end to end over a real store directory: every command, bad input refused
//! with a clear message and a non-zero exit, nothing written when refused.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn fiche(store: &Path, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_fiche"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env("FICHE_MEMBER", "alice")
        .env_remove("FICHE_STORE")
        .output()
        .unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&stdout).into_owned(),
        err: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn ok(store: &Path, args: &[&str]) -> String {
    let r = fiche(store, args);
    assert_eq!(r.code, 0, "fiche {args:?} failed: {}", r.err);
    r.out
}

fn count(store: &Path) -> usize {
    ok(store, &["list", "--archived", "--json"])
        .parse::<serde_json::Value>()
        .unwrap()
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn walk_in_add_search_show_edit_history_export() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let id = ok(
        s,
        &[
            "add",
            "--first",
            "Marie",
            "--last",
            "Dupont",
            "--phone",
            "mobile=06 12 34 56 78",
            "--email",
            "Marie.Dupont@Example.FR",
            "--city",
            "Lyon",
            "--country",
            "fr",
            "--group",
            "vip",
            "--birthday",
            "1985-04-12",
            "--consent",
            "yes",
        ],
    );
    let id = id.trim();
    let shown = ok(s, &["show", id]);
    assert!(shown.contains("+33612345678"), "{shown}");
    assert!(shown.contains("Marie.Dupont@example.fr"), "{shown}");
    assert!(
        shown.contains("consent") && shown.contains("alice"),
        "{shown}"
    );

    for query in ["dupont", "06 12 34", "example.fr", "lyon"] {
        assert!(ok(s, &["search", query]).contains(id), "search {query}");
    }
    assert!(ok(s, &["list", "--group", "vip"]).contains(id));
    assert!(!ok(s, &["list", "--status", "client"]).contains(id));

    // A similar walk-in is filed, with a warning naming the likely duplicate.
    let r = fiche(
        s,
        &[
            "add",
            "--name",
            "Dupont Marie",
            "--phone",
            "+33 6 12 34 56 78",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.err.contains("looks like Marie Dupont"), "{}", r.err);
    assert!(r.err.contains("same phone +33612345678"), "{}", r.err);

    // Edit by id prefix.
    let prefix = &id[..8];
    assert_eq!(
        ok(
            s,
            &["edit", prefix, "--city", "Paris", "--status", "client"]
        )
        .trim(),
        "saved"
    );
    assert!(ok(s, &["list", "--status", "client"]).contains(id));
    let history = ok(s, &["history", id, "--json"]);
    let h: serde_json::Value = history.parse().unwrap();
    assert_eq!(h[1]["member"], "alice");
    assert_eq!(
        h[1]["fields"],
        serde_json::json!(["address.city", "status"])
    );

    let vcard = ok(s, &["export", id, "--format", "vcard"]);
    assert!(
        vcard.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"),
        "{vcard}"
    );
    assert!(vcard.contains("tel:+33612345678"), "{vcard}");
    let json: serde_json::Value = ok(s, &["export", id]).parse().unwrap();
    assert_eq!(json["client"]["address"]["city"], "Paris");

    assert_eq!(ok(s, &["edit", id, "--archive"]).trim(), "saved");
    assert!(!ok(s, &["list"]).contains(id));
    assert!(ok(s, &["list", "--archived"]).contains(id));
    assert_eq!(ok(s, &["conflicts", id]).trim(), "no conflicts");
}

#[test]
fn bad_flags_and_values_fail_clearly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    ok(s, &["add", "--name", "Existing"]);
    let cases: &[(&[&str], &str)] = &[
        (&["add", "--name", "X", "--phone", "12"], "phone"),
        (&["add", "--name", "X", "--email", "not-an-email"], "emails"),
        (
            &["add", "--name", "X", "--country", "XX"],
            "address.country",
        ),
        (
            &["add", "--name", "X", "--birthday", "1985-02-30"],
            "birthday",
        ),
        (
            &["add", "--name", "X", "--vat", "FR00000000000"],
            "invoice.vat_number",
        ),
        (
            &[
                "add",
                "--name",
                "X",
                "--iban",
                "FR7630006000011234567890188",
            ],
            "iban",
        ),
        (&["add", "--name", "X", "--type", "alien"], "client_type"),
        (&["add", "--phone", "+33612345678"], "name"),
        (&["add", "--name", "X", "--status", "vip"], "status"),
        (&["add", "--name", "X", "--consent", "maybe"], "yes or no"),
        (&["add", "--name", "X", "--no-such-flag"], "--no-such-flag"),
        (
            &["--default-region", "ZZ", "add", "--name", "X"],
            "default-region",
        ),
        (&["show", "nope"], "no client"),
        (&["edit", "nope", "--city", "x"], "no client"),
        (&["import", "/definitely/missing.csv"], "cannot read"),
        (&["conflicts", "nope"], "no client"),
    ];
    for (args, needle) in cases {
        let r = fiche(s, args);
        assert_ne!(r.code, 0, "fiche {args:?} should fail");
        assert!(
            r.err.to_lowercase().contains(&needle.to_lowercase()),
            "fiche {args:?}: error should mention {needle:?}: {}",
            r.err
        );
        assert!(r.out.is_empty(), "fiche {args:?} printed {:?}", r.out);
    }
    assert_eq!(count(s), 1, "a refused command wrote a record");
    // A bad edit leaves the record as it was.
    let id = ok(s, &["list", "--json"])
        .parse::<serde_json::Value>()
        .unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = ok(s, &["export", &id]);
    assert_ne!(
        fiche(s, &["edit", &id, "--city", "Lyon", "--phone", "abc"]).code,
        0
    );
    assert_eq!(ok(s, &["export", &id]), before);
}

#[test]
fn csv_import_takes_good_rows_and_reports_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let csv = dir.path().join("clients.csv");
    std::fs::write(
        &csv,
        "nom,téléphone,email,ville,groupes\n\
         Marie Dupont,06 12 34 56 78,marie@example.fr,Lyon,vip;newsletter\n\
         Jean Martin,not a phone,jean@example.fr,Nantes,\n\
         ,+33699999999,noname@example.fr,Paris,\n\
         Paul Durand,+33611111111,paul@example,Lille,\n\
         Ana Pop,+40722123456,ana@example.ro,Cluj\n\
         Ioana Pop,+33 6 12 34 56 78,ioana@example.ro,Cluj,\n\
         Luc Petit,+33622222222,luc@example.fr,Brest,\n",
    )
    .unwrap();
    let report: serde_json::Value = ok(s, &["import", csv.to_str().unwrap(), "--json"])
        .parse()
        .unwrap();
    let rejected: Vec<(u64, String)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let lines: Vec<u64> = rejected.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7], "{rejected:#?}");
    assert!(rejected[0].1.contains("phone"), "{}", rejected[0].1);
    assert!(rejected[1].1.contains("name"), "{}", rejected[1].1);
    assert!(rejected[2].1.contains("emails"), "{}", rejected[2].1);
    assert!(rejected[3].1.contains("field"), "{}", rejected[3].1);
    assert!(rejected[4].1.contains("line 2"), "{}", rejected[4].1);
    assert_eq!(report["imported"].as_array().unwrap().len(), 2);
    assert_eq!(count(s), 2);
    let vip = ok(s, &["list", "--group", "vip", "--json"]);
    assert!(vip.contains("Marie Dupont"));
    // Importing a vCard file.
    let vcf = dir.path().join("cards.vcf");
    let id: String = ok(s, &["search", "dupont", "--json"])
        .parse::<serde_json::Value>()
        .unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&vcf, ok(s, &["export", &id, "--format", "vcard"])).unwrap();
    let out = ok(s, &["import", vcf.to_str().unwrap()]);
    assert!(out.contains("1 imported, 0 rejected"), "{out}");
    assert_eq!(count(s), 3);
}

#[test]
fn settings_drive_client_types_and_managers() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let r = fiche(s, &["add", "--name", "Club Alpin", "--type", "club"]);
    assert_ne!(r.code, 0);
    assert!(r.err.contains("client_type"), "{}", r.err);
    ok(s, &["settings", "add-type", "club", "Club"]);
    ok(
        s,
        &[
            "settings",
            "add-member",
            "bob",
            "Bob Martin",
            "--role",
            "manager",
        ],
    );
    ok(
        s,
        &[
            "add",
            "--name",
            "Club Alpin",
            "--type",
            "club",
            "--manager",
            "bob",
        ],
    );
    let r = fiche(s, &["add", "--name", "Other", "--manager", "nobody"]);
    assert!(r.err.contains("manager"), "{}", r.err);
    let settings: serde_json::Value = ok(s, &["settings", "show", "--json"]).parse().unwrap();
    assert_eq!(settings["members"]["bob"]["role"], "manager");
    assert!(
        fiche(s, &["settings", "add-member", "bob", "B", "--role", "boss"])
            .err
            .contains("role")
    );
}

/// Sets the role this store's member is known to have, as enrolment and sync do.
fn known_role(store: &Path, role: Option<fiche_core::roles::Role>) {
    let book = fiche_core::Book::open(store, fiche_core::Options::default()).unwrap();
    book.set_role(role).unwrap();
}

#[test]
fn a_known_role_refuses_locally_what_it_may_not_do_and_none_restricts_nothing() {
    use fiche_core::roles::Role;
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let id = ok(s, &["add", "--name", "Famille Martin"])
        .trim()
        .to_string();
    known_role(s, Some(Role::ReadOnly));
    for args in [
        vec!["add", "--name", "Walk In"],
        vec!["edit", &id, "--city", "Paris"],
        vec!["settings", "add-type", "club", "Club"],
    ] {
        let r = fiche(s, &args);
        assert_eq!(r.code, 1, "{args:?}");
        assert!(
            r.err.contains("you are read-only: changes are refused"),
            "{args:?}: {}",
            r.err
        );
    }
    assert_eq!(count(s), 1, "nothing written");
    assert!(!ok(s, &["show", &id]).contains("Paris"));
    known_role(s, Some(Role::Staff));
    let r = fiche(s, &["settings", "add-type", "club", "Club"]);
    assert_eq!(r.code, 1);
    assert!(
        r.err
            .contains("you are staff: only an owner or an admin changes the settings"),
        "{}",
        r.err
    );
    ok(s, &["edit", &id, "--city", "Paris"]);
    ok(s, &["add", "--name", "Walk In"]);
    known_role(s, None);
    ok(s, &["settings", "add-type", "club", "Club"]);
    assert!(ok(s, &["refused"]).contains("no refused changes"));
    // Dropping a record forgets this device's copy (the next sync brings the office's).
    assert!(ok(s, &["drop", &id]).contains("Famille Martin"));
    assert_eq!(count(s), 1);
}
