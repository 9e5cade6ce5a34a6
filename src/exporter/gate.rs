//! Who may read `/metrics`: a bearer token, trusted networks, or both.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use subtle::ConstantTimeEq;

/// Environment variable holding the bearer token.
pub const TOKEN_ENV: &str = "RM_METRICS_TOKEN";
/// Environment variable naming a file that holds the bearer token (for
/// secrets mounted as files); surrounding whitespace, such as the final
/// newline, is ignored. Setting it together with [`TOKEN_ENV`] is an error.
pub const TOKEN_FILE_ENV: &str = "RM_METRICS_TOKEN_FILE";
/// Environment variable holding the trusted networks (comma-separated CIDRs).
pub const TRUSTED_CIDR_ENV: &str = "RM_METRICS_TRUSTED_CIDR";
/// Shortest accepted token, in bytes.
pub const MIN_TOKEN_LEN: usize = 16;

/// The access rule of the endpoint: a token, trusted networks, or both
/// (then both must pass). A gate with neither cannot be built: "no gate" is
/// `Option::<Gate>::None`, and then the route is not mounted at all.
///
/// ```
/// use rm_metrics::exporter::{Decision, Gate};
///
/// let gate = Gate::new(Some("0123456789abcdef-secret"), Some("127.0.0.0/8, ::1/128"))
///     .expect("valid configuration")
///     .expect("a gate is configured");
/// let local = "127.0.0.1".parse().unwrap();
/// assert_eq!(gate.check(local, Some(b"Bearer 0123456789abcdef-secret")), Decision::Allow);
/// assert_eq!(gate.check(local, Some(b"Bearer wrong")), Decision::Unauthorized);
/// assert_eq!(gate.check("10.1.2.3".parse().unwrap(), None), Decision::Forbidden);
///
/// assert!(Gate::new(Some("short"), None).is_err());
/// assert!(Gate::new(None, Some("10.0.0.0/33")).is_err());
/// ```
#[derive(Clone)]
pub struct Gate {
    token: Option<Box<[u8]>>,
    networks: Vec<IpNet>,
}

/// What the gate says about one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Serve the metrics.
    Allow,
    /// The token gate failed: missing or wrong bearer token (HTTP 401).
    Unauthorized,
    /// The network gate failed: the peer is outside every trusted network
    /// (HTTP 403). Checked before the token, so it gives no hint about it.
    Forbidden,
}

/// A gate configuration that must not start an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GateError {
    /// The token is empty.
    EmptyToken,
    /// The token is shorter than [`MIN_TOKEN_LEN`] bytes.
    ShortToken(usize),
    /// The token has a character that cannot travel in an HTTP header as is
    /// (only visible ASCII, `!` to `~`, is accepted).
    TokenCharacter,
    /// The trusted-network list is set but empty, or has an empty entry.
    EmptyCidr,
    /// An entry is not a CIDR such as `10.0.0.0/8` or `fd00::/8`.
    BadCidr {
        /// The entry as given.
        entry: String,
        /// The parser's reason.
        reason: String,
    },
    /// An entry has bits set past its prefix length (`192.168.1.7/24`):
    /// it names a network only by accident, so it is refused rather than
    /// widened; write the network (`192.168.1.0/24`) or the host (`/32`).
    HostBits {
        /// The entry as given.
        entry: String,
        /// The network it would have been widened to.
        network: String,
    },
    /// Both [`TOKEN_ENV`] and [`TOKEN_FILE_ENV`] are set.
    TokenAndTokenFile,
    /// The token file cannot be read (or is not UTF-8).
    TokenFile {
        /// The path as given.
        path: String,
        /// Why.
        reason: String,
    },
    /// An environment variable is not valid Unicode.
    NotUnicode(&'static str),
}

impl fmt::Display for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateError::EmptyToken => write!(f, "{TOKEN_ENV} is set but empty"),
            GateError::ShortToken(n) => write!(
                f,
                "{TOKEN_ENV} is {n} bytes long; use at least {MIN_TOKEN_LEN} (e.g. `openssl rand -hex 32`)"
            ),
            GateError::TokenCharacter => write!(
                f,
                "{TOKEN_ENV} may only contain visible ASCII characters (no spaces or control characters)"
            ),
            GateError::EmptyCidr => {
                write!(f, "{TRUSTED_CIDR_ENV} is set but empty or has an empty entry")
            }
            GateError::BadCidr { entry, reason } => write!(
                f,
                "{TRUSTED_CIDR_ENV}: {entry:?} is not a CIDR like 10.0.0.0/8 or fd00::/8 ({reason})"
            ),
            GateError::HostBits { entry, network } => write!(
                f,
                "{TRUSTED_CIDR_ENV}: {entry:?} has host bits set; write the network {network} or a single host as /32 (/128)"
            ),
            GateError::TokenAndTokenFile => {
                write!(f, "set {TOKEN_ENV} or {TOKEN_FILE_ENV}, not both")
            }
            GateError::TokenFile { path, reason } => {
                write!(f, "{TOKEN_FILE_ENV}: cannot read the token from {path:?}: {reason}")
            }
            GateError::NotUnicode(var) => write!(f, "{var} is not valid Unicode"),
        }
    }
}

impl std::error::Error for GateError {}

impl Gate {
    /// A gate from a token and/or a comma-separated list of CIDRs. `None` for
    /// both is `Ok(None)`: no gate, route not mounted.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        token: Option<&str>,
        trusted_cidrs: Option<&str>,
    ) -> Result<Option<Gate>, GateError> {
        let token = token.map(parse_token).transpose()?;
        let networks = trusted_cidrs
            .map(parse_cidrs)
            .transpose()?
            .unwrap_or_default();
        if token.is_none() && networks.is_empty() {
            return Ok(None);
        }
        Ok(Some(Gate { token, networks }))
    }

    /// The gate configured by [`TOKEN_ENV`] (or [`TOKEN_FILE_ENV`]) and
    /// [`TRUSTED_CIDR_ENV`]; `Ok(None)` when none is set. A set-but-empty
    /// variable is an error, not "unset".
    pub fn from_env() -> Result<Option<Gate>, GateError> {
        let var = |name: &'static str| match std::env::var(name) {
            Ok(v) => Ok(Some(v)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(GateError::NotUnicode(name)),
        };
        let (token, file, cidrs) = (
            var(TOKEN_ENV)?,
            var(TOKEN_FILE_ENV)?,
            var(TRUSTED_CIDR_ENV)?,
        );
        let token = match (token, file) {
            (Some(_), Some(_)) => return Err(GateError::TokenAndTokenFile),
            (token, None) => token,
            (None, Some(path)) => Some(read_token_file(&path)?),
        };
        Gate::new(token.as_deref(), cidrs.as_deref())
    }

    /// Decides one request from its TCP peer address (never a forwarded
    /// header) and its `Authorization` header value.
    pub fn check(&self, peer: IpAddr, authorization: Option<&[u8]>) -> Decision {
        if !self.trusts(peer) {
            return Decision::Forbidden;
        }
        if let Some(token) = &self.token {
            let presented = authorization.and_then(bearer_token).unwrap_or(b"");
            // Constant time in the token's content; only the length can leak.
            if !bool::from(presented.ct_eq(token)) {
                return Decision::Unauthorized;
            }
        }
        Decision::Allow
    }

    /// Whether `peer` passes the network gate: it is inside a trusted
    /// network, or the gate has none. [`Exporter`](super::Exporter) asks
    /// this at accept, before it reads a byte from the peer.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        // An IPv4 client of a dual-stack listener appears as ::ffff:a.b.c.d.
        let peer = peer.to_canonical();
        self.networks.is_empty() || self.networks.iter().any(|n| n.contains(&peer))
    }

    /// Whether a token is required.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The trusted networks (empty when only the token gates).
    pub fn trusted_networks(&self) -> &[IpNet] {
        &self.networks
    }
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token.
        f.debug_struct("Gate")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("networks", &self.networks)
            .finish()
    }
}

fn parse_token(token: &str) -> Result<Box<[u8]>, GateError> {
    if token.is_empty() {
        return Err(GateError::EmptyToken);
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(GateError::TokenCharacter);
    }
    if token.len() < MIN_TOKEN_LEN {
        return Err(GateError::ShortToken(token.len()));
    }
    Ok(token.as_bytes().into())
}

fn read_token_file(path: &str) -> Result<String, GateError> {
    let text = std::fs::read_to_string(path).map_err(|e| GateError::TokenFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    // Only visible ASCII is a valid token, so surrounding whitespace (the
    // file's final newline) cannot be part of it.
    Ok(text.trim().to_owned())
}

fn parse_cidrs(list: &str) -> Result<Vec<IpNet>, GateError> {
    list.split(',')
        .map(str::trim)
        .map(|entry| {
            if entry.is_empty() {
                return Err(GateError::EmptyCidr);
            }
            let net = IpNet::from_str(entry).map_err(|e| GateError::BadCidr {
                entry: entry.to_owned(),
                reason: e.to_string(),
            })?;
            if net.trunc() != net {
                return Err(GateError::HostBits {
                    entry: entry.to_owned(),
                    network: net.trunc().to_string(),
                });
            }
            Ok(net)
        })
        .collect()
}

/// The credentials of an `Authorization: Bearer <token>` header value (the
/// scheme is case-insensitive, RFC 9110 §11.1).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    Some(rest.trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef";

    #[test]
    fn neither_gate_is_no_gate() {
        assert!(Gate::new(None, None).unwrap().is_none());
    }

    #[test]
    fn bad_configuration_is_an_error() {
        assert_eq!(
            Gate::new(Some(""), None).unwrap_err(),
            GateError::EmptyToken
        );
        assert_eq!(
            Gate::new(Some("abc"), None).unwrap_err(),
            GateError::ShortToken(3)
        );
        assert_eq!(
            Gate::new(Some("0123456789 abcdef"), None).unwrap_err(),
            GateError::TokenCharacter
        );
        assert_eq!(Gate::new(None, Some("")).unwrap_err(), GateError::EmptyCidr);
        assert_eq!(
            Gate::new(None, Some("10.0.0.0/8,")).unwrap_err(),
            GateError::EmptyCidr
        );
        let err = Gate::new(None, Some("10.0.0.0/8, 192.168.1.7/24")).unwrap_err();
        assert_eq!(
            err,
            GateError::HostBits {
                entry: "192.168.1.7/24".into(),
                network: "192.168.1.0/24".into()
            }
        );
        assert!(err.to_string().contains("192.168.1.0/24"), "{err}");
        assert!(matches!(
            Gate::new(None, Some("fd00::1/8")).unwrap_err(),
            GateError::HostBits { .. }
        ));
        for bad in [
            "10.0.0.0/33",
            "10.0.0.1",
            "example.org/8",
            "fd00::/129",
            "10.0.0.0/8 192.168.0.0/16",
        ] {
            let err = Gate::new(Some(TOKEN), Some(bad)).unwrap_err();
            assert!(matches!(err, GateError::BadCidr { .. }), "{bad}: {err}");
            assert!(err.to_string().contains(TRUSTED_CIDR_ENV));
        }
    }

    #[test]
    fn networks_ipv4_ipv6_and_mapped() {
        let gate = Gate::new(None, Some(" 10.0.0.0/8 , fd00::/8,192.168.1.7/32"))
            .unwrap()
            .unwrap();
        let ok = |ip: &str| gate.check(ip.parse().unwrap(), None) == Decision::Allow;
        assert!(ok("10.255.0.1"));
        assert!(ok("::ffff:10.1.1.1"));
        assert!(ok("fd12::1"));
        assert!(ok("192.168.1.7"));
        assert!(!ok("192.168.1.8"));
        assert!(!ok("11.0.0.1"));
        assert!(!ok("::1"));
    }

    #[test]
    fn token_must_match_exactly() {
        let gate = Gate::new(Some(TOKEN), None).unwrap().unwrap();
        let ip = "203.0.113.9".parse().unwrap();
        let check = |h: Option<&[u8]>| gate.check(ip, h);
        assert_eq!(check(Some(b"Bearer 0123456789abcdef")), Decision::Allow);
        assert_eq!(check(Some(b"bearer 0123456789abcdef")), Decision::Allow);
        assert_eq!(check(None), Decision::Unauthorized);
        assert_eq!(check(Some(b"")), Decision::Unauthorized);
        assert_eq!(check(Some(b"Bearer ")), Decision::Unauthorized);
        assert_eq!(
            check(Some(b"Bearer 0123456789abcde")),
            Decision::Unauthorized
        );
        assert_eq!(
            check(Some(b"Bearer 0123456789abcdef0")),
            Decision::Unauthorized
        );
        assert_eq!(
            check(Some(b"Basic 0123456789abcdef")),
            Decision::Unauthorized
        );
        assert_eq!(check(Some(b"0123456789abcdef")), Decision::Unauthorized);
    }

    #[test]
    fn both_gates_are_anded() {
        let gate = Gate::new(Some(TOKEN), Some("127.0.0.0/8"))
            .unwrap()
            .unwrap();
        let inside = "127.0.0.1".parse().unwrap();
        let outside = "10.0.0.1".parse().unwrap();
        let good: Option<&[u8]> = Some(b"Bearer 0123456789abcdef");
        assert_eq!(gate.check(inside, good), Decision::Allow);
        assert_eq!(gate.check(inside, None), Decision::Unauthorized);
        assert_eq!(gate.check(outside, good), Decision::Forbidden);
        assert_eq!(gate.check(outside, None), Decision::Forbidden);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let gate = Gate::new(Some(TOKEN), None).unwrap().unwrap();
        assert!(!format!("{gate:?}").contains(TOKEN));
    }
}
