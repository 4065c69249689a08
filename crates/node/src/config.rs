//! A node's configuration (`node.toml`): who it is, where it listens, the URL peers reach it at,
//! the roles it plays, and its limits.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, Access};

/// Errors reading, checking or writing a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// A node's identifier: 1 to 63 characters of lowercase ASCII letters, digits and `-`, starting
/// with a letter or digit (usable as a DNS label and a file name).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeId(String);

impl NodeId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeId {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Self, ConfigError> {
        let ok = (1..=63).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        if ok {
            Ok(NodeId(s))
        } else {
            Err(ConfigError::Invalid(format!(
                "node id {s:?} is not 1 to 63 lowercase letters, digits and '-', starting with a letter or digit"
            )))
        }
    }
}

impl FromStr for NodeId {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        NodeId::try_from(s.to_owned())
    }
}

impl From<NodeId> for String {
    fn from(id: NodeId) -> String {
        id.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The country whose agency runs a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Country {
    US,
    MX,
    GT,
}

impl FromStr for Country {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s {
            "US" => Ok(Country::US),
            "MX" => Ok(Country::MX),
            "GT" => Ok(Country::GT),
            _ => Err(ConfigError::Invalid(format!(
                "country {s:?} is not one of US, MX, GT"
            ))),
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Country::US => "US",
            Country::MX => "MX",
            Country::GT => "GT",
        })
    }
}

/// A role a node plays in the federation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    /// Holds its agency's records, encodes them, answers follow-up requests.
    Agency,
    /// Compares encodings for linkage projects it holds no data in.
    LinkageUnit,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Agency => "agency",
            NodeRole::LinkageUnit => "linkage-unit",
        }
    }
}

impl FromStr for NodeRole {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s {
            "agency" => Ok(NodeRole::Agency),
            "linkage-unit" => Ok(NodeRole::LinkageUnit),
            _ => Err(ConfigError::Invalid(format!(
                "node role {s:?} is not one of agency, linkage-unit"
            ))),
        }
    }
}

impl fmt::Display for NodeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The server's limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// How long a person's session lasts after sign-in, in seconds.
    pub session_ttl_secs: u64,
    /// The largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// The largest chunk of encodings a linkage unit accepts in one upload request, in bytes.
    pub max_upload_bytes: usize,
    /// Requests per second each client address may make on average …
    pub rate_per_second: u32,
    /// … and in one burst; past that it gets 429.
    pub rate_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            session_ttl_secs: 8 * 3600,
            max_body_bytes: 1 << 20,
            max_upload_bytes: 64 << 20,
            rate_per_second: 20,
            rate_burst: 60,
        }
    }
}

/// `node.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub node_id: NodeId,
    pub country: Country,
    /// The roles this node's card announces; `enlace serve --role` picks one of them.
    pub roles: Vec<NodeRole>,
    /// The address the server binds (port 0: any free port, written to `run/port`).
    pub listen: SocketAddr,
    /// The URL peers reach this node at (`https://host:port`), published in its card.
    pub url: String,
    #[serde(default)]
    pub limits: Limits,
}

impl NodeConfig {
    /// Checks what the types cannot: at least one role, none twice, an https URL, sane limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.roles.is_empty() {
            return Err(ConfigError::Invalid(
                "a node needs at least one role".into(),
            ));
        }
        for (i, role) in self.roles.iter().enumerate() {
            if self.roles[..i].contains(role) {
                return Err(ConfigError::Invalid(format!("role {role} listed twice")));
            }
        }
        validate_url(&self.url)?;
        let l = &self.limits;
        if l.session_ttl_secs == 0
            || l.max_body_bytes == 0
            || l.max_upload_bytes == 0
            || l.rate_per_second == 0
        {
            return Err(ConfigError::Invalid(
                "limits.session_ttl_secs, max_body_bytes, max_upload_bytes and rate_per_second must be above 0"
                    .into(),
            ));
        }
        if l.rate_burst < 1 {
            return Err(ConfigError::Invalid(
                "limits.rate_burst must be at least 1".into(),
            ));
        }
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let config: NodeConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        self.validate()?;
        let text = toml::to_string(self).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let text = format!("# Enlace node configuration\n{text}");
        fsutil::write_atomic(path, text.as_bytes(), Access::Public).map_err(|source| {
            ConfigError::Write {
                path: path.display().to_string(),
                source,
            }
        })
    }
}

/// The parts of an `https://host[:port][/]` URL a node needs to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeUrl {
    /// The host without brackets (an IPv6 address stays bare).
    pub host: String,
    pub port: u16,
}

/// Checks a node URL: `https://`, a host, an optional port, nothing else but a final `/`.
pub fn validate_url(url: &str) -> Result<NodeUrl, ConfigError> {
    let bad = |why: &str| ConfigError::Invalid(format!("URL {url:?} {why}"));
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| bad("does not start with https://"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty()
        || rest
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b"/?#@\\".contains(&b))
    {
        return Err(bad("must be https://host or https://host:port"));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("has an unclosed ["))?;
        (host, after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() || (!rest.starts_with('[') && host.contains(':')) {
        return Err(bad("has no usable host"));
    }
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad("has a bad port"))?,
        None => 443,
    };
    if port == 0 {
        return Err(bad("has port 0: give the port peers reach the node at"));
    }
    Ok(NodeUrl {
        host: host.to_owned(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_dns_labels() {
        assert!("us-cbp".parse::<NodeId>().is_ok());
        assert!("mx1".parse::<NodeId>().is_ok());
        for bad in ["", "US", "-a", "a_b", "a.b", &"a".repeat(64)] {
            assert!(bad.parse::<NodeId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_must_be_https_host_and_port() {
        assert_eq!(
            validate_url("https://127.0.0.1:8443").unwrap(),
            NodeUrl {
                host: "127.0.0.1".into(),
                port: 8443
            }
        );
        assert_eq!(validate_url("https://[::1]:9/").unwrap().host, "::1");
        assert_eq!(validate_url("https://node.example").unwrap().port, 443);
        for bad in [
            "http://a:1",
            "https://",
            "https://a:1/path",
            "https://a b",
            "https://a:99999",
            "https://u@a",
            "https://a:0",
        ] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_round_trips_and_unknown_keys_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("node.toml");
        let config = NodeConfig {
            node_id: "us-a".parse().unwrap(),
            country: Country::US,
            roles: vec![NodeRole::Agency],
            listen: "127.0.0.1:0".parse().unwrap(),
            url: "https://127.0.0.1:8443".into(),
            limits: Limits::default(),
        };
        config.save(&path).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), config);
        let text = std::fs::read_to_string(&path).unwrap() + "colour = \"red\"\n";
        std::fs::write(&path, text).unwrap();
        assert!(NodeConfig::load(&path).is_err());
    }
}
