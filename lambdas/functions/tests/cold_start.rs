//! Every task binary, run as Lambda would start it but without its configuration, stops at
//! cold start instead of serving: a bad deployment fails loudly, before any event is taken. The
//! binaries that take configuration name the missing variable and the fix.

use std::process::Command;

/// Each task binary, and whether it reads configuration at cold start.
const BINARIES: [(&str, &str, bool); 16] = [
    ("check-drill", env!("CARGO_BIN_EXE_check-drill"), false),
    ("copy-latest", env!("CARGO_BIN_EXE_copy-latest"), true),
    (
        "delete-old-copies",
        env!("CARGO_BIN_EXE_delete-old-copies"),
        true,
    ),
    ("end-drill", env!("CARGO_BIN_EXE_end-drill"), false),
    ("find-shared", env!("CARGO_BIN_EXE_find-shared"), true),
    ("notify", env!("CARGO_BIN_EXE_notify"), true),
    ("preflight", env!("CARGO_BIN_EXE_preflight"), true),
    ("prune", env!("CARGO_BIN_EXE_prune"), true),
    ("restore-drill", env!("CARGO_BIN_EXE_restore-drill"), true),
    ("save", env!("CARGO_BIN_EXE_save"), true),
    ("select-drills", env!("CARGO_BIN_EXE_select-drills"), true),
    ("select-sources", env!("CARGO_BIN_EXE_select-sources"), true),
    ("share", env!("CARGO_BIN_EXE_share"), true),
    ("start-failsafe", env!("CARGO_BIN_EXE_start-failsafe"), true),
    ("verify", env!("CARGO_BIN_EXE_verify"), true),
    (
        "wait-available",
        env!("CARGO_BIN_EXE_wait-available"),
        false,
    ),
];

#[test]
fn every_task_binary_is_listed() {
    let mut on_disk: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .collect();
    on_disk.sort();
    let listed: Vec<&str> = BINARIES.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn without_configuration_every_binary_stops_at_cold_start() {
    for (name, path, configured) in BINARIES {
        let out = Command::new(path).env_clear().output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{name} started without configuration"
        );
        if configured {
            assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
            assert!(
                stderr.starts_with("InvalidConfig: ") && stderr.contains(" is not set: set it to "),
                "{name}: {stderr}"
            );
        }
    }
}
