//! `Gate::from_env`, in a test binary of its own: it sets process-wide
//! environment variables, which no other test may race with.

use rm_metrics::exporter::{
    Decision, Gate, GateError, TOKEN_ENV, TOKEN_FILE_ENV, TRUSTED_CIDR_ENV,
};

#[test]
fn gate_from_environment() {
    let set = |token: Option<&str>, cidr: Option<&str>| {
        for (k, v) in [(TOKEN_ENV, token), (TRUSTED_CIDR_ENV, cidr)] {
            match v {
                Some(v) => std::env::set_var(k, v),
                None => std::env::remove_var(k),
            }
        }
        Gate::from_env()
    };
    assert!(
        set(None, None).unwrap().is_none(),
        "neither set: not mounted"
    );
    // Set but empty is an error, never "unset" and never an open endpoint.
    assert_eq!(set(Some(""), None).unwrap_err(), GateError::EmptyToken);
    assert_eq!(set(None, Some("")).unwrap_err(), GateError::EmptyCidr);
    assert!(matches!(
        set(None, Some("10.0.0.0/99")).unwrap_err(),
        GateError::BadCidr { .. }
    ));

    let gate = set(Some("0123456789abcdef0123"), Some("127.0.0.0/8,::1/128"))
        .unwrap()
        .unwrap();
    let local = "127.0.0.1".parse().unwrap();
    assert_eq!(gate.check(local, None), Decision::Unauthorized);
    assert_eq!(
        gate.check(local, Some(b"Bearer 0123456789abcdef0123")),
        Decision::Allow
    );
    assert_eq!(
        gate.check("::1".parse().unwrap(), Some(b"Bearer 0123456789abcdef0123")),
        Decision::Allow
    );
    // The token from a file (a mounted secret), its final newline ignored.
    let dir = std::env::temp_dir().join(format!("rm-gate-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "0123456789abcdef-from-file\n").unwrap();
    std::env::set_var(TOKEN_FILE_ENV, &file);
    let gate = set(None, None)
        .unwrap()
        .expect("the token file configures a gate");
    assert_eq!(
        gate.check(local, Some(b"Bearer 0123456789abcdef-from-file")),
        Decision::Allow
    );
    assert_eq!(
        set(Some("0123456789abcdef0123"), None).unwrap_err(),
        GateError::TokenAndTokenFile
    );
    std::env::set_var(TOKEN_FILE_ENV, dir.join("missing"));
    assert!(matches!(
        set(None, None).unwrap_err(),
        GateError::TokenFile { .. }
    ));
    std::fs::write(&file, "short\n").unwrap();
    std::env::set_var(TOKEN_FILE_ENV, &file);
    assert_eq!(set(None, None).unwrap_err(), GateError::ShortToken(5));
    std::env::remove_var(TOKEN_FILE_ENV);
    std::fs::remove_dir_all(&dir).unwrap();
    set(None, None).unwrap();
}
