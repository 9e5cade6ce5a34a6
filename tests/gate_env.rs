//! `Gate::from_env`, in a test binary of its own: it sets process-wide
//! environment variables, which no other test may race with.

use rm_metrics::exporter::{Decision, Gate, GateError, TOKEN_ENV, TRUSTED_CIDR_ENV};

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
    set(None, None).unwrap();
}
