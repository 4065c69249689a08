//! The people who may sign in to a node, their roles, and their sessions, in the node's SQLite
//! file (`node.db`).
//!
//! Passwords are stored as argon2id hashes (PHC strings). A session token is 48 random bytes
//! shown to the client once, as 96 hex digits: the first 16 bytes select the session row, the
//! other 32 are its secret, of which only the SHA-256 is stored and which is compared in
//! constant time. Sessions expire; an expired one is refused and deleted.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::identity::{IdentityError, os_random};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Errors of the user store. None of them carries a password, a token or a user's name.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("a user with that name already exists")]
    Exists,
    #[error(
        "user names are 1 to 64 characters: letters, digits, '.', '_', '-' and '@', starting with a letter or digit"
    )]
    BadName,
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("hashing the password: {0}")]
    Hash(String),
    #[error("{0}")]
    Random(#[from] IdentityError),
    #[error("the user database is at version {0}, newer than this program knows")]
    NewerSchema(i64),
    #[error("creating the user database: {0}")]
    Create(std::io::Error),
}

/// Creates the database file readable by its owner only (SQLite gives its -wal and -shm files
/// the same mode); an existing file is left as it is.
fn create_private_file(path: &Path) -> Result<(), UserError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(UserError::Create(e)),
    }
}

/// What a person may do on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Explores results and drafts follow-up requests.
    Analyst,
    /// Approves outgoing requests and confirms incoming matches.
    Approver,
    /// Decides releases under the node's policy.
    Officer,
    /// Manages users, the roster and the node's settings.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Approver => "approver",
            Role::Officer => "officer",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "analyst" => Ok(Role::Analyst),
            "approver" => Ok(Role::Approver),
            "officer" => Ok(Role::Officer),
            "admin" => Ok(Role::Admin),
            _ => Err(format!(
                "role {s:?} is not one of analyst, approver, officer, admin"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed-in person, as a valid session shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionUser {
    pub name: String,
    pub role: Role,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A session token: secret, shown once, never logged.
pub struct Token(Zeroizing<String>);

impl Token {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

/// The users and sessions of one node.
pub struct UserStore {
    conn: Connection,
}

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    selector BLOB PRIMARY KEY,
    secret_sha256 BLOB NOT NULL,
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions(expires_at);
";

/// A hash of a random password, verified against when the name is unknown so that a sign-in
/// takes as long for an unknown name as for a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let password = hex::encode(os_random::<16>().unwrap_or([7; 16]));
        hash_password(&password).unwrap_or_default()
    })
}

impl UserStore {
    /// Opens (creating if needed) the node's user database.
    pub fn open(path: &Path) -> Result<UserStore, UserError> {
        create_private_file(path)?;
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(UserError::NewerSchema(version));
        }
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(UserStore { conn })
    }

    /// Adds a person. The name is checked, the password must be long enough.
    pub fn add(&self, name: &str, role: Role, password: &str, now: i64) -> Result<(), UserError> {
        check_name(name)?;
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(UserError::WeakPassword);
        }
        let hash = hash_password(password)?;
        let inserted = self.conn.execute(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO NOTHING",
            params![name, role.as_str(), hash, now],
        )?;
        if inserted == 0 {
            return Err(UserError::Exists);
        }
        Ok(())
    }

    /// Every user's name and role, by name.
    pub fn list(&self) -> Result<Vec<(String, Role)>, UserError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, role FROM users ORDER BY name")?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role) = row?;
            // A role this code does not know (a newer version's) is skipped, not guessed.
            if let Ok(role) = role.parse() {
                out.push((name, role));
            }
        }
        Ok(out)
    }

    /// Checks a name and password; on success opens a session that lasts `ttl_secs`.
    /// `None` for an unknown name or a wrong password alike.
    pub fn sign_in(
        &self,
        name: &str,
        password: &str,
        now: i64,
        ttl_secs: u64,
    ) -> Result<Option<(Token, SessionUser)>, UserError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT role, password_hash FROM users WHERE name = ?1",
                params![name],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((role, hash)) = row else {
            let _ = verify_password(password, dummy_hash());
            return Ok(None);
        };
        if !verify_password(password, &hash) {
            return Ok(None);
        }
        let Ok(role) = role.parse::<Role>() else {
            return Ok(None);
        };
        let selector = os_random::<16>()?;
        let secret = Zeroizing::new(os_random::<32>()?);
        let expires_at = now.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX));
        self.conn.execute(
            "INSERT INTO sessions (selector, secret_sha256, user_name, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                &selector[..],
                &Sha256::digest(&secret[..])[..],
                name,
                now,
                expires_at
            ],
        )?;
        let mut token = hex::encode(selector);
        token.push_str(&hex::encode(&secret[..]));
        Ok(Some((
            Token(Zeroizing::new(token)),
            SessionUser {
                name: name.to_owned(),
                role,
                expires_at,
            },
        )))
    }

    /// The person a token belongs to, if the token is well formed, known, matches, and its
    /// session has not expired. An expired session is deleted.
    pub fn session(&self, token: &str, now: i64) -> Result<Option<SessionUser>, UserError> {
        let Some((selector, secret)) = parse_token(token) else {
            return Ok(None);
        };
        let row: Option<(Vec<u8>, String, String, i64)> = self
            .conn
            .query_row(
                "SELECT s.secret_sha256, s.user_name, u.role, s.expires_at
                 FROM sessions s JOIN users u ON u.name = s.user_name
                 WHERE s.selector = ?1",
                params![&selector[..]],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()?;
        let Some((stored, name, role, expires_at)) = row else {
            return Ok(None);
        };
        let presented = Sha256::digest(&secret[..]);
        if !bool::from(presented[..].ct_eq(&stored[..])) {
            return Ok(None);
        }
        if now >= expires_at {
            self.conn.execute(
                "DELETE FROM sessions WHERE selector = ?1",
                params![&selector[..]],
            )?;
            return Ok(None);
        }
        let Ok(role) = role.parse() else {
            return Ok(None);
        };
        Ok(Some(SessionUser {
            name,
            role,
            expires_at,
        }))
    }

    /// Ends the session a token belongs to (a token that matches none is ignored).
    pub fn sign_out(&self, token: &str, now: i64) -> Result<(), UserError> {
        if self.session(token, now)?.is_some()
            && let Some((selector, _)) = parse_token(token)
        {
            self.conn.execute(
                "DELETE FROM sessions WHERE selector = ?1",
                params![&selector[..]],
            )?;
        }
        Ok(())
    }

    /// Deletes expired sessions; returns how many.
    pub fn purge_expired(&self, now: i64) -> Result<usize, UserError> {
        Ok(self
            .conn
            .execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?)
    }
}

fn check_name(name: &str) -> Result<(), UserError> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok { Ok(()) } else { Err(UserError::BadName) }
}

fn hash_password(password: &str) -> Result<String, UserError> {
    let salt = os_random::<16>()?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h: PasswordHash| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// 96 lowercase hex digits into the 16-byte selector and the 32-byte secret.
fn parse_token(token: &str) -> Option<([u8; 16], Zeroizing<[u8; 32]>)> {
    if token.len() != 96
        || !token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut selector = [0u8; 16];
    let mut secret = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(&token[..32], &mut selector).ok()?;
    hex::decode_to_slice(&token[32..], &mut secret[..]).ok()?;
    Some((selector, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, UserStore) {
        let tmp = tempfile::tempdir().unwrap();
        let store = UserStore::open(&tmp.path().join("node.db")).unwrap();
        (tmp, store)
    }

    const PW: &str = "correct horse battery";

    #[test]
    fn sign_in_opens_a_session_that_expires() {
        let (_tmp, users) = store();
        users.add("ana.lopez", Role::Analyst, PW, 1000).unwrap();
        assert!(
            users
                .sign_in("ana.lopez", "wrong password!", 1000, 60)
                .unwrap()
                .is_none()
        );
        assert!(users.sign_in("nobody", PW, 1000, 60).unwrap().is_none());
        let (token, user) = users.sign_in("ana.lopez", PW, 1000, 60).unwrap().unwrap();
        assert_eq!(user.role, Role::Analyst);
        assert_eq!(user.expires_at, 1060);
        assert_eq!(users.session(token.as_str(), 1059).unwrap(), Some(user));
        assert_eq!(users.session(token.as_str(), 1060).unwrap(), None);
        // Deleted on expiry: going back in time does not revive it.
        assert_eq!(users.session(token.as_str(), 1000).unwrap(), None);
    }

    #[test]
    fn a_forged_or_altered_token_is_refused() {
        let (_tmp, users) = store();
        users.add("admin", Role::Admin, PW, 0).unwrap();
        let (token, _) = users.sign_in("admin", PW, 0, 60).unwrap().unwrap();
        let t = token.as_str();
        // Same selector, other secret.
        let altered = format!("{}{}", &t[..32], "0".repeat(64));
        assert_eq!(users.session(&altered, 1).unwrap(), None);
        for bad in ["", "xyz", &t[..95], &t.to_uppercase()] {
            assert_eq!(users.session(bad, 1).unwrap(), None, "{bad}");
        }
        assert!(users.session(t, 1).unwrap().is_some());
        users.sign_out(t, 1).unwrap();
        assert_eq!(users.session(t, 1).unwrap(), None);
    }

    #[test]
    fn names_passwords_and_duplicates_are_checked() {
        let (_tmp, users) = store();
        assert!(matches!(
            users.add("ana", Role::Analyst, "short", 0),
            Err(UserError::WeakPassword)
        ));
        assert!(matches!(
            users.add("ana lopez", Role::Analyst, PW, 0),
            Err(UserError::BadName)
        ));
        users.add("ana", Role::Analyst, PW, 0).unwrap();
        assert!(matches!(
            users.add("ana", Role::Admin, PW, 0),
            Err(UserError::Exists)
        ));
        assert_eq!(
            users.list().unwrap(),
            vec![("ana".to_owned(), Role::Analyst)]
        );
        // The stored hash is argon2id, not the password.
        let hash: String = users
            .conn
            .query_row("SELECT password_hash FROM users", [], |r| r.get(0))
            .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains(PW));
    }

    #[cfg(unix)]
    #[test]
    fn the_database_is_private_and_a_newer_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (tmp, users) = store();
        drop(users);
        let path = tmp.path().join("node.db");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 2)
            .unwrap();
        assert!(matches!(
            UserStore::open(&path),
            Err(UserError::NewerSchema(2))
        ));
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_names_cost_a_full_verification() {
        assert!(PasswordHash::new(dummy_hash()).is_ok());
    }
}
