//! Every task binary is a task of the contract (contract/contract.json) and the other way round;
//! run as Lambda would start it but without its configuration, each stops at cold start instead
//! of serving: a bad deployment fails loudly, before any event is taken. The binaries that take
//! configuration name the missing variable and the fix. The task binaries are this package's,
//! and `validate-drill` in `lambdas/sql` (its own cold start is tested there).

use rdsf_core::contract::TASKS;
use std::path::PathBuf;
use std::process::Command;

/// The tasks that read no required configuration at cold start (they act on their event alone).
const UNCONFIGURED: [&str; 3] = ["check-drill", "end-drill", "wait-available"];

/// The task binaries in a package's `src/bin`.
fn binaries_in(package_dir: &str) -> Vec<String> {
    std::fs::read_dir(format!("{package_dir}/src/bin"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect()
}

/// This package's task binaries.
fn own_binaries() -> Vec<String> {
    binaries_in(env!("CARGO_MANIFEST_DIR"))
}

/// Where cargo put a task binary: beside any other of the package's binaries.
fn binary(task: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wait-available")).with_file_name(task)
}

#[test]
fn every_task_binary_is_a_task_of_the_contract_and_every_task_a_binary() {
    let mut on_disk = own_binaries();
    // the one task built in its own package, so that its drivers stay out of the others
    on_disk.extend(binaries_in(concat!(env!("CARGO_MANIFEST_DIR"), "/../sql")));
    on_disk.sort();
    let mut listed: Vec<&str> = TASKS.to_vec();
    listed.sort();
    assert_eq!(on_disk, listed);
    for task in UNCONFIGURED {
        assert!(listed.contains(&task), "{task} is not a task");
    }
}

#[test]
fn without_configuration_every_binary_stops_at_cold_start() {
    for name in own_binaries() {
        let name = name.as_str();
        let out = Command::new(binary(name)).env_clear().output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{name} started without configuration"
        );
        if !UNCONFIGURED.contains(&name) {
            assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
            assert!(
                stderr.starts_with("InvalidConfig: ") && stderr.contains(" is not set: set it to "),
                "{name}: {stderr}"
            );
        }
    }
}
