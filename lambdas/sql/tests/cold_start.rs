//! `validate-drill` at cold start, run as Lambda would start it: without `DRILL_CHECKS` it drills
//! restore-only (so it goes on to serve, and outside Lambda stops for want of a Runtime API); a
//! bad `DRILL_CHECKS` stops it before any event is taken, naming the setting and the field.

use std::process::Command;

const VALIDATE_DRILL: &str = env!("CARGO_BIN_EXE_validate-drill");

#[test]
fn without_configuration_it_does_not_serve_outside_lambda() {
    let out = Command::new(VALIDATE_DRILL).env_clear().output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "validate-drill started outside Lambda: {stderr}"
    );
    assert!(!stderr.contains("InvalidConfig"), "{stderr}");
}

#[test]
fn bad_checks_stop_it_at_cold_start_naming_the_setting() {
    let out = Command::new(VALIDATE_DRILL)
        .env_clear()
        .env("DRILL_CHECKS", r#"[{"source": "orders", "database": "app", "checks": [{"sql": "delete from orders", "min": 1}]}]"#)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("InvalidConfig: DRILL_CHECKS [0].checks[0].sql must be one read query")
            && stderr.contains("(restoreDrill.checks)"),
        "{stderr}"
    );
}
